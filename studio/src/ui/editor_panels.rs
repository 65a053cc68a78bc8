//! The editor's side panel: the selected node's form (with a webhook's URL and its test events)
//! and its step data in the run on the canvas, the hint when nothing is selected, and the run,
//! history, import and share panels.

use aos_schema::{Catalog, Node, WorkflowGraph};
use dioxus::prelude::*;

use super::app::Nav;
use super::editor_page::{Ctx, Panel};
use super::history::{Comparison, HistoryPanel, Reverted};
use super::import::{AppliedReport, ImportPanel, ImportPreview, N8nReportView};
use super::side_panel::NodeForm;
use super::step_data::{StepData, StepRows};
use super::webhook::WebhookUrl;
use crate::api;
use crate::forms::{delivery_rows, expression_candidates, kv_value, test_input_rows};
use crate::problems::Problems;
use crate::run_view::RunWatch;

/// What the side panel shows: `panel`, or for [`Panel::Node`] the selected node's form.
#[component]
pub(super) fn SidePanel(
    ctx: Ctx,
    org: String,
    workflow_id: String,
    name: String,
    graph: WorkflowGraph,
    catalog: Catalog,
    selected: Option<Node>,
    problems: Problems,
    secrets: Vec<String>,
    panel: Signal<Panel>,
    preview: Signal<Option<ImportPreview>>,
    comparison: Signal<Comparison>,
    /// Whether the user may change the workflow (an editor of its org): a viewer's forms are
    /// read-only and the history has no revert.
    can_edit: bool,
    on_reverted: EventHandler<Reverted>,
    run: Signal<RunWatch>,
    step_rows: StepRows,
    published: Signal<Option<WorkflowGraph>>,
) -> Element {
    let (mut panel, mut preview) = (panel, preview);
    // an applied n8n import's report stays beside the canvas until dismissed
    let mut applied = use_signal(|| None::<AppliedReport>);
    // a test event chosen under the webhook trigger, the Run panel's input until another is chosen
    let mut chosen_input = use_signal(|| None::<TestInput>);
    let body = match panel() {
        Panel::Import => rsx! {
            ImportPanel { org, workflow_id, current: graph, preview,
                on_apply: move |g: WorkflowGraph| {
                    applied.set(preview.peek().as_ref().and_then(ImportPreview::applied_report));
                    ctx.commit(g);
                },
                on_close: move |_| { preview.set(None); panel.set(Panel::Node); } }
        },
        Panel::History => rsx! {
            HistoryPanel { org, workflow_id, can_revert: can_edit, comparison, on_reverted, on_close: move |_| panel.set(Panel::Node) }
        },
        Panel::Share => rsx! { SharePanel { org, workflow_id, name, on_close: move |_| panel.set(Panel::Node) } },
        Panel::Run => {
            // the selected node's step data shows under the panel too, as the run goes
            let step_graph = graph.clone();
            rsx! {
                RunPanel { workflow_id, graph, run, published, given: chosen_input(), on_close: move |_| panel.set(Panel::Node) }
                if let Some(node) = selected {
                    StepData { node, graph: step_graph, run, rows: step_rows }
                }
            }
        }
        Panel::Node => match selected {
            Some(node) => rsx! {
                fieldset { class: "form-lock", disabled: !can_edit, "data-testid": "node-fieldset",
                NodeForm {
                    key: "{node.id}",
                    problems: problems.nodes.get(&node.id).cloned().unwrap_or_default(),
                    candidates: expression_candidates(&graph, &catalog, &node.id, &secrets),
                    secrets: secrets.clone(),
                    catalog: catalog.clone(),
                    node: node.clone(),
                    on_change: {
                        let graph = graph.clone();
                        move |changed: Node| {
                            let mut next = graph.clone();
                            if let Some(slot) = next.node_mut(changed.id.as_str()) {
                                *slot = changed;
                            }
                            ctx.commit(next);
                        }
                    },
                }
                }
                if node.kind == aos_schema::kinds::TRIGGER_WEBHOOK {
                    WebhookUrl { workflow_id, published,
                        on_use: move |event: api::TestEvent| {
                            let rows = delivery_rows(&event.body, &event.headers.into(), &event.query.into());
                            chosen_input.set(Some(TestInput { rows, from: format!("the test event received {}", event.received_at) }));
                            panel.set(Panel::Run);
                        }
                    }
                }
                StepData { node: node.clone(), graph, run, rows: step_rows }
            },
            None => rsx! {
                div { class: "sidepanel__hint",
                    h2 { "Build your flow" }
                    p { class: "muted", "Drag a step from the left onto the canvas, connect ports by dragging from one dot to another, select a step to configure it." }
                    p { class: "muted", "Shift-drag or drag on empty space to select several; Delete removes; Ctrl+Z / Ctrl+Shift+Z undo and redo; Ctrl+C / Ctrl+V copy and paste." }
                    p { class: "muted", "From the keyboard: Tab to a step and press Enter to select it; the arrow keys move the selection (with Shift, further)." }
                }
            },
        },
    };
    let report = applied().filter(|_| panel() == Panel::Node);
    rsx! {
        aside { class: "sidepanel aos-surface", "data-testid": "sidepanel",
            if let Some(report) = report {
                section { class: "import-report", "data-testid": "import-report", "aria-label": "Import report",
                    h2 { "Imported from n8n" }
                    N8nReportView { summary: report.summary, notes: report.notes }
                    button { class: "aos-button", "data-testid": "import-report-dismiss", onclick: move |_| applied.set(None), "Dismiss" }
                }
            }
            {body}
        }
    }
}

