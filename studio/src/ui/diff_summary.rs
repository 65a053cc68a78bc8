//! The words beside a visual diff on the canvas, shared by the import preview and the version
//! history: counts of what was added, removed and changed, then each change by step label.

use aos_schema::Catalog;
use aos_ui_kit::canvas::DiffView;
use dioxus::prelude::*;

use crate::changes::describe;

/// The summary of `view`; `testid` names the counts (with `data-added`, `data-removed` and
/// `data-changed`) and, suffixed `-line`, each change (with `data-status`).
#[component]
pub fn DiffSummary(view: DiffView, testid: String) -> Element {
    let catalog = use_hook(Catalog::builtin);
    let (added, removed, changed) = view.counts();
    let lines = describe(&view, &catalog);
    rsx! {
        div { class: "diff-summary",
            p { class: "diff-summary__counts", "data-testid": "{testid}",
                "data-added": "{added}", "data-removed": "{removed}", "data-changed": "{changed}",
                span { class: "diff-chip diff-chip--added", "+{added}" }
                span { class: "diff-chip diff-chip--removed", "−{removed}" }
                span { class: "diff-chip diff-chip--changed", "~{changed}" }
            }
            if lines.is_empty() {
                p { class: "muted", "No changes." }
            }
            ul { class: "diff-summary__lines",
                for (i, line) in lines.into_iter().enumerate() {
                    {
                        let status = status_name(line.status);
                        rsx! {
                            li { key: "{i}", class: "diff-line diff-line--{status}", "data-testid": "{testid}-line",
                                "data-status": "{status}", "{line.text}" }
                        }
                    }
                }
            }
        }
    }
}

/// The status as the `data-status` attribute names it.
fn status_name(status: aos_ui_kit::canvas::DiffStatus) -> &'static str {
    use aos_ui_kit::canvas::DiffStatus;
    match status {
        DiffStatus::Added => "added",
        DiffStatus::Removed => "removed",
        DiffStatus::Changed => "changed",
        DiffStatus::Same => "same",
    }
}
