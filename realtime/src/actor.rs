//! The [`DocRoom`] actor: one per open workflow doc on a node, the doc's single writer there. It
//! loads the snapshot and the update log before it answers anyone, appends every accepted change to
//! the log before any other client hears of it, compacts the log into a snapshot when the log grows
//! past the snapshot (or on a timer), sweeps silent presence, and stops itself when nobody has been
//! connected for a while. If the store fails while appending, the actor fails: its supervisor
//! restarts it from the database, its connections close with "service restart", and the editors
//! reconnect and sync again — an edit nobody saw acknowledged is still in its author's doc and is
//! sent again on that sync.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aos_actors::supervisor::{BoxFuture, ChildFactory, spawn_child, startup_failed};
use aos_actors::{ActorKind, ActorStats};
use aos_persistence::{DocBroadcast, DocFanout, Store, Timestamp};
use aos_schema::doc::{ApplyStats, DocGraph};
use aos_schema::{WorkflowGraph, WorkflowId};
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SpawnErr};
use tokio::sync::mpsc;

use crate::room::{Access, ClientError, Clock, ConnId, Effects, Room, RoomLimits, system_clock};

/// How a room behaves; the defaults suit production, tests shorten the durations.
#[derive(Clone)]
pub struct RoomConfig {
    pub limits: RoomLimits,
    /// How often the room wakes for presence sweeps, timed compaction and the idle check.
    pub tick: Duration,
    /// Presence not renewed for this long is removed (Yjs clients renew every 15 s).
    pub presence_timeout: Duration,
    /// A room with no connection for this long stops (it reloads from the store when next needed).
    pub idle_after: Duration,
    /// The log is compacted once it holds more bytes than the snapshot and at least this many.
    pub compact_min_bytes: usize,
    /// A log that has not been compacted for this long is compacted on the next tick.
    pub compact_every: Duration,
    /// Frames queued for one slow connection before it is dropped.
    pub outbox_capacity: usize,
    /// The time source presence is measured with.
    pub clock: Clock,
    /// Several nodes serve one doc: updates go to the other nodes' rooms over Redis, and every tick
    /// the room re-reads the log for anything pub/sub lost. `None` on a single node.
    pub fanout: Option<DocFanout>,
    /// How far back a room re-reads the log (on load after the snapshot, and on each tick with
    /// fan-out): long enough to cover an append that commits after a later one.
    pub log_overlap: Duration,
}

impl std::fmt::Debug for RoomConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomConfig")
            .field("limits", &self.limits)
            .field("tick", &self.tick)
            .field("presence_timeout", &self.presence_timeout)
            .field("idle_after", &self.idle_after)
            .field("compact_min_bytes", &self.compact_min_bytes)
            .field("compact_every", &self.compact_every)
            .field("outbox_capacity", &self.outbox_capacity)
            .field("fanout", &self.fanout)
            .field("log_overlap", &self.log_overlap)
            .finish_non_exhaustive()
    }
}

impl Default for RoomConfig {
    fn default() -> Self {
        Self {
            limits: RoomLimits::default(),
            tick: Duration::from_secs(5),
            presence_timeout: Duration::from_secs(30),
            idle_after: Duration::from_secs(60),
            compact_min_bytes: 64 * 1024,
            compact_every: Duration::from_secs(300),
            outbox_capacity: 1024,
            clock: system_clock(),
            fanout: None,
            log_overlap: Duration::from_secs(10),
        }
    }
}

/// What the room sends a connection's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A binary y-websocket frame.
    Frame(Vec<u8>),
    /// Close the socket with this code and reason.
    Close { code: u16, reason: String },
}

/// A connection admitted to a room.
#[derive(Debug)]
pub struct Joined {
    pub conn: ConnId,
    /// The frames to send before anything from the outbox.
    pub frames: Vec<Vec<u8>>,
}

/// What a doc room handles.
#[derive(Debug)]
pub enum DocRoomMsg {
    /// Admits a connection whose frames go to `outbox`.
    Join { access: Access, outbox: mpsc::Sender<Outbound>, reply: RpcReplyPort<Joined> },
    /// A binary frame from a connection.
    Frame { conn: ConnId, bytes: Vec<u8> },
    /// The connection is gone.
    Leave { conn: ConnId },
    /// Writes a whole graph into the doc as a minimal change, logged and broadcast.
    ApplyGraph { graph: WorkflowGraph, origin: String, reply: RpcReplyPort<Result<ApplyStats, String>> },
    /// The graph the doc holds now.
    Graph(RpcReplyPort<DocGraph>),
    /// The presence states, as (awareness client id, JSON).
    Presence(RpcReplyPort<Vec<(u64, String)>>),
    /// How many connections the room holds.
    Connections(RpcReplyPort<usize>),
    /// Compacts the log into a snapshot now; answers the sequence number the snapshot covers.
    Compact(RpcReplyPort<Result<i64, String>>),
    /// An update another node's room logged (fan-out).
    Remote(DocBroadcast),
    /// The timer: presence sweep, timed compaction, idle unload, log catch-up with fan-out.
    Tick,
}

