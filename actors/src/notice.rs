//! Step notices: a worker that recorded an attempt's result tells the run's actor to look. On the
//! worker's own node the notice is a message to the actor; with Redis it is also published on one
//! channel every node listens to, and the node that drives the run passes it on. A notice is only a
//! hint to look now: a run actor with steps in flight also checks their rows on a timer, so a lost
//! notice (a node that was restarting, a dropped connection) delays a run, never stalls it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aos_persistence::RedisLink;
use aos_schema::RunId;
use ractor::ActorRef;
use serde::{Deserialize, Serialize};

use crate::run::RunMsg;
use crate::supervisor::SupervisorHandle;

/// The pub/sub channel of step notices.
pub const STEP_NOTICES: &str = "aos:step-notices";

/// "Attempt `attempt` of `step` of `run` has a recorded result."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepNotice {
    pub run_id: RunId,
    pub step: String,
    pub attempt: u32,
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

    /// Tells the run's actor: directly if it lives here, else through Redis (when configured).
    pub async fn notify(&self, notice: StepNotice) {
        if self.deliver_here(&notice).await {
            return;
        }
        let Some(redis) = &self.redis else { return };
        let Ok(payload) = serde_json::to_vec(&notice) else { return };
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
        let msg = RunMsg::Recorded { step: notice.step.clone(), attempt: notice.attempt };
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
                            if let Ok(notice) = serde_json::from_slice::<StepNotice>(&payload) {
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
