//! Step workers: actors under the `step-workers` supervisor that drain the step queue. A worker
//! runs up to [`JOBS_AT_ONCE`] jobs at a time, each as a task of its own; whenever it has room it
//! takes as many jobs as fit in one go, first any a dead worker left behind, then new ones (one
//! claim for several). A job carries its step (kind, config, context), so a worker reads none of
//! the run's history: it checks that the run is still live (its status alone), starts the attempt
//! row (only one copy of an attempt ever starts), executes the step through the engine while
//! renewing its claim, records the result (`step::record`), hands that result to the run's actor
//! in a notice, and acks the job.
//!
//! A job is acked only after its result is recorded, so a worker that dies mid-step leaves the job
//! in flight, and another worker takes it over once it has been idle for the claim timeout and
//! runs the same attempt again (its row says `running`, the new delivery count says its holder is
//! gone). Queue or database trouble never fails a worker: it logs, waits a moment, and polls again.
//! A stopped worker finishes the steps it holds before it goes.
//!
//! A job enqueued by a node from before jobs carried their step (a rolling upgrade), or whose step
//! does not decode, is still run: its worker finds the step the old way, by restoring the run's
//! progress from its recorded results.

use std::sync::Arc;
use std::time::Duration;

use aos_engine_link::{Engine, StepContext};
use aos_persistence::{Delivery, JobStep, Recorded, StepJob, StepQueue, Store, StoreError};
use aos_schema::{ExecutionPlan, StepStatus};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde::Deserialize;
use tokio::task::JoinSet;

use crate::notice::{Notifier, StepNotice};
use crate::progress::{ReadyStep, RunProgress, StepKey};
use crate::recorded::{Waits, restore};
use crate::registry::{ActorKind, ActorStats};
use crate::step::{self, RunRef, StepResult};
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
    /// Take jobs for the free slots (waiting briefly for a first one) and start them.
    Poll,
    /// One of this worker's jobs ended (recorded and acked, or left for a retry): a slot is free.
    Done,
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
    /// What the worker and each of its job tasks need.
    job: Arc<JobDeps>,
    /// The jobs under way, one task each (aborted if the worker is dropped without stopping).
    running: JoinSet<()>,
    /// A `Poll` is on its way, so a job that ends does not send a second one.
    polling: bool,
    stats: Arc<ActorStats>,
}

/// What running one job needs: shared by a worker's tasks.
#[derive(Debug)]
struct JobDeps {
    deps: WorkerDeps,
    /// This worker's name in the queue's consumer group.
    consumer: String,
}

/// Jobs one worker runs at once: one claim takes up to this many. Steps mostly wait on the network
/// (an HTTP call, a remote engine), so a worker keeps several in flight instead of one.
pub const JOBS_AT_ONCE: usize = 16;
/// How long a claim waits for a job before the worker polls again.
const CLAIM_WAIT: Duration = Duration::from_millis(500);
/// How long a worker waits before polling again after the queue failed it.
const QUEUE_RETRY: Duration = Duration::from_secs(1);

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
        Ok(WorkerState {
            job: Arc::new(JobDeps { deps: args.deps, consumer: args.consumer }),
            running: JoinSet::new(),
            polling: true,
            stats: args.stats,
        })
    }

    async fn post_stop(&self, _: ActorRef<WorkerMsg>, state: &mut WorkerState) -> Result<(), ActorProcessingErr> {
        // as a worker running one job finished it before stopping, this one finishes all it holds
        // (each bounded by its step's timeout); what a killed worker held is reclaimed
        while let Some(ended) = state.running.join_next().await {
            state.reaped(ended);
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<WorkerMsg>,
        msg: WorkerMsg,
        state: &mut WorkerState,
    ) -> Result<(), ActorProcessingErr> {
        state.stats.dequeued();
        while let Some(ended) = state.running.try_join_next() {
            state.reaped(ended);
        }
        let pause = match msg {
            WorkerMsg::Poll => {
                state.polling = false;
                state.fill(&myself).await
            }
            WorkerMsg::Done => Duration::ZERO,
        };
        // with every slot taken, the next job to end sends `Done`, which polls again
        if !state.polling && state.running.len() < JOBS_AT_ONCE {
            state.polling = true;
            state.stats.enqueued();
            if pause.is_zero() {
                myself.send_message(WorkerMsg::Poll)?;
            } else {
                myself.send_after(pause, || WorkerMsg::Poll);
            }
        }
        Ok(())
    }
}

impl WorkerState {
    /// Takes as many jobs as there are free slots and starts each as a task. Returns how long to
    /// wait before polling again: zero, or a moment when the queue failed.
    async fn fill(&mut self, myself: &ActorRef<WorkerMsg>) -> Duration {
        let room = JOBS_AT_ONCE.saturating_sub(self.running.len());
        if room == 0 {
            return Duration::ZERO;
        }
        let jobs = match self.take(room).await {
            Ok(jobs) => jobs,
            Err(err) => {
                tracing::warn!(consumer = %self.job.consumer, error = %err, "step queue unavailable");
                return QUEUE_RETRY;
            }
        };
        for delivery in jobs {
            let job = Arc::clone(&self.job);
            let worker = myself.clone();
            let stats = Arc::clone(&self.stats);
            self.running.spawn(async move {
                if let Err(err) = job.work(&delivery).await {
                    // left unacked: another worker (or this one) takes it over after the timeout
                    tracing::warn!(consumer = %job.consumer, run_id = %delivery.job.run_id,
                        step = %delivery.job.step_key, error = %err, "step job failed, left for a retry");
                }
                stats.enqueued();
                if worker.send_message(WorkerMsg::Done).is_err() {
                    // the worker is stopping: it waits for this task without a message
                    stats.dequeued();
                }
            });
        }
        Duration::ZERO
    }

