//! Property tests of the graph diff over random pairs of graphs that share some ids: a graph
//! against itself is empty, the added and removed sets are the set differences, and applying the
//! reported changes to `before` gives `after`.

use std::collections::BTreeSet;

use aos_schema::{Edge, GraphDiff, Node, WorkflowGraph, diff_graphs};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const KINDS: [&str; 4] = ["trigger.manual", "logic.delay", "http.request", "slack.post_message"];

fn node() -> impl Strategy<Value = Node> {
    (
        0usize..8,
        prop::sample::select(KINDS.to_vec()),
        prop::sample::select(vec!["", "A", "Fetch"]),
        (0i32..3, 0i32..3),
        prop::collection::btree_map(
            prop::sample::select(vec!["url", "method", "seconds", "text"]),
            prop_oneof![Just(json!(1)), Just(json!("x")), Just(json!({"a": [1, 2]})), Just(Value::Null)],
            0..4,
        ),
    )
        .prop_map(|(id, kind, label, (x, y), config)| {
            let mut node = Node::new(format!("n{id}"), kind).with_label(label).with_position(x.into(), y.into());
            node.config = config.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>();
            node
        })
}

fn edge() -> impl Strategy<Value = Edge> {
    (0usize..6, 0usize..8, 0usize..8, prop::sample::select(vec!["out", "true"])).prop_map(|(id, from, to, port)| {
        Edge::new(format!("e{id}"), format!("n{from}"), format!("n{to}")).ports(port, "in")
    })
}

/// A graph with unique node and edge ids (the first of a repeated id kept).
fn graph() -> impl Strategy<Value = WorkflowGraph> {
    (prop::collection::vec(node(), 0..8), prop::collection::vec(edge(), 0..8)).prop_map(|(nodes, edges)| {
        let mut seen = BTreeSet::new();
        let nodes = nodes.into_iter().filter(|n| seen.insert(n.id.clone())).collect();
        let mut seen = BTreeSet::new();
        let edges = edges.into_iter().filter(|e| seen.insert(e.id.clone())).collect();
        WorkflowGraph { nodes, edges }
    })
}

/// `before` with the diff applied.
fn apply(before: &WorkflowGraph, diff: &GraphDiff) -> WorkflowGraph {
    let mut graph = before.clone();
    for node in &diff.nodes_removed {
        graph.nodes.retain(|n| n.id != node.id);
    }
    graph.nodes.extend(diff.nodes_added.iter().cloned());
    for change in &diff.nodes_changed {
        let node = graph.node_mut(change.id.as_str()).expect("a changed node exists before");
        if let Some(kind) = &change.kind {
            assert_eq!(node.kind, kind.before);
            node.kind = kind.after.clone();
        }
        if let Some(label) = &change.label {
            node.label = label.after.clone();
        }
        if let Some(position) = &change.position {
            assert_eq!(node.position, position.before);
            node.position = position.after;
        }
        for key in &change.config {
            assert_eq!(node.config.get(&key.key), key.before.as_ref());
            match &key.after {
                Some(value) => node.config.insert(key.key.clone(), value.clone()),
                None => node.config.remove(&key.key),
            };
        }
    }
    for edge in &diff.edges_removed {
        graph.edges.retain(|e| e != edge);
    }
    graph.edges.extend(diff.edges_added.iter().cloned());
    graph.sorted()
}

fn ids<'a>(ids: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    ids.map(str::to_owned).collect()
}

proptest! {
    #[test]
    fn a_graph_against_itself_is_empty(graph in graph()) {
        prop_assert!(diff_graphs(&graph, &graph).is_empty());
        let mut shuffled = graph.clone();
        shuffled.nodes.reverse();
        shuffled.edges.reverse();
        prop_assert!(diff_graphs(&graph, &shuffled).is_empty());
    }

    #[test]
    fn the_diff_is_the_set_differences_and_applies(before in graph(), after in graph()) {
        let diff = diff_graphs(&before, &after);
        let old = ids(before.nodes.iter().map(|n| n.id.as_str()));
        let new = ids(after.nodes.iter().map(|n| n.id.as_str()));
        let added = ids(diff.nodes_added.iter().map(|n| n.id.as_str()));
        let removed = ids(diff.nodes_removed.iter().map(|n| n.id.as_str()));
        prop_assert_eq!(&added, &new.difference(&old).cloned().collect());
        prop_assert_eq!(&removed, &old.difference(&new).cloned().collect());
        let changed: BTreeSet<String> = before
            .nodes
            .iter()
            .filter(|n| after.node(n.id.as_str()).is_some_and(|m| m != *n))
            .map(|n| n.id.to_string())
            .collect();
        prop_assert_eq!(ids(diff.nodes_changed.iter().map(|c| c.id.as_str())), changed);

        let old_edges: BTreeSet<String> = before.edges.iter().map(|e| format!("{e:?}")).collect();
        let new_edges: BTreeSet<String> = after.edges.iter().map(|e| format!("{e:?}")).collect();
        let added: BTreeSet<String> = diff.edges_added.iter().map(|e| format!("{e:?}")).collect();
        let removed: BTreeSet<String> = diff.edges_removed.iter().map(|e| format!("{e:?}")).collect();
        prop_assert_eq!(added, new_edges.difference(&old_edges).cloned().collect());
        prop_assert_eq!(removed, old_edges.difference(&new_edges).cloned().collect());

        // sorted by id, and applying it gives `after`
        let sorted = |list: Vec<String>| { let mut s = list.clone(); s.sort(); s == list };
        prop_assert!(sorted(diff.nodes_added.iter().map(|n| n.id.to_string()).collect()));
        prop_assert!(sorted(diff.nodes_changed.iter().map(|n| n.id.to_string()).collect()));
        prop_assert!(sorted(diff.edges_added.iter().map(|e| e.id.to_string()).collect()));
        prop_assert_eq!(apply(&before, &diff), after.clone().sorted());
        prop_assert_eq!(diff.is_empty(), before.clone().sorted() == after.clone().sorted());
    }
}
