//! Run events over WebSocket (`/ws/events?workflow=…|run=…&after=SEQ`): every run-log row of a
//! workflow (or of one run) after a sequence number, as JSON text frames, then new rows as they
//! are appended. The run log is the truth, so a client that reconnects with the last `seq` it saw
//! misses nothing and sees nothing twice. One [`EventHub`] per node polls the log once per watched
//! scope and fans new rows out to every subscriber of that scope; each subscriber first catches up
//! from the log on its own, then follows the hub, skipping what it already sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aos_persistence::{RunLog, Store, StoreResult};
use aos_schema::{RunId, WorkflowId};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior};

use crate::session::{SessionEnd, WsFrame, axum_transport, close, close_code};

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
    /// How often the hub reads new log rows of a watched scope.
    pub poll_every: Duration,
    /// Rows read per query (catch-up pages and polls).
    pub page: i64,
    /// How often a subscriber is pinged, and after how much silence it is closed.
    pub ping_every: Duration,
    pub zombie_after: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            poll_every: Duration::from_millis(250),
            page: 500,
            ping_every: Duration::from_secs(15),
            zombie_after: Duration::from_secs(45),
        }
    }
}

/// The node's run-event fan-out: one poller per watched scope, shared by its subscribers.
#[derive(Debug, Clone)]
pub struct EventHub {
    store: Store,
    config: EventsConfig,
    scopes: Arc<Mutex<HashMap<EventScope, broadcast::Sender<Arc<RunLog>>>>>,
}

impl EventHub {
    pub fn new(store: Store, config: EventsConfig) -> Self {
        Self { store, config, scopes: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// Rows of `scope` after `after`, one page, in order.
    pub async fn page(&self, scope: EventScope, after: i64) -> StoreResult<Vec<RunLog>> {
        let runs = self.store.runs();
        match scope {
            EventScope::Workflow(workflow) => runs.workflow_logs(workflow, after, Some(self.config.page)).await,
            EventScope::Run(run) => runs.logs(run, after, Some(self.config.page)).await,
        }
    }

    /// Follows `scope`: new rows as the hub's poller finds them. The poller starts with the first
    /// subscriber and stops when the last one is gone.
    pub async fn follow(&self, scope: EventScope) -> StoreResult<broadcast::Receiver<Arc<RunLog>>> {
        let existing = self.lock().get(&scope).filter(|tx| tx.receiver_count() > 0).map(|tx| tx.subscribe());
        if let Some(receiver) = existing {
            return Ok(receiver);
        }
        // the poller starts at the newest row: subscribers catch up from the log themselves
        let mut cursor = 0;
        loop {
            let rows = self.page(scope, cursor).await?;
            match rows.last() {
                Some(last) => cursor = last.seq,
                None => break,
            }
            if (rows.len() as i64) < self.config.page {
                break;
            }
        }
        let mut scopes = self.lock();
        if let Some(tx) = scopes.get(&scope).filter(|tx| tx.receiver_count() > 0) {
            return Ok(tx.subscribe());
        }
        let (tx, receiver) = broadcast::channel(1024);
        scopes.insert(scope, tx.clone());
        drop(scopes);
        tokio::spawn(poll(self.clone(), scope, cursor, tx));
        Ok(receiver)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EventScope, broadcast::Sender<Arc<RunLog>>>> {
        self.scopes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn poll(hub: EventHub, scope: EventScope, mut cursor: i64, tx: broadcast::Sender<Arc<RunLog>>) {
    let mut every = tokio::time::interval(hub.config.poll_every);
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if tx.receiver_count() == 0 {
            let mut scopes = hub.lock();
            if scopes.get(&scope).is_some_and(|current| current.same_channel(&tx)) && tx.receiver_count() == 0 {
                scopes.remove(&scope);
                return;
            }
        }
        match hub.page(scope, cursor).await {
            Ok(rows) => {
                for row in rows {
                    cursor = cursor.max(row.seq);
                    let _nobody = tx.send(Arc::new(row));
                }
            }
            Err(err) => tracing::warn!(?scope, error = %err, "run event poll failed"),
        }
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
        let mut cursor = self.after.max(0);
        let Ok(mut live) = self.hub.follow(self.scope).await else {
            return close(&mut transport, close_code::TRY_AGAIN_LATER, "run events unavailable").await;
        };
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
                    cursor = row.seq;
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
                row = live.recv() => match row {
                    Ok(row) if row.seq > cursor => {
                        cursor = row.seq;
                        if send_row(&mut transport, &row).await.is_err() {
                            return SessionEnd::ClientGone;
                        }
                    }
                    Ok(_) => {}
                    // fell behind the hub: read the rest from the log
                    Err(broadcast::error::RecvError::Lagged(_)) => catching_up = true,
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

async fn send_row<T, S>(transport: &mut T, row: &RunLog) -> Result<(), ()>
where
    T: Sink<WsFrame, Error = S> + Unpin,
{
    let text = serde_json::to_string(row).map_err(|_| ())?;
    transport.send(WsFrame::Text(text)).await.map_err(|_| ())
}