/// A file name from a workflow name.
pub(super) fn file_stem(name: &str) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let stem = stem.trim_matches('-').to_owned();
    if stem.is_empty() { "workflow".into() } else { stem }
}

/// Test input rows taken from a delivery, and which delivery (for the panel to say).
#[derive(Debug, Clone, PartialEq)]
struct TestInput {
    rows: Vec<(String, String)>,
    from: String,
}

/// Run now: test input (key-value rows shaped like the trigger's delivery; JSON values stay
/// structured), publish when the draft changed since the last publish, start the run and show it
/// on the canvas (its events come over the workflow's stream, see `run_follow`). The input is the
/// `given` test event's; else, for a webhook trigger, the last recorded delivery's until the
/// person edits a row.
#[component]
fn RunPanel(
    workflow_id: String,
    graph: WorkflowGraph,
    run: Signal<RunWatch>,
    published: Signal<Option<WorkflowGraph>>,
    given: Option<TestInput>,
    on_close: EventHandler<()>,
) -> Element {
    let nav = use_context::<Nav>();
    let mut run = run;
    let mut published = published;
    let mut rows = use_signal(|| given.as_ref().map_or_else(|| test_input_rows(&graph), |g| g.rows.clone()));
    let mut from = use_signal(|| given.as_ref().map(|g| g.from.clone()));
    let mut edited = use_signal(|| false);
    let webhook = graph.nodes.iter().any(|n| n.kind == aos_schema::kinds::TRIGGER_WEBHOOK);
    let last_of = workflow_id.clone();
    use_hook(move || {
        if given.is_none() && webhook {
            spawn(async move {
                let Ok(sources) = api::webhooks(&last_of).await else { return };
                let Some(source) = sources.first() else { return };
                if let Ok(Some(event)) = api::last_delivery(&source.id.to_string()).await
                    && !*edited.peek()
                {
                    rows.set(delivery_rows(&event.body, &event.headers, &event.query));
                    from.set(Some(format!("the last delivery, received {}", event.received_at)));
                }
            });
        }
    });
    let mut error = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    let start = move |_| {
        let id = workflow_id.clone();
        let graph = graph.clone();
        let input = kv_value(&rows());
        busy.set(true);
        error.set(None);
        spawn(async move {
            if published.peek().as_ref() != Some(&graph) {
                match api::publish(&id).await {
                    Ok(_) => published.set(Some(graph.clone())),
                    Err(err) => {
                        nav.check(&err);
                        busy.set(false);
                        error.set(Some(err.to_string()));
                        return;
                    }
                }
            }
            let started = api::start_run(&id, input).await;
            busy.set(false);
            match started {
                // the workflow's stream (`run_follow`) brings its events and may already watch this run
                Ok(created) => {
                    let id = created.run_id.to_string();
                    if run.peek().run_id.as_deref() != Some(id.as_str()) {
                        run.set(RunWatch::start(&id));
                    }
                    run.write().mine = true;
                }
                Err(err) => {
                    nav.check(&err);
                    error.set(Some(err.to_string()));
                }
            }
        });
    };
    let watch = run();
    rsx! {
        div { class: "run-panel", "data-testid": "run-panel",
            h2 { "Run now" }
            p { class: "muted", "Test input" }
            if let Some(from) = from() {
                p { class: "field__help", "data-testid": "run-input-from", "From {from}; edit any row to change it." }
            }
            div { class: "kv",
                for (i, (name, value)) in rows().into_iter().enumerate() {
                    div { class: "kv__row", key: "{i}",
                        input { class: "kv__name", "data-testid": "run-input-name-{i}", placeholder: "name", value: "{name}",
                            oninput: move |e| { edited.set(true); if let Some(r) = rows.write().get_mut(i) { r.0 = e.value(); } } }
                        input { class: "kv__value", "data-testid": "run-input-value-{i}", placeholder: "value", value: "{value}",
                            oninput: move |e| { edited.set(true); if let Some(r) = rows.write().get_mut(i) { r.1 = e.value(); } } }
                    }
                }
                button { class: "aos-button kv__add", "data-testid": "run-input-add", onclick: move |_| { edited.set(true); rows.write().push((String::new(), String::new())); }, "Add field" }
            }
            button { class: "aos-button aos-button--primary", "data-testid": "run-start", disabled: busy(), onclick: start, "Start run" }
            if let Some(message) = error() {
                p { class: "form-error", "data-testid": "run-error", "{message}" }
            }
            if let Some(status) = watch.status.clone().filter(|_| watch.mine) {
                p { class: "run-panel__status", "data-testid": "run-status", "data-status": "{status}", "Run {status}" }
                ol { class: "run-panel__log",
                    for (i, line) in watch.log.iter().enumerate() { li { key: "{i}", "{line}" } }
                }
            }
            button { class: "aos-button", "data-testid": "run-close", onclick: move |_| on_close.call(()), "Close" }
        }
    }
}

