//! The live workflow document: how a [`WorkflowGraph`] lives in a yrs (Yjs) doc that several
//! editors change at once, and how to read a graph out of it or write one into it as a minimal
//! CRDT change.
//!
//! # Shape (part of the public contract)
//!
//! The root map `"workflow"` holds two maps created by the server, never by clients:
//!
//! - `nodes`: node id → `Y.Map { kind: string, label: string, x: number, y: number, config: Y.Map }`;
//!   `config` maps a field name to its JSON value (objects and arrays are plain JSON values, so a
//!   nested object such as `headers` is replaced as a whole).
//! - `edges`: edge id → `Y.Map { from: string, from_port: string, to: string, to_port: string }`.
//!
//! The skeleton ([`skeleton_update`]) is written by one fixed client id at fixed clocks, so any
//! number of servers creating it produce the *same* items and it merges with itself: the race Yjs
//! clients would lose when each creates a missing nested map cannot happen.
//!
//! # Concurrent edits
//!
//! Every field is a separate map key, and a map key is last-writer-wins (for truly concurrent
//! writes Yjs picks the same winner on every replica). So:
//!
//! - **Different fields merge.** One editor moves a node while another renames it or edits a config
//!   field: both changes survive. Two editors editing *different* config fields of one node: both
//!   survive. The *same* field on both sides: one value wins, the same one everywhere.
//! - **Delete beats edit.** One editor moves a node while another deletes it: the delete removes the
//!   node's whole map, and the move lands inside the deleted map, so the node stays deleted.
//! - **Same id, both created.** Two editors add a node with the same id at once: one whole node wins.
//! - **Edges whose node is gone.** An edge whose `from` or `to` node was deleted concurrently stays
//!   in the doc (nobody deleted it); [`graph_from_doc`] leaves it out of the graph, and
//!   [`read_graph`] returns it in [`DocGraph::dangling`] so publishing can report it through
//!   validation ([`DocGraph::with_dangling`] and `validate` give `DanglingEdge`).
//! - **Two edges into one port** (both editors connect something to the same input): both edges
//!   are kept; whether that is allowed is the validator's call at publish time, not the doc's.
//!
//! # Numbers
//!
//! JSON integers are stored as Yjs integers and other numbers as floats, as a JavaScript client
//! stores them; a float that holds an integral value written by a JavaScript client (where `1.0`
//! is `1`) reads back as an integer.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map as JsonMap, Number as JsonNumber, Value};
use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::{Any, Doc, In, Map, MapPrelim, MapRef, Out, ReadTxn, Transact, TransactionMut, Update, WriteTxn};

use crate::graph::{Edge, Node, Position, WorkflowGraph};
use crate::ids::{EdgeId, NodeId};

/// The root map of the workflow doc.
pub const ROOT: &str = "workflow";
/// The map of nodes inside [`ROOT`].
pub const NODES: &str = "nodes";
/// The map of edges inside [`ROOT`].
pub const EDGES: &str = "edges";

/// The field names of a node's map.
pub mod node_field {
    pub const KIND: &str = "kind";
    pub const LABEL: &str = "label";
    pub const X: &str = "x";
    pub const Y: &str = "y";
    pub const CONFIG: &str = "config";
}

/// The field names of an edge's map.
pub mod edge_field {
    pub const FROM: &str = "from";
    pub const FROM_PORT: &str = "from_port";
    pub const TO: &str = "to";
    pub const TO_PORT: &str = "to_port";
}

/// The client id the skeleton is written with. Every replica writes the same two items with it, so
/// the skeleton created twice is the same skeleton. Random Yjs client ids are 53-bit random numbers,
/// so no editor collides with it.
const SKELETON_CLIENT: u64 = 0;

/// A graph read out of a doc, with what could not go into it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocGraph {
    /// The nodes and the edges between existing nodes, each sorted by id.
    pub graph: WorkflowGraph,
    /// Edges whose `from` or `to` node is not in the doc (deleted concurrently), sorted by id.
    pub dangling: Vec<Edge>,
    /// Keys under `nodes` or `edges` whose value is not a map (written by a misbehaving client).
    pub malformed: Vec<String>,
}

impl DocGraph {
    /// The graph with the dangling edges put back, for validation to report them.
    pub fn with_dangling(&self) -> WorkflowGraph {
        let mut graph = self.graph.clone();
        graph.edges.extend(self.dangling.iter().cloned());
        graph.sorted()
    }
}

