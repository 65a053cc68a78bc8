//! The editor's live connection to its workflow's doc room, as a hook: read the workflow (which
//! also renews an expired session before the socket presents its token), open `/ws/docs/{id}`,
//! sync and follow (doc changes, presence, refusals), and on a loss mark the doc offline (edits
//! stay in it), wait with a growing pause and open again.

use std::collections::BTreeMap;

use aos_ui_kit::canvas::Scene;
use aos_web_client::socket::{self, Backoff};
use aos_web_client::{Socket, SocketEvent};
use dioxus::prelude::*;
use futures_util::StreamExt;

use super::app::Nav;
use super::editor_page::{Conn, Ctx, catalog_static};
use crate::api;
use crate::live::Presence;

/// Keeps the editor's doc connected for as long as the page lives; `conn`, `peers` and `meta`
/// follow the connection, the peers' presence and the workflow's name and org.
pub(super) fn use_doc_connection(
    ctx: Ctx,
    workflow_id: String,
    mut conn: Signal<Conn>,
    mut peers: Signal<BTreeMap<u64, Presence>>,
    mut meta: Signal<Option<api::Workflow>>,
) {
    let nav = use_context::<Nav>();
    use_future(move || {
        let id = workflow_id.clone();
        let (mut live, mut socket, mut editor, doc, mut toast) = (ctx.live, ctx.socket, ctx.editor, ctx.doc, ctx.toast);
        async move {
            let mut backoff = Backoff::default();
            loop {
                // also refreshes an expired session before the socket presents the token
                match api::workflow(&id).await {
                    Ok(workflow) => meta.set(Some(workflow)),
                    Err(err) if err.signed_out() => {
                        nav.check(&err);
                        return;
                    }
                    Err(_) => {}
                }
                if let Ok((opened, mut rx)) = Socket::channel(&socket::doc_path(&id)) {
                    socket.set(Some(opened));
                    while let Some(event) = rx.next().await {
                        match event {
                            SocketEvent::Open => {
                                backoff.reset();
                                conn.set(Conn::Online);
                                let frames = live.write().connected();
                                ctx.send(frames);
                                ctx.presence(true);
                            }
                            SocketEvent::Binary(frame) => {
                                let received = live.write().receive(&frame);
                                match received {
                                    Ok(received) => {
                                        ctx.send(received.replies);
                                        if received.doc_changed {
                                            ctx.refresh();
                                        }
                                        if received.synced_now {
                                            let scene = Scene::build(&doc.peek().graph, &catalog_static());
                                            editor.write().fit(&scene);
                                        }
                                        if received.presence_changed {
                                            peers.set(live.peek().peers());
                                        }
                                        if let Some(reason) = received.denied {
                                            toast.set(Some(format!("read only: {reason}")));
                                        }
                                    }
                                    Err(err) => toast.set(Some(err.to_string())),
                                }
                            }
                            SocketEvent::Text(_) => {}
                            SocketEvent::Closed { .. } => break,
                        }
                    }
                    socket.set(None);
                }
                live.write().disconnected();
                peers.set(BTreeMap::new());
                conn.set(Conn::Offline);
                backoff.wait().await;
                conn.set(Conn::Connecting);
            }
        }
    });
}
