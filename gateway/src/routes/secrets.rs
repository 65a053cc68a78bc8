//! Org secrets: create or update (admins), delete, list names. Values are write-only: no response,
//! log or audit row ever holds one.

use aos_api::{NewSecret, SecretMeta, SecretValue};
use aos_schema::{OrgId, Role, SecretString};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::views;
use aos_api::ErrorCode;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/orgs/{org_id}/secrets", get(list).post(create))
        .route("/api/orgs/{org_id}/secrets/{name}", put(update).delete(remove))
}

/// The largest secret value accepted.
const MAX_VALUE_BYTES: usize = 64 * 1024;

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<ApiJson<Vec<SecretMeta>>, ApiError> {
    principal.access(&state, org_id, Role::Viewer, "org").await?;
    Ok(ApiJson(state.store.secrets().list(org_id).await?.into_iter().map(views::secret_meta).collect()))
}

/// Creates a secret (`201`); an existing name is a conflict (use `PUT` to change a value).
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiJson(body): ApiJson<NewSecret>,
) -> Result<(StatusCode, ApiJson<SecretMeta>), ApiError> {
    let access = principal.access(&state, org_id, Role::Admin, "org").await?;
    check_name(&body.name)?;
    let value = SecretString::new(body.value);
    check_value(&value)?;
    if state.store.secrets().list(org_id).await?.iter().any(|s| s.name == body.name) {
        return Err(ApiError::refused(ErrorCode::SecretExists, "a secret with this name exists"));
    }
    let (meta, _) = state.store.secrets().put(org_id, &body.name, &value, access.actor).await?;
    Ok((StatusCode::CREATED, ApiJson(views::secret_meta(meta))))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((org_id, name)): ApiPath<(OrgId, String)>,
    ApiJson(body): ApiJson<SecretValue>,
) -> Result<ApiJson<SecretMeta>, ApiError> {
    let access = principal.access(&state, org_id, Role::Admin, "org").await?;
    let value = SecretString::new(body.value);
    check_value(&value)?;
    if !state.store.secrets().list(org_id).await?.iter().any(|s| s.name == name) {
        return Err(ApiError::not_found("secret"));
    }
    let (meta, _) = state.store.secrets().put(org_id, &name, &value, access.actor).await?;
    Ok(ApiJson(views::secret_meta(meta)))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((org_id, name)): ApiPath<(OrgId, String)>,
) -> Result<StatusCode, ApiError> {
    let access = principal.access(&state, org_id, Role::Admin, "org").await?;
    state.store.secrets().delete(org_id, &name, access.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Names are what `{{ secrets.NAME }}` can read: letters, digits and `_`, 1 to 128 long.
fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty() && name.len() <= 128 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok { Ok(()) } else { Err(ApiError::bad_input("secret names are 1 to 128 letters, digits or underscores")) }
}

fn check_value(value: &SecretString) -> Result<(), ApiError> {
    if value.expose().len() > MAX_VALUE_BYTES {
        return Err(ApiError::bad_input(format!("secret values are at most {MAX_VALUE_BYTES} bytes")));
    }
    Ok(())
}