/// What [`apply_graph`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Map keys written (new nodes and edges count one each).
    pub written: usize,
    /// Map keys removed (removed nodes and edges count one each).
    pub removed: usize,
}

impl ApplyStats {
    /// True when the doc already held the graph and nothing was touched.
    pub fn is_unchanged(&self) -> bool {
        self.written == 0 && self.removed == 0
    }
}

/// The encoded (yrs v1) update that creates the empty skeleton: the root map with empty `nodes`
/// and `edges` maps. Always the same bytes; applying it twice is harmless.
pub fn skeleton_update() -> Vec<u8> {
    let doc = Doc::with_client_id(SKELETON_CLIENT);
    let mut txn = doc.transact_mut();
    let root = txn.get_or_insert_map(ROOT);
    root.insert(&mut txn, NODES, MapPrelim::default());
    root.insert(&mut txn, EDGES, MapPrelim::default());
    txn.encode_update_v1()
}

/// Whether the doc has its `nodes` and `edges` maps.
pub fn has_skeleton<T: ReadTxn>(txn: &T) -> bool {
    collections(txn).is_some()
}

/// Adds the skeleton to `txn`'s doc unless it is there; returns whether it was added. Clients never
/// call this: the server does, before any client syncs.
pub fn ensure_skeleton(txn: &mut TransactionMut) -> Result<bool, DocError> {
    if has_skeleton(txn) {
        return Ok(false);
    }
    let update = Update::decode_v1(&skeleton_update()).map_err(|err| DocError::Skeleton(err.to_string()))?;
    txn.apply_update(update).map_err(|err| DocError::Skeleton(err.to_string()))?;
    Ok(true)
}

/// A new doc holding only the skeleton.
pub fn new_doc() -> Result<Doc, DocError> {
    let doc = Doc::new();
    ensure_skeleton(&mut doc.transact_mut())?;
    Ok(doc)
}

/// Why the doc could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("the doc skeleton could not be applied: {0}")]
    Skeleton(String),
    #[error("the doc has no {missing} map under {ROOT:?}")]
    MissingCollection { missing: &'static str },
}

/// The graph in `doc`, without the edges whose node is gone. See [`read_graph`].
pub fn graph_from_doc(doc: &Doc) -> WorkflowGraph {
    read_graph(&doc.transact()).graph
}

/// Reads the graph out of a doc: every node map becomes a node (missing fields take their
/// defaults), every edge between two existing nodes an edge; both lists sorted by id.
pub fn read_graph<T: ReadTxn>(txn: &T) -> DocGraph {
    let mut out = DocGraph::default();
    let Some((nodes, edges)) = collections(txn) else { return out };
    for (id, value) in nodes.iter(txn) {
        match value {
            Out::YMap(map) => out.graph.nodes.push(read_node(txn, id, &map)),
            _ => out.malformed.push(format!("{NODES}.{id}")),
        }
    }
    let present: std::collections::HashSet<&str> = out.graph.nodes.iter().map(|n| n.id.as_str()).collect();
    let mut kept = Vec::new();
    for (id, value) in edges.iter(txn) {
        match value {
            Out::YMap(map) => {
                let edge = read_edge(txn, id, &map);
                if present.contains(edge.from.as_str()) && present.contains(edge.to.as_str()) {
                    kept.push(edge);
                } else {
                    out.dangling.push(edge);
                }
            }
            _ => out.malformed.push(format!("{EDGES}.{id}")),
        }
    }
    out.graph.edges = kept;
    out.graph = std::mem::take(&mut out.graph).sorted();
    out.dangling.sort_by(|a, b| a.id.cmp(&b.id));
    out.malformed.sort();
    out
}

