//! One workflow on the canvas: the live doc over `/ws/docs/{id}` (reconnecting with backoff),
//! the palette, the canvas with its gestures, presence (avatars, cursors, selections), undo/redo,
//! auto-layout, the minimap, validation problems on the nodes, the side panel (node form, run,
//! history, import, share; an import's or two versions' diff drawn on the canvas), publishing and
//! running with the workflow's latest run (whoever started it)
//! pulsing on the canvas and its step data in the side panel, and export.

use std::collections::BTreeMap;

use aos_schema::doc::DocGraph;
use aos_schema::{Catalog, NodeId, WorkflowGraph};
use aos_ui_kit::brand::presence_colour;
use aos_ui_kit::canvas::Scene;
use aos_ui_kit::components::{CanvasPointer, CanvasView, CanvasWheel, MinimapView, RemoteCursor};
use dioxus::prelude::*;

use super::doc_connection::use_doc_connection;
use super::editor_panels::SidePanel;
use super::editor_toolbar::Toolbar;
use super::history::{Comparison, Reverted};
use super::import::ImportPreview;
use super::palette::Palette;
use super::run_follow::use_run_follower;
use super::step_data::use_step_rows;
use crate::api::{self, MyOrg};
use crate::editor::{Editor, Effect, NUDGE};
use crate::live::{LiveDoc, Presence, PresenceUser};
use crate::problems::Problems;
use crate::run_view::RunWatch;
use aos_web_client::{Socket, platform};

/// The live connection's state, shown as a pill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Conn {
    Connecting,
    Online,
    Offline,
}

/// What the side panel shows besides the node form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Panel {
    Node,
    Run,
    History,
    Import,
    Share,
}

/// The signals the handlers share.
#[derive(Clone, Copy, PartialEq)]
pub(super) struct Ctx {
    pub(super) live: Signal<LiveDoc>,
    pub(super) doc: Signal<DocGraph>,
    pub(super) socket: Signal<Option<Socket>>,
    pub(super) editor: Signal<Editor>,
    pub(super) toast: Signal<Option<String>>,
    pub(super) me: Signal<PresenceUser>,
    last_presence: Signal<i64>,
    pub(super) publish_problems: Signal<Problems>,
}

impl Ctx {
    /// The editor's keyboard commands (delete, undo/redo, copy/paste, select all, escape, arrows
    /// moving the selected nodes);
    /// whether the key was one of them.
    fn key(self, evt: &KeyboardEvent, graph: &WorkflowGraph) -> bool {
        let mut editor = self.editor;
        let key = evt.key().to_string();
        let command = evt.modifiers().ctrl() || evt.modifiers().meta();
        let shift = evt.modifiers().shift();
        match (command, key.to_lowercase().as_str()) {
            (false, "delete" | "backspace") => {
                // the editor's guard must be gone before the commit re-reads it
                let next = editor.write().delete_selection(graph);
                if let Some(next) = next {
                    self.commit(next);
                }
            }
            (true, "z") if shift => self.redo(),
            (true, "z") => self.undo(),
            (true, "y") => self.redo(),
            (true, "c") => editor.write().copy(graph),
            (true, "v") => {
                let next = editor.write().paste(graph, &mut platform::random_u64);
                if let Some(next) = next {
                    self.commit(next);
                }
            }
            (true, "a") => editor.write().select_all(graph),
            (false, arrow @ ("arrowleft" | "arrowright" | "arrowup" | "arrowdown")) => {
                let step = if shift { 4.0 * NUDGE } else { NUDGE };
                let (dx, dy) = match arrow {
                    "arrowleft" => (-step, 0.0),
                    "arrowright" => (step, 0.0),
                    "arrowup" => (0.0, -step),
                    _ => (0.0, step),
                };
                // without a selected node the arrows keep their usual meaning
                let Some(next) = editor.write().nudge(graph, dx, dy) else { return false };
                self.commit(next);
            }
            (false, "escape") => {
                let mut e = editor.write();
                e.selection = Default::default();
                e.gesture = Default::default();
                e.placing = None;
            }
            _ => return false,
        }
        true
    }

