//! Where things are on the canvas, in world units: points, rectangles, the box of each node with
//! its port positions (inputs on the left edge, outputs on the right, from the catalog), and the
//! curve of each edge. The renderer draws this [`Scene`] and hit testing reads it, so what is drawn
//! is what is clicked.

use aos_schema::validate::PortDirection;
use aos_schema::{Catalog, EdgeId, NodeId, PortType, WorkflowGraph};

/// A node's width on the canvas.
pub const NODE_WIDTH: f64 = 220.0;
/// The height of a node's title bar, above its port rows.
pub const NODE_HEADER: f64 = 44.0;
/// The height of one port row.
pub const PORT_ROW: f64 = 24.0;
/// Space under the last port row.
pub const NODE_PADDING: f64 = 10.0;
/// The radius of a port's dot.
pub const PORT_RADIUS: f64 = 6.0;

/// A point in world (or screen) units.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }

    /// The straight-line distance to `other`.
    pub fn distance(self, other: Point) -> f64 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
}

/// An axis-aligned rectangle; `width` and `height` are never negative.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    pub const fn new(x: f64, y: f64, width: f64, height: f64) -> Self {
        Self { x, y, width, height }
    }

    /// The rectangle spanned by two corners given in any order (a drag from `a` to `b`).
    pub fn from_corners(a: Point, b: Point) -> Self {
        Self { x: a.x.min(b.x), y: a.y.min(b.y), width: (a.x - b.x).abs(), height: (a.y - b.y).abs() }
    }

    pub fn right(&self) -> f64 {
        self.x + self.width
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }

    pub fn center(&self) -> Point {
        Point::new(self.x + self.width / 2.0, self.y + self.height / 2.0)
    }

    /// Whether the point is inside or on the border.
    pub fn contains(&self, p: Point) -> bool {
        p.x >= self.x && p.x <= self.right() && p.y >= self.y && p.y <= self.bottom()
    }

    /// Whether the two rectangles share any point.
    pub fn intersects(&self, other: &Rect) -> bool {
        self.x <= other.right() && other.x <= self.right() && self.y <= other.bottom() && other.y <= self.bottom()
    }

    /// The smallest rectangle holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Rect::new(x, y, self.right().max(other.right()) - x, self.bottom().max(other.bottom()) - y)
    }

    /// The rectangle grown by `by` on every side.
    pub fn inflate(&self, by: f64) -> Rect {
        Rect::new(self.x - by, self.y - by, self.width + 2.0 * by, self.height + 2.0 * by)
    }

    /// The smallest rectangle holding every one of `rects`; `None` when there are none.
    pub fn bounding<'a>(rects: impl IntoIterator<Item = &'a Rect>) -> Option<Rect> {
        rects.into_iter().fold(None, |acc: Option<Rect>, r| Some(acc.map_or(*r, |a| a.union(r))))
    }
}

/// One port as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct PortShape {
    /// The port name edges use.
    pub name: String,
    /// What the canvas writes next to the port.
    pub label: String,
    pub port_type: PortType,
    pub direction: PortDirection,
    /// The centre of the port's dot.
    pub center: Point,
}

/// One node as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeShape {
    pub id: NodeId,
    pub kind: String,
    /// The catalog title of the kind (the kind itself when unknown).
    pub title: String,
    pub label: String,
    pub rect: Rect,
    /// Whether the kind is a trigger (drawn with a rounded left side).
    pub trigger: bool,
    pub inputs: Vec<PortShape>,
    pub outputs: Vec<PortShape>,
}

impl NodeShape {
    /// The port of this node with this direction and name.
    pub fn port(&self, direction: PortDirection, name: &str) -> Option<&PortShape> {
        let ports = match direction {
            PortDirection::Input => &self.inputs,
            PortDirection::Output => &self.outputs,
        };
        ports.iter().find(|p| p.name == name)
    }
}

/// One edge as drawn: from an output port's centre to an input port's centre.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeShape {
    pub id: EdgeId,
    pub from_node: NodeId,
    pub from_port: String,
    pub to_node: NodeId,
    pub to_port: String,
    pub from: Point,
    pub to: Point,
}

impl EdgeShape {
    /// The SVG path of the edge's curve.
    pub fn path(&self) -> String {
        edge_path(self.from, self.to)
    }
}

/// Everything the canvas draws, in world units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scene {
    /// In graph order (later nodes are drawn on top).
    pub nodes: Vec<NodeShape>,
    /// Only edges whose two nodes exist; an edge naming a port the node lacks is drawn from the
    /// node's first port of that side (so a stale edge stays visible and can be deleted).
    pub edges: Vec<EdgeShape>,
}

