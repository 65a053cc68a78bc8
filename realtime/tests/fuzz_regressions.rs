//! Every committed fuzz input of this crate's targets (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`)
//! replayed through the same entry function the fuzzer calls, so the seeds and every fixed crash
//! run in the default suite.

#[path = "../../fuzz/replay.rs"]
mod replay;

#[test]
fn room_frames_inputs_replay_cleanly() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), "room_frames", aos_realtime::fuzzing::room_frames);
}

/// Real editor traffic (a sync step 1, a graph written as one update, presence, an awareness
/// query), framed as the `room_frames` target reads it. The committed seeds `real-*` were written
/// by this test with `AOS_WRITE_FUZZ_SEEDS=1`.
#[test]
fn real_editor_traffic_replays_cleanly() {
    use yrs::sync::{Awareness, Message, SyncMessage};
    use yrs::updates::encoder::Encode;
    use yrs::{ReadTxn, StateVector, Transact};

    let doc = aos_schema::doc::new_doc().expect("doc");
    let before = doc.transact().state_vector();
    let template = include_str!("../../templates/webhook-to-slack.json");
    let file = aos_schema::import(template.as_bytes()).expect("template");
    aos_schema::doc::apply_graph(&mut doc.transact_mut(), &file.graph).expect("graph");
    let update = doc.transact().encode_state_as_update_v1(&before);
    let sync1 = Message::Sync(SyncMessage::SyncStep1(StateVector::default())).encode_v1();
    let write = Message::Sync(SyncMessage::Update(update)).encode_v1();
    let mut awareness = Awareness::new(doc);
    awareness.set_local_state(serde_json::json!({ "user": { "name": "ada" } })).expect("presence");
    let presence = Message::Awareness(awareness.update().expect("awareness")).encode_v1();
    let query = Message::AwarenessQuery.encode_v1();
    let record = |op: u8, frame: &[u8]| {
        let mut out = vec![op];
        out.extend_from_slice(&u16::try_from(frame.len()).expect("small frame").to_le_bytes());
        out.extend_from_slice(frame);
        out
    };
    let seeds = [
        (
            "real-editor-session",
            [record(0, &sync1), record(0, &write), record(0, &presence), record(2, &query)].concat(),
        ),
        (
            "real-viewer-writes",
            [record(1, &sync1), record(1, &write), record(1, &presence), record(0, &write)].concat(),
        ),
        ("real-reconnect", [record(0, &presence), record(3, &[]), record(0, &write), record(2, &write)].concat()),
    ];
    for (name, bytes) in &seeds {
        aos_realtime::fuzzing::room_frames(bytes);
        if std::env::var_os("AOS_WRITE_FUZZ_SEEDS").is_some() {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/room_frames");
            std::fs::create_dir_all(&dir).expect("corpus dir");
            std::fs::write(dir.join(name), bytes).expect("seed");
        }
    }
}
