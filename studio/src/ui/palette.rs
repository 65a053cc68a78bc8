//! The palette: every node kind of the catalog by category. Dragging one onto the canvas places it
//! where it is dropped (the editor's `placing`); clicking one places it in the middle of the view.

use aos_schema::{Catalog, NodeCategory, WorkflowGraph};
use aos_web_client::platform;
use dioxus::prelude::*;

use crate::editor::Editor;

/// The categories in the order the palette lists them.
const CATEGORIES: [(NodeCategory, &str); 4] = [
    (NodeCategory::Trigger, "Triggers"),
    (NodeCategory::Logic, "Logic"),
    (NodeCategory::Data, "Data"),
    (NodeCategory::Action, "Actions"),
];

/// The palette beside `graph`; `on_place` gets the graph with a clicked kind added.
#[component]
pub(super) fn Palette(
    graph: WorkflowGraph,
    enabled: bool,
    editor: Signal<Editor>,
    on_place: EventHandler<WorkflowGraph>,
) -> Element {
    let catalog = use_hook(Catalog::builtin);
    let kinds = catalog.descriptors().to_vec();
    rsx! {
        aside { class: "palette aos-surface", "data-testid": "palette",
            for (category, title) in CATEGORIES {
                h3 { key: "{title}", class: "palette__title", "{title}" }
                for d in kinds.iter().filter(|d| d.category == category).cloned() {
                    {
                        let kind_drag = d.kind.clone();
                        let kind_click = d.kind.clone();
                        let graph = graph.clone();
                        let catalog = catalog.clone();
                        rsx! {
                            button {
                                key: "{d.kind}",
                                class: "palette__item",
                                "data-testid": "palette-{d.kind}",
                                title: "{d.description}",
                                disabled: !enabled,
                                onpointerdown: move |_| editor.write().placing = Some(kind_drag.clone()),
                                onclick: move |_| {
                                    let next = editor.write().place_at_centre(&graph, &catalog, &kind_click, platform::random_u64());
                                    on_place.call(next);
                                },
                                "{d.title}"
                            }
                        }
                    }
                }
            }
        }
    }
}
