//! Imports an n8n workflow file (the JSON n8n's "Download" and its API export) as an AutomateOS
//! export file, and reports what did not carry over.
//!
//! **What maps.** Each n8n node becomes one node of the kind that does the same job (webhook,
//! schedule and manual triggers, HTTP Request, IF, Switch, Edit Fields (Set), Merge, Slack, Google
//! Sheets, OpenAI, Send Email, Wait, Split Out / Loop Over Items, Respond to Webhook; see
//! `n8n/nodes.rs` for the parameters read). Its id is its name made into an id (`Fetch orders` →
//! `fetch_orders`, deduplicated), its label is the name, its position is n8n's. n8n's connections
//! become edges: the outer index of a `main` list is the source's output (IF: 0 is `true`, 1 is
//! `false`; Switch: output i is case i), the target's input index is dropped because every kind
//! here has one input (`logic.merge` takes any number of edges). n8n expressions are translated
//! where the translation means the same thing (see `n8n/expr.rs`); the others are kept verbatim
//! and reported as warnings. Credentials become `{{ secrets.NAME }}` references, listed in
//! [`N8nImport::secrets`] with the n8n credential they stand for.
//!
//! **What does not.** A node with no equivalent here (Code, Function, community nodes, most
//! integrations...) is never dropped silently; it is listed in [`N8nImport::unmapped`] and
//! becomes a *placeholder*: a `logic.delay` of 0 seconds with the node's name, which passes its
//! input on unchanged, so the workflow keeps its shape and the user sees where to rebuild the
//! missing step. A node that could not be a step anyway is left out with its edges, also listed:
//! canvas notes, sub-nodes that only feed an AI node, nodes no path from the trigger reaches
//! (say, connected only from an error output, which has no equivalent), and every trigger after
//! the first (a workflow has one trigger here; the steps behind a left-out trigger are connected
//! to the kept one). A service trigger (`githubTrigger`...) becomes a plain
//! webhook trigger and a schedule without a cron equivalent becomes a manual trigger, both listed.
//! Connections that would close a loop (the back edge of n8n's Loop Over Items) are left out and
//! reported, because a workflow here is a DAG. A workflow without any trigger gets a manual one in
//! front of its first steps.
//!
//! The result always passes [`crate::import`] and roundtrips through the canonical export. It
//! validates unless a value needs the user: a condition with no translation, or a required value
//! the n8n node did not hold (a message text, a prompt), is left empty and reported, so the
//! workflow cannot be published on a guess.
//!
//! n8n runs each node once per item of its input, AutomateOS runs a step once per run; a list
//! travels as one value, and `logic.for_each` is how a workflow here runs steps per item.

mod expr;
mod integrations;
mod nodes;
mod schedule;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::kinds;
use crate::export::{ExportFile, MAX_EXPORT_BYTES};
use crate::graph::{DEFAULT_INPUT_PORT, DEFAULT_OUTPUT_PORT, Edge, MAX_EDGES, MAX_NODES, Node, WorkflowGraph};
use crate::ids::{EdgeId, NodeId};
use crate::validate::MAX_ID_LEN;

/// An n8n workflow turned into an export file, with everything the user should know about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct N8nImport {
    /// The workflow, ready for [`crate::import`] (its canonical string) or the import endpoint.
    pub file: ExportFile,
    /// The n8n nodes that have no equivalent here, in n8n's node order.
    pub unmapped: Vec<Unmapped>,
    /// What was carried over only in part: expressions kept verbatim, options dropped, values to
    /// fill in. In n8n's node order.
    pub warnings: Vec<ImportWarning>,
    /// The secrets the imported workflow reads, sorted by name: set each before running it.
    pub secrets: Vec<RequiredSecret>,
}

/// An n8n node that was not imported as the step it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmapped {
    /// The node's name in n8n (also the label of its placeholder).
    pub node: String,
    /// Its n8n type, such as `n8n-nodes-base.code`.
    pub n8n_type: String,
    /// Why, in a sentence the studio shows.
    pub reason: String,
    /// The node standing in for it in the imported graph (a pass-through placeholder or a
    /// simpler trigger), or none when it was left out with its edges.
    pub placeholder: Option<NodeId>,
}

