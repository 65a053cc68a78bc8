//! The run's graph, drawn by ui-kit's `CanvasView` (the studio's renderer, so the pulses are the
//! studio's): the nodes at their saved positions, fitted to the panel, with the run overlay built
//! from the log (`node--running` glows, finished nodes carry their duration, edges the data took
//! flow as `edge--active` and settle as `edge--carried` once the run has ended). Read-only: pointer input is ignored and the wheel scrolls the page.

use std::collections::HashMap;

use aos_schema::{Catalog, NodeId, WorkflowGraph};
use aos_ui_kit::canvas::{Scene, Viewport};
use aos_ui_kit::components::{CanvasView, NodeRun, RunOverlay};
use dioxus::prelude::*;

use crate::runs::NodeState;

/// The panel's size before the browser reports it.
const DEFAULT_SCREEN: (f64, f64) = (720.0, 300.0);

/// The run overlay the canvas draws: each node's state and duration, and the edges whose data
/// travelled (the source succeeded and the target started).
pub fn overlay(graph: &WorkflowGraph, states: &HashMap<String, (NodeState, Option<i64>)>, settled: bool) -> RunOverlay {
    let mut overlay = RunOverlay { settled, ..RunOverlay::default() };
    for (id, (state, took)) in states {
        let duration_ms = took.and_then(|ms| u64::try_from(ms).ok());
        overlay.nodes.insert(NodeId(id.clone()), NodeRun { state: *state, duration_ms });
    }
    let state = |id: &str| states.get(id).map(|s| s.0);
    for edge in &graph.edges {
        let travelled = state(edge.from.as_str()) == Some(NodeState::Succeeded)
            && matches!(state(edge.to.as_str()), Some(NodeState::Running | NodeState::Succeeded | NodeState::Failed));
        if travelled {
            overlay.active_edges.insert(edge.id.clone());
        }
    }
    overlay
}

/// The states to draw: a delay that has started its wait shows as running until the next step
/// starts (its step succeeds at once; the run holds its output for the wait), unless the run
/// ended; once the wait is over the delay took at least its wait, not its step's ~0 ms.
pub fn drawn_states(
    graph: &WorkflowGraph,
    states: &HashMap<String, (NodeState, Option<i64>)>,
    finished: bool,
) -> HashMap<String, (NodeState, Option<i64>)> {
    let mut drawn = states.clone();
    for node in graph.nodes.iter().filter(|n| n.kind == aos_schema::kinds::LOGIC_DELAY) {
        let id = node.id.as_str();
        let Some((NodeState::Succeeded, took)) = states.get(id).copied() else { continue };
        let next_started =
            graph.edges.iter().filter(|e| e.from.as_str() == id).any(|e| states.contains_key(e.to.as_str()));
        if !next_started && !finished {
            drawn.insert(id.to_owned(), (NodeState::Running, None));
        } else if let Some(wait) = crate::runs::delay_wait_ms(node) {
            drawn.insert(id.to_owned(), (NodeState::Succeeded, Some(took.unwrap_or(0).max(wait))));
        }
    }
    drawn
}

#[component]
pub fn RunGraph(graph: WorkflowGraph, states: HashMap<String, (NodeState, Option<i64>)>, settled: bool) -> Element {
    let mut screen = use_signal(|| DEFAULT_SCREEN);
    let scene = Scene::build(&graph, &Catalog::builtin());
    let (width, height) = screen();
    let viewport = scene.bounds().map(|b| Viewport::fit(b, width, height, 24.0)).unwrap_or_default();
    let run = overlay(&graph, &states, settled);
    rsx! {
        div { class: "run-canvas", role: "img", "aria-label": "The run's workflow graph",
            CanvasView {
                scene,
                viewport,
                run,
                testid: "graph",
                captures_wheel: false,
                on_resize: move |size: (f64, f64)| {
                    if size.0 > 0.0 && size.1 > 0.0 && size != *screen.peek() {
                        screen.set(size);
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlay_carries_states_durations_and_travelled_edges() {
        let graph: WorkflowGraph = serde_json::from_value(serde_json::json!({
            "nodes": [
                {"id": "a", "kind": "trigger.manual", "config": {}},
                {"id": "b", "kind": "data.transform", "config": {"fields": {}}},
                {"id": "c", "kind": "data.transform", "config": {"fields": {}}}
            ],
            "edges": [{"id": "ab", "from": "a", "to": "b"}, {"id": "bc", "from": "b", "to": "c"}]
        }))
        .unwrap();
        let states = HashMap::from([
            ("a".to_string(), (NodeState::Succeeded, Some(12))),
            ("b".to_string(), (NodeState::Running, None)),
        ]);
        let drawn = overlay(&graph, &states, false);
        assert_eq!(drawn.nodes[&NodeId("a".into())], NodeRun { state: NodeState::Succeeded, duration_ms: Some(12) });
        assert_eq!(drawn.nodes[&NodeId("b".into())].state, NodeState::Running);
        assert!(!drawn.nodes.contains_key(&NodeId("c".into())), "c has not been reached");
        let active: Vec<&str> = drawn.active_edges.iter().map(|e| e.as_str()).collect();
        assert_eq!(active, ["ab"], "the data is on its way into b, not yet out of it");
    }

    #[test]
    fn a_waiting_delay_is_drawn_running() {
        let graph: WorkflowGraph = serde_json::from_value(serde_json::json!({
            "nodes": [
                {"id": "wait", "kind": "logic.delay", "config": {"seconds": 3}},
                {"id": "next", "kind": "data.transform", "config": {"fields": {}}}
            ],
            "edges": [{"id": "e", "from": "wait", "to": "next"}]
        }))
        .unwrap();
        let mut states = HashMap::from([("wait".to_string(), (NodeState::Succeeded, Some(1)))]);
        assert_eq!(drawn_states(&graph, &states, false)["wait"].0, NodeState::Running);
        assert_eq!(drawn_states(&graph, &states, true)["wait"].0, NodeState::Succeeded, "the run ended");
        assert_eq!(drawn_states(&graph, &states, true)["wait"].1, Some(3_000), "it took its wait, not 1 ms");
        states.insert("next".into(), (NodeState::Running, None));
        assert_eq!(drawn_states(&graph, &states, false)["wait"].0, NodeState::Succeeded, "the wait is over");
    }
}
