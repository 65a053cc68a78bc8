//! The run actor: one per live run. It drives the run's [`RunProgress`] through an [`Engine`],
//! recording every transition: a step-attempt row (unique per run, step and attempt), a run-log row
//! (the event stream), and what the run used for billing. Failed steps retry under the
//! [`RetryPolicy`]; retryable failures that exhaust it dead-letter the run, permanent ones fail it.
//! A delay step's wait is a timer message, never a sleeping task.
//!
//! The database is the truth: `pre_start` claims the run for this node and rebuilds the progress
//! from the run's recorded results, so a restarted (or re-created, on another node) actor continues
//! where the last one stopped, and a step already recorded as succeeded is never executed again.
//! A freshly admitted run starts from a [`RunSeed`] instead (its row and plan, already in memory),
//! so its start reads nothing.
//!
//! Steps reach the engine one of two ways ([`Dispatch`]):
//! - `Local` (the embedded default): pure steps on an in-process engine run in line, back to back
//!   from memory; steps with side effects run as tasks that message their result back. What the
//!   run records is kept in memory and written through the store's group-commit writer at
//!   checkpoints: before a step with side effects starts and after it ends, before the actor waits
//!   (a delay, a retry's backoff, a running task) and at the end. A crash therefore loses at most
//!   pure steps since the last checkpoint, which the restarted actor runs again; a side-effecting
//!   step's start was durable, so it is seen as interrupted and tried again (at least once).
//! - `Queue`: jobs on the step queue, each carrying its step (kind, config, context; no secret
//!   values), that step workers (on any node) execute and record; the actor learns of the
//!   recorded result from a notice, which usually carries the result itself and is applied
//!   without a read, or from its own check of the rows (a notice without its result, or none at
//!   all). Pure steps still run in line on an in-process engine, and what the actor records itself
//!   (its status, its log rows, its in-line steps) goes through the writer at checkpoints the
//!   same way, one before each job is queued, so what led to the step is durable before a worker
//!   runs it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aos_engine_link::{Engine, StepOutput};
use aos_persistence::{
    AttemptOutcome, AttemptRecord, DeadLetter, JobStep, LogRecord, NewAttempt, Run, RunBill, RunClaim, RunRecords,
    StepJob, StepQueue, Store, Timestamp, Transition,
};
use aos_schema::{ExecutionPlan, RunId, RunStatus, StepStatus};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::json;

use aos_ops::metrics::{RUNS_ACTIVE, RUNS_FINISHED_TOTAL, RUNS_STARTED_TOTAL, STEP_RETRIES_TOTAL, label};

use crate::policy::RetryPolicy;
use crate::progress::{ReadyStep, RunOutcome, RunProgress, StepKey};
use crate::recorded::{Restored, Waits, restore};
use crate::registry::ActorStats;
use crate::starts::{RunStart, StartSlot};
use crate::step::{self, RunRef, StepResult};
use crate::supervisor::{Seed, parse_key, spawn_child};

/// How a run's steps reach the engine.
#[derive(Clone)]
pub enum Dispatch {
    /// In this process: pure steps in line, the others as tasks. The embedded default.
    Local,
    /// As jobs on the step queue, executed and recorded by step workers on any node.
    Queue(Arc<dyn StepQueue>),
}

impl std::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local => f.write_str("Local"),
            Self::Queue(queue) => f.debug_tuple("Queue").field(queue).finish(),
        }
    }
}

/// This node, as run ownership sees it.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    /// Unique among live nodes; stable across restarts of one node, so it takes its runs back at
    /// once instead of waiting for its old heartbeat to go stale.
    pub id: String,
    /// A node whose heartbeat is older than this is gone, and its runs are adopted.
    pub stale_after: Duration,
}

impl Default for NodeIdentity {
    fn default() -> Self {
        Self { id: "local".into(), stale_after: Duration::from_secs(15) }
    }
}

/// What every run actor needs.
#[derive(Clone)]
pub struct RunDeps {
    pub store: Store,
    pub engine: Arc<dyn Engine>,
    pub retry: RetryPolicy,
    /// Longest a single step may take before it counts as a retryable timeout.
    pub step_timeout: Duration,
    pub dispatch: Dispatch,
    pub node: NodeIdentity,
    /// How often a run with steps on the queue reads their rows (a notice makes it look sooner).
    pub check_every: Duration,
    /// Where a respond-to-webhook step's answer goes to the request that started the run.
    pub answers: crate::answers::WebhookAnswers,
}

impl RunDeps {
    /// In-process dispatch, the default retry policy and step timeout, the node `local`.
    pub fn new(store: Store, engine: Arc<dyn Engine>) -> Self {
        Self {
            store,
            engine,
            retry: RetryPolicy::default(),
            step_timeout: aos_engine_link::remote::DEFAULT_STEP_TIMEOUT,
            dispatch: Dispatch::Local,
            node: NodeIdentity::default(),
            check_every: Duration::from_secs(2),
            answers: crate::answers::WebhookAnswers::default(),
        }
    }
}

