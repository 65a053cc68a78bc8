//! The run actor: one per live run. It drives the run's [`RunProgress`] through an [`Engine`],
//! recording every transition: a step-attempt row (unique per run, step and attempt), a run-log row
//! (the event stream), and usage for billing. Failed steps retry under the [`RetryPolicy`];
//! retryable failures that exhaust it dead-letter the run, permanent ones fail it. A delay step's
//! wait is a timer message, never a sleeping task.
//!
//! The database is the truth: `pre_start` rebuilds the progress from the run's recorded results, so
//! a restarted (or re-created, on another node) actor continues where the last one stopped, and a
//! step already recorded as succeeded is never executed again.
//!
//! Steps run as tasks of this process that send their result back as a message; the step queue
//! (`aos_persistence::StepQueue`) carrying them to workers on other nodes plugs in here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aos_engine_link::{Engine, PROTOCOL_VERSION, StepError, StepMeta, StepOutput, StepRequest, WireSecret};
use aos_persistence::{
    Actor as AuditActor, AttemptOutcome, NewAttempt, NewDlqEntry, NewRunLog, NewUsage, Run, SecretUse, Store,
};
use aos_schema::{ExecutionPlan, NodeId, RunId, RunStatus, StepStatus, referenced_secrets};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::json;

use crate::policy::RetryPolicy;
use crate::progress::{ReadyStep, RunOutcome, RunProgress, StepKey};
use crate::registry::ActorStats;
use crate::supervisor::{spawn_child, startup_failed};

/// What every run actor needs.
#[derive(Clone)]
pub struct RunDeps {
    pub store: Store,
    pub engine: Arc<dyn Engine>,
    pub retry: RetryPolicy,
    /// Longest a single step may take before it counts as a retryable timeout.
    pub step_timeout: Duration,
}

impl std::fmt::Debug for RunDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunDeps")
            .field("retry", &self.retry)
            .field("step_timeout", &self.step_timeout)
            .finish_non_exhaustive()
    }
}

/// A run actor's start arguments.
#[derive(Debug, Clone)]
pub struct RunArgs {
    pub run_id: RunId,
    pub deps: RunDeps,
    pub stats: Arc<ActorStats>,
}

/// What a run actor handles.
#[derive(Debug)]
pub enum RunMsg {
    /// Dispatch whatever is ready.
    Advance,
    /// A step attempt ended.
    Finished { key: StepKey, attempt: u32, result: Result<StepOutput, StepError>, elapsed_ms: u64 },
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

/// A live run.
#[derive(Debug)]
pub struct RunState {
    run: Run,
    progress: RunProgress,
    /// The dispatched steps, kept for retries.
    in_flight: HashMap<StepKey, ReadyStep>,
    /// Steps the last actor of this run had dispatched but not finished: they run again first.
    recovered: Vec<ReadyStep>,
    /// The last attempt number used per step row name, so a new try never reuses a recorded one.
    attempts: HashMap<String, u32>,
    status: RunStatus,
    deps: RunDeps,
    stats: Arc<ActorStats>,
}

impl Actor for RunActor {
    type Msg = RunMsg;
    type State = RunState;
    type Arguments = RunArgs;

