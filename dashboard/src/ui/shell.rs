//! The app's frame: an invitation link's page (signed in or not), else the login screen when there
//! is no token (or it was refused), then the header with the breathing logo, the navigation, the
//! org picker and the page of the current address.

use aos_schema::OrgId;
use dioxus::prelude::*;
use futures_util::StreamExt;

use crate::api::{self, TOKEN};
use crate::route::Route;
use crate::ui::common::{Ctx, ErrorNote, Link, Loading};
use crate::ui::{admin, audit, dlq, invite, members, runs, secrets, usage, workflows};
use aos_api::{Me, OrgView};
use aos_web_client::platform;

/// Where the chosen org is remembered between visits.
const ORG_KEY: &str = "aos.dashboard.org";

/// Remembers `org` as the chosen one, so the frame opens on it.
pub fn choose_org(org: OrgId) {
    platform::storage_set(ORG_KEY, &org.to_string());
}

/// The dashboard's root component.
#[component]
pub fn App() -> Element {
    use_hook(api::follow_session);
    let mut invitation = use_signal(|| crate::route::invitation_token(&platform::pathname()).map(str::to_owned));
    let signed_in = TOKEN.read().is_some();
    if let Some(token) = invitation() {
        return rsx! {
            invite::InvitePage { token, on_joined: move |_| invitation.set(None) }
        };
    }
    rsx! {
        if signed_in {
            Session {}
        } else {
            Login {}
        }
    }
}

/// The flowing infinity wave; its breathing is the stylesheet's.
#[component]
pub fn Logo() -> Element {
    rsx! {
        svg {
            class: "logo",
            view_box: "0 0 64 32",
            role: "img",
            "aria-label": "AutomateOS",
            path {
                class: "logo__wave",
                d: "M32 16 C26 6 12 4 8 12 C4 20 14 28 22 24 C27 21.5 29.5 19 32 16 C34.5 13 37 10.5 42 8 C50 4 60 12 56 20 C52 28 38 26 32 16 Z",
            }
        }
    }
}

