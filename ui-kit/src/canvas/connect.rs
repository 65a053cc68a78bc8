//! Connecting ports: whether an output may feed an input (port types from the catalog, no edge
//! into a trigger, no self loop, no duplicate, no cycle), snapping a dragged edge's loose end to
//! the nearest port that would be accepted, and making the edge.

use std::collections::HashSet;

use aos_schema::validate::PortDirection;
use aos_schema::{Catalog, Edge, EdgeId, WorkflowGraph};

use super::geometry::{Point, Scene};
use super::hit::PortRef;
use super::ids::fresh_edge_id;

/// Why two ports may not be joined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectRefusal {
    #[error("an edge joins an output to an input")]
    SameDirection,
    #[error("a node cannot feed itself")]
    SameNode,
    #[error("node {node} has no such port")]
    UnknownPort { node: String },
    #[error("triggers take no input")]
    IntoTrigger,
    #[error("{from_type} output does not fit a {to_type} input")]
    TypeMismatch { from_type: String, to_type: String },
    #[error("these ports are already joined")]
    Duplicate,
    #[error("the edge would make a cycle")]
    Cycle,
}

/// Orders two ports of a drag as (output, input), whichever end the drag started from.
pub fn orient(a: &PortRef, b: &PortRef) -> Result<(PortRef, PortRef), ConnectRefusal> {
    match (a.direction, b.direction) {
        (PortDirection::Output, PortDirection::Input) => Ok((a.clone(), b.clone())),
        (PortDirection::Input, PortDirection::Output) => Ok((b.clone(), a.clone())),
        _ => Err(ConnectRefusal::SameDirection),
    }
}

/// Whether an edge from the output `from` into the input `to` is acceptable in `graph`.
pub fn check_connection(
    graph: &WorkflowGraph,
    catalog: &Catalog,
    from: &PortRef,
    to: &PortRef,
) -> Result<(), ConnectRefusal> {
    let (from, to) = orient(from, to)?;
    if from.node == to.node {
        return Err(ConnectRefusal::SameNode);
    }
    let source = graph.node(from.node.as_str()).ok_or(ConnectRefusal::UnknownPort { node: from.node.to_string() })?;
    let target = graph.node(to.node.as_str()).ok_or(ConnectRefusal::UnknownPort { node: to.node.to_string() })?;
    if catalog.is_trigger(&target.kind) {
        return Err(ConnectRefusal::IntoTrigger);
    }
    // a kind the catalog does not know has the default ports of type any
    let from_type = match catalog.get(&source.kind) {
        Some(d) => d
            .output_type(&from.port, &source.config)
            .ok_or(ConnectRefusal::UnknownPort { node: from.node.to_string() })?,
        None if from.port == aos_schema::graph::DEFAULT_OUTPUT_PORT => aos_schema::PortType::Any,
        None => return Err(ConnectRefusal::UnknownPort { node: from.node.to_string() }),
    };
    let to_type = match catalog.get(&target.kind) {
        Some(d) => {
            d.input(&to.port).map(|p| p.port_type).ok_or(ConnectRefusal::UnknownPort { node: to.node.to_string() })?
        }
        None if to.port == aos_schema::graph::DEFAULT_INPUT_PORT => aos_schema::PortType::Any,
        None => return Err(ConnectRefusal::UnknownPort { node: to.node.to_string() }),
    };
    if !from_type.fits(to_type) {
        return Err(ConnectRefusal::TypeMismatch { from_type: from_type.to_string(), to_type: to_type.to_string() });
    }
    let duplicate = graph
        .edges
        .iter()
        .any(|e| e.from == from.node && e.from_port == from.port && e.to == to.node && e.to_port == to.port);
    if duplicate {
        return Err(ConnectRefusal::Duplicate);
    }
    if reaches(graph, to.node.as_str(), from.node.as_str()) {
        return Err(ConnectRefusal::Cycle);
    }
    Ok(())
}

/// Whether `start` leads to `goal` along the graph's edges.
fn reaches(graph: &WorkflowGraph, start: &str, goal: &str) -> bool {
    let mut seen = HashSet::new();
    let mut stack = vec![start];
    while let Some(node) = stack.pop() {
        if node == goal {
            return true;
        }
        if seen.insert(node) {
            stack.extend(graph.outgoing(node).map(|e| e.to.as_str()));
        }
    }
    false
}

/// The port a loose edge end at `cursor` snaps to: the nearest port within `radius` (world units)
/// that [`check_connection`] accepts with the fixed end `anchor`. Incompatible ports are never
/// snapped to, however near.
pub fn snap_target(
    scene: &Scene,
    graph: &WorkflowGraph,
    catalog: &Catalog,
    anchor: &PortRef,
    cursor: Point,
    radius: f64,
) -> Option<PortRef> {
    let wanted = match anchor.direction {
        PortDirection::Output => PortDirection::Input,
        PortDirection::Input => PortDirection::Output,
    };
    let mut best: Option<(f64, PortRef)> = None;
    for node in &scene.nodes {
        let ports = if wanted == PortDirection::Input { &node.inputs } else { &node.outputs };
        for port in ports {
            let d = port.center.distance(cursor);
            if d > radius || best.as_ref().is_some_and(|(bd, _)| *bd <= d) {
                continue;
            }
            let candidate = PortRef::new(node.id.clone(), port.name.clone(), wanted);
            if check_connection(graph, catalog, anchor, &candidate).is_ok() {
                best = Some((d, candidate));
            }
        }
    }
    best.map(|(_, port)| port)
}

