//! The dead-letter queue: runs whose step exhausted its retries, with the error and the step's
//! input; replay one (from the failed step), replay several at once, or discard; counts on top.

use std::collections::BTreeSet;

use aos_schema::{DlqEntryId, DlqStatus};
use dioxus::prelude::*;
use serde_json::json;

use crate::api::{self, ApiError};
use crate::filters::{DlqCounts, dlq_counts};
use crate::route::Route;
use crate::ui::common::{Badge, Confirm, ConfirmDialog, Ctx, ErrorNote, JsonPane, Link, Loading, PageHead, When};
use aos_api::{BulkReplay, DlqEntry, RunCreated, Workflow};

#[component]
pub fn DlqPage() -> Element {
    let ctx = use_context::<Ctx>();
    let mut show = use_signal(|| Some(DlqStatus::Pending));
    let mut entries = use_resource(move || async move {
        let org = (ctx.org)();
        api::get::<Vec<DlqEntry>>(&format!("/api/orgs/{org}/dlq?limit=500")).await
    });
    let workflows = use_resource(move || async move {
        let org = (ctx.org)();
        api::get::<Vec<Workflow>>(&format!("/api/orgs/{org}/workflows")).await
    });
    let mut selected = use_signal(BTreeSet::<DlqEntryId>::new);
    let mut note = use_signal(|| None::<String>);
    let mut problem = use_signal(|| None::<ApiError>);
    let mut pending_discard = use_signal(|| None::<DlqEntryId>);
    let can_edit = ctx.can_edit();

    let replay_one = move |id: DlqEntryId| async move {
        let org = (ctx.org)();
        match api::send::<RunCreated>("POST", &format!("/api/orgs/{org}/dlq/{id}/replay"), &json!({})).await {
            Ok(created) => {
                problem.set(None);
                note.set(Some(format!("Replaying as run {}", &created.run_id.to_string()[..8])));
            }
            Err(err) => problem.set(Some(err)),
        }
        entries.restart();
    };
    let replay_selected = move |_| async move {
        let org = (ctx.org)();
        let ids: Vec<DlqEntryId> = selected.read().iter().copied().collect();
        let body = if ids.is_empty() { json!({}) } else { json!({ "ids": ids }) };
        match api::send::<BulkReplay>("POST", &format!("/api/orgs/{org}/dlq/replay"), &body).await {
            Ok(result) => {
                problem.set(None);
                note.set(Some(format!("{} replayed, {} could not be", result.replayed.len(), result.failed.len())));
                selected.write().clear();
            }
            Err(err) => problem.set(Some(err)),
        }
        entries.restart();
    };
    let answer_discard = move |yes: bool| async move {
        let Some(id) = pending_discard() else { return };
        pending_discard.set(None);
        if !yes {
            return;
        }
        let org = (ctx.org)();
        match api::call("POST", &format!("/api/orgs/{org}/dlq/{id}/discard"), None).await {
            Ok(()) => {
                problem.set(None);
                note.set(Some("Discarded".into()));
            }
            Err(err) => problem.set(Some(err)),
        }
        entries.restart();
    };

    let body = match &*entries.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        Some(Ok(all)) => {
            let shown: Vec<DlqEntry> = all.iter().filter(|e| show().is_none_or(|s| e.status == s)).cloned().collect();
            rsx! {
                Counts { counts: dlq_counts(all) }
                if shown.is_empty() {
                    p { class: "empty glass", "data-testid": "dlq-empty", "Nothing here. Runs that exhaust their retries wait in this queue." }
                }
                ul { class: "entries",
                    for entry in shown {
                        {
                            let workflow = match &*workflows.read() {
                                Some(Ok(list)) => list.iter().find(|w| w.id == entry.workflow_id).map(|w| w.name.clone()),
                                _ => None,
                            }
                            .unwrap_or_else(|| "A deleted workflow".to_string());
                            rsx! {
                                EntryCard {
                                    key: "{entry.id}",
                                    entry,
                                    workflow,
                                    can_edit,
                                    selected,
                                    on_replay: move |id| {
                                        spawn(replay_one(id));
                                    },
                                    on_discard: move |id| pending_discard.set(Some(id)),
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let filter_value = show().map_or("all".to_string(), |s| s.to_string());
    let chosen = selected.read().len();
    rsx! {
        section { class: "page", "data-testid": "dlq-page",
            PageHead { title: "Dead letters",
                select {
                    class: "select",
                    "aria-label": "Show",
                    "data-testid": "dlq-filter",
                    value: "{filter_value}",
                    onchange: move |e| show.set(e.value().parse().ok()),
                    option { value: "pending", "Pending" }
                    option { value: "replayed", "Replayed" }
                    option { value: "discarded", "Discarded" }
                    option { value: "all", "All" }
                }
                if can_edit {
                    button {
                        class: "button button--primary",
                        "data-testid": "dlq-replay-bulk",
                        onclick: replay_selected,
                        if chosen == 0 { "Replay all pending" } else { "Replay {chosen} selected" }
                    }
                }
            }
            if let Some(text) = note() {
                div { class: "note", role: "status", "data-testid": "dlq-note", "{text}" }
            }
            if let Some(err) = problem() {
                ErrorNote { error: err }
            }
            {body}
            if pending_discard().is_some() {
                ConfirmDialog {
                    confirm: Confirm {
                        title: "Discard this entry?".into(),
                        body: "The run stays failed and leaves the queue. This cannot be undone.".into(),
                        action: "Discard".into(),
                    },
                    on_answer: answer_discard,
                }
            }
        }
    }
}

/// The counts by status on top of the queue.
#[component]
fn Counts(counts: DlqCounts) -> Element {
    rsx! {
        div { class: "stats", "data-testid": "dlq-counts",
            div { class: "stat glass", span { class: "stat__value", "data-testid": "dlq-pending", "{counts.pending}" } span { class: "stat__label", "pending" } }
            div { class: "stat glass", span { class: "stat__value", "data-testid": "dlq-replayed", "{counts.replayed}" } span { class: "stat__label", "replayed" } }
            div { class: "stat glass", span { class: "stat__value", "data-testid": "dlq-discarded", "{counts.discarded}" } span { class: "stat__label", "discarded" } }
        }
    }
}

/// One entry: its workflow and step, the error, the step's input, and (for editors, while it is
/// pending) a box for bulk replay and the replay and discard buttons.
#[component]
fn EntryCard(
    entry: DlqEntry,
    workflow: String,
    can_edit: bool,
    selected: Signal<BTreeSet<DlqEntryId>>,
    on_replay: EventHandler<DlqEntryId>,
    on_discard: EventHandler<DlqEntryId>,
) -> Element {
    let id = entry.id;
    let checked = selected.read().contains(&id);
    let pending = entry.status == DlqStatus::Pending;
    rsx! {
        li { class: "entry card glass", "data-testid": "dlq-entry", "data-run-id": "{entry.run_id}",
            header { class: "card__head",
                if can_edit && pending {
                    input {
                        r#type: "checkbox",
                        "aria-label": "Select for bulk replay",
                        "data-testid": "dlq-select",
                        checked,
                        onchange: move |_| {
                            let mut set = selected.write();
                            if !set.remove(&id) {
                                set.insert(id);
                            }
                        },
                    }
                }
                h2 { class: "card__title", "data-testid": "dlq-workflow", "{workflow} · step "
                    code { "{entry.node_id}" }
                }
                Badge { word: entry.status.to_string() }
                When { at: entry.created_at.clone() }
            }
            div { class: "note note--error", "data-testid": "dlq-error", "{entry.error}" }
            details {
                summary { "Step input" }
                JsonPane { value: entry.input.clone(), testid: "dlq-input" }
            }
            footer { class: "card__actions",
                Link { to: Route::Run(entry.run_id), class: "button".to_string(), "Open run" }
                if can_edit && pending {
                    button { class: "button button--primary", "data-testid": "dlq-replay", onclick: move |_| on_replay.call(id), "Replay" }
                    button { class: "button button--ghost", "data-testid": "dlq-discard", onclick: move |_| on_discard.call(id), "Discard" }
                }
            }
        }
    }
}
