//! The DAG compiler: turns a valid [`WorkflowGraph`] into an [`ExecutionPlan`], the runner's map of
//! a version: which steps may run in parallel, what feeds each step, where work fans out and in,
//! and which nodes a branch owns so that an untaken branch can be marked skipped.
//!
//! How a runner reads the plan: a step is ready when each predecessor is done or skipped. A
//! `Branch` step (condition, switch) emits on one port; the nodes in the other ports'
//! [`Step::branches`] entries are skipped. A `ForEach` step runs the nodes of its `item` branch
//! once per item, then emits the collected results on `done`. A `Merge` step (and any step with
//! several predecessors) receives the outputs of the predecessors that were not skipped.

use std::collections::{BTreeMap, HashMap};

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::canonical_json;
use crate::catalog::{Catalog, Flow, NodeDescriptor};
use crate::graph::{Edge, Node, WorkflowGraph};
use crate::ids::{EdgeId, NodeId};
use crate::validate::{EdgeEnd, ValidationError, ValidationErrors, validate};

/// A compiled workflow version. Everything in it is sorted, so one graph always gives the same
/// plan (and the same JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionPlan {
    /// The node every run enters through.
    pub trigger: NodeId,
    /// Layer `n` holds the nodes whose longest path from the trigger has `n` edges, sorted by id;
    /// every edge goes from a lower layer to a higher one, so a layer's nodes may run in parallel
    /// once the layers before it are done.
    pub layers: Vec<Vec<NodeId>>,
    /// One step per node, sorted by id.
    pub steps: Vec<Step>,
}

/// One node as the runner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: NodeId,
    pub kind: String,
    /// For logs and the dashboard.
    pub label: String,
    /// How the step moves control and data (from the catalog).
    pub flow: Flow,
    /// Index into [`ExecutionPlan::layers`].
    pub layer: usize,
    /// The node's config with the catalog defaults filled in, so the engine needs no catalog.
    #[serde(serialize_with = "canonical_json::serialize_sorted_map")]
    pub config: Map<String, Value>,
    /// The edges arriving at the step, sorted by source node, ports and edge id.
    pub predecessors: Vec<Inbound>,
    /// Every output port of the step (connected or not) with the edges leaving it, sorted by
    /// target node, port and edge id.
    pub successors: BTreeMap<String, Vec<Outbound>>,
    /// The step starts several downstream paths: more than one outgoing edge, or a for-each.
    pub fan_out: bool,
    /// The step joins several upstream paths: more than one incoming edge, or a merge.
    pub fan_in: bool,
    /// For `Branch` and `ForEach` steps, each output port with the nodes reachable only through
    /// it (every path from the trigger to them passes one of its edges), sorted by id. Empty for
    /// other steps.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub branches: BTreeMap<String, Vec<NodeId>>,
}

/// An edge arriving at a step.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Inbound {
    pub from: NodeId,
    pub from_port: String,
    pub to_port: String,
    pub edge: EdgeId,
}

/// An edge leaving one output port of a step.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Outbound {
    pub to: NodeId,
    pub to_port: String,
    pub edge: EdgeId,
}

impl ExecutionPlan {
    /// The step of a node.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.binary_search_by(|step| step.id.as_str().cmp(id)).ok().and_then(|at| self.steps.get(at))
    }

    /// The steps that start several downstream paths, sorted by id.
    pub fn fan_out_points(&self) -> Vec<&NodeId> {
        self.steps.iter().filter(|s| s.fan_out).map(|s| &s.id).collect()
    }

    /// The steps that join several upstream paths, sorted by id.
    pub fn fan_in_points(&self) -> Vec<&NodeId> {
        self.steps.iter().filter(|s| s.fan_in).map(|s| &s.id).collect()
    }
}

impl Step {
    /// The nodes fed by one output port.
    pub fn targets(&self, port: &str) -> impl Iterator<Item = &NodeId> {
        self.successors.get(port).into_iter().flatten().map(|o| &o.to)
    }
}