impl std::fmt::Debug for RunDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunDeps")
            .field("retry", &self.retry)
            .field("step_timeout", &self.step_timeout)
            .field("dispatch", &self.dispatch)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// What a freshly admitted run's actor starts from: the run as stored (claimed for this node at
/// insert) and its version's plan, so starting it reads nothing.
#[derive(Debug, Clone)]
pub struct RunSeed {
    pub run: Run,
    pub plan: Arc<ExecutionPlan>,
}

/// A run actor's start arguments.
#[derive(Debug)]
pub struct RunArgs {
    pub run_id: RunId,
    pub deps: RunDeps,
    pub stats: Arc<ActorStats>,
    /// A fresh run's state; `None` loads it from the database (a restart, a resumed run).
    pub seed: Option<RunSeed>,
    /// The node's start slot the run holds until it first waits or ends (`crate::starts`).
    pub slot: Option<StartSlot>,
}

/// What a run actor handles.
#[derive(Debug)]
pub enum RunMsg {
    /// Dispatch whatever is ready.
    Advance,
    /// A step attempt this process ran as a task ended (in-process dispatch).
    Finished { key: StepKey, attempt: u32, result: StepResult, elapsed_ms: u64, started_at: Timestamp },
    /// A worker recorded the result of attempt `attempt` of step `step` (queue dispatch). With
    /// the `result` it recorded the actor applies it as it is; without (a notice too large to
    /// publish with it, or from an older node) it reads the rows of its steps on the queue.
    Recorded { step: String, attempt: u32, result: Option<StepResult> },
    /// Read the rows of the steps on the queue (queue dispatch).
    Check,
    /// Try a step again (after its backoff).
    Retry { key: StepKey, attempt: u32 },
    /// A delay step's wait is over: its result may flow on.
    Resume { key: StepKey, output: StepOutput },
    /// Stop the run for good.
    Cancel,
    /// The run's status as this actor sees it.
    Status(RpcReplyPort<RunStatus>),
}

/// The run actor.
#[derive(Debug, Default)]
pub struct RunActor;

/// A dispatched step.
#[derive(Debug, Clone)]
struct InFlight {
    step: ReadyStep,
    /// The attempt under way, `None` while a retry waits out its backoff.
    attempt: Option<u32>,
}

/// A live run.
#[derive(Debug)]
pub struct RunState {
    run: Run,
    progress: RunProgress,
    /// The dispatched steps, kept for retries.
    in_flight: HashMap<StepKey, InFlight>,
    /// Steps the last actor of this run had dispatched but not finished: they run again first.
    recovered: Vec<ReadyStep>,
    /// The last attempt number used per step row name, so a new try never reuses a recorded one.
    attempts: HashMap<String, u32>,
    status: RunStatus,
    /// A `Check` is on its way (queue dispatch).
    checking: bool,
    /// What the run recorded since its last checkpoint.
    records: RunRecords,
    /// What the run's succeeded attempts used, the recorded ones included (unless `from_rows`).
    used: RunBill,
    /// Some of the run's results exist only as rows (steps on the queue, or run by an earlier
    /// actor under queue dispatch): its bill is read back from them.
    from_rows: bool,
    /// The run's steps were billed one by one when it started (a run begun before runs were
    /// billed as a whole): it is settled that way at its end.
    billed_per_step: bool,
    /// This actor counts in `aos_runs_active` (it drives a live run).
    active: bool,
    /// The node's start slot, held until the run first waits or ends.
    slot: Option<StartSlot>,
    deps: RunDeps,
    stats: Arc<ActorStats>,
}

impl Actor for RunActor {
    type Msg = RunMsg;
    type State = RunState;
    type Arguments = RunArgs;

