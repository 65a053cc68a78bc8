//! Templates and creators: an org publishes a workflow as a versioned template, the gallery lists
//! published templates (search, category), an install copies a version into an org in one call
//! (taking the secrets it needs, or listing the missing ones), and creators have public profiles.

use aos_api::{Installed, ProfileView, TemplateDetail};
use aos_persistence::{GalleryFilter, NewInstallation, NewTemplate, NewTemplateVersion, NewWorkflow, ProfileUpdate};
use aos_schema::{OrgId, Role, SecretString, TemplateId};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Deserialize;

use crate::auth::{Principal, PrincipalKind};
use crate::domain::accounts::check_text;
use crate::domain::workflows::export_file;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, MaybeJson};
use crate::routes::workflows::{draft_graph, workflow_access};
use crate::state::AppState;
use crate::views;
use aos_api::ErrorCode;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/orgs/{org_id}/templates", post(create).get(org_templates))
        .route("/api/templates/{template_id}", get(read))
        .route("/api/orgs/{org_id}/templates/{template_id}/versions", post(publish_version))
        .route("/api/gallery", get(gallery))
        .route("/api/orgs/{org_id}/templates/{template_id}/install", post(install))
        .route("/api/orgs/{org_id}/installations", get(installations))
        .route("/api/creators/me", put(upsert_profile))
        .route("/api/creators/{handle}", get(profile))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiJson(body): ApiJson<aos_api::NewTemplate>,
) -> Result<(StatusCode, ApiJson<aos_api::Template>), ApiError> {
    let access = principal.access(&state, org_id, Role::Editor, "org").await?;
    let slug = check_text("slug", &body.slug, 80)?;
    if !slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err(ApiError::bad_input("slug must be lowercase letters, digits and dashes"));
    }
    if !aos_schema::GALLERY_CATEGORIES.contains(&body.category.as_str()) {
        return Err(ApiError::bad_input(format!(
            "category must be one of {}",
            aos_schema::GALLERY_CATEGORIES.join(", ")
        )));
    }
    let new = NewTemplate {
        org: org_id,
        creator: principal.user_id,
        slug: slug.to_owned(),
        name: check_text("name", &body.name, 200)?.to_owned(),
        description: body.description,
        category: body.category,
    };
    let template = state.store.templates().create_template(&new, access.actor).await?;
    Ok((StatusCode::CREATED, ApiJson(views::template(template))))
}

