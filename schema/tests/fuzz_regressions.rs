//! Every committed fuzz input of this crate's targets (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`)
//! replayed through the same entry function the fuzzer calls, so the seeds and every fixed crash
//! run in the default suite.

#[path = "../../fuzz/replay.rs"]
mod replay;

#[test]
fn import_export_inputs_replay_cleanly() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), "import_export", aos_schema::fuzzing::import_export);
}

#[test]
fn import_n8n_inputs_replay_cleanly() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), "import_n8n", aos_schema::fuzzing::import_n8n);
}

#[test]
fn n8n_expression_inputs_replay_cleanly() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), "n8n_expression", aos_schema::fuzzing::n8n_expression);
}

#[test]
fn graph_compile_inputs_replay_cleanly() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), "graph_compile", aos_schema::fuzzing::graph_compile);
}