    async fn pre_start(&self, myself: ActorRef<RunMsg>, args: RunArgs) -> Result<RunState, ActorProcessingErr> {
        if let Some(seed) = args.seed {
            let progress = RunProgress::new(Arc::clone(&seed.plan), seed.run.input.clone());
            let mut state = RunState::new(seed.run, progress, args.deps, args.stats);
            state.slot = args.slot;
            state.set_active();
            state.stats.enqueued();
            myself.send_message(RunMsg::Advance)?;
            return Ok(state);
        }
        let store = &args.deps.store.clone();
        let claim = store.nodes().claim_run(args.run_id, &args.deps.node.id, args.deps.node.stale_after).await?;
        let run = store.runs().get(args.run_id).await?;
        let version = store.workflows().version(run.org_id, run.workflow_id, run.version).await?;
        let plan: ExecutionPlan = serde_json::from_value(version.plan.clone())?;
        let mut progress = RunProgress::new(Arc::new(plan), run.input.clone());
        if let RunClaim::OwnedBy(node) = &claim {
            tracing::info!(run_id = %run.id, %node, "run is driven by another node");
        }
        let live = claim == RunClaim::Claimed && !run.status.is_terminal();
        let recorded = if live { store.runs().steps(run.id).await? } else { Vec::new() };
        let Restored { pending, waiting } = restore(&mut progress, &recorded, Waits::Keep);
        let mut state = RunState::new(run, progress, args.deps, args.stats);
        state.slot = args.slot;
        if !live {
            myself.stop(None);
            return Ok(state);
        }
        state.set_active();
        state.billed_per_step = store.billing().run_usage(state.run.org_id, state.run.id).await?.steps > 0;
        for step in &recorded {
            let last = state.attempts.entry(step.node_id.clone()).or_default();
            *last = (*last).max(u32::try_from(step.attempt).unwrap_or(u32::MAX));
        }
        match state.deps.dispatch {
            Dispatch::Local => {
                // attempts the previous actor started and never finished will not report: close them
                let interrupted = AttemptOutcome {
                    status: StepStatus::Failed,
                    output: None,
                    error: Some("interrupted: the run's actor restarted before this attempt finished".into()),
                    duration_ms: None,
                };
                for step in recorded.iter().filter(|s| s.status == StepStatus::Running) {
                    let runs = state.deps.store.runs();
                    runs.finish_attempt(state.run.id, &step.node_id, step.attempt, &interrupted).await?;
                }
                for row in recorded.iter().filter(|s| s.status == StepStatus::Succeeded) {
                    state.used.steps += 1;
                    state.used.compute_ms += row.duration_ms.unwrap_or(0);
                    state.used.bytes +=
                        row.output.as_ref().and_then(|o| o.get("bytes")).and_then(|b| b.as_i64()).unwrap_or(0);
                }
                state.recovered = pending;
            }
            Dispatch::Queue(_) => {
                state.from_rows = true;
                // a worker holds (or the queue keeps) every started attempt: wait for its result;
                // a step with no attempt row yet is queued again (a job that is still waiting
                // has the same attempt number, and only one of the two gets to start it)
                for step in pending {
                    let name = step.key.to_string();
                    let last = recorded.iter().filter(|r| r.node_id == name).max_by_key(|r| r.attempt);
                    match last {
                        Some(row) if row.status != StepStatus::Succeeded => {
                            let attempt = u32::try_from(row.attempt).unwrap_or(u32::MAX);
                            state.in_flight.insert(step.key.clone(), InFlight { step, attempt: Some(attempt) });
                        }
                        _ => state.recovered.push(step),
                    }
                }
                if !state.in_flight.is_empty() {
                    state.stats.enqueued();
                    myself.send_message(RunMsg::Check)?;
                    state.checking = true;
                }
            }
        }
        for (key, output, remaining) in waiting {
            state.stats.enqueued();
            myself.send_after(remaining, move || RunMsg::Resume { key, output });
        }
        state.stats.enqueued();
        myself.send_message(RunMsg::Advance)?;
        Ok(state)
    }

    async fn post_stop(&self, _: ActorRef<RunMsg>, state: &mut RunState) -> Result<(), ActorProcessingErr> {
        // a request still waiting for an answer the run never gave answers as any delivery does
        // (only a run that could answer has anyone waiting)
        if state.progress.plan().steps.iter().any(|step| step.kind == aos_schema::kinds::WEBHOOK_RESPOND) {
            state.deps.answers.ended(state.run.id);
        }
        if std::mem::take(&mut state.active) {
            metrics::gauge!(RUNS_ACTIVE).decrement(1.0);
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<RunMsg>,
        msg: RunMsg,
        state: &mut RunState,
    ) -> Result<(), ActorProcessingErr> {
        state.stats.dequeued();
        if state.status.is_terminal() {
            if let RunMsg::Status(reply) = msg {
                let _ = reply.send(state.status);
            }
            return Ok(());
        }
        match msg {
            RunMsg::Advance => {}
            RunMsg::Finished { key, attempt, result, elapsed_ms, started_at } => {
                let input = state.in_flight.get(&key).map(|f| f.step.context.input.clone());
                state.record_result(&key, attempt, input, &result, elapsed_ms, started_at)?;
                // a side effect ended: its result is durable before anything follows from it
                state.checkpoint().await?;
                state.apply(&myself, key, attempt, result).await?;
            }
            RunMsg::Recorded { step, attempt, result: Some(result) } => {
                state.take_recorded(&myself, &step, attempt, result).await?;
            }
            RunMsg::Recorded { result: None, .. } => state.collect(&myself, false).await?,
            RunMsg::Check => {
                state.checking = false;
                state.collect(&myself, true).await?;
            }
            RunMsg::Retry { key, .. } => {
                if let Some(step) = state.in_flight.get(&key).map(|f| f.step.clone()) {
                    let attempt = state.next_attempt(&key);
                    state.dispatch(&myself, step, attempt, std::time::Instant::now()).await?;
                }
            }
            RunMsg::Resume { key, output } => {
                state.progress.complete(&key, &output)?;
            }
            RunMsg::Cancel => {
                state.end(RunStatus::Cancelled, Some("cancelled")).await?;
                myself.stop(None);
                return Ok(());
            }
            RunMsg::Status(reply) => {
                let _ = reply.send(state.status);
                return Ok(());
            }
        }
        if !state.status.is_terminal() {
            state.advance(&myself).await?;
        }
        // nothing recorded stays only in memory while the actor waits
        state.checkpoint().await?;
        Ok(())
    }
}

impl RunState {
    fn new(run: Run, progress: RunProgress, deps: RunDeps, stats: Arc<ActorStats>) -> Self {
        Self {
            attempts: HashMap::new(),
            status: run.status,
            records: RunRecords::new(run.id, run.org_id, run.workflow_id),
            run,
            progress,
            in_flight: HashMap::new(),
            recovered: Vec::new(),
            checking: false,
            used: RunBill::default(),
            from_rows: false,
            billed_per_step: false,
            active: false,
            slot: None,
            deps,
            stats,
        }
    }

