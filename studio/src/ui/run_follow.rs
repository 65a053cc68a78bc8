//! Keeps the canvas on the workflow's latest run, the same for everyone who has it open: the
//! workflow's event stream (`/ws/events?workflow=…`) is followed, reconnecting with backoff, and a
//! run that starts anywhere (this editor's Run panel, a co-editor's, a webhook, a schedule)
//! becomes the one on the canvas. On open the stream resumes just before the newest run's first
//! row, so that run is shown again (and its step data) without replaying the workflow's history.

use aos_schema::doc::DocGraph;
use dioxus::prelude::*;
use futures_util::{FutureExt, StreamExt};

use crate::api::{self, RunLog};
use crate::live::LiveDoc;
use crate::run_view::RunWatch;
use aos_web_client::socket::{self, Backoff};
use aos_web_client::{Socket, SocketEvent, platform};

/// How many of the newest runs are asked for a first row (the newest may still be queued).
const RECENT_RUNS: u32 = 3;

/// Rows folded into one canvas update at most.
const MAX_BATCH: usize = 1_000;

/// How long the stream waits for the doc before folding rows without the graph (edges and delays
/// then show only once the next run comes).
const SYNC_WAIT_MS: u32 = 10_000;

/// Follows the workflow's runs into `run` for as long as the editor is open.
pub(super) fn use_run_follower(
    workflow_id: String,
    run: Signal<RunWatch>,
    live: Signal<LiveDoc>,
    doc: Signal<DocGraph>,
) {
    use_future(move || {
        let workflow_id = workflow_id.clone();
        async move { follow_workflow(workflow_id, run, live, doc).await }
    });
}

async fn follow_workflow(workflow_id: String, mut run: Signal<RunWatch>, live: Signal<LiveDoc>, doc: Signal<DocGraph>) {
    let mut after = resume_point(&workflow_id).await;
    // the replayed run is folded over the graph (which edges it took, which nodes are delays)
    let mut waited = 0;
    while !live.peek().is_synced() && waited < SYNC_WAIT_MS {
        platform::sleep_ms(100).await;
        waited += 100;
    }
    let mut backoff = Backoff::default();
    loop {
        // kept until the end of this attempt; dropping it closes the socket
        if let Ok((_socket, mut rx)) = Socket::channel(&socket::workflow_events_path(&workflow_id, after)) {
            while let Some(first) = rx.next().await {
                // what arrived meanwhile is folded in with it: one canvas update per batch, and
                // rows of runs not followed (a busy workflow starts many) cost no copy at all
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH
                    && let Some(Some(more)) = rx.next().now_or_never()
                {
                    batch.push(more);
                }
                let (mut next, mut graph, mut changed, mut closed) = (None::<RunWatch>, None, false, false);
                for event in batch {
                    match event {
                        SocketEvent::Text(text) => {
                            backoff.reset();
                            let Ok(row) = serde_json::from_str::<RunLog>(&text) else { continue };
                            after = after.max(row.seq);
                            if !next.as_ref().map_or_else(|| run.peek().takes(&row), |watch| watch.takes(&row)) {
                                continue;
                            }
                            let watch = next.get_or_insert_with(|| run.peek().clone());
                            // the graph as it is now, so a node added since the page opened pulses too
                            let graph = graph.get_or_insert_with(|| doc.peek().graph.clone());
                            changed |= watch.follow(&row, graph);
                        }
                        SocketEvent::Closed { .. } => closed = true,
                        _ => {}
                    }
                }
                if let (true, Some(next)) = (changed, next) {
                    run.set(next);
                }
                if closed {
                    break;
                }
            }
        }
        backoff.wait().await;
    }
}

/// Where the stream starts: just before the first row of the newest run that has one (0 when the
/// workflow has none, or they cannot be read: the stream then carries the whole log).
async fn resume_point(workflow_id: &str) -> i64 {
    let Ok(workflow) = api::workflow(workflow_id).await else { return 0 };
    let org = workflow.org_id.to_string();
    let Ok(runs) = api::latest_runs(&org, workflow_id, RECENT_RUNS).await else { return 0 };
    for recent in runs {
        if let Ok(rows) = api::first_logs(&recent.id.to_string(), 1).await
            && let Some(first) = rows.first()
        {
            return first.seq - 1;
        }
    }
    0
}
