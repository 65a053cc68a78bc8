//! Rebuilding a run's progress from its recorded step results: what a (re)starting run actor does
//! before it dispatches anything, and what a step worker does for a queued job that does not carry
//! its step (enqueued by an older node): the step's kind, config and context are a function of the
//! plan and the recorded results.

use std::time::Duration;

use aos_engine_link::StepOutput;
use aos_persistence::{RunStep, Timestamp};
use aos_schema::StepStatus;

use crate::progress::{ReadyStep, RunProgress, StepKey};

/// What a reloaded run resumes with.
#[derive(Debug, Default)]
pub struct Restored {
    /// Ready steps with no recorded success: dispatched before and unfinished, or never dispatched.
    pub pending: Vec<ReadyStep>,
    /// Delay steps whose wait had not ended: their result flows on after the rest of the wait.
    pub waiting: Vec<(StepKey, StepOutput, Duration)>,
}

/// How a restore treats a succeeded delay step whose wait has not ended by this clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waits {
    /// Hold it back (listed in `waiting`): a run actor resumes it after the rest of the wait.
    Keep,
    /// Count it as over: a worker handling a job for a later step knows the run actor already let
    /// the wait end (by its clock, which may run ahead of this one).
    Elapsed,
}

/// Feeds recorded successes back into `progress` until it asks for a step that has none. (Not to
/// be mixed up with replaying a run, `crate::replay`, which makes a new run.)
pub fn restore(progress: &mut RunProgress, recorded: &[RunStep], waits: Waits) -> Restored {
    let mut restored = Restored::default();
    let now = Timestamp::now();
    loop {
        let ready = progress.ready();
        if ready.is_empty() {
            return restored;
        }
        let mut advanced = false;
        for step in ready {
            let name = step.key.to_string();
            let done =
                recorded.iter().filter(|r| r.node_id == name && r.status == StepStatus::Succeeded).find_map(|r| {
                    let output = serde_json::from_value::<StepOutput>(r.output.clone()?).ok()?;
                    Some((output, r.finished_at))
                });
            let Some((output, finished_at)) = done else {
                restored.pending.push(step);
                continue;
            };
            let remaining = match (waits, output.wait_ms, finished_at) {
                (Waits::Keep, Some(wait), Some(at)) => {
                    let due = at + time::Duration::milliseconds(i64::try_from(wait).unwrap_or(i64::MAX));
                    Duration::try_from(due.as_offset() - now.as_offset()).unwrap_or_default()
                }
                _ => Duration::ZERO,
            };
            if remaining > Duration::ZERO {
                restored.waiting.push((step.key, output, remaining));
            } else if progress.complete(&step.key, &output).is_ok() {
                advanced = true;
            }
        }
        if !advanced {
            return restored;
        }
    }
}