    fn local(&self) -> bool {
        matches!(self.deps.dispatch, Dispatch::Local)
    }

    fn set_active(&mut self) {
        if !self.active {
            self.active = true;
            metrics::gauge!(RUNS_ACTIVE).increment(1.0);
        }
    }

    /// Counts the run's end in `aos_runs_finished_total`.
    fn count_finished(&self, status: RunStatus) {
        metrics::counter!(RUNS_FINISHED_TOTAL, label::STATUS => status.as_str()).increment(1);
    }

    /// Writes what the run recorded since the last checkpoint and waits until it is durable. A
    /// failure fails the actor: its restart resumes from what is durable.
    async fn checkpoint(&mut self) -> Result<(), ActorProcessingErr> {
        if self.records.is_empty() {
            return Ok(());
        }
        let records = self.records.take();
        self.deps.store.writer().record(records).await?;
        Ok(())
    }

    /// Dispatches every ready step (and those recovered from the database), then finishes the run
    /// when nothing is left. In-process, pure steps run in line and what they make ready runs
    /// next, until only waits are left.
    async fn advance(&mut self, myself: &ActorRef<RunMsg>) -> Result<(), ActorProcessingErr> {
        loop {
            let mut to_run = std::mem::take(&mut self.recovered);
            to_run.extend(self.progress.ready());
            let ready_at = std::time::Instant::now();
            self.log_skipped().await?;
            if to_run.is_empty() {
                break;
            }
            let mut ran_in_line = false;
            for step in to_run {
                if self.status.is_terminal() {
                    return Ok(());
                }
                let attempt = self.next_attempt(&step.key);
                ran_in_line |= self.dispatch(myself, step, attempt, ready_at).await?;
            }
            if !ran_in_line {
                break;
            }
        }
        if self.status.is_terminal() {
            return Ok(());
        }
        match self.progress.outcome() {
            // it waits now (a task, a job, a timer): its start slot goes to a run that can go on
            RunOutcome::Running | RunOutcome::Failed => self.slot = None,
            RunOutcome::Succeeded => {
                self.end(RunStatus::Succeeded, None).await?;
                myself.stop(None);
            }
        }
        Ok(())
    }

    /// The attempt number the next try of `key` gets: one past the last recorded.
    fn next_attempt(&mut self, key: &StepKey) -> u32 {
        let last = self.attempts.entry(key.to_string()).or_default();
        *last += 1;
        *last
    }

    /// Marks the run running with its first dispatch.
    async fn mark_running(&mut self) -> Result<(), ActorProcessingErr> {
        if self.status != RunStatus::Queued {
            return Ok(());
        }
        self.status = RunStatus::Running;
        let trigger = match self.run.trigger_kind.as_str() {
            "webhook" => "webhook",
            "schedule" => "schedule",
            "manual" => "manual",
            "replay" => "replay",
            _ => "other",
        };
        metrics::counter!(RUNS_STARTED_TOTAL, label::TRIGGER => trigger).increment(1);
        self.records.started_at = Some(Timestamp::now());
        self.log(None, "info", "run_started", "run started".into(), json!({}));
        Ok(())
    }

