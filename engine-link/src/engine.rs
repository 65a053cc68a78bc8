//! The [`Engine`] trait: execute one step. Implemented by the embedded engine (in this process) and
//! the remote client (another process, over HTTP); callers hold either as `Arc<dyn Engine>`.

use std::future::Future;
use std::pin::Pin;

use crate::protocol::{StepError, StepOutput, StepRequest};

/// The future an engine returns.
pub type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<StepOutput, StepError>> + Send + 'a>>;

/// Executes single steps. Knows nothing of runs: a step in, a result out.
pub trait Engine: Send + Sync + std::fmt::Debug {
    /// Runs `request` and returns its output, or an error saying whether a retry can help.
    fn execute(&self, request: StepRequest) -> StepFuture<'_>;

    /// Whether steps run inside this process (no network between caller and node): a run may then
    /// execute a pure step in line instead of as a task of its own.
    fn in_process(&self) -> bool {
        false
    }
}
