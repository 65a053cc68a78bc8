//! Workflows: create, list, read (with the current draft graph), rename, delete; write the draft
//! graph; publish (validate + compile + an immutable version with its checksum); versions, one
//! version, revert; the canonical export; import (with a dry run against an existing workflow).

use aos_api::{
    GraphChanges, ImportPreview, Imported, Published, VersionDetail, VersionDiff, VersionSummary, WorkflowDetail,
};
use aos_persistence::{NewWorkflow, Workflow, WorkflowPatch, WorkflowVersion};
use aos_schema::{OrgId, Role, WorkflowGraph, WorkflowId};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use serde::Deserialize;

use crate::auth::{Access, Principal};
use crate::domain::accounts::check_text;
use crate::domain::workflows::{ParsedImport, checked_graph, export_file, parse_import, unused_name};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/orgs/{org_id}/workflows", post(create).get(list))
        .route("/api/orgs/{org_id}/workflows/import", post(import))
        .route("/api/workflows/{id}", get(read).patch(update).delete(remove))
        .route("/api/workflows/{id}/graph", put(write_graph))
        .route("/api/workflows/{id}/publish", post(publish))
        .route("/api/workflows/{id}/versions", get(versions))
        .route("/api/workflows/{id}/versions/{version}", get(version))
        .route("/api/workflows/{id}/versions/{version}/revert", post(revert))
        .route("/api/workflows/{id}/versions/{version}/diff/{other}", get(diff_versions))
        .route("/api/workflows/{id}/export", get(export))
}

/// Loads a workflow and checks the caller's role in its org (`404` for other orgs' workflows).
pub(crate) async fn workflow_access(
    state: &AppState,
    principal: &Principal,
    id: WorkflowId,
    need: Role,
) -> Result<(Workflow, Access), ApiError> {
    let workflow = state.store.workflows().get(id).await?;
    let access = principal.access(state, workflow.org_id, need, "workflow").await?;
    Ok((workflow, access))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiJson(body): ApiJson<aos_api::NewWorkflow>,
) -> Result<(StatusCode, ApiJson<aos_api::Workflow>), ApiError> {
    let access = principal.access(&state, org_id, Role::Editor, "org").await?;
    let name = check_text("name", &body.name, 200)?;
    if body.description.chars().count() > 4000 {
        return Err(ApiError::bad_input("description must be at most 4000 characters"));
    }
    let new = NewWorkflow { org_id, name: name.to_owned(), description: body.description.trim().to_owned() };
    let workflow = state.store.workflows().create(&new, access.actor).await?;
    Ok((StatusCode::CREATED, ApiJson(views::workflow(workflow))))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<ApiJson<Vec<aos_api::Workflow>>, ApiError> {
    principal.access(&state, org_id, Role::Viewer, "org").await?;
    Ok(ApiJson(state.store.workflows().list(org_id).await?.into_iter().map(views::workflow).collect()))
}

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<WorkflowId>,
) -> Result<ApiJson<WorkflowDetail>, ApiError> {
    let (workflow, access) = workflow_access(&state, &principal, id, Role::Viewer).await?;
    let graph = draft_graph(&state, access.org, id).await?;
    Ok(ApiJson(WorkflowDetail { workflow: views::workflow(workflow), graph }))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<WorkflowId>,
    ApiJson(body): ApiJson<aos_api::WorkflowUpdate>,
) -> Result<ApiJson<aos_api::Workflow>, ApiError> {
    let (_, access) = workflow_access(&state, &principal, id, Role::Editor).await?;
    let name = body.name.as_deref().map(|name| check_text("name", name, 200).map(str::to_owned)).transpose()?;
    let patch = WorkflowPatch { name, description: body.description, enabled: body.enabled };
    let updated = state.store.workflows().update(access.org, id, &patch, access.actor).await?;
    if body.enabled.is_some() {
        workflow_changed(&state, id).await;
    }
    Ok(ApiJson(views::workflow(updated)))
}