    pub(super) fn send(&self, frames: Vec<Vec<u8>>) {
        if let Some(socket) = &*self.socket.peek() {
            for frame in frames {
                socket.send(&frame);
            }
        }
    }

    /// Reads the doc's graph again after a change.
    pub(super) fn refresh(mut self) {
        let graph = self.live.peek().graph();
        self.editor.write().selection.retain_existing(&graph.graph);
        self.doc.set(graph);
    }

    /// Writes `graph` into the live doc as one change.
    pub(super) fn commit(mut self, graph: WorkflowGraph) {
        let result = self.live.write().edit(&graph);
        match result {
            Ok(frames) => {
                self.send(frames);
                self.publish_problems.set(Problems::default());
                self.refresh();
            }
            Err(err) => self.toast.set(Some(err.to_string())),
        }
    }

    pub(super) fn undo(mut self) {
        let frames = self.live.write().undo();
        self.send(frames);
        self.refresh();
    }

    pub(super) fn redo(mut self) {
        let frames = self.live.write().redo();
        self.send(frames);
        self.refresh();
    }

    /// Shares the pointer and selection (at most every 40 ms unless `force`).
    pub(super) fn presence(mut self, force: bool) {
        let now = platform::now_ms();
        if !force && now.saturating_sub(*self.last_presence.peek()) < 40 {
            return;
        }
        self.last_presence.set(now);
        let editor = self.editor.peek();
        let presence = Presence {
            user: self.me.peek().clone(),
            cursor: editor.pointer.map(|p| (p.x.round(), p.y.round())),
            selection: editor.selection.nodes.iter().map(|n| n.to_string()).collect(),
        };
        drop(editor);
        let frame = self.live.write().set_presence(&presence);
        self.send(frame.into_iter().collect());
    }
}