    /// Up to `room` jobs: those dead workers left behind first, then new ones. The claim waits
    /// briefly for a first job only when nothing was left behind.
    async fn take(&self, room: usize) -> Result<Vec<Delivery>, StoreError> {
        let queue = &self.job.deps.queue;
        let consumer = self.job.consumer.as_str();
        let mut jobs = queue.reclaim_stale(consumer, self.job.deps.claim_timeout, room).await?;
        if jobs.len() < room {
            let wait = if jobs.is_empty() { CLAIM_WAIT } else { Duration::ZERO };
            match queue.claim(consumer, room - jobs.len(), wait).await {
                Ok(claimed) => jobs.extend(claimed),
                // what was taken over is held by this worker now: run it rather than let it idle
                Err(err) if !jobs.is_empty() => {
                    tracing::warn!(consumer, error = %err, "step queue claim failed, running the reclaimed jobs");
                }
                Err(err) => return Err(err),
            }
        }
        Ok(jobs)
    }

    /// Logs how a job's task ended, if it did not end on its own (a panic).
    fn reaped(&self, ended: Result<(), tokio::task::JoinError>) {
        if let Err(err) = ended {
            tracing::error!(consumer = %self.job.consumer, error = %err, "step job task ended abnormally, left for a retry");
        }
    }
}

impl JobDeps {
    /// Runs one job to a recorded result (or finds it needs none) and acks it.
    async fn work(&self, delivery: &Delivery) -> Result<(), ActorProcessingErr> {
        let job = &delivery.job;
        let waited = aos_persistence::Timestamp::now().as_offset() - job.enqueued_at.as_offset();
        metrics::histogram!(aos_ops::metrics::QUEUE_LAG_SECONDS).record(waited.as_seconds_f64().max(0.0));
        let store = &self.deps.store;
        // a finished (or cancelled) run's jobs are dropped: its one cheap read
        match store.runs().status(job.run_id).await {
            Ok(status) if status.is_terminal() => return self.ack(delivery).await,
            Ok(_) => {}
            Err(StoreError::NotFound { .. }) => return self.ack(delivery).await,
            Err(err) => return Err(err.into()),
        }
        let Some((run, ready)) = self.step_of(job).await? else {
            tracing::warn!(run_id = %job.run_id, step = %job.step_key, "step job names no ready step, dropped");
            return self.ack(delivery).await;
        };
        // the attempt's row is unique: of two copies of this job, one starts it
        if let Recorded::Duplicate(row) = step::start(store, &run, &ready, job.attempt, Some(&self.consumer)).await? {
            match row.status {
                // another copy started it; its holder finishes it (or dies, and its own
                // delivery is taken over)
                StepStatus::Running if delivery.deliveries <= 1 => return self.ack(delivery).await,
                // this delivery was taken over from a holder that died mid-step: run it again
                StepStatus::Running => {}
                _ => {
                    self.notify(job, step::recorded_result(&row)).await;
                    return self.ack(delivery).await;
                }
            }
        }
        let request = step::request_for(store, &run, &ready, job.attempt).await?;
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
        let counted = step::record(store, &run, &job.step_key, job.attempt, &result, elapsed_ms).await?;
        // a result recorded first by another copy may differ: then the actor reads the row
        self.notify(job, counted.then_some(result)).await;
        self.ack(delivery).await
    }

    /// The run and the step a job names: from the job itself, or (a job without its step, or one
    /// whose step does not decode) by restoring the run's progress. `None` if the step is not
    /// ready in the run as recorded.
    async fn step_of(&self, job: &StepJob) -> Result<Option<(RunRef, ReadyStep)>, ActorProcessingErr> {
        if let Some(step) = &job.step {
            match carried(&job.step_key, step) {
                Ok(ready) => return Ok(Some((RunRef::from(job), ready))),
                Err(err) => {
                    tracing::warn!(run_id = %job.run_id, step = %job.step_key, error = %err,
                        "step job's context does not decode, finding the step from the recorded results");
                }
            }
        }
        self.restored(job).await
    }

    /// Finds the step a job names the way jobs without their step need: the run, its plan and
    /// every recorded result, fed back into a fresh progress until the step is ready.
    async fn restored(&self, job: &StepJob) -> Result<Option<(RunRef, ReadyStep)>, ActorProcessingErr> {
        let store = &self.deps.store;
        let run = store.runs().get(job.run_id).await?;
        let version = store.workflows().version(run.org_id, run.workflow_id, run.version).await?;
        let plan: ExecutionPlan = serde_json::from_value(version.plan)?;
        let rows = store.runs().steps(run.id).await?;
        let mut progress = RunProgress::new(Arc::new(plan), run.input.clone());
        let pending = restore(&mut progress, &rows, Waits::Elapsed).pending;
        let ready = pending.into_iter().find(|s| s.key.to_string() == job.step_key);
        Ok(ready.map(|ready| (RunRef::from(&run), ready)))
    }

    async fn notify(&self, job: &StepJob, result: Option<StepResult>) {
        let notice = StepNotice { run_id: job.run_id, step: job.step_key.clone(), attempt: job.attempt, result };
        self.deps.notifier.notify(notice).await;
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), ActorProcessingErr> {
        self.deps.queue.ack(&delivery.id).await?;
        Ok(())
    }
}

/// The step a job carries, as the run's progress made it ready.
fn carried(step_key: &str, step: &JobStep) -> Result<ReadyStep, serde_json::Error> {
    let context = StepContext::deserialize(&step.context)?;
    Ok(ReadyStep { key: StepKey::parse(step_key), kind: step.kind.clone(), config: step.config.clone(), context })
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
