//! The sans-IO core of a doc room: the yrs `Doc` and its `Awareness`, and what to do with each
//! decoded y-websocket frame from each connection. It returns effects (frames for the sender,
//! frames for everyone else, doc changes to append to the log) and never touches a socket or a
//! database, so unit tests drive it directly; the [`DocRoom`](crate::DocRoom) actor performs the
//! effects (relay at once, log through the group-commit writer, acknowledge once logged).

use std::collections::{BTreeSet, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use aos_schema::UserId;
use aos_schema::WorkflowGraph;
use aos_schema::doc::{self as wfdoc, ApplyStats, DocGraph};
use yrs::encoding::read::Cursor;
use yrs::sync::protocol::MessageReader;
use yrs::sync::{Awareness, AwarenessUpdate, DefaultProtocol, Message, Protocol, SyncMessage};
use yrs::updates::decoder::{Decode, DecoderV1};
use yrs::updates::encoder::{Encode, Encoder, EncoderV1};
use yrs::{ClientID, Doc, ReadTxn, StateVector, Transact, Update, WriteTxn};

/// A connection's number within its room.
pub type ConnId = u64;

/// What the caller (the gateway, after authentication) decided a connection may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub user_id: UserId,
    /// Shown to other editors and written into the log's origin column.
    pub name: String,
    /// Viewers sync and show presence but may not change the doc.
    pub can_write: bool,
}

/// The room's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomLimits {
    /// The largest frame a client may send; a larger one closes that client.
    pub max_frame_bytes: usize,
}

impl Default for RoomLimits {
    fn default() -> Self {
        Self { max_frame_bytes: 1024 * 1024 }
    }
}

/// Why one client's frame was refused. Each of these ends that client's connection only; the room
/// and the other clients carry on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge { size: usize, limit: usize },
    #[error("malformed frame: {reason}")]
    Malformed { reason: String },
    #[error("update could not be applied: {reason}")]
    BadUpdate { reason: String },
    #[error("connection {conn} is not in the room")]
    UnknownConnection { conn: ConnId },
}

impl ClientError {
    /// The WebSocket close code that fits (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> u16 {
        match self {
            Self::FrameTooLarge { .. } => 1009,
            Self::Malformed { .. } | Self::BadUpdate { .. } => 1007,
            Self::UnknownConnection { .. } => 1008,
        }
    }
}

/// The most awareness client ids one connection may announce.
pub const MAX_AWARENESS_IDS: usize = 8;

/// The reason sent (in a y-websocket `Auth` message) when a viewer's update is refused.
pub const READ_ONLY_REASON: &str = "permission denied: read-only access";

/// What the room wants done after one step: append `updates` to the log, send `reply` to the
/// sender, relay `changes` and `presence` to every other connection, then close the sender with
/// `close` if set. Relays stay typed, so the actor can merge a burst of them before encoding.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effects {
    /// Encoded doc changes (yrs v1) that the step made, to log.
    pub updates: Vec<Vec<u8>>,
    /// Frames for the connection that sent the frame.
    pub reply: Vec<Vec<u8>>,
    /// Doc changes (yrs v1) for every other connection: the step's own, or another node's.
    pub changes: Vec<Vec<u8>>,
    /// Presence changes for every other connection.
    pub presence: Vec<AwarenessUpdate>,
    /// Set when the sender must be disconnected (whatever it sent before the bad part still counts).
    pub close: Option<ClientError>,
    /// How many writes from a viewer were refused in this step.
    pub refused_writes: usize,
}

/// A clock in milliseconds, shared with the awareness so presence can be swept by silence.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock in milliseconds since the Unix epoch.
pub fn system_clock() -> Clock {
    Arc::new(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64))
}

#[derive(Debug)]
struct Client {
    access: Access,
    /// The awareness client ids this connection announced, removed when it leaves.
    awareness_ids: BTreeSet<u64>,
}

/// One doc with its editors.
pub struct Room {
    awareness: Awareness,
    clients: HashMap<ConnId, Client>,
    next_conn: ConnId,
    limits: RoomLimits,
    clock: Clock,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room").field("clients", &self.clients.len()).field("limits", &self.limits).finish()
    }
}

impl Room {
    /// An empty room (no skeleton yet: load the log, then call [`Room::ensure_skeleton`]).
    pub fn new(limits: RoomLimits, clock: Clock) -> Self {
        let awareness_clock = Arc::clone(&clock);
        let awareness = Awareness::with_clock(Doc::new(), move || awareness_clock());
        Self { awareness, clients: HashMap::new(), next_conn: 1, limits, clock }
    }

