//! Selection and the minimap. A selection is a set of node and edge ids; a rubber-band rectangle
//! selects every node it touches and the edges between selected nodes; shift adds to the
//! selection. The minimap maps the world (every node plus what the screen shows) into a small box
//! and back, so a click there recentres the canvas.

use std::collections::BTreeSet;

use aos_schema::{EdgeId, NodeId, WorkflowGraph};

use super::geometry::{Point, Rect, Scene};

/// What is selected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub nodes: BTreeSet<NodeId>,
    pub edges: BTreeSet<EdgeId>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.edges.is_empty()
    }

    /// Just this node.
    pub fn node(id: NodeId) -> Self {
        Self { nodes: BTreeSet::from([id]), edges: BTreeSet::new() }
    }

    /// Just this edge.
    pub fn edge(id: EdgeId) -> Self {
        Self { nodes: BTreeSet::new(), edges: BTreeSet::from([id]) }
    }

    /// A click on a node: with `add` (shift) it toggles the node in the selection, otherwise it
    /// selects the node alone unless it is already selected (so a group can be dragged).
    pub fn click_node(&mut self, id: &NodeId, add: bool) {
        if add {
            if !self.nodes.remove(id) {
                self.nodes.insert(id.clone());
            }
        } else if !self.nodes.contains(id) {
            *self = Selection::node(id.clone());
        }
    }

    /// The selection after a rubber band over `rect` (world units): the nodes it touches and the
    /// edges joining two selected nodes, added to the current selection with `add`.
    pub fn rubber_band(&self, scene: &Scene, rect: Rect, add: bool) -> Selection {
        let mut next = if add { self.clone() } else { Selection::default() };
        next.nodes.extend(scene.nodes.iter().filter(|n| n.rect.intersects(&rect)).map(|n| n.id.clone()));
        next.edges.extend(
            scene
                .edges
                .iter()
                .filter(|e| next.nodes.contains(&e.from_node) && next.nodes.contains(&e.to_node))
                .map(|e| e.id.clone()),
        );
        next
    }

    /// Drops ids no longer in the graph (a remote editor deleted them).
    pub fn retain_existing(&mut self, graph: &WorkflowGraph) {
        self.nodes.retain(|id| graph.node(id.as_str()).is_some());
        self.edges.retain(|id| graph.edge(id.as_str()).is_some());
    }

    /// Removes the selected nodes (with every edge touching them) and the selected edges from
    /// `graph`; returns whether anything was removed.
    pub fn delete_from(&self, graph: &mut WorkflowGraph) -> bool {
        let before = (graph.nodes.len(), graph.edges.len());
        graph.nodes.retain(|n| !self.nodes.contains(&n.id));
        graph
            .edges
            .retain(|e| !self.edges.contains(&e.id) && !self.nodes.contains(&e.from) && !self.nodes.contains(&e.to));
        before != (graph.nodes.len(), graph.edges.len())
    }

    /// Moves every selected node by `(dx, dy)` world units.
    pub fn move_in(&self, graph: &mut WorkflowGraph, dx: f64, dy: f64) {
        if !(dx.is_finite() && dy.is_finite()) {
            return;
        }
        for node in graph.nodes.iter_mut().filter(|n| self.nodes.contains(&n.id)) {
            node.position.x += dx;
            node.position.y += dy;
        }
    }
}

/// The mapping between the world and a minimap box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Minimap {
    /// The world area the minimap shows.
    pub world: Rect,
    /// Minimap pixels per world unit.
    pub scale: f64,
    /// Where the world area's corner lands in the minimap (centred in the box).
    pub offset: Point,
}

impl Minimap {
    /// The minimap of a `width` × `height` box showing every node and the `visible` world rect,
    /// with `padding` world units around them.
    pub fn new(scene: &Scene, visible: Rect, width: f64, height: f64, padding: f64) -> Minimap {
        let world = scene.bounds().map_or(visible, |b| b.union(&visible)).inflate(padding);
        let scale = (width / world.width.max(1.0)).min(height / world.height.max(1.0));
        let offset = Point::new((width - world.width * scale) / 2.0, (height - world.height * scale) / 2.0);
        Minimap { world, scale, offset }
    }