/// The editor of `workflow_id`; `roles` are the signed-in user's orgs and roles (a viewer of the
/// workflow's org reads the canvas, its steps' data and its history, and changes nothing).
#[component]
pub fn EditorPage(org: String, workflow_id: String, me_name: String, roles: Vec<MyOrg>) -> Element {
    let catalog = use_hook(Catalog::builtin);
    let live = use_signal(|| LiveDoc::new(None, clock));
    let doc = use_signal(DocGraph::default);
    let mut editor = use_signal(Editor::default);
    let me = use_signal(|| PresenceUser {
        colour: presence_colour(live.peek().client_id()).to_owned(),
        name: me_name.clone(),
    });
    let ctx = Ctx {
        live,
        doc,
        socket: use_signal(|| None::<Socket>),
        editor,
        toast: use_signal(|| None::<String>),
        me,
        last_presence: use_signal(|| 0i64),
        publish_problems: use_signal(Problems::default),
    };
    let mut toast = ctx.toast;
    let conn = use_signal(|| Conn::Connecting);
    let peers = use_signal(BTreeMap::<u64, Presence>::new);
    let meta = use_signal(|| None::<api::Workflow>);
    let panel = use_signal(|| Panel::Node);
    let run = use_signal(RunWatch::default);
    let step_rows = use_step_rows(run, editor);
    let preview = use_signal(|| None::<ImportPreview>);
    let comparison = use_signal(Comparison::default);
    let published = use_signal(|| None::<WorkflowGraph>);

    // the workflow's own org (a member of several orgs may open any of their workflows)
    let org_fallback = org.clone();
    let secrets = use_resource(move || {
        let org = meta().map_or_else(|| org_fallback.clone(), |m| m.org_id.to_string());
        async move { api::secret_names(&org).await.unwrap_or_default() }
    });

    use_doc_connection(ctx, workflow_id.clone(), conn, peers, meta);
    use_run_follower(workflow_id.clone(), run, live, doc);
    // a diff coming into view (an import's preview, two versions compared) is fitted to the
    // canvas, so steps it adds beyond the edge are seen
    use_effect(move || {
        let compared = (panel() == Panel::History).then(|| comparison.read().view.clone()).flatten();
        if let Some(view) = preview().map(|p| p.view).or(compared) {
            editor.write().fit(&Scene::build(&view.graph, &catalog_static()));
        }
    });

    // validation (every expression parsed) runs when the doc changes, not at each render of a drag
    let checked = use_memo(move || Problems::check(&doc.read().graph, &catalog_static()));

    let graph = doc.read().graph.clone();
    let synced = live.read().is_synced();
    // the canvas draws an import's preview, or the versions the open history panel compares
    let compared = (panel() == Panel::History).then(|| comparison.read().view.clone()).flatten();
    let diff = preview().map(|p| p.view).or(compared);
    let editing = diff.is_none();
    // a viewer reads the canvas, selects steps and sees their data, and changes nothing
    let can_edit = meta.read().as_ref().is_some_and(|m| {
        roles.iter().any(|mine| mine.org_id == m.org_id && mine.role.at_least(aos_schema::Role::Editor))
    });
    let shown = match &diff {
        Some(view) => view.graph.clone(),
        None => editor.read().display_graph(&graph),
    };
    let scene = Scene::build(&shown, &catalog);
    let problems = checked.read().clone().with_nodes_of(&ctx.publish_problems.read());
    let (cursors, remote_selected) = remote_marks(&peers.read());
    let ed = editor.read().clone();
    let selected = (ed.selection.nodes.len() == 1)
        .then(|| ed.selection.nodes.iter().next().and_then(|id| graph.node(id.as_str())).cloned())
        .flatten();

    let on_pointer = {
        let (graph, scene, catalog) = (graph.clone(), scene.clone(), catalog.clone());
        move |event: CanvasPointer| {
            if !editing {
                return;
            }
            editor.write().read_only = !can_edit;
            let effect = editor.write().pointer(&event, &graph, &scene, &catalog, &mut platform::random_u64);
            match effect {
                Effect::Commit(next) => ctx.commit(next),
                Effect::Refused(reason) => toast.set(Some(reason)),
                Effect::None => {}
            }
            ctx.presence(event.phase != aos_ui_kit::components::PointerPhase::Move);
        }
    };
    let on_key = {
        let graph = graph.clone();
        move |evt: KeyboardEvent| {
            if editing && can_edit && ctx.key(&evt, &graph) {
                evt.prevent_default();
                ctx.presence(true);
            }
        }
    };
    let on_reverted = move |reverted: Reverted| {
        let (mut meta, mut published) = (meta, published);
        if let Some(m) = meta.write().as_mut() {
            m.current_version = Some(reverted.version);
        }
        published.set(reverted.graph);
        toast.set(Some(format!("reverted to version {}", reverted.version)));
    };
    let org = meta.read().as_ref().map_or(org, |m| m.org_id.to_string());
    let name = meta.read().as_ref().map(|m| m.name.clone()).unwrap_or_default();

    rsx! {
        div { class: if ed.placing.is_some() { "editor is-placing" } else { "editor" }, "data-testid": "editor",
            onpointerup: move |_| { if editor.peek().placing.is_some() { editor.write().placing = None; } },
            Toolbar { ctx, workflow_id: workflow_id.clone(), graph: graph.clone(), scene: scene.clone(), catalog: catalog.clone(),
                meta, peers, conn, panel, published, editing, can_edit }
            div { class: "editor__body",
                Palette { graph: graph.clone(), enabled: synced && editing && can_edit, editor, on_place: move |next: WorkflowGraph| ctx.commit(next) }
                div { class: "editor__canvas", tabindex: "0", "data-testid": "canvas-area", onkeydown: on_key,
                    CanvasView {
                        scene: scene.clone(),
                        viewport: ed.viewport,
                        selection: ed.selection.clone(),
                        run: run.read().overlay.clone(),
                        problems: problems.nodes.clone(),
                        diff,
                        ghost_edge: ed.ghost_edge(),
                        snap: ed.snap(),
                        band: ed.band(),
                        cursors,
                        remote_selected,
                        on_pointer,
                        on_node_key: move |id: NodeId| editor.write().select_node(id),
                        on_wheel: move |w: CanvasWheel| editor.write().wheel(&w),
                        on_resize: move |size: (f64, f64)| {
                            let first = editor.peek().screen.0 == 0.0;
                            editor.write().screen = size;
                            if first {
                                let scene = Scene::build(&ctx.doc.peek().graph, &catalog_static());
                                editor.write().fit(&scene);
                            }
                        },
                    }
                    div { class: "editor__minimap",
                        MinimapView { scene: scene.clone(), viewport: ed.viewport, screen: ed.screen,
                            on_jump: move |p| { let e = editor.peek().clone(); editor.write().viewport = e.viewport.centered_on(p, e.screen.0, e.screen.1); } }
                    }
                    if !problems.workflow.is_empty() {
                        div { class: "editor__problems aos-surface", "data-testid": "workflow-problems",
                            for p in problems.workflow.iter() { p { "{p}" } }
                        }
                    }
                    if let Some(message) = toast() {
                        Toast { key: "{message}", message, on_close: move |_| toast.set(None) }
                    }
                }
                SidePanel { ctx, org, workflow_id, name, graph, catalog, selected, problems,
                    secrets: secrets.read().clone().unwrap_or_default(), panel, preview, comparison, can_edit, on_reverted,
                    run, step_rows, published }
            }
        }
    }
}

