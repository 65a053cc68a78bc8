//! What the run and dead-letter actions answer.

use aos_schema::{DlqEntryId, RunId, RunStatus};
use serde::{Deserialize, Serialize};

/// A run started, replayed or replayed from the dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCreated {
    pub run_id: RunId,
}

/// `POST /api/runs/{id}/cancel`: the run is marked cancelled (its actor stops at its next step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancelled {
    pub run_id: RunId,
    pub status: RunStatus,
}

/// `POST /api/orgs/{org}/dlq/replay`: what became of each pending entry asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkReplay {
    #[serde(default)]
    pub replayed: Vec<Replayed>,
    #[serde(default)]
    pub failed: Vec<ReplayFailed>,
}

/// An entry replayed as a new run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replayed {
    pub entry_id: DlqEntryId,
    pub run_id: RunId,
}

/// An entry that could not be replayed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayFailed {
    pub entry_id: DlqEntryId,
    pub error: String,
}