    async fn pre_start(&self, myself: ActorRef<RunMsg>, args: RunArgs) -> Result<RunState, ActorProcessingErr> {
        let store = &args.deps.store;
        let run = store.runs().get(args.run_id).await?;
        let version = store.workflows().version(run.org_id, run.workflow_id, run.version).await?;
        let plan: ExecutionPlan = serde_json::from_value(version.plan.clone())?;
        let mut progress = RunProgress::new(Arc::new(plan), run.input.clone());
        let recorded = store.runs().steps(run.id).await?;
        let Replayed { pending: recovered, waiting } = replay(&mut progress, &recorded);
        // attempts the previous actor started but never finished will not report: close them
        let interrupted = AttemptOutcome {
            status: StepStatus::Failed,
            output: None,
            error: Some("interrupted: the run's actor restarted before this attempt finished".into()),
            duration_ms: None,
        };
        for step in recorded.iter().filter(|s| s.status == StepStatus::Running) {
            store.runs().finish_attempt(run.id, &step.node_id, step.attempt, &interrupted).await?;
        }
        let mut attempts: HashMap<String, u32> = HashMap::new();
        for step in &recorded {
            let last = attempts.entry(step.node_id.clone()).or_default();
            *last = (*last).max(u32::try_from(step.attempt).unwrap_or(u32::MAX));
        }
        let state = RunState {
            attempts,
            status: run.status,
            run,
            progress,
            in_flight: HashMap::new(),
            recovered,
            deps: args.deps,
            stats: args.stats,
        };
        if !state.status.is_terminal() {
            for (key, output, remaining) in waiting {
                state.stats.enqueued();
                myself.send_after(remaining, move || RunMsg::Resume { key, output });
            }
            state.stats.enqueued();
            myself.send_message(RunMsg::Advance)?;
        }
        Ok(state)
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
            RunMsg::Finished { key, attempt, result, elapsed_ms } => {
                state.finished(&myself, key, attempt, result, elapsed_ms).await?;
            }
            RunMsg::Retry { key, .. } => {
                if let Some(step) = state.in_flight.get(&key).cloned() {
                    let attempt = state.next_attempt(&key);
                    state.dispatch(&myself, step, attempt).await?;
                }
                return Ok(());
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
        state.advance(&myself).await?;
        Ok(())
    }
}

/// What a reloaded run resumes with.
#[derive(Debug, Default)]
struct Replayed {
    /// Dispatched steps with no recorded success: they run again.
    pending: Vec<ReadyStep>,
    /// Delay steps whose wait had not ended: their result flows on after the rest of the wait.
    waiting: Vec<(StepKey, StepOutput, Duration)>,
}

/// Feeds recorded successes back into `progress` until it asks for a step that has none.
fn replay(progress: &mut RunProgress, recorded: &[aos_persistence::RunStep]) -> Replayed {
    let mut replayed = Replayed::default();
    let now = aos_persistence::Timestamp::now();
    loop {
        let ready = progress.ready();
        if ready.is_empty() {
            return replayed;
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
                replayed.pending.push(step);
                continue;
            };
            let remaining = match (output.wait_ms, finished_at) {
                (Some(wait), Some(at)) => {
                    let due = at + time::Duration::milliseconds(i64::try_from(wait).unwrap_or(i64::MAX));
                    Duration::try_from(due.as_offset() - now.as_offset()).unwrap_or_default()
                }
                _ => Duration::ZERO,
            };
            if remaining > Duration::ZERO {
                replayed.waiting.push((step.key, output, remaining));
            } else if progress.complete(&step.key, &output).is_ok() {
                advanced = true;
            }
        }
        if !advanced {
            return replayed;
        }
    }
}

impl RunState {
    /// Dispatches every ready step (and those recovered from the database), then finishes the run
    /// when nothing is left.
    async fn advance(&mut self, myself: &ActorRef<RunMsg>) -> Result<(), ActorProcessingErr> {
        let mut to_run = std::mem::take(&mut self.recovered);
        to_run.extend(self.progress.ready());
        self.log_skipped().await?;
        for step in to_run {
            let attempt = self.next_attempt(&step.key);
            self.in_flight.insert(step.key.clone(), step.clone());
            self.dispatch(myself, step, attempt).await?;
        }
        match self.progress.outcome() {
            RunOutcome::Running => {}
            RunOutcome::Succeeded => {
                self.end(RunStatus::Succeeded, None).await?;
                myself.stop(None);
            }
            RunOutcome::Failed => {}
        }
        Ok(())
    }

    /// The attempt number the next try of `key` gets: one past the last recorded.
    fn next_attempt(&mut self, key: &StepKey) -> u32 {
        let last = self.attempts.entry(key.to_string()).or_default();
        *last += 1;
        *last
    }

