//! Run events over WebSocket (`/ws/events?workflow=…|run=…&after=SEQ`): every run-log row of a
//! workflow (or of one run) after a sequence number, as JSON text frames, then new rows as they
//! are committed. The run log is the truth, so a client that reconnects with the last `seq` it saw
//! misses nothing and sees nothing twice.
//!
//! Live rows come from memory: the node's [`EventHub`] follows the store's event feed (every row
//! this node commits, after the commit) and, with Redis, the other nodes' batches (one publish per
//! batch on `aos:run-events`), and fans each row out to the subscribers of its run and of its
//! workflow. The database serves only the catch-up after `after=SEQ`, and a subscriber that fell
//! behind (it reads the rest from the log).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aos_persistence::{RedisLink, RunLog, Store, StoreResult};
use aos_schema::{RunId, WorkflowId};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior};

use crate::session::{SessionEnd, WsFrame, axum_transport, close, close_code};

/// The Redis channel the nodes exchange their committed run-log batches on.
pub const EVENTS_CHANNEL: &str = "aos:run-events";

/// What a subscriber watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventScope {
    /// Every run of a workflow.
    Workflow(WorkflowId),
    /// One run.
    Run(RunId),
}

/// How the hub and its subscribers behave.
#[derive(Debug, Clone, Copy)]
pub struct EventsConfig {
    /// Rows read per query (catch-up pages).
    pub page: i64,
    /// How often a subscriber is pinged, and after how much silence it is closed.
    pub ping_every: Duration,
    pub zombie_after: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self { page: 500, ping_every: Duration::from_secs(15), zombie_after: Duration::from_secs(45) }
    }
}

/// What a scope's subscribers hear.
#[derive(Debug, Clone)]
pub enum HubEvent {
    /// A committed row of the scope.
    Row(Arc<RunLog>),
    /// The hub missed rows (it fell behind the feed): read the log again from your cursor.
    Resync,
}

type Scopes = Arc<Mutex<HashMap<EventScope, broadcast::Sender<HubEvent>>>>;

/// The node's run-event fan-out: one channel per watched scope, fed from memory.
#[derive(Debug, Clone)]
pub struct EventHub {
    store: Store,
    config: EventsConfig,
    scopes: Scopes,
}

/// A batch as the nodes exchange it over Redis: the sending node's id as a JSON string (which
/// holds no raw newline), a newline, then the rows as a JSON array. A node hears its own batches
/// too, and tells them by the first line alone, without decoding their rows.
fn remote_batch(node: &[u8], rows: &[RunLog]) -> serde_json::Result<Vec<u8>> {
    let mut payload = Vec::with_capacity(node.len() + 1 + 256 * rows.len());
    payload.extend_from_slice(node);
    payload.push(b'\n');
    serde_json::to_writer(&mut payload, rows)?;
    Ok(payload)
}

/// The rows of a batch from another node (`None` for one of this node's own).
fn rows_from_elsewhere(node: &[u8], payload: &[u8]) -> serde_json::Result<Option<Vec<RunLog>>> {
    let Some(end) = payload.iter().position(|byte| *byte == b'\n') else {
        return Err(serde::de::Error::custom("a run-event batch without its node line"));
    };
    if &payload[..end] == node {
        return Ok(None);
    }
    serde_json::from_slice(&payload[end + 1..]).map(Some)
}

/// A node id as its batches' first line.
fn node_line(node: &str) -> Vec<u8> {
    serde_json::to_vec(node).unwrap_or_default()
}

impl EventHub {
    /// A hub over this store's event feed only (one node).
    pub fn new(store: Store, config: EventsConfig) -> Self {
        Self::with_redis(store, config, None, String::new())
    }

    /// A hub over this store's event feed that also sends this node's batches to the other nodes
    /// over `redis` and fans theirs out here. `node` tells this node's batches apart.
    pub fn with_redis(store: Store, config: EventsConfig, redis: Option<RedisLink>, node: String) -> Self {
        let scopes: Scopes = Arc::new(Mutex::new(HashMap::new()));
        tokio::spawn(pump_local(store.writer().subscribe(), Arc::clone(&scopes), redis.clone(), node.clone()));
        if let Some(redis) = redis {
            tokio::spawn(pump_remote(redis, Arc::clone(&scopes), node));
        }
        Self { store, config, scopes }
    }

    /// Rows of `scope` after `after`, one page, in order.
    pub async fn page(&self, scope: EventScope, after: i64) -> StoreResult<Vec<RunLog>> {
        let runs = self.store.runs();
        match scope {
            EventScope::Workflow(workflow) => runs.workflow_logs(workflow, after, Some(self.config.page)).await,
            EventScope::Run(run) => runs.logs(run, after, Some(self.config.page)).await,
        }
    }

