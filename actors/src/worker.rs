//! Step workers: actors under the `step-workers` supervisor that drain the step queue. A worker
//! takes one job at a time (first any job a dead worker left behind, then a new one), finds the
//! step the job names by restoring the run's progress from its recorded results, starts the attempt
//! row (only one copy of an attempt ever starts), executes it through the engine while renewing
//! its claim, records the result (`step::record`), tells the run's actor, and acks the job.
//!
//! A job is acked only after its result is recorded, so a worker that dies mid-step leaves the job
//! in flight, and another worker takes it over once it has been idle for the claim timeout and
//! runs the same attempt again (its row says `running`, the new delivery count says its holder is
//! gone). Queue or database trouble never fails a worker: it logs, waits a moment, and polls again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aos_engine_link::Engine;
use aos_persistence::{Delivery, StepQueue, Store, StoreError};
use aos_schema::{ExecutionPlan, StepStatus, WorkflowId};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::notice::{Notifier, StepNotice};
use crate::progress::RunProgress;
use crate::recorded::{Waits, restore};
use crate::registry::{ActorKind, ActorStats};
use crate::step;
use crate::supervisor::{BoxFuture, ChildFactory, spawn_child};

/// What every step worker needs.
#[derive(Clone)]
pub struct WorkerDeps {
    pub store: Store,
    pub engine: Arc<dyn Engine>,
    pub queue: Arc<dyn StepQueue>,
    pub notifier: Notifier,
    /// Longest a step may take unless its node sets `timeout_seconds`.
    pub step_timeout: Duration,
    /// How long a job may sit claimed without renewal before another worker takes it over.
    pub claim_timeout: Duration,
    /// This node's id: workers are named `<node>/<key>` in the queue's consumer group.
    pub node: String,
}

impl std::fmt::Debug for WorkerDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerDeps")
            .field("queue", &self.queue)
            .field("claim_timeout", &self.claim_timeout)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// What a step worker handles.
#[derive(Debug)]
pub enum WorkerMsg {
    /// Take the next job (waiting briefly for one) and run it.
    Poll,
}

/// The step worker actor.
#[derive(Debug, Default)]
pub struct StepWorker;

/// A worker's start arguments.
#[derive(Debug, Clone)]
pub struct WorkerArgs {
    pub deps: WorkerDeps,
    pub consumer: String,
    pub stats: Arc<ActorStats>,
}

/// A worker's state.
#[derive(Debug)]
pub struct WorkerState {
    deps: WorkerDeps,
    consumer: String,
    /// Compiled plans by workflow version (versions are immutable, so never stale).
    plans: HashMap<(WorkflowId, i64), Arc<ExecutionPlan>>,
    stats: Arc<ActorStats>,
}

/// How long a claim waits for a job before the worker polls again.
const CLAIM_WAIT: Duration = Duration::from_millis(500);
/// Plans kept per worker before the cache starts over.
const PLAN_CACHE: usize = 256;

impl Actor for StepWorker {
    type Msg = WorkerMsg;
    type State = WorkerState;
    type Arguments = WorkerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<WorkerMsg>,
        args: WorkerArgs,
    ) -> Result<WorkerState, ActorProcessingErr> {
        args.stats.enqueued();
        myself.send_message(WorkerMsg::Poll)?;
        Ok(WorkerState { deps: args.deps, consumer: args.consumer, plans: HashMap::new(), stats: args.stats })
    }

    async fn handle(
        &self,
        myself: ActorRef<WorkerMsg>,
        _msg: WorkerMsg,
        state: &mut WorkerState,
    ) -> Result<(), ActorProcessingErr> {
        state.stats.dequeued();
        let pause = match state.take().await {
            Ok(jobs) => {
                for delivery in jobs {
                    if let Err(err) = state.work(&delivery).await {
                        // left unacked: another worker (or this one) takes it over after the timeout
                        tracing::warn!(consumer = %state.consumer, run_id = %delivery.job.run_id,
                            step = %delivery.job.step_key, error = %err, "step job failed, left for a retry");
                    }
                }
                Duration::ZERO
            }
            Err(err) => {
                tracing::warn!(consumer = %state.consumer, error = %err, "step queue unavailable");
                Duration::from_secs(1)
            }
        };
        state.stats.enqueued();
        if pause.is_zero() {
            myself.send_message(WorkerMsg::Poll)?;
        } else {
            myself.send_after(pause, || WorkerMsg::Poll);
        }
        Ok(())
    }
}

impl WorkerState {
    /// A job a dead worker left behind, or else a new one (waiting briefly).
    async fn take(&self) -> Result<Vec<Delivery>, StoreError> {
        let queue = &self.deps.queue;
        let stale = queue.reclaim_stale(&self.consumer, self.deps.claim_timeout, 1).await?;
        if !stale.is_empty() {
            return Ok(stale);
        }
        queue.claim(&self.consumer, 1, CLAIM_WAIT).await
    }

