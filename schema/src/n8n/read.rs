//! Reads an n8n workflow file into plain structs, checking its shape: nodes with a unique name
//! and a type, and connections that name known nodes. Parameters stay JSON; the node mappings
//! read them.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{N8nError, is_n8n_type};
use crate::graph::{MAX_EDGES, MAX_NODES};

/// One n8n node, as read.
#[derive(Debug)]
pub(super) struct N8nNode {
    pub(super) name: String,
    pub(super) n8n_type: String,
    pub(super) type_version: f64,
    pub(super) position: (f64, f64),
    pub(super) parameters: Map<String, Value>,
    /// Credential type → `{id, name}`.
    pub(super) credentials: Map<String, Value>,
    pub(super) disabled: bool,
}

impl N8nNode {
    /// The part of the type after the package, `httpRequest` for `n8n-nodes-base.httpRequest`.
    pub(super) fn short_type(&self) -> &str {
        self.n8n_type.rsplit_once('.').map_or(self.n8n_type.as_str(), |(_, short)| short)
    }

    pub(super) fn param(&self, key: &str) -> Option<&Value> {
        self.parameters.get(key)
    }

    pub(super) fn param_str(&self, key: &str) -> Option<&str> {
        self.parameters.get(key).and_then(Value::as_str)
    }
}

/// One `main` connection: output `output` of `from` into `to` (the input index is dropped: every
/// kind here has one input).
#[derive(Debug, Clone)]
pub(super) struct Connection {
    pub(super) from: usize,
    pub(super) output: usize,
    pub(super) to: usize,
}

/// A whole n8n workflow, as read.
#[derive(Debug)]
pub(super) struct Workflow {
    pub(super) name: String,
    pub(super) tags: Vec<String>,
    pub(super) timezone: Option<String>,
    pub(super) nodes: Vec<N8nNode>,
    pub(super) connections: Vec<Connection>,
    /// Nodes with a connection of another type than `main` (AI sub-nodes), by position.
    pub(super) other_connections: HashSet<usize>,
    /// Those connections: `(from, type, to)`, `ai_languageModel` from a chat model into an agent.
    pub(super) sub_connections: Vec<(usize, String, usize)>,
    /// Pinned sample data, node name → first item's `json`.
    pub(super) pinned: HashMap<String, Value>,
}

impl Workflow {
    pub(super) fn read(value: &Value) -> Result<Self, N8nError> {
        let Some(top) = value.as_object() else {
            return Err(N8nError::NotN8n { reason: "the file is not a json object".into() });
        };
        if top.contains_key("format") {
            return Err(N8nError::NotN8n { reason: "the file has a format field, like an AutomateOS export".into() });
        }
        let Some(raw_nodes) = top.get("nodes").and_then(Value::as_array) else {
            return Err(N8nError::NotN8n { reason: "no nodes array".into() });
        };
        let connections = match top.get("connections") {
            None | Some(Value::Null) => None,
            Some(Value::Object(connections)) => Some(connections),
            Some(_) => return Err(shape("connections", "expected an object keyed by node name")),
        };
        if raw_nodes.len() > MAX_NODES {
            return Err(N8nError::TooManyNodes { count: raw_nodes.len(), limit: MAX_NODES });
        }
        let nodes =
            raw_nodes.iter().enumerate().map(|(at, node)| read_node(at, node)).collect::<Result<Vec<_>, _>>()?;
        if !nodes.iter().any(|node| is_n8n_type(&node.n8n_type)) {
            return Err(N8nError::NotN8n { reason: "no node has an n8n node type".into() });
        }
        let mut by_name = HashMap::with_capacity(nodes.len());
        for (at, node) in nodes.iter().enumerate() {
            if by_name.insert(node.name.as_str(), at).is_some() {
                return Err(N8nError::DuplicateNodeName { name: node.name.clone() });
            }
        }
        let mut workflow = Workflow {
            name: top.get("name").and_then(Value::as_str).map_or_else(|| "Imported from n8n".to_owned(), str::to_owned),
            tags: read_tags(top.get("tags")),
            timezone: top
                .get("settings")
                .and_then(|settings| settings.get("timezone"))
                .and_then(Value::as_str)
                .filter(|zone| !zone.is_empty() && *zone != "DEFAULT")
                .map(str::to_owned),
            nodes: Vec::new(),
            connections: Vec::new(),
            other_connections: HashSet::new(),
            sub_connections: Vec::new(),
            pinned: read_pinned(top.get("pinData")),
        };
        if let Some(connections) = connections {
            workflow.read_connections(connections, &by_name)?;
        }
        workflow.nodes = nodes;
        Ok(workflow)
    }

