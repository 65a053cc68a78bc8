//! The canvas editor's gestures as a state machine, sans IO: pointer input from the renderer in,
//! a new viewport/selection and (when a gesture ends) the graph to write out. A node drag moves the
//! nodes locally (`display_graph`) and only the result is written, once, on release.

use aos_schema::{Catalog, Node, NodeId, WorkflowGraph};
use aos_ui_kit::canvas::geometry::{NODE_WIDTH, node_shape};
use aos_ui_kit::canvas::{
    Clipboard, ConnectRefusal, Hit, Point, PortRef, Rect, Scene, Selection, Viewport, connect, fresh_node_id,
    snap_target,
};
use aos_ui_kit::components::{CanvasPointer, CanvasWheel, PointerPhase};

/// How far (pixels) a loose edge end snaps to a port.
pub const SNAP_PX: f64 = 28.0;
/// How far (world units) an arrow key moves the selected nodes; Shift moves four times as far.
pub const NUDGE: f64 = 20.0;
/// How far (pixels) the pointer must travel before a press becomes a drag.
const DRAG_SLOP_PX: f64 = 3.0;

/// The gesture in progress.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Gesture {
    #[default]
    Idle,
    /// Moving the background (secondary button).
    Pan { last: Point },
    /// Moving the selected nodes; `offset` is applied locally until release.
    MoveNodes { start: Point, offset: (f64, f64), moved: bool },
    /// Dragging an edge from `anchor`; `to` follows the pointer or the snapped port.
    Connect { anchor: PortRef, from: Point, to: Point, snap: Option<PortRef> },
    /// A rubber band from `start` to `now` (world units).
    Band { start: Point, now: Point, add: bool, start_screen: Point, moved: bool },
}

/// What the editor asks the app to do after an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    None,
    /// Write this graph to the live doc (one change).
    Commit(WorkflowGraph),
    /// Tell the creator why nothing happened.
    Refused(String),
}

/// The editor's state besides the graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Editor {
    pub viewport: Viewport,
    pub selection: Selection,
    pub gesture: Gesture,
    /// The canvas's size in pixels.
    pub screen: (f64, f64),
    /// The node kind being dragged in from the palette.
    pub placing: Option<String>,
    /// The pointer's last world position over the canvas (for presence).
    pub pointer: Option<Point>,
    pub clipboard: Clipboard,
    /// Pastes since the last copy, so repeated pastes fan out.
    pastes: u32,
    /// A viewer's canvas: pointer and keys select and pan, and never move, connect or change.
    pub read_only: bool,
}

impl Editor {
    /// The graph to draw: `graph` with a node drag in progress applied.
    pub fn display_graph(&self, graph: &WorkflowGraph) -> WorkflowGraph {
        let mut shown = graph.clone();
        if let Gesture::MoveNodes { offset, .. } = self.gesture {
            self.selection.move_in(&mut shown, offset.0, offset.1);
        }
        shown
    }

    /// The edge being dragged, for the renderer.
    pub fn ghost_edge(&self) -> Option<(Point, Point)> {
        match &self.gesture {
            Gesture::Connect { from, to, anchor, .. } => Some(match anchor.direction {
                aos_schema::validate::PortDirection::Output => (*from, *to),
                aos_schema::validate::PortDirection::Input => (*to, *from),
            }),
            _ => None,
        }
    }

    pub fn snap(&self) -> Option<PortRef> {
        match &self.gesture {
            Gesture::Connect { snap, .. } => snap.clone(),
            _ => None,
        }
    }

    pub fn band(&self) -> Option<Rect> {
        match self.gesture {
            Gesture::Band { start, now, moved: true, .. } => Some(Rect::from_corners(start, now)),
            _ => None,
        }
    }

    /// Handles pointer input; `scene` is the scene of the displayed graph.
    pub fn pointer(
        &mut self,
        event: &CanvasPointer,
        graph: &WorkflowGraph,
        scene: &Scene,
        catalog: &Catalog,
        salt: &mut dyn FnMut() -> u64,
    ) -> Effect {
        self.pointer = (event.phase != PointerPhase::Leave).then_some(event.world);
        match event.phase {
            PointerPhase::Down => {
                self.down(event);
                Effect::None
            }
            PointerPhase::Move => {
                self.moved(event, graph, scene, catalog);
                Effect::None
            }
            PointerPhase::Up => self.up(event, graph, scene, catalog, salt),
            PointerPhase::Leave => {
                let effect = match self.gesture {
                    Gesture::MoveNodes { .. } => self.up(event, graph, scene, catalog, salt),
                    _ => Effect::None,
                };
                self.gesture = Gesture::Idle;
                effect
            }
        }
    }