/// Writes `graph` into the doc as the smallest change that makes the doc hold it: fields that
/// already have the graph's value are not touched, so an editor's concurrent edit of another field
/// survives. Nodes and edges missing from `graph` are removed; a node or edge id that appears twice
/// in `graph` ends up with the later one. The doc must have its skeleton.
pub fn apply_graph(txn: &mut TransactionMut, graph: &WorkflowGraph) -> Result<ApplyStats, DocError> {
    let (nodes, edges) = collections(txn).ok_or(match txn.get_map(ROOT) {
        None => DocError::MissingCollection { missing: NODES },
        Some(root) if !matches!(root.get(txn, NODES), Some(Out::YMap(_))) => {
            DocError::MissingCollection { missing: NODES }
        }
        Some(_) => DocError::MissingCollection { missing: EDGES },
    })?;
    let mut stats = ApplyStats::default();

    let wanted_nodes: BTreeMap<&str, &Node> = graph.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let stale: Vec<String> = nodes.keys(txn).filter(|id| !wanted_nodes.contains_key(id)).map(str::to_owned).collect();
    for id in stale {
        nodes.remove(txn, &id);
        stats.removed += 1;
    }
    for (id, node) in wanted_nodes {
        match nodes.get(txn, id) {
            Some(Out::YMap(map)) => write_node_fields(txn, &map, node, &mut stats),
            _ => {
                nodes.insert(txn, id, node_prelim(node));
                stats.written += 1;
            }
        }
    }

    let wanted_edges: BTreeMap<&str, &Edge> = graph.edges.iter().map(|e| (e.id.as_str(), e)).collect();
    let stale: Vec<String> = edges.keys(txn).filter(|id| !wanted_edges.contains_key(id)).map(str::to_owned).collect();
    for id in stale {
        edges.remove(txn, &id);
        stats.removed += 1;
    }
    for (id, edge) in wanted_edges {
        match edges.get(txn, id) {
            Some(Out::YMap(map)) => {
                for (field, value) in edge_fields(edge) {
                    set_if_changed(txn, &map, field, Any::from(value), &mut stats);
                }
            }
            _ => {
                let prelim: MapPrelim = edge_fields(edge).map(|(k, v)| (k, In::Any(Any::from(v)))).collect();
                edges.insert(txn, id, prelim);
                stats.written += 1;
            }
        }
    }
    Ok(stats)
}

/// Converts a JSON value to a Yjs value (integers stay integers, as a JavaScript client writes them).
pub fn json_to_any(value: &Value) -> Any {
    match value {
        Value::Null => Any::Null,
        Value::Bool(b) => Any::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Any::from(i),
            (None, Some(f)) => Any::from(f),
            (None, None) => Any::Null,
        },
        Value::String(s) => Any::from(s.as_str()),
        Value::Array(items) => Any::Array(items.iter().map(json_to_any).collect::<Vec<_>>().into()),
        Value::Object(map) => {
            Any::Map(Arc::new(map.iter().map(|(k, v)| (k.clone(), json_to_any(v))).collect::<HashMap<_, _>>()))
        }
    }
}

/// Converts a Yjs value to JSON: `undefined` and non-finite floats become `null`, binary becomes an
/// array of byte values.
pub fn any_to_json(value: &Any) -> Value {
    match value {
        Any::Null | Any::Undefined => Value::Null,
        Any::Bool(b) => Value::Bool(*b),
        Any::Number(yrs::Number::Int(i)) => Value::Number((*i).into()),
        Any::Number(yrs::Number::Float(f)) => JsonNumber::from_f64(*f).map_or(Value::Null, Value::Number),
        Any::String(s) => Value::String(s.to_string()),
        Any::Buffer(bytes) => Value::Array(bytes.iter().map(|b| Value::from(*b)).collect()),
        Any::Array(items) => Value::Array(items.iter().map(any_to_json).collect()),
        Any::Map(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), any_to_json(v))).collect()),
    }
}

fn collections<T: ReadTxn>(txn: &T) -> Option<(MapRef, MapRef)> {
    let root = txn.get_map(ROOT)?;
    match (root.get(txn, NODES), root.get(txn, EDGES)) {
        (Some(Out::YMap(nodes)), Some(Out::YMap(edges))) => Some((nodes, edges)),
        _ => None,
    }
}

fn read_node<T: ReadTxn>(txn: &T, id: &str, map: &MapRef) -> Node {
    let config = match map.get(txn, node_field::CONFIG) {
        Some(Out::YMap(config)) => {
            config.iter(txn).map(|(k, v)| (k.to_owned(), any_to_json(&v.to_json(txn)))).collect()
        }
        Some(Out::Any(Any::Map(fields))) => fields.iter().map(|(k, v)| (k.clone(), any_to_json(v))).collect(),
        _ => JsonMap::new(),
    };
    Node {
        id: NodeId::from(id),
        kind: read_string(txn, map, node_field::KIND),
        label: read_string(txn, map, node_field::LABEL),
        position: Position { x: read_f64(txn, map, node_field::X), y: read_f64(txn, map, node_field::Y) },
        config,
    }
}

