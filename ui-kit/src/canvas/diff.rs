//! The visual diff of two graphs (an import over the open workflow, or two versions), built on
//! `aos_schema::diff_graphs`: one graph to draw holding the `after` graph plus the removed nodes
//! and edges as ghosts, and a status for every node and edge.

use std::collections::BTreeMap;

use aos_schema::{EdgeId, GraphDiff, NodeId, WorkflowGraph, diff_graphs};

/// How a node or edge differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffStatus {
    Added,
    Removed,
    Changed,
    Same,
}

impl DiffStatus {
    /// The CSS class the renderer puts on the node or edge.
    pub fn class(self) -> &'static str {
        match self {
            DiffStatus::Added => "diff--added",
            DiffStatus::Removed => "diff--removed",
            DiffStatus::Changed => "diff--changed",
            DiffStatus::Same => "",
        }
    }
}

/// What the canvas shows for a diff.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiffView {
    /// `after`, plus the removed nodes and edges (a removed edge whose id is reused by an added
    /// one is drawn under `<id>~was`).
    pub graph: WorkflowGraph,
    pub nodes: BTreeMap<NodeId, DiffStatus>,
    pub edges: BTreeMap<EdgeId, DiffStatus>,
    /// The diff itself, for the list beside the canvas.
    pub diff: GraphDiff,
}

impl DiffView {
    pub fn new(before: &WorkflowGraph, after: &WorkflowGraph) -> DiffView {
        let diff = diff_graphs(before, after);
        let mut graph = after.clone();
        let mut nodes: BTreeMap<NodeId, DiffStatus> =
            after.nodes.iter().map(|n| (n.id.clone(), DiffStatus::Same)).collect();
        let mut edges: BTreeMap<EdgeId, DiffStatus> =
            after.edges.iter().map(|e| (e.id.clone(), DiffStatus::Same)).collect();
        for node in &diff.nodes_added {
            nodes.insert(node.id.clone(), DiffStatus::Added);
        }
        for change in &diff.nodes_changed {
            nodes.insert(change.id.clone(), DiffStatus::Changed);
        }
        for node in &diff.nodes_removed {
            nodes.insert(node.id.clone(), DiffStatus::Removed);
            graph.nodes.push(node.clone());
        }
        for edge in &diff.edges_added {
            edges.insert(edge.id.clone(), DiffStatus::Added);
        }
        for edge in &diff.edges_removed {
            let mut ghost = edge.clone();
            if after.edge(edge.id.as_str()).is_some() {
                ghost.id = EdgeId::from(format!("{}~was", edge.id));
            }
            edges.insert(ghost.id.clone(), DiffStatus::Removed);
            graph.edges.push(ghost);
        }
        DiffView { graph, nodes, edges, diff }
    }

    /// How many nodes and edges were added, removed and changed: `(added, removed, changed)`.
    pub fn counts(&self) -> (usize, usize, usize) {
        let d = &self.diff;
        (
            d.nodes_added.len() + d.edges_added.len(),
            d.nodes_removed.len() + d.edges_removed.len(),
            d.nodes_changed.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::{Edge, Node, kinds};

    #[test]
    fn statuses_and_ghosts() {
        let before = WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("old", kinds::LOGIC_DELAY))
            .with_node(Node::new("keep", kinds::LOGIC_DELAY).with_config("seconds", 1))
            .with_edge(Edge::new("e1", "t", "old"))
            .with_edge(Edge::new("e2", "t", "keep"));
        let after = WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("keep", kinds::LOGIC_DELAY).with_config("seconds", 5))
            .with_node(Node::new("new", kinds::HTTP_REQUEST))
            .with_edge(Edge::new("e2", "t", "new"));
        let view = DiffView::new(&before, &after);
        let status = |id: &str| view.nodes[&NodeId::from(id)];
        assert_eq!(status("t"), DiffStatus::Same);
        assert_eq!(status("keep"), DiffStatus::Changed);
        assert_eq!(status("new"), DiffStatus::Added);
        assert_eq!(status("old"), DiffStatus::Removed);
        assert!(view.graph.node("old").is_some());
        // e2 changed ends: the old one is a ghost under another id, the new one is added
        assert_eq!(view.edges[&EdgeId::from("e2")], DiffStatus::Added);
        assert_eq!(view.edges[&EdgeId::from("e2~was")], DiffStatus::Removed);
        assert_eq!(view.edges[&EdgeId::from("e1")], DiffStatus::Removed);
        assert_eq!(view.graph.edges.len(), 3);
        assert_eq!(view.counts(), (2, 3, 1));
        assert_eq!(DiffStatus::Removed.class(), "diff--removed");
        assert!(DiffView::new(&after, &after).diff.is_empty());
    }
}
