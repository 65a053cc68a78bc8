//! Graph validation: checks a [`WorkflowGraph`] against a [`Catalog`] and reports every problem at
//! once (ids, kinds, config fields, edges and their ports and types, the trigger rule, cycles and
//! unreachable nodes), so the studio can show them all rather than one per publish attempt.

mod config;
mod errors;

use std::collections::{HashMap, HashSet};

use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};

pub use config::{MAX_ID_LEN, is_expression, is_secret_reference, is_valid_id, secret_reference_name};
pub use errors::{EdgeEnd, IdKind, PortDirection, ValidationError, ValidationErrors};

use crate::catalog::{Catalog, NodeDescriptor};
use crate::graph::{Edge, MAX_EDGES, MAX_NODES, Node, WorkflowGraph};

/// Checks the graph; `Err` lists every problem found.
///
/// A graph over [`MAX_NODES`] or [`MAX_EDGES`] is refused with only that problem: it is not
/// worth examining further.
pub fn validate(graph: &WorkflowGraph, catalog: &Catalog) -> Result<(), ValidationErrors> {
    let errors = problems(graph, catalog);
    if errors.is_empty() { Ok(()) } else { Err(ValidationErrors::new(errors)) }
}

/// Every problem of the graph, in a stable order: size, nodes, triggers, edges, cycles,
/// reachability.
fn problems(graph: &WorkflowGraph, catalog: &Catalog) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    if graph.nodes.len() > MAX_NODES {
        errors.push(ValidationError::TooManyNodes { count: graph.nodes.len(), limit: MAX_NODES });
    }
    if graph.edges.len() > MAX_EDGES {
        errors.push(ValidationError::TooManyEdges { count: graph.edges.len(), limit: MAX_EDGES });
    }
    if !errors.is_empty() {
        return errors;
    }

    let index = check_nodes(graph, catalog, &mut errors);
    check_triggers(&index, &mut errors);
    let links = check_edges(graph, &index, &mut errors);
    check_cycles(&index, &links, &mut errors);
    check_reachability(&index, &links, &mut errors);
    errors
}

/// The nodes with a unique id, in graph order, with their descriptors when the kind is known.
struct NodeIndexMap<'a> {
    nodes: Vec<(&'a Node, Option<&'a NodeDescriptor>)>,
    by_id: HashMap<&'a str, usize>,
}

fn check_nodes<'a>(
    graph: &'a WorkflowGraph,
    catalog: &'a Catalog,
    errors: &mut Vec<ValidationError>,
) -> NodeIndexMap<'a> {
    let mut index =
        NodeIndexMap { nodes: Vec::with_capacity(graph.nodes.len()), by_id: HashMap::with_capacity(graph.nodes.len()) };
    let mut reported_duplicates = HashSet::new();
    for node in &graph.nodes {
        if !is_valid_id(node.id.as_str()) {
            errors.push(ValidationError::InvalidId {
                what: IdKind::Node,
                id: node.id.to_string(),
                max_len: MAX_ID_LEN,
            });
        }
        if index.by_id.contains_key(node.id.as_str()) {
            if reported_duplicates.insert(node.id.as_str()) {
                errors.push(ValidationError::DuplicateNodeId { node: node.id.clone() });
            }
            continue;
        }
        if !(node.position.x.is_finite() && node.position.y.is_finite()) {
            errors.push(ValidationError::NonFinitePosition { node: node.id.clone() });
        }
        let descriptor = catalog.get(&node.kind);
        match descriptor {
            Some(descriptor) => config::check_config(node, descriptor, errors),
            None => errors.push(ValidationError::UnknownKind { node: node.id.clone(), kind: node.kind.clone() }),
        }
        index.by_id.insert(node.id.as_str(), index.nodes.len());
        index.nodes.push((node, descriptor));
    }
    index
}

/// Exactly one trigger: the node every run enters through.
fn check_triggers(index: &NodeIndexMap<'_>, errors: &mut Vec<ValidationError>) {
    let triggers: Vec<_> = index
        .nodes
        .iter()
        .filter(|(_, descriptor)| descriptor.is_some_and(NodeDescriptor::is_trigger))
        .map(|(node, _)| node.id.clone())
        .collect();
    match triggers.len() {
        0 => errors.push(ValidationError::NoTrigger),
        1 => {}
        _ => errors.push(ValidationError::TooManyTriggers { nodes: triggers }),
    }
}

