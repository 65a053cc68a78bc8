//! The browser's replica of a workflow's live doc, sans IO: a yrs `Doc` with its awareness and a
//! local undo manager, speaking the y-websocket protocol (`yrs::sync`) as bytes in, bytes out. The
//! socket (`ws.rs`) only carries frames; this module decides what they mean. The doc's shape is
//! `aos_schema::doc`'s (the server creates the skeleton; this replica never does).
//!
//! - On connect it sends sync step 1 (its state vector) and its presence; the server's step 1 is
//!   answered with step 2 (what the server lacks), so edits made offline merge on reconnect.
//! - Local edits are one transaction each (origin [`LOCAL`]): the graph is written with
//!   `aos_schema::doc::apply_graph`, so only the fields that changed are touched, and the
//!   transaction's update is sent as a sync `Update` while connected.
//! - Undo and redo cover local transactions only (a co-editor's change is never undone here).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use aos_schema::WorkflowGraph;
use aos_schema::doc::{DocGraph, EDGES, NODES, ROOT, apply_graph, has_skeleton, read_graph};
use serde::{Deserialize, Serialize};
use yrs::sync::{Awareness, Message, SyncMessage};
use yrs::undo::Options as UndoOptions;
use yrs::updates::decoder::{Decode, DecoderV1};
use yrs::updates::encoder::Encode;
use yrs::{Doc, Map, Out, ReadTxn, StateVector, Transact, UndoManager, Update};

/// The origin of this replica's own edits (tracked by the undo manager, sent to the server).
pub const LOCAL: &str = "aos-local";
/// The origin of changes applied from the server (never sent back).
const REMOTE: &str = "aos-remote";

/// Milliseconds since the epoch (awareness timestamps and undo grouping).
pub type Clock = fn() -> u64;

/// Why a frame or an edit failed.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("the frame does not decode: {0}")]
    Decode(String),
    #[error("the update cannot be applied: {0}")]
    Apply(String),
    #[error("the doc is not synced yet")]
    NotSynced,
    #[error("the doc could not be changed: {0}")]
    Doc(#[from] aos_schema::doc::DocError),
}

/// What a co-editor shares about themself (the awareness state, JSON as Yjs clients write it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    #[serde(default)]
    pub user: PresenceUser,
    /// The pointer on the canvas in world units, when it is over the canvas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<(f64, f64)>,
    /// Selected node ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selection: Vec<String>,
}

/// Who a co-editor is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PresenceUser {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub colour: String,
}

/// What one incoming frame did.
#[derive(Debug, Default, PartialEq)]
pub struct Received {
    /// Frames to send back (sync step 2 answers).
    pub replies: Vec<Vec<u8>>,
    /// The doc changed: re-read the graph.
    pub doc_changed: bool,
    /// Someone's presence changed.
    pub presence_changed: bool,
    /// The server refused an update (a viewer's edit): its reason.
    pub denied: Option<String>,
    /// The first sync finished (the server's step 2 arrived).
    pub synced_now: bool,
}

/// The replica.
pub struct LiveDoc {
    awareness: Awareness,
    undo: Option<UndoManager>,
    /// Updates of local transactions not yet framed.
    outbox: Arc<Mutex<Vec<Vec<u8>>>>,
    connected: bool,
    synced: bool,
    clock: Clock,
}

impl std::fmt::Debug for LiveDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveDoc")
            .field("client_id", &self.client_id())
            .field("connected", &self.connected)
            .field("synced", &self.synced)
            .finish()
    }
}