    fn down(&mut self, event: &CanvasPointer) {
        if self.placing.is_some() {
            return;
        }
        if event.secondary {
            self.gesture = Gesture::Pan { last: event.screen };
            return;
        }
        self.gesture = match &event.hit {
            Hit::Port(_) | Hit::Node(_) if self.read_only => {
                if let Hit::Node(id) = &event.hit {
                    self.selection.click_node(id, event.shift);
                }
                Gesture::Idle
            }
            Hit::Port(port) => {
                Gesture::Connect { anchor: port.clone(), from: event.world, to: event.world, snap: None }
            }
            Hit::Node(id) => {
                self.selection.click_node(id, event.shift);
                Gesture::MoveNodes { start: event.world, offset: (0.0, 0.0), moved: false }
            }
            Hit::Edge(id) => {
                if event.shift {
                    if !self.selection.edges.remove(id) {
                        self.selection.edges.insert(id.clone());
                    }
                } else {
                    self.selection = Selection::edge(id.clone());
                }
                Gesture::Idle
            }
            Hit::Empty => Gesture::Band {
                start: event.world,
                now: event.world,
                add: event.shift,
                start_screen: event.screen,
                moved: false,
            },
        };
    }

    fn moved(&mut self, event: &CanvasPointer, graph: &WorkflowGraph, scene: &Scene, catalog: &Catalog) {
        let viewport = self.viewport;
        match &mut self.gesture {
            Gesture::Idle => {}
            Gesture::Pan { last } => {
                let (dx, dy) = (event.screen.x - last.x, event.screen.y - last.y);
                *last = event.screen;
                self.viewport.pan_by(dx, dy);
            }
            Gesture::MoveNodes { start, offset, moved } => {
                *offset = (event.world.x - start.x, event.world.y - start.y);
                *moved |= viewport.to_screen(event.world).distance(viewport.to_screen(*start)) > DRAG_SLOP_PX;
            }
            Gesture::Connect { anchor, from, to, snap } => {
                if let Some(node) = scene.node(anchor.node.as_str())
                    && let Some(port) = node.port(anchor.direction, &anchor.port)
                {
                    *from = port.center;
                }
                *snap = snap_target(scene, graph, catalog, anchor, event.world, viewport.world_len(SNAP_PX));
                *to = snap
                    .as_ref()
                    .and_then(|s| scene.node(s.node.as_str()).and_then(|n| n.port(s.direction, &s.port)))
                    .map_or(event.world, |p| p.center);
            }
            Gesture::Band { now, start_screen, moved, .. } => {
                *now = event.world;
                *moved |= event.screen.distance(*start_screen) > DRAG_SLOP_PX;
            }
        }
    }

    fn up(
        &mut self,
        event: &CanvasPointer,
        graph: &WorkflowGraph,
        scene: &Scene,
        catalog: &Catalog,
        salt: &mut dyn FnMut() -> u64,
    ) -> Effect {
        if let Some(kind) = self.placing.take() {
            let (next, id) = place_node(graph, catalog, &kind, event.world, salt());
            self.selection = Selection::node(id);
            self.gesture = Gesture::Idle;
            return Effect::Commit(next);
        }
        let gesture = std::mem::take(&mut self.gesture);
        match gesture {
            Gesture::Idle | Gesture::Pan { .. } => Effect::None,
            Gesture::MoveNodes { offset, moved, .. } => {
                if !moved {
                    return Effect::None;
                }
                let mut next = graph.clone();
                self.selection.move_in(&mut next, offset.0, offset.1);
                Effect::Commit(next)
            }
            Gesture::Connect { anchor, .. } => {
                // released on a port: that port decides (and may refuse); else the snap target
                let target = match &event.hit {
                    Hit::Port(port) if port.node != anchor.node || port.port != anchor.port => Some(port.clone()),
                    _ => snap_target(scene, graph, catalog, &anchor, event.world, self.viewport.world_len(SNAP_PX)),
                };
                let Some(target) = target else { return Effect::None };
                let mut next = graph.clone();
                match connect(&mut next, catalog, &anchor, &target, salt()) {
                    Ok(id) => {
                        self.selection = Selection::edge(id);
                        Effect::Commit(next)
                    }
                    Err(refusal @ ConnectRefusal::TypeMismatch { .. })
                    | Err(refusal @ ConnectRefusal::Cycle)
                    | Err(refusal @ ConnectRefusal::IntoTrigger)
                    | Err(refusal @ ConnectRefusal::Duplicate) => Effect::Refused(refusal.to_string()),
                    Err(_) => Effect::None,
                }
            }
            Gesture::Band { start, now, add, moved, .. } => {
                if moved {
                    self.selection = self.selection.rubber_band(scene, Rect::from_corners(start, now), add);
                } else if !add {
                    self.selection = Selection::default();
                }
                Effect::None
            }
        }
    }