/// An edge whose two ends exist, as positions in [`NodeIndexMap::nodes`].
#[derive(Debug, Clone, Copy)]
struct Link {
    from: usize,
    to: usize,
}

fn check_edges(graph: &WorkflowGraph, index: &NodeIndexMap<'_>, errors: &mut Vec<ValidationError>) -> Vec<Link> {
    let mut links = Vec::with_capacity(graph.edges.len());
    let mut ids = HashSet::new();
    let mut reported_duplicates = HashSet::new();
    let mut connections: HashMap<(&str, &str, &str, &str), &Edge> = HashMap::new();
    for edge in &graph.edges {
        if !is_valid_id(edge.id.as_str()) {
            errors.push(ValidationError::InvalidId {
                what: IdKind::Edge,
                id: edge.id.to_string(),
                max_len: MAX_ID_LEN,
            });
        }
        if !ids.insert(edge.id.as_str()) {
            if reported_duplicates.insert(edge.id.as_str()) {
                errors.push(ValidationError::DuplicateEdgeId { edge: edge.id.clone() });
            }
            continue;
        }
        let key = (edge.from.as_str(), edge.from_port.as_str(), edge.to.as_str(), edge.to_port.as_str());
        if let Some(first) = connections.get(&key) {
            errors.push(ValidationError::DuplicateEdge { edge: edge.id.clone(), duplicate_of: first.id.clone() });
            continue;
        }
        connections.insert(key, edge);

        let from = end(edge, EdgeEnd::Source, index, errors);
        let to = end(edge, EdgeEnd::Target, index, errors);
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        check_ports(edge, index.nodes[from], index.nodes[to], errors);
        // An edge into a trigger is already a problem; leaving it out of the structure keeps it
        // from also being reported as a cycle.
        if !index.nodes[to].1.is_some_and(NodeDescriptor::is_trigger) {
            links.push(Link { from, to });
        }
    }
    links
}

/// The position of the node at one end of the edge, or a dangling-edge problem.
fn end(edge: &Edge, which: EdgeEnd, index: &NodeIndexMap<'_>, errors: &mut Vec<ValidationError>) -> Option<usize> {
    let id = match which {
        EdgeEnd::Source => &edge.from,
        EdgeEnd::Target => &edge.to,
    };
    let found = index.by_id.get(id.as_str()).copied();
    if found.is_none() {
        errors.push(ValidationError::DanglingEdge { edge: edge.id.clone(), end: which, node: id.clone() });
    }
    found
}

/// The ports exist on the two kinds, the target is not a trigger, and the types fit.
fn check_ports(
    edge: &Edge,
    (from, from_kind): (&Node, Option<&NodeDescriptor>),
    (to, to_kind): (&Node, Option<&NodeDescriptor>),
    errors: &mut Vec<ValidationError>,
) {
    let from_type = from_kind.and_then(|descriptor| {
        let found = descriptor.output_type(&edge.from_port, &from.config);
        if found.is_none() {
            errors.push(unknown_port(edge, from, PortDirection::Output, &edge.from_port));
        }
        found
    });
    let to_type = to_kind.and_then(|descriptor| {
        if descriptor.is_trigger() {
            errors.push(ValidationError::EdgeIntoTrigger { edge: edge.id.clone(), node: to.id.clone() });
            return None;
        }
        let found = descriptor.input(&edge.to_port).map(|port| port.port_type);
        if found.is_none() {
            errors.push(unknown_port(edge, to, PortDirection::Input, &edge.to_port));
        }
        found
    });
    if let (Some(from_type), Some(to_type)) = (from_type, to_type)
        && !from_type.fits(to_type)
    {
        errors.push(ValidationError::PortTypeMismatch {
            edge: edge.id.clone(),
            from: edge.from.clone(),
            from_port: edge.from_port.clone(),
            from_type,
            to: edge.to.clone(),
            to_port: edge.to_port.clone(),
            to_type,
        });
    }
}

