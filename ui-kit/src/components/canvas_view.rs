//! The canvas renderer: draws a [`Scene`] (nodes, ports, edges) through a [`Viewport`] as SVG, with
//! the overlays of whoever uses it — selection, validation problems, a run's pulses, a diff, a
//! dragged edge and its snap target, a rubber band, co-editors' cursors and selections — and
//! reports pointer and wheel input as [`CanvasPointer`]/[`CanvasWheel`] with what was hit. It keeps
//! no editing state: the studio edits with it and the dashboard only watches runs through it.

use std::collections::BTreeMap;

use aos_schema::NodeId;
use aos_schema::validate::PortDirection;
use dioxus::prelude::*;

use super::run_state::{RunOverlay, format_duration};
use crate::canvas::{DiffView, Hit, Minimap, Point, PortRef, Rect, Scene, Selection, Viewport, edge_path, hit_test};

/// A port dot's hit radius on the screen, in pixels.
pub const PORT_HIT_PX: f64 = 10.0;
/// How near an edge a click counts as on it, in pixels.
pub const EDGE_HIT_PX: f64 = 6.0;

/// Which part of a pointer gesture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointerPhase {
    Down,
    Move,
    Up,
    /// The pointer left the canvas (treat a drag in progress as ended).
    Leave,
}

/// Pointer input on the canvas, already mapped to the world and hit tested.
#[derive(Debug, Clone, PartialEq)]
pub struct CanvasPointer {
    pub phase: PointerPhase,
    /// Relative to the canvas's top-left corner, in pixels.
    pub screen: Point,
    pub world: Point,
    pub hit: Hit,
    pub shift: bool,
    /// Whether the middle button or space-drag asks to pan (the secondary buttons).
    pub secondary: bool,
}

/// A wheel turn over the canvas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CanvasWheel {
    pub screen: Point,
    /// Pixels scrolled down (negative: up).
    pub delta_y: f64,
    /// Ctrl or meta held (pinch-zoom on trackpads arrives as ctrl+wheel).
    pub zoom: bool,
}

/// A co-editor's cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteCursor {
    pub name: String,
    pub colour: String,
    /// Where it points, in world units.
    pub at: Point,
}

/// The canvas's props.
#[derive(Props, Clone, PartialEq, Debug)]
pub struct CanvasViewProps {
    pub scene: Scene,
    pub viewport: Viewport,
    #[props(default)]
    pub selection: Selection,
    #[props(default)]
    pub run: RunOverlay,
    /// Validation problems by node, shown as a badge with the messages.
    #[props(default)]
    pub problems: BTreeMap<NodeId, Vec<String>>,
    /// When set, nodes and edges carry their diff classes.
    #[props(default)]
    pub diff: Option<DiffView>,
    /// An edge being dragged: from its fixed port to the pointer (world units).
    #[props(default)]
    pub ghost_edge: Option<(Point, Point)>,
    /// The port the dragged edge would snap to.
    #[props(default)]
    pub snap: Option<PortRef>,
    /// A rubber band in progress (world units).
    #[props(default)]
    pub band: Option<Rect>,
    #[props(default)]
    pub cursors: Vec<RemoteCursor>,
    /// Nodes selected by co-editors, with the colour of the first of them.
    #[props(default)]
    pub remote_selected: BTreeMap<NodeId, String>,
    #[props(default)]
    pub on_pointer: EventHandler<CanvasPointer>,
    #[props(default)]
    pub on_wheel: EventHandler<CanvasWheel>,
    /// The canvas's size in pixels whenever it changes.
    #[props(default)]
    pub on_resize: EventHandler<(f64, f64)>,
    /// The `data-testid` of the canvas element.
    #[props(default = "canvas".to_owned())]
    pub testid: String,
    /// Whether the wheel belongs to the canvas (zoom and pan); a read-only view lets it scroll
    /// the page instead.
    #[props(default = true)]
    pub captures_wheel: bool,
    /// Set by an editing canvas: nodes join the tab order, and Enter or Space on a focused node
    /// picks it (the keyboard's click). A read-only view leaves its nodes out of the tab order.
    #[props(default)]
    pub on_node_key: Option<EventHandler<NodeId>>,
}