impl Scene {
    /// Lays out every node of `graph` at its position, with the ports its kind has in `catalog`.
    pub fn build(graph: &WorkflowGraph, catalog: &Catalog) -> Self {
        let nodes: Vec<NodeShape> = graph.nodes.iter().map(|node| node_shape(node, catalog)).collect();
        let mut edges = Vec::with_capacity(graph.edges.len());
        for edge in &graph.edges {
            let (Some(from), Some(to)) =
                (nodes.iter().find(|n| n.id == edge.from), nodes.iter().find(|n| n.id == edge.to))
            else {
                continue;
            };
            let from_point = port_or_fallback(from, PortDirection::Output, &edge.from_port);
            let to_point = port_or_fallback(to, PortDirection::Input, &edge.to_port);
            edges.push(EdgeShape {
                id: edge.id.clone(),
                from_node: edge.from.clone(),
                from_port: edge.from_port.clone(),
                to_node: edge.to.clone(),
                to_port: edge.to_port.clone(),
                from: from_point,
                to: to_point,
            });
        }
        Self { nodes, edges }
    }

    /// The shape of the node with this id.
    pub fn node(&self, id: &str) -> Option<&NodeShape> {
        self.nodes.iter().find(|n| n.id.as_str() == id)
    }

    /// The box around every node; `None` for an empty canvas.
    pub fn bounds(&self) -> Option<Rect> {
        Rect::bounding(self.nodes.iter().map(|n| &n.rect))
    }
}

fn port_or_fallback(node: &NodeShape, direction: PortDirection, name: &str) -> Point {
    if let Some(port) = node.port(direction, name) {
        return port.center;
    }
    let ports = match direction {
        PortDirection::Input => &node.inputs,
        PortDirection::Output => &node.outputs,
    };
    ports.first().map(|p| p.center).unwrap_or_else(|| {
        let x = if direction == PortDirection::Input { node.rect.x } else { node.rect.right() };
        Point::new(x, node.rect.y + NODE_HEADER / 2.0)
    })
}

/// The height of a node with this many input and output ports.
pub fn node_height(inputs: usize, outputs: usize) -> f64 {
    NODE_HEADER + inputs.max(outputs).max(1) as f64 * PORT_ROW + NODE_PADDING
}

/// The shape of one node: its box at its position and its ports. A kind the catalog does not
/// know gets the default `in` and `out` ports so it can still be wired and fixed.
pub fn node_shape(node: &aos_schema::Node, catalog: &Catalog) -> NodeShape {
    let descriptor = catalog.get(&node.kind);
    let (title, trigger, inputs, outputs) = match descriptor {
        Some(d) => (
            d.title.clone(),
            d.is_trigger(),
            d.inputs.iter().map(|p| (p.name.clone(), p.label.clone(), p.port_type)).collect::<Vec<_>>(),
            d.output_ports(&node.config).into_iter().map(|p| (p.name, p.label, p.port_type)).collect::<Vec<_>>(),
        ),
        None => (
            node.kind.clone(),
            false,
            vec![(aos_schema::graph::DEFAULT_INPUT_PORT.to_owned(), "in".to_owned(), PortType::Any)],
            vec![(aos_schema::graph::DEFAULT_OUTPUT_PORT.to_owned(), "out".to_owned(), PortType::Any)],
        ),
    };
    let (x, y) = (finite(node.position.x), finite(node.position.y));
    let rect = Rect::new(x, y, NODE_WIDTH, node_height(inputs.len(), outputs.len()));
    let place = |ports: Vec<(String, String, PortType)>, direction: PortDirection| {
        let px = if direction == PortDirection::Input { rect.x } else { rect.right() };
        ports
            .into_iter()
            .enumerate()
            .map(|(i, (name, label, port_type))| PortShape {
                name,
                label,
                port_type,
                direction,
                center: Point::new(px, rect.y + NODE_HEADER + PORT_ROW * (i as f64 + 0.5)),
            })
            .collect()
    };
    NodeShape {
        id: node.id.clone(),
        kind: node.kind.clone(),
        title,
        label: node.label.clone(),
        rect,
        trigger,
        inputs: place(inputs, PortDirection::Input),
        outputs: place(outputs, PortDirection::Output),
    }
}

/// A position that is a number: a NaN or infinite coordinate (an invalid draft) is drawn at 0.
fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// The horizontal pull of an edge's control points.
fn control_offset(from: Point, to: Point) -> f64 {
    ((to.x - from.x).abs() / 2.0).max(60.0)
}

/// The SVG path (a cubic curve leaving to the right, arriving from the left) between two points.
pub fn edge_path(from: Point, to: Point) -> String {
    let dx = control_offset(from, to);
    format!(
        "M {:.1} {:.1} C {:.1} {:.1}, {:.1} {:.1}, {:.1} {:.1}",
        from.x,
        from.y,
        from.x + dx,
        from.y,
        to.x - dx,
        to.y,
        to.x,
        to.y
    )
}