/// Publish the workflow as a gallery template.
#[component]
fn SharePanel(org: String, workflow_id: String, name: String, on_close: EventHandler<()>) -> Element {
    let nav = use_context::<Nav>();
    let mut title = use_signal(|| name.clone());
    let mut slug = use_signal(|| file_stem(&name));
    let mut category = use_signal(|| aos_schema::GALLERY_CATEGORIES[0].to_owned());
    let mut description = use_signal(String::new);
    let mut message = use_signal(|| None::<String>);
    let share = move |_| {
        let (org, id) = (org.clone(), workflow_id.clone());
        spawn(async move {
            match api::publish_template(&org, &id, &slug(), &title(), &category(), &description()).await {
                Ok(t) => message.set(Some(format!("published to the gallery as {}", t.slug))),
                Err(err) => {
                    nav.check(&err);
                    message.set(Some(err.to_string()));
                }
            }
        });
    };
    rsx! {
        div { class: "share-panel", "data-testid": "share-panel",
            h2 { "Publish as a template" }
            label { class: "field", span { class: "field__label", "Name" }
                input { "data-testid": "share-name", value: "{title}", oninput: move |e| title.set(e.value()) } }
            label { class: "field", span { class: "field__label", "Address" }
                input { "data-testid": "share-slug", value: "{slug}", oninput: move |e| slug.set(e.value()) } }
            label { class: "field", span { class: "field__label", "Category" }
                select { "data-testid": "share-category", onchange: move |e| category.set(e.value()),
                    for c in aos_schema::GALLERY_CATEGORIES.iter() {
                        option { key: "{c}", value: "{c}", selected: category() == *c, "{c}" }
                    }
                }
            }
            label { class: "field", span { class: "field__label", "Description" }
                textarea { "data-testid": "share-description", value: "{description}", oninput: move |e| description.set(e.value()) } }
            button { class: "aos-button aos-button--primary", "data-testid": "share-publish", onclick: share, "Publish template" }
            if let Some(text) = message() {
                p { class: "muted", "data-testid": "share-result", "{text}" }
            }
            button { class: "aos-button", onclick: move |_| on_close.call(()), "Close" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("Slack → Sheets!"), "slack---sheets");
        assert_eq!(file_stem("   "), "workflow");
    }
}
