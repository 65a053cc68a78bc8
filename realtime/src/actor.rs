//! The [`DocRoom`] actor: one per open workflow doc on a node, the doc's single writer there. It
//! loads the snapshot and the update log before it answers anyone, relays every accepted change to
//! the other editors at once (a burst as one merged update) and hands it to its log writer, which
//! appends through the store's group-commit writer; what must wait for the disk — the author's
//! acknowledgement that its frame is saved ([`MSG_SAVED`]), the answer to a server-side graph
//! write — waits in order until its changes are committed. It compacts the log into a snapshot in
//! the background when the log grows past the snapshot (or on a timer), sweeps silent presence,
//! and stops itself when nobody has been connected for a while. If an append fails, the actor
//! fails: its supervisor restarts it from the database, its connections close with "service
//! restart", and the editors reconnect and sync again — a change not yet logged is still in its
//! author's doc (and in those of the editors it was relayed to) and comes back on that sync.
//! `realtime/SEMANTICS.md` has the whole contract.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aos_actors::supervisor::{BoxFuture, ChildFactory, parse_key, spawn_child};
use aos_actors::{ActorKind, ActorStats};
use aos_persistence::{DocAppend, DocBroadcast, DocFanout, DocSubscription, NewDocUpdate, Store, Timestamp};
use aos_schema::doc::{ApplyStats, DocGraph};
use aos_schema::{WorkflowGraph, WorkflowId};
use axum::body::Bytes;
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
    /// A binary y-websocket frame (the same bytes for every connection it is broadcast to).
    Frame(Bytes),
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
    /// Admits a connection whose frames go to `outbox`; with `acks`, it is told which of its frames
    /// are durable ([`MSG_SAVED`]).
    Join { access: Access, acks: bool, outbox: mpsc::Sender<Outbound>, reply: RpcReplyPort<Joined> },
    /// A binary frame from a connection.
    Frame { conn: ConnId, bytes: Bytes },
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
    /// From the room's log writer: the oldest `count` queued changes are committed.
    Logged { count: usize, last_seq: i64, bytes: usize },
    /// From the room's log writer: appending failed, so the room fails (and is restarted).
    LogFailed { reason: String },
    /// From a background compaction: the snapshot covering `upto_seq` (`bytes` long, taking the
    /// first `log_bytes` of the log's bytes) was saved, or not.
    Compacted { upto_seq: i64, bytes: usize, log_bytes: usize, saved: bool },
}

/// The most changes one log commit takes.
const MAX_BATCH: usize = 256;
/// How long a stopping room waits for its log writer to write what was queued.
const STOP_WAIT: Duration = Duration::from_secs(5);
/// The most doc changes relayed as one merged update.
const MAX_RELAYED: usize = 64;

/// What waits for the log: released in order, once every change queued before it and its own are
/// committed.
struct Held {
    /// The connection whose frame this was, and that frame's number on it: acknowledged as saved
    /// once released (to a connection that asked for acknowledgements).
    ack: Option<(ConnId, u64)>,
    /// This step's changes not yet committed.
    waits_for: usize,
    /// Runs once durable (answers a server-side graph write).
    then: Option<Box<dyn FnOnce() + Send>>,
}