/// Validates the graph, then compiles it.
pub fn compile(graph: &WorkflowGraph, catalog: &Catalog) -> Result<ExecutionPlan, ValidationErrors> {
    validate(graph, catalog)?;
    let dag = Dag::new(graph, catalog)?;
    let layer_of = dag.layers()?;
    let depth = layer_of.iter().max().map_or(0, |deepest| deepest + 1);
    let mut layers = vec![Vec::new(); depth];
    for (at, (node, _)) in dag.nodes.iter().enumerate() {
        layers[layer_of[at]].push(node.id.clone());
    }
    let Some(trigger) = dag.nodes.iter().position(|(_, d)| d.is_trigger()) else {
        return Err(unexpected(ValidationError::NoTrigger));
    };
    let steps = (0..dag.nodes.len()).map(|at| dag.step(at, layer_of[at], trigger)).collect();
    Ok(ExecutionPlan { trigger: dag.nodes[trigger].0.id.clone(), layers, steps })
}

/// A validated graph by positions: nodes sorted by id (so positions and petgraph indices follow
/// id order) and edges sorted by id. Validation has already made sure that ids are unique, kinds
/// known, edge ends present, the graph acyclic and every node reachable from the one trigger.
struct Dag<'a> {
    nodes: Vec<(&'a Node, &'a NodeDescriptor)>,
    links: Vec<Link<'a>>,
    /// Positions in `links` of the edges arriving at each node.
    inbound: Vec<Vec<usize>>,
    /// Positions in `links` of the edges leaving each node.
    outbound: Vec<Vec<usize>>,
}

impl<'a> Dag<'a> {
    fn new(graph: &'a WorkflowGraph, catalog: &'a Catalog) -> Result<Self, ValidationErrors> {
        let mut nodes = Vec::with_capacity(graph.nodes.len());
        for node in &graph.nodes {
            let Some(descriptor) = catalog.get(&node.kind) else {
                return Err(unexpected(ValidationError::UnknownKind {
                    node: node.id.clone(),
                    kind: node.kind.clone(),
                }));
            };
            nodes.push((node, descriptor));
        }
        nodes.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        let position: HashMap<&str, usize> =
            nodes.iter().enumerate().map(|(at, (node, _))| (node.id.as_str(), at)).collect();
        let mut edges: Vec<&Edge> = graph.edges.iter().collect();
        edges.sort_by(|a, b| a.id.cmp(&b.id));
        let mut links = Vec::with_capacity(edges.len());
        let mut inbound = vec![Vec::new(); nodes.len()];
        let mut outbound = vec![Vec::new(); nodes.len()];
        for edge in edges {
            let from = position.get(edge.from.as_str()).copied();
            let to = position.get(edge.to.as_str()).copied();
            let (Some(from), Some(to)) = (from, to) else {
                return Err(unexpected(ValidationError::DanglingEdge {
                    edge: edge.id.clone(),
                    end: if from.is_none() { EdgeEnd::Source } else { EdgeEnd::Target },
                    node: if from.is_none() { &edge.from } else { &edge.to }.clone(),
                }));
            };
            outbound[from].push(links.len());
            inbound[to].push(links.len());
            links.push((from, to, edge));
        }
        Ok(Self { nodes, links, inbound, outbound })
    }

    /// Each node's layer: the length of the longest path from a node without predecessors,
    /// computed along a petgraph topological order.
    fn layers(&self) -> Result<Vec<usize>, ValidationErrors> {
        let mut dag = DiGraph::<(), ()>::with_capacity(self.nodes.len(), self.links.len());
        for _ in &self.nodes {
            dag.add_node(());
        }
        for (from, to, _) in &self.links {
            dag.add_edge(NodeIndex::new(*from), NodeIndex::new(*to), ());
        }
        let order = toposort(&dag, None).map_err(|cycle| {
            let node = self.nodes.get(cycle.node_id().index()).map(|(n, _)| n.id.clone());
            unexpected(ValidationError::Cycle { path: node.iter().chain(node.iter()).cloned().collect() })
        })?;
        let mut layer_of = vec![0usize; self.nodes.len()];
        for index in order {
            let from = index.index();
            for &link in &self.outbound[from] {
                let to = self.links[link].1;
                layer_of[to] = layer_of[to].max(layer_of[from] + 1);
            }
        }
        Ok(layer_of)
    }

