//! The workflow graph as every layer sees it: nodes with a kind, a label, a canvas position and a
//! config object, joined by edges from an output port to an input port. This is the `graph` shape
//! of the export format and of `PUT /api/workflows/{id}/graph`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::canonical_json;
use crate::ids::{EdgeId, NodeId};

/// The most nodes one workflow may hold; import and validation refuse larger graphs.
pub const MAX_NODES: usize = 1000;

/// The most edges one workflow may hold; import and validation refuse larger graphs.
pub const MAX_EDGES: usize = 4000;

/// The output port a node has unless its kind says otherwise.
pub const DEFAULT_OUTPUT_PORT: &str = "out";

/// The input port a node has unless its kind says otherwise.
pub const DEFAULT_INPUT_PORT: &str = "in";

/// A whole workflow: what the canvas shows and what publishing compiles.
///
/// Unknown fields are refused when reading, so a typo such as `"lable"` is an error rather than
/// silently lost data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowGraph {
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub edges: Vec<Edge>,
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique within the graph; expressions name a step's output by it (`steps.<id>.output`).
    pub id: NodeId,
    /// The catalog kind, such as `http.request`; it decides the ports and config fields.
    pub kind: String,
    /// What the canvas shows on the node; free text, may be empty.
    #[serde(default)]
    pub label: String,
    /// Where the canvas draws the node; meaningless to execution.
    #[serde(default)]
    pub position: Position,
    /// The kind's config fields by name. Written with its keys sorted at every depth, so the
    /// byte form never depends on how a JSON map happens to order its keys.
    #[serde(default, serialize_with = "canonical_json::serialize_sorted_map")]
    pub config: Map<String, Value>,
}

/// A point on the canvas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

/// A connection carrying one node's output into another node's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    /// Unique within the graph.
    pub id: EdgeId,
    /// The node whose output travels along the edge.
    pub from: NodeId,
    /// Which of `from`'s output ports (`out`, or `true`/`false` on a condition...).
    #[serde(default = "default_output_port")]
    pub from_port: String,
    /// The node that receives the output.
    pub to: NodeId,
    /// Which of `to`'s input ports (`in` for every built-in kind).
    #[serde(default = "default_input_port")]
    pub to_port: String,
}

fn default_output_port() -> String {
    DEFAULT_OUTPUT_PORT.to_owned()
}

fn default_input_port() -> String {
    DEFAULT_INPUT_PORT.to_owned()
}

impl WorkflowGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node (builder style, for fixtures and scripts).
    pub fn with_node(mut self, node: Node) -> Self {
        self.nodes.push(node);
        self
    }

    /// Adds an edge (builder style, for fixtures and scripts).
    pub fn with_edge(mut self, edge: Edge) -> Self {
        self.edges.push(edge);
        self
    }

    /// The first node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|node| node.id.as_str() == id)
    }

    /// The first node with this id, for editing.
    pub fn node_mut(&mut self, id: &str) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|node| node.id.as_str() == id)
    }

    /// The first edge with this id.
    pub fn edge(&self, id: &str) -> Option<&Edge> {
        self.edges.iter().find(|edge| edge.id.as_str() == id)
    }

    /// The edges that leave the node.
    pub fn outgoing<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a Edge> + 'a {
        self.edges.iter().filter(move |edge| edge.from.as_str() == node)
    }

    /// The edges that arrive at the node.
    pub fn incoming<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a Edge> + 'a {
        self.edges.iter().filter(move |edge| edge.to.as_str() == node)
    }

    /// Removes a node and every edge that touches it; returns the node if it was there.
    pub fn remove_node(&mut self, id: &str) -> Option<Node> {
        let at = self.nodes.iter().position(|node| node.id.as_str() == id)?;
        self.edges.retain(|edge| edge.from.as_str() != id && edge.to.as_str() != id);
        Some(self.nodes.remove(at))
    }

    /// Nodes sorted by id and edges sorted by id: the order the canonical export writes. Equal ids
    /// (an invalid graph) keep their relative order.
    pub fn sorted(mut self) -> Self {
        self.nodes.sort_by(|a, b| a.id.cmp(&b.id));
        self.edges.sort_by(|a, b| a.id.cmp(&b.id));
        self
    }
}

