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
    /// Places each problem on the nodes it names (an edge problem on the edge's ends), worded
    /// with the nodes' labels where they have one.
    pub fn place(errors: &[ValidationError], graph: &WorkflowGraph) -> Problems {
        let mut out = Problems::default();
        for error in errors {
            let nodes = nodes_of(error, graph);
            let text = in_words(error, &nodes, graph);
            if nodes.is_empty() {
                out.workflow.push(text.clone());
            }
            for node in nodes {
                out.nodes.entry(node).or_default().push(text.clone());
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

/// The problem as a person reads it: each node it names called by its label (`node “Shape the
/// order” is …`), the id kept where the node has no label of its own.
fn in_words(error: &ValidationError, nodes: &[NodeId], graph: &WorkflowGraph) -> String {
    let mut text = error.to_string();
    for id in nodes {
        let label = graph.node(id.as_str()).map(|n| n.label.trim()).filter(|l| !l.is_empty() && *l != id.as_str());
        if let Some(label) = label {
            text = replace_token(&text, id.as_str(), &format!("“{label}”"));
        }
    }
    text
}

/// `text` with every whole occurrence of `token` (not part of a longer id) replaced.
fn replace_token(text: &str, token: &str, with: &str) -> String {
    let part_of_id = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(token) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + token.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(part_of_id) || after.is_some_and(part_of_id) {
            out.push_str(token);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + token.len()..];
    }
    out.push_str(rest);
    out
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
        | V::BadExpression { node, .. }
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

    #[test]
    fn problems_name_nodes_by_their_labels() {
        let graph = WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL).with_label("Start"))
            .with_node(Node::new("data_transform_m1k5", kinds::LOGIC_DELAY).with_label("Wait a bit"))
            .with_node(Node::new("d", kinds::LOGIC_DELAY).with_label(""))
            .with_edge(Edge::new("x", "t", "data_transform_m1k5"))
            .with_edge(Edge::new("y", "t", "d"));
        let problems = Problems::check(&graph, &Catalog::builtin());
        let labelled = &problems.nodes[&NodeId::from("data_transform_m1k5")];
        assert!(
            labelled.iter().any(|p| p.contains("“Wait a bit”") && !p.contains("data_transform_m1k5")),
            "{labelled:?}"
        );
        let unlabelled = &problems.nodes[&NodeId::from("d")];
        assert!(
            unlabelled.iter().any(|p| p.starts_with("node d ") && p.contains("seconds")),
            "no label: the id stays: {unlabelled:?}"
        );
        assert_eq!(replace_token("node d in data_d and d-2, d.", "d", "“D”"), "node “D” in data_d and d-2, “D”.");
    }
}