async fn org_templates(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<ApiJson<Vec<aos_api::Template>>, ApiError> {
    principal.access(&state, org_id, Role::Viewer, "org").await?;
    Ok(ApiJson(state.store.templates().org_templates(org_id).await?.into_iter().map(views::template).collect()))
}

/// A published template, visible to everyone signed in (drafts are listed only to their org).
async fn read(
    State(state): State<AppState>,
    _principal: Principal,
    ApiPath(id): ApiPath<TemplateId>,
) -> Result<ApiJson<TemplateDetail>, ApiError> {
    let template = state.store.templates().template(id).await?;
    let latest = if template.latest_version > 0 {
        Some(views::template_version(state.store.templates().latest_version(id).await?))
    } else {
        None
    };
    Ok(ApiJson(TemplateDetail { template: views::template(template), latest }))
}

async fn publish_version(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(OrgId, TemplateId)>,
    ApiJson(body): ApiJson<aos_api::NewTemplateVersion>,
) -> Result<(StatusCode, ApiJson<aos_api::TemplateVersion>), ApiError> {
    let access = principal.access(&state, org_id, Role::Editor, "template").await?;
    state.store.templates().org_template(org_id, id).await?;
    let (workflow, wf_access) = workflow_access(&state, &principal, body.workflow_id, Role::Viewer).await?;
    if wf_access.org != access.org {
        return Err(ApiError::not_found("workflow"));
    }
    let graph = draft_graph(&state, access.org, workflow.id).await?;
    aos_schema::validate(&graph, &aos_schema::Catalog::builtin()).map_err(|errors| ApiError::Refused {
        code: ErrorCode::InvalidWorkflow,
        message: format!("the workflow cannot be published as a template: {errors}"),
        details: errors.iter().map(|e| serde_json::to_value(e).unwrap_or_default()).collect(),
    })?;
    let file = export_file(&workflow, graph);
    let content = NewTemplateVersion {
        export: file.to_canonical_string().map_err(|_| ApiError::Internal)?,
        checksum: file.checksum().map_err(|_| ApiError::Internal)?,
        required_secrets: file.required_secrets(),
    };
    let version = state.store.templates().publish_version(access.org, id, &content, access.actor).await?;
    Ok((StatusCode::CREATED, ApiJson(views::template_version(version))))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GalleryQuery {
    pub search: Option<String>,
    pub category: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

async fn gallery(
    State(state): State<AppState>,
    _principal: Principal,
    ApiQuery(query): ApiQuery<GalleryQuery>,
) -> Result<ApiJson<Vec<aos_api::Template>>, ApiError> {
    let filter =
        GalleryFilter { category: query.category, search: query.search, limit: query.limit, offset: query.offset };
    Ok(ApiJson(state.store.templates().gallery(&filter).await?.into_iter().map(views::template).collect()))
}

async fn install(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((org_id, template_id)): ApiPath<(OrgId, TemplateId)>,
    MaybeJson(body): MaybeJson<aos_api::Install>,
) -> Result<(StatusCode, ApiJson<Installed>), ApiError> {
    let body = body.unwrap_or_default();
    let need = if body.secrets.is_empty() { Role::Editor } else { Role::Admin };
    let access = principal.access(&state, org_id, need, "org").await?;
    state.store.templates().template(template_id).await?;
    let version = match body.version {
        Some(number) => state.store.templates().version(template_id, number).await?,
        None => state.store.templates().latest_version(template_id).await?,
    };
    if let Some(name) = body.secrets.keys().find(|name| !version.required_secrets.contains(name)) {
        return Err(ApiError::bad_input(format!("the template does not use a secret named {name}")));
    }
    let file = aos_schema::import(version.export.as_bytes()).map_err(|_| ApiError::Internal)?;
    let new =
        NewWorkflow { org_id, name: file.name.clone(), description: file.description.clone().unwrap_or_default() };
    let workflow = state.store.workflows().create(&new, access.actor).await?;
    state.graphs.write(org_id, workflow.id, &file.graph, access.actor).await?;
    for (name, value) in body.secrets {
        state.store.secrets().put(org_id, &name, &SecretString::new(value), access.actor).await?;
    }
    let installation = state
        .store
        .templates()
        .record_installation(
            &NewInstallation { org: org_id, template: template_id, version: version.version, workflow: workflow.id },
            access.actor,
        )
        .await?;
    let present: Vec<String> = state.store.secrets().list(org_id).await?.into_iter().map(|s| s.name).collect();
    let missing_secrets = version.required_secrets.iter().filter(|name| !present.contains(name)).cloned().collect();
    Ok((
        StatusCode::CREATED,
        ApiJson(Installed {
            installation: views::installation(installation),
            workflow_id: workflow.id,
            required_secrets: version.required_secrets,
            missing_secrets,
        }),
    ))
}

async fn installations(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<ApiJson<Vec<aos_api::Installation>>, ApiError> {
    principal.access(&state, org_id, Role::Viewer, "org").await?;
    Ok(ApiJson(state.store.templates().installations(org_id).await?.into_iter().map(views::installation).collect()))
}

async fn upsert_profile(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<aos_api::ProfileUpdate>,
) -> Result<ApiJson<aos_api::CreatorProfile>, ApiError> {
    if !matches!(principal.kind, PrincipalKind::Session(_)) {
        return Err(ApiError::forbidden("a creator profile is changed by its person, not an api key"));
    }
    let handle = check_text("handle", &body.handle, 40)?;
    if !handle.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(ApiError::bad_input("handle must be letters, digits, dashes or underscores"));
    }
    let update = ProfileUpdate {
        handle: handle.to_owned(),
        display_name: check_text("display_name", &body.display_name, 100)?.to_owned(),
        bio: body.bio,
        avatar_url: body.avatar_url,
    };
    Ok(ApiJson(views::creator_profile(state.store.templates().upsert_profile(principal.user_id, &update).await?)))
}

async fn profile(
    State(state): State<AppState>,
    _principal: Principal,
    ApiPath(handle): ApiPath<String>,
) -> Result<ApiJson<ProfileView>, ApiError> {
    let profile = state.store.templates().profile_by_handle(&handle).await?;
    let templates = state.store.templates().creator_templates(profile.user_id).await?;
    let templates = templates.into_iter().filter(|t| t.latest_version > 0).map(views::template).collect();
    Ok(ApiJson(ProfileView { profile: views::creator_profile(profile), templates }))
}