impl LiveDoc {
    /// An empty replica. `client_id` fixes the Yjs client id (tests); `None` draws one.
    pub fn new(client_id: Option<u64>, clock: Clock) -> Self {
        let doc = match client_id {
            Some(id) => Doc::with_client_id(id),
            None => Doc::new(),
        };
        let outbox: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let sink = outbox.clone();
        // only this replica's transactions go out; what came from the server does not echo back
        let _ = doc.observe_update_v1("aos-outbox", move |txn, event| {
            let remote = txn.origin().is_some_and(|o| o == &yrs::Origin::from(REMOTE));
            if !remote && let Ok(mut queue) = sink.lock() {
                queue.push(event.update.clone());
            }
        });
        Self {
            awareness: Awareness::with_clock(doc, clock),
            undo: None,
            outbox,
            connected: false,
            synced: false,
            clock,
        }
    }

    pub fn client_id(&self) -> u64 {
        self.awareness.client_id().get()
    }

    /// Whether the first sync with the server finished and the doc has its skeleton.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The socket opened: the frames to send first (sync step 1, then our presence).
    pub fn connected(&mut self) -> Vec<Vec<u8>> {
        self.connected = true;
        self.take_outbox();
        let sv = self.awareness.doc().transact().state_vector();
        let mut frames = vec![Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1()];
        frames.extend(self.presence_frame());
        frames
    }

    /// The socket closed: edits stay in the doc and go out with the next sync.
    pub fn disconnected(&mut self) {
        self.connected = false;
        self.take_outbox();
        let me = self.awareness.client_id();
        let others: Vec<_> = self.awareness.iter().map(|(id, _)| id).filter(|id| *id != me).collect();
        for id in others {
            self.awareness.remove_state(id);
        }
    }

