//! The side panel's "Step data" of the selected node: in the run being watched on the canvas, what
//! its latest attempt received and produced (or its error), how long it took and in how many
//! tries, as JSON trees; or plainly why there is nothing to show. The rows come from
//! `GET /api/runs/{id}`, read again whenever a step of that run ends.

use aos_schema::{Node, WorkflowGraph};
use aos_ui_kit::components::{JsonTree, format_duration};
use dioxus::prelude::*;

use crate::api::{self, RunDetail};
use crate::editor::Editor;
use crate::run_view::RunWatch;
use crate::step_data::{StepShown, attempts_text, node_labels, step_shown};

/// The step rows of the watched run, or why they could not be read.
pub(super) type StepRows = Resource<Option<Result<RunDetail, String>>>;

/// Reads the watched run's step rows after each step end (and the run's end) while one node is
/// selected (nothing shows them otherwise): the events say when a row changed, the API says what
/// it holds. The last read stays shown while the next one is under way.
pub(super) fn use_step_rows(run: Signal<RunWatch>, editor: Signal<Editor>) -> StepRows {
    let key = use_memo(move || {
        let one_selected = editor.read().selection.nodes.len() == 1;
        let watch = run.read();
        watch.run_id.clone().filter(|_| one_selected && watch.step_ends > 0).map(|id| (id, watch.step_ends))
    });
    use_resource(move || {
        let key = key();
        async move {
            let (id, _) = key?;
            Some(api::run_detail(&id).await.map_err(|err| err.to_string()))
        }
    })
}

/// The selected node's step in the watched run.
#[component]
pub(super) fn StepData(node: Node, graph: WorkflowGraph, run: Signal<RunWatch>, rows: StepRows) -> Element {
    let watch = run.read();
    let read = rows.read();
    let (detail, failure) = match read.as_ref().and_then(Option::as_ref) {
        Some(Ok(detail)) => (Some(detail), None),
        Some(Err(message)) => (None, Some(message.clone())),
        None => (None, None),
    };
    let shown = step_shown(&watch, detail, &node.id);
    let name = if node.label.trim().is_empty() { node.id.to_string() } else { node.label.clone() };
    // a merge receives its predecessors' outputs keyed by node id: show their labels instead
    let input_labels =
        if node.kind == aos_schema::kinds::LOGIC_MERGE { node_labels(&graph) } else { Default::default() };
    let note = |text: String| rsx! { p { class: "muted", "data-testid": "step-data-note", "{text}" } };
    let body = match &shown {
        StepShown::NoRun => {
            note("No run on the canvas yet: run the workflow to see what each step receives and produces.".into())
        }
        StepShown::NotRun { run_over: true } => note(format!("{name} did not run in this run.")),
        StepShown::NotRun { run_over: false } => note(format!("{name} has not run yet in this run.")),
        StepShown::Running => note(format!("{name} is running…")),
        StepShown::Skipped => note(format!("{name} was skipped: the run took another branch.")),
        StepShown::Loading => match failure {
            Some(message) => {
                rsx! { p { class: "form-error", "data-testid": "step-data-error", "could not read the step data: {message}" } }
            }
            None => note(format!("Reading what {name} received and produced…")),
        },
        StepShown::Ended { step, item } => {
            let duration = watch
                .overlay
                .nodes
                .get(&node.id)
                .and_then(|r| r.duration_ms)
                .or_else(|| step.duration_ms.and_then(|ms| u64::try_from(ms).ok()))
                .map(format_duration);
            let status = step.status.as_str();
            rsx! {
                div { class: "step-data__facts",
                    span { class: "step-data__status step-data__status--{status}", "data-testid": "step-status", "{status}" }
                    if let Some(took) = duration {
                        span { "data-testid": "step-duration", "took {took}" }
                    }
                    span { "data-testid": "step-attempts", {attempts_text(step.attempts)} }
                }
                if let Some(item) = item {
                    p { class: "muted", "Item {item} of the for-each, the last one that ran." }
                }
                if let Some(error) = &step.error {
                    h4 { "Error" }
                    p { class: "step-data__error", "data-testid": "step-error", "{error}" }
                }
                if let Some(output) = &step.output {
                    h4 { "Output" }
                    JsonTree { value: output.clone(), testid: "step-output" }
                }
                if let Some(input) = &step.input {
                    h4 { "Input" }
                    JsonTree { value: input.clone(), testid: "step-input", labels: input_labels.clone() }
                }
            }
        }
    };
    rsx! {
        section { class: "step-data", "data-testid": "step-data", "data-state": "{shown.state()}",
            h3 { "Step data" }
            {body}
        }
    }
}
