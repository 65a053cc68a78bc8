//! What changed between two versions of a workflow graph: nodes added, removed and changed (kind,
//! label, position, and config key by key with the values before and after), edges added and
//! removed. The API returns it for an import dry-run and between versions, and the studio draws
//! it as a visual diff.
//!
//! Nodes are matched by id. Edges are compared whole: an edge whose id stays but whose ends or
//! ports change is reported removed (as it was) and added (as it is). Everything is sorted by id,
//! so one pair of graphs always gives the same diff. In a graph with a repeated id (an invalid
//! draft) the first node or edge with that id is the one compared.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::graph::{Edge, Node, Position, WorkflowGraph};
use crate::ids::NodeId;

/// The changes that turn `before` into `after`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphDiff {
    /// Nodes only in `after`, whole, sorted by id.
    pub nodes_added: Vec<Node>,
    /// Nodes only in `before`, whole, sorted by id.
    pub nodes_removed: Vec<Node>,
    /// Nodes in both that differ, sorted by id.
    pub nodes_changed: Vec<NodeChange>,
    /// Edges only in `after`, sorted by id.
    pub edges_added: Vec<Edge>,
    /// Edges only in `before`, sorted by id.
    pub edges_removed: Vec<Edge>,
}

/// How one node differs; only what changed is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeChange {
    pub id: NodeId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Change<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Change<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Change<Position>>,
    /// The config keys whose values differ, sorted by key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<ConfigChange>,
}

/// A value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change<T> {
    pub before: T,
    pub after: T,
}

/// One config key whose value differs; `None` where the key is absent (added or removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigChange {
    pub key: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl GraphDiff {
    /// Whether the two graphs are the same (up to the order of nodes and edges).
    pub fn is_empty(&self) -> bool {
        self.nodes_added.is_empty()
            && self.nodes_removed.is_empty()
            && self.nodes_changed.is_empty()
            && self.edges_added.is_empty()
            && self.edges_removed.is_empty()
    }
}

/// The diff from `before` to `after`; see the module documentation.
pub fn diff_graphs(before: &WorkflowGraph, after: &WorkflowGraph) -> GraphDiff {
    let old_nodes = by_id(&before.nodes, |node| &node.id);
    let new_nodes = by_id(&after.nodes, |node| &node.id);
    let mut diff = GraphDiff::default();
    for (id, node) in &old_nodes {
        match new_nodes.get(id) {
            None => diff.nodes_removed.push((*node).clone()),
            Some(new) => diff.nodes_changed.extend(node_change(node, new)),
        }
    }
    diff.nodes_added =
        new_nodes.iter().filter(|(id, _)| !old_nodes.contains_key(*id)).map(|(_, node)| (*node).clone()).collect();

    let old_edges = by_id(&before.edges, |edge| &edge.id);
    let new_edges = by_id(&after.edges, |edge| &edge.id);
    diff.edges_removed = old_edges
        .iter()
        .filter(|(id, edge)| new_edges.get(*id) != Some(*edge))
        .map(|(_, edge)| (*edge).clone())
        .collect();
    diff.edges_added = new_edges
        .iter()
        .filter(|(id, edge)| old_edges.get(*id) != Some(*edge))
        .map(|(_, edge)| (*edge).clone())
        .collect();
    diff
}

/// The items by id, sorted; the first of a repeated id wins.
fn by_id<'a, T, I: Ord + 'a>(items: &'a [T], id: impl Fn(&'a T) -> &'a I) -> BTreeMap<&'a I, &'a T> {
    let mut map = BTreeMap::new();
    for item in items {
        map.entry(id(item)).or_insert(item);
    }
    map
}

