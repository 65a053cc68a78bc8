//! The mapping of a read workflow: each node classified (kind, stand-in or left out) and
//! configured, one trigger kept, the connections turned into edges without loops, a manual
//! trigger added when there is none, and what no path reaches left out. See `n8n.rs`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::read::Workflow;
use super::scope::Scope;
use super::secrets::Secrets;
use super::{ImportWarning, N8nImport, Unmapped, nodes, slug, unique_id};
use crate::catalog::kinds;
use crate::export::ExportFile;
use crate::graph::{DEFAULT_INPUT_PORT, DEFAULT_OUTPUT_PORT, Edge, MAX_NODES, Node, WorkflowGraph};
use crate::ids::{EdgeId, NodeId};

/// What becomes of one n8n node.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Class {
    /// It maps to this kind.
    Kind(&'static str),
    /// A node of this kind stands in for it; reported as unmapped.
    StandIn { kind: &'static str, reason: String },
    /// Left out with its edges; reported as unmapped.
    Omit { reason: String },
}

impl Class {
    pub(super) fn kind(&self) -> Option<&'static str> {
        match self {
            Class::Kind(kind) | Class::StandIn { kind, .. } => Some(kind),
            Class::Omit { .. } => None,
        }
    }

    pub(super) fn is_trigger(&self) -> bool {
        self.kind().is_some_and(|kind| kind.starts_with("trigger."))
    }
}

/// The whole mapping, node by node, then the edges.
pub(super) struct Importer<'a> {
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
    translated: usize,
}

impl<'a> Importer<'a> {
    pub(super) fn new(workflow: &'a Workflow) -> Self {
        let mut predecessors = vec![Vec::new(); workflow.nodes.len()];
        for connection in &workflow.connections {
            if !predecessors[connection.to].contains(&connection.from) {
                predecessors[connection.to].push(connection.from);
            }
        }
        let mut taken = HashSet::new();
        let ids = workflow.nodes.iter().map(|node| NodeId::from(unique_id(&slug(&node.name), &mut taken))).collect();
        let classes = workflow
            .nodes
            .iter()
            .enumerate()
            .map(|(at, node)| match nodes::classify(node) {
                Class::Kind(kind) if nodes::is_agent(node) => agent_class(workflow, at, kind),
                class => class,
            })
            .collect();
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
            translated: 0,
        }
    }

    pub(super) fn run(mut self) -> N8nImport {
        let workflow = self.workflow;
        self.choose_trigger();
        self.omit_unreachable_placeholders();
        self.sources = (0..self.classes.len())
            .map(|at| super::scope::data_source(at, &self.classes, &self.predecessors))
            .collect();
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
        let mapped = self.classes.iter().filter(|class| matches!(class, Class::Kind(_))).count();
        N8nImport {
            file,
            unmapped,
            warnings: self.warnings,
            secrets: self.secrets.finish(),
            nodes: workflow.nodes.len(),
            mapped,
            translated: self.translated,
        }
    }

    fn node(&self, at: usize, kind: &str, config: Map<String, Value>) -> Node {
        let n8n = &self.workflow.nodes[at];
        let mut node = Node::new(self.ids[at].clone(), kind).with_label(n8n.name.clone());
        // n8n's nodes are about 100 px wide and ours 220: spread the layout so they do not overlap
        node.position = crate::graph::Position { x: n8n.position.0 * SPREAD.0, y: n8n.position.1 * SPREAD.1 };
        node.config = config;
        node
    }

    fn scope(&mut self, at: usize) -> Scope<'_> {
        let workflow = self.workflow;
        let sub_nodes = workflow
            .sub_connections
            .iter()
            .filter(|(_, _, to)| *to == at)
            .map(|(from, kind, _)| (kind.as_str(), &workflow.nodes[*from]))
            .collect();
        Scope {
            sub_nodes,
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
            translated: &mut self.translated,
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
            let folded = self.workflow.sub_connections.iter().find(|(from, connection, to)| {
                *from == at
                    && connection == "ai_languageModel"
                    && matches!(self.classes[*to], Class::Kind(_))
                    && nodes::is_agent(&self.workflow.nodes[*to])
            });
            if let Some((_, _, agent)) = folded {
                let agent = &self.workflow.nodes[*agent].name;
                self.classes[at] = Class::Omit {
                    reason: format!(
                        "the language model of “{agent}”: its model, temperature and key are in that chat step"
                    ),
                };
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
        let ports: Vec<Vec<Vec<String>>> = (0..workflow.nodes.len()).map(|at| self.output_ports(at)).collect();
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
    fn output_ports(&self, at: usize) -> Vec<Vec<String>> {
        match &self.classes[at] {
            Class::Omit { .. } => Vec::new(),
            Class::StandIn { .. } => vec![vec![DEFAULT_OUTPUT_PORT.to_owned()]],
            Class::Kind(kind) => nodes::output_ports(kind, &self.workflow.nodes[at]),
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
            .with_position(left - 220.0 * SPREAD.0, if top.is_finite() { top } else { 0.0 });
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
/// An agent or LLM chain is a chat step when its language model is OpenAI's chat model.
fn agent_class(workflow: &Workflow, at: usize, kind: &'static str) -> Class {
    let model = workflow
        .sub_connections
        .iter()
        .find(|(_, connection, to)| *to == at && connection == "ai_languageModel")
        .map(|(from, _, _)| &workflow.nodes[*from]);
    match model {
        Some(model) if model.n8n_type == "@n8n/n8n-nodes-langchain.lmChatOpenAi" => Class::Kind(kind),
        Some(model) => Class::StandIn {
            kind: kinds::LOGIC_DELAY,
            reason: format!(
                "its language model is {}; only OpenAI's chat model maps (to an OpenAI chat step); a placeholder \
                 that passes its input on stands in for it",
                model.n8n_type
            ),
        },
        None => Class::StandIn {
            kind: kinds::LOGIC_DELAY,
            reason: "it has no language model connected; a placeholder that passes its input on stands in for it"
                .into(),
        },
    }
}

/// How much wider and taller the canvas is laid out than n8n's: n8n places nodes about 220 px
/// apart, our nodes are 220 px wide.
const SPREAD: (f64, f64) = (1.5, 1.25);

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