    /// Where a world point is drawn on the minimap.
    pub fn to_minimap(&self, world: Point) -> Point {
        Point::new(
            (world.x - self.world.x) * self.scale + self.offset.x,
            (world.y - self.world.y) * self.scale + self.offset.y,
        )
    }

    /// A world rectangle as drawn on the minimap.
    pub fn rect_to_minimap(&self, rect: Rect) -> Rect {
        let p = self.to_minimap(Point::new(rect.x, rect.y));
        Rect::new(p.x, p.y, rect.width * self.scale, rect.height * self.scale)
    }

    /// The world point under a minimap point.
    pub fn to_world(&self, minimap: Point) -> Point {
        Point::new(
            (minimap.x - self.offset.x) / self.scale + self.world.x,
            (minimap.y - self.offset.y) / self.scale + self.world.y,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::{Catalog, Edge, Node, kinds};

    fn graph() -> WorkflowGraph {
        WorkflowGraph::new()
            .with_node(Node::new("a", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("b", kinds::LOGIC_DELAY).with_position(400.0, 0.0))
            .with_node(Node::new("c", kinds::LOGIC_DELAY).with_position(400.0, 400.0))
            .with_edge(Edge::new("ab", "a", "b"))
            .with_edge(Edge::new("bc", "b", "c"))
    }

    #[test]
    fn rubber_band_selects_touched_nodes_and_their_inner_edges() {
        let g = graph();
        let scene = Scene::build(&g, &Catalog::builtin());
        let band = Rect::from_corners(Point::new(-10.0, -10.0), Point::new(410.0, 20.0));
        let sel = Selection::default().rubber_band(&scene, band, false);
        assert_eq!(sel.nodes.iter().map(NodeId::as_str).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(sel.edges.iter().map(EdgeId::as_str).collect::<Vec<_>>(), ["ab"]);
        let more = sel.rubber_band(&scene, Rect::new(450.0, 450.0, 5.0, 5.0), true);
        assert_eq!(more.nodes.len(), 3);
        assert_eq!(more.edges.len(), 2);
        assert!(Selection::default().rubber_band(&scene, Rect::new(-900.0, -900.0, 5.0, 5.0), false).is_empty());
    }

    #[test]
    fn clicks_toggle_with_shift_and_keep_a_group_without() {
        let mut sel = Selection::node("a".into());
        sel.click_node(&"b".into(), true);
        assert_eq!(sel.nodes.len(), 2);
        sel.click_node(&"a".into(), false);
        assert_eq!(sel.nodes.len(), 2, "clicking a member keeps the group for dragging");
        sel.click_node(&"a".into(), true);
        assert_eq!(sel.nodes.iter().map(NodeId::as_str).collect::<Vec<_>>(), ["b"]);
        sel.click_node(&"c".into(), false);
        assert_eq!(sel, Selection::node("c".into()));
    }

    #[test]
    fn delete_takes_touching_edges_and_move_shifts_selected() {
        let mut g = graph();
        let sel = Selection::node("b".into());
        sel.move_in(&mut g, 10.0, -5.0);
        assert_eq!((g.node("b").unwrap().position.x, g.node("b").unwrap().position.y), (410.0, -5.0));
        assert_eq!(g.node("a").unwrap().position.x, 0.0);
        assert!(sel.delete_from(&mut g));
        assert!(g.edges.is_empty() && g.nodes.len() == 2);
        assert!(!sel.delete_from(&mut g));
        let mut stale = Selection::node("b".into());
        stale.retain_existing(&g);
        assert!(stale.is_empty());
    }

    #[test]
    fn minimap_round_trips_and_holds_everything() {
        let g = graph();
        let scene = Scene::build(&g, &Catalog::builtin());
        let visible = Rect::new(-100.0, -100.0, 300.0, 200.0);
        let map = Minimap::new(&scene, visible, 200.0, 150.0, 20.0);
        for node in &scene.nodes {
            let r = map.rect_to_minimap(node.rect);
            assert!(r.x >= 0.0 && r.y >= 0.0 && r.right() <= 200.0 + 1e-9 && r.bottom() <= 150.0 + 1e-9);
        }
        let p = Point::new(123.0, 321.0);
        assert!(map.to_world(map.to_minimap(p)).distance(p) < 1e-9);
        let empty = Minimap::new(&Scene::default(), visible, 200.0, 150.0, 0.0);
        assert_eq!(empty.world, visible);
    }
}
