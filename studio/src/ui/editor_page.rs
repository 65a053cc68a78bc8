//! One workflow on the canvas: the live doc over `/ws/docs/{id}` (reconnecting with backoff),
//! the palette, the canvas with its gestures, presence (avatars, cursors, selections), undo/redo,
//! auto-layout, the minimap, validation problems on the nodes, the side panel (node form, run,
//! import, share), publishing and running with the run's pulses on the canvas, and export.

use std::collections::BTreeMap;

use aos_schema::doc::DocGraph;
use aos_schema::{Catalog, NodeId, WorkflowGraph};
use aos_ui_kit::brand::presence_colour;
use aos_ui_kit::canvas::{Scene, apply_layout, auto_layout};
use aos_ui_kit::components::{CanvasPointer, CanvasView, CanvasWheel, MinimapView, RemoteCursor};
use dioxus::prelude::*;
use futures_util::StreamExt;

use super::app::Nav;
use super::doc_connection::use_doc_connection;
use super::gallery::initials;
use super::import::{ImportPanel, ImportPreview};
use super::palette::Palette;
use super::side_panel::NodeForm;
use super::webhook::WebhookUrl;
use crate::api;
use crate::editor::{Editor, Effect};
use crate::forms::{expression_candidates, kv_rows, kv_value};
use crate::live::{LiveDoc, Presence, PresenceUser};
use crate::problems::Problems;
use crate::run_view::RunWatch;
use aos_web_client::socket::{self, Backoff};
use aos_web_client::{Socket, SocketEvent, platform};

/// The live connection's state, shown as a pill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Conn {
    Connecting,
    Online,
    Offline,
}

/// What the side panel shows besides the node form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panel {
    Node,
    Run,
    Import,
    Share,
}

/// The signals the handlers share.
#[derive(Clone, Copy)]
pub(super) struct Ctx {
    pub(super) live: Signal<LiveDoc>,
    pub(super) doc: Signal<DocGraph>,
    pub(super) socket: Signal<Option<Socket>>,
    pub(super) editor: Signal<Editor>,
    pub(super) toast: Signal<Option<String>>,
    me: Signal<PresenceUser>,
    last_presence: Signal<i64>,
    publish_problems: Signal<Problems>,
}