    /// Dispatches one attempt of a step that became ready at `ready_at`. Returns whether it ran
    /// (and ended) in line.
    async fn dispatch(
        &mut self,
        myself: &ActorRef<RunMsg>,
        step: ReadyStep,
        attempt: u32,
        ready_at: std::time::Instant,
    ) -> Result<bool, ActorProcessingErr> {
        self.mark_running().await?;
        if self.local() {
            // in-process, a ready step starts at once: this is the whole of its wait
            metrics::histogram!(aos_ops::metrics::QUEUE_LAG_SECONDS).record(ready_at.elapsed().as_secs_f64());
        }
        // a pure step on an in-process engine runs here and now, whichever the dispatch: handing
        // it to a task or a queue would cost more than the step
        if self.deps.engine.in_process() && aos_schema::kinds::is_pure(&step.kind) {
            self.run_in_line(myself, step, attempt).await?;
            return Ok(true);
        }
        let name = step.key.to_string();
        self.in_flight.insert(step.key.clone(), InFlight { step: step.clone(), attempt: Some(attempt) });
        match &self.deps.dispatch {
            Dispatch::Local => {
                self.run_as_task(myself, step, attempt).await?;
                Ok(false)
            }
            Dispatch::Queue(queue) => {
                let queue = Arc::clone(queue);
                self.from_rows = true;
                self.log(
                    Some(&name),
                    "info",
                    "step_queued",
                    format!("{name} queued"),
                    json!({ "attempt": attempt, "kind": step.kind }),
                );
                // what ran here in line is durable before a worker acts on what follows from it
                // (a restarted actor must not make this step ready a second time), and this row
                // comes before the worker's `step_started`
                self.checkpoint().await?;
                let job = StepJob {
                    run_id: self.run.id,
                    org_id: self.run.org_id,
                    workflow_id: self.run.workflow_id,
                    step_key: name,
                    attempt,
                    enqueued_at: Timestamp::now(),
                    // the step travels with the job, so no worker replays the run to find it; its
                    // secrets do not: the worker reveals them from the vault
                    step: Some(JobStep {
                        kind: step.kind.clone(),
                        config: step.config.clone(),
                        context: serde_json::to_value(&step.context)?,
                    }),
                    traceparent: self.run.traceparent.clone(),
                };
                queue.enqueue(&job).await?;
                self.schedule_check(myself);
                Ok(false)
            }
        }
    }

    /// Runs a pure step now, in this actor, and applies its result. Its start is no row of its
    /// own: the attempt's row has its times, and its one log row says how it ended.
    async fn run_in_line(
        &mut self,
        myself: &ActorRef<RunMsg>,
        step: ReadyStep,
        attempt: u32,
    ) -> Result<(), ActorProcessingErr> {
        let started_at = Timestamp::now();
        let request = step::request_for(&self.deps.store, &RunRef::from(&self.run), &step, attempt).await?;
        let timeout = step::node_timeout(&step.config).unwrap_or(self.deps.step_timeout);
        let (result, elapsed_ms) = step::execute(&self.deps.engine, request, timeout).await;
        let key = step.key.clone();
        let input = if result.is_ok() {
            step.context.input
        } else {
            // a failure is retried or dead-lettered from what is in flight
            let input = step.context.input.clone();
            self.in_flight.insert(key.clone(), InFlight { step, attempt: Some(attempt) });
            input
        };
        self.record_result(&key, attempt, Some(input), &result, elapsed_ms, started_at)?;
        self.apply(myself, key, attempt, result).await
    }

    /// Starts an attempt with side effects as a task of this process, once its start is durable.
    async fn run_as_task(
        &mut self,
        myself: &ActorRef<RunMsg>,
        step: ReadyStep,
        attempt: u32,
    ) -> Result<(), ActorProcessingErr> {
        let started_at = Timestamp::now();
        self.log_started(&step, attempt, started_at);
        self.records.attempts.push(AttemptRecord {
            node_id: step.key.to_string(),
            attempt: i64::from(attempt),
            status: StepStatus::Running,
            input: Some(step.context.input.clone()),
            output: None,
            error: None,
            started_at: Some(started_at),
            finished_at: None,
            duration_ms: None,
        });
        self.checkpoint().await?;
        // a secret the store cannot read fails this actor, whose restart retries
        let request = step::request_for(&self.deps.store, &RunRef::from(&self.run), &step, attempt).await?;
        let engine = Arc::clone(&self.deps.engine);
        let timeout = step::node_timeout(&step.config).unwrap_or(self.deps.step_timeout);
        let reply = myself.clone();
        let stats = Arc::clone(&self.stats);
        let key = step.key;
        tokio::spawn(async move {
            let (result, elapsed_ms) = step::execute(&engine, request, timeout).await;
            stats.enqueued();
            let _run_gone = reply.send_message(RunMsg::Finished { key, attempt, result, elapsed_ms, started_at });
        });
        Ok(())
    }

