//! Validation problems pinned to the nodes they are about: from a refused publish (the API's
//! `details`) or from validating the draft locally with `aos_schema::validate`.

use std::collections::BTreeMap;

use aos_schema::{Catalog, NodeId, ValidationError, WorkflowGraph, validate};

/// Problems by node, and those about the whole workflow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Problems {
    pub nodes: BTreeMap<NodeId, Vec<String>>,
    pub workflow: Vec<String>,
}

impl Problems {
    /// Places each problem on the nodes it names (an edge problem on the edge's ends).
    pub fn place(errors: &[ValidationError], graph: &WorkflowGraph) -> Problems {
        let mut out = Problems::default();
        for error in errors {
            let nodes = nodes_of(error, graph);
            if nodes.is_empty() {
                out.workflow.push(error.to_string());
            }
            for node in nodes {
                out.nodes.entry(node).or_default().push(error.to_string());
            }
        }
        out
    }

    /// The draft's problems by local validation.
    pub fn check(graph: &WorkflowGraph, catalog: &Catalog) -> Problems {
        match validate(graph, catalog) {
            Ok(()) => Problems::default(),
            Err(errors) => Problems::place(errors.errors(), graph),
        }
    }

    /// These problems, with `other`'s node problems added where they are not already listed (a
    /// refused publish's problems shown beside the draft's own).
    pub fn with_nodes_of(mut self, other: &Problems) -> Problems {
        for (node, list) in &other.nodes {
            let entry = self.nodes.entry(node.clone()).or_default();
            for problem in list {
                if !entry.contains(problem) {
                    entry.push(problem.clone());
                }
            }
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.workflow.is_empty()
    }
}

fn nodes_of(error: &ValidationError, graph: &WorkflowGraph) -> Vec<NodeId> {
    use ValidationError as V;
    let edge_ends = |edge: &aos_schema::EdgeId| {
        graph.edge(edge.as_str()).map(|e| vec![e.from.clone(), e.to.clone()]).unwrap_or_default()
    };
    let mut nodes = match error {
        V::DuplicateNodeId { node }
        | V::UnknownKind { node, .. }
        | V::NonFinitePosition { node }
        | V::MissingRequiredField { node, .. }
        | V::InvalidFieldValue { node, .. }
        | V::PlaintextSecret { node, .. }
        | V::Unreachable { node }
        | V::EdgeIntoTrigger { node, .. }
        | V::UnknownPort { node, .. } => vec![node.clone()],
        V::DanglingEdge { edge, .. } | V::DuplicateEdge { edge, .. } | V::DuplicateEdgeId { edge } => edge_ends(edge),
        V::PortTypeMismatch { from, to, .. } => vec![from.clone(), to.clone()],
        V::TooManyTriggers { nodes } => nodes.clone(),
        V::Cycle { path } => path.clone(),
        V::InvalidId { .. } | V::TooManyNodes { .. } | V::TooManyEdges { .. } | V::NoTrigger => Vec::new(),
    };
    nodes.sort();
    nodes.dedup();
    nodes.retain(|n| graph.node(n.as_str()).is_some());
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::{Edge, Node, kinds};

    #[test]
    fn problems_land_on_their_nodes() {
        let graph = WorkflowGraph::new()
            .with_node(Node::new("d", kinds::LOGIC_DELAY))
            .with_node(Node::new("e", kinds::LOGIC_DELAY).with_config("seconds", 1))
            .with_edge(Edge::new("x", "d", "e"));
        let problems = Problems::check(&graph, &Catalog::builtin());
        assert!(problems.workflow.iter().any(|p| p.contains("no trigger")));
        assert!(problems.nodes[&NodeId::from("d")].iter().any(|p| p.contains("seconds")));
        let fine = WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("e", kinds::LOGIC_DELAY).with_config("seconds", 1))
            .with_edge(Edge::new("x", "t", "e"));
        assert!(Problems::check(&fine, &Catalog::builtin()).is_empty());
    }

    #[test]
    fn a_refused_publishs_node_problems_join_the_drafts_once() {
        let mut draft = Problems::default();
        draft.nodes.insert(NodeId::from("a"), vec!["seconds is required".into()]);
        let mut refused = Problems::default();
        refused.nodes.insert(NodeId::from("a"), vec!["seconds is required".into(), "too slow".into()]);
        refused.nodes.insert(NodeId::from("b"), vec!["unreachable".into()]);
        refused.workflow.push("no trigger".into());
        let merged = draft.with_nodes_of(&refused);
        assert_eq!(merged.nodes[&NodeId::from("a")], vec!["seconds is required".to_owned(), "too slow".to_owned()]);
        assert_eq!(merged.nodes[&NodeId::from("b")], vec!["unreachable".to_owned()]);
        assert!(merged.workflow.is_empty(), "only node problems are added");
    }
}
