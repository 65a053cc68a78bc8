//! Pieces every page uses: the app context (who is signed in, which org, which page), links that
//! route without reloading, status badges, loading and error states, the confirmation dialog and
//! the read-only JSON pane.

use aos_schema::{OrgId, Role};
use dioxus::prelude::*;

use crate::api::ApiError;
use crate::route::Route;
use aos_api::{Me, OrgView};
use aos_web_client::platform;

/// What every page may ask: the signed-in person, their orgs, the chosen org and the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ctx {
    pub me: Signal<Me>,
    pub orgs: Signal<Vec<OrgView>>,
    pub org: Signal<OrgId>,
    pub route: Signal<Route>,
}

impl Ctx {
    /// The caller's role in the chosen org.
    pub fn role(&self) -> Role {
        let org = *self.org.read();
        self.orgs.read().iter().find(|o| o.id == org).map_or(Role::Viewer, |o| o.role)
    }

    /// Whether the caller may change things (replay, cancel, toggle) in the chosen org.
    pub fn can_edit(&self) -> bool {
        self.role().at_least(Role::Editor)
    }

    /// Whether the caller administers the chosen org (secrets, billing, audit).
    pub fn is_org_admin(&self) -> bool {
        self.role().at_least(Role::Admin)
    }

    pub fn platform_admin(&self) -> bool {
        self.me.read().platform_admin
    }
}

/// Goes to `route` without reloading the page.
pub fn navigate(mut current: Signal<Route>, route: Route) {
    platform::push_path(&route.path());
    current.set(route);
}

/// A link to a page of the app: a real `<a href>` (so it opens in a new tab too), routed in place.
#[component]
pub fn Link(to: Route, children: Element, class: Option<String>, testid: Option<String>) -> Element {
    let ctx = use_context::<Ctx>();
    let path = to.path();
    rsx! {
        a {
            href: "{path}",
            class: class.unwrap_or_default(),
            "data-testid": testid,
            onclick: move |event: MouseEvent| {
                if event.modifiers().is_empty() {
                    event.prevent_default();
                    navigate(ctx.route, to);
                }
            },
            {children}
        }
    }
}

/// A coloured word for a run, step or entry status.
#[component]
pub fn Badge(word: String) -> Element {
    rsx! {
        span { class: "badge badge--{word}", "data-testid": "status", "{word}" }
    }
}

#[component]
pub fn Loading() -> Element {
    rsx! {
        div { class: "loading", role: "status", "aria-live": "polite",
            span { class: "loading__dot" }
            "Loading…"
        }
    }
}

#[component]
pub fn ErrorNote(error: ApiError) -> Element {
    rsx! {
        div { class: "note note--error", role: "alert", "data-testid": "error", "{error.message}" }
    }
}

/// What a pending confirmation does when accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub title: String,
    pub body: String,
    pub action: String,
}

/// A modal asking before a destructive action; Escape or Cancel closes it.
#[component]
pub fn ConfirmDialog(confirm: Confirm, on_answer: EventHandler<bool>) -> Element {
    // keyboard users land on the dialog's action (Escape cancels)
    use_effect(|| platform::focus("confirm-ok"));
    rsx! {
        div { class: "dialog-backdrop",
            div {
                class: "dialog glass",
                role: "dialog",
                "aria-modal": "true",
                "aria-labelledby": "dialog-title",
                "data-testid": "confirm-dialog",
                onkeydown: move |event: KeyboardEvent| {
                    if event.key() == Key::Escape {
                        on_answer.call(false);
                    }
                },
                h2 { id: "dialog-title", "{confirm.title}" }
                p { "{confirm.body}" }
                div { class: "dialog__actions",
                    button {
                        class: "button",
                        "data-testid": "confirm-cancel",
                        onclick: move |_| on_answer.call(false),
                        "Cancel"
                    }
                    button {
                        class: "button button--danger",
                        id: "confirm-ok",
                        "data-testid": "confirm-ok",
                        onclick: move |_| on_answer.call(true),
                        "{confirm.action}"
                    }
                }
            }
        }
    }
}

/// A JSON value shown read-only (as the API gave it: secrets already redacted).
#[component]
pub fn JsonPane(value: serde_json::Value, testid: String) -> Element {
    let text = crate::runs::pretty(&value);
    rsx! {
        pre { class: "json", tabindex: "0", "data-testid": "{testid}", "{text}" }
    }
}

/// A time from the API shown as UTC, with how long ago in the tooltip.
#[component]
pub fn When(at: String) -> Element {
    match crate::clock::parse_rfc3339(&at) {
        Some(ms) => {
            let ago = crate::clock::ago(platform::now_ms(), ms);
            let text = crate::clock::format_datetime(ms);
            rsx! {
                time { datetime: "{at}", title: "{ago}", "{text}" }
            }
        }
        None => rsx! { span { "—" } },
    }
}

/// A page's title row.
#[component]
pub fn PageHead(title: String, children: Element) -> Element {
    rsx! {
        header { class: "page-head",
            h1 { "{title}" }
            div { class: "page-head__tools", {children} }
        }
    }
}