    /// The doc.
    pub fn doc(&self) -> &Doc {
        self.awareness.doc()
    }

    /// How many connections are in the room.
    pub fn connections(&self) -> usize {
        self.clients.len()
    }

    /// The access of a connection.
    pub fn access(&self, conn: ConnId) -> Option<&Access> {
        self.clients.get(&conn).map(|c| &c.access)
    }

    /// Applies a stored update while loading. A stored update that no longer decodes or applies is
    /// reported (and skipped) rather than making the whole doc unloadable.
    pub fn load_update(&mut self, update: &[u8]) -> Result<(), ClientError> {
        let update = decode_update(update)?;
        self.doc().transact_mut().apply_update(update).map_err(|err| ClientError::BadUpdate { reason: err.to_string() })
    }

    /// Adds the `nodes`/`edges` skeleton if the doc lacks it; the returned effects carry the change
    /// to log (and broadcast, though nobody is connected when the room loads).
    pub fn ensure_skeleton(&mut self) -> Effects {
        self.server_change(|txn| {
            let _added = wfdoc::ensure_skeleton(txn);
        })
    }

    /// The whole doc as one update, for a snapshot.
    pub fn encode_state(&self) -> Vec<u8> {
        self.doc().transact().encode_state_as_update_v1(&StateVector::default())
    }

    /// The graph the doc holds now.
    pub fn graph(&self) -> DocGraph {
        wfdoc::read_graph(&self.doc().transact())
    }

    /// Writes a whole graph as a minimal change (`PUT /api/workflows/{id}/graph`).
    pub fn apply_graph(&mut self, graph: &WorkflowGraph) -> (Result<ApplyStats, wfdoc::DocError>, Effects) {
        let mut result = Ok(ApplyStats::default());
        let effects = self.server_change(|txn| result = wfdoc::apply_graph(txn, graph));
        (result, effects)
    }

    /// Applies an update that arrived from elsewhere (another node's room): broadcast to every
    /// connection, nothing to log (the other node logged it). An update whose every block the doc
    /// already holds is skipped without applying it: the log catch-up re-reads the recent past on
    /// every tick, and applying thousands of known updates held the room up.
    pub fn apply_remote(&mut self, update: &[u8]) -> Result<Effects, ClientError> {
        let update = decode_update(update)?;
        let mut effects = Effects::default();
        if self.holds(&update) {
            return Ok(effects);
        }
        // another node's room checked it; what it depends on may still be on its way here
        let (delta, _) = self.apply(update, true)?;
        if let Some(delta) = delta {
            effects.changes.push(delta);
        }
        Ok(effects)
    }

    /// Admits a connection; returns its id and the frames it must receive first (the room's sync
    /// step 1 and the current presence).
    pub fn join(&mut self, access: Access) -> (ConnId, Vec<Vec<u8>>) {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.clients.insert(conn, Client { access, awareness_ids: BTreeSet::new() });
        let mut encoder = EncoderV1::new();
        let mut frames = Vec::new();
        // `start` writes sync step 1 then awareness; y-websocket reads one message per frame
        if DefaultProtocol.start(&self.awareness, &mut encoder).is_ok() {
            let bytes = encoder.to_vec();
            frames = split_messages(&bytes);
        }
        (conn, frames)
    }

    /// Removes a connection and the presence it announced (broadcast as removed).
    pub fn leave(&mut self, conn: ConnId) -> Effects {
        let mut effects = Effects::default();
        let Some(client) = self.clients.remove(&conn) else { return effects };
        let ids: Vec<ClientID> = client.awareness_ids.iter().map(|id| ClientID::new(*id)).collect();
        effects.presence.extend(self.remove_presence(&ids));
        effects
    }

    /// Removes the presence of every client that has been silent longer than `max_silence` (Yjs
    /// clients renew theirs every 15 s; y-protocols drops them after 30 s).
    pub fn sweep_presence(&mut self, max_silence: Duration) -> Effects {
        let now = (self.clock)();
        let limit = max_silence.as_millis() as u64;
        let silent: Vec<ClientID> = self
            .awareness
            .iter()
            .filter(|(_, state)| state.data.is_some() && now.saturating_sub(state.last_updated) > limit)
            .map(|(id, _)| id)
            .collect();
        let mut effects = Effects::default();
        effects.presence.extend(self.remove_presence(&silent));
        effects
    }

