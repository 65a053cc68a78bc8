//! Every committed fuzz input of this crate's targets (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`)
//! replayed through the same entry function the fuzzer calls, so the seeds and every fixed crash
//! run in the default suite.

#[path = "../../fuzz/replay.rs"]
mod replay;

#[test]
fn webhook_delivery_inputs_replay_cleanly() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), "webhook_delivery", aos_actors::fuzzing::webhook_delivery);
}

#[test]
fn cron_inputs_replay_cleanly() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), "cron", aos_actors::fuzzing::cron);
}
