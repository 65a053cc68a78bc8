//! Every committed fuzz input of this crate's targets (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`)
//! replayed through the same entry function the fuzzer calls, so the seeds and every fixed crash
//! run in the default suite.

#[path = "../../fuzz/replay.rs"]
mod replay;

#[test]
fn expression_inputs_replay_cleanly() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), "expression", aos_engine_link::fuzzing::expression);
}