/// Points along the edge's curve, `segments + 1` of them, for hit testing.
pub fn edge_points(from: Point, to: Point, segments: usize) -> Vec<Point> {
    let dx = control_offset(from, to);
    let (c1, c2) = (Point::new(from.x + dx, from.y), Point::new(to.x - dx, to.y));
    let segments = segments.max(1);
    (0..=segments)
        .map(|i| {
            let t = i as f64 / segments as f64;
            let u = 1.0 - t;
            let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
            Point::new(a * from.x + b * c1.x + c * c2.x + d * to.x, a * from.y + b * c1.y + c * c2.y + d * to.y)
        })
        .collect()
}

/// The distance from `p` to the segment `a`–`b`.
pub fn distance_to_segment(p: Point, a: Point, b: Point) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    if len2 == 0.0 {
        return p.distance(a);
    }
    let t = (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0);
    p.distance(Point::new(a.x + t * dx, a.y + t * dy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::{Edge, Node, kinds};

    #[test]
    fn ports_sit_on_the_node_edges_in_catalog_order() {
        let catalog = Catalog::builtin();
        let node = Node::new("c", kinds::LOGIC_CONDITION).with_position(100.0, 50.0);
        let shape = node_shape(&node, &catalog);
        assert_eq!(shape.rect, Rect::new(100.0, 50.0, NODE_WIDTH, node_height(1, 2)));
        assert_eq!(shape.inputs.len(), 1);
        assert_eq!(shape.inputs[0].center, Point::new(100.0, 50.0 + NODE_HEADER + PORT_ROW / 2.0));
        let names: Vec<_> = shape.outputs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["true", "false"]);
        assert_eq!(shape.outputs[1].center.x, 100.0 + NODE_WIDTH);
        assert!(shape.outputs[1].center.y > shape.outputs[0].center.y);
    }

    #[test]
    fn triggers_have_no_inputs_and_unknown_kinds_get_default_ports() {
        let catalog = Catalog::builtin();
        let trigger = node_shape(&Node::new("t", kinds::TRIGGER_WEBHOOK), &catalog);
        assert!(trigger.trigger && trigger.inputs.is_empty());
        let unknown = node_shape(&Node::new("u", "made.up"), &catalog);
        assert_eq!((unknown.inputs[0].name.as_str(), unknown.outputs[0].name.as_str()), ("in", "out"));
    }

    #[test]
    fn switch_cases_become_output_ports() {
        let catalog = Catalog::builtin();
        let node = Node::new("s", kinds::LOGIC_SWITCH).with_config("cases", serde_json::json!({"gold": "g"}));
        let names: Vec<_> = node_shape(&node, &catalog).outputs.into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["gold", "default"]);
    }

    #[test]
    fn edges_join_port_centres_and_skip_missing_nodes() {
        let catalog = Catalog::builtin();
        let graph = WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("d", kinds::LOGIC_DELAY).with_position(400.0, 0.0))
            .with_edge(Edge::new("e1", "t", "d"))
            .with_edge(Edge::new("e2", "t", "gone"));
        let scene = Scene::build(&graph, &catalog);
        assert_eq!(scene.edges.len(), 1);
        let edge = &scene.edges[0];
        assert_eq!(edge.from, scene.node("t").unwrap().outputs[0].center);
        assert_eq!(edge.to, scene.node("d").unwrap().inputs[0].center);
        assert!(edge.path().starts_with("M 220.0"));
    }

    #[test]
    fn a_curve_starts_and_ends_at_its_ports() {
        let (a, b) = (Point::new(0.0, 0.0), Point::new(300.0, 100.0));
        let points = edge_points(a, b, 10);
        assert_eq!(points.len(), 11);
        assert_eq!(points[0], a);
        assert!(points[10].distance(b) < 1e-9);
    }

    #[test]
    fn rect_helpers() {
        let r = Rect::from_corners(Point::new(10.0, 10.0), Point::new(0.0, 0.0));
        assert_eq!(r, Rect::new(0.0, 0.0, 10.0, 10.0));
        assert!(r.contains(Point::new(5.0, 5.0)) && !r.contains(Point::new(11.0, 5.0)));
        assert!(r.intersects(&Rect::new(9.0, 9.0, 5.0, 5.0)));
        assert!(!r.intersects(&Rect::new(11.0, 0.0, 5.0, 5.0)));
        assert_eq!(Rect::bounding([&r, &Rect::new(20.0, 20.0, 1.0, 1.0)]), Some(Rect::new(0.0, 0.0, 21.0, 21.0)));
        assert_eq!(distance_to_segment(Point::new(5.0, 3.0), Point::new(0.0, 0.0), Point::new(10.0, 0.0)), 3.0);
    }
}