/// The doc-room actor.
#[derive(Debug, Default)]
pub struct DocRoom;

/// A doc room's start arguments.
#[derive(Debug, Clone)]
pub struct DocRoomArgs {
    pub workflow: WorkflowId,
    pub store: Store,
    pub config: RoomConfig,
    pub stats: Arc<ActorStats>,
}

/// A doc room's state: the sans-IO room plus the log bookkeeping and the connections' outboxes.
pub struct DocRoomState {
    args: DocRoomArgs,
    room: Room,
    outboxes: HashMap<ConnId, mpsc::Sender<Outbound>>,
    /// The highest log sequence number the doc contains.
    last_seq: i64,
    /// The sequence number the stored snapshot covers.
    snapshot_seq: i64,
    snapshot_bytes: usize,
    /// Bytes appended to the log since the snapshot.
    log_bytes: usize,
    last_compaction: Instant,
    /// When the last connection left (the idle clock).
    empty_since: Option<Instant>,
    ticker: Option<tokio::task::JoinHandle<()>>,
    /// Forwards other nodes' updates into the mailbox (with fan-out).
    subscriber: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for DocRoomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocRoomState")
            .field("workflow", &self.args.workflow)
            .field("connections", &self.outboxes.len())
            .field("last_seq", &self.last_seq)
            .field("snapshot_seq", &self.snapshot_seq)
            .finish_non_exhaustive()
    }
}

impl DocRoomState {
    /// Loads the doc: the snapshot, then every update after it, then the skeleton if it is missing.
    async fn load(args: DocRoomArgs) -> Result<Self, ActorProcessingErr> {
        let docs = args.store.docs();
        let mut room = Room::new(args.config.limits, Arc::clone(&args.config.clock));
        let (mut snapshot_seq, mut snapshot_bytes) = (0, 0);
        let mut since = Timestamp::now();
        if let Some(snapshot) = docs.snapshot(args.workflow).await? {
            if let Err(err) = room.load_update(&snapshot.state) {
                tracing::error!(workflow = %args.workflow, error = %err, "doc snapshot does not load, replaying the whole log");
            } else {
                (snapshot_seq, snapshot_bytes) = (snapshot.upto_seq, snapshot.state.len());
                since = snapshot.created_at - overlap(&args.config);
            }
        }
        let mut last_seq = snapshot_seq;
        let mut log_bytes = 0;
        for update in docs.updates_since(args.workflow, snapshot_seq, since).await? {
            if let Err(err) = room.load_update(&update.update_bytes) {
                tracing::warn!(workflow = %args.workflow, seq = update.seq, error = %err, "stored doc update skipped");
            }
            if update.seq > snapshot_seq {
                last_seq = last_seq.max(update.seq);
                log_bytes += update.update_bytes.len();
            }
        }
        let mut state = Self {
            args,
            room,
            outboxes: HashMap::new(),
            last_seq,
            snapshot_seq,
            snapshot_bytes,
            log_bytes,
            last_compaction: Instant::now(),
            empty_since: Some(Instant::now()),
            ticker: None,
            subscriber: None,
        };
        let skeleton = state.room.ensure_skeleton();
        state.append(&skeleton, "server:skeleton").await?;
        Ok(state)
    }

    /// Appends the effects' changes to the log, in order; an error fails the actor.
    async fn append(&mut self, effects: &Effects, origin: &str) -> Result<(), ActorProcessingErr> {
        for update in &effects.updates {
            let seq = self.args.store.docs().append_update(self.args.workflow, update, origin).await?;
            self.last_seq = self.last_seq.max(seq);
            self.log_bytes += update.len();
            if let Some(fanout) = &self.args.config.fanout
                && let Err(err) = fanout.publish(self.args.workflow, seq, update).await
            {
                // the other nodes catch up from the log on their next tick
                tracing::warn!(workflow = %self.args.workflow, error = %err, "doc update not published");
            }
        }
        Ok(())
    }