    async fn plan(&mut self, run: &aos_persistence::Run) -> Result<Arc<ExecutionPlan>, ActorProcessingErr> {
        let key = (run.workflow_id, run.version);
        if let Some(plan) = self.plans.get(&key) {
            return Ok(Arc::clone(plan));
        }
        let version = self.deps.store.workflows().version(run.org_id, run.workflow_id, run.version).await?;
        let plan: Arc<ExecutionPlan> = Arc::new(serde_json::from_value(version.plan)?);
        if self.plans.len() >= PLAN_CACHE {
            self.plans.clear();
        }
        self.plans.insert(key, Arc::clone(&plan));
        Ok(plan)
    }

    /// Runs one job to a recorded result (or finds it needs none) and acks it.
    async fn work(&mut self, delivery: &Delivery) -> Result<(), ActorProcessingErr> {
        let job = &delivery.job;
        let waited = aos_persistence::Timestamp::now().as_offset() - job.enqueued_at.as_offset();
        metrics::histogram!(aos_ops::metrics::QUEUE_LAG_SECONDS).record(waited.as_seconds_f64().max(0.0));
        let store = self.deps.store.clone();
        let run = match store.runs().get(job.run_id).await {
            Ok(run) => run,
            Err(StoreError::NotFound { .. }) => return self.ack(delivery).await,
            Err(err) => return Err(err.into()),
        };
        if run.status.is_terminal() {
            return self.ack(delivery).await;
        }
        let rows = store.runs().steps(run.id).await?;
        let attempt = i64::from(job.attempt);
        let existing = rows.iter().find(|r| r.node_id == job.step_key && r.attempt == attempt);
        match existing.map(|row| row.status) {
            Some(StepStatus::Running) if delivery.deliveries <= 1 => {
                // another copy of this attempt started it; its holder finishes it (or dies, and
                // its own delivery is taken over)
                return self.ack(delivery).await;
            }
            Some(StepStatus::Running) | None => {}
            Some(_) => {
                self.notify(job).await;
                return self.ack(delivery).await;
            }
        }
        let mut progress = RunProgress::new(self.plan(&run).await?, run.input.clone());
        let pending = restore(&mut progress, &rows, Waits::Elapsed).pending;
        let Some(ready) = pending.into_iter().find(|s| s.key.to_string() == job.step_key) else {
            tracing::warn!(run_id = %run.id, step = %job.step_key, "step job names no ready step, dropped");
            return self.ack(delivery).await;
        };
        if existing.is_none() && !step::start(&store, &run, &ready, job.attempt, Some(&self.consumer)).await? {
            return self.ack(delivery).await;
        }
        let request = step::request_for(&store, &run, &ready, job.attempt).await?;
        let timeout = step::node_timeout(&ready.config).unwrap_or(self.deps.step_timeout);
        let execution = step::execute(&self.deps.engine, request, timeout);
        tokio::pin!(execution);
        let mut renew = tokio::time::interval((self.deps.claim_timeout / 3).max(Duration::from_millis(50)));
        renew.tick().await;
        let (result, elapsed_ms) = loop {
            tokio::select! {
                out = &mut execution => break out,
                _ = renew.tick() => {
                    let ids = [delivery.id.clone()];
                    if let Ok(held) = self.deps.queue.renew(&self.consumer, &ids).await && held.is_empty() {
                        // taken over: the new holder runs it too; whichever records first counts
                        tracing::info!(run_id = %run.id, step = %job.step_key, "step job taken over while running");
                    }
                }
            }
        };
        step::record(&store, &run, &job.step_key, job.attempt, &result, elapsed_ms).await?;
        self.notify(job).await;
        self.ack(delivery).await
    }

    async fn notify(&self, job: &aos_persistence::StepJob) {
        let notice = StepNotice { run_id: job.run_id, step: job.step_key.clone(), attempt: job.attempt };
        self.deps.notifier.notify(notice).await;
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), ActorProcessingErr> {
        self.deps.queue.ack(&delivery.id).await?;
        Ok(())
    }
}

/// Starts step workers under the step-workers supervisor: the key names the worker (`worker-0`).
#[derive(Debug, Clone)]
pub struct WorkerFactory {
    pub deps: WorkerDeps,
}

impl ChildFactory for WorkerFactory {
    fn kind(&self) -> ActorKind {
        ActorKind::StepWorker
    }

    fn start(
        &self,
        key: String,
        supervisor: ractor::ActorCell,
        stats: Arc<ActorStats>,
    ) -> BoxFuture<Result<ractor::ActorCell, ractor::SpawnErr>> {
        let deps = self.deps.clone();
        Box::pin(async move {
            let consumer = format!("{}/{key}", deps.node);
            spawn_child(StepWorker, WorkerArgs { deps, consumer, stats }, supervisor).await
        })
    }
}