    /// Scrolls (pans) or, with ctrl/meta, zooms around the pointer.
    pub fn wheel(&mut self, wheel: &CanvasWheel) {
        if wheel.zoom {
            self.viewport.zoom_at(wheel.screen, (-wheel.delta_y * 0.01).exp());
        } else {
            self.viewport.pan_by(0.0, -wheel.delta_y);
        }
    }

    /// Zooms by `factor` around the canvas's centre (the toolbar buttons).
    pub fn zoom_centre(&mut self, factor: f64) {
        let centre = Point::new(self.screen.0 / 2.0, self.screen.1 / 2.0);
        self.viewport.zoom_at(centre, factor);
    }

    /// Shows the whole graph.
    pub fn fit(&mut self, scene: &Scene) {
        if let Some(bounds) = scene.bounds()
            && self.screen.0 > 0.0
        {
            self.viewport = Viewport::fit(bounds, self.screen.0, self.screen.1, 60.0);
        }
    }

    /// Adds a node of `kind` at the canvas's centre (a click on the palette).
    pub fn place_at_centre(
        &mut self,
        graph: &WorkflowGraph,
        catalog: &Catalog,
        kind: &str,
        salt: u64,
    ) -> WorkflowGraph {
        let centre = self.viewport.to_world(Point::new(self.screen.0 / 2.0, self.screen.1 / 2.0));
        let (next, id) = place_node(graph, catalog, kind, centre, salt);
        self.selection = Selection::node(id);
        next
    }

    /// Deletes the selection; `None` when nothing was selected.
    pub fn delete_selection(&mut self, graph: &WorkflowGraph) -> Option<WorkflowGraph> {
        let mut next = graph.clone();
        let changed = self.selection.delete_from(&mut next);
        self.selection = Selection::default();
        changed.then_some(next)
    }

    /// The keyboard's pick: the focused node alone is selected.
    pub fn select_node(&mut self, id: NodeId) {
        self.selection = Selection::node(id);
    }

    /// Moves the selected nodes by (`dx`, `dy`) world units; `None` when no node is selected.
    pub fn nudge(&mut self, graph: &WorkflowGraph, dx: f64, dy: f64) -> Option<WorkflowGraph> {
        if self.read_only || self.selection.nodes.is_empty() {
            return None;
        }
        let mut next = graph.clone();
        self.selection.move_in(&mut next, dx, dy);
        Some(next)
    }

    pub fn select_all(&mut self, graph: &WorkflowGraph) {
        self.selection = Selection {
            nodes: graph.nodes.iter().map(|n| n.id.clone()).collect(),
            edges: graph.edges.iter().map(|e| e.id.clone()).collect(),
        };
    }

    pub fn copy(&mut self, graph: &WorkflowGraph) {
        self.clipboard = Clipboard::copy(graph, &self.selection);
        self.pastes = 0;
    }

    /// Pastes the clipboard shifted a little further each time; `None` when it is empty.
    pub fn paste(&mut self, graph: &WorkflowGraph, salt: &mut dyn FnMut() -> u64) -> Option<WorkflowGraph> {
        if self.clipboard.is_empty() {
            return None;
        }
        self.pastes += 1;
        let shift = 40.0 * f64::from(self.pastes);
        let mut next = graph.clone();
        self.selection = self.clipboard.paste_into(&mut next, (shift, shift), salt);
        Some(next)
    }
}

