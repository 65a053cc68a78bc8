//! The realtime crate's errors.

use aos_schema::WorkflowId;

/// Why a realtime request failed.
#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    #[error("the doc room of workflow {workflow} is not available: {reason}")]
    RoomUnavailable { workflow: WorkflowId, reason: String },
    #[error("the doc of workflow {workflow} could not take the graph: {reason}")]
    GraphRejected { workflow: WorkflowId, reason: String },
    #[error("the doc room of workflow {workflow} could not compact its log")]
    CompactionFailed { workflow: WorkflowId },
    #[error(transparent)]
    Store(#[from] aos_persistence::StoreError),
}

/// Results of this crate.
pub type RealtimeResult<T> = Result<T, RealtimeError>;