    fn step(&self, at: usize, layer: usize, trigger: usize) -> Step {
        let (node, descriptor) = self.nodes[at];
        let mut predecessors: Vec<Inbound> = self.inbound[at]
            .iter()
            .map(|&link| {
                let edge = self.links[link].2;
                Inbound {
                    from: edge.from.clone(),
                    from_port: edge.from_port.clone(),
                    to_port: edge.to_port.clone(),
                    edge: edge.id.clone(),
                }
            })
            .collect();
        predecessors.sort();
        let mut successors: BTreeMap<String, Vec<Outbound>> =
            descriptor.output_ports(&node.config).into_iter().map(|port| (port.name, Vec::new())).collect();
        for &link in &self.outbound[at] {
            let edge = self.links[link].2;
            successors.entry(edge.from_port.clone()).or_default().push(Outbound {
                to: edge.to.clone(),
                to_port: edge.to_port.clone(),
                edge: edge.id.clone(),
            });
        }
        successors.values_mut().for_each(|targets| targets.sort());
        let branches = match descriptor.flow {
            Flow::Branch | Flow::ForEach => branches(at, successors.keys().cloned(), &self.links, trigger, &self.nodes),
            Flow::Trigger | Flow::Step | Flow::Merge => BTreeMap::new(),
        };
        Step {
            id: node.id.clone(),
            kind: node.kind.clone(),
            label: node.label.clone(),
            flow: descriptor.flow,
            layer,
            config: descriptor.config_with_defaults(&node.config),
            fan_out: self.outbound[at].len() > 1 || descriptor.flow == Flow::ForEach,
            fan_in: self.inbound[at].len() > 1 || descriptor.flow == Flow::Merge,
            predecessors,
            successors,
            branches,
        }
    }
}

/// An edge by the positions of its two nodes.
type Link<'a> = (usize, usize, &'a Edge);

/// For each output port of the step at `at`: the nodes that every path from the trigger reaches
/// through one of that port's edges. They are the nodes reachable from the port's targets minus
/// the nodes still reachable from the trigger once the port's edges are removed.
fn branches(
    at: usize,
    ports: impl Iterator<Item = String>,
    links: &[Link<'_>],
    trigger: usize,
    nodes: &[(&Node, &NodeDescriptor)],
) -> BTreeMap<String, Vec<NodeId>> {
    let mut owned = BTreeMap::new();
    for port in ports {
        let through_port = |link: &Link<'_>| link.0 == at && link.2.from_port == port;
        let starts: Vec<usize> = links.iter().filter(|link| through_port(link)).map(|link| link.1).collect();
        let behind = reach(nodes.len(), links, &starts, |_| true);
        let without = reach(nodes.len(), links, &[trigger], |link| !through_port(link));
        let ids: Vec<NodeId> = nodes
            .iter()
            .enumerate()
            .filter(|(n, _)| behind[*n] && !without[*n])
            .map(|(_, (node, _))| node.id.clone())
            .collect();
        owned.insert(port, ids);
    }
    owned
}

/// Which node positions are reachable from `starts` (included) along the links `keep` allows.
fn reach(count: usize, links: &[Link<'_>], starts: &[usize], keep: impl Fn(&Link<'_>) -> bool) -> Vec<bool> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); count];
    for link in links.iter().filter(|link| keep(link)) {
        next[link.0].push(link.1);
    }
    let mut seen = vec![false; count];
    let mut stack = starts.to_vec();
    while let Some(at) = stack.pop() {
        if std::mem::replace(&mut seen[at], true) {
            continue;
        }
        stack.extend(next[at].iter().copied().filter(|&to| !seen[to]));
    }
    seen
}

/// A graph that passed validation but still could not be compiled would be a bug here; it is
/// reported as the validation problem that explains it rather than as a panic.
fn unexpected(problem: ValidationError) -> ValidationErrors {
    ValidationErrors::new(vec![problem])
}

#[cfg(test)]
mod tests;
