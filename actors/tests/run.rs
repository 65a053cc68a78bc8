//! The run-actor suite with in-process dispatch: steps run as tasks of their run actor.

const QUEUED: bool = false;

#[path = "support/run_suite.rs"]
mod suite;