/// Adds the edge between two ports (in either order) after [`check_connection`]; `salt` picks a
/// fresh edge id. Returns the new edge's id.
pub fn connect(
    graph: &mut WorkflowGraph,
    catalog: &Catalog,
    a: &PortRef,
    b: &PortRef,
    salt: u64,
) -> Result<EdgeId, ConnectRefusal> {
    check_connection(graph, catalog, a, b)?;
    let (from, to) = orient(a, b)?;
    let id = fresh_edge_id(graph, salt);
    graph.edges.push(Edge::new(id.clone(), from.node, to.node).ports(from.port, to.port));
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::{Node, kinds};

    fn out(node: &str, port: &str) -> PortRef {
        PortRef::new(node, port, PortDirection::Output)
    }
    fn inp(node: &str) -> PortRef {
        PortRef::new(node, "in", PortDirection::Input)
    }

    fn graph() -> WorkflowGraph {
        WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("read", kinds::SHEETS_READ).with_position(300.0, 0.0))
            .with_node(Node::new("append", kinds::SHEETS_APPEND).with_position(600.0, 0.0))
            .with_node(Node::new("delay", kinds::LOGIC_DELAY).with_position(600.0, 300.0))
            .with_node(Node::new("t2", kinds::TRIGGER_WEBHOOK).with_position(0.0, 300.0))
            .with_edge(Edge::new("e1", "t", "read"))
    }

    #[test]
    fn compatible_ports_connect_in_either_drag_direction() {
        let catalog = Catalog::builtin();
        let mut g = graph();
        let id = connect(&mut g, &catalog, &inp("delay"), &out("read", "out"), 7).unwrap();
        let edge = g.edge(id.as_str()).unwrap();
        assert_eq!((edge.from.as_str(), edge.to.as_str()), ("read", "delay"));
        assert_eq!(connect(&mut g, &catalog, &out("read", "out"), &inp("delay"), 8), Err(ConnectRefusal::Duplicate));
    }

    #[test]
    fn incompatible_ports_refuse() {
        let catalog = Catalog::builtin();
        let g = graph();
        // sheets.read emits a list, sheets.append takes an object
        assert!(matches!(
            check_connection(&g, &catalog, &out("read", "out"), &inp("append")),
            Err(ConnectRefusal::TypeMismatch { .. })
        ));
        assert_eq!(
            check_connection(&g, &catalog, &out("read", "out"), &PortRef::new("t2", "in", PortDirection::Input)),
            Err(ConnectRefusal::IntoTrigger)
        );
        assert_eq!(check_connection(&g, &catalog, &out("delay", "out"), &inp("delay")), Err(ConnectRefusal::SameNode));
        assert_eq!(
            check_connection(&g, &catalog, &out("read", "out"), &out("t", "out")),
            Err(ConnectRefusal::SameDirection)
        );
        assert!(matches!(
            check_connection(&g, &catalog, &out("read", "nope"), &inp("delay")),
            Err(ConnectRefusal::UnknownPort { .. })
        ));
    }

    #[test]
    fn cycles_refuse() {
        let catalog = Catalog::builtin();
        let mut g = graph();
        connect(&mut g, &catalog, &out("read", "out"), &inp("delay"), 1).unwrap();
        assert_eq!(check_connection(&g, &catalog, &out("delay", "out"), &inp("read")), Err(ConnectRefusal::Cycle));
    }

    #[test]
    fn snapping_picks_the_nearest_compatible_port() {
        let catalog = Catalog::builtin();
        let g = graph();
        let scene = Scene::build(&g, &catalog);
        let anchor = out("read", "out");
        let append_in = scene.node("append").unwrap().inputs[0].center;
        let delay_in = scene.node("delay").unwrap().inputs[0].center;
        // right on sheets.append's input: incompatible, so no snap
        assert_eq!(snap_target(&scene, &g, &catalog, &anchor, append_in, 40.0), None);
        // near the delay's input: snaps
        let near = Point::new(delay_in.x - 20.0, delay_in.y + 10.0);
        assert_eq!(snap_target(&scene, &g, &catalog, &anchor, near, 40.0), Some(inp("delay")));
        // too far
        assert_eq!(snap_target(&scene, &g, &catalog, &anchor, Point::new(delay_in.x - 100.0, delay_in.y), 40.0), None);
        // dragging back from an input finds an output
        let t_out = scene.node("t").unwrap().outputs[0].center;
        assert_eq!(snap_target(&scene, &g, &catalog, &inp("delay"), t_out, 40.0), Some(out("t", "out")));
    }
}
