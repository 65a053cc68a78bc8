//! The history panel: the workflow's published versions newest first (number, who published,
//! when, the current one marked); two versions picked show what changed between them on the
//! canvas and in words (`DiffSummary`); editors revert to a version after a confirmation, and the
//! server writes its graph into the live doc, so every open canvas shows it. Viewers see the
//! history without the revert control.

use std::collections::BTreeMap;

use aos_schema::WorkflowGraph;
use aos_ui_kit::canvas::DiffView;
use dioxus::prelude::*;

use super::app::Nav;
use super::diff_summary::DiffSummary;
use crate::api::{self, ApiError, VersionSummary, Workflow};
use crate::history::{Picks, newest_first, publisher, when};

/// The versions compared, kept by the editor page, which draws the diff on the canvas while the
/// panel is open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    pub picks: Picks,
    /// The picked pair's diff (older → newer), once both versions were read.
    pub view: Option<DiffView>,
}

/// A revert the server made: the version now current and its graph, now the draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Reverted {
    pub version: i64,
    pub graph: Option<WorkflowGraph>,
}

/// The history panel of `workflow_id` (of `org`).
#[component]
pub fn HistoryPanel(
    org: String,
    workflow_id: String,
    can_revert: bool,
    comparison: Signal<Comparison>,
    on_reverted: EventHandler<Reverted>,
    on_close: EventHandler<()>,
) -> Element {
    let nav = use_context::<Nav>();
    let mut comparison = comparison;
    // bumped after a revert: the list and the current marker are read again
    let mut reloads = use_signal(|| 0u32);
    // versions never change once published, so their graphs are read once
    let graphs = use_signal(BTreeMap::<i64, WorkflowGraph>::new);
    let mut compare_error = use_signal(|| None::<String>);
    let mut confirming = use_signal(|| None::<i64>);
    let mut busy = use_signal(|| false);
    let mut revert_error = use_signal(|| None::<(i64, String)>);

    let id = workflow_id.clone();
    let listing = use_resource(move || {
        let id = id.clone();
        let _ = reloads();
        async move {
            let workflow = api::workflow(&id).await?;
            let versions = api::versions(&id).await?;
            Ok::<(Workflow, Vec<VersionSummary>), ApiError>((workflow, newest_first(versions)))
        }
    });
    let members = use_resource(move || {
        let org = org.clone();
        async move { api::members(&org).await.ok() }
    });

    let id = workflow_id.clone();
    let pick = move |version: i64| {
        let mut picks = comparison.peek().picks.clone();
        picks.toggle(version);
        let pair = picks.pair();
        comparison.set(Comparison { picks, view: None });
        compare_error.set(None);
        let Some((older, newer)) = pair else { return };
        let id = id.clone();
        spawn(async move {
            match (version_graph(&id, older, graphs).await, version_graph(&id, newer, graphs).await) {
                (Ok(before), Ok(after)) => {
                    // a later pick may have replaced this pair meanwhile
                    if comparison.peek().picks.pair() == Some((older, newer)) {
                        comparison.write().view = Some(DiffView::new(&before, &after));
                    }
                }
                (Err(err), _) | (_, Err(err)) => {
                    nav.check(&err);
                    compare_error.set(Some(err.to_string()));
                }
            }
        });
    };
    let id = workflow_id.clone();
    let revert = move |version: i64| {
        let id = id.clone();
        busy.set(true);
        revert_error.set(None);
        spawn(async move {
            let result = api::revert(&id, version).await;
            busy.set(false);
            match result {
                Ok(published) => {
                    confirming.set(None);
                    comparison.set(Comparison::default());
                    reloads += 1;
                    let graph = version_graph(&id, published.version, graphs).await.ok();
                    on_reverted.call(Reverted { version: published.version, graph });
                }
                Err(err) => {
                    nav.check(&err);
                    revert_error.set(Some((version, err.to_string())));
                }
            }
        });
    };

    let shown = comparison();
    let names = members.read().clone().flatten();
    let list = match &*listing.read() {
        None => rsx! { p { class: "muted", "reading the versions…" } },
        Some(Err(err)) => rsx! { p { class: "form-error", "data-testid": "history-error", "{err}" } },
        Some(Ok((_, versions))) if versions.is_empty() => rsx! {
            p { class: "muted", "data-testid": "history-empty", "Nothing published yet: Publish makes version 1." }
        },
        Some(Ok((workflow, versions))) => {
            let current = workflow.current_version;
            rsx! {
                ol { class: "history__list",
                    for summary in versions.iter().cloned() {
                        {
                            let n = summary.version;
                            let is_current = current == Some(n);
                            let who = names.as_deref().map_or_else(|| "a member".to_owned(), |m| publisher(&summary.created_by, m));
                            let error = revert_error().filter(|(v, _)| *v == n).map(|(_, message)| message);
                            let mut pick = pick.clone();
                            let mut revert = revert.clone();
                            rsx! {
                                li { key: "{n}", class: if is_current { "history__version is-current" } else { "history__version" },
                                    "data-testid": "history-version-{n}", "data-current": "{is_current}",
                                    label { class: "history__pick",
                                        input { r#type: "checkbox", "data-testid": "history-pick-{n}", checked: shown.picks.contains(n),
                                            onchange: move |_| pick(n) }
                                        strong { "Version {n}" }
                                        if is_current {
                                            span { class: "pill pill--online", "data-testid": "history-current", "current" }
                                        }
                                    }
                                    p { class: "muted", "data-testid": "history-meta", "{who} · {when(&summary.created_at)}" }
                                    if can_revert {
                                        if confirming() == Some(n) {
                                            div { class: "history__confirm", "data-testid": "history-confirm-{n}",
                                                p { "Revert to version {n}? Its graph replaces the draft on every open canvas, and runs use version {n}." }
                                                div { class: "history__actions",
                                                    button { class: "aos-button aos-button--primary", "data-testid": "history-revert-confirm",
                                                        disabled: busy(), onclick: move |_| revert(n), "Revert" }
                                                    button { class: "aos-button", "data-testid": "history-revert-cancel",
                                                        onclick: move |_| confirming.set(None), "Cancel" }
                                                }
                                            }
                                        } else {
                                            button { class: "aos-button", "data-testid": "history-revert-{n}",
                                                onclick: move |_| { revert_error.set(None); confirming.set(Some(n)); },
                                                "Revert to this version"
                                            }
                                        }
                                        if let Some(message) = error {
                                            p { class: "form-error", "data-testid": "history-revert-error", "{message}" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let compared = match (shown.picks.pair(), shown.view.clone()) {
        (None, _) => rsx! { p { class: "muted", "Tick two versions to see what changed between them." } },
        (Some(_), None) if compare_error().is_none() => rsx! { p { class: "muted", "reading both versions…" } },
        (Some(_), None) => rsx! {},
        (Some((older, newer)), Some(view)) => rsx! {
            h3 { class: "history__diff-title", "data-testid": "history-diff-title", "Version {older} → version {newer}" }
            DiffSummary { view, testid: "history-diff" }
        },
    };
    rsx! {
        div { class: "history-panel", "data-testid": "history-panel",
            h2 { "History" }
            {list}
            section { class: "history__compare", {compared} }
            if let Some(message) = compare_error() {
                p { class: "form-error", "data-testid": "history-diff-error", "{message}" }
            }
            button { class: "aos-button", "data-testid": "history-close",
                onclick: move |_| { comparison.set(Comparison::default()); on_close.call(()); }, "Close" }
        }
    }
}

/// The graph of one version: from the panel's cache, else read from the server (and kept).
async fn version_graph(
    workflow: &str,
    version: i64,
    mut graphs: Signal<BTreeMap<i64, WorkflowGraph>>,
) -> Result<WorkflowGraph, ApiError> {
    if let Some(graph) = graphs.peek().get(&version) {
        return Ok(graph.clone());
    }
    let detail = api::version(workflow, version).await?;
    let graph = detail.graph().ok_or_else(|| ApiError {
        status: 200,
        code: aos_web_client::Failure::BadResponse,
        message: format!("version {version} has no graph the studio can read"),
        details: Vec::new(),
    })?;
    graphs.write().insert(version, graph.clone());
    Ok(graph)
}
