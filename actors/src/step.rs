//! One step attempt, from request to record, shared by the two ways a step executes: in its run
//! actor's process (in line or as a task) and on a step worker that took it from the step queue.
//! How an attempt ended is its row and its `step_succeeded` / `step_failed` log row
//! (`outcome_of`); a run actor keeps them for its next checkpoint, a worker records them at once
//! (`record`). The run bills every succeeded attempt as a whole when it ends.
//! A failure's structured error (`StepError`: class, code, `Retry-After`) is kept in the row's
//! output as `{"error": …}`, so whichever actor applies the result decides on a retry from the row
//! alone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aos_engine_link::{Engine, PROTOCOL_VERSION, StepError, StepMeta, StepOutput, StepRequest, WireSecret};
use aos_persistence::{
    AttemptOutcome, By, NewAttempt, NewRunLog, NewUsage, Recorded, Run, RunStep, SecretUse, StepJob, Store, StoreError,
};
use aos_schema::{NodeId, OrgId, RunId, StepStatus, WorkflowId, referenced_secrets};
use serde_json::json;

use aos_ops::metrics::{STEP_DURATION_SECONDS, STEPS_TOTAL, label};

use crate::progress::ReadyStep;

/// A step attempt's result, as the run applies it.
pub type StepResult = Result<StepOutput, StepError>;

/// The run an attempt belongs to, as much of it as executing and recording the attempt needs: a
/// run actor has the whole run, a step worker only what its job carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub id: RunId,
    pub org_id: OrgId,
    pub workflow_id: WorkflowId,
    /// The W3C `traceparent` of what started the run: the attempt's span continues that trace.
    pub traceparent: Option<String>,
}

impl From<&Run> for RunRef {
    fn from(run: &Run) -> Self {
        Self { id: run.id, org_id: run.org_id, workflow_id: run.workflow_id, traceparent: run.traceparent.clone() }
    }
}

impl From<&StepJob> for RunRef {
    fn from(job: &StepJob) -> Self {
        Self { id: job.run_id, org_id: job.org_id, workflow_id: job.workflow_id, traceparent: job.traceparent.clone() }
    }
}