fn unknown_port(edge: &Edge, node: &Node, direction: PortDirection, port: &str) -> ValidationError {
    ValidationError::UnknownPort {
        edge: edge.id.clone(),
        node: node.id.clone(),
        kind: node.kind.clone(),
        direction,
        port: port.to_owned(),
    }
}

/// Successor lists by node position, each sorted by node id and without repeats, so searches
/// visit nodes in a stable order.
fn successors(index: &NodeIndexMap<'_>, links: &[Link]) -> Vec<Vec<usize>> {
    let mut next = vec![Vec::new(); index.nodes.len()];
    for link in links {
        next[link.from].push(link.to);
    }
    for list in &mut next {
        list.sort_by(|a, b| index.nodes[*a].0.id.cmp(&index.nodes[*b].0.id));
        list.dedup();
    }
    next
}

/// One `Cycle` problem per strongly connected component that loops, each with a shortest cycle
/// through the component's smallest node id; sorted by that id.
fn check_cycles(index: &NodeIndexMap<'_>, links: &[Link], errors: &mut Vec<ValidationError>) {
    let mut graph = DiGraph::<(), ()>::with_capacity(index.nodes.len(), links.len());
    for _ in &index.nodes {
        graph.add_node(());
    }
    for link in links {
        graph.add_edge(NodeIndex::new(link.from), NodeIndex::new(link.to), ());
    }
    let next = successors(index, links);
    let mut cycles: Vec<Vec<usize>> = Vec::new();
    for component in kosaraju_scc(&graph) {
        let members: Vec<usize> = component.iter().map(|n| n.index()).collect();
        let looping = members.len() > 1 || members.iter().any(|&m| next[m].contains(&m));
        if !looping {
            continue;
        }
        let Some(&start) = members.iter().min_by(|a, b| {
            let id = |at: &usize| &index.nodes[*at].0.id;
            id(a).cmp(id(b))
        }) else {
            continue;
        };
        if let Some(path) = shortest_cycle(start, &members, &next) {
            cycles.push(path);
        }
    }
    cycles.sort_by(|a, b| index.nodes[a[0]].0.id.cmp(&index.nodes[b[0]].0.id));
    for path in cycles {
        errors.push(ValidationError::Cycle { path: path.into_iter().map(|at| index.nodes[at].0.id.clone()).collect() });
    }
}

/// A shortest path `start -> … -> start` inside the component, by breadth-first search.
fn shortest_cycle(start: usize, members: &[usize], next: &[Vec<usize>]) -> Option<Vec<usize>> {
    let inside: HashSet<usize> = members.iter().copied().collect();
    let mut came_from: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for &to in &next[at] {
            if to == start {
                let mut path = vec![start, at];
                let mut walk = at;
                while walk != start {
                    walk = *came_from.get(&walk)?;
                    path.push(walk);
                }
                path.reverse();
                return Some(path);
            }
            if inside.contains(&to) && !came_from.contains_key(&to) {
                came_from.insert(to, at);
                queue.push_back(to);
            }
        }
    }
    None
}

/// Every node is reachable from the trigger; without exactly one trigger this says nothing new.
fn check_reachability(index: &NodeIndexMap<'_>, links: &[Link], errors: &mut Vec<ValidationError>) {
    let triggers: Vec<usize> =
        (0..index.nodes.len()).filter(|&at| index.nodes[at].1.is_some_and(NodeDescriptor::is_trigger)).collect();
    if triggers.len() != 1 {
        return;
    }
    let next = successors(index, links);
    let mut seen = vec![false; index.nodes.len()];
    let mut stack = triggers;
    while let Some(at) = stack.pop() {
        if std::mem::replace(&mut seen[at], true) {
            continue;
        }
        stack.extend(next[at].iter().copied().filter(|&to| !seen[to]));
    }
    for (at, (node, _)) in index.nodes.iter().enumerate() {
        if !seen[at] {
            errors.push(ValidationError::Unreachable { node: node.id.clone() });
        }
    }
}

#[cfg(test)]
mod tests;
