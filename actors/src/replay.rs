//! Replaying a finished run as a new run (`replay_of` points back): from the start, on the
//! workflow's current published version; or from the failed step, on the same version, reusing the
//! outputs the first run recorded so the steps that succeeded do not run (or call anyone) again. A
//! pending dead-letter entry of the replayed run is marked replayed. The new run is queued; the
//! caller starts its actor.

use aos_persistence::{
    AttemptOutcome, AuditEntry, By, NewAttempt, NewRun, Run, RunStep, Store, StoreError, StoreResult,
};
pub use aos_schema::ReplayFrom;
use aos_schema::{DlqStatus, RunId, StepStatus};

/// Creates the replay of `run_id` (which must have finished) and returns the new, queued run.
pub async fn replay_run(store: &Store, run_id: RunId, from: ReplayFrom, by: By) -> StoreResult<Run> {
    let old = store.runs().get(run_id).await?;
    if !old.status.is_terminal() {
        return Err(StoreError::Conflict { what: format!("run {run_id} is still running, a replay") });
    }
    let version = match from {
        ReplayFrom::Failed => old.version,
        ReplayFrom::Start => store
            .workflows()
            .get_in(old.org_id, old.workflow_id)
            .await?
            .current_version
            .ok_or_else(|| StoreError::NotFound { entity: "published version", id: old.workflow_id.to_string() })?,
    };
    let new = store
        .runs()
        .create(&NewRun {
            org_id: old.org_id,
            workflow_id: old.workflow_id,
            version,
            trigger_kind: "replay".into(),
            idempotency_key: None,
            input: old.input.clone(),
            replay_of: Some(old.id),
            traceparent: None,
        })
        .await?
        .into_inner();
    if from == ReplayFrom::Failed {
        for step in last_successes(store.runs().steps(old.id).await?) {
            let runs = store.runs();
            let attempt = NewAttempt {
                run_id: new.id,
                org_id: new.org_id,
                node_id: step.node_id.clone(),
                attempt: 1,
                status: StepStatus::Running,
                input: step.input.clone(),
            };
            runs.start_attempt(&attempt).await?;
            let outcome = AttemptOutcome {
                status: StepStatus::Succeeded,
                output: step.output,
                error: None,
                duration_ms: Some(0),
            };
            runs.finish_attempt(new.id, &step.node_id, 1, &outcome).await?;
        }
    }
    let pending = store.runs().dlq(old.org_id, Some(DlqStatus::Pending), Some(500)).await?;
    for entry in pending.into_iter().filter(|e| e.run_id == old.id) {
        store.runs().resolve_dlq(old.org_id, entry.id, DlqStatus::Replayed, by).await?;
    }
    let entry = AuditEntry::new(old.org_id, by, "run.replay", ("run", old.id.to_string()))
        .with_detail(serde_json::json!({ "new_run_id": new.id, "from": from, "version": version }));
    store.audit().record(&entry).await?;
    Ok(new)
}

/// The succeeded attempt of each step (one per step row name).
fn last_successes(steps: Vec<RunStep>) -> Vec<RunStep> {
    let mut done: Vec<RunStep> = steps.into_iter().filter(|s| s.status == StepStatus::Succeeded).collect();
    done.sort_by(|a, b| a.node_id.cmp(&b.node_id).then(b.attempt.cmp(&a.attempt)));
    done.dedup_by(|a, b| a.node_id == b.node_id);
    done
}
