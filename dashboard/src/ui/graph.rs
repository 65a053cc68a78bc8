//! The run's graph, drawn read-only in SVG at the nodes' saved positions, with the run-pulse
//! classes (`node--running` glows, `node--succeeded`/`node--failed` carry the duration, the edge
//! the data travels is `edge--active`). The geometry is plain functions; the component draws it.

use std::collections::HashMap;

use aos_schema::WorkflowGraph;
use dioxus::prelude::*;

use crate::clock;
use crate::runs::NodeState;

/// A node's box on the canvas.
pub const NODE_WIDTH: f64 = 168.0;
pub const NODE_HEIGHT: f64 = 52.0;
const MARGIN: f64 = 24.0;

/// The view box `x y width height` that holds every node with a margin.
pub fn view_box(graph: &WorkflowGraph) -> (f64, f64, f64, f64) {
    if graph.nodes.is_empty() {
        return (0.0, 0.0, 400.0, 120.0);
    }
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let xs = graph.nodes.iter().map(|n| finite(n.position.x));
    let ys = graph.nodes.iter().map(|n| finite(n.position.y));
    let (min_x, max_x) = xs.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (min_y, max_y) = ys.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    (
        min_x - MARGIN,
        min_y - MARGIN,
        max_x - min_x + NODE_WIDTH + 2.0 * MARGIN,
        max_y - min_y + NODE_HEIGHT + 2.0 * MARGIN,
    )
}

/// A smooth edge from the right middle of the node at `from` to the left middle of the node at `to`.
pub fn edge_path(from: (f64, f64), to: (f64, f64)) -> String {
    let (x1, y1) = (from.0 + NODE_WIDTH, from.1 + NODE_HEIGHT / 2.0);
    let (x2, y2) = (to.0, to.1 + NODE_HEIGHT / 2.0);
    let bend = ((x2 - x1).abs() / 2.0).max(40.0);
    format!("M{x1:.1} {y1:.1} C{:.1} {y1:.1} {:.1} {y2:.1} {x2:.1} {y2:.1}", x1 + bend, x2 - bend)
}

/// The class of an edge: the data is travelling it (its source is done and its target runs), it
/// carried data, or nothing yet.
pub fn edge_class(from: Option<NodeState>, to: Option<NodeState>) -> &'static str {
    match (from, to) {
        (Some(NodeState::Succeeded), Some(NodeState::Running)) => "edge edge--active",
        (Some(NodeState::Succeeded), Some(NodeState::Succeeded | NodeState::Failed)) => "edge edge--done",
        _ => "edge",
    }
}

/// The states to draw: a delay that has started its wait shows as running until the next step
/// starts (its step succeeds at once; the run holds its output for the wait), unless the run ended.
pub fn drawn_states(
    graph: &WorkflowGraph,
    states: &HashMap<String, (NodeState, Option<i64>)>,
    finished: bool,
) -> HashMap<String, (NodeState, Option<i64>)> {
    let mut drawn = states.clone();
    if finished {
        return drawn;
    }
    for node in graph.nodes.iter().filter(|n| n.kind == aos_schema::kinds::LOGIC_DELAY) {
        let id = node.id.as_str();
        let waited = states.get(id).is_some_and(|s| s.0 == NodeState::Succeeded);
        let next_started =
            graph.edges.iter().filter(|e| e.from.as_str() == id).any(|e| states.contains_key(e.to.as_str()));
        if waited && !next_started {
            drawn.insert(id.to_owned(), (NodeState::Running, None));
        }
    }
    drawn
}

#[component]
pub fn RunGraph(graph: WorkflowGraph, states: HashMap<String, (NodeState, Option<i64>)>) -> Element {
    let (x, y, w, h) = view_box(&graph);
    let position = |id: &str| graph.nodes.iter().find(|n| n.id.as_str() == id).map(|n| (n.position.x, n.position.y));
    let state = |id: &str| states.get(id).map(|s| s.0);
    let edges: Vec<(String, String, &'static str)> = graph
        .edges
        .iter()
        .filter_map(|e| {
            let path = edge_path(position(e.from.as_str())?, position(e.to.as_str())?);
            Some((e.id.as_str().to_owned(), path, edge_class(state(e.from.as_str()), state(e.to.as_str()))))
        })
        .collect();
    rsx! {
        svg {
            class: "graph",
            view_box: "{x:.1} {y:.1} {w:.1} {h:.1}",
            role: "img",
            "aria-label": "The run's workflow graph",
            for (id, d, class) in edges {
                path { key: "{id}", class, d, "data-testid": "graph-edge" }
            }
            for node in graph.nodes.iter() {
                {
                    let id = node.id.as_str().to_owned();
                    let (state_class, took) = match states.get(&id) {
                        Some((s, took)) => (s.class(), took.map(clock::format_duration).unwrap_or_default()),
                        None => ("node--idle", String::new()),
                    };
                    let label = if node.label.is_empty() { id.clone() } else { node.label.clone() };
                    rsx! {
                        g {
                            key: "{id}",
                            class: "node {state_class}",
                            transform: "translate({node.position.x:.1} {node.position.y:.1})",
                            "data-testid": "graph-node",
                            "data-node": "{id}",
                            rect { class: "node__box", width: "{NODE_WIDTH}", height: "{NODE_HEIGHT}", rx: "14" }
                            text { class: "node__label", x: "14", y: "22", "{label}" }
                            text { class: "node__kind", x: "14", y: "40", "{node.kind}" }
                            if !took.is_empty() {
                                text { class: "node__took", x: "{NODE_WIDTH - 10.0}", y: "40", text_anchor: "end", "{took}" }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_box_holds_every_node() {
        let graph: WorkflowGraph = serde_json::from_value(serde_json::json!({
            "nodes": [
                {"id": "a", "kind": "trigger.manual", "label": "A", "position": {"x": 100.0, "y": 50.0}, "config": {}},
                {"id": "b", "kind": "data.transform", "label": "B", "position": {"x": 400.0, "y": 150.0}, "config": {}}
            ],
            "edges": []
        }))
        .unwrap();
        let (x, y, w, h) = view_box(&graph);
        assert_eq!((x, y), (76.0, 26.0));
        assert_eq!(w, 300.0 + NODE_WIDTH + 48.0);
        assert_eq!(h, 100.0 + NODE_HEIGHT + 48.0);
        assert_eq!(view_box(&WorkflowGraph::default()), (0.0, 0.0, 400.0, 120.0));
    }

    #[test]
    fn edges_and_their_classes() {
        assert_eq!(edge_path((0.0, 0.0), (300.0, 0.0)), "M168.0 26.0 C234.0 26.0 234.0 26.0 300.0 26.0");
        assert_eq!(edge_class(Some(NodeState::Succeeded), Some(NodeState::Running)), "edge edge--active");
        assert_eq!(edge_class(Some(NodeState::Succeeded), Some(NodeState::Failed)), "edge edge--done");
        assert_eq!(edge_class(None, None), "edge");
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
        states.insert("next".into(), (NodeState::Running, None));
        assert_eq!(drawn_states(&graph, &states, false)["wait"].0, NodeState::Succeeded, "the wait is over");
    }
}