fn node_change(before: &Node, after: &Node) -> Option<NodeChange> {
    let change = |a: &String, b: &String| (a != b).then(|| Change { before: a.clone(), after: b.clone() });
    let same_position =
        same_number(before.position.x, after.position.x) && same_number(before.position.y, after.position.y);
    let mut config = Vec::new();
    let keys: BTreeSet<&String> = before.config.keys().chain(after.config.keys()).collect();
    for key in keys {
        let (old, new) = (before.config.get(key), after.config.get(key));
        if old != new {
            config.push(ConfigChange { key: key.clone(), before: old.cloned(), after: new.cloned() });
        }
    }
    let node = NodeChange {
        id: before.id.clone(),
        kind: change(&before.kind, &after.kind),
        label: change(&before.label, &after.label),
        position: (!same_position).then_some(Change { before: before.position, after: after.position }),
        config,
    };
    let changed = node.kind.is_some() || node.label.is_some() || node.position.is_some() || !node.config.is_empty();
    changed.then_some(node)
}

/// Equal numbers, with NaN equal to itself (an invalid position must not differ from itself).
fn same_number(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn graph() -> WorkflowGraph {
        WorkflowGraph::new()
            .with_node(Node::new("hook", "trigger.webhook").with_position(0.0, 0.0))
            .with_node(
                Node::new("post", "slack.post_message")
                    .with_label("Post")
                    .with_config("channel", "#a")
                    .with_config("text", "hi"),
            )
            .with_edge(Edge::new("e1", "hook", "post"))
    }

    #[test]
    fn a_graph_against_itself_is_empty() {
        let diff = diff_graphs(&graph(), &graph());
        assert!(diff.is_empty());
        assert_eq!(serde_json::to_value(&diff).unwrap()["nodes_added"], json!([]));
    }

    #[test]
    fn order_does_not_matter() {
        let mut reversed = graph();
        reversed.nodes.reverse();
        reversed.edges.reverse();
        assert!(diff_graphs(&graph(), &reversed).is_empty());
    }

    #[test]
    fn changes_at_key_level() {
        let mut after = graph();
        let post = after.node_mut("post").unwrap();
        post.label = "Post it".into();
        post.position = Position { x: 10.0, y: 0.0 };
        post.config.insert("channel".into(), json!("#b"));
        post.config.remove("text");
        post.config.insert("token".into(), json!("{{ secrets.SLACK_TOKEN }}"));
        let diff = diff_graphs(&graph(), &after);
        assert_eq!(diff.nodes_changed.len(), 1);
        let change = &diff.nodes_changed[0];
        assert_eq!(change.kind, None);
        assert_eq!(change.label, Some(Change { before: "Post".into(), after: "Post it".into() }));
        assert_eq!(
            serde_json::to_value(change).unwrap(),
            json!({
                "id": "post",
                "label": {"before": "Post", "after": "Post it"},
                "position": {"before": {"x": 0.0, "y": 0.0}, "after": {"x": 10.0, "y": 0.0}},
                "config": [
                    {"key": "channel", "before": "#a", "after": "#b"},
                    {"key": "text", "before": "hi", "after": null},
                    {"key": "token", "before": null, "after": "{{ secrets.SLACK_TOKEN }}"}
                ]
            })
        );
        assert!(diff.nodes_added.is_empty() && diff.edges_added.is_empty());
    }

    #[test]
    fn added_removed_and_rewired() {
        let mut after = graph();
        after.remove_node("post");
        after.nodes.push(Node::new("mail", "email.send"));
        after.edges.push(Edge::new("e1", "hook", "mail"));
        let diff = diff_graphs(&graph(), &after);
        assert_eq!(diff.nodes_added.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["mail"]);
        assert_eq!(diff.nodes_removed.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["post"]);
        assert_eq!(diff.edges_removed, vec![Edge::new("e1", "hook", "post")]);
        assert_eq!(diff.edges_added, vec![Edge::new("e1", "hook", "mail")]);
        assert!(!diff.is_empty());
    }

    #[test]
    fn a_nan_position_equals_itself() {
        let mut odd = graph();
        odd.nodes[0].position.x = f64::NAN;
        assert!(diff_graphs(&odd, &odd).is_empty());
    }
}
