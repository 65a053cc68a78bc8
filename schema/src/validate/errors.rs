//! The problems validation finds: one typed variant per kind of problem, each naming the nodes,
//! edges, ports and fields involved, serializable so the studio can highlight them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::PortType;
use crate::ids::{EdgeId, NodeId};

/// Which end of an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeEnd {
    /// `from`.
    Source,
    /// `to`.
    Target,
}

impl fmt::Display for EdgeEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EdgeEnd::Source => "source",
            EdgeEnd::Target => "target",
        })
    }
}

/// Whether a port receives or emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortDirection {
    Input,
    Output,
}

impl fmt::Display for PortDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortDirection::Input => "input",
            PortDirection::Output => "output",
        })
    }
}

/// Whether an id belongs to a node or an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    Node,
    Edge,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::Node => "node",
            IdKind::Edge => "edge",
        })
    }
}

/// One problem in a workflow graph. Serialized as `{"code": "<snake_case>", …fields}`; the code
/// is also [`ValidationError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ValidationError {
    #[error("graph too large: {count} nodes, at most {limit} allowed")]
    TooManyNodes { count: usize, limit: usize },

    #[error("graph too large: {count} edges, at most {limit} allowed")]
    TooManyEdges { count: usize, limit: usize },

    #[error("invalid {what} id {id:?}: use 1 to {max_len} letters, digits, '_' or '-'")]
    InvalidId { what: IdKind, id: String, max_len: usize },

    #[error("duplicate node id {node}")]
    DuplicateNodeId { node: NodeId },

    #[error("duplicate edge id {edge}")]
    DuplicateEdgeId { edge: EdgeId },

    #[error("node {node} has unknown kind {kind:?}")]
    UnknownKind { node: NodeId, kind: String },

    #[error("node {node} has a position that is not a finite number")]
    NonFinitePosition { node: NodeId },

    #[error("dangling edge {edge}: its {end} node {node} does not exist")]
    DanglingEdge { edge: EdgeId, end: EdgeEnd, node: NodeId },

    #[error("edge {edge}: node {node} ({kind}) has no {direction} port {port:?}")]
    UnknownPort { edge: EdgeId, node: NodeId, kind: String, direction: PortDirection, port: String },

    #[error("edge {edge} leads into trigger {node}; triggers have no inputs")]
    EdgeIntoTrigger { edge: EdgeId, node: NodeId },

    #[error("edge {edge} duplicates edge {duplicate_of}")]
    DuplicateEdge { edge: EdgeId, duplicate_of: EdgeId },

    #[error(
        "port type mismatch on edge {edge}: {from}.{from_port} emits {from_type} \
         but {to}.{to_port} takes {to_type}"
    )]
    PortTypeMismatch {
        edge: EdgeId,
        from: NodeId,
        from_port: String,
        from_type: PortType,
        to: NodeId,
        to_port: String,
        to_type: PortType,
    },

    #[error("node {node} is missing required field {field}")]
    MissingRequiredField { node: NodeId, field: String },

    #[error("node {node} field {field} must be {expected}")]
    InvalidFieldValue { node: NodeId, field: String, expected: String },

    #[error(
        "node {node} field {field} must reference a stored secret such as \
         {{{{ secrets.NAME }}}}, not hold a literal value"
    )]
    PlaintextSecret { node: NodeId, field: String },

    #[error("node {node} field {field}: the expression does not parse at line {line}, column {column} ({reason})")]
    BadExpression {
        node: NodeId,
        /// The config path of the text (`fields.email`, `headers.Authorization`, `items[0]`).
        field: String,
        line: usize,
        column: usize,
        reason: String,
    },

    #[error("workflow has no trigger; exactly one is required")]
    NoTrigger,

    #[error("more than one trigger where one is allowed: {}", join(.nodes, ", "))]
    TooManyTriggers { nodes: Vec<NodeId> },

    #[error("cycle: {}", join(.path, " -> "))]
    Cycle {
        /// The nodes around the cycle, the first repeated at the end: `a -> b -> a`.
        path: Vec<NodeId>,
    },

    #[error("node {node} is not reachable from the trigger")]
    Unreachable { node: NodeId },
}

fn join(ids: &[NodeId], separator: &str) -> String {
    ids.iter().map(NodeId::as_str).collect::<Vec<_>>().join(separator)
}

impl ValidationError {
    /// The stable snake_case code, the same as the `code` field of the JSON form.
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::TooManyNodes { .. } => "too_many_nodes",
            ValidationError::TooManyEdges { .. } => "too_many_edges",
            ValidationError::InvalidId { .. } => "invalid_id",
            ValidationError::DuplicateNodeId { .. } => "duplicate_node_id",
            ValidationError::DuplicateEdgeId { .. } => "duplicate_edge_id",
            ValidationError::UnknownKind { .. } => "unknown_kind",
            ValidationError::NonFinitePosition { .. } => "non_finite_position",
            ValidationError::DanglingEdge { .. } => "dangling_edge",
            ValidationError::UnknownPort { .. } => "unknown_port",
            ValidationError::EdgeIntoTrigger { .. } => "edge_into_trigger",
            ValidationError::DuplicateEdge { .. } => "duplicate_edge",
            ValidationError::PortTypeMismatch { .. } => "port_type_mismatch",
            ValidationError::MissingRequiredField { .. } => "missing_required_field",
            ValidationError::InvalidFieldValue { .. } => "invalid_field_value",
            ValidationError::PlaintextSecret { .. } => "plaintext_secret",
            ValidationError::BadExpression { .. } => "bad_expression",
            ValidationError::NoTrigger => "no_trigger",
            ValidationError::TooManyTriggers { .. } => "too_many_triggers",
            ValidationError::Cycle { .. } => "cycle",
            ValidationError::Unreachable { .. } => "unreachable",
        }
    }
}

/// Every problem validation found, in a stable order; never empty when returned as an error.
/// Displays as the messages joined by `; `.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<ValidationError>);

impl ValidationErrors {
    pub(crate) fn new(errors: Vec<ValidationError>) -> Self {
        Self(errors)
    }

    /// The problems, in the order found.
    pub fn errors(&self) -> &[ValidationError] {
        &self.0
    }

    /// Takes the problems out.
    pub fn into_errors(self) -> Vec<ValidationError> {
        self.0
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never the case for a returned error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the problems.
    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (at, error) in self.0.iter().enumerate() {
            if at > 0 {
                f.write_str("; ")?;
            }
            fmt::Display::fmt(error, f)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a ValidationError;
    type IntoIter = std::slice::Iter<'a, ValidationError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for ValidationErrors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
