//! The fuzz entry point of the doc room: arbitrary y-sync frames from an editor and a viewer into
//! the sans-IO [`Room`]. It must never panic, and it checks the room's promises on every step:
//! frames it sends decode, a viewer never changes the doc, and the changes it hands out for the log
//! rebuild exactly the doc it holds. The cargo-fuzz target `room_frames` and
//! `tests/fuzz_regressions.rs` both call [`room_frames`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aos_schema::UserId;
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, Transact, Update};

use crate::room::{Access, Room, RoomLimits, decode_messages};

/// Input: records of `[op][len lo][len hi][frame...]`. `op % 4`: 0 and 2 are frames from two
/// editors, 1 a frame from a viewer, 3 ends the first editor's connection and opens a new one (and
/// sweeps presence). A closed connection is replaced, as a reconnecting client would be.
pub fn room_frames(data: &[u8]) {
    let now = Arc::new(AtomicU64::new(1_000));
    let clock_now = Arc::clone(&now);
    let mut room =
        Room::new(RoomLimits { max_frame_bytes: 64 * 1024 }, Arc::new(move || clock_now.load(Ordering::Relaxed)));
    let log = Doc::new();
    let record = |updates: &[Vec<u8>]| {
        for update in updates {
            let decoded =
                Update::decode_v1(update).unwrap_or_else(|err| panic!("a logged change does not decode: {err}"));
            log.transact_mut()
                .apply_update(decoded)
                .unwrap_or_else(|err| panic!("a logged change does not apply: {err}"));
        }
    };
    record(&room.ensure_skeleton().updates);
    let editor = |name: &str| Access { user_id: UserId::new(), name: name.to_owned(), can_write: true };
    let viewer = Access { user_id: UserId::new(), name: "viewer".to_owned(), can_write: false };
    let mut conns = [room.join(editor("a")).0, room.join(viewer.clone()).0, room.join(editor("b")).0];
    let mut rest = data;
    while let [op, lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (frame, next) = tail.split_at(len);
        rest = next;
        now.fetch_add(u64::from(*op) * 100, Ordering::Relaxed);
        let slot = usize::from(op % 4);
        if slot == 3 {
            let left = room.leave(conns[0]);
            check_relays(&left);
            conns[0] = room.join(editor("a")).0;
            let swept = room.sweep_presence(Duration::from_millis(500));
            check_relays(&swept);
            continue;
        }
        let before = room.doc().transact().state_vector();
        let effects = room.receive(conns[slot], frame);
        check_frames(&effects.reply);
        check_relays(&effects);
        if slot == 1 {
            assert!(effects.updates.is_empty(), "a viewer's frame produced a change to log");
            assert_eq!(before, room.doc().transact().state_vector(), "a viewer changed the doc");
        }
        record(&effects.updates);
        if effects.close.is_some() {
            let access = room.access(conns[slot]).cloned();
            let _ = room.leave(conns[slot]);
            conns[slot] = room.join(access.unwrap_or_else(|| viewer.clone())).0;
        }
    }
    // A client the doc knows with no blocks (clock 0) is the same as one it does not know: an
    // update that integrates nothing for a client can leave such an entry, and no change carries it.
    let clocks = |doc: &Doc| {
        doc.transact()
            .state_vector()
            .iter()
            .filter(|(_, clock)| **clock > 0)
            .map(|(c, k)| (*c, *k))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(clocks(room.doc()), clocks(&log), "the logged changes do not rebuild the doc the room holds");
    let _ = room.graph();
    let _ = room.presence();
}

/// What the room relays must make well-formed frames.
fn check_relays(effects: &crate::room::Effects) {
    let changes = effects.changes.iter().map(|change| crate::room::change_frame(change.clone()));
    let presence = effects.presence.iter().map(|update| crate::room::presence_frame(update.clone()));
    check_frames(&changes.chain(presence).collect::<Vec<_>>());
}

/// Every frame the room sends must be a well-formed y-sync message.
fn check_frames(frames: &[Vec<u8>]) {
    for frame in frames {
        if let Err(err) = decode_messages(frame) {
            panic!("the room sent a frame that does not decode: {err}");
        }
    }
}