    /// The `step_started` row of an attempt run as a task.
    fn log_started(&mut self, step: &ReadyStep, attempt: u32, at: Timestamp) {
        let name = step.key.to_string();
        self.records.logs.push(LogRecord {
            node_id: Some(name.clone()),
            level: "info",
            event: "step_started",
            message: format!("{name} started"),
            data: json!({ "attempt": attempt, "kind": step.kind }),
            at,
        });
    }

    /// Keeps how an in-process attempt ended, for the next checkpoint: its row, its log row and,
    /// on success, what it used.
    fn record_result(
        &mut self,
        key: &StepKey,
        attempt: u32,
        input: Option<serde_json::Value>,
        result: &StepResult,
        elapsed_ms: u64,
        started_at: Timestamp,
    ) -> Result<(), ActorProcessingErr> {
        let name = key.to_string();
        let (outcome, log) = step::outcome_of(&name, attempt, result, elapsed_ms)?;
        if let Ok(output) = result {
            self.used.steps += 1;
            self.used.compute_ms += elapsed_ms as i64;
            self.used.bytes += output.bytes as i64;
        }
        self.records.attempts.push(AttemptRecord {
            node_id: name,
            attempt: i64::from(attempt),
            status: outcome.status,
            input,
            output: outcome.output,
            error: outcome.error,
            started_at: Some(started_at),
            finished_at: Some(Timestamp::now()),
            duration_ms: outcome.duration_ms,
        });
        self.records.logs.push(LogRecord {
            node_id: log.node_id,
            level: log.level,
            event: log.event,
            message: log.message,
            data: log.data,
            at: Timestamp::now(),
        });
        Ok(())
    }

    /// Sends this actor a `Check` after `check_every`, unless one is on its way.
    fn schedule_check(&mut self, myself: &ActorRef<RunMsg>) {
        if !self.checking {
            self.checking = true;
            self.stats.enqueued();
            myself.send_after(self.deps.check_every, || RunMsg::Check);
        }
    }

    /// Applies every result workers recorded for the attempts under way (queue dispatch), and
    /// keeps checking while some are. The timer's check (`with_status`) also reads the run's row,
    /// to end a run cancelled on another node (whose workers then drop its jobs); a notice does not
    /// need to.
    async fn collect(&mut self, myself: &ActorRef<RunMsg>, with_status: bool) -> Result<(), ActorProcessingErr> {
        let status = if with_status { Some(self.deps.store.runs().get(self.run.id).await?.status) } else { None };
        if let Some(status) = status.filter(|s| s.is_terminal()) {
            self.status = status;
            self.log(None, "info", "run_finished", format!("run {status}"), json!({ "status": status }));
            myself.stop(None);
            return Ok(());
        }
        let rows = self.deps.store.runs().steps(self.run.id).await?;
        let mut done: Vec<(StepKey, u32, StepResult)> = self
            .in_flight
            .iter()
            .filter_map(|(key, flight)| {
                let attempt = flight.attempt?;
                let name = key.to_string();
                let row = rows.iter().find(|r| r.node_id == name && r.attempt == i64::from(attempt))?;
                Some((key.clone(), attempt, step::recorded_result(row)?))
            })
            .collect();
        done.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, attempt, result) in done {
            if self.status.is_terminal() {
                return Ok(());
            }
            self.apply(myself, key, attempt, result).await?;
        }
        if self.in_flight.values().any(|f| f.attempt.is_some()) {
            self.schedule_check(myself);
        }
        Ok(())
    }

    /// Applies a result a worker recorded and sent along with its notice (queue dispatch), with no
    /// read: if attempt `attempt` of `step` is still the one under way. Anything else (a notice of
    /// an attempt this actor already applied through its own check, or gave up on) is left alone.
    async fn take_recorded(
        &mut self,
        myself: &ActorRef<RunMsg>,
        step: &str,
        attempt: u32,
        result: StepResult,
    ) -> Result<(), ActorProcessingErr> {
        let key = self
            .in_flight
            .iter()
            .find(|(key, flight)| flight.attempt == Some(attempt) && key.to_string() == step)
            .map(|(key, _)| key.clone());
        if let Some(key) = key {
            self.apply(myself, key, attempt, result).await?;
        }
        if !self.status.is_terminal() && self.in_flight.values().any(|f| f.attempt.is_some()) {
            self.schedule_check(myself);
        }
        Ok(())
    }