    /// Performs effects for `from` (or for nobody): log, reply, broadcast, close.
    async fn perform(&mut self, from: Option<ConnId>, effects: Effects) -> Result<(), ActorProcessingErr> {
        let origin = match from.and_then(|conn| self.room.access(conn).map(|a| (conn, a))) {
            Some((conn, access)) => format!("conn:{conn} user:{}", access.user_id),
            None => "server".to_owned(),
        };
        self.append(&effects, &origin).await?;
        if let Some(conn) = from {
            for frame in effects.reply {
                self.send(conn, Outbound::Frame(frame));
            }
        }
        if !effects.broadcast.is_empty() {
            let others: Vec<ConnId> = self.outboxes.keys().copied().filter(|c| Some(*c) != from).collect();
            for conn in others {
                for frame in &effects.broadcast {
                    self.send(conn, Outbound::Frame(frame.clone()));
                }
            }
        }
        if let (Some(conn), Some(err)) = (from, effects.close) {
            tracing::info!(workflow = %self.args.workflow, conn, error = %err, "doc client disconnected");
            self.send(conn, Outbound::Close { code: err.close_code(), reason: close_reason(&err) });
            self.drop_connection(conn).await?;
        }
        if self.log_bytes > self.snapshot_bytes.max(self.args.config.compact_min_bytes) {
            self.compact().await;
        }
        Ok(())
    }

    /// Queues a frame for a connection; a connection whose outbox is full is dropped (it reconnects
    /// and syncs again), so one slow client never holds the room up.
    fn send(&mut self, conn: ConnId, message: Outbound) {
        let Some(outbox) = self.outboxes.get(&conn) else { return };
        if outbox.try_send(message).is_err() {
            tracing::warn!(workflow = %self.args.workflow, conn, "doc client too slow or gone, dropping it");
            self.outboxes.remove(&conn);
        }
    }

    async fn drop_connection(&mut self, conn: ConnId) -> Result<(), ActorProcessingErr> {
        self.outboxes.remove(&conn);
        let effects = self.room.leave(conn);
        if self.outboxes.is_empty() {
            self.empty_since = Some(Instant::now());
        }
        Box::pin(self.perform(None, effects)).await
    }

    /// Writes the whole doc as the snapshot covering `last_seq`. A failure is logged, not fatal:
    /// the log still holds everything.
    async fn compact(&mut self) -> Option<i64> {
        let state = self.room.encode_state();
        match self.args.store.docs().save_snapshot(self.args.workflow, self.last_seq, &state).await {
            Ok(_) => {
                tracing::debug!(workflow = %self.args.workflow, upto_seq = self.last_seq, bytes = state.len(), "doc log compacted");
                self.snapshot_seq = self.last_seq;
                self.snapshot_bytes = state.len();
                self.log_bytes = 0;
                self.last_compaction = Instant::now();
                Some(self.snapshot_seq)
            }
            Err(err) => {
                tracing::warn!(workflow = %self.args.workflow, error = %err, "doc log compaction failed");
                None
            }
        }
    }

    /// Applies what other nodes logged recently (pub/sub may have lost some of it).
    async fn catch_up(&mut self) -> Result<(), ActorProcessingErr> {
        let since = Timestamp::now() - overlap(&self.args.config);
        let updates = self.args.store.docs().updates_since(self.args.workflow, self.last_seq, since).await?;
        for update in updates {
            self.last_seq = self.last_seq.max(update.seq);
            match self.room.apply_remote(&update.update_bytes) {
                Ok(effects) => self.perform(None, effects).await?,
                Err(err) => {
                    tracing::warn!(workflow = %self.args.workflow, seq = update.seq, error = %err, "logged doc update skipped")
                }
            }
        }
        Ok(())
    }
}

fn overlap(config: &RoomConfig) -> time::Duration {
    time::Duration::try_from(config.log_overlap).unwrap_or(time::Duration::seconds(10))
}