/// The engine request for one attempt of `step`, with the secrets its config references revealed
/// from the vault (each use audited). A secret that is not set is left out: the engine reports it
/// as `missing_secret`. Any other store failure is an error of the caller.
pub async fn request_for(
    store: &Store,
    run: &RunRef,
    step: &ReadyStep,
    attempt: u32,
) -> Result<StepRequest, StoreError> {
    let name = step.key.to_string();
    let mut secrets = BTreeMap::new();
    for secret in referenced_secrets(&step.config) {
        let usage = SecretUse { by: By::System, purpose: format!("run:{}/step:{name}", run.id) };
        match store.secrets().reveal(run.org_id, &secret, &usage).await {
            Ok(value) => {
                secrets.insert(secret, WireSecret(value));
            }
            Err(StoreError::NotFound { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(StepRequest {
        protocol: PROTOCOL_VERSION.to_owned(),
        meta: StepMeta {
            org_id: run.org_id.to_string(),
            workflow_id: run.workflow_id.to_string(),
            run_id: run.id.to_string(),
            node_id: name,
            attempt,
            // the trace of what started the run; `execute` hangs the step's span under it
            traceparent: run.traceparent.clone(),
        },
        kind: step.kind.clone(),
        config: step.config.clone(),
        context: step.context.clone(),
        secrets,
    })
}

/// Starts attempt `attempt` of `step`: its `running` row and its `step_started` log row (naming the
/// `worker` that runs it, if any). The row is unique per (run, step, attempt), so of two copies of
/// one job only one starts it: the other gets `Duplicate` with the row as it is now (running, or
/// already finished), writing nothing.
pub async fn start(
    store: &Store,
    run: &RunRef,
    step: &ReadyStep,
    attempt: u32,
    worker: Option<&str>,
) -> Result<Recorded<RunStep>, StoreError> {
    let name = step.key.to_string();
    let started = store
        .runs()
        .start_attempt(&NewAttempt {
            run_id: run.id,
            org_id: run.org_id,
            node_id: name.clone(),
            attempt: i64::from(attempt),
            status: StepStatus::Running,
            input: Some(step.context.input.clone()),
        })
        .await?;
    if !started.is_new() {
        return Ok(started);
    }
    let mut data = json!({ "attempt": attempt, "kind": step.kind });
    if let Some(worker) = worker {
        data["worker"] = json!(worker);
    }
    store
        .runs()
        .append_log(&NewRunLog {
            run_id: run.id,
            org_id: run.org_id,
            workflow_id: run.workflow_id,
            node_id: Some(name.clone()),
            level: "info",
            event: "step_started",
            message: format!("{name} started"),
            data,
        })
        .await?;
    Ok(started)
}

/// Runs `request` on `engine` within `timeout` (a timeout is a retryable `step_timeout`). Returns
/// the result and the milliseconds it took.
///
/// When traces are exported, the attempt is one span, `step <node>`, a child of the run's trace
/// (`meta.traceparent` on the way in); the engine gets this span's own `traceparent`, so an engine
/// call (in-process or remote) is the step's child. When nobody receives traces the step opens no
/// span (a run's steps would spend more time in spans than in work) and the engine gets the run's
/// `traceparent` as it is.
pub async fn execute(engine: &Arc<dyn Engine>, mut request: StepRequest, timeout: Duration) -> (StepResult, u64) {
    let kind = request.kind.clone();
    let started = Instant::now();
    let outcome = if aos_ops::exporting() {
        let span = tracing::info_span!(
            "step",
            otel.name = %format!("step {}", request.meta.node_id),
            run_id = %request.meta.run_id,
            node_id = %request.meta.node_id,
            kind = %request.kind,
            attempt = request.meta.attempt,
        );
        if let Some(parent) = request.meta.traceparent.as_deref() {
            aos_ops::set_parent_from_traceparent(&span, parent);
        }
        request.meta.traceparent = aos_ops::traceparent(&span);
        tracing::Instrument::instrument(tokio::time::timeout(timeout, engine.execute(request)), span).await
    } else {
        tokio::time::timeout(timeout, engine.execute(request)).await
    };
    let result = match outcome {
        Ok(result) => result,
        Err(_) => Err(StepError::retryable("step_timeout", format!("the step took longer than {timeout:?}"))),
    };
    let elapsed = started.elapsed();
    let outcome = match &result {
        Ok(_) => "succeeded",
        Err(error) if error.is_retryable() => "retryable",
        Err(_) => "permanent",
    };
    let kind = metric_kind(&kind);
    metrics::counter!(STEPS_TOTAL, label::KIND => kind, label::OUTCOME => outcome).increment(1);
    metrics::histogram!(STEP_DURATION_SECONDS, label::KIND => kind).record(elapsed.as_secs_f64());
    (result, elapsed.as_millis() as u64)
}

/// A node kind as a metrics label: built-in kinds as they are, anything else as `other` (labels
/// stay bounded whatever a workflow file names).
pub fn metric_kind(kind: &str) -> &'static str {
    aos_schema::kinds::ALL.iter().find(|k| **k == kind).copied().unwrap_or("other")
}

/// A node's own limit, from its optional `timeout_seconds` config field.
pub fn node_timeout(config: &serde_json::Map<String, serde_json::Value>) -> Option<Duration> {
    let seconds = config.get("timeout_seconds")?.as_f64()?;
    (seconds.is_finite() && seconds > 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)))
}

/// A step's log row, before it is given to a run.
#[derive(Debug, Clone)]
pub struct StepLog {
    pub node_id: Option<String>,
    pub level: &'static str,
    pub event: &'static str,
    pub message: String,
    pub data: serde_json::Value,
}

/// How attempt `attempt` of step `name` ended, as its row and its log row say it.
pub fn outcome_of(
    name: &str,
    attempt: u32,
    result: &StepResult,
    elapsed_ms: u64,
) -> Result<(AttemptOutcome, StepLog), StoreError> {
    let (outcome, level, event, message, data) = match result {
        Ok(output) => (
            AttemptOutcome {
                status: StepStatus::Succeeded,
                output: Some(serde_json::to_value(output).map_err(|err| corrupt_output(&err))?),
                error: None,
                duration_ms: Some(elapsed_ms as i64),
            },
            "info",
            "step_succeeded",
            format!("{name} succeeded"),
            json!({ "attempt": attempt, "duration_ms": elapsed_ms }),
        ),
        Err(error) => (
            AttemptOutcome {
                status: StepStatus::Failed,
                output: Some(json!({ "error": error })),
                error: Some(error.to_string()),
                duration_ms: Some(elapsed_ms as i64),
            },
            "warn",
            "step_failed",
            format!("{name} failed: {error}"),
            json!({ "attempt": attempt, "code": error.code, "retryable": error.is_retryable(), "duration_ms": elapsed_ms }),
        ),
    };
    Ok((outcome, StepLog { node_id: Some(name.to_owned()), level, event, message, data }))
}

/// Records how attempt `attempt` of step `name` ended: the row and the log row (the run bills its
/// succeeded attempts as a whole when it ends). Returns `false` (and records nothing more) when
/// the attempt had been finished already, by a duplicate delivery or by a run actor that closed it
/// as interrupted.
pub async fn record(
    store: &Store,
    run: &RunRef,
    name: &str,
    attempt: u32,
    result: &StepResult,
    elapsed_ms: u64,
) -> Result<bool, StoreError> {
    let runs = store.runs();
    let (outcome, log) = outcome_of(name, attempt, result, elapsed_ms)?;
    if !runs.finish_attempt(run.id, name, i64::from(attempt), &outcome).await? {
        return Ok(false);
    }
    runs.append_log(&NewRunLog {
        run_id: run.id,
        org_id: run.org_id,
        workflow_id: run.workflow_id,
        node_id: log.node_id,
        level: log.level,
        event: log.event,
        message: log.message,
        data: log.data,
    })
    .await?;
    Ok(true)
}

/// Makes sure every succeeded attempt of `run` is billed: an executor that died between recording
/// an attempt and its usage left it unbilled. One query when nothing is missing (the usual case);
/// usage is recorded under the attempt's unique key, so billing twice is impossible. Returns how
/// many attempts were billed now.
pub async fn settle_usage(store: &Store, run: &Run) -> Result<u64, StoreError> {
    let billed = store.billing().run_usage(run.org_id, run.id).await?.steps;
    let rows = store.runs().steps(run.id).await?;
    let succeeded: Vec<&RunStep> = rows.iter().filter(|r| r.status == StepStatus::Succeeded).collect();
    if i64::try_from(succeeded.len()).unwrap_or(i64::MAX) <= billed {
        return Ok(0);
    }
    let mut settled = 0;
    for row in succeeded {
        let bytes = row.output.as_ref().and_then(|o| o.get("bytes")).and_then(serde_json::Value::as_i64).unwrap_or(0);
        let recorded = store
            .billing()
            .record_usage(&NewUsage {
                org: run.org_id,
                workflow: run.workflow_id,
                run: run.id,
                node_id: NodeId::from(row.node_id.clone()),
                attempt: row.attempt,
                steps: 1,
                compute_ms: row.duration_ms.unwrap_or(0),
                bytes,
            })
            .await?;
        if recorded.created {
            settled += 1;
        }
    }
    if settled > 0 {
        tracing::warn!(run_id = %run.id, settled, "billed step attempts an executor had left unbilled");
    }
    Ok(settled)
}

/// The result a finished attempt row holds, or `None` while it runs.
pub fn recorded_result(row: &RunStep) -> Option<StepResult> {
    match row.status {
        StepStatus::Succeeded => {
            let output = row.output.clone().and_then(|o| serde_json::from_value::<StepOutput>(o).ok());
            Some(output.ok_or_else(|| StepError::permanent("corrupt_result", "the recorded step output is unreadable")))
        }
        StepStatus::Failed | StepStatus::Cancelled => {
            let error = row
                .output
                .as_ref()
                .and_then(|o| o.get("error"))
                .and_then(|e| serde_json::from_value::<StepError>(e.clone()).ok());
            // rows closed as interrupted carry no structured error: the attempt may run again
            Some(Err(error.unwrap_or_else(|| {
                StepError::retryable("interrupted", row.error.clone().unwrap_or_else(|| "interrupted".into()))
            })))
        }
        StepStatus::Queued | StepStatus::Running | StepStatus::Skipped => None,
    }
}

fn corrupt_output(err: &serde_json::Error) -> StoreError {
    StoreError::Corrupt { what: "step output", reason: err.to_string() }
}