    /// The clients with presence, as (awareness client id, state JSON).
    pub fn presence(&self) -> Vec<(u64, String)> {
        let mut out: Vec<(u64, String)> = self
            .awareness
            .iter()
            .filter_map(|(id, state)| state.data.as_ref().map(|data| (id.get(), data.to_string())))
            .collect();
        out.sort();
        out
    }

    /// Handles one frame from `conn` (one or more y-sync messages).
    pub fn receive(&mut self, conn: ConnId, frame: &[u8]) -> Effects {
        let mut effects = Effects::default();
        let Some(can_write) = self.clients.get(&conn).map(|c| c.access.can_write) else {
            effects.close = Some(ClientError::UnknownConnection { conn });
            return effects;
        };
        if frame.len() > self.limits.max_frame_bytes {
            effects.close = Some(ClientError::FrameTooLarge { size: frame.len(), limit: self.limits.max_frame_bytes });
            return effects;
        }
        let messages = match decode_messages(frame) {
            Ok(messages) => messages,
            Err(err) => {
                effects.close = Some(err);
                return effects;
            }
        };
        for message in messages {
            if let Err(err) = self.handle(conn, can_write, message, &mut effects) {
                effects.close = Some(err);
                break;
            }
        }
        effects
    }

    fn handle(
        &mut self,
        conn: ConnId,
        can_write: bool,
        message: Message,
        effects: &mut Effects,
    ) -> Result<(), ClientError> {
        match message {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let update = self.doc().transact().encode_state_as_update_v1(&sv);
                effects.reply.push(encode(&Message::Sync(SyncMessage::SyncStep2(update))));
            }
            Message::Sync(SyncMessage::SyncStep2(bytes) | SyncMessage::Update(bytes)) => {
                let update = decode_update(&bytes)?;
                if !can_write {
                    if self.would_change(&update) {
                        effects.refused_writes += 1;
                        effects.reply.push(encode(&Message::Auth(Some(READ_ONLY_REASON.to_owned()))));
                    }
                    return Ok(());
                }
                let (delta, dangling) = self.apply(update, false)?;
                if let Some(delta) = delta {
                    effects.changes.push(delta.clone());
                    effects.updates.push(delta);
                }
                if dangling {
                    return Err(ClientError::BadUpdate {
                        reason: "it depends on changes this room does not have; reconnect to resync".into(),
                    });
                }
            }
            Message::Awareness(mut update) => {
                // removing a presence bumps its clock by one (yrs adds without checking), so a
                // clock at the top of its range would overflow when the client leaves; no real
                // client gets there (one tick per renewal)
                update.clients.retain(|_, entry| entry.clock < u32::MAX);
                // a connection speaks for its own awareness ids only: it cannot change or remove
                // another connection's presence
                update.clients.retain(|id, _| {
                    self.clients
                        .iter()
                        .all(|(other, client)| *other == conn || !client.awareness_ids.contains(&id.get()))
                });
                // and for a few ids at most (a Yjs client has one per doc): presence cannot be used
                // to fill the room's memory
                if let Some(client) = self.clients.get(&conn) {
                    let mut room_left = MAX_AWARENESS_IDS.saturating_sub(client.awareness_ids.len());
                    update.clients.retain(|id, _| {
                        if client.awareness_ids.contains(&id.get()) {
                            return true;
                        }
                        let admitted = room_left > 0;
                        room_left = room_left.saturating_sub(1);
                        admitted
                    });
                }
                if update.clients.is_empty() {
                    return Ok(());
                }
                if let Some(client) = self.clients.get_mut(&conn) {
                    client.awareness_ids.extend(update.clients.keys().map(|id| id.get()));
                }
                let relay = update.clone();
                let changed = self
                    .awareness
                    .apply_update_summary(update)
                    .map_err(|err| ClientError::Malformed { reason: err.to_string() })?;
                if changed.is_some() {
                    effects.presence.push(relay);
                }
            }
            Message::AwarenessQuery => {
                let update =
                    self.awareness.update().map_err(|err| ClientError::Malformed { reason: err.to_string() })?;
                effects.reply.push(encode(&Message::Awareness(update)));
            }
            // clients have no business sending auth answers or custom messages; ignore them
            Message::Auth(_) | Message::Custom(..) => {}
        }
        Ok(())
    }

    /// Applies an update to the doc; returns the change it made (none when it brought nothing new)
    /// and whether part of the update depended on changes the doc does not have. When applying
    /// fails part-way, the part yrs integrated is returned as the change, so the log never lags the
    /// doc; it is an error only when nothing was integrated.
    ///
    /// Such dependent parts wait in yrs as "pending" until what they depend on arrives. A client's
    /// updates can only depend on what it received from this room or made itself, sent in order, so
    /// a client update with pending parts is malformed: with `keep_pending` false they are dropped
    /// (yrs can fail to re-encode corrupt pending data when the doc is next synced, which must not
    /// take the room down), and the caller closes that client, which resyncs on reconnect.
    fn apply(&mut self, update: Update, keep_pending: bool) -> Result<(Option<Vec<u8>>, bool), ClientError> {
        let mut txn = self.awareness.doc().transact_mut();
        let applied = txn.apply_update(update);
        let dangling = !keep_pending && txn.prune_pending().is_some();
        let delta = txn.encode_update_v1();
        drop(txn);
        let delta = if is_empty_update(&delta) { None } else { Some(delta) };
        match applied {
            Ok(()) => Ok((delta, dangling)),
            Err(err) if delta.is_none() => Err(ClientError::BadUpdate { reason: err.to_string() }),
            // keep the integrated part: the log must hold what the doc holds
            Err(_) => Ok((delta, dangling)),
        }
    }

    /// Whether the doc holds every block of `update`: then it was applied before (an update's
    /// deletions come with its blocks). An update of deletions alone is never held.
    fn holds(&self, update: &Update) -> bool {
        let upper = update.state_vector();
        if upper.is_empty() {
            return false;
        }
        let known = self.doc().transact().state_vector();
        upper.iter().all(|(client, clock)| known.get(client) >= *clock)
    }

    /// Whether an update would change the doc: new blocks, or deletions the doc does not have.
    fn would_change(&self, update: &Update) -> bool {
        let txn = self.doc().transact();
        let sv = txn.state_vector();
        if update.extends(&sv) || update.state_vector_lower().iter().any(|(client, clock)| *clock > sv.get(client)) {
            return true;
        }
        let deleted = txn.snapshot().delete_set;
        !update.delete_set().diff(&deleted).is_empty()
    }

    fn server_change(&mut self, change: impl FnOnce(&mut yrs::TransactionMut)) -> Effects {
        let mut txn = self.awareness.doc().transact_mut();
        change(&mut txn);
        let delta = txn.encode_update_v1();
        drop(txn);
        let mut effects = Effects::default();
        if !is_empty_update(&delta) {
            effects.changes.push(delta.clone());
            effects.updates.push(delta);
        }
        effects
    }

    fn remove_presence(&mut self, ids: &[ClientID]) -> Option<AwarenessUpdate> {
        let mut removed = Vec::new();
        for id in ids {
            let present = self.awareness.iter().any(|(known, state)| known == *id && state.data.is_some());
            if present {
                self.awareness.remove_state(*id);
                removed.push(*id);
            }
        }
        if removed.is_empty() {
            return None;
        }
        self.awareness.update_with_clients(removed).ok()
    }
}

