//! Runs: start one by hand, list with filters, detail (status and the latest attempt of each
//! step), logs, cancel, replay; and the dead-letter queue: list, replay one, bulk replay, discard.

use aos_actors::{ReplayFrom, replay_run};
use aos_api::{BulkReplay, Cancelled, ReplayFailed, Replayed, RunCreated, RunDetail};
use aos_persistence::{AuditEntry, DlqEntry, NewRun, Recorded, Run, RunFilter, Timestamp};
use aos_schema::{DlqEntryId, DlqStatus, OrgId, Role, RunId, RunStatus, WorkflowId};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Access, Principal};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, MaybeJson};
use crate::routes::workflows::workflow_access;
use crate::state::AppState;
use crate::views;
use aos_api::ErrorCode;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/workflows/{id}/runs", post(start))
        .route("/api/orgs/{org_id}/runs", get(list))
        .route("/api/runs/{id}", get(detail))
        .route("/api/runs/{id}/logs", get(logs))
        .route("/api/runs/{id}/cancel", post(cancel))
        .route("/api/runs/{id}/replay", post(replay))
        .route("/api/orgs/{org_id}/dlq", get(dlq))
        .route("/api/orgs/{org_id}/dlq/replay", post(bulk_replay))
        .route("/api/orgs/{org_id}/dlq/{entry_id}/replay", post(replay_entry))
        .route("/api/orgs/{org_id}/dlq/{entry_id}/discard", post(discard_entry))
}

/// The longest `Idempotency-Key` accepted.
const MAX_KEY_LEN: usize = 200;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    #[serde(default)]
    pub input: Value,
}

/// Starts a run of the current published version. An `Idempotency-Key` header makes retries
/// safe: the same key answers the first run (`200`).
async fn start(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<WorkflowId>,
    MaybeJson(body): MaybeJson<StartRequest>,
) -> Result<(StatusCode, ApiJson<RunCreated>), ApiError> {
    let (workflow, access) = workflow_access(&state, &principal, id, Role::Editor).await?;
    let input = body.map(|body| body.input).unwrap_or(Value::Null);
    let version = workflow.current_version.ok_or_else(|| {
        ApiError::refused(ErrorCode::NotPublished, "the workflow has no published version; publish it first")
    })?;
    if !workflow.enabled {
        return Err(ApiError::refused(ErrorCode::Disabled, "the workflow is disabled"));
    }
    crate::routes::billing::require_credits(&state, access.org).await?;
    let key = match headers.get("idempotency-key") {
        Some(value) => {
            let key = value.to_str().map_err(|_| ApiError::bad_input("idempotency-key must be text"))?.trim();
            if key.is_empty() || key.len() > MAX_KEY_LEN {
                return Err(ApiError::bad_input(format!("idempotency-key must be 1 to {MAX_KEY_LEN} bytes")));
            }
            Some(format!("manual:{key}"))
        }
        None => None,
    };
    let new = NewRun {
        org_id: access.org,
        workflow_id: id,
        version,
        trigger_kind: "manual".into(),
        idempotency_key: key,
        input,
        replay_of: None,
        traceparent: aos_ops::current_traceparent(),
    };
    let (run, fresh) = match state.store.runs().create(&new).await? {
        Recorded::New(run) => (run, true),
        Recorded::Duplicate(run) => (run, false),
    };
    if fresh {
        audit(&state, &access, "run.start", run.id, json!({ "workflow_id": id, "version": version })).await?;
        launch(&state, run.id).await;
    }
    let status = if fresh { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, ApiJson(RunCreated { run_id: run.id })))
}

/// Starts the run's actor on this node; without actors here, a worker node resumes it.
async fn launch(state: &AppState, run: RunId) {
    if let Some(actors) = &state.actors
        && let Err(err) = actors.start_run(run).await
    {
        tracing::warn!(run_id = %run, error = %err, "could not start the run actor; a restart resumes it");
    }
}

async fn audit(
    state: &AppState,
    access: &Access,
    action: &'static str,
    run: RunId,
    detail: Value,
) -> Result<(), ApiError> {
    let entry = AuditEntry::new(access.org, access.actor, action, ("run", run.to_string())).with_detail(detail);
    state.store.audit().record(&entry).await?;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    pub workflow: Option<WorkflowId>,
    pub status: Option<RunStatus>,
    /// Only runs created at or after this instant (RFC 3339).
    pub since: Option<Timestamp>,
    /// Only runs created before this instant: the next page starts before the last run shown.
    pub before: Option<Timestamp>,
    pub limit: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<RunQuery>,
) -> Result<ApiJson<Vec<aos_api::Run>>, ApiError> {
    principal.access(&state, org_id, Role::Viewer, "org").await?;
    let filter = RunFilter {
        workflow_id: query.workflow,
        status: query.status,
        created_after: query.since,
        created_before: query.before,
        limit: query.limit,
    };
    Ok(ApiJson(state.store.runs().list(org_id, &filter).await?.into_iter().map(views::run).collect()))
}

async fn run_access(state: &AppState, principal: &Principal, id: RunId, need: Role) -> Result<(Run, Access), ApiError> {
    let run = state.store.runs().get(id).await?;
    let access = principal.access(state, run.org_id, need, "run").await?;
    Ok((run, access))
}