/// The y-sync message type of an acknowledgement: `[100, buf(varuint n)]` (a custom message whose
/// payload is `n`) says the first `n` frames the connection sent are durable (their changes are in
/// the log, or they brought none). Sent only to connections that asked for it
/// (`/ws/docs/{id}?acks=true`); other Yjs clients never see it.
pub const MSG_SAVED: u8 = 100;

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
    /// The connections that asked for acknowledgements, with how many frames each has sent.
    frames_in: HashMap<ConnId, u64>,
    /// The highest log sequence number the doc contains.
    last_seq: i64,
    /// The sequence number the stored snapshot covers.
    snapshot_seq: i64,
    snapshot_bytes: usize,
    /// Bytes appended to the log since the snapshot.
    log_bytes: usize,
    last_compaction: Instant,
    /// A background compaction is under way.
    compacting: bool,
    /// When the last connection left (the idle clock).
    empty_since: Option<Instant>,
    ticker: Option<tokio::task::JoinHandle<()>>,
    /// Forwards other nodes' updates into the mailbox (with fan-out).
    subscriber: Option<tokio::task::JoinHandle<()>>,
    /// The log writer's queue: changes are appended in order, many per commit (group commit), so a
    /// burst of edits costs one commit rather than one each.
    writer: Option<mpsc::UnboundedSender<NewDocUpdate>>,
    /// The log writer's task: a stopping room waits for it to write what was queued.
    log_task: Option<tokio::task::JoinHandle<()>>,
    /// With fan-out: the changes to publish to the other nodes' rooms, as they are relayed here.
    publisher: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// Acknowledgements and answers waiting for their changes (or earlier ones) to be committed.
    held: VecDeque<Held>,
    /// Doc changes to relay, with each one's sender, gathered while more frames wait in the
    /// mailbox: relayed as one merged update once it is empty (or the batch is full), so a burst
    /// of edits costs each editor one frame and one apply, not one per edit.
    relay: Vec<(Option<ConnId>, Vec<u8>)>,
    /// Presence changes gathered the same way, folded into one (the latest entry per client), and
    /// the one connection they came from while only one did.
    presence: Option<(Option<ConnId>, bool, yrs::sync::AwarenessUpdate)>,
}