/// Encodes one y-sync message as one frame.
/// Folds a later presence change into `into`: per awareness client, the entry with the higher
/// clock (the later one on a tie).
pub fn fold_presence(into: &mut AwarenessUpdate, later: AwarenessUpdate) {
    for (client, entry) in later.clients {
        match into.clients.get(&client) {
            Some(known) if known.clock > entry.clock => {}
            _ => {
                into.clients.insert(client, entry);
            }
        }
    }
}

/// The frame relaying a presence change.
pub fn presence_frame(update: AwarenessUpdate) -> Vec<u8> {
    encode(&Message::Awareness(update))
}

/// The frame relaying one doc change.
pub fn change_frame(change: Vec<u8>) -> Vec<u8> {
    encode(&Message::Sync(SyncMessage::Update(change)))
}

/// The frame relaying several doc changes as one (merged) update; `None` if they do not merge.
pub fn merged_update_frame(updates: &[&[u8]]) -> Option<Vec<u8>> {
    let merged = yrs::merge_updates_v1(updates).ok()?;
    Some(encode(&Message::Sync(SyncMessage::Update(merged))))
}

pub fn encode(message: &Message) -> Vec<u8> {
    message.encode_v1()
}

/// Decodes every y-sync message in a frame. yrs decoding is pure; a panic inside it on hostile
/// input is caught and reported as a malformed frame, never allowed to take the room down.
pub fn decode_messages(frame: &[u8]) -> Result<Vec<Message>, ClientError> {
    check_declared_counts(frame)?;
    let decoded = catch_unwind(AssertUnwindSafe(|| {
        let mut decoder = DecoderV1::new(Cursor::new(frame));
        MessageReader::new(&mut decoder).collect::<Result<Vec<Message>, _>>()
    }));
    match decoded {
        Ok(Ok(messages)) if !messages.is_empty() => Ok(messages),
        Ok(Ok(_)) => Err(ClientError::Malformed { reason: "empty frame".to_owned() }),
        Ok(Err(err)) => Err(ClientError::Malformed { reason: err.to_string() }),
        Err(_) => Err(ClientError::Malformed { reason: "undecodable message".to_owned() }),
    }
}