impl Ctx {
    /// The editor's keyboard commands (delete, undo/redo, copy/paste, select all, escape);
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
    fn commit(mut self, graph: WorkflowGraph) {
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

    fn undo(mut self) {
        let frames = self.live.write().undo();
        self.send(frames);
        self.refresh();
    }

    fn redo(mut self) {
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

#[component]
pub fn EditorPage(org: String, workflow_id: String, me_name: String) -> Element {
    let nav = use_context::<Nav>();
    let catalog = use_hook(Catalog::builtin);
    let live = use_signal(|| LiveDoc::new(None, clock));
    let doc = use_signal(DocGraph::default);
    let socket = use_signal(|| None::<Socket>);
    let mut editor = use_signal(Editor::default);
    let mut toast = use_signal(|| None::<String>);
    let me = use_signal(|| PresenceUser {
        colour: presence_colour(live.peek().client_id()).to_owned(),
        name: me_name.clone(),
    });
    let last_presence = use_signal(|| 0i64);
    let publish_problems = use_signal(Problems::default);
    let ctx = Ctx { live, doc, socket, editor, toast, me, last_presence, publish_problems };

    let conn = use_signal(|| Conn::Connecting);
    let peers = use_signal(BTreeMap::<u64, Presence>::new);
    let mut meta = use_signal(|| None::<api::Workflow>);
    let mut panel = use_signal(|| Panel::Node);
    let run = use_signal(RunWatch::default);
    let mut preview = use_signal(|| None::<ImportPreview>);
    let mut published = use_signal(|| None::<WorkflowGraph>);
    let mut busy = use_signal(|| false);

    // the workflow's own org (a member of several orgs may open any of their workflows)
    let org_fallback = org.clone();
    let secrets = use_resource(move || {
        let org = meta().map_or_else(|| org_fallback.clone(), |m| m.org_id.to_string());
        async move { api::secret_names(&org).await.unwrap_or_default() }
    });

    use_doc_connection(ctx, workflow_id.clone(), conn, peers, meta);

    let graph = doc.read().graph.clone();
    let synced = live.read().is_synced();
    let preview_now = preview();
    let editing = preview_now.is_none();
    let shown = match &preview_now {
        Some(p) => p.view.graph.clone(),
        None => editor.read().display_graph(&graph),
    };
    let scene = Scene::build(&shown, &catalog);
    let mut problems = Problems::check(&graph, &catalog);
    for (node, list) in publish_problems.read().nodes.iter() {
        let entry = problems.nodes.entry(node.clone()).or_default();
        for p in list {
            if !entry.contains(p) {
                entry.push(p.clone());
            }
        }
    }
    let peer_list = peers();
    let cursors: Vec<RemoteCursor> = peer_list
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
    let mut remote_selected = BTreeMap::new();
    for (id, p) in &peer_list {
        for node in &p.selection {
            remote_selected.entry(NodeId::from(node.as_str())).or_insert_with(|| colour_of(*id, p));
        }
    }
    let ed = editor.read().clone();
    let selected_node = (ed.selection.nodes.len() == 1)
        .then(|| ed.selection.nodes.iter().next().and_then(|id| graph.node(id.as_str())).cloned())
        .flatten();
    let name = meta.read().as_ref().map(|m| m.name.clone()).unwrap_or_default();
    let conn_now = conn();
    let (conn_label, conn_state) = match conn_now {
        Conn::Online if synced => ("live", "online"),
        Conn::Online | Conn::Connecting => ("connecting…", "connecting"),
        Conn::Offline => ("offline — edits kept", "offline"),
    };
    let me_now = me();
    let can_undo = live.read().can_undo();
    let can_redo = live.read().can_redo();

    let on_pointer = {
        let graph = graph.clone();
        let scene = scene.clone();
        let catalog = catalog.clone();
        move |event: CanvasPointer| {
            if !editing {
                return;
            }
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
            if editing && ctx.key(&evt, &graph) {
                evt.prevent_default();
                ctx.presence(true);
            }
        }
    };
    let layout = {
        let graph = graph.clone();
        let catalog = catalog.clone();
        move |_| {
            let mut next = graph.clone();
            apply_layout(&mut next, &auto_layout(&graph, &catalog));
            ctx.commit(next);
            let scene = Scene::build(&ctx.doc.peek().graph, &catalog);
            editor.write().fit(&scene);
        }
    };
    let fit = {
        let scene = scene.clone();
        move |_| editor.write().fit(&scene)
    };
    let id_export = workflow_id.clone();
    let export = move |_| {
        let id = id_export.clone();
        let name = meta.peek().as_ref().map(|m| m.name.clone()).unwrap_or_else(|| "workflow".into());
        spawn(async move {
            match api::export(&id).await {
                Ok(text) => {
                    platform::download(&format!("{}.automateos.json", file_stem(&name)), &text);
                    toast.set(Some("exported".into()));
                }
                Err(err) => {
                    nav.check(&err);
                    toast.set(Some(err.to_string()));
                }
            }
        });
    };
    let id_publish = workflow_id.clone();
    let graph_publish = graph.clone();
    let publish = move |_| {
        let id = id_publish.clone();
        let graph = graph_publish.clone();
        let mut publish_problems = publish_problems;
        busy.set(true);
        spawn(async move {
            let result = api::publish(&id).await;
            busy.set(false);
            match result {
                Ok(version) => {
                    published.set(Some(graph));
                    publish_problems.set(Problems::default());
                    if let Some(m) = meta.write().as_mut() {
                        m.current_version = Some(version.version);
                    }
                    toast.set(Some(format!("published version {}", version.version)));
                }
                Err(err) => {
                    nav.check(&err);
                    publish_problems.set(Problems::place(&err.details_as(), &graph));
                    toast.set(Some(err.to_string()));
                }
            }
        });
    };

    let org = meta.read().as_ref().map_or(org, |m| m.org_id.to_string());
    let screen = ed.screen;
    let placing = ed.placing.is_some();

    rsx! {
        div { class: if placing { "editor is-placing" } else { "editor" }, "data-testid": "editor",
            onpointerup: move |_| { if editor.peek().placing.is_some() { editor.write().placing = None; } },
            div { class: "editor__toolbar aos-surface",
                h1 { class: "editor__name", "data-testid": "workflow-name", "{name}" }
                span { class: "pill pill--{conn_state}", "data-testid": "conn-status", "data-state": "{conn_state}", "{conn_label}" }
                div { class: "avatars", "data-testid": "avatars",
                    div { class: "avatar", title: "{me_now.name} (you)", style: "--presence: {me_now.colour}", "data-testid": "avatar-me", {initials(&me_now.name)} }
                    for (id, p) in peer_list.iter() {
                        div { key: "{id}", class: "avatar", title: "{p.user.name}", style: "--presence: {colour_of(*id, p)}", "data-testid": "avatar", "data-name": "{p.user.name}", {initials(&p.user.name)} }
                    }
                }
                div { class: "editor__tools",
                    button { class: "aos-button", "data-testid": "undo", disabled: !can_undo, onclick: move |_| ctx.undo(), "Undo" }
                    button { class: "aos-button", "data-testid": "redo", disabled: !can_redo, onclick: move |_| ctx.redo(), "Redo" }
                    button { class: "aos-button", "data-testid": "auto-layout", disabled: !editing, onclick: layout, "Tidy up" }
                    button { class: "aos-button", "data-testid": "fit", onclick: fit, "Fit" }
                    button { class: "aos-button", "data-testid": "zoom-out", onclick: move |_| editor.write().zoom_centre(1.0 / 1.2), "−" }
                    button { class: "aos-button", "data-testid": "zoom-in", onclick: move |_| editor.write().zoom_centre(1.2), "+" }
                    button { class: "aos-button", "data-testid": "open-import", onclick: move |_| panel.set(Panel::Import), "Import" }
                    button { class: "aos-button", "data-testid": "export", onclick: export, "Export" }
                    button { class: "aos-button", "data-testid": "open-share", onclick: move |_| panel.set(Panel::Share), "Share" }
                    button { class: "aos-button", "data-testid": "publish", disabled: busy() || !synced, onclick: publish, "Publish" }
                    button { class: "aos-button aos-button--primary", "data-testid": "open-run", onclick: move |_| panel.set(Panel::Run), "Run" }
                }
            }
            div { class: "editor__body",
                Palette { graph: graph.clone(), enabled: synced && editing, editor, on_place: move |next: WorkflowGraph| ctx.commit(next) }
                div { class: "editor__canvas", tabindex: "0", "data-testid": "canvas-area", onkeydown: on_key,
                    CanvasView {
                        scene: scene.clone(),
                        viewport: ed.viewport,
                        selection: ed.selection.clone(),
                        run: run.read().overlay.clone(),
                        problems: problems.nodes.clone(),
                        diff: preview_now.as_ref().map(|p| p.view.clone()),
                        ghost_edge: ed.ghost_edge(),
                        snap: ed.snap(),
                        band: ed.band(),
                        cursors,
                        remote_selected,
                        on_pointer,
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
                        MinimapView { scene: scene.clone(), viewport: ed.viewport, screen,
                            on_jump: move |p| { let e = editor.peek().clone(); editor.write().viewport = e.viewport.centered_on(p, e.screen.0, e.screen.1); } }
                    }
                    if !problems.workflow.is_empty() {
                        div { class: "editor__problems aos-surface", "data-testid": "workflow-problems",
                            for p in problems.workflow.iter() { p { "{p}" } }
                        }
                    }
                    if let Some(message) = toast() {
                        div { class: "toast aos-surface", "data-testid": "toast", onclick: move |_| toast.set(None), "{message}" }
                    }
                }
                aside { class: "sidepanel aos-surface", "data-testid": "sidepanel",
                    match panel() {
                        Panel::Import => rsx! {
                            ImportPanel { org: org.clone(), workflow_id: workflow_id.clone(), current: graph.clone(), preview,
                                on_apply: move |g: WorkflowGraph| ctx.commit(g),
                                on_close: move |_| { preview.set(None); panel.set(Panel::Node); } }
                        },
                        Panel::Share => rsx! { SharePanel { org: org.clone(), workflow_id: workflow_id.clone(), name: name.clone(), on_close: move |_| panel.set(Panel::Node) } },
                        Panel::Run => rsx! {
                            RunPanel { workflow_id: workflow_id.clone(), graph: graph.clone(), run, published, on_close: move |_| panel.set(Panel::Node) }
                        },
                        Panel::Node => match selected_node {
                            Some(node) => rsx! {
                                NodeForm {
                                    key: "{node.id}",
                                    problems: problems.nodes.get(&node.id).cloned().unwrap_or_default(),
                                    candidates: expression_candidates(&graph, &catalog, &node.id, &secrets.read().clone().unwrap_or_default()),
                                    secrets: secrets.read().clone().unwrap_or_default(),
                                    catalog: catalog.clone(),
                                    node: node.clone(),
                                    on_change: {
                                        let graph = graph.clone();
                                        move |changed: aos_schema::Node| {
                                            let mut next = graph.clone();
                                            if let Some(slot) = next.node_mut(changed.id.as_str()) {
                                                *slot = changed;
                                            }
                                            ctx.commit(next);
                                        }
                                    },
                                }
                                if node.kind == aos_schema::kinds::TRIGGER_WEBHOOK {
                                    WebhookUrl { workflow_id: workflow_id.clone(), published }
                                }
                            },
                            None => rsx! {
                                div { class: "sidepanel__hint",
                                    h2 { "Build your flow" }
                                    p { class: "muted", "Drag a step from the left onto the canvas, connect ports by dragging from one dot to another, select a step to configure it." }
                                    p { class: "muted", "Shift-drag or drag on empty space to select several; Delete removes; Ctrl+Z / Ctrl+Shift+Z undo and redo; Ctrl+C / Ctrl+V copy and paste." }
                                }
                            },
                        },
                    }
                }
            }
        }
    }
}

/// The live doc's clock: milliseconds since the Unix epoch.
fn clock() -> u64 {
    u64::try_from(platform::now_ms()).unwrap_or(0)
}

/// The builtin catalog for places that cannot borrow the page's copy.
pub(super) fn catalog_static() -> Catalog {
    Catalog::builtin()
}

fn colour_of(id: u64, presence: &Presence) -> String {
    if presence.user.colour.starts_with('#') && presence.user.colour.len() <= 9 {
        presence.user.colour.clone()
    } else {
        presence_colour(id).to_owned()
    }
}

/// A file name from a workflow name.
fn file_stem(name: &str) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let stem = stem.trim_matches('-').to_owned();
    if stem.is_empty() { "workflow".into() } else { stem }
}

/// Run now: test input (key-value rows, prefilled from the trigger's sample), publish when the
/// draft changed since the last publish, start the run and follow its events on the canvas.
#[component]
fn RunPanel(
    workflow_id: String,
    graph: WorkflowGraph,
    run: Signal<RunWatch>,
    published: Signal<Option<WorkflowGraph>>,
    on_close: EventHandler<()>,
) -> Element {
    let nav = use_context::<Nav>();
    let mut run = run;
    let mut published = published;
    let sample = graph
        .nodes
        .iter()
        .find(|n| n.kind == aos_schema::kinds::TRIGGER_MANUAL)
        .and_then(|n| n.config.get("sample_input").cloned());
    let mut rows = use_signal(|| kv_rows(sample.as_ref()));
    let mut error = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    let start = move |_| {
        let id = workflow_id.clone();
        let graph = graph.clone();
        let input = kv_value(&rows());
        busy.set(true);
        error.set(None);
        spawn(async move {
            if published.peek().as_ref() != Some(&graph) {
                match api::publish(&id).await {
                    Ok(_) => published.set(Some(graph.clone())),
                    Err(err) => {
                        nav.check(&err);
                        busy.set(false);
                        error.set(Some(err.to_string()));
                        return;
                    }
                }
            }
            let started = api::start_run(&id, input).await;
            busy.set(false);
            match started {
                Ok(created) => {
                    run.set(RunWatch::start(&created.run_id.to_string()));
                    follow_run(created.run_id.to_string(), graph, run).await;
                }
                Err(err) => {
                    nav.check(&err);
                    error.set(Some(err.to_string()));
                }
            }
        });
    };
    let watch = run();
    rsx! {
        div { class: "run-panel", "data-testid": "run-panel",
            h2 { "Run now" }
            p { class: "muted", "Test input" }
            div { class: "kv",
                for (i, (name, value)) in rows().into_iter().enumerate() {
                    div { class: "kv__row", key: "{i}",
                        input { class: "kv__name", "data-testid": "run-input-name-{i}", placeholder: "name", value: "{name}",
                            oninput: move |e| { if let Some(r) = rows.write().get_mut(i) { r.0 = e.value(); } } }
                        input { class: "kv__value", "data-testid": "run-input-value-{i}", placeholder: "value", value: "{value}",
                            oninput: move |e| { if let Some(r) = rows.write().get_mut(i) { r.1 = e.value(); } } }
                    }
                }
                button { class: "aos-button kv__add", "data-testid": "run-input-add", onclick: move |_| rows.write().push((String::new(), String::new())), "Add field" }
            }
            button { class: "aos-button aos-button--primary", "data-testid": "run-start", disabled: busy(), onclick: start, "Start run" }
            if let Some(message) = error() {
                p { class: "form-error", "data-testid": "run-error", "{message}" }
            }
            if let Some(status) = watch.status.clone() {
                p { class: "run-panel__status", "data-testid": "run-status", "data-status": "{status}", "Run {status}" }
                ol { class: "run-panel__log",
                    for (i, line) in watch.log.iter().enumerate() { li { key: "{i}", "{line}" } }
                }
            }
            button { class: "aos-button", onclick: move |_| on_close.call(()), "Close" }
        }
    }
}

/// Follows a run's events until it finishes (reconnecting from the last sequence number seen).
async fn follow_run(run_id: String, graph: WorkflowGraph, mut run: Signal<RunWatch>) {
    let mut failures = 0u32;
    let mut backoff = Backoff::default();
    while !run.peek().finished() && failures < 8 {
        let after = run.peek().last_seq;
        // kept until the end of this attempt; dropping it closes the socket
        let Ok((_socket, mut rx)) = Socket::channel(&socket::run_events_path(&run_id, after)) else {
            return;
        };
        while let Some(event) = rx.next().await {
            match event {
                SocketEvent::Text(text) => {
                    failures = 0;
                    backoff.reset();
                    run.write().apply_text(&text, &graph);
                    if run.peek().finished() {
                        break;
                    }
                }
                SocketEvent::Closed { .. } => break,
                _ => {}
            }
        }
        if !run.peek().finished() {
            failures += 1;
            backoff.wait().await;
        }
    }
}

/// Publish the workflow as a gallery template.
#[component]
fn SharePanel(org: String, workflow_id: String, name: String, on_close: EventHandler<()>) -> Element {
    let nav = use_context::<Nav>();
    let mut title = use_signal(|| name.clone());
    let mut slug = use_signal(|| file_stem(&name));
    let mut category = use_signal(|| aos_schema::GALLERY_CATEGORIES[0].to_owned());
    let mut description = use_signal(String::new);
    let mut message = use_signal(|| None::<String>);
    let share = move |_| {
        let (org, id) = (org.clone(), workflow_id.clone());
        spawn(async move {
            match api::publish_template(&org, &id, &slug(), &title(), &category(), &description()).await {
                Ok(t) => message.set(Some(format!("published to the gallery as {}", t.slug))),
                Err(err) => {
                    nav.check(&err);
                    message.set(Some(err.to_string()));
                }
            }
        });
    };
    rsx! {
        div { class: "share-panel", "data-testid": "share-panel",
            h2 { "Publish as a template" }
            label { class: "field", span { class: "field__label", "Name" }
                input { "data-testid": "share-name", value: "{title}", oninput: move |e| title.set(e.value()) } }
            label { class: "field", span { class: "field__label", "Address" }
                input { "data-testid": "share-slug", value: "{slug}", oninput: move |e| slug.set(e.value()) } }
            label { class: "field", span { class: "field__label", "Category" }
                select { "data-testid": "share-category", onchange: move |e| category.set(e.value()),
                    for c in aos_schema::GALLERY_CATEGORIES.iter() {
                        option { key: "{c}", value: "{c}", selected: category() == *c, "{c}" }
                    }
                }
            }
            label { class: "field", span { class: "field__label", "Description" }
                textarea { "data-testid": "share-description", value: "{description}", oninput: move |e| description.set(e.value()) } }
            button { class: "aos-button aos-button--primary", "data-testid": "share-publish", onclick: share, "Publish template" }
            if let Some(text) = message() {
                p { class: "muted", "data-testid": "share-result", "{text}" }
            }
            button { class: "aos-button", onclick: move |_| on_close.call(()), "Close" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("Slack → Sheets!"), "slack---sheets");
        assert_eq!(file_stem("   "), "workflow");
    }
}