/// Something of a node that was carried over only in part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportWarning {
    /// The n8n node's name; none for the workflow as a whole.
    pub node: Option<String>,
    /// The imported node's config field concerned (`headers.Authorization`, `condition`), if one.
    pub field: Option<String>,
    pub message: String,
}

/// A secret the imported workflow references, and the n8n credential it replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequiredSecret {
    /// The name to store it under (`POST /api/orgs/{org_id}/secrets`).
    pub name: String,
    /// The n8n credential type (`slackApi`), when the node named one.
    pub n8n_credential_type: Option<String>,
    /// The n8n credential's name (`Slack account`), when the node named one.
    pub n8n_credential_name: Option<String>,
    /// The imported nodes that read it, sorted.
    pub nodes: Vec<NodeId>,
}

/// Why bytes are not an n8n workflow this importer can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum N8nError {
    #[error("file too large: {size} bytes, at most {limit} allowed")]
    TooLarge { size: usize, limit: usize },

    #[error("malformed json at line {line} column {column}: {reason}")]
    Malformed { line: usize, column: usize, reason: String },

    #[error("not an n8n workflow: {reason}")]
    NotN8n { reason: String },

    #[error("wrong shape at {path}: {reason}")]
    WrongShape { path: String, reason: String },

    #[error("two nodes are named {name:?}")]
    DuplicateNodeName { name: String },

    #[error("the connections of {from:?} name an unknown node {node:?}")]
    UnknownNode { node: String, from: String },

    #[error("workflow too large: {count} nodes, at most {limit} allowed")]
    TooManyNodes { count: usize, limit: usize },

    #[error("workflow too large: {count} connections, at most {limit} allowed")]
    TooManyEdges { count: usize, limit: usize },
}

impl N8nError {
    /// The stable snake_case code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            N8nError::TooLarge { .. } => "file_too_large",
            N8nError::Malformed { .. } => "malformed_json",
            N8nError::NotN8n { .. } => "not_an_n8n_workflow",
            N8nError::WrongShape { .. } => "wrong_shape",
            N8nError::DuplicateNodeName { .. } => "duplicate_node_name",
            N8nError::UnknownNode { .. } => "unknown_node",
            N8nError::TooManyNodes { .. } => "too_many_nodes",
            N8nError::TooManyEdges { .. } => "too_many_edges",
        }
    }
}

/// Whether the value is shaped like an n8n workflow: an object without an AutomateOS `format`,
/// with a `nodes` array of objects that have a string `name` and `type` (at least one from an
/// n8n package, `n8n-nodes-base.*`, `@n8n/…` or a community `n8n-nodes-*`) and a `connections`
/// object. Cheap; for telling the two import formats apart.
pub fn looks_like_n8n(value: &Value) -> bool {
    let Some(top) = value.as_object() else { return false };
    if top.contains_key("format") || !top.get("connections").is_some_and(Value::is_object) {
        return false;
    }
    let Some(nodes) = top.get("nodes").and_then(Value::as_array) else { return false };
    let well_formed = nodes
        .iter()
        .all(|node| node.get("name").is_some_and(Value::is_string) && node.get("type").is_some_and(Value::is_string));
    well_formed && nodes.iter().filter_map(|node| node.get("type").and_then(Value::as_str)).any(is_n8n_type)
}

fn is_n8n_type(kind: &str) -> bool {
    kind.starts_with("n8n-nodes-base.") || kind.starts_with("@n8n/") || kind.contains("n8n-nodes-")
}

/// Reads an n8n workflow file and maps it; see the module documentation.
pub fn from_n8n(bytes: &[u8]) -> Result<N8nImport, N8nError> {
    if bytes.len() > MAX_EXPORT_BYTES {
        return Err(N8nError::TooLarge { size: bytes.len(), limit: MAX_EXPORT_BYTES });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        let text = error.to_string();
        let reason = text.rsplit_once(" at line ").map_or(text.clone(), |(reason, _)| reason.to_owned());
        N8nError::Malformed { line: error.line(), column: error.column(), reason }
    })?;
    from_n8n_value(&value)
}