    fn read_connections(
        &mut self,
        connections: &Map<String, Value>,
        by_name: &HashMap<&str, usize>,
    ) -> Result<(), N8nError> {
        let mut count = 0usize;
        for (source, types) in connections {
            let Some(&from) = by_name.get(source.as_str()) else {
                return Err(N8nError::UnknownNode { node: source.clone(), from: source.clone() });
            };
            let Some(types) = types.as_object() else {
                return Err(shape(&format!("connections.{source}"), "expected an object of connection types"));
            };
            for (kind, outputs) in types {
                let path = format!("connections.{source}.{kind}");
                let outputs = match outputs {
                    Value::Array(outputs) => outputs,
                    Value::Null => continue,
                    _ => return Err(shape(&path, "expected an array of outputs")),
                };
                for (output, targets) in outputs.iter().enumerate() {
                    let targets = match targets {
                        Value::Array(targets) => targets,
                        Value::Null => continue,
                        _ => return Err(shape(&format!("{path}[{output}]"), "expected an array of connections")),
                    };
                    for (at, target) in targets.iter().enumerate() {
                        count += 1;
                        if count > MAX_EDGES {
                            return Err(N8nError::TooManyEdges { count, limit: MAX_EDGES });
                        }
                        let Some(name) = target.get("node").and_then(Value::as_str) else {
                            return Err(shape(&format!("{path}[{output}][{at}]"), "expected {\"node\": <name>, …}"));
                        };
                        let Some(&to) = by_name.get(name) else {
                            return Err(N8nError::UnknownNode { node: name.to_owned(), from: source.clone() });
                        };
                        if kind == "main" {
                            self.connections.push(Connection { from, output, to });
                        } else {
                            self.other_connections.insert(from);
                            self.other_connections.insert(to);
                            self.sub_connections.push((from, kind.clone(), to));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn shape(path: &str, reason: &str) -> N8nError {
    N8nError::WrongShape { path: path.to_owned(), reason: reason.to_owned() }
}

fn read_node(at: usize, value: &Value) -> Result<N8nNode, N8nError> {
    let path = |field: &str| format!("nodes[{at}].{field}");
    let Some(node) = value.as_object() else {
        return Err(shape(&format!("nodes[{at}]"), "expected an object"));
    };
    let text = |field: &str| match node.get(field) {
        Some(Value::String(text)) => Ok(text.clone()),
        _ => Err(shape(&path(field), "expected a string")),
    };
    let name = text("name")?;
    let n8n_type = text("type")?;
    let position = match node.get("position") {
        None | Some(Value::Null) => (0.0, 0.0),
        Some(Value::Array(xy)) if xy.len() == 2 => match (xy[0].as_f64(), xy[1].as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => (x, y),
            _ => return Err(shape(&path("position"), "expected two numbers")),
        },
        Some(_) => return Err(shape(&path("position"), "expected [x, y]")),
    };
    let object = |field: &str| match node.get(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(shape(&path(field), "expected an object")),
    };
    Ok(N8nNode {
        name,
        n8n_type,
        type_version: node.get("typeVersion").and_then(Value::as_f64).unwrap_or(1.0),
        position,
        parameters: object("parameters")?,
        credentials: object("credentials")?,
        disabled: node.get("disabled").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// Tags are strings in old files and `{id, name}` objects in newer ones.
fn read_tags(tags: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(tags)) = tags else { return Vec::new() };
    tags.iter()
        .filter_map(|tag| match tag {
            Value::String(name) => Some(name.clone()),
            other => other.get("name").and_then(Value::as_str).map(str::to_owned),
        })
        .collect()
}

fn read_pinned(pinned: Option<&Value>) -> HashMap<String, Value> {
    let Some(Value::Object(pinned)) = pinned else { return HashMap::new() };
    pinned
        .iter()
        .filter_map(|(name, items)| {
            let first = items.as_array()?.first()?;
            Some((name.clone(), first.get("json").unwrap_or(first).clone()))
        })
        .collect()
}
