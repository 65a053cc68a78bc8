//! The editor's toolbar: the workflow's name, the live connection's pill, who is here, and the
//! commands (undo/redo, tidy up, fit and zoom, history, import, export, share, publish, run).

use std::collections::BTreeMap;

use aos_schema::{Catalog, WorkflowGraph};
use aos_ui_kit::canvas::{Scene, apply_layout, auto_layout};
use dioxus::prelude::*;

use super::app::Nav;
use super::editor_page::{Conn, Ctx, Panel, colour_of};
use super::editor_panels::file_stem;
use super::gallery::initials;
use crate::api;
use crate::live::Presence;
use crate::problems::Problems;
use aos_web_client::platform;

#[component]
pub(super) fn Toolbar(
    ctx: Ctx,
    workflow_id: String,
    graph: WorkflowGraph,
    scene: Scene,
    catalog: Catalog,
    meta: Signal<Option<api::Workflow>>,
    peers: Signal<BTreeMap<u64, Presence>>,
    conn: Signal<Conn>,
    panel: Signal<Panel>,
    published: Signal<Option<WorkflowGraph>>,
    editing: bool,
    /// An editor of the workflow's org; a viewer gets the reading tools only.
    can_edit: bool,
) -> Element {
    let nav = use_context::<Nav>();
    let (mut editor, mut toast, mut panel) = (ctx.editor, ctx.toast, panel);
    let mut busy = use_signal(|| false);
    let synced = ctx.live.read().is_synced();
    let (conn_label, conn_state) = match conn() {
        Conn::Online if synced => ("live", "online"),
        Conn::Online | Conn::Connecting => ("connecting…", "connecting"),
        Conn::Offline => ("offline — edits kept", "offline"),
    };
    let (can_undo, can_redo) = (ctx.live.read().can_undo(), ctx.live.read().can_redo());
    let name = meta.read().as_ref().map(|m| m.name.clone()).unwrap_or_default();
    let me = ctx.me.read().clone();
    let peer_list = peers();

    let layout = {
        let graph = graph.clone();
        move |_| {
            let mut next = graph.clone();
            apply_layout(&mut next, &auto_layout(&graph, &catalog));
            ctx.commit(next);
            let scene = Scene::build(&ctx.doc.peek().graph, &catalog);
            editor.write().fit(&scene);
        }
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
    let publish = move |_| {
        let (id, graph) = (workflow_id.clone(), graph.clone());
        let (mut meta, mut published, mut publish_problems) = (meta, published, ctx.publish_problems);
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

    rsx! {
        div { class: "editor__toolbar aos-surface",
            h1 { class: "editor__name", "data-testid": "workflow-name", "{name}" }
            span { class: "pill pill--{conn_state}", "data-testid": "conn-status", "data-state": "{conn_state}", "{conn_label}" }
            div { class: "avatars", "data-testid": "avatars",
                div { class: "avatar", title: "{me.name} (you)", style: "--presence: {me.colour}", "data-testid": "avatar-me", {initials(&me.name)} }
                for (id, p) in peer_list.iter() {
                    div { key: "{id}", class: "avatar", title: "{p.user.name}", style: "--presence: {colour_of(*id, p)}", "data-testid": "avatar", "data-name": "{p.user.name}", {initials(&p.user.name)} }
                }
            }
            if !can_edit && meta.read().is_some() {
                span { class: "pill", "data-testid": "view-only", title: "Your role in this org is viewer: ask an owner or admin for the editor role to change it",
                    "view only" }
            }
            div { class: "editor__tools",
                if can_edit {
                    button { class: "aos-button", "data-testid": "undo", disabled: !can_undo, onclick: move |_| ctx.undo(), "Undo" }
                    button { class: "aos-button", "data-testid": "redo", disabled: !can_redo, onclick: move |_| ctx.redo(), "Redo" }
                    button { class: "aos-button", "data-testid": "auto-layout", disabled: !editing, onclick: layout, "Tidy up" }
                }
                button { class: "aos-button", "data-testid": "fit", onclick: move |_| editor.write().fit(&scene), "Fit" }
                button { class: "aos-button", "data-testid": "zoom-out", onclick: move |_| editor.write().zoom_centre(1.0 / 1.2), "−" }
                button { class: "aos-button", "data-testid": "zoom-in", onclick: move |_| editor.write().zoom_centre(1.2), "+" }
                button { class: "aos-button", "data-testid": "open-history", onclick: move |_| panel.set(Panel::History), "History" }
                if can_edit {
                    button { class: "aos-button", "data-testid": "open-import", onclick: move |_| panel.set(Panel::Import), "Import" }
                }
                button { class: "aos-button", "data-testid": "export", onclick: export, "Export" }
                if can_edit {
                    button { class: "aos-button", "data-testid": "open-share", onclick: move |_| panel.set(Panel::Share), "Share" }
                    button { class: "aos-button", "data-testid": "publish", disabled: busy() || !synced, onclick: publish, "Publish" }
                    button { class: "aos-button aos-button--primary", "data-testid": "open-run", onclick: move |_| panel.set(Panel::Run), "Run" }
                }
            }
        }
    }
}