impl std::fmt::Debug for DocRoomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocRoomState")
            .field("workflow", &self.args.workflow)
            .field("connections", &self.outboxes.len())
            .field("last_seq", &self.last_seq)
            .field("snapshot_seq", &self.snapshot_seq)
            .field("held", &self.held.len())
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
            frames_in: HashMap::new(),
            last_seq,
            snapshot_seq,
            snapshot_bytes,
            log_bytes,
            last_compaction: Instant::now(),
            compacting: false,
            empty_since: Some(Instant::now()),
            ticker: None,
            subscriber: None,
            writer: None,
            log_task: None,
            publisher: None,
            held: VecDeque::new(),
            relay: Vec::new(),
            presence: None,
        };
        let skeleton = state.room.ensure_skeleton();
        state.append(&skeleton, "server:skeleton").await?;
        Ok(state)
    }

    /// Appends the effects' changes to the log directly, in order (while loading, before the writer
    /// runs); an error fails the actor.
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

    /// What the log records as the origin of a connection's changes.
    fn origin(&self, from: Option<ConnId>) -> String {
        match from.and_then(|conn| self.room.access(conn).map(|a| (conn, a))) {
            Some((conn, access)) => format!("conn:{conn} user:{}", access.user_id),
            None => "server".to_owned(),
        }
    }

    /// Performs effects for `from` (or for nobody): their changes go to the log writer, the replies,
    /// broadcasts and close go out at once, and what must wait for the log — the sender's
    /// acknowledgement, `then` — waits until those changes (and every change queued before) are
    /// committed. Editors see each other's changes without waiting for the disk; a change is saved
    /// within a commit of the writer, and until then every editor that has it holds it too (a
    /// restarted room gets it back from their sync, see `SEMANTICS.md`).
    fn perform(
        &mut self,
        from: Option<ConnId>,
        mut effects: Effects,
        origin: String,
        then: Option<Box<dyn FnOnce() + Send>>,
    ) -> Result<(), ActorProcessingErr> {
        let updates = std::mem::take(&mut effects.updates);
        let waits_for = updates.len();
        if waits_for > 0 {
            let writer = self.writer.as_ref().ok_or("the doc log writer is not running")?;
            for update in updates {
                if let Some(publisher) = &self.publisher {
                    // the other nodes relay it as soon as this one does
                    let _publisher_gone = publisher.send(update.clone());
                }
                writer
                    .send(NewDocUpdate { update, origin: origin.clone() })
                    .map_err(|_| "the doc log writer stopped")?;
            }
        }
        let ack = from.and_then(|conn| self.frames_in.get(&conn).map(|frames| (conn, *frames)));
        self.deliver(from, effects);
        if waits_for == 0 && self.held.is_empty() {
            if let Some((conn, frames)) = ack {
                self.acknowledge(conn, frames);
            }
            if let Some(then) = then {
                then();
            }
        } else if ack.is_some() || then.is_some() || waits_for > 0 {
            self.held.push_back(Held { ack, waits_for, then });
        }
        Ok(())
    }

    /// The writer committed the oldest `count` queued changes: release what waited for them, and
    /// acknowledge each connection's latest released frame.
    fn logged(&mut self, mut count: usize) {
        let mut acks: Vec<(ConnId, u64)> = Vec::new();
        while let Some(front) = self.held.front_mut() {
            let taken = front.waits_for.min(count);
            front.waits_for -= taken;
            count -= taken;
            if front.waits_for > 0 {
                break;
            }
            if let Some(held) = self.held.pop_front() {
                if let Some((conn, frames)) = held.ack {
                    match acks.iter_mut().find(|(c, _)| *c == conn) {
                        Some(latest) => latest.1 = frames,
                        None => acks.push((conn, frames)),
                    }
                }
                if let Some(then) = held.then {
                    then();
                }
            }
        }
        for (conn, frames) in acks {
            self.acknowledge(conn, frames);
        }
    }

    /// Tells `conn` that its first `frames` frames are durable.
    fn acknowledge(&mut self, conn: ConnId, frames: u64) {
        let mut count = Vec::new();
        yrs::encoding::write::Write::write_var(&mut count, frames);
        let saved = yrs::sync::Message::Custom(MSG_SAVED, count);
        self.send(conn, Outbound::Frame(yrs::updates::encoder::Encode::encode_v1(&saved).into()));
    }

    /// Sends the replies and broadcasts, closes a bad sender.
    fn deliver(&mut self, from: Option<ConnId>, effects: Effects) {
        if let Some(conn) = from {
            for frame in effects.reply {
                self.send(conn, Outbound::Frame(frame.into()));
            }
        }
        self.relay.extend(effects.changes.into_iter().map(|change| (from, change)));
        for update in effects.presence {
            // a burst of cursor moves costs each editor one frame too
            match &mut self.presence {
                Some((sender, mixed, gathered)) => {
                    *mixed |= *sender != from;
                    crate::room::fold_presence(gathered, update);
                }
                None => self.presence = Some((from, false, update)),
            }
        }
        if self.relay.len() >= MAX_RELAYED
            || self.presence.as_ref().is_some_and(|(.., p)| p.clients.len() >= MAX_RELAYED)
        {
            self.flush_relay();
        }
        if let (Some(conn), Some(err)) = (from, effects.close) {
            tracing::info!(workflow = %self.args.workflow, conn, error = %err, "doc client disconnected");
            self.send(conn, Outbound::Close { code: err.close_code(), reason: close_reason(&err) });
            self.drop_connection(conn);
        }
    }

    /// Sends `frame` (encoded once: each connection gets the same bytes) to every connection but
    /// `from`.
    fn broadcast(&mut self, from: Option<ConnId>, frame: Bytes) {
        let others: Vec<ConnId> = self.outboxes.keys().copied().filter(|c| Some(*c) != from).collect();
        for conn in others {
            self.send(conn, Outbound::Frame(frame.clone()));
        }
    }

    /// Relays the gathered doc changes — one alone to everyone but its sender, several as one
    /// merged update to everyone (a sender applying its own change again is a no-op) — then the
    /// gathered presence.
    fn flush_relay(&mut self) {
        match self.relay.len() {
            0 => {}
            1 => {
                if let Some((from, change)) = self.relay.pop() {
                    self.broadcast(from, crate::room::change_frame(change).into());
                }
            }
            _ => {
                let relay = std::mem::take(&mut self.relay);
                let changes: Vec<&[u8]> = relay.iter().map(|(_, change)| change.as_slice()).collect();
                match crate::room::merged_update_frame(&changes) {
                    Some(frame) => self.broadcast(None, frame.into()),
                    None => {
                        for (from, change) in relay {
                            self.broadcast(from, crate::room::change_frame(change).into());
                        }
                    }
                }
            }
        }
        // presence after the doc changes gathered with it (a cursor may point at a new node)
        if let Some((from, mixed, update)) = self.presence.take() {
            // a client ignores its own presence coming back (its clock is not newer)
            let to_all_but = if mixed { None } else { from };
            self.broadcast(to_all_but, crate::room::presence_frame(update).into());
        }
    }

    /// Queues a frame for a connection; a connection whose outbox is full is dropped (it reconnects
    /// and syncs again), so one slow client never holds the room up.
    fn send(&mut self, conn: ConnId, message: Outbound) {
        let Some(outbox) = self.outboxes.get(&conn) else { return };
        if outbox.try_send(message).is_err() {
            tracing::warn!(workflow = %self.args.workflow, conn, "doc client too slow or gone, dropping it");
            self.outboxes.remove(&conn);
            self.frames_in.remove(&conn);
        }
    }

    fn drop_connection(&mut self, conn: ConnId) {
        self.outboxes.remove(&conn);
        self.frames_in.remove(&conn);
        // a leave changes presence only, never the doc: nothing to log
        let effects = self.room.leave(conn);
        if self.outboxes.is_empty() {
            self.empty_since = Some(Instant::now());
        }
        self.deliver(None, effects);
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

    /// Compacts without holding the room up: encodes the doc now and saves it on a task of its own,
    /// which reports back with [`DocRoomMsg::Compacted`]; one at a time. The doc may hold changes
    /// still on their way to the log: the snapshot then holds them too (a change applies once
    /// however often it is loaded), and they are logged after `upto_seq` as well.
    fn compact_in_background(&mut self, myself: ActorRef<DocRoomMsg>) {
        if self.compacting {
            return;
        }
        self.compacting = true;
        let state = self.room.encode_state();
        let (store, workflow, upto_seq, log_bytes) =
            (self.args.store.clone(), self.args.workflow, self.last_seq, self.log_bytes);
        tokio::spawn(async move {
            let saved = match store.docs().save_snapshot(workflow, upto_seq, &state).await {
                Ok(_) => true,
                Err(err) => {
                    tracing::warn!(%workflow, error = %err, "doc log compaction failed");
                    false
                }
            };
            let _room_gone =
                myself.send_message(DocRoomMsg::Compacted { upto_seq, bytes: state.len(), log_bytes, saved });
        });
    }

    /// Applies what other nodes logged recently (pub/sub may have lost some of it).
    async fn catch_up(&mut self) -> Result<(), ActorProcessingErr> {
        let since = Timestamp::now() - overlap(&self.args.config);
        let updates = self.args.store.docs().updates_since(self.args.workflow, self.last_seq, since).await?;
        for update in updates {
            self.last_seq = self.last_seq.max(update.seq);
            match self.room.apply_remote(&update.update_bytes) {
                Ok(effects) => self.perform(None, effects, String::new(), None)?,
                Err(err) => {
                    tracing::warn!(workflow = %self.args.workflow, seq = update.seq, error = %err, "logged doc update skipped")
                }
            }
        }
        Ok(())
    }
}