async fn detail(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<RunId>,
) -> Result<ApiJson<RunDetail>, ApiError> {
    let (run, _) = run_access(&state, &principal, id, Role::Viewer).await?;
    let steps = views::latest_attempts(state.store.runs().steps(id).await?);
    Ok(ApiJson(RunDetail { run: views::run(run), steps }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    #[serde(default)]
    pub after: i64,
    pub limit: Option<i64>,
}

async fn logs(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<RunId>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<ApiJson<Vec<aos_api::RunLog>>, ApiError> {
    run_access(&state, &principal, id, Role::Viewer).await?;
    Ok(ApiJson(state.store.runs().logs(id, query.after, query.limit).await?.into_iter().map(views::run_log).collect()))
}

/// Marks an unfinished run cancelled (durably; the run's actor stops at its next step).
async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<RunId>,
) -> Result<ApiJson<Cancelled>, ApiError> {
    let (_, access) = run_access(&state, &principal, id, Role::Editor).await?;
    if !state.store.runs().transition(id, RunStatus::Cancelled, Some("cancelled")).await? {
        return Err(ApiError::refused(ErrorCode::RunFinished, "the run has already finished"));
    }
    audit(&state, &access, "run.cancel", id, json!({})).await?;
    if let Some(actors) = &state.actors {
        actors.cancel_run(id).await;
    }
    Ok(ApiJson(Cancelled { run_id: id, status: RunStatus::Cancelled }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub from: ReplayFrom,
}

async fn replay(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<RunId>,
    ApiJson(body): ApiJson<ReplayRequest>,
) -> Result<(StatusCode, ApiJson<RunCreated>), ApiError> {
    let (_, access) = run_access(&state, &principal, id, Role::Editor).await?;
    let run = replay_of(&state, &access, id, body.from).await?;
    Ok((StatusCode::CREATED, ApiJson(RunCreated { run_id: run })))
}

async fn replay_of(state: &AppState, access: &Access, id: RunId, from: ReplayFrom) -> Result<RunId, ApiError> {
    crate::routes::billing::require_credits(state, access.org).await?;
    let run = replay_run(&state.store, id, from, access.actor).await.map_err(|err| match err {
        aos_persistence::StoreError::Conflict { .. } => {
            ApiError::refused(ErrorCode::RunUnfinished, "the run has not finished yet")
        }
        other => other.into(),
    })?;
    launch(state, run.id).await;
    Ok(run.id)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlqQuery {
    pub status: Option<DlqStatus>,
    pub limit: Option<i64>,
}

async fn dlq(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<DlqQuery>,
) -> Result<ApiJson<Vec<aos_api::DlqEntry>>, ApiError> {
    principal.access(&state, org_id, Role::Viewer, "org").await?;
    Ok(ApiJson(
        state.store.runs().dlq(org_id, query.status, query.limit).await?.into_iter().map(views::dlq_entry).collect(),
    ))
}

/// The pending entry `id` of `org`.
async fn pending_entry(state: &AppState, org: OrgId, id: DlqEntryId) -> Result<DlqEntry, ApiError> {
    state
        .store
        .runs()
        .dlq(org, Some(DlqStatus::Pending), Some(500))
        .await?
        .into_iter()
        .find(|entry| entry.id == id)
        .ok_or_else(|| ApiError::not_found("pending dead-letter entry"))
}

async fn replay_entry(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((org_id, entry_id)): ApiPath<(OrgId, DlqEntryId)>,
) -> Result<(StatusCode, ApiJson<RunCreated>), ApiError> {
    let access = principal.access(&state, org_id, Role::Editor, "dead-letter entry").await?;
    let entry = pending_entry(&state, org_id, entry_id).await?;
    let run = replay_of(&state, &access, entry.run_id, ReplayFrom::Failed).await?;
    Ok((StatusCode::CREATED, ApiJson(RunCreated { run_id: run })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkReplayRequest {
    /// The entries to replay; every pending entry when absent.
    pub ids: Option<Vec<DlqEntryId>>,
}

async fn bulk_replay(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    MaybeJson(body): MaybeJson<BulkReplayRequest>,
) -> Result<ApiJson<BulkReplay>, ApiError> {
    let access = principal.access(&state, org_id, Role::Editor, "org").await?;
    let wanted = body.and_then(|body| body.ids);
    let pending = state.store.runs().dlq(org_id, Some(DlqStatus::Pending), Some(500)).await?;
    let mut answer = BulkReplay::default();
    for entry in pending.into_iter().filter(|e| wanted.as_ref().is_none_or(|ids| ids.contains(&e.id))) {
        match replay_of(&state, &access, entry.run_id, ReplayFrom::Failed).await {
            Ok(run) => answer.replayed.push(Replayed { entry_id: entry.id, run_id: run }),
            Err(err) => answer.failed.push(ReplayFailed { entry_id: entry.id, error: err.to_string() }),
        }
    }
    Ok(ApiJson(answer))
}

async fn discard_entry(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((org_id, entry_id)): ApiPath<(OrgId, DlqEntryId)>,
) -> Result<ApiJson<aos_api::DlqEntry>, ApiError> {
    let access = principal.access(&state, org_id, Role::Editor, "dead-letter entry").await?;
    let entry = state.store.runs().resolve_dlq(org_id, entry_id, DlqStatus::Discarded, access.actor).await?;
    Ok(ApiJson(views::dlq_entry(entry)))
}