/// [`from_n8n`] of an already parsed value.
pub fn from_n8n_value(value: &Value) -> Result<N8nImport, N8nError> {
    let workflow = Workflow::read(value)?;
    Ok(Importer::new(&workflow).run())
}

/// One n8n node, as read.
#[derive(Debug)]
struct N8nNode {
    name: String,
    n8n_type: String,
    type_version: f64,
    position: (f64, f64),
    parameters: Map<String, Value>,
    /// Credential type → `{id, name}`.
    credentials: Map<String, Value>,
    disabled: bool,
}

impl N8nNode {
    /// The part of the type after the package, `httpRequest` for `n8n-nodes-base.httpRequest`.
    fn short_type(&self) -> &str {
        self.n8n_type.rsplit_once('.').map_or(self.n8n_type.as_str(), |(_, short)| short)
    }

    fn param(&self, key: &str) -> Option<&Value> {
        self.parameters.get(key)
    }

    fn param_str(&self, key: &str) -> Option<&str> {
        self.parameters.get(key).and_then(Value::as_str)
    }
}

/// One `main` connection: output `output` of `from` into input `input` of `to`.
#[derive(Debug, Clone)]
struct Connection {
    from: usize,
    output: usize,
    to: usize,
}

/// A whole n8n workflow, as read.
#[derive(Debug)]
struct Workflow {
    name: String,
    tags: Vec<String>,
    timezone: Option<String>,
    nodes: Vec<N8nNode>,
    connections: Vec<Connection>,
    /// Nodes with a connection of another type than `main` (AI sub-nodes), by position.
    other_connections: HashSet<usize>,
    /// Pinned sample data, node name → first item's `json`.
    pinned: HashMap<String, Value>,
}