/// Forwards other nodes' updates of `workflow` into the room's mailbox until the room is gone,
/// subscribing again (after a pause) whenever the Redis connection drops.
async fn forward_remote(fanout: DocFanout, workflow: WorkflowId, room: ActorRef<DocRoomMsg>) {
    loop {
        match fanout.subscribe(workflow).await {
            Ok(mut subscription) => {
                while let Some(update) = subscription.next().await {
                    if room.send_message(DocRoomMsg::Remote(update)).is_err() {
                        return;
                    }
                }
            }
            Err(err) => tracing::warn!(%workflow, error = %err, "doc fan-out subscription failed"),
        }
        if !matches!(room.get_status(), ractor::ActorStatus::Running | ractor::ActorStatus::Starting) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn close_reason(err: &ClientError) -> String {
    // a close reason must fit in 123 bytes
    let mut reason = err.to_string();
    if reason.len() > 120 {
        let mut cut = 120;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
    }
    reason
}

impl Actor for DocRoom {
    type Msg = DocRoomMsg;
    type State = DocRoomState;
    type Arguments = DocRoomArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: DocRoomArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        // subscribe before loading, so nothing published while the log is read is missed (the
        // forwarded updates wait in the mailbox until the room is loaded)
        let subscriber =
            args.config.fanout.clone().map(|fanout| tokio::spawn(forward_remote(fanout, args.workflow, myself)));
        match DocRoomState::load(args).await {
            Ok(mut state) => {
                state.subscriber = subscriber;
                Ok(state)
            }
            Err(err) => {
                subscriber.inspect(tokio::task::JoinHandle::abort);
                Err(err)
            }
        }
    }

    async fn post_start(&self, myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        state.ticker = Some(myself.send_interval(state.args.config.tick, || DocRoomMsg::Tick));
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        for task in [state.ticker.take(), state.subscriber.take()].into_iter().flatten() {
            task.abort();
        }
        if state.log_bytes > 0 {
            state.compact().await;
        }
        for outbox in state.outboxes.values() {
            let _gone = outbox.try_send(Outbound::Close { code: 1012, reason: "doc room restarting".to_owned() });
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if !matches!(message, DocRoomMsg::Tick | DocRoomMsg::Remote(_)) {
            state.args.stats.dequeued();
        }
        match message {
            DocRoomMsg::Join { access, outbox, reply } => {
                let (conn, frames) = state.room.join(access);
                state.outboxes.insert(conn, outbox);
                state.empty_since = None;
                let _receiver_gone = reply.send(Joined { conn, frames });
            }
            DocRoomMsg::Frame { conn, bytes } => {
                if state.outboxes.contains_key(&conn) {
                    let effects = state.room.receive(conn, &bytes);
                    state.perform(Some(conn), effects).await?;
                }
            }
            DocRoomMsg::Leave { conn } => state.drop_connection(conn).await?,
            DocRoomMsg::ApplyGraph { graph, origin, reply } => {
                let (result, effects) = state.room.apply_graph(&graph);
                state.append(&effects, &origin).await?;
                state.perform(None, Effects { updates: Vec::new(), ..effects }).await?;
                let _receiver_gone = reply.send(result.map_err(|err| err.to_string()));
            }
            DocRoomMsg::Graph(reply) => {
                let _receiver_gone = reply.send(state.room.graph());
            }
            DocRoomMsg::Presence(reply) => {
                let _receiver_gone = reply.send(state.room.presence());
            }
            DocRoomMsg::Connections(reply) => {
                let _receiver_gone = reply.send(state.outboxes.len());
            }
            DocRoomMsg::Compact(reply) => {
                let done = state.compact().await.ok_or_else(|| "compaction failed".to_owned());
                let _receiver_gone = reply.send(done);
            }
            DocRoomMsg::Remote(broadcast) => match state.room.apply_remote(&broadcast.update) {
                Ok(effects) => state.perform(None, effects).await?,
                Err(err) => {
                    tracing::warn!(workflow = %state.args.workflow, seq = broadcast.seq, error = %err, "remote doc update skipped")
                }
            },
            DocRoomMsg::Tick => {
                if state.args.config.fanout.is_some() {
                    state.catch_up().await?;
                }
                let effects = state.room.sweep_presence(state.args.config.presence_timeout);
                state.perform(None, effects).await?;
                if state.log_bytes > 0 && state.last_compaction.elapsed() >= state.args.config.compact_every {
                    state.compact().await;
                }
                let idle = state.empty_since.is_some_and(|since| since.elapsed() >= state.args.config.idle_after);
                if idle && state.outboxes.is_empty() {
                    tracing::debug!(workflow = %state.args.workflow, "doc room idle, unloading");
                    myself.stop(Some("idle".to_owned()));
                }
            }
        }
        Ok(())
    }
}

/// Starts doc rooms under the `doc-rooms` supervisor; the child key is the workflow id.
#[derive(Debug, Clone)]
pub struct DocRoomFactory {
    pub store: Store,
    pub config: RoomConfig,
}

impl ChildFactory for DocRoomFactory {
    fn kind(&self) -> ActorKind {
        ActorKind::DocRoom
    }

    fn start(
        &self,
        key: String,
        supervisor: ActorCell,
        stats: Arc<ActorStats>,
    ) -> BoxFuture<Result<ActorCell, SpawnErr>> {
        let store = self.store.clone();
        let config = self.config.clone();
        Box::pin(async move {
            let workflow: WorkflowId =
                key.parse().map_err(|_| startup_failed(format!("{key:?} is not a workflow id")))?;
            spawn_child(DocRoom, DocRoomArgs { workflow, store, config, stats }, supervisor).await
        })
    }
}