/// How long a toast stays unless clicked away.
const TOAST_MS: u32 = 5_000;

/// A passing message (published, exported, a refused edit): it leaves after [`TOAST_MS`] or at
/// a click. Keyed by its text, so a new message starts its own countdown.
#[component]
fn Toast(message: String, on_close: EventHandler<()>) -> Element {
    use_future(move || async move {
        platform::sleep_ms(TOAST_MS).await;
        on_close.call(());
    });
    rsx! {
        div { class: "toast aos-surface", role: "status", "data-testid": "toast", onclick: move |_| on_close.call(()), "{message}" }
    }
}

/// Where the other people in the doc are: their cursors, and the nodes they selected in their
/// colour (the first one's, when several selected the same node).
fn remote_marks(peers: &BTreeMap<u64, Presence>) -> (Vec<RemoteCursor>, BTreeMap<NodeId, String>) {
    let cursors = peers
        .iter()
        .filter_map(|(id, p)| {
            let (x, y) = p.cursor?;
            Some(RemoteCursor {
                name: p.user.name.clone(),
                colour: colour_of(*id, p),
                at: aos_ui_kit::canvas::Point::new(x, y),
            })
        })
        .collect();
    let mut selected = BTreeMap::new();
    for (id, p) in peers {
        for node in &p.selection {
            selected.entry(NodeId::from(node.as_str())).or_insert_with(|| colour_of(*id, p));
        }
    }
    (cursors, selected)
}

/// The live doc's clock: milliseconds since the Unix epoch.
fn clock() -> u64 {
    u64::try_from(platform::now_ms()).unwrap_or(0)
}

/// The builtin catalog for places that cannot borrow the page's copy.
pub(super) fn catalog_static() -> Catalog {
    Catalog::builtin()
}

pub(super) fn colour_of(id: u64, presence: &Presence) -> String {
    if presence.user.colour.starts_with('#') && presence.user.colour.len() <= 9 {
        presence.user.colour.clone()
    } else {
        presence_colour(id).to_owned()
    }
}
