//! The supervision tree: every workflow, run, webhook source and schedule is a supervised ractor
//! actor that talks to stores only through `aos-persistence`. Today this crate holds the run's
//! progress state machine ([`progress`]), the sans-IO core the run actor will drive; the actors
//! themselves arrive with the actors issue.

pub mod progress;

pub use progress::{ProgressError, ReadyStep, RunOutcome, RunProgress, StepKey};