    /// Follows `scope`: its rows as they are committed from now on.
    pub fn follow(&self, scope: EventScope) -> broadcast::Receiver<HubEvent> {
        let mut scopes = lock(&self.scopes);
        if let Some(tx) = scopes.get(&scope) {
            return tx.subscribe();
        }
        let (tx, receiver) = broadcast::channel(1024);
        scopes.insert(scope, tx);
        receiver
    }
}

fn lock(scopes: &Scopes) -> std::sync::MutexGuard<'_, HashMap<EventScope, broadcast::Sender<HubEvent>>> {
    scopes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Hands each row to the subscribers of its run and its workflow; forgets scopes nobody watches.
fn fan_out(scopes: &Scopes, rows: &[RunLog]) {
    let mut scopes = lock(scopes);
    if scopes.is_empty() {
        return;
    }
    scopes.retain(|_, tx| tx.receiver_count() > 0);
    for row in rows {
        let run = scopes.get(&EventScope::Run(row.run_id));
        let workflow = scopes.get(&EventScope::Workflow(row.workflow_id));
        if run.is_none() && workflow.is_none() {
            continue;
        }
        let row = Arc::new(row.clone());
        for tx in [run, workflow].into_iter().flatten() {
            let _nobody = tx.send(HubEvent::Row(Arc::clone(&row)));
        }
    }
}

/// Tells every subscriber to read the log again.
fn resync_all(scopes: &Scopes) {
    for tx in lock(scopes).values() {
        let _nobody = tx.send(HubEvent::Resync);
    }
}

