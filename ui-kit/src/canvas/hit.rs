//! Hit testing: what is under a world point. Ports win over nodes (a port dot overhangs its node's
//! edge), nodes over edges, and among overlapping nodes the one drawn last (on top).

use aos_schema::validate::PortDirection;
use aos_schema::{EdgeId, NodeId};

use super::geometry::{Point, Scene, distance_to_segment, edge_points};

/// How many straight pieces an edge's curve is cut into for hit testing.
const EDGE_SEGMENTS: usize = 24;

/// One port of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRef {
    pub node: NodeId,
    pub port: String,
    pub direction: PortDirection,
}

impl PortRef {
    pub fn new(node: impl Into<NodeId>, port: impl Into<String>, direction: PortDirection) -> Self {
        Self { node: node.into(), port: port.into(), direction }
    }
}

/// What a point hits.
#[derive(Debug, Clone, PartialEq)]
pub enum Hit {
    Port(PortRef),
    Node(NodeId),
    Edge(EdgeId),
    /// The background.
    Empty,
}

/// What is under `point`; `port_radius` and `edge_tolerance` are world distances (a screen
/// tolerance divided by the zoom).
pub fn hit_test(scene: &Scene, point: Point, port_radius: f64, edge_tolerance: f64) -> Hit {
    if let Some(port) = port_at(scene, point, port_radius) {
        return Hit::Port(port);
    }
    if let Some(node) = scene.nodes.iter().rev().find(|n| n.rect.contains(point)) {
        return Hit::Node(node.id.clone());
    }
    if let Some(edge) = edge_at(scene, point, edge_tolerance) {
        return Hit::Edge(edge);
    }
    Hit::Empty
}

/// The port whose dot is nearest to `point`, within `radius`.
pub fn port_at(scene: &Scene, point: Point, radius: f64) -> Option<PortRef> {
    let mut best: Option<(f64, PortRef)> = None;
    for node in scene.nodes.iter().rev() {
        for port in node.inputs.iter().chain(&node.outputs) {
            let d = port.center.distance(point);
            if d <= radius && best.as_ref().is_none_or(|(bd, _)| d < *bd) {
                best = Some((d, PortRef::new(node.id.clone(), port.name.clone(), port.direction)));
            }
        }
    }
    best.map(|(_, port)| port)
}

/// The edge whose curve passes nearest to `point`, within `tolerance`.
pub fn edge_at(scene: &Scene, point: Point, tolerance: f64) -> Option<EdgeId> {
    let mut best: Option<(f64, &EdgeId)> = None;
    for edge in &scene.edges {
        let points = edge_points(edge.from, edge.to, EDGE_SEGMENTS);
        let d = points.windows(2).map(|w| distance_to_segment(point, w[0], w[1])).fold(f64::INFINITY, f64::min);
        if d <= tolerance && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, &edge.id));
        }
    }
    best.map(|(_, id)| id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::geometry::{NODE_HEADER, NODE_WIDTH, PORT_ROW};
    use aos_schema::{Catalog, Edge, Node, WorkflowGraph, kinds};

    fn scene() -> Scene {
        let graph = WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("d", kinds::LOGIC_DELAY).with_position(500.0, 0.0))
            .with_node(Node::new("top", kinds::LOGIC_DELAY).with_position(520.0, 10.0))
            .with_edge(Edge::new("e1", "t", "d"));
        Scene::build(&graph, &Catalog::builtin())
    }

    #[test]
    fn ports_win_over_their_node() {
        let scene = scene();
        let out = Point::new(NODE_WIDTH - 2.0, NODE_HEADER + PORT_ROW / 2.0);
        assert_eq!(hit_test(&scene, out, 8.0, 6.0), Hit::Port(PortRef::new("t", "out", PortDirection::Output)));
        // just outside the node, still on the dot
        let outside = Point::new(NODE_WIDTH + 4.0, NODE_HEADER + PORT_ROW / 2.0);
        assert!(matches!(hit_test(&scene, outside, 8.0, 6.0), Hit::Port(_)));
    }

    #[test]
    fn the_node_on_top_wins() {
        let scene = scene();
        assert_eq!(hit_test(&scene, Point::new(600.0, 30.0), 8.0, 6.0), Hit::Node("top".into()));
        assert_eq!(hit_test(&scene, Point::new(505.0, 5.0), 8.0, 6.0), Hit::Node("d".into()));
        assert_eq!(hit_test(&scene, Point::new(100.0, 20.0), 8.0, 6.0), Hit::Node("t".into()));
    }

    #[test]
    fn edges_are_hit_along_their_curve_and_the_rest_is_empty() {
        let scene = scene();
        let edge = &scene.edges[0];
        let mid = edge_points(edge.from, edge.to, 2)[1];
        assert_eq!(hit_test(&scene, Point::new(mid.x, mid.y + 3.0), 8.0, 6.0), Hit::Edge("e1".into()));
        assert_eq!(hit_test(&scene, Point::new(mid.x, mid.y + 40.0), 8.0, 6.0), Hit::Empty);
        assert_eq!(hit_test(&scene, Point::new(-500.0, -500.0), 8.0, 6.0), Hit::Empty);
    }
}