    async fn dispatch(
        &mut self,
        myself: &ActorRef<RunMsg>,
        step: ReadyStep,
        attempt: u32,
    ) -> Result<(), ActorProcessingErr> {
        if self.status == RunStatus::Queued {
            self.deps.store.runs().transition(self.run.id, RunStatus::Running, None).await?;
            self.status = RunStatus::Running;
            self.log(None, "info", "run_started", "run started".into(), json!({})).await?;
        }
        let name = step.key.to_string();
        let runs = self.deps.store.runs();
        runs.start_attempt(&NewAttempt {
            run_id: self.run.id,
            org_id: self.run.org_id,
            node_id: name.clone(),
            attempt: i64::from(attempt),
            status: StepStatus::Running,
            input: Some(step.context.input.clone()),
        })
        .await?;
        self.log(
            Some(&name),
            "info",
            "step_started",
            format!("{name} started"),
            json!({ "attempt": attempt, "kind": step.kind }),
        )
        .await?;
        let mut secrets = BTreeMap::new();
        for secret in referenced_secrets(&step.config) {
            let usage = SecretUse { by: AuditActor::System, purpose: format!("run:{}/step:{name}", self.run.id) };
            // a secret that is not set is left out: the engine reports it as `missing_secret`;
            // any other failure (the database is down) fails this actor, whose restart retries
            match self.deps.store.secrets().reveal(self.run.org_id, &secret, &usage).await {
                Ok(value) => {
                    secrets.insert(secret, WireSecret(value));
                }
                Err(aos_persistence::StoreError::NotFound { .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        let request = StepRequest {
            protocol: PROTOCOL_VERSION.to_owned(),
            meta: StepMeta {
                org_id: self.run.org_id.to_string(),
                workflow_id: self.run.workflow_id.to_string(),
                run_id: self.run.id.to_string(),
                node_id: name,
                attempt,
                traceparent: None,
            },
            kind: step.kind.clone(),
            config: step.config.clone(),
            context: step.context.clone(),
            secrets,
        };
        let engine = Arc::clone(&self.deps.engine);
        let timeout = step_timeout(&step.config).unwrap_or(self.deps.step_timeout);
        let reply = myself.clone();
        let stats = Arc::clone(&self.stats);
        let key = step.key;
        tokio::spawn(async move {
            let started = Instant::now();
            let result = match tokio::time::timeout(timeout, engine.execute(request)).await {
                Ok(result) => result,
                Err(_) => Err(StepError::retryable("step_timeout", format!("the step took longer than {timeout:?}"))),
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            stats.enqueued();
            let _run_gone = reply.send_message(RunMsg::Finished { key, attempt, result, elapsed_ms });
        });
        Ok(())
    }

    async fn finished(
        &mut self,
        myself: &ActorRef<RunMsg>,
        key: StepKey,
        attempt: u32,
        result: Result<StepOutput, StepError>,
        elapsed_ms: u64,
    ) -> Result<(), ActorProcessingErr> {
        let name = key.to_string();
        let runs = self.deps.store.runs();
        match result {
            Ok(output) => {
                let recorded = AttemptOutcome {
                    status: StepStatus::Succeeded,
                    output: Some(serde_json::to_value(&output)?),
                    error: None,
                    duration_ms: Some(elapsed_ms as i64),
                };
                if !runs.finish_attempt(self.run.id, &name, i64::from(attempt), &recorded).await? {
                    return Ok(()); // recorded already: a duplicate delivery
                }
                self.deps
                    .store
                    .billing()
                    .record_usage(&NewUsage {
                        org: self.run.org_id,
                        workflow: self.run.workflow_id,
                        run: self.run.id,
                        node_id: NodeId::from(name.clone()),
                        attempt: i64::from(attempt),
                        steps: 1,
                        compute_ms: elapsed_ms as i64,
                        bytes: output.bytes as i64,
                    })
                    .await?;
                self.log(
                    Some(&name),
                    "info",
                    "step_succeeded",
                    format!("{name} succeeded"),
                    json!({ "attempt": attempt, "duration_ms": elapsed_ms }),
                )
                .await?;
                self.in_flight.remove(&key);
                match output.wait_ms {
                    Some(wait) if wait > 0 => {
                        self.stats.enqueued();
                        myself.send_after(Duration::from_millis(wait), move || RunMsg::Resume { key, output });
                    }
                    _ => self.progress.complete(&key, &output)?,
                }
            }
            Err(error) => {
                let recorded = AttemptOutcome {
                    status: StepStatus::Failed,
                    output: None,
                    error: Some(error.to_string()),
                    duration_ms: Some(elapsed_ms as i64),
                };
                if !runs.finish_attempt(self.run.id, &name, i64::from(attempt), &recorded).await? {
                    return Ok(());
                }
                self.log(
                    Some(&name),
                    "warn",
                    "step_failed",
                    format!("{name} failed: {error}"),
                    json!({ "attempt": attempt, "code": error.code, "retryable": error.is_retryable() }),
                )
                .await?;
                let retry_after = error.retry_after_ms.map(Duration::from_millis);
                let delay = if error.is_retryable() {
                    let config = self.in_flight.get(&key).map(|s| &s.config);
                    retry_policy(self.deps.retry, config).next_delay(attempt, jitter(), retry_after)
                } else {
                    None
                };
                match delay {
                    Some(delay) => {
                        self.log(
                            Some(&name),
                            "info",
                            "step_retrying",
                            format!("{name} retries in {} ms", delay.as_millis()),
                            json!({ "attempt": attempt + 1, "delay_ms": delay.as_millis() as u64 }),
                        )
                        .await?;
                        self.stats.enqueued();
                        myself.send_after(delay, move || RunMsg::Retry { key, attempt: attempt + 1 });
                    }
                    None => {
                        self.progress.fail(&key)?;
                        let input = self.in_flight.get(&key).map(|s| s.context.input.clone()).unwrap_or_default();
                        if error.is_retryable() {
                            runs.dead_letter(&NewDlqEntry {
                                run_id: self.run.id,
                                node_id: name.clone(),
                                error: error.to_string(),
                                input,
                            })
                            .await?;
                            self.status = RunStatus::DeadLettered;
                            self.log(
                                Some(&name),
                                "error",
                                "run_finished",
                                format!("run dead-lettered at {name}"),
                                json!({ "status": "dead_lettered" }),
                            )
                            .await?;
                        } else {
                            self.end(RunStatus::Failed, Some(&error.to_string())).await?;
                        }
                        myself.stop(None);
                    }
                }
            }
        }
        Ok(())
    }

    /// Records skipped steps (untaken branches) as rows and events.
    async fn log_skipped(&mut self) -> Result<(), ActorProcessingErr> {
        for key in self.progress.take_skipped() {
            let name = key.to_string();
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
            self.log(Some(&name), "info", "step_skipped", format!("{name} skipped"), json!({})).await?;
        }
        Ok(())
    }

    async fn end(&mut self, status: RunStatus, error: Option<&str>) -> Result<(), ActorProcessingErr> {
        self.deps.store.runs().transition(self.run.id, status, error).await?;
        self.status = status;
        self.log(None, "info", "run_finished", format!("run {status}"), json!({ "status": status })).await?;
        Ok(())
    }

    async fn log(
        &self,
        node: Option<&str>,
        level: &'static str,
        event: &'static str,
        message: String,
        data: serde_json::Value,
    ) -> Result<(), ActorProcessingErr> {
        self.deps
            .store
            .runs()
            .append_log(&NewRunLog {
                run_id: self.run.id,
                org_id: self.run.org_id,
                workflow_id: self.run.workflow_id,
                node_id: node.map(str::to_owned),
                level,
                event,
                message,
                data,
            })
            .await?;
        Ok(())
    }
}

/// The retry policy of a node: the platform's, with the node's `max_attempts` when it sets one.
fn retry_policy(base: RetryPolicy, config: Option<&serde_json::Map<String, serde_json::Value>>) -> RetryPolicy {
    let attempts = config.and_then(|c| c.get("max_attempts")).and_then(serde_json::Value::as_f64);
    match attempts {
        Some(n) if n.is_finite() && n >= 1.0 => RetryPolicy { max_attempts: n.min(20.0) as u32, ..base },
        _ => base,
    }
}

/// A node's own limit, from its optional `timeout_seconds` config field.
fn step_timeout(config: &serde_json::Map<String, serde_json::Value>) -> Option<Duration> {
    let seconds = config.get("timeout_seconds")?.as_f64()?;
    (seconds.is_finite() && seconds > 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)))
}

/// A value in `[0, 1)` for retry jitter, from the process's random source.
fn jitter() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// Starts run actors under the runs supervisor: the child key is the run id.
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
        let deps = self.deps.clone();
        Box::pin(async move {
            let run_id: RunId = key.parse().map_err(|_| startup_failed(format!("{key:?} is not a run id")))?;
            spawn_child(RunActor, RunArgs { run_id, deps, stats }, supervisor).await
        })
    }
}