impl Workflow {
    fn read(value: &Value) -> Result<Self, N8nError> {
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

/// What becomes of one n8n node.
#[derive(Debug, Clone, PartialEq)]
enum Class {
    /// It maps to this kind.
    Kind(&'static str),
    /// A node of this kind stands in for it; reported as unmapped.
    StandIn { kind: &'static str, reason: String },
    /// Left out with its edges; reported as unmapped.
    Omit { reason: String },
}

impl Class {
    fn kind(&self) -> Option<&'static str> {
        match self {
            Class::Kind(kind) | Class::StandIn { kind, .. } => Some(kind),
            Class::Omit { .. } => None,
        }
    }

    fn is_trigger(&self) -> bool {
        self.kind().is_some_and(|kind| kind.starts_with("trigger."))
    }
}

/// The whole mapping, node by node, then the edges.
struct Importer<'a> {
    workflow: &'a Workflow,
    classes: Vec<Class>,
    ids: Vec<NodeId>,
    /// Predecessors by node position, through `main` connections.
    predecessors: Vec<Vec<usize>>,
    names: Vec<&'a str>,
    by_name: HashMap<&'a str, usize>,
    /// Each node's `nodes::data_source`, once the classes are final.
    sources: Vec<Option<&'static str>>,
    /// Left-out triggers whose steps now hang off the kept trigger: position → kept position.
    rerouted: HashMap<usize, usize>,
    /// With the n8n node's position, to list them in n8n's order.
    unmapped: Vec<(usize, Unmapped)>,
    warnings: Vec<ImportWarning>,
    secrets: Secrets,
}

impl<'a> Importer<'a> {
    fn new(workflow: &'a Workflow) -> Self {
        let mut predecessors = vec![Vec::new(); workflow.nodes.len()];
        for connection in &workflow.connections {
            if !predecessors[connection.to].contains(&connection.from) {
                predecessors[connection.to].push(connection.from);
            }
        }
        let mut taken = HashSet::new();
        let ids = workflow.nodes.iter().map(|node| NodeId::from(unique_id(&slug(&node.name), &mut taken))).collect();
        let classes = workflow.nodes.iter().map(nodes::classify).collect();
        let names: Vec<&str> = workflow.nodes.iter().map(|node| node.name.as_str()).collect();
        let by_name = names.iter().enumerate().map(|(at, name)| (*name, at)).collect();
        Self {
            workflow,
            classes,
            ids,
            predecessors,
            names,
            by_name,
            sources: Vec::new(),
            rerouted: HashMap::new(),
            unmapped: Vec::new(),
            warnings: Vec::new(),
            secrets: Secrets::default(),
        }
    }

    fn run(mut self) -> N8nImport {
        let workflow = self.workflow;
        self.choose_trigger();
        self.omit_unreachable_placeholders();
        self.sources =
            (0..self.classes.len()).map(|at| nodes::data_source(at, &self.classes, &self.predecessors)).collect();
        let mut graph = WorkflowGraph::new();
        for (at, node) in workflow.nodes.iter().enumerate() {
            match self.classes[at].clone() {
                Class::Omit { reason } => self.unmapped.push((
                    at,
                    Unmapped { node: node.name.clone(), n8n_type: node.n8n_type.clone(), reason, placeholder: None },
                )),
                Class::StandIn { kind, reason } => {
                    self.unmapped.push((
                        at,
                        Unmapped {
                            node: node.name.clone(),
                            n8n_type: node.n8n_type.clone(),
                            reason,
                            placeholder: Some(self.ids[at].clone()),
                        },
                    ));
                    let config = nodes::stand_in_config(kind, node, &workflow.pinned);
                    graph.nodes.push(self.node(at, kind, config));
                }
                Class::Kind(kind) => {
                    let configured = nodes::configure(kind, node, &mut self.scope(at));
                    graph.nodes.push(self.node(at, kind, configured));
                }
            }
        }
        self.edges(&mut graph);
        self.add_manual_trigger_if_none(&mut graph);
        self.leave_out_unreachable(&mut graph);
        self.unmapped.sort_by_key(|(at, _)| *at);
        let unmapped = self.unmapped.into_iter().map(|(_, unmapped)| unmapped).collect();
        let mut file = ExportFile::new(workflow.name.clone(), graph)
            .with_description("Imported from n8n.")
            .with_tags(workflow.tags.iter().cloned());
        if file.tags.is_empty() {
            file.tags = vec!["n8n".to_owned()];
        }
        N8nImport { file, unmapped, warnings: self.warnings, secrets: self.secrets.finish() }
    }

    fn node(&self, at: usize, kind: &str, config: Map<String, Value>) -> Node {
        let n8n = &self.workflow.nodes[at];
        let mut node = Node::new(self.ids[at].clone(), kind).with_label(n8n.name.clone());
        node.position = crate::graph::Position { x: n8n.position.0, y: n8n.position.1 };
        node.config = config;
        node
    }

    fn scope(&mut self, at: usize) -> nodes::Scope<'_> {
        nodes::Scope {
            node: at,
            ids: &self.ids,
            classes: &self.classes,
            predecessors: &self.predecessors,
            names: &self.names,
            by_name: &self.by_name,
            sources: &self.sources,
            timezone: self.workflow.timezone.as_deref(),
            pinned: &self.workflow.pinned,
            warnings: &mut self.warnings,
            secrets: &mut self.secrets,
        }
    }

    /// Keeps one trigger: the first that maps exactly, else the first stand-in.
    fn choose_trigger(&mut self) {
        let triggers: Vec<usize> = (0..self.classes.len()).filter(|&at| self.classes[at].is_trigger()).collect();
        let kept = triggers
            .iter()
            .copied()
            .find(|&at| matches!(self.classes[at], Class::Kind(_)))
            .or_else(|| triggers.first().copied());
        let Some(kept) = kept else { return };
        for at in triggers.into_iter().filter(|&at| at != kept) {
            let kept_name = &self.workflow.nodes[kept].name;
            self.classes[at] = Class::Omit {
                reason: format!(
                    "a workflow has one trigger here; this one was left out and the steps after it now \
                     follow {kept_name:?}"
                ),
            };
            self.rerouted.insert(at, kept);
        }
    }

    /// Placeholders and stand-ins that nothing leads to would only be unreachable nodes: leave
    /// them out (AI sub-nodes, stray nodes).
    /// Without any trigger they stay, as the first steps after the manual trigger added in front.
    fn omit_unreachable_placeholders(&mut self) {
        let has_trigger = self.classes.iter().any(Class::is_trigger);
        for at in 0..self.classes.len() {
            let Class::StandIn { kind, reason } = &self.classes[at] else { continue };
            if kind.starts_with("trigger.") || !self.predecessors[at].is_empty() {
                continue;
            }
            let sub_node = self.workflow.other_connections.contains(&at);
            if !sub_node && !has_trigger {
                continue;
            }
            let why = if sub_node {
                "it only feeds an AI node through a sub-node connection, which has no equivalent here"
            } else {
                "no connection leads to it"
            };
            self.classes[at] = Class::Omit { reason: format!("{reason}; left out because {why}") };
        }
    }

    fn edges(&mut self, graph: &mut WorkflowGraph) {
        let mut seen = HashSet::new();
        let mut taken = HashSet::new();
        let mut successors: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
        let workflow = self.workflow;
        let ports: Vec<Vec<Vec<String>>> = (0..workflow.nodes.len()).map(|at| self.output_ports(at, graph)).collect();
        for connection in &workflow.connections {
            let from = self.rerouted.get(&connection.from).copied().unwrap_or(connection.from);
            let to = connection.to;
            if self.classes[from].kind().is_none() || self.classes[to].kind().is_none() {
                continue;
            }
            let (from_name, to_name) = (&workflow.nodes[from].name, &workflow.nodes[to].name);
            if self.classes[to].is_trigger() {
                self.warn(from_name, None, format!("the connection into the trigger {to_name:?} was left out"));
                continue;
            }
            let output = if from == connection.from { connection.output } else { 0 };
            let placeholder = matches!(self.classes[from], Class::StandIn { kind: kinds::LOGIC_DELAY, .. });
            // a placeholder passes its input on, whatever output n8n used
            let from_ports = if placeholder { ports[from].first() } else { ports[from].get(output) };
            let Some(from_ports) = from_ports.filter(|ports| !ports.is_empty()) else {
                self.warn(
                    from_name,
                    None,
                    format!(
                        "output {output} has no equivalent here (an error output?); its connection to \
                         {to_name:?} was left out"
                    ),
                );
                continue;
            };
            for port in from_ports.clone() {
                let (from_id, to_id) = (self.ids[from].clone(), self.ids[to].clone());
                if !seen.insert((from_id.clone(), port.clone(), to_id.clone())) {
                    continue;
                }
                if reaches(&successors, &to_id, &from_id) {
                    self.warn(
                        from_name,
                        None,
                        format!(
                            "the connection to {to_name:?} loops back to an earlier step and was left out: a \
                             workflow here has no loops (a for-each runs its steps per item)"
                        ),
                    );
                    continue;
                }
                successors.entry(from_id.clone()).or_default().push(to_id.clone());
                let id = if port == DEFAULT_OUTPUT_PORT {
                    format!("{from_id}-{to_id}")
                } else {
                    format!("{from_id}-{port}-{to_id}")
                };
                let id = unique_id(&id, &mut taken);
                graph.edges.push(Edge {
                    id: EdgeId::from(id),
                    from: from_id,
                    from_port: port,
                    to: to_id,
                    to_port: DEFAULT_INPUT_PORT.to_owned(),
                });
            }
        }
    }

    /// The ports of each n8n output of the node.
    fn output_ports(&self, at: usize, graph: &WorkflowGraph) -> Vec<Vec<String>> {
        let out = || vec![vec![DEFAULT_OUTPUT_PORT.to_owned()]];
        match &self.classes[at] {
            Class::Omit { .. } => Vec::new(),
            Class::StandIn { .. } => out(),
            Class::Kind(kind) => match graph.node(self.ids[at].as_str()) {
                Some(_) => nodes::output_ports(kind, &self.workflow.nodes[at]),
                None => out(),
            },
        }
    }

    /// A workflow without a trigger gets a manual one leading to every node nothing leads to.
    fn add_manual_trigger_if_none(&mut self, graph: &mut WorkflowGraph) {
        if graph.nodes.is_empty() || self.classes.iter().any(Class::is_trigger) {
            return;
        }
        if graph.nodes.len() >= MAX_NODES {
            self.warnings.push(ImportWarning {
                node: None,
                field: None,
                message: "the workflow has no trigger; add one".into(),
            });
            return;
        }
        let mut taken: HashSet<String> = graph.nodes.iter().map(|node| node.id.to_string()).collect();
        let id = NodeId::from(unique_id("manual_start", &mut taken));
        let roots: Vec<NodeId> = graph
            .nodes
            .iter()
            .filter(|node| graph.incoming(node.id.as_str()).next().is_none())
            .map(|node| node.id.clone())
            .collect();
        let left = graph.nodes.iter().map(|node| node.position.x).fold(f64::INFINITY, f64::min);
        let top = roots
            .iter()
            .filter_map(|id| graph.node(id.as_str()))
            .map(|node| node.position.y)
            .fold(f64::INFINITY, f64::min);
        let mut edge_ids: HashSet<String> = graph.edges.iter().map(|edge| edge.id.to_string()).collect();
        for root in &roots {
            let edge = unique_id(&format!("{id}-{root}"), &mut edge_ids);
            graph.edges.push(Edge::new(edge, id.clone(), root.clone()));
        }
        let start = Node::new(id.clone(), kinds::TRIGGER_MANUAL)
            .with_label("Start")
            .with_position(left - 240.0, if top.is_finite() { top } else { 0.0 });
        graph.nodes.push(start);
        self.warnings.push(ImportWarning {
            node: None,
            field: None,
            message: format!("the workflow had no trigger; a manual trigger {id:?} now starts it"),
        });
    }

    /// Leaves out the nodes no path from the trigger reaches (their only connections came from
    /// outputs or nodes that were not imported), so the workflow validates; each is listed.
    fn leave_out_unreachable(&mut self, graph: &mut WorkflowGraph) {
        let triggers: Vec<&Node> = graph.nodes.iter().filter(|node| node.kind.starts_with("trigger.")).collect();
        let [trigger] = triggers.as_slice() else { return };
        let mut reached: HashSet<String> = HashSet::new();
        let mut stack = vec![trigger.id.to_string()];
        while let Some(at) = stack.pop() {
            if reached.insert(at.clone()) {
                stack.extend(graph.outgoing(&at).map(|edge| edge.to.to_string()));
            }
        }
        let unreached: Vec<NodeId> =
            graph.nodes.iter().filter(|node| !reached.contains(node.id.as_str())).map(|node| node.id.clone()).collect();
        const WHY: &str = "no step leads to it here (it was connected only from outputs or nodes that were not \
                           imported, or from nothing); left out";
        for id in unreached {
            graph.remove_node(id.as_str());
            self.secrets.forget(&id);
            let Some(at) = self.ids.iter().position(|known| *known == id) else { continue };
            if let Some((_, entry)) = self.unmapped.iter_mut().find(|(known, _)| *known == at) {
                entry.placeholder = None;
                entry.reason = format!("{}; {WHY}", entry.reason);
            } else {
                let node = &self.workflow.nodes[at];
                self.unmapped.push((
                    at,
                    Unmapped {
                        node: node.name.clone(),
                        n8n_type: node.n8n_type.clone(),
                        reason: WHY.to_owned(),
                        placeholder: None,
                    },
                ));
            }
        }
    }

    fn warn(&mut self, node: &str, field: Option<&str>, message: String) {
        self.warnings.push(ImportWarning { node: Some(node.to_owned()), field: field.map(str::to_owned), message });
    }
}

/// Whether `to` can be reached from `from` along the edges added so far.
fn reaches(successors: &HashMap<NodeId, Vec<NodeId>>, from: &NodeId, to: &NodeId) -> bool {
    let mut stack = vec![from];
    let mut seen = HashSet::new();
    while let Some(at) = stack.pop() {
        if at == to {
            return true;
        }
        if seen.insert(at) {
            stack.extend(successors.get(at).into_iter().flatten());
        }
    }
    false
}

/// The secrets the import references, keyed by n8n credential.
#[derive(Debug, Default)]
struct Secrets {
    /// (n8n credential type, credential name) → secret name.
    by_credential: BTreeMap<(Option<String>, Option<String>), String>,
    needed: BTreeMap<String, RequiredSecret>,
}

impl Secrets {
    /// The secret name for the node's credential of one of `types` (or, failing that, its only
    /// credential), `default` for the first credential of a service.
    fn reference(&mut self, node: &N8nNode, id: &NodeId, types: &[&str], default: &str) -> String {
        let credential = types.iter().find_map(|kind| node.credentials.get(*kind).map(|value| (*kind, value))).or_else(
            || match node.credentials.iter().collect::<Vec<_>>().as_slice() {
                [(kind, value)] => Some((kind.as_str(), *value)),
                _ => None,
            },
        );
        let key = (
            credential.map(|(kind, _)| kind.to_owned()),
            credential.and_then(|(_, value)| value.get("name")).and_then(Value::as_str).map(str::to_owned),
        );
        let name = match self.by_credential.get(&key) {
            Some(name) => name.clone(),
            None => {
                let mut name = default.to_owned();
                if self.needed.contains_key(&name) {
                    let suffix = key.1.as_deref().map(|n| slug(n).to_uppercase()).unwrap_or_else(|| "2".into());
                    name = format!("{default}_{suffix}");
                    let mut n = 2;
                    while self.needed.contains_key(&name) {
                        n += 1;
                        name = format!("{default}_{suffix}_{n}");
                    }
                }
                self.by_credential.insert(key.clone(), name.clone());
                name
            }
        };
        let entry = self.needed.entry(name.clone()).or_insert_with(|| RequiredSecret {
            name: name.clone(),
            n8n_credential_type: key.0.clone(),
            n8n_credential_name: key.1.clone(),
            nodes: Vec::new(),
        });
        if !entry.nodes.contains(id) {
            entry.nodes.push(id.clone());
            entry.nodes.sort();
        }
        format!("{{{{ secrets.{name} }}}}")
    }