    /// Handles one frame from the server.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Received, LiveError> {
        let mut out = Received::default();
        let mut decoder = DecoderV1::from(frame);
        let reader = yrs::sync::MessageReader::new(&mut decoder);
        for message in reader {
            match message.map_err(|e| LiveError::Decode(e.to_string()))? {
                Message::Sync(SyncMessage::SyncStep1(sv)) => {
                    let update = self.awareness.doc().transact().encode_state_as_update_v1(&sv);
                    out.replies.push(Message::Sync(SyncMessage::SyncStep2(update)).encode_v1());
                }
                Message::Sync(SyncMessage::SyncStep2(update)) => {
                    out.doc_changed |= self.apply_remote(&update)?;
                    if !self.synced && self.has_skeleton() {
                        self.synced = true;
                        out.synced_now = true;
                        self.start_undo();
                        out.doc_changed = true;
                    }
                }
                Message::Sync(SyncMessage::Update(update)) => {
                    out.doc_changed |= self.apply_remote(&update)?;
                    if !self.synced && self.has_skeleton() {
                        self.synced = true;
                        out.synced_now = true;
                        self.start_undo();
                    }
                }
                Message::Awareness(update) => {
                    self.awareness.apply_update(update).map_err(|e| LiveError::Decode(e.to_string()))?;
                    out.presence_changed = true;
                }
                Message::AwarenessQuery => out.replies.extend(self.presence_frame()),
                Message::Auth(reason) => out.denied = reason,
                Message::Custom(..) => {}
            }
        }
        Ok(out)
    }

    /// Applies an update from the server; returns whether it held anything (a deletion-only
    /// update leaves the state vector as it was, so that cannot be the test).
    fn apply_remote(&mut self, update: &[u8]) -> Result<bool, LiveError> {
        let decoded = Update::decode_v1(update).map_err(|e| LiveError::Decode(e.to_string()))?;
        let empty = decoded.is_empty();
        let mut txn = self.awareness.doc().transact_mut_with(REMOTE);
        txn.apply_update(decoded).map_err(|e| LiveError::Apply(e.to_string()))?;
        Ok(!empty)
    }

    fn has_skeleton(&self) -> bool {
        has_skeleton(&self.awareness.doc().transact())
    }

    fn start_undo(&mut self) {
        let doc = self.awareness.doc().clone();
        let (nodes, edges) = {
            let txn = doc.transact();
            let Some(root) = txn.get_map(ROOT) else { return };
            match (root.get(&txn, NODES), root.get(&txn, EDGES)) {
                (Some(Out::YMap(n)), Some(Out::YMap(e))) => (n, e),
                _ => return,
            }
        };
        let options = UndoOptions {
            capture_timeout_millis: 0,
            tracked_origins: HashSet::from([yrs::Origin::from(LOCAL)]),
            capture_transaction: None,
            timestamp: Arc::new(self.clock),
            init_undo_stack: Vec::new(),
            init_redo_stack: Vec::new(),
        };
        let mut undo = UndoManager::with_options(options);
        undo.expand_scope(&doc, &nodes);
        undo.expand_scope(&doc, &edges);
        self.undo = Some(undo);
    }

    /// The graph the doc holds now (with the dangling edges and malformed keys aside).
    pub fn graph(&self) -> DocGraph {
        read_graph(&self.awareness.doc().transact())
    }

    /// Makes the doc hold `graph` as one local change; returns the frames to send (none offline,
    /// none when nothing changed).
    pub fn edit(&mut self, graph: &WorkflowGraph) -> Result<Vec<Vec<u8>>, LiveError> {
        if !self.synced {
            return Err(LiveError::NotSynced);
        }
        {
            let mut txn = self.awareness.doc().transact_mut_with(LOCAL);
            apply_graph(&mut txn, graph)?;
        }
        Ok(self.take_outbox())
    }

    /// Undoes this replica's last change; returns the frames to send.
    pub fn undo(&mut self) -> Vec<Vec<u8>> {
        if let Some(undo) = self.undo.as_mut() {
            undo.undo_blocking();
        }
        self.take_outbox()
    }

    /// Redoes the last undone change; returns the frames to send.
    pub fn redo(&mut self) -> Vec<Vec<u8>> {
        if let Some(undo) = self.undo.as_mut() {
            undo.redo_blocking();
        }
        self.take_outbox()
    }

    pub fn can_undo(&self) -> bool {
        self.undo.as_ref().is_some_and(|u| u.can_undo())
    }

    pub fn can_redo(&self) -> bool {
        self.undo.as_ref().is_some_and(|u| u.can_redo())
    }

    /// The pending local updates as sync `Update` frames (dropped when offline: the next sync
    /// carries them).
    fn take_outbox(&mut self) -> Vec<Vec<u8>> {
        let updates = self.outbox.lock().map(|mut q| std::mem::take(&mut *q)).unwrap_or_default();
        if !self.connected {
            return Vec::new();
        }
        updates.into_iter().map(|u| Message::Sync(SyncMessage::Update(u)).encode_v1()).collect()
    }

    /// Sets what this replica shares; returns the frame to send (none offline).
    pub fn set_presence(&mut self, presence: &Presence) -> Option<Vec<u8>> {
        if self.awareness.local_state::<Presence>().as_ref() == Some(presence) {
            return None;
        }
        self.awareness.set_local_state(presence).ok()?;
        if self.connected { self.presence_frame() } else { None }
    }

    fn presence_frame(&self) -> Option<Vec<u8>> {
        let update = self.awareness.update_with_clients([self.awareness.client_id()]).ok()?;
        Some(Message::Awareness(update).encode_v1())
    }

    /// The other editors here now, by client id.
    pub fn peers(&self) -> BTreeMap<u64, Presence> {
        let me = self.awareness.client_id();
        self.awareness
            .iter()
            .filter(|(id, _)| *id != me)
            .filter_map(|(id, state)| {
                let data = state.data?;
                serde_json::from_str::<Presence>(&data).ok().map(|p| (id.get(), p))
            })
            .collect()
    }

    /// The doc's state vector (for tests and diagnostics).
    pub fn state_vector(&self) -> StateVector {
        self.awareness.doc().transact().state_vector()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::doc::skeleton_update;
    use aos_schema::{Edge, Node, kinds};

    fn clock() -> u64 {
        1
    }

    /// A stand-in for the server's room: a doc with the skeleton that answers sync and relays
    /// updates (the real room is tested in `realtime`; the browser tests use the real server).
    struct Relay {
        doc: Doc,
    }

    impl Relay {
        fn new() -> Self {
            let doc = Doc::new();
            let mut txn = doc.transact_mut();
            txn.apply_update(Update::decode_v1(&skeleton_update()).unwrap()).unwrap();
            drop(txn);
            Self { doc }
        }

        /// Handles a client frame: the replies to that client and the frames for the others.
        fn handle(&self, frame: &[u8]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
            let mut replies = Vec::new();
            let mut broadcast = Vec::new();
            let mut decoder = DecoderV1::from(frame);
            for message in yrs::sync::MessageReader::new(&mut decoder) {
                match message.unwrap() {
                    Message::Sync(SyncMessage::SyncStep1(sv)) => {
                        let update = self.doc.transact().encode_state_as_update_v1(&sv);
                        replies.push(Message::Sync(SyncMessage::SyncStep2(update)).encode_v1());
                        let mine = self.doc.transact().state_vector();
                        replies.push(Message::Sync(SyncMessage::SyncStep1(mine)).encode_v1());
                    }
                    Message::Sync(SyncMessage::SyncStep2(u)) | Message::Sync(SyncMessage::Update(u)) => {
                        self.doc.transact_mut().apply_update(Update::decode_v1(&u).unwrap()).unwrap();
                        broadcast.push(Message::Sync(SyncMessage::Update(u)).encode_v1());
                    }
                    Message::Awareness(a) => broadcast.push(Message::Awareness(a).encode_v1()),
                    _ => {}
                }
            }
            (replies, broadcast)
        }
    }

    /// Connects `client` to `relay`, running the handshake; returns frames for the others.
    fn connect(relay: &Relay, client: &mut LiveDoc) -> Vec<Vec<u8>> {
        let mut others = Vec::new();
        let mut pending = client.connected();
        while !pending.is_empty() {
            let mut next = Vec::new();
            for frame in pending {
                let (replies, broadcast) = relay.handle(&frame);
                others.extend(broadcast);
                for reply in replies {
                    next.extend(client.receive(&reply).unwrap().replies);
                }
            }
            pending = next;
        }
        others
    }

    /// Sends `frames` from a client through the relay to `to`.
    fn deliver(relay: &Relay, frames: Vec<Vec<u8>>, to: &mut LiveDoc) {
        for frame in frames {
            let (_, broadcast) = relay.handle(&frame);
            for b in broadcast {
                to.receive(&b).unwrap();
            }
        }
    }

    fn graph() -> WorkflowGraph {
        WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("d", kinds::LOGIC_DELAY).with_position(300.0, 0.0).with_config("seconds", 1))
            .with_edge(Edge::new("e1", "t", "d"))
    }

    #[test]
    fn two_replicas_see_each_others_edits() {
        let relay = Relay::new();
        let (mut a, mut b) = (LiveDoc::new(Some(11), clock), LiveDoc::new(Some(22), clock));
        assert!(matches!(a.edit(&graph()), Err(LiveError::NotSynced)));
        connect(&relay, &mut a);
        connect(&relay, &mut b);
        assert!(a.is_synced() && b.is_synced());
        let frames = a.edit(&graph()).unwrap();
        assert!(!frames.is_empty());
        deliver(&relay, frames, &mut b);
        assert_eq!(b.graph().graph, graph().sorted());
        // an edit that changes nothing sends nothing
        assert!(a.edit(&graph()).unwrap().is_empty());
        // a deletion (which adds no item) still tells the other replica to re-read
        let mut smaller = graph();
        smaller.remove_node("d");
        let frames = a.edit(&smaller).unwrap();
        let (_, broadcast) = relay.handle(&frames[0]);
        let received = b.receive(&broadcast[0]).unwrap();
        assert!(received.doc_changed);
        assert_eq!(b.graph().graph, smaller.sorted());
    }

    #[test]
    fn offline_edits_merge_on_reconnect() {
        let relay = Relay::new();
        let (mut a, mut b) = (LiveDoc::new(Some(1), clock), LiveDoc::new(Some(2), clock));
        connect(&relay, &mut a);
        connect(&relay, &mut b);
        deliver(&relay, a.edit(&graph()).unwrap(), &mut b);

        a.disconnected();
        let mut moved = graph();
        moved.node_mut("d").unwrap().position.x = 500.0;
        assert!(a.edit(&moved).unwrap().is_empty(), "nothing is sent offline");
        // meanwhile b renames the same node
        let mut renamed = b.graph().graph;
        renamed.node_mut("d").unwrap().label = "Wait".into();
        for frame in b.edit(&renamed).unwrap() {
            relay.handle(&frame);
        }
        // a comes back: both changes survive on both sides
        let for_b = connect(&relay, &mut a);
        for frame in for_b {
            b.receive(&frame).unwrap();
        }
        let node_a = a.graph().graph.node("d").cloned().unwrap();
        let node_b = b.graph().graph.node("d").cloned().unwrap();
        assert_eq!((node_a.position.x, node_a.label.as_str()), (500.0, "Wait"));
        assert_eq!(node_a, node_b);
    }

    #[test]
    fn undo_and_redo_cover_local_changes_only() {
        let relay = Relay::new();
        let (mut a, mut b) = (LiveDoc::new(Some(5), clock), LiveDoc::new(Some(6), clock));
        connect(&relay, &mut a);
        connect(&relay, &mut b);
        deliver(&relay, a.edit(&graph()).unwrap(), &mut b);
        // b adds a node; a deletes the delay
        let mut with_more = b.graph().graph;
        with_more.nodes.push(Node::new("h", kinds::HTTP_REQUEST));
        deliver(&relay, b.edit(&with_more).unwrap(), &mut a);
        let mut without = a.graph().graph;
        without.remove_node("d");
        deliver(&relay, a.edit(&without).unwrap(), &mut b);
        assert!(b.graph().graph.node("d").is_none());

        assert!(a.can_undo());
        deliver(&relay, a.undo(), &mut b);
        let restored = b.graph().graph;
        assert!(restored.node("d").is_some() && restored.edge("e1").is_some(), "the delete is undone everywhere");
        assert!(restored.node("h").is_some(), "the co-editor's node stays");
        assert!(a.can_redo());
        deliver(&relay, a.redo(), &mut b);
        assert!(b.graph().graph.node("d").is_none());
    }

    #[test]
    fn presence_travels_and_leaves_with_the_connection() {
        let relay = Relay::new();
        let (mut a, mut b) = (LiveDoc::new(Some(7), clock), LiveDoc::new(Some(8), clock));
        connect(&relay, &mut a);
        connect(&relay, &mut b);
        let me = Presence {
            user: PresenceUser { name: "Ada".into(), colour: "#E84B4B".into() },
            cursor: Some((10.0, 20.0)),
            selection: vec!["d".into()],
        };
        let frame = a.set_presence(&me).unwrap();
        assert!(a.set_presence(&me).is_none(), "an unchanged presence is not resent");
        deliver(&relay, vec![frame], &mut b);
        assert_eq!(b.peers().get(&7), Some(&me));
        b.disconnected();
        assert!(b.peers().is_empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut a = LiveDoc::new(Some(9), clock);
        // an update whose bytes are not an update; an unknown sync message type
        assert!(a.receive(&[0, 2, 3, 0xff, 0xff, 0xff]).is_err());
        assert!(a.receive(&[0, 7, 0]).is_err());
        // a truncated frame ends quietly
        let _ = a.receive(&[0, 2, 200, 1, 2]);
        assert!(a.receive(&[]).is_ok_and(|r| r == Received::default()));
    }
}