    /// Moves the run on from a recorded result: the output flows on (after a delay's wait), or the
    /// failure is retried, dead-lettered or fails the run.
    async fn apply(
        &mut self,
        myself: &ActorRef<RunMsg>,
        key: StepKey,
        attempt: u32,
        result: StepResult,
    ) -> Result<(), ActorProcessingErr> {
        let name = key.to_string();
        match result {
            Ok(output) => {
                self.in_flight.remove(&key);
                if let Some(response) = &output.response {
                    self.deps.answers.answer(self.run.id, response.clone());
                }
                match output.wait_ms {
                    Some(wait) if wait > 0 => {
                        self.stats.enqueued();
                        myself.send_after(Duration::from_millis(wait), move || RunMsg::Resume { key, output });
                    }
                    _ => self.progress.complete(&key, &output)?,
                }
            }
            Err(error) => {
                let retry_after = error.retry_after_ms.map(Duration::from_millis);
                let config = self.in_flight.get(&key).map(|f| &f.step.config);
                let delay = if error.is_retryable() {
                    retry_policy(self.deps.retry, config).next_delay(attempt, jitter(), retry_after)
                } else {
                    None
                };
                if let Some(delay) = delay {
                    let kind = self.in_flight.get(&key).map_or("other", |f| step::metric_kind(&f.step.kind));
                    metrics::counter!(STEP_RETRIES_TOTAL, label::KIND => kind).increment(1);
                    self.log(
                        Some(&name),
                        "info",
                        "step_retrying",
                        format!("{name} retries in {} ms", delay.as_millis()),
                        json!({ "attempt": attempt + 1, "delay_ms": delay.as_millis() as u64 }),
                    );
                    if let Some(flight) = self.in_flight.get_mut(&key) {
                        flight.attempt = None;
                    }
                    self.stats.enqueued();
                    myself.send_after(delay, move || RunMsg::Retry { key, attempt: attempt + 1 });
                    return Ok(());
                }
                self.progress.fail(&key)?;
                let input = self.in_flight.get(&key).map(|f| f.step.context.input.clone()).unwrap_or_default();
                if error.is_retryable() {
                    self.dead_letter(&name, error.to_string(), input).await?;
                } else {
                    self.end(RunStatus::Failed, Some(&error.to_string())).await?;
                }
                myself.stop(None);
            }
        }
        Ok(())
    }

    /// Dead-letters the run at step `name`.
    async fn dead_letter(
        &mut self,
        name: &str,
        error: String,
        input: serde_json::Value,
    ) -> Result<(), ActorProcessingErr> {
        self.records.dead_letter = Some(DeadLetter { node_id: name.to_owned(), error, input });
        self.records.transition =
            Some(Transition { status: RunStatus::DeadLettered, error: None, at: Timestamp::now() });
        self.bill().await?;
        self.status = RunStatus::DeadLettered;
        self.count_finished(RunStatus::DeadLettered);
        self.records.logs.push(LogRecord {
            node_id: Some(name.to_owned()),
            level: "error",
            event: "run_finished",
            message: format!("run dead-lettered at {name}"),
            data: json!({ "status": "dead_lettered" }),
            at: Timestamp::now(),
        });
        self.checkpoint().await
    }

    /// Records skipped steps (untaken branches) as rows and events.
    async fn log_skipped(&mut self) -> Result<(), ActorProcessingErr> {
        for key in self.progress.take_skipped() {
            let name = key.to_string();
            if self.local() {
                self.records.attempts.push(AttemptRecord {
                    node_id: name.clone(),
                    attempt: 1,
                    status: StepStatus::Skipped,
                    input: None,
                    output: None,
                    error: None,
                    started_at: None,
                    finished_at: None,
                    duration_ms: None,
                });
            } else {
                self.deps
                    .store
                    .runs()
                    .start_attempt(&NewAttempt {
                        run_id: self.run.id,
                        org_id: self.run.org_id,
                        node_id: name.clone(),
                        attempt: 1,
                        status: StepStatus::Skipped,
                        input: None,
                    })
                    .await?;
            }
            self.log(Some(&name), "info", "step_skipped", format!("{name} skipped"), json!({}));
        }
        Ok(())
    }

    /// Ends the run in `status`, billed, and waits until that is durable.
    async fn end(&mut self, status: RunStatus, error: Option<&str>) -> Result<(), ActorProcessingErr> {
        self.records.transition = Some(Transition { status, error: error.map(str::to_owned), at: Timestamp::now() });
        self.bill().await?;
        self.status = status;
        self.count_finished(status);
        self.records.logs.push(LogRecord {
            node_id: None,
            level: "info",
            event: "run_finished",
            message: format!("run {status}"),
            data: json!({ "status": status }),
            at: Timestamp::now(),
        });
        self.checkpoint().await
    }