    /// Drops a node that was left out after all; a secret only it read is no longer needed.
    fn forget(&mut self, id: &NodeId) {
        self.needed.values_mut().for_each(|secret| secret.nodes.retain(|node| node != id));
        self.needed.retain(|_, secret| !secret.nodes.is_empty());
    }

    fn finish(self) -> Vec<RequiredSecret> {
        self.needed.into_values().collect()
    }
}

/// The longest id made from a name, leaving room for the edge ids built from two of them.
const MAX_SLUG_LEN: usize = 48;

/// An id made from a name: lowercase ASCII letters and digits joined by `_`, starting with a
/// letter (so `steps.<id>` reads in an expression), at most [`MAX_SLUG_LEN`] characters.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let mut out = out.trim_end_matches('_').to_owned();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, if out.is_empty() { "node" } else { "n_" });
    }
    out.truncate(MAX_SLUG_LEN);
    out.trim_end_matches('_').to_owned()
}

/// `base`, or `base_2`, `base_3`… when taken; recorded as taken. Always a valid id.
fn unique_id(base: &str, taken: &mut HashSet<String>) -> String {
    let base = &base[..base.len().min(MAX_ID_LEN - 8)];
    let mut id = base.to_owned();
    let mut n = 1;
    while taken.contains(&id) {
        n += 1;
        id = format!("{base}_{n}");
    }
    taken.insert(id.clone());
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_valid_ids() {
        assert_eq!(slug("Fetch Orders"), "fetch_orders");
        assert_eq!(slug("  IF: total > 100?"), "if_total_100");
        assert_eq!(slug("1st step"), "n_1st_step");
        assert_eq!(slug("Überprüfung"), "berpr_fung");
        assert_eq!(slug("🚀"), "node");
        assert_eq!(slug(&"a".repeat(300)).len(), MAX_SLUG_LEN);
        let mut taken = HashSet::new();
        assert_eq!(unique_id("a", &mut taken), "a");
        assert_eq!(unique_id("a", &mut taken), "a_2");
        assert_eq!(unique_id("a", &mut taken), "a_3");
    }

    #[test]
    fn detection() {
        let n8n = serde_json::json!({"nodes": [{"name": "A", "type": "n8n-nodes-base.noOp"}], "connections": {}});
        assert!(looks_like_n8n(&n8n));
        assert!(!looks_like_n8n(&serde_json::json!({"format": "automateos.workflow/v1", "graph": {}})));
        assert!(!looks_like_n8n(&serde_json::json!({"nodes": [{"name": "A", "type": "x"}], "connections": {}})));
        assert!(!looks_like_n8n(&serde_json::json!([1])));
    }
}