/// The canvas.
#[component]
pub fn CanvasView(props: CanvasViewProps) -> Element {
    let viewport = props.viewport;
    let world_transform = format!("translate({} {}) scale({})", viewport.pan.x, viewport.pan.y, viewport.zoom);
    let report = {
        let scene = props.scene.clone();
        let on_pointer = props.on_pointer;
        move |phase: PointerPhase, evt: PointerEvent| {
            let screen = pointer_point(&evt);
            let world = viewport.to_world(screen);
            let hit = hit_test(&scene, world, viewport.world_len(PORT_HIT_PX), viewport.world_len(EDGE_HIT_PX));
            let secondary =
                evt.trigger_button().is_some_and(|b| !matches!(b, dioxus::html::input_data::MouseButton::Primary));
            on_pointer.call(CanvasPointer { phase, screen, world, hit, shift: evt.modifiers().shift(), secondary });
        }
    };
    let (down, moved, up, left) = (report.clone(), report.clone(), report.clone(), report);
    let on_wheel = props.on_wheel;
    let on_resize = props.on_resize;
    let captures_wheel = props.captures_wheel;

    let diff_node = |id: &NodeId| props.diff.as_ref().and_then(|d| d.nodes.get(id)).map_or("", |s| s.class());
    let diff_edge =
        |id: &aos_schema::EdgeId| props.diff.as_ref().and_then(|d| d.edges.get(id)).map_or("", |s| s.class());

    rsx! {
        div {
            class: "canvas",
            "data-testid": "{props.testid}",
            "data-canvas-root": "true",
            onpointerdown: move |evt| down(PointerPhase::Down, evt),
            onpointermove: move |evt| moved(PointerPhase::Move, evt),
            onpointerup: move |evt| up(PointerPhase::Up, evt),
            onpointerleave: move |evt| left(PointerPhase::Leave, evt),
            onwheel: move |evt: WheelEvent| {
                if !captures_wheel {
                    return;
                }
                evt.prevent_default();
                let delta = evt.delta().strip_units();
                let screen = wheel_point(&evt);
                let zoom = evt.modifiers().ctrl() || evt.modifiers().meta();
                on_wheel.call(CanvasWheel { screen, delta_y: delta.y, zoom });
            },
            onresize: move |evt: ResizeEvent| {
                if let Ok(size) = evt.get_content_box_size() {
                    on_resize.call((size.width, size.height));
                }
            },
            svg { class: "canvas__svg", width: "100%", height: "100%",
                defs {
                    pattern { id: "canvas-dots", width: "24", height: "24", pattern_units: "userSpaceOnUse",
                        circle { cx: "1", cy: "1", r: "1", class: "canvas__dot" }
                    }
                }
                rect { class: "canvas__grid", width: "100%", height: "100%", fill: "url(#canvas-dots)" }
                g { class: "canvas__world", transform: "{world_transform}",
                    for edge in props.scene.edges.iter() {
                        path {
                            key: "{edge.id}",
                            class: "edge {props.run.edge_class(&edge.id)} {diff_edge(&edge.id)} {selected_class(props.selection.edges.contains(&edge.id))}",
                            "data-testid": "edge-{edge.id}",
                            "data-from": "{edge.from_node}",
                            "data-to": "{edge.to_node}",
                            d: "{edge.path()}",
                        }
                    }
                    if let Some((from, to)) = props.ghost_edge {
                        path { class: "edge edge--ghost", "data-testid": "ghost-edge", d: "{edge_path(from, to)}" }
                    }
                    for node in props.scene.nodes.iter() {
                        {
                            let run = props.run.nodes.get(&node.id);
                            let problems = props.problems.get(&node.id);
                            let remote = props.remote_selected.get(&node.id);
                            let classes = [
                                "node",
                                if node.trigger { "node--trigger" } else { "" },
                                run.map_or("", |r| r.state.class()),
                                selected_class(props.selection.nodes.contains(&node.id)),
                                if problems.is_some() { "node--invalid" } else { "" },
                                if remote.is_some() { "node--remote" } else { "" },
                                diff_node(&node.id),
                            ]
                            .iter()
                            .filter(|c| !c.is_empty())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(" ");
                            let style = remote.map(|c| format!("--presence: {c}")).unwrap_or_default();
                            let state = run.map_or("idle", |r| match r.state {
                                super::NodeRunState::Queued => "queued",
                                super::NodeRunState::Running => "running",
                                super::NodeRunState::Succeeded => "succeeded",
                                super::NodeRunState::Failed => "failed",
                                super::NodeRunState::Skipped => "skipped",
                            });
                            let duration = run.and_then(|r| r.duration_ms).map(format_duration);
                            // an unfinished state says itself in words, not by colour alone
                            let state_word = match run.map(|r| r.state) {
                                Some(super::NodeRunState::Queued) => Some("waiting"),
                                Some(super::NodeRunState::Running) => Some("running…"),
                                Some(super::NodeRunState::Skipped) => Some("skipped"),
                                _ => None,
                            };
                            let (w, h) = (node.rect.width, node.rect.height);
                            let problem_text = problems.map(|p| p.join("\n"));
                            let pick = props.on_node_key.map(|on_key| {
                                let id = node.id.clone();
                                move |evt: KeyboardEvent| {
                                    if matches!(evt.key(), Key::Enter) || evt.key().to_string() == " " {
                                        evt.prevent_default();
                                        on_key.call(id.clone());
                                    }
                                }
                            });
                            // named by its visible text (kind, label, ports, state), as a button is
                            let focusable = pick.is_some();
                            rsx! {
                                g {
                                    key: "{node.id}",
                                    class: "{classes}",
                                    tabindex: if focusable { "0" },
                                    role: if focusable { "button" },
                                    "aria-pressed": if focusable { if props.selection.nodes.contains(&node.id) { "true" } else { "false" } },
                                    onkeydown: move |evt: KeyboardEvent| if let Some(pick) = &pick { pick(evt) },
                                    style: "{style}",
                                    "data-testid": "node-{node.id}",
                                    "data-kind": "{node.kind}",
                                    "data-state": "{state}",
                                    transform: "translate({node.rect.x} {node.rect.y})",
                                    rect { class: "node__body", width: "{w}", height: "{h}", rx: "14" }
                                    rect { class: "node__header", width: "{w}", height: "40", rx: "14" }
                                    text { class: "node__title", x: "16", y: "17", "{node.title}" }
                                    text { class: "node__label", x: "16", y: "34", "{node.label}" }
                                    if let Some(word) = state_word {
                                        text { class: "node__state", "data-testid": "state-{node.id}", x: "{w - 12.0}", y: "17", text_anchor: "end", "{word}" }
                                    } else if let Some(duration) = duration {
                                        text { class: "node__duration", "data-testid": "duration-{node.id}", x: "{w - 12.0}", y: "17", text_anchor: "end", "{duration}" }
                                    }
                                    if let Some(text) = problem_text {
                                        g { class: "node__problem", "data-testid": "problem-{node.id}",
                                            title { "{text}" }
                                            circle { cx: "{w - 4.0}", cy: "-4", r: "9" }
                                            text { x: "{w - 4.0}", y: "0", text_anchor: "middle", "!" }
                                        }
                                    }
                                    for port in node.inputs.iter().chain(node.outputs.iter()) {
                                        {
                                            let input = port.direction == PortDirection::Input;
                                            let side = if input { "in" } else { "out" };
                                            let (cx, cy) = (port.center.x - node.rect.x, port.center.y - node.rect.y);
                                            let snapped = props.snap.as_ref().is_some_and(|s| s.node == node.id && s.port == port.name && s.direction == port.direction);
                                            let label_x = if input { cx + 12.0 } else { cx - 12.0 };
                                            let anchor = if input { "start" } else { "end" };
                                            rsx! {
                                                g { key: "{side}-{port.name}", class: "port port--{side} port--{port.port_type} {snap_class(snapped)}",
                                                    "data-testid": "port-{node.id}-{side}-{port.name}",
                                                    circle { cx: "{cx}", cy: "{cy}", r: "6" }
                                                    text { class: "port__label", x: "{label_x}", y: "{cy + 4.0}", text_anchor: "{anchor}", "{port.label}" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    if let Some(band) = props.band {
                        rect { class: "canvas__band", "data-testid": "rubber-band", x: "{band.x}", y: "{band.y}", width: "{band.width}", height: "{band.height}" }
                    }
                }
                for cursor in props.cursors.iter() {
                    {
                        let at = viewport.to_screen(cursor.at);
                        rsx! {
                            g { key: "{cursor.name}", class: "cursor", "data-testid": "cursor", "data-name": "{cursor.name}",
                                transform: "translate({at.x} {at.y})", style: "--presence: {cursor.colour}",
                                path { class: "cursor__arrow", d: "M 0 0 L 0 16 L 4.5 12 L 8 19 L 10.5 18 L 7 11 L 12 11 Z" }
                                text { class: "cursor__name", x: "14", y: "24", "{cursor.name}" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn selected_class(on: bool) -> &'static str {
    if on { "is-selected" } else { "" }
}

fn snap_class(on: bool) -> &'static str {
    if on { "port--snap" } else { "" }
}

/// The minimap's props.
#[derive(Props, Clone, PartialEq, Debug)]
pub struct MinimapViewProps {
    pub scene: Scene,
    pub viewport: Viewport,
    /// The canvas's size in pixels.
    pub screen: (f64, f64),
    #[props(default = 200.0)]
    pub width: f64,
    #[props(default = 140.0)]
    pub height: f64,
    /// A click: the world point to centre on.
    #[props(default)]
    pub on_jump: EventHandler<Point>,
}

/// The minimap: every node as a small box and the visible area as a frame; a click recentres.
#[component]
pub fn MinimapView(props: MinimapViewProps) -> Element {
    let visible = props.viewport.visible_world(props.screen.0, props.screen.1);
    let map = Minimap::new(&props.scene, visible, props.width, props.height, 40.0);
    let frame = map.rect_to_minimap(visible);
    let on_jump = props.on_jump;
    rsx! {
        svg {
            class: "minimap",
            "data-testid": "minimap",
            width: "{props.width}",
            height: "{props.height}",
            onpointerdown: move |evt: PointerEvent| {
                let p = pointer_point(&evt);
                on_jump.call(map.to_world(p));
            },
            for node in props.scene.nodes.iter() {
                {
                    let r = map.rect_to_minimap(node.rect);
                    rsx! { rect { key: "{node.id}", class: "minimap__node", x: "{r.x}", y: "{r.y}", width: "{r.width}", height: "{r.height}", rx: "2" } }
                }
            }
            rect { class: "minimap__frame", "data-testid": "minimap-frame", x: "{frame.x}", y: "{frame.y}", width: "{frame.width}", height: "{frame.height}" }
        }
    }
}

/// The pointer's position relative to the element it is handled on. In the browser this reads
/// the raw event against the bounding box of the nearest `[data-canvas-root]` (or `svg`) ancestor
/// of the target, because offsets of SVG children are not relative to the canvas.
fn pointer_point(evt: &PointerEvent) -> Point {
    #[cfg(target_arch = "wasm32")]
    if let Some(raw) = evt.data().downcast::<web_sys::PointerEvent>()
        && let Some(p) = relative_to_root(raw.as_ref(), raw.client_x() as f64, raw.client_y() as f64)
    {
        return p;
    }
    let c = evt.element_coordinates();
    Point::new(c.x, c.y)
}

fn wheel_point(evt: &WheelEvent) -> Point {
    #[cfg(target_arch = "wasm32")]
    if let Some(raw) = evt.data().downcast::<web_sys::WheelEvent>()
        && let Some(p) = relative_to_root(raw.as_ref(), raw.client_x() as f64, raw.client_y() as f64)
    {
        return p;
    }
    let c = evt.element_coordinates();
    Point::new(c.x, c.y)
}

#[cfg(target_arch = "wasm32")]
fn relative_to_root(event: &web_sys::Event, client_x: f64, client_y: f64) -> Option<Point> {
    use wasm_bindgen::JsCast;
    let target = event.target()?.dyn_into::<web_sys::Element>().ok()?;
    let root = target.closest("[data-canvas-root], svg.minimap").ok().flatten()?;
    let rect = root.get_bounding_client_rect();
    Some(Point::new(client_x - rect.left(), client_y - rect.top()))
}