/// Tells this node's webhook gates that the workflow's runnable version or state changed.
async fn workflow_changed(state: &AppState, id: WorkflowId) {
    if let Some(actors) = &state.actors {
        actors.workflow_changed(id).await;
    }
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<WorkflowId>,
) -> Result<StatusCode, ApiError> {
    let (_, access) = workflow_access(&state, &principal, id, Role::Editor).await?;
    state.store.workflows().delete(access.org, id, access.actor).await?;
    workflow_changed(&state, id).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn write_graph(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<WorkflowId>,
    ApiJson(graph): ApiJson<WorkflowGraph>,
) -> Result<ApiJson<aos_api::GraphWritten>, ApiError> {
    let (_, access) = workflow_access(&state, &principal, id, Role::Editor).await?;
    let graph = checked_graph(graph)?;
    state.graphs.write(access.org, id, &graph, access.actor).await?;
    Ok(ApiJson(aos_api::GraphWritten { nodes: graph.nodes.len(), edges: graph.edges.len() }))
}

async fn publish(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<WorkflowId>,
) -> Result<(StatusCode, ApiJson<Published>), ApiError> {
    let (workflow, access) = workflow_access(&state, &principal, id, Role::Editor).await?;
    let graph = draft_graph(&state, access.org, id).await?;
    let request =
        aos_actors::PublishRequest { org: access.org, file: export_file(&workflow, graph.clone()), by: access.actor };
    // through the workflow's actor (which also starts or reloads its schedule) when this node
    // has an actor tree
    let published = match &state.actors {
        Some(actors) => actors.publish(id, request).await,
        None => aos_actors::publish_version(&state.store, id, request).await,
    };
    let published = published?;
    workflow_changed(&state, id).await;
    // a webhook-triggered workflow gets its URL as soon as it can run
    crate::routes::webhooks::ensure_source(&state, &access, id, &graph).await?;
    Ok((StatusCode::CREATED, ApiJson(Published { version: published.version, checksum: published.checksum })))
}

async fn versions(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<WorkflowId>,
) -> Result<ApiJson<Vec<VersionSummary>>, ApiError> {
    let (_, access) = workflow_access(&state, &principal, id, Role::Viewer).await?;
    let versions = state.store.workflows().versions(access.org, id).await?;
    Ok(ApiJson(versions.iter().map(views::version_summary).collect()))
}

async fn version(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, number)): ApiPath<(WorkflowId, i64)>,
) -> Result<ApiJson<VersionDetail>, ApiError> {
    let (_, access) = workflow_access(&state, &principal, id, Role::Viewer).await?;
    let version = state.store.workflows().version(access.org, id, number).await?;
    let export = serde_json::from_str(&version.export).map_err(|_| ApiError::Internal)?;
    Ok(ApiJson(VersionDetail { summary: views::version_summary(&version), export }))
}

/// What changed from one version to another ([`GraphChanges`]).
async fn diff_versions(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, from, to)): ApiPath<(WorkflowId, i64, i64)>,
) -> Result<ApiJson<VersionDiff>, ApiError> {
    let (_, access) = workflow_access(&state, &principal, id, Role::Viewer).await?;
    let graph_of = |version: WorkflowVersion| {
        aos_schema::import(version.export.as_bytes()).map(|file| file.graph).map_err(|_| ApiError::Internal)
    };
    let old = graph_of(state.store.workflows().version(access.org, id, from).await?)?;
    let new = graph_of(state.store.workflows().version(access.org, id, to).await?)?;
    Ok(ApiJson(VersionDiff { from, to, changes: GraphChanges::between(&old, &new) }))
}

