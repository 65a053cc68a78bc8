//! Platform administration: the live supervision tree. Platform admins are the accounts whose
//! emails are listed in `AOS_ADMIN_EMAILS` (`--admin-emails`); everyone else gets `404` here, as
//! if the route did not exist. Admins may stop or restart one actor under a kind's supervisor;
//! each such action is audited in the acting admin's home org (audit chains are per org; the
//! platform has none of its own).

use aos_actors::{ActorNode, Control};
use aos_api::{ActorControlled, ActorView};
use aos_persistence::{AuditEntry, By};
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;

use crate::auth::{Principal, PrincipalKind};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::extract::ApiPath;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/actors", get(actors))
        .route("/api/admin/actors/{id}/stop", post(stop))
        .route("/api/admin/actors/{id}/restart", post(restart))
}

/// One actor of the tree as the API shows it.
fn view(node: ActorNode) -> ActorView {
    ActorView {
        id: node.id.to_string(),
        kind: word(&node.kind),
        name: node.name,
        status: word(&node.status),
        mailbox: node.mailbox,
        restarts: node.restarts,
        uptime_ms: node.uptime_ms,
        children: node.children.into_iter().map(view).collect(),
    }
}

/// A unit enum's serde name (`"run"`, `"running"`).
fn word(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Checks the caller is a platform admin (with a user session, not an API key).
async fn platform_admin(state: &AppState, principal: &Principal) -> Result<aos_persistence::User, ApiError> {
    let user = principal.user(state).await?;
    let is_session = matches!(principal.kind, PrincipalKind::Session(_));
    if is_session && state.auth.is_platform_admin(&user.email) { Ok(user) } else { Err(ApiError::not_found("route")) }
}

async fn stop(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<ActorControlled>, ApiError> {
    control(&state, &principal, id, Control::Stop).await
}

async fn restart(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<ActorControlled>, ApiError> {
    control(&state, &principal, id, Control::Restart).await
}

/// Stops or restarts one actor and audits it in the admin's home org.
async fn control(
    state: &AppState,
    principal: &Principal,
    id: u64,
    action: Control,
) -> Result<ApiJson<ActorControlled>, ApiError> {
    let user = platform_admin(state, principal).await?;
    let actors = state.actors.as_ref().ok_or(ApiError::Unavailable { what: "the actor tree" })?;
    let controlled = actors.control(id, action).await?;
    let verb = if action == Control::Stop { "admin.actor.stop" } else { "admin.actor.restart" };
    if let Some(home) = state.store.orgs().memberships_of(user.id).await?.first() {
        let entry = AuditEntry::new(home.org_id, By::User(user.id), verb, ("actor", id.to_string()))
            .with_detail(json!({ "kind": word(&controlled.kind), "name": controlled.name }));
        state.store.audit().record(&entry).await?;
    }
    let done = if action == Control::Stop { "stopped" } else { "restarted" };
    Ok(ApiJson(ActorControlled {
        id: id.to_string(),
        kind: word(&controlled.kind),
        name: controlled.name,
        status: done.to_owned(),
    }))
}

async fn actors(State(state): State<AppState>, principal: Principal) -> Result<ApiJson<Vec<ActorView>>, ApiError> {
    platform_admin(&state, &principal).await?;
    let actors = state.actors.as_ref().ok_or(ApiError::Unavailable { what: "the actor tree" })?;
    Ok(ApiJson(actors.snapshot().into_iter().map(view).collect()))
}