#[component]
fn Login() -> Element {
    let mut email = use_signal(String::new);
    let mut password = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    let submit = move |event: FormEvent| async move {
        event.prevent_default();
        busy.set(true);
        error.set(None);
        if let Err(err) = api::login(email.read().trim(), &password.read()).await {
            error.set(Some(err.message));
        }
        busy.set(false);
    };
    rsx! {
        main { class: "login",
            form { class: "login__card glass", "data-testid": "login-form", onsubmit: submit,
                div { class: "login__brand",
                    Logo {}
                    h1 { "AutomateOS" }
                }
                p { class: "muted", "Sign in to your dashboard" }
                label { r#for: "login-email", "Email" }
                input {
                    id: "login-email",
                    r#type: "email",
                    autocomplete: "username",
                    required: true,
                    "data-testid": "login-email",
                    value: "{email}",
                    oninput: move |e| email.set(e.value()),
                }
                label { r#for: "login-password", "Password" }
                input {
                    id: "login-password",
                    r#type: "password",
                    autocomplete: "current-password",
                    required: true,
                    "data-testid": "login-password",
                    value: "{password}",
                    oninput: move |e| password.set(e.value()),
                }
                if let Some(message) = error() {
                    div { class: "note note--error", role: "alert", "data-testid": "login-error", "{message}" }
                }
                button {
                    class: "button button--primary",
                    r#type: "submit",
                    disabled: busy(),
                    "data-testid": "login-submit",
                    if busy() { "Signing in…" } else { "Sign in" }
                }
            }
        }
    }
}

/// Loads who is signed in and their orgs, then shows the frame.
#[component]
fn Session() -> Element {
    let who = use_resource(|| async {
        let me = api::get::<Me>("/api/auth/me").await?;
        let orgs = api::get::<Vec<OrgView>>("/api/orgs").await?;
        Ok::<_, api::ApiError>((me, orgs))
    });
    match &*who.read() {
        None => rsx! { main { class: "center", Loading {} } },
        Some(Err(err)) => rsx! {
            main { class: "center",
                ErrorNote { error: err.clone() }
                button { class: "button", onclick: move |_| api::forget(), "Sign in again" }
            }
        },
        Some(Ok((me, orgs))) => rsx! { Frame { me: me.clone(), orgs: orgs.clone() } },
    }
}

#[component]
fn Frame(me: Me, orgs: Vec<OrgView>) -> Element {
    let remembered = platform::storage_get(ORG_KEY).and_then(|id| id.parse::<OrgId>().ok());
    let first = remembered
        .filter(|id| orgs.iter().any(|o| o.id == *id))
        .or_else(|| orgs.first().map(|o| o.id))
        .or_else(|| me.orgs.first().map(|o| o.org_id));
    let me_signal = use_signal(|| me.clone());
    let orgs_signal = use_signal(|| orgs.clone());
    let org = use_signal(|| first.unwrap_or_else(|| OrgId::from_uuid(Default::default())));
    let mut route = use_signal(|| Route::parse(&platform::pathname()));
    let ctx = use_context_provider(|| Ctx { me: me_signal, orgs: orgs_signal, org, route });
    use_future(move || async move {
        let mut changes = platform::path_changes();
        while let Some(path) = changes.next().await {
            route.set(Route::parse(&path));
        }
    });
    if first.is_none() {
        return rsx! { main { class: "center", p { "This account belongs to no org yet." } } };
    }
    let current = route();
    let admin = ctx.platform_admin();
    let visible = if current.admin_only() && !admin { Route::NotFound } else { current };
    let page = match visible {
        Route::Workflows => rsx! { workflows::WorkflowsPage {} },
        Route::Runs => rsx! { runs::RunsPage { workflow: None } },
        Route::WorkflowRuns(id) => rsx! { runs::RunsPage { key: "{id}", workflow: Some(id) } },
        Route::Run(id) => rsx! { runs::RunPage { key: "{id}", id } },
        Route::Dlq => rsx! { dlq::DlqPage {} },
        Route::Usage => rsx! { usage::UsagePage {} },
        Route::Secrets => rsx! { secrets::SecretsPage {} },
        Route::Members => rsx! { members::MembersPage {} },
        Route::Audit => rsx! { audit::AuditPage {} },
        Route::Actors => rsx! { admin::ActorsPage {} },
        Route::NotFound => rsx! {
            section { class: "page", "data-testid": "not-found",
                h1 { "Nothing here" }
                p { "This page does not exist, or you may not see it." }
                Link { to: Route::Workflows, "Back to workflows" }
            }
        },
    };
    let mut nav = vec![
        (Route::Workflows, "Workflows", "nav-workflows"),
        (Route::Runs, "Runs", "nav-runs"),
        (Route::Dlq, "Dead letters", "nav-dlq"),
        (Route::Usage, "Usage & cost", "nav-usage"),
        (Route::Secrets, "Secrets", "nav-secrets"),
        (Route::Members, "Members", "nav-members"),
        (Route::Audit, "Audit log", "nav-audit"),
    ];
    if admin {
        nav.push((Route::Actors, "Supervision", "nav-admin-actors"));
    }
    let section = current.section();
    let org_id = org();
    let person = me.name.clone();
    rsx! {
        div { class: "app",
            a { class: "skip-link", href: "#content", "Skip to content" }
            header { class: "topbar glass",
                div { class: "topbar__brand",
                    Logo {}
                    span { class: "topbar__name", "AutomateOS" }
                }
                nav { class: "nav", "aria-label": "Dashboard",
                    for (to, label, testid) in nav {
                        Link {
                            to,
                            testid: testid.to_string(),
                            class: if section == to { "nav__link nav__link--active".to_string() } else { "nav__link".to_string() },
                            "{label}"
                        }
                    }
                }
                div { class: "topbar__me",
                    if orgs.len() > 1 {
                        select {
                            class: "select",
                            "aria-label": "Organisation",
                            "data-testid": "org-picker",
                            value: "{org_id}",
                            onchange: move |e| {
                                if let Ok(id) = e.value().parse::<OrgId>() {
                                    platform::storage_set(ORG_KEY, &id.to_string());
                                    let mut org = org;
                                    org.set(id);
                                }
                            },
                            for o in orgs.iter() {
                                option { value: "{o.id}", selected: o.id == org_id, "{o.name}" }
                            }
                        }
                    } else if let Some(o) = orgs.first() {
                        span { class: "muted", "{o.name}" }
                    }
                    span { class: "topbar__person", "data-testid": "me", "{person}" }
                    button {
                        class: "button button--ghost",
                        "data-testid": "sign-out",
                        onclick: move |_| async move {
                            let _ = api::call("POST", "/api/auth/logout", None).await;
                            api::forget();
                        },
                        "Sign out"
                    }
                }
            }
            main { id: "content", class: "content", tabindex: "-1", {page} }
        }
    }
}
