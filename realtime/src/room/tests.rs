//! The room core driven directly: frames in, effects out.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aos_schema::doc as wfdoc;
use aos_schema::{Node, UserId, WorkflowGraph};
use yrs::sync::{Awareness, AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use super::*;

/// How many changes and presence updates a step relays to the other connections.
fn relayed(effects: &Effects) -> usize {
    effects.changes.len() + effects.presence.len()
}

fn access(can_write: bool) -> Access {
    Access { user_id: UserId::new(), name: if can_write { "editor" } else { "viewer" }.to_owned(), can_write }
}

fn manual_clock() -> (Arc<AtomicU64>, Clock) {
    let now = Arc::new(AtomicU64::new(1_000_000));
    let reader = Arc::clone(&now);
    (now, Arc::new(move || reader.load(Ordering::SeqCst)))
}

fn room() -> Room {
    let mut room = Room::new(RoomLimits { max_frame_bytes: 4096 }, system_clock());
    let effects = room.ensure_skeleton();
    assert_eq!(effects.updates.len(), 1, "a fresh room writes its skeleton");
    room
}

/// A client doc that starts from the room's state.
fn client_of(room: &Room) -> Doc {
    let doc = Doc::new();
    let state = room.encode_state();
    doc.transact_mut().apply_update(Update::decode_v1(&state).unwrap()).unwrap();
    doc
}

/// The update a client makes when it writes `graph`.
fn edit(doc: &Doc, graph: &WorkflowGraph) -> Vec<u8> {
    let mut txn = doc.transact_mut();
    wfdoc::apply_graph(&mut txn, graph).unwrap();
    txn.encode_update_v1()
}

fn update_frame(update: Vec<u8>) -> Vec<u8> {
    Message::Sync(SyncMessage::Update(update)).encode_v1()
}

fn one_node(id: &str) -> WorkflowGraph {
    WorkflowGraph::new().with_node(Node::new(id, "trigger.manual"))
}

#[test]
fn a_new_connection_gets_sync_step_1_and_presence_one_message_per_frame() {
    let mut room = room();
    let (_, frames) = room.join(access(true));
    assert_eq!(frames.len(), 2);
    let first = decode_messages(&frames[0]).unwrap();
    assert!(matches!(first.as_slice(), [Message::Sync(SyncMessage::SyncStep1(_))]));
    let second = decode_messages(&frames[1]).unwrap();
    assert!(matches!(second.as_slice(), [Message::Awareness(_)]));
}

#[test]
fn sync_step_1_is_answered_with_the_whole_missing_state() {
    let mut room = room();
    let (writer, _) = room.join(access(true));
    let author = client_of(&room);
    room.receive(writer, &update_frame(edit(&author, &one_node("a"))));

    let (late, _) = room.join(access(false));
    let effects = room.receive(late, &Message::Sync(SyncMessage::SyncStep1(StateVector::default())).encode_v1());
    let [reply] = effects.reply.as_slice() else { panic!("one reply expected") };
    let decoded = decode_messages(reply).unwrap();
    let [Message::Sync(SyncMessage::SyncStep2(update))] = decoded.as_slice() else { panic!() };
    let doc = Doc::new();
    doc.transact_mut().apply_update(Update::decode_v1(update).unwrap()).unwrap();
    assert_eq!(wfdoc::graph_from_doc(&doc), one_node("a"));
    assert!(effects.updates.is_empty() && relayed(&effects) == 0);
}

#[test]
fn an_editors_update_is_logged_and_broadcast_but_not_echoed() {
    let mut room = room();
    let (writer, _) = room.join(access(true));
    let author = client_of(&room);
    let effects = room.receive(writer, &update_frame(edit(&author, &one_node("a"))));
    assert_eq!(effects.updates.len(), 1);
    assert_eq!(relayed(&effects), 1);
    assert!(effects.reply.is_empty() && effects.close.is_none());
    assert_eq!(room.graph().graph, one_node("a"));

    // the same update again brings nothing: nothing to log or broadcast
    let again =
        room.receive(writer, &update_frame(author.transact().encode_state_as_update_v1(&StateVector::default())));
    assert!(again.updates.is_empty() && relayed(&again) == 0 && again.close.is_none());
}

#[test]
fn a_viewers_write_is_refused_and_its_plain_sync_is_not() {
    let mut room = room();
    let (viewer, _) = room.join(access(false));
    let viewer_doc = client_of(&room);

    // a viewer answering sync step 1 with nothing new is fine, even though Yjs sends the delete set
    let step2 = viewer_doc.transact().encode_state_as_update_v1(&room.doc().transact().state_vector());
    let quiet = room.receive(viewer, &Message::Sync(SyncMessage::SyncStep2(step2)).encode_v1());
    assert_eq!(quiet, Effects::default());

    let effects = room.receive(viewer, &update_frame(edit(&viewer_doc, &one_node("sneaky"))));
    assert_eq!(effects.refused_writes, 1);
    assert!(effects.updates.is_empty() && relayed(&effects) == 0 && effects.close.is_none());
    let [reply] = effects.reply.as_slice() else { panic!() };
    assert_eq!(decode_messages(reply).unwrap(), [Message::Auth(Some(READ_ONLY_REASON.to_owned()))]);
    assert!(room.graph().graph.nodes.is_empty());
}

#[test]
fn a_viewers_deletion_is_a_write_too() {
    let mut room = room();
    let (writer, _) = room.join(access(true));
    let author = client_of(&room);
    room.receive(writer, &update_frame(edit(&author, &one_node("keep"))));
    let (viewer, _) = room.join(access(false));
    let viewer_doc = client_of(&room);
    let effects = room.receive(viewer, &update_frame(edit(&viewer_doc, &WorkflowGraph::new())));
    assert_eq!(effects.refused_writes, 1);
    assert_eq!(room.graph().graph, one_node("keep"));
}

#[test]
fn corrupt_and_oversized_frames_close_only_their_sender() {
    let mut room = room();
    let (bad, _) = room.join(access(true));
    let (good, _) = room.join(access(true));
    let author = client_of(&room);

    let garbage = room.receive(bad, &[0, 2, 200, 1, 2, 3]);
    assert!(matches!(garbage.close, Some(ClientError::Malformed { .. })), "{garbage:?}");
    let not_an_update = room.receive(bad, &update_frame(vec![9, 9, 9, 9, 9]));
    assert!(matches!(not_an_update.close, Some(ClientError::Malformed { .. })), "{not_an_update:?}");
    let huge = room.receive(bad, &vec![0; 5000]);
    assert_eq!(huge.close, Some(ClientError::FrameTooLarge { size: 5000, limit: 4096 }));
    assert_eq!(huge.close.as_ref().map(ClientError::close_code), Some(1009));

    let fine = room.receive(good, &update_frame(edit(&author, &one_node("a"))));
    assert!(fine.close.is_none() && fine.updates.len() == 1);
}

#[test]
fn presence_is_relayed_and_removed_when_its_connection_leaves() {
    let mut room = room();
    let (alice, _) = room.join(access(true));
    let (_bob, _) = room.join(access(true));
    let mut alice_awareness = Awareness::new(Doc::new());
    alice_awareness.set_local_state(serde_json::json!({"user": {"name": "alice"}})).unwrap();
    let update = alice_awareness.update().unwrap();
    let effects = room.receive(alice, &Message::Awareness(update).encode_v1());
    assert_eq!(relayed(&effects), 1);
    assert_eq!(room.presence().len(), 1);

    let left = room.leave(alice);
    let [AwarenessUpdate { clients }] = left.presence.as_slice() else { panic!("a removal is relayed") };
    assert!(clients.values().all(|entry| &*entry.json == "null"));
    assert!(room.presence().is_empty());
    assert_eq!(room.connections(), 1);
}

#[test]
fn silent_presence_is_swept() {
    let (now, clock) = manual_clock();
    let mut room = Room::new(RoomLimits::default(), clock);
    let (conn, _) = room.join(access(false));
    let mut awareness = Awareness::new(Doc::new());
    awareness.set_local_state(serde_json::json!({"user": "quiet"})).unwrap();
    room.receive(conn, &Message::Awareness(awareness.update().unwrap()).encode_v1());
    assert_eq!(relayed(&room.sweep_presence(Duration::from_secs(30))), 0);
    now.fetch_add(31_000, Ordering::SeqCst);
    assert_eq!(relayed(&room.sweep_presence(Duration::from_secs(30))), 1);
    assert!(room.presence().is_empty());
}

#[test]
fn a_whole_graph_from_the_server_is_a_logged_broadcast_change() {
    let mut room = room();
    let (result, effects) = room.apply_graph(&one_node("x"));
    assert_eq!(result.unwrap().written, 1);
    assert_eq!((effects.updates.len(), relayed(&effects)), (1, 1));
    let (result, effects) = room.apply_graph(&one_node("x"));
    assert!(result.unwrap().is_unchanged());
    assert_eq!(effects, Effects::default());
}

#[test]
fn a_connection_cannot_touch_anothers_presence() {
    let mut room = room();
    let (alice, _) = room.join(access(true));
    let (mallory, _) = room.join(access(false));
    let mut awareness = Awareness::new(Doc::new());
    awareness.set_local_state(serde_json::json!({"user": "alice"})).unwrap();
    room.receive(alice, &Message::Awareness(awareness.update().unwrap()).encode_v1());
    assert_eq!(room.presence().len(), 1);

    // mallory replays alice's id with a null state (a removal) and a newer clock
    awareness.clean_local_state();
    let removal = awareness.update_with_clients([awareness.client_id()]).unwrap();
    let effects = room.receive(mallory, &Message::Awareness(removal).encode_v1());
    assert!(relayed(&effects) == 0 && effects.close.is_none());
    assert_eq!(room.presence().len(), 1, "alice is still present");
}

#[test]
fn one_connection_announces_a_few_presence_ids_at_most() {
    let mut room = room();
    let (conn, _) = room.join(access(true));
    let mut flood = AwarenessUpdate { clients: Default::default() };
    for id in 1..=100u64 {
        flood.clients.insert(
            yrs::ClientID::new(id),
            yrs::sync::awareness::AwarenessUpdateEntry { clock: 1, json: Arc::from("{\"user\":\"x\"}") },
        );
    }
    room.receive(conn, &Message::Awareness(flood).encode_v1());
    assert_eq!(room.presence().len(), MAX_AWARENESS_IDS);
    assert_eq!(relayed(&room.leave(conn)), 1);
    assert!(room.presence().is_empty());
}

#[test]
fn frames_declaring_more_entries_than_they_hold_are_refused_before_decoding() {
    let mut room = room();
    let (conn, _) = room.join(access(true));
    // an update that declares 2^32 - 1 clients in 7 bytes, a state vector declaring 2^21, and an
    // awareness update declaring 2^35: each would make yrs reserve a map of that many entries
    let huge_update = [0u8, 2, 6, 0xff, 0xff, 0xff, 0xff, 0x0f, 0];
    let huge_state_vector = [0u8, 0, 4, 0x80, 0x80, 0x80, 0x01];
    let huge_awareness = [1u8, 6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
    for frame in [&huge_update[..], &huge_state_vector[..], &huge_awareness[..]] {
        let effects = room.receive(conn, frame);
        assert!(matches!(effects.close, Some(ClientError::Malformed { .. })), "{frame:?}: {effects:?}");
        assert!(effects.updates.is_empty() && relayed(&effects) == 0);
    }
    // a real update still goes through the same check
    let client = client_of(&room);
    let effects = room.receive(conn, &update_frame(edit(&client, &one_node("a"))));
    assert!(effects.close.is_none(), "{effects:?}");
    assert_eq!(effects.updates.len(), 1);
}

#[test]
fn a_presence_clock_at_its_limit_is_ignored_so_leaving_cannot_overflow_it() {
    let mut room = room();
    let (conn, _) = room.join(access(true));
    let mut update = AwarenessUpdate { clients: Default::default() };
    update.clients.insert(
        yrs::ClientID::new(67),
        yrs::sync::awareness::AwarenessUpdateEntry { clock: u32::MAX, json: Arc::from("{\"user\":\"x\"}") },
    );
    let effects = room.receive(conn, &Message::Awareness(update).encode_v1());
    assert!(effects.close.is_none() && relayed(&effects) == 0, "{effects:?}");
    assert!(room.presence().is_empty());
    assert_eq!(relayed(&room.leave(conn)), 0);
}

#[test]
fn a_remote_update_the_doc_already_holds_is_skipped_and_a_new_one_applied() {
    let mut room = room();
    let remote = client_of(&room);
    let added = edit(&remote, &one_node("start"));
    let first = room.apply_remote(&added).unwrap();
    assert_eq!(first.changes.len(), 1, "a new change is relayed");
    let again = room.apply_remote(&added).unwrap();
    assert!(relayed(&again) == 0 && again.updates.is_empty(), "a known change is skipped");
    // a deletion alone carries no blocks: it is applied however often it comes
    let removed = edit(&remote, &WorkflowGraph::new());
    assert_eq!(room.apply_remote(&removed).unwrap().changes.len(), 1);
    assert!(room.graph().graph.node("start").is_none(), "the deletion took effect");
}