/// This node's committed rows: to its subscribers, and (one publish per batch) to the others.
async fn pump_local(
    mut feed: broadcast::Receiver<Arc<[RunLog]>>,
    scopes: Scopes,
    redis: Option<RedisLink>,
    node: String,
) {
    let node = node_line(&node);
    loop {
        match feed.recv().await {
            Ok(rows) => {
                fan_out(&scopes, &rows);
                if let Some(redis) = &redis {
                    match remote_batch(&node, &rows) {
                        Ok(payload) => {
                            if let Err(err) = redis.publish(EVENTS_CHANNEL, &payload).await {
                                tracing::warn!(error = %err, "run events not sent to the other nodes");
                            }
                        }
                        Err(err) => tracing::warn!(error = %err, "run events not encoded"),
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "run-event hub fell behind its feed; subscribers read the log");
                resync_all(&scopes);
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The other nodes' batches, to this node's subscribers. A lost connection is reopened; the
/// subscribers read the log meanwhile.
async fn pump_remote(redis: RedisLink, scopes: Scopes, node: String) {
    let node = node_line(&node);
    loop {
        match redis.subscribe(EVENTS_CHANNEL).await {
            Ok(mut subscription) => {
                resync_all(&scopes);
                while let Some(payload) = subscription.next().await {
                    match rows_from_elsewhere(&node, &payload) {
                        Ok(Some(rows)) => fan_out(&scopes, &rows),
                        Ok(None) => {}
                        Err(err) => tracing::warn!(error = %err, "unreadable run-event batch from another node"),
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot follow other nodes' run events"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One `/ws/events` connection.
#[derive(Debug, Clone)]
pub struct EventsSession {
    pub hub: EventHub,
    pub scope: EventScope,
    /// The last sequence number the client has seen (0 for everything).
    pub after: i64,
}

impl EventsSession {
    /// Serves an axum WebSocket.
    pub async fn serve_axum(self, socket: axum::extract::ws::WebSocket) -> SessionEnd {
        self.serve(axum_transport(socket)).await
    }

    /// Serves any transport of WebSocket frames: catch up from the log, then follow the hub.
    pub async fn serve<T, E, S>(self, mut transport: T) -> SessionEnd
    where
        T: Stream<Item = Result<WsFrame, E>> + Sink<WsFrame, Error = S> + Unpin,
    {
        let config = self.hub.config;
        // subscribe before reading the log, so nothing committed in between is missed
        let mut live = self.hub.follow(self.scope);
        let floor = self.after.max(0);
        let mut cursor = floor;
        // the last row sent per run: rows of one run are committed in order by the one node that
        // drives it, while a workflow's runs may come from several nodes in any order
        let mut sent: HashMap<RunId, i64> = HashMap::new();
        let mut catching_up = true;
        let mut ping = tokio::time::interval_at(Instant::now() + config.ping_every, config.ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        loop {
            if catching_up {
                let Ok(rows) = self.hub.page(self.scope, cursor).await else {
                    return close(&mut transport, close_code::TRY_AGAIN_LATER, "run events unavailable").await;
                };
                catching_up = rows.len() as i64 >= config.page;
                for row in rows {
                    cursor = cursor.max(row.seq);
                    if sent.get(&row.run_id).is_some_and(|last| *last >= row.seq) {
                        continue;
                    }
                    remember(&mut sent, &row);
                    if send_row(&mut transport, &row).await.is_err() {
                        return SessionEnd::ClientGone;
                    }
                }
                continue;
            }
            tokio::select! {
                incoming = transport.next() => match incoming {
                    Some(Ok(WsFrame::Close(_))) | Some(Err(_)) | None => return SessionEnd::ClientGone,
                    Some(Ok(_)) => last_heard = Instant::now(),
                },
                event = live.recv() => match event {
                    Ok(HubEvent::Row(first)) => {
                        // the rows already waiting go out with this one, in one flush
                        let mut row = first;
                        let mut fed = 0;
                        loop {
                            let seen = row.seq <= floor || sent.get(&row.run_id).is_some_and(|last| *last >= row.seq);
                            if !seen {
                                cursor = cursor.max(row.seq);
                                remember(&mut sent, &row);
                                if feed_row(&mut transport, &row).await.is_err() {
                                    return SessionEnd::ClientGone;
                                }
                                fed += 1;
                            }
                            if fed >= FLUSH_EVERY {
                                break;
                            }
                            match live.try_recv() {
                                Ok(HubEvent::Row(next)) => row = next,
                                Ok(HubEvent::Resync) | Err(broadcast::error::TryRecvError::Lagged(_)) => {
                                    catching_up = true;
                                    break;
                                }
                                // a closed hub is told by the next `recv`
                                Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed) => {
                                    break;
                                }
                            }
                        }
                        if transport.flush().await.is_err() {
                            return SessionEnd::ClientGone;
                        }
                    }
                    // rows were missed on the way: read the rest from the log
                    Ok(HubEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => catching_up = true,
                    Err(broadcast::error::RecvError::Closed) => {
                        return close(&mut transport, close_code::SERVICE_RESTART, "run events restarting").await;
                    }
                },
                _ = ping.tick() => {
                    if last_heard.elapsed() >= config.zombie_after {
                        return close(&mut transport, close_code::GOING_AWAY, "no answer to ping").await;
                    }
                    if transport.send(WsFrame::Ping(Vec::new())).await.is_err() {
                        return SessionEnd::ClientGone;
                    }
                }
            }
        }
    }
}

/// Runs a session keeps its last sent row of before it forgets the oldest.
const SENT_RUNS: usize = 10_000;

/// Notes the row as sent, forgetting runs far behind when a long session has seen very many.
fn remember(sent: &mut HashMap<RunId, i64>, row: &RunLog) {
    sent.insert(row.run_id, row.seq);
    if sent.len() > SENT_RUNS {
        let mut seqs: Vec<i64> = sent.values().copied().collect();
        seqs.sort_unstable();
        let keep_from = seqs[seqs.len() - SENT_RUNS / 2];
        sent.retain(|_, seq| *seq >= keep_from);
    }
}

async fn send_row<T, S>(transport: &mut T, row: &RunLog) -> Result<(), ()>
where
    T: Sink<WsFrame, Error = S> + Unpin,
{
    let text = serde_json::to_string(row).map_err(|_| ())?;
    transport.send(WsFrame::Text(text)).await.map_err(|_| ())
}

/// Rows a live session writes before it flushes them together.
const FLUSH_EVERY: usize = 256;

/// Queues a row on the transport, unflushed.
async fn feed_row<T, S>(transport: &mut T, row: &RunLog) -> Result<(), ()>
where
    T: Sink<WsFrame, Error = S> + Unpin,
{
    let text = serde_json::to_string(row).map_err(|_| ())?;
    transport.feed(WsFrame::Text(text)).await.map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64) -> RunLog {
        RunLog {
            seq,
            run_id: RunId::new(),
            org_id: aos_schema::OrgId::new(),
            workflow_id: WorkflowId::new(),
            node_id: Some("s1".into()),
            level: "info".into(),
            event: "step_succeeded".into(),
            message: "s1 succeeded".into(),
            data: serde_json::json!({ "attempt": 1 }),
            created_at: aos_persistence::Timestamp::now(),
        }
    }

    #[test]
    fn a_node_reads_the_other_nodes_batches_and_skips_its_own() {
        let rows = vec![row(1), row(2)];
        // a node id holding a newline and quotes still makes one first line
        let (here, there) = (node_line("node \"a\"\nx"), node_line("node-b"));
        let from_there = remote_batch(&there, &rows).unwrap();
        let read = rows_from_elsewhere(&here, &from_there).unwrap().expect("another node's batch");
        assert_eq!(
            read.iter().map(|r| (r.seq, r.run_id)).collect::<Vec<_>>(),
            vec![(1, rows[0].run_id), (2, rows[1].run_id)]
        );
        assert_eq!(read[0].data, rows[0].data);
        let from_here = remote_batch(&here, &rows).unwrap();
        assert!(rows_from_elsewhere(&here, &from_here).unwrap().is_none(), "its own batch is skipped");
        assert!(rows_from_elsewhere(&here, b"no node line").is_err());
        assert!(rows_from_elsewhere(&here, b"\"node-b\"\n[{").is_err());
    }
}
