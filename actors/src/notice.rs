//! Step notices: a worker that recorded an attempt's result tells the run's actor, and hands it
//! the result too, so the actor moves on without reading its rows. On the worker's own node the
//! notice is a message to the actor; with Redis it is also published on one channel every node
//! listens to, and the node that drives the run passes it on. A published notice leaves out a
//! result larger than [`PUBLISHED_RESULT_MAX`] (the actor then reads the row), so the channel
//! carries small messages. A notice is still only a hint to look now: a run actor with steps in
//! flight also checks their rows on a timer, so a lost notice (a node that was restarting, a
//! dropped connection) delays a run, never stalls it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aos_persistence::RedisLink;
use aos_schema::RunId;
use ractor::ActorRef;
use serde::{Deserialize, Serialize};

use crate::run::RunMsg;
use crate::step::StepResult;
use crate::supervisor::SupervisorHandle;

/// The pub/sub channel of step notices.
pub const STEP_NOTICES: &str = "aos:step-notices";

/// The largest published notice that keeps its result, in bytes of JSON: an output can be large,
/// and every node receives every notice; a larger one goes out without its result.
pub const PUBLISHED_RESULT_MAX: usize = 64 * 1024;

/// "Attempt `attempt` of `step` of `run` has a recorded result", and the result if the sender had
/// it to give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepNotice {
    pub run_id: RunId,
    pub step: String,
    pub attempt: u32,
    /// The result as recorded (`{"Ok": output}` or `{"Err": error}`), so the run's actor applies
    /// it without reading the rows. `None` when the sender does not know it for sure (its own
    /// record lost to another copy of the job), when it was too large to publish, or when an
    /// older node sent the notice (which also ignores this field when it reads a newer one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<StepResult>,
}

impl StepNotice {
    /// The notice as published on [`STEP_NOTICES`]: with its result when the whole fits in
    /// [`PUBLISHED_RESULT_MAX`], else without it.
    pub fn to_published(&self) -> Result<Vec<u8>, serde_json::Error> {
        let payload = serde_json::to_vec(self)?;
        if payload.len() <= PUBLISHED_RESULT_MAX || self.result.is_none() {
            return Ok(payload);
        }
        serde_json::to_vec(&Self { result: None, ..self.clone() })
    }
}

/// Delivers step notices to run actors, here or on other nodes.
#[derive(Debug, Clone)]
pub struct Notifier {
    /// This node's runs supervisor, set once the tree has started.
    runs: Arc<OnceLock<SupervisorHandle>>,
    redis: Option<RedisLink>,
}

impl Notifier {
    pub fn new(runs: Arc<OnceLock<SupervisorHandle>>, redis: Option<RedisLink>) -> Self {
        Self { runs, redis }
    }

    /// Tells the run's actor: directly if it lives here (with the result, whatever its size), else
    /// through Redis (when configured).
    pub async fn notify(&self, notice: StepNotice) {
        if self.deliver_here(&notice).await {
            return;
        }
        let Some(redis) = &self.redis else { return };
        let payload = match notice.to_published() {
            Ok(payload) => payload,
            Err(err) => {
                tracing::warn!(run_id = %notice.run_id, error = %err, "step notice not encodable, not published");
                return;
            }
        };
        if let Err(err) = redis.publish(STEP_NOTICES, &payload).await {
            // the run actor's own check finds the result a little later
            tracing::debug!(run_id = %notice.run_id, error = %err, "step notice not published");
        }
    }

    /// Passes `notice` to the run's actor if this node drives the run. Returns whether it did.
    pub async fn deliver_here(&self, notice: &StepNotice) -> bool {
        let Some(runs) = self.runs.get() else { return false };
        let Ok(Some(child)) = runs.find(&notice.run_id.to_string()).await else { return false };
        let actor: ActorRef<RunMsg> = child.cell.into();
        child.stats.enqueued();
        let msg =
            RunMsg::Recorded { step: notice.step.clone(), attempt: notice.attempt, result: notice.result.clone() };
        if actor.send_message(msg).is_err() {
            child.stats.dequeued();
            return false;
        }
        true
    }

    /// Listens to the notices of every node and passes on those for runs driven here, until the
    /// task is aborted. Reconnects after a lost connection.
    pub fn listen(&self) -> Option<tokio::task::JoinHandle<()>> {
        let redis = self.redis.clone()?;
        let this = self.clone();
        Some(tokio::spawn(async move {
            loop {
                match redis.subscribe(STEP_NOTICES).await {
                    Ok(mut subscription) => {
                        while let Some(payload) = subscription.next().await {
                            if let Some(notice) = decode(&payload) {
                                this.deliver_here(&notice).await;
                            }
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "step notices: cannot subscribe"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }))
    }
}

/// What a notice names, read alone when its result does not decode.
#[derive(Deserialize)]
struct NamedAttempt {
    run_id: RunId,
    step: String,
    attempt: u32,
}

/// A published notice; one whose result this node cannot read (a newer node's format) still
/// counts, without its result, so the actor reads the rows instead of missing the hint.
fn decode(payload: &[u8]) -> Option<StepNotice> {
    serde_json::from_slice::<StepNotice>(payload).ok().or_else(|| {
        let named = serde_json::from_slice::<NamedAttempt>(payload).ok()?;
        Some(StepNotice { run_id: named.run_id, step: named.step, attempt: named.attempt, result: None })
    })
}

#[cfg(test)]
mod tests {
    use aos_engine_link::{StepError, StepOutput};
    use serde_json::json;

    use super::*;

    fn notice(result: Option<StepResult>) -> StepNotice {
        StepNotice { run_id: RunId::new(), step: "fetch[2]".into(), attempt: 3, result }
    }

    #[test]
    fn a_published_notice_keeps_a_small_result_and_drops_a_large_one() {
        let small = notice(Some(Ok(StepOutput::value(json!({ "status": 200 })))));
        assert_eq!(decode(&small.to_published().unwrap()), Some(small.clone()));
        let failed = notice(Some(Err(StepError::retryable("http_status", "503").after(1500))));
        assert_eq!(decode(&failed.to_published().unwrap()), Some(failed));
        let large = notice(Some(Ok(StepOutput::value(json!("x".repeat(PUBLISHED_RESULT_MAX))))));
        let payload = large.to_published().unwrap();
        assert!(payload.len() < 200, "{} bytes", payload.len());
        assert_eq!(decode(&payload), Some(StepNotice { result: None, ..large }));
    }

    #[test]
    fn notices_without_a_readable_result_still_name_their_attempt() {
        let run = RunId::new();
        let older = json!({ "run_id": run, "step": "fetch", "attempt": 1 }).to_string();
        let expected = StepNotice { run_id: run, step: "fetch".into(), attempt: 1, result: None };
        assert_eq!(decode(older.as_bytes()), Some(expected.clone()));
        let newer = json!({ "run_id": run, "step": "fetch", "attempt": 1, "result": { "Later": 1 } }).to_string();
        assert_eq!(decode(newer.as_bytes()), Some(expected));
        assert_eq!(decode(b"{}"), None);
    }
}