/// `graph` with a new node of `kind` centred under `at`, and the node's id. Fields with defaults
/// start filled in, so the form shows them.
pub fn place_node(
    graph: &WorkflowGraph,
    catalog: &Catalog,
    kind: &str,
    at: Point,
    salt: u64,
) -> (WorkflowGraph, NodeId) {
    let id = fresh_node_id(graph, kind, salt);
    let mut node = Node::new(id.clone(), kind).with_position((at.x - NODE_WIDTH / 2.0).round(), (at.y - 30.0).round());
    if let Some(descriptor) = catalog.get(kind) {
        node.label = descriptor.title.clone();
        node.config = descriptor.config_with_defaults(&node.config);
    }
    // never drop a node exactly onto another: slide it down until it sits clear
    let taken: Vec<Rect> = graph.nodes.iter().map(|n| node_shape(n, catalog).rect.inflate(8.0)).collect();
    for _ in 0..100 {
        let rect = node_shape(&node, catalog).rect;
        if !taken.iter().any(|t| t.intersects(&rect)) {
            break;
        }
        node.position.y += 40.0;
    }
    let mut next = graph.clone();
    next.nodes.push(node);
    (next, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::{Edge, kinds};

    fn graph() -> WorkflowGraph {
        WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("d", kinds::LOGIC_DELAY).with_position(400.0, 0.0))
    }

    fn ev(phase: PointerPhase, x: f64, y: f64, scene: &Scene) -> CanvasPointer {
        let world = Point::new(x, y);
        CanvasPointer {
            phase,
            screen: world,
            world,
            hit: aos_ui_kit::canvas::hit_test(scene, world, 10.0, 6.0),
            shift: false,
            secondary: false,
        }
    }

    fn run(editor: &mut Editor, graph: &WorkflowGraph, steps: &[(PointerPhase, f64, f64)]) -> Vec<Effect> {
        let catalog = Catalog::builtin();
        let mut n = 0;
        let mut salt = || {
            n += 1;
            n
        };
        steps
            .iter()
            .map(|&(phase, x, y)| {
                let shown = editor.display_graph(graph);
                let scene = Scene::build(&shown, &catalog);
                editor.pointer(&ev(phase, x, y, &scene), graph, &scene, &catalog, &mut salt)
            })
            .collect()
    }

    #[test]
    fn dragging_a_node_moves_it_locally_and_commits_once() {
        let mut editor = Editor::default();
        let g = graph();
        let effects = run(&mut editor, &g, &[(PointerPhase::Down, 450.0, 20.0), (PointerPhase::Move, 470.0, 50.0)]);
        assert!(effects.iter().all(|e| *e == Effect::None));
        assert_eq!(editor.display_graph(&g).node("d").unwrap().position.x, 420.0);
        let effects = run(&mut editor, &g, &[(PointerPhase::Up, 470.0, 50.0)]);
        let Effect::Commit(next) = &effects[0] else { panic!("expected a commit, got {effects:?}") };
        assert_eq!((next.node("d").unwrap().position.x, next.node("d").unwrap().position.y), (420.0, 30.0));
        assert_eq!(editor.selection, Selection::node("d".into()));
        // a click without movement writes nothing
        let effects = run(&mut editor, &g, &[(PointerPhase::Down, 450.0, 20.0), (PointerPhase::Up, 450.0, 20.0)]);
        assert_eq!(effects, [Effect::None, Effect::None]);
    }

    #[test]
    fn the_keyboard_picks_a_node_and_moves_only_what_is_selected() {
        let mut editor = Editor::default();
        let g = graph();
        assert_eq!(editor.nudge(&g, NUDGE, 0.0), None, "nothing selected: the arrows move nothing");
        editor.select_node("d".into());
        assert_eq!(editor.selection, Selection::node("d".into()));
        let next = editor.nudge(&g, -NUDGE, 4.0 * NUDGE).expect("a selected node moves");
        let moved = next.node("d").unwrap().position;
        assert_eq!((moved.x, moved.y), (400.0 - NUDGE, 4.0 * NUDGE));
        assert_eq!(next.node("t").unwrap().position, g.node("t").unwrap().position, "the other node stays");
    }

    #[test]
    fn dragging_from_a_port_connects_with_snapping() {
        let catalog = Catalog::builtin();
        let mut editor = Editor::default();
        let g = graph();
        let scene = Scene::build(&g, &catalog);
        let out = scene.node("t").unwrap().outputs[0].center;
        let inp = scene.node("d").unwrap().inputs[0].center;
        let effects = run(
            &mut editor,
            &g,
            &[(PointerPhase::Down, out.x, out.y), (PointerPhase::Move, inp.x - 15.0, inp.y + 10.0)],
        );
        assert_eq!(effects, [Effect::None, Effect::None]);
        assert_eq!(editor.snap().map(|p| p.node), Some("d".into()));
        assert_eq!(editor.ghost_edge().map(|(_, to)| to), Some(inp));
        let effects = run(&mut editor, &g, &[(PointerPhase::Up, inp.x - 15.0, inp.y + 10.0)]);
        let Effect::Commit(next) = &effects[0] else { panic!("expected a commit") };
        assert_eq!(next.edges.len(), 1);
        assert_eq!((next.edges[0].from.as_str(), next.edges[0].to.as_str()), ("t", "d"));
        // the same again is refused as a duplicate
        let effects = run(&mut editor, next, &[(PointerPhase::Down, out.x, out.y), (PointerPhase::Up, inp.x, inp.y)]);
        assert!(matches!(&effects[1], Effect::Refused(text) if text.contains("already")));
    }

    #[test]
    fn a_rubber_band_selects_and_a_click_on_empty_clears() {
        let mut editor = Editor::default();
        let g = graph();
        run(&mut editor, &g, &[(PointerPhase::Down, -50.0, -50.0), (PointerPhase::Move, 700.0, 30.0)]);
        assert!(editor.band().is_some());
        run(&mut editor, &g, &[(PointerPhase::Up, 700.0, 30.0)]);
        assert_eq!(editor.selection.nodes.len(), 2);
        run(&mut editor, &g, &[(PointerPhase::Down, -500.0, -500.0), (PointerPhase::Up, -500.0, -500.0)]);
        assert!(editor.selection.is_empty());
    }

    #[test]
    fn palette_drop_places_a_node_with_defaults() {
        let mut editor = Editor { placing: Some(kinds::LOGIC_FOR_EACH.into()), ..Editor::default() };
        let g = graph();
        let effects = run(&mut editor, &g, &[(PointerPhase::Up, 300.0, 300.0)]);
        let Effect::Commit(next) = &effects[0] else { panic!("expected a commit") };
        let node = next.nodes.last().unwrap();
        assert!(node.id.as_str().starts_with("logic_for_each_"));
        assert_eq!(node.config["items"], "{{ input }}");
        assert_eq!(node.position.x, 300.0 - NODE_WIDTH / 2.0);
        assert_eq!(editor.selection.nodes.iter().next(), Some(&node.id));
        assert!(editor.placing.is_none());
    }

    #[test]
    fn a_placed_node_never_covers_another() {
        let catalog = Catalog::builtin();
        let g = graph();
        let over_t = Point::new(NODE_WIDTH / 2.0, 30.0);
        let (next, id) = place_node(&g, &catalog, kinds::LOGIC_DELAY, over_t, 1);
        let scene = Scene::build(&next, &catalog);
        let placed = scene.node(id.as_str()).unwrap().rect;
        assert!(!placed.intersects(&scene.node("t").unwrap().rect));
        assert_eq!(placed.x, 0.0);
    }

    #[test]
    fn delete_copy_paste() {
        let mut editor = Editor::default();
        let g = graph().with_edge(Edge::new("e1", "t", "d"));
        editor.select_all(&g);
        editor.copy(&g);
        let mut n = 40;
        let pasted = editor
            .paste(&g, &mut || {
                n += 1;
                n
            })
            .unwrap();
        assert_eq!((pasted.nodes.len(), pasted.edges.len()), (4, 2));
        assert_eq!(editor.selection.nodes.len(), 2);
        let after_delete = editor.delete_selection(&pasted).unwrap();
        assert_eq!(after_delete, g);
        assert!(editor.delete_selection(&after_delete).is_none());
    }

    #[test]
    fn wheel_pans_and_ctrl_wheel_zooms() {
        let mut editor = Editor { screen: (800.0, 600.0), ..Editor::default() };
        editor.wheel(&CanvasWheel { screen: Point::new(100.0, 100.0), delta_y: 40.0, zoom: false });
        assert_eq!(editor.viewport.pan.y, -40.0);
        editor.wheel(&CanvasWheel { screen: Point::new(100.0, 100.0), delta_y: -100.0, zoom: true });
        assert!(editor.viewport.zoom > 1.0);
        editor.zoom_centre(0.5);
        assert!(editor.viewport.zoom < 1.5);
    }
}