/// Appends queued changes in order, as many per commit as have queued up, through the store's
/// group-commit writer (whose transaction also takes every other room's changes queued meanwhile,
/// so a node commits its rooms' edits together rather than one room at a time), and tells the room
/// which are committed. Ends when the room drops its queue (after writing what was queued) or when
/// an append fails (the room then fails).
async fn write_log(
    store: Store,
    workflow: WorkflowId,
    mut queue: mpsc::UnboundedReceiver<NewDocUpdate>,
    room: ActorRef<DocRoomMsg>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let append = DocAppend { workflow, updates: std::mem::take(&mut batch) };
        match store.writer().append_doc_updates(append).await {
            Ok((seqs, append)) => {
                let bytes = append.updates.iter().map(|u| u.update.len()).sum();
                let last_seq = seqs.iter().copied().max().unwrap_or(0);
                let _room_gone = room.send_message(DocRoomMsg::Logged { count: append.updates.len(), last_seq, bytes });
                batch = append.updates;
                batch.clear();
            }
            Err(err) => {
                tracing::error!(%workflow, error = %err, "doc log append failed");
                let _room_gone = room.send_message(DocRoomMsg::LogFailed { reason: err.to_string() });
                return;
            }
        }
    }
}

/// Publishes a room's changes to the other nodes' rooms as they come, as many per round trip (a
/// pipeline) as queued meanwhile, not yet numbered (sequence 0). Ends with the room's queue.
async fn publish_changes(fanout: DocFanout, workflow: WorkflowId, mut queue: mpsc::UnboundedReceiver<Vec<u8>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if let Err(err) = fanout.publish_all(workflow, batch.iter().map(|u| (0, u.as_slice()))).await {
            // the other nodes catch up from the log on their next tick
            tracing::warn!(%workflow, error = %err, "doc updates not published");
        }
        batch.clear();
    }
}