impl Node {
    /// A node of the given kind at the origin, labelled with its id and with an empty config.
    pub fn new(id: impl Into<NodeId>, kind: impl Into<String>) -> Self {
        let id = id.into();
        Self { label: id.to_string(), id, kind: kind.into(), position: Position::default(), config: Map::new() }
    }

    /// Sets the label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the canvas position.
    pub fn with_position(mut self, x: f64, y: f64) -> Self {
        self.position = Position { x, y };
        self
    }

    /// Sets one config field.
    pub fn with_config(mut self, field: impl Into<String>, value: impl Into<Value>) -> Self {
        self.config.insert(field.into(), value.into());
        self
    }

    /// A config field's value as text, when it is a string.
    pub fn config_str(&self, field: &str) -> Option<&str> {
        self.config.get(field).and_then(Value::as_str)
    }
}

impl Edge {
    /// An edge from `from`'s `out` port to `to`'s `in` port.
    pub fn new(id: impl Into<EdgeId>, from: impl Into<NodeId>, to: impl Into<NodeId>) -> Self {
        Self {
            id: id.into(),
            from: from.into(),
            from_port: default_output_port(),
            to: to.into(),
            to_port: default_input_port(),
        }
    }

    /// Sets both ports.
    pub fn ports(mut self, from_port: impl Into<String>, to_port: impl Into<String>) -> Self {
        self.from_port = from_port.into();
        self.to_port = to_port.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_node_serializes_in_the_contract_shape() {
        let node = Node::new("fetch", "http.request")
            .with_label("Fetch")
            .with_position(1.5, -2.0)
            .with_config("url", "https://example.com")
            .with_config("method", "GET");
        let value = serde_json::to_value(&node).unwrap();
        assert_eq!(
            value,
            json!({
                "id": "fetch",
                "kind": "http.request",
                "label": "Fetch",
                "position": {"x": 1.5, "y": -2.0},
                "config": {"method": "GET", "url": "https://example.com"}
            })
        );
        let text = serde_json::to_string(&node).unwrap();
        assert!(text.starts_with(r#"{"id":"fetch","kind":"http.request","label":"Fetch","#));
    }

    #[test]
    fn an_edge_serializes_in_the_contract_shape_and_ports_default() {
        let edge: Edge = serde_json::from_value(json!({"id": "e1", "from": "a", "to": "b"})).unwrap();
        assert_eq!(edge, Edge::new("e1", "a", "b"));
        assert_eq!(
            serde_json::to_string(&edge).unwrap(),
            r#"{"id":"e1","from":"a","from_port":"out","to":"b","to_port":"in"}"#
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let result: Result<Node, _> =
            serde_json::from_value(json!({"id": "a", "kind": "trigger.manual", "lable": "x"}));
        assert!(result.unwrap_err().to_string().contains("unknown field `lable`"));
    }

    #[test]
    fn lookups_and_removal() {
        let mut graph = WorkflowGraph::new()
            .with_node(Node::new("a", "trigger.manual"))
            .with_node(Node::new("b", "logic.delay"))
            .with_edge(Edge::new("e1", "a", "b"));
        assert_eq!(graph.node("b").map(|n| n.kind.as_str()), Some("logic.delay"));
        assert_eq!(graph.outgoing("a").count(), 1);
        assert_eq!(graph.incoming("b").count(), 1);
        assert!(graph.edge("e1").is_some());
        assert!(graph.remove_node("b").is_some());
        assert!(graph.edges.is_empty());
        assert!(graph.remove_node("b").is_none());
    }
}