    /// Bills the run as a whole, with its end: every succeeded attempt it recorded, whoever ran it
    /// (this actor keeps count of its own; with queue dispatch the workers' are read back). A run
    /// whose steps were billed one by one when it began is settled that way.
    async fn bill(&mut self) -> Result<(), ActorProcessingErr> {
        if self.billed_per_step {
            // what this actor ran is recorded before it is billed with the rest
            let end = self.records.transition.take();
            self.checkpoint().await?;
            self.records.transition = end;
            step::settle_usage(&self.deps.store, &self.run).await?;
        } else if !self.from_rows {
            self.records.bill = Some(self.used);
        } else {
            let mut used = RunBill::default();
            let recorded = self.deps.store.runs().steps(self.run.id).await?;
            for row in recorded.iter().filter(|r| r.status == StepStatus::Succeeded) {
                used.steps += 1;
                used.compute_ms += row.duration_ms.unwrap_or(0);
                used.bytes += row.output.as_ref().and_then(|o| o.get("bytes")).and_then(|b| b.as_i64()).unwrap_or(0);
            }
            // the steps this actor ran since its last checkpoint are not rows yet
            for attempt in self.records.attempts.iter().filter(|a| a.status == StepStatus::Succeeded) {
                used.steps += 1;
                used.compute_ms += attempt.duration_ms.unwrap_or(0);
                used.bytes +=
                    attempt.output.as_ref().and_then(|o| o.get("bytes")).and_then(|b| b.as_i64()).unwrap_or(0);
            }
            self.records.bill = Some(used);
        }
        Ok(())
    }

    /// A run-log row, kept for the next checkpoint (at the latest, the end of the message that
    /// made it).
    fn log(
        &mut self,
        node: Option<&str>,
        level: &'static str,
        event: &'static str,
        message: String,
        data: serde_json::Value,
    ) {
        self.records.logs.push(LogRecord {
            node_id: node.map(str::to_owned),
            level,
            event,
            message,
            data,
            at: Timestamp::now(),
        });
    }
}

/// The retry policy of a node: the platform's, with the node's own `max_attempts`,
/// `backoff_initial_ms`, `backoff_max_ms` and `jitter` where it sets them.
fn retry_policy(base: RetryPolicy, config: Option<&serde_json::Map<String, serde_json::Value>>) -> RetryPolicy {
    let field = |name: &str| {
        config.and_then(|c| c.get(name)).and_then(serde_json::Value::as_f64).filter(|n| n.is_finite() && *n >= 0.0)
    };
    let mut policy = base;
    if let Some(n) = field("max_attempts").filter(|n| *n >= 1.0) {
        policy.max_attempts = n.min(20.0) as u32;
    }
    if let Some(ms) = field("backoff_initial_ms") {
        policy.backoff.initial = Duration::from_millis(ms.min(3_600_000.0) as u64);
    }
    if let Some(ms) = field("backoff_max_ms") {
        policy.backoff.max = Duration::from_millis(ms.min(86_400_000.0) as u64);
    }
    if let Some(jitter) = field("jitter") {
        policy.jitter = jitter.min(1.0);
    }
    policy
}

/// A value in `[0, 1)` for retry jitter, from the process's random source.
fn jitter() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// Starts run actors under the runs supervisor: the child key is the run id; a [`RunStart`] seed
/// starts a fresh run without reading it back (its [`RunSeed`]) and hands over its start slot.
#[derive(Debug, Clone)]
pub struct RunFactory {
    pub deps: RunDeps,
}

impl crate::supervisor::ChildFactory for RunFactory {
    fn kind(&self) -> crate::registry::ActorKind {
        crate::registry::ActorKind::Run
    }

    fn start(
        &self,
        key: String,
        supervisor: ractor::ActorCell,
        stats: Arc<ActorStats>,
    ) -> crate::supervisor::BoxFuture<Result<ractor::ActorCell, ractor::SpawnErr>> {
        self.spawn(key, RunStart { seed: None, slot: None }, supervisor, stats)
    }

    fn start_seeded(
        &self,
        key: String,
        seed: Seed,
        supervisor: ractor::ActorCell,
        stats: Arc<ActorStats>,
    ) -> crate::supervisor::BoxFuture<Result<ractor::ActorCell, ractor::SpawnErr>> {
        let start = seed.take::<RunStart>().unwrap_or(RunStart { seed: None, slot: None });
        self.spawn(key, start, supervisor, stats)
    }
}

impl RunFactory {
    fn spawn(
        &self,
        key: String,
        start: RunStart,
        supervisor: ractor::ActorCell,
        stats: Arc<ActorStats>,
    ) -> crate::supervisor::BoxFuture<Result<ractor::ActorCell, ractor::SpawnErr>> {
        let deps = self.deps.clone();
        Box::pin(async move {
            let run_id: RunId = parse_key(&key, "run id")?;
            let RunStart { seed, slot } = start;
            let seed = seed.filter(|seed| seed.run.id == run_id);
            spawn_child(RunActor, RunArgs { run_id, deps, stats, seed, slot }, supervisor).await
        })
    }
}