/// Makes a version current again (runs use it) and its graph the draft: written into the live
/// doc, so every open editor's canvas shows it.
async fn revert(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, number)): ApiPath<(WorkflowId, i64)>,
) -> Result<ApiJson<Published>, ApiError> {
    let (_, access) = workflow_access(&state, &principal, id, Role::Editor).await?;
    let version = state.store.workflows().version(access.org, id, number).await?;
    let file = aos_schema::import(version.export.as_bytes()).map_err(|_| ApiError::Internal)?;
    state.store.workflows().set_current_version(access.org, id, number, access.actor).await?;
    // webhook deliveries run the version made current from now on, not after the gates' next read
    workflow_changed(&state, id).await;
    state.graphs.write(access.org, id, &file.graph, access.actor).await?;
    Ok(ApiJson(Published { version: number, checksum: version.checksum }))
}

/// The canonical export of the draft: the same bytes for the same workflow, every time.
async fn export(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<WorkflowId>,
) -> Result<impl IntoResponse, ApiError> {
    let (workflow, access) = workflow_access(&state, &principal, id, Role::Viewer).await?;
    let graph = draft_graph(&state, access.org, id).await?;
    let text = export_file(&workflow, graph).to_canonical_string().map_err(|_| ApiError::Internal)?;
    Ok(([(CONTENT_TYPE, "application/json")], text))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    #[serde(default)]
    pub dry_run: bool,
    /// With `dry_run`: the workflow to compare against.
    pub into: Option<WorkflowId>,
}

/// What an import answers: a preview on a dry run, else the new workflow.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum ImportAnswer {
    Preview(Box<ImportPreview>),
    Imported(Box<Imported>),
}

/// Imports an AutomateOS export file or an n8n workflow file (with its conversion report under
/// `n8n`) as a new workflow (`201`), or with `dry_run=true` reports
/// what the import would be (and, with `into`, what it would change there) without writing.
async fn import(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Bytes,
) -> Result<(StatusCode, ApiJson<ImportAnswer>), ApiError> {
    let access = principal.access(&state, org_id, Role::Editor, "org").await?;
    let ParsedImport { file, n8n } = parse_import(&body)?;
    let graph = checked_graph(file.graph.clone())?;
    if query.dry_run {
        let against = match query.into {
            Some(into) => {
                let (_, target) = workflow_access(&state, &principal, into, Role::Viewer).await?;
                if target.org != org_id {
                    return Err(ApiError::not_found("workflow"));
                }
                Some(draft_graph(&state, org_id, into).await?)
            }
            None => None,
        };
        let report = ImportPreview {
            dry_run: true,
            name: file.name.clone(),
            nodes: graph.nodes.len(),
            edges: graph.edges.len(),
            required_secrets: file.required_secrets(),
            into: query.into,
            changes: against.map(|old| GraphChanges::between(&old, &graph)),
            n8n,
        };
        return Ok((StatusCode::OK, ApiJson(ImportAnswer::Preview(Box::new(report)))));
    }
    let wanted = check_text("name", &file.name, 200)?;
    let existing = state.store.workflows().list(org_id).await?;
    let name = unused_name(wanted, existing.iter().map(|w| w.name.as_str()));
    let new = NewWorkflow { org_id, name, description: file.description.clone().unwrap_or_default() };
    let workflow = state.store.workflows().create(&new, access.actor).await?;
    state.graphs.write(org_id, workflow.id, &graph, access.actor).await?;
    let imported = Imported { workflow: views::workflow(workflow), required_secrets: file.required_secrets(), n8n };
    Ok((StatusCode::CREATED, ApiJson(ImportAnswer::Imported(Box::new(imported)))))
}

/// The draft of a workflow of `org` (an empty graph before the first write).
/// The workflow's draft: the live doc's graph where this node runs doc rooms (edges whose node was
/// deleted concurrently included, so publishing reports them), else the stored draft.
pub(crate) async fn draft_graph(state: &AppState, org: OrgId, id: WorkflowId) -> Result<WorkflowGraph, ApiError> {
    if let Some(rooms) = &state.rooms {
        crate::graph_writer::ensure_doc(&state.store, org, id).await?;
        return Ok(rooms.graph(id).await?.with_dangling());
    }
    Ok(state.store.drafts().get(org, id).await?.map(|draft| draft.graph).unwrap_or_default())
}
