//! Platform administration: the live supervision tree. Platform admins are the accounts whose
//! emails are listed in `AOS_ADMIN_EMAILS` (`--admin-emails`); everyone else gets `404` here, as
//! if the route did not exist. Stopping and restarting single actors waits on the actor tree's
//! control API.

use aos_actors::ActorNode;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use crate::auth::{Principal, PrincipalKind};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/admin/actors", get(actors))
}

/// One actor in the tree, as the public contract shapes it.
#[derive(Debug, Serialize)]
pub struct ActorView {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub status: String,
    pub mailbox: u64,
    pub restarts: u64,
    pub uptime_ms: u64,
    pub children: Vec<ActorView>,
}

impl From<ActorNode> for ActorView {
    fn from(node: ActorNode) -> Self {
        Self {
            id: node.id.to_string(),
            kind: word(&node.kind),
            name: node.name,
            status: word(&node.status),
            mailbox: node.mailbox,
            restarts: node.restarts,
            uptime_ms: node.uptime_ms,
            children: node.children.into_iter().map(ActorView::from).collect(),
        }
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
async fn platform_admin(state: &AppState, principal: &Principal) -> Result<(), ApiError> {
    let user = principal.user(state).await?;
    let is_session = matches!(principal.kind, PrincipalKind::Session(_));
    if is_session && state.auth.is_platform_admin(&user.email) { Ok(()) } else { Err(ApiError::not_found("route")) }
}

async fn actors(State(state): State<AppState>, principal: Principal) -> Result<ApiJson<Vec<ActorView>>, ApiError> {
    platform_admin(&state, &principal).await?;
    let actors = state.actors.as_ref().ok_or(ApiError::Unavailable { what: "the actor tree" })?;
    Ok(ApiJson(actors.snapshot().into_iter().map(ActorView::from).collect()))
}