fn read_edge<T: ReadTxn>(txn: &T, id: &str, map: &MapRef) -> Edge {
    let port = |field, default: &str| {
        let port = read_string(txn, map, field);
        if port.is_empty() { default.to_owned() } else { port }
    };
    Edge {
        id: EdgeId::from(id),
        from: NodeId::from(read_string(txn, map, edge_field::FROM)),
        from_port: port(edge_field::FROM_PORT, crate::graph::DEFAULT_OUTPUT_PORT),
        to: NodeId::from(read_string(txn, map, edge_field::TO)),
        to_port: port(edge_field::TO_PORT, crate::graph::DEFAULT_INPUT_PORT),
    }
}

fn read_string<T: ReadTxn>(txn: &T, map: &MapRef, field: &str) -> String {
    match map.get(txn, field) {
        Some(Out::Any(Any::String(s))) => s.to_string(),
        Some(Out::YText(text)) => yrs::GetString::get_string(&text, txn),
        _ => String::new(),
    }
}

fn read_f64<T: ReadTxn>(txn: &T, map: &MapRef, field: &str) -> f64 {
    match map.get(txn, field) {
        Some(Out::Any(Any::Number(yrs::Number::Float(f)))) => f,
        Some(Out::Any(Any::Number(yrs::Number::Int(i)))) => i as f64,
        _ => 0.0,
    }
}

fn node_scalars(node: &Node) -> [(&'static str, Any); 4] {
    [
        (node_field::KIND, Any::from(node.kind.as_str())),
        (node_field::LABEL, Any::from(node.label.as_str())),
        (node_field::X, Any::from(node.position.x)),
        (node_field::Y, Any::from(node.position.y)),
    ]
}

fn edge_fields(edge: &Edge) -> impl Iterator<Item = (&'static str, &str)> {
    [
        (edge_field::FROM, edge.from.as_str()),
        (edge_field::FROM_PORT, edge.from_port.as_str()),
        (edge_field::TO, edge.to.as_str()),
        (edge_field::TO_PORT, edge.to_port.as_str()),
    ]
    .into_iter()
}

fn node_prelim(node: &Node) -> MapPrelim {
    let config: MapPrelim = node.config.iter().map(|(k, v)| (k.as_str(), In::Any(json_to_any(v)))).collect();
    node_scalars(node)
        .into_iter()
        .map(|(k, v)| (k, In::Any(v)))
        .chain(std::iter::once((node_field::CONFIG, In::Map(config))))
        .collect()
}

fn write_node_fields(txn: &mut TransactionMut, map: &MapRef, node: &Node, stats: &mut ApplyStats) {
    for (field, value) in node_scalars(node) {
        if matches!(field, node_field::X | node_field::Y) {
            // a position is a number however it was written: 100 and 100.0 are the same place
            let wanted = if field == node_field::X { node.position.x } else { node.position.y };
            if matches!(map.get(txn, field), Some(Out::Any(Any::Number(_)))) && read_f64(txn, map, field) == wanted {
                continue;
            }
        }
        set_if_changed(txn, map, field, value, stats);
    }
    let config = match map.get(txn, node_field::CONFIG) {
        Some(Out::YMap(config)) => config,
        _ => {
            let prelim: MapPrelim = node.config.iter().map(|(k, v)| (k.as_str(), In::Any(json_to_any(v)))).collect();
            map.insert(txn, node_field::CONFIG, prelim);
            stats.written += 1;
            return;
        }
    };
    let stale: Vec<String> = config.keys(txn).filter(|k| !node.config.contains_key(*k)).map(str::to_owned).collect();
    for key in stale {
        config.remove(txn, &key);
        stats.removed += 1;
    }
    for (key, value) in &node.config {
        let wanted = json_to_any(value);
        let same =
            config.get(txn, key).is_some_and(|current| any_to_json(&current.to_json(txn)) == any_to_json(&wanted));
        if !same {
            config.insert(txn, key.as_str(), wanted);
            stats.written += 1;
        }
    }
}

fn set_if_changed(txn: &mut TransactionMut, map: &MapRef, field: &str, value: Any, stats: &mut ApplyStats) {
    let same = matches!(map.get(txn, field), Some(Out::Any(current)) if current == value);
    if !same {
        map.insert(txn, field, value);
        stats.written += 1;
    }
}