fn decode_update(bytes: &[u8]) -> Result<Update, ClientError> {
    count_fits(bytes, MIN_UPDATE_CLIENT_BYTES)?;
    match catch_unwind(AssertUnwindSafe(|| Update::decode_v1(bytes))) {
        Ok(Ok(update)) => Ok(update),
        Ok(Err(err)) => Err(ClientError::Malformed { reason: format!("update: {err}") }),
        Err(_) => Err(ClientError::Malformed { reason: "undecodable update".to_owned() }),
    }
}

/// The fewest bytes one client entry of an update takes (block count, client id, clock).
const MIN_UPDATE_CLIENT_BYTES: usize = 3;
/// The fewest bytes one state vector entry takes (client id, clock).
const MIN_STATE_VECTOR_ENTRY_BYTES: usize = 2;
/// The fewest bytes one awareness entry takes (client id, clock, state length).
const MIN_AWARENESS_ENTRY_BYTES: usize = 3;

/// yrs reserves map capacity for the element count a message declares before it reads the elements
/// (updates, state vectors, awareness). The reservation is fallible, but a hash map writes its
/// control bytes at once: with memory overcommit, a 1 MB frame declaring four billion clients
/// touches gigabytes. No element is shorter than a byte or two, so a count that cannot fit in its
/// buffer is a lie, and the frame is refused before yrs sees it. Frames this walk cannot follow are
/// left to yrs's own decoding errors.
fn check_declared_counts(frame: &[u8]) -> Result<(), ClientError> {
    let mut reader = VarReader { bytes: frame, at: 0 };
    while reader.at < frame.len() {
        let Some(tag) = reader.var() else { return Ok(()) };
        match tag {
            0 => {
                let (Some(kind), Some(payload)) = (reader.var(), reader.buf()) else { return Ok(()) };
                let min = if kind == 0 { MIN_STATE_VECTOR_ENTRY_BYTES } else { MIN_UPDATE_CLIENT_BYTES };
                count_fits(payload, min)?;
            }
            1 => {
                let Some(payload) = reader.buf() else { return Ok(()) };
                count_fits(payload, MIN_AWARENESS_ENTRY_BYTES)?;
            }
            2 => {
                if reader.var() == Some(0) && reader.buf().is_none() {
                    return Ok(());
                }
            }
            3 => {}
            _ => {
                if reader.buf().is_none() {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Refuses `payload` when the element count it starts with cannot fit in it.
fn count_fits(payload: &[u8], min_entry_bytes: usize) -> Result<(), ClientError> {
    let mut reader = VarReader { bytes: payload, at: 0 };
    match reader.var() {
        Some(count) if count > (payload.len() / min_entry_bytes) as u64 => {
            Err(ClientError::Malformed { reason: format!("declares {count} entries in {} bytes", payload.len()) })
        }
        _ => Ok(()),
    }
}

/// Reads lib0 variable-length unsigned integers and length-prefixed buffers.
struct VarReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> VarReader<'a> {
    fn var(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at)?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn buf(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.var()?).ok()?;
        let end = self.at.checked_add(len)?;
        let buf = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(buf)
    }
}

fn is_empty_update(update: &[u8]) -> bool {
    Update::decode_v1(update).map_or(true, |u| u.is_empty())
}

/// Splits a buffer of concatenated messages into one frame per message.
fn split_messages(bytes: &[u8]) -> Vec<Vec<u8>> {
    decode_messages(bytes).map(|messages| messages.iter().map(encode).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
