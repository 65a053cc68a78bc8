//! Runs, their steps and log rows, the dead-letter queue, and what the run actions answer.

use aos_schema::{DlqEntryId, DlqStatus, OrgId, RunId, RunStatus, StepStatus, WorkflowId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A run: `GET /api/orgs/{org}/runs` rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: RunId,
    pub org_id: OrgId,
    pub workflow_id: WorkflowId,
    /// The published version it executes.
    pub version: i64,
    pub status: RunStatus,
    /// What started it: `webhook`, `schedule`, `manual` or `replay`.
    pub trigger_kind: String,
    pub idempotency_key: Option<String>,
    /// What the trigger delivered.
    pub input: Value,
    /// The run this one replays, if it is a replay.
    pub replay_of: Option<RunId>,
    pub error: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// `GET /api/runs/{id}`: the run and the latest attempt of each step, in the order they first ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: Run,
    pub steps: Vec<StepView>,
}

/// One step of a run as its latest attempt left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub node_id: String,
    pub status: StepStatus,
    /// How many attempts it took (the latest attempt's number).
    pub attempts: i64,
    /// What the latest attempt received (upstream outputs, already redacted, and the trigger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// What it produced, with secret values replaced by `[redacted]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// One run-log row, from `GET /api/runs/{id}/logs` and the `/ws/events` stream alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunLog {
    /// Increasing over the whole log: `after=` resumes from it.
    pub seq: i64,
    pub run_id: RunId,
    pub org_id: OrgId,
    pub workflow_id: WorkflowId,
    pub node_id: Option<String>,
    pub level: String,
    /// `run_started`, `step_queued`, `step_started`, `step_succeeded`, `step_failed`,
    /// `step_retrying`, `step_skipped`, `run_finished`, ...
    pub event: String,
    pub message: String,
    pub data: Value,
    pub created_at: String,
}

/// A run waiting in (or taken out of) the dead-letter queue: `GET /api/orgs/{org}/dlq` rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DlqEntry {
    pub id: DlqEntryId,
    pub org_id: OrgId,
    pub run_id: RunId,
    pub workflow_id: WorkflowId,
    /// The step that exhausted its retries.
    pub node_id: String,
    pub error: String,
    /// The failed step's input.
    pub input: Value,
    pub status: DlqStatus,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

/// `POST /hooks/{token}`: `202` with a new run, or `200` with the run a delivery with the same
/// idempotency key started before (`duplicate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub run_id: RunId,
    pub duplicate: bool,
}

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
