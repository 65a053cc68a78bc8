//! The live supervision tree (platform admins only; the shell hides the page from everyone else
//! and the API answers them 404): polled, collapsible, filterable by kind, with the top actors by
//! mailbox depth, and stop/restart behind a confirmation.

use std::collections::HashSet;

use dioxus::prelude::*;

use crate::api::{self, ApiError};
use crate::clock;
use crate::tree::{self, Row};
use crate::ui::common::{Confirm, ConfirmDialog, ErrorNote, Loading, PageHead};
use aos_api::ActorView;
use aos_web_client::platform;

/// How often the tree is read again.
const POLL_MS: u32 = 1_500;
/// How many actors the mailbox list shows.
const TOP_N: usize = 5;

#[derive(Debug, Clone, PartialEq)]
struct Pending {
    id: String,
    name: String,
    verb: &'static str,
}

#[component]
pub fn ActorsPage() -> Element {
    let mut snapshot = use_resource(|| async { api::get::<Vec<ActorView>>("/api/admin/actors").await });
    let mut live = use_signal(|| true);
    use_future(move || async move {
        loop {
            platform::sleep_ms(POLL_MS).await;
            if *live.peek() {
                snapshot.restart();
            }
        }
    });
    // the last good tree stays on screen while the next poll is in flight
    let mut last = use_signal(Vec::<ActorView>::new);
    let mut error = use_signal(|| None::<ApiError>);
    use_effect(move || match &*snapshot.read() {
        Some(Ok(roots)) => {
            last.set(roots.clone());
            error.set(None);
        }
        Some(Err(err)) => error.set(Some(err.clone())),
        None => {}
    });
    let mut collapsed = use_signal(HashSet::<String>::new);
    let mut kind = use_signal(String::new);
    let mut pending = use_signal(|| None::<Pending>);
    let mut note = use_signal(|| None::<String>);

    let answer = move |yes: bool| async move {
        let Some(p) = pending() else { return };
        pending.set(None);
        if !yes {
            return;
        }
        match api::call("POST", &format!("/api/admin/actors/{}/{}", p.id, p.verb), None).await {
            Ok(()) => note.set(Some(format!("{} {}", p.name, if p.verb == "stop" { "stopped" } else { "restarted" }))),
            Err(err) => note.set(Some(err.message)),
        }
        snapshot.restart();
    };

    let roots = last.read().clone();
    let loaded = snapshot.read().is_some() || !roots.is_empty();
    if let (Some(err), true) = (error(), roots.is_empty()) {
        return rsx! {
            section { class: "page", "data-testid": "actors-page",
                PageHead { title: "Supervision tree" }
                ErrorNote { error: err }
            }
        };
    }
    if !loaded {
        return rsx! { Loading {} };
    }
    let filter = kind();
    let rows = tree::flatten(&roots, &collapsed.read(), (!filter.is_empty()).then_some(filter.as_str()));
    let top = tree::top_by_mailbox(&roots, TOP_N);
    let kinds = tree::kinds(&roots);
    let total = tree::count(&roots);
    rsx! {
        section { class: "page", "data-testid": "actors-page",
            PageHead { title: "Supervision tree",
                span { class: "muted", "data-testid": "actor-count", "{total} actors" }
                label { class: "switch",
                    input {
                        r#type: "checkbox",
                        checked: live(),
                        "data-testid": "actors-live",
                        onchange: move |e| live.set(e.checked()),
                    }
                    " Live"
                }
                select {
                    class: "select",
                    "aria-label": "Kind",
                    "data-testid": "actors-kind",
                    value: "{filter}",
                    onchange: move |e| kind.set(e.value()),
                    option { value: "", "All kinds" }
                    for k in kinds {
                        option { value: "{k}", "{k}" }
                    }
                }
            }
            if let Some(text) = note() {
                div { class: "note", role: "status", "data-testid": "actors-note", "{text}" }
            }
            div { class: "columns columns--wide",
                table { class: "table tree glass", role: "treegrid", "data-testid": "actor-tree",
                    thead { tr { th { "Actor" } th { "Kind" } th { "Status" } th { class: "num", "Mailbox" } th { class: "num", "Restarts" } th { class: "num", "Uptime" } th {} } }
                    tbody {
                        for row in rows {
                            ActorRow {
                                key: "{row.id}",
                                row: row.clone(),
                                on_toggle: move |id: String| {
                                    let mut set = collapsed.write();
                                    if !set.remove(&id) {
                                        set.insert(id);
                                    }
                                },
                                on_control: move |(id, name, verb): (String, String, &'static str)| pending.set(Some(Pending { id, name, verb })),
                            }
                        }
                    }
                }
                section { class: "panel glass", "data-testid": "actors-top",
                    h2 { "Deepest mailboxes" }
                    if top.is_empty() {
                        p { class: "muted", "Every mailbox is empty." }
                    }
                    ol {
                        for r in top {
                            li { key: "{r.id}", "data-testid": "top-actor",
                                strong { "{r.mailbox}" }
                                " {r.name} "
                                span { class: "muted", "{r.kind}" }
                            }
                        }
                    }
                }
            }
            if let Some(p) = pending() {
                ConfirmDialog {
                    confirm: Confirm {
                        title: format!("{} {}?", if p.verb == "stop" { "Stop" } else { "Restart" }, p.name),
                        body: "Its supervisor decides what happens next; the action is audited.".into(),
                        action: if p.verb == "stop" { "Stop".into() } else { "Restart".into() },
                    },
                    on_answer: answer,
                }
            }
        }
    }
}

#[component]
fn ActorRow(
    row: Row,
    on_toggle: EventHandler<String>,
    on_control: EventHandler<(String, String, &'static str)>,
) -> Element {
    let indent = format!("padding-left: {}rem", 0.4 + row.depth as f64 * 1.2);
    let status_class = tree::status_class(&row.status);
    let uptime = clock::format_duration(row.uptime_ms.min(i64::MAX as u64) as i64);
    let id = row.id.clone();
    let name = row.name.clone();
    rsx! {
        tr {
            "data-testid": "actor-row",
            "data-kind": "{row.kind}",
            "data-name": "{row.name}",
            "aria-level": "{row.depth + 1}",
            "aria-expanded": if row.children > 0 { Some(row.expanded.to_string()) } else { None },
            td { style: "{indent}",
                if row.children > 0 {
                    button {
                        class: "tree__toggle",
                        "aria-label": if row.expanded { "Collapse" } else { "Expand" },
                        "data-testid": "actor-toggle",
                        onclick: { let id = id.clone(); move |_| on_toggle.call(id.clone()) },
                        if row.expanded { "▾" } else { "▸" }
                    }
                } else {
                    span { class: "tree__leaf" }
                }
                span { class: "tree__name", "{row.name}" }
                if row.children > 0 {
                    span { class: "muted", " ({row.children})" }
                }
            }
            td { span { class: "kind kind--{row.kind}", "{row.kind}" } }
            td { span { class: "status {status_class}", "{row.status}" } }
            td { class: "num", "data-testid": "actor-mailbox", "{row.mailbox}" }
            td { class: "num", "{row.restarts}" }
            td { class: "num", "{uptime}" }
            td {
                if tree::controllable(&row.kind) {
                    button {
                        class: "button button--ghost",
                        "data-testid": "actor-restart",
                        onclick: { let (id, name) = (id.clone(), name.clone()); move |_| on_control.call((id.clone(), name.clone(), "restart")) },
                        "Restart"
                    }
                    button {
                        class: "button button--ghost",
                        "data-testid": "actor-stop",
                        onclick: { let (id, name) = (id.clone(), name.clone()); move |_| on_control.call((id.clone(), name.clone(), "stop")) },
                        "Stop"
                    }
                }
            }
        }
    }
}