fn overlap(config: &RoomConfig) -> time::Duration {
    time::Duration::try_from(config.log_overlap).unwrap_or(time::Duration::seconds(10))
}

/// How long a room that is starting waits for its fan-out subscription before loading without it.
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(2);

/// Forwards other nodes' updates of `workflow` into the room's mailbox until the room is gone,
/// subscribing again (after a pause) whenever the Redis connection drops. `first` is the subscription made before the room loaded, if that one succeeded.
async fn forward_remote(
    fanout: DocFanout,
    workflow: WorkflowId,
    room: ActorRef<DocRoomMsg>,
    mut first: Option<DocSubscription>,
) {
    loop {
        let subscribed = match first.take() {
            Some(subscription) => Ok(subscription),
            None => fanout.subscribe(workflow).await,
        };
        match subscribed {
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

/// Subscribes to `workflow`'s updates from other nodes and forwards them to the room. The first
/// subscription is made before this returns, so an update another node publishes after it is
/// delivered; if Redis is unreachable (or slower than `SUBSCRIBE_WAIT`) the forwarder keeps
/// trying in the background and the log catch-up fills in.
async fn subscribe_remote(
    fanout: DocFanout,
    workflow: WorkflowId,
    room: ActorRef<DocRoomMsg>,
) -> tokio::task::JoinHandle<()> {
    let first = match tokio::time::timeout(SUBSCRIBE_WAIT, fanout.subscribe(workflow)).await {
        Ok(Ok(subscription)) => Some(subscription),
        Ok(Err(err)) => {
            tracing::warn!(%workflow, error = %err, "doc fan-out subscription failed");
            None
        }
        Err(_) => {
            tracing::warn!(%workflow, "doc fan-out subscription timed out");
            None
        }
    };
    tokio::spawn(forward_remote(fanout, workflow, room, first))
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
        let subscriber = match args.config.fanout.clone() {
            Some(fanout) => Some(subscribe_remote(fanout, args.workflow, myself.clone()).await),
            None => None,
        };
        match DocRoomState::load(args).await {
            Ok(mut state) => {
                state.subscriber = subscriber;
                let (writer, queue) = mpsc::unbounded_channel();
                let (store, workflow) = (state.args.store.clone(), state.args.workflow);
                state.log_task = Some(tokio::spawn(write_log(store, workflow, queue, myself)));
                state.writer = Some(writer);
                if let Some(fanout) = state.args.config.fanout.clone() {
                    let (publisher, queue) = mpsc::unbounded_channel();
                    tokio::spawn(publish_changes(fanout, workflow, queue));
                    state.publisher = Some(publisher);
                }
                metrics::gauge!(aos_ops::metrics::DOC_ROOMS_ACTIVE).increment(1.0);
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
        metrics::gauge!(aos_ops::metrics::DOC_ROOMS_ACTIVE).decrement(1.0);
        for task in [state.ticker.take(), state.subscriber.take()].into_iter().flatten() {
            task.abort();
        }
        state.flush_relay();
        // what was relayed is logged before the room is gone (a graceful stop loses nothing)
        state.writer = None;
        if let Some(task) = state.log_task.take()
            && tokio::time::timeout(STOP_WAIT, task).await.is_err()
        {
            tracing::warn!(workflow = %state.args.workflow, "doc log writer still busy when the room stopped");
        }
        if state.log_bytes > 0 || !state.held.is_empty() {
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
        if !matches!(
            message,
            DocRoomMsg::Tick
                | DocRoomMsg::Remote(_)
                | DocRoomMsg::Logged { .. }
                | DocRoomMsg::LogFailed { .. }
                | DocRoomMsg::Compacted { .. }
        ) {
            state.args.stats.dequeued();
        }
        match message {
            DocRoomMsg::Join { access, acks, outbox, reply } => {
                let (conn, frames) = state.room.join(access);
                state.outboxes.insert(conn, outbox);
                if acks {
                    state.frames_in.insert(conn, 0);
                }
                state.empty_since = None;
                let _receiver_gone = reply.send(Joined { conn, frames });
            }
            DocRoomMsg::Frame { conn, bytes } => {
                if state.outboxes.contains_key(&conn) {
                    if let Some(frames) = state.frames_in.get_mut(&conn) {
                        *frames += 1;
                    }
                    let effects = state.room.receive(conn, &bytes);
                    let origin = state.origin(Some(conn));
                    state.perform(Some(conn), effects, origin, None)?;
                }
            }
            DocRoomMsg::Leave { conn } => state.drop_connection(conn),
            DocRoomMsg::ApplyGraph { graph, origin, reply } => {
                let (result, effects) = state.room.apply_graph(&graph);
                // answered once the change is durable
                let answer = result.map_err(|err| err.to_string());
                let then: Box<dyn FnOnce() + Send> = Box::new(move || {
                    let _receiver_gone = reply.send(answer);
                });
                state.perform(None, effects, origin, Some(then))?;
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
                Ok(effects) => state.perform(None, effects, String::new(), None)?,
                Err(err) => {
                    tracing::warn!(workflow = %state.args.workflow, seq = broadcast.seq, error = %err, "remote doc update skipped")
                }
            },
            DocRoomMsg::Logged { count, last_seq, bytes } => {
                state.last_seq = state.last_seq.max(last_seq);
                state.log_bytes += bytes;
                state.logged(count);
                let outgrown = state.log_bytes > state.snapshot_bytes.max(state.args.config.compact_min_bytes);
                if outgrown {
                    state.compact_in_background(myself);
                }
            }
            DocRoomMsg::LogFailed { reason } => {
                return Err(format!("doc log append failed: {reason}").into());
            }
            DocRoomMsg::Compacted { upto_seq, bytes, log_bytes, saved } => {
                state.compacting = false;
                if saved && upto_seq >= state.snapshot_seq {
                    tracing::debug!(workflow = %state.args.workflow, upto_seq, bytes, "doc log compacted");
                    state.snapshot_seq = upto_seq;
                    state.snapshot_bytes = bytes;
                    state.log_bytes = state.log_bytes.saturating_sub(log_bytes);
                    state.last_compaction = Instant::now();
                }
            }
            DocRoomMsg::Tick => {
                if state.args.config.fanout.is_some() {
                    state.catch_up().await?;
                }
                let effects = state.room.sweep_presence(state.args.config.presence_timeout);
                state.perform(None, effects, String::new(), None)?;
                let due = state.last_compaction.elapsed() >= state.args.config.compact_every;
                if state.log_bytes > 0 && due {
                    state.compact_in_background(myself.clone());
                }
                let idle = state.empty_since.is_some_and(|since| since.elapsed() >= state.args.config.idle_after);
                if idle && state.outboxes.is_empty() && state.held.is_empty() && !state.compacting {
                    tracing::debug!(workflow = %state.args.workflow, "doc room idle, unloading");
                    myself.stop(Some("idle".to_owned()));
                }
            }
        }
        // relay once the burst is over: nothing from a connection waits in the mailbox
        if state.args.stats.mailbox() == 0 {
            state.flush_relay();
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
            let workflow: WorkflowId = parse_key(&key, "workflow id")?;
            spawn_child(DocRoom, DocRoomArgs { workflow, store, config, stats }, supervisor).await
        })
    }
}
