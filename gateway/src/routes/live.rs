//! The live endpoints. `GET /ws/docs/{workflow_id}` upgrades to the y-websocket protocol served by
//! the workflow's doc room on this node (viewers sync read-only); `GET /ws/events` streams run
//! events of a workflow or a run, resumable after a sequence number. Both authenticate with
//! `?token=` (browsers cannot set headers on a WebSocket) or the `Authorization` header, and check
//! the caller's role in the workflow's org before upgrading: another org's ids answer `404`.

use aos_realtime::{EventScope, EventsSession, Session, SessionConfig};
use aos_schema::{Role, RunId, WorkflowId};
use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::workflows::workflow_access;
use crate::state::AppState;
use aos_api::ErrorCode;

pub fn routes() -> Router<AppState> {
    Router::new().route("/ws/docs/{workflow_id}", get(docs)).route("/ws/events", get(events))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocsQuery {
    pub token: Option<String>,
    /// `true`: tell this client which of its frames are durable (`aos_realtime::MSG_SAVED`).
    #[serde(default)]
    pub acks: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    pub workflow: Option<WorkflowId>,
    pub run: Option<RunId>,
    /// The last sequence number the client has seen (0 for everything).
    #[serde(default)]
    pub after: i64,
    pub token: Option<String>,
}

/// The caller, from `?token=` or the bearer header.
async fn caller(state: &AppState, token: Option<&str>, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let header = headers.get(AUTHORIZATION).and_then(|h| h.to_str().ok()).and_then(|h| h.strip_prefix("Bearer "));
    let token = token.or(header).map(str::trim).filter(|t| !t.is_empty());
    let token = token.ok_or_else(|| ApiError::unauthorized("pass the access token as ?token= or a bearer header"))?;
    Principal::from_token(state, token).await
}

async fn docs(
    State(state): State<AppState>,
    ApiPath(workflow): ApiPath<WorkflowId>,
    ApiQuery(query): ApiQuery<DocsQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let principal = caller(&state, query.token.as_deref(), &headers).await?;
    let (_, access) = workflow_access(&state, &principal, workflow, Role::Viewer).await?;
    let rooms = state.rooms.clone().ok_or(ApiError::Unavailable { what: "live editing on this node" })?;
    crate::graph_writer::ensure_doc(&state.store, access.org, workflow).await?;
    let user = principal.user(&state).await?;
    let access = aos_realtime::Access {
        user_id: principal.user_id,
        name: user.name,
        can_write: access.role.at_least(Role::Editor),
    };
    let config = SessionConfig::default();
    let session = Session { rooms, workflow, access, acks: query.acks, config };
    Ok(lean(upgrade).max_message_size(config.limits.max_frame_bytes).on_upgrade(move |socket| async move {
        let _open = OpenSocket::count("docs");
        let end = session.serve_axum(socket).await;
        tracing::debug!(%workflow, ?end, "doc session ended");
    }))
}

async fn events(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<EventsQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let principal = caller(&state, query.token.as_deref(), &headers).await?;
    let scope = match (query.workflow, query.run) {
        (Some(workflow), None) => {
            workflow_access(&state, &principal, workflow, Role::Viewer).await?;
            EventScope::Workflow(workflow)
        }
        (None, Some(run)) => {
            let found = state.store.runs().get(run).await?;
            principal.access(&state, found.org_id, Role::Viewer, "run").await?;
            EventScope::Run(run)
        }
        _ => {
            return Err(ApiError::refused(ErrorCode::BadScope, "pass exactly one of ?workflow= and ?run="));
        }
    };
    let session = EventsSession { hub: state.events.clone(), scope, after: query.after.max(0) };
    Ok(lean(upgrade).on_upgrade(move |socket| async move {
        let _open = OpenSocket::count("events");
        let end = session.serve_axum(socket).await;
        tracing::debug!(?end, "event session ended");
    }))
}

/// Counts an open WebSocket in `aos_ws_connections_active` for as long as it lives.
struct OpenSocket(&'static str);

impl OpenSocket {
    fn count(channel: &'static str) -> Self {
        metrics::gauge!(aos_ops::metrics::WS_CONNECTIONS_ACTIVE, aos_ops::metrics::label::CHANNEL => channel)
            .increment(1.0);
        Self(channel)
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        metrics::gauge!(aos_ops::metrics::WS_CONNECTIONS_ACTIVE, aos_ops::metrics::label::CHANNEL => self.0)
            .decrement(1.0);
    }
}

/// The read and write buffers of one socket. Frames of the doc protocol and run events are small;
/// a larger message still arrives whole (the read buffer grows for it). The library's default of
/// 128 KiB each, allocated per connection, made an idle editor cost 135 KiB of memory.
const SOCKET_BUFFER_BYTES: usize = 4 * 1024;

fn lean(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade.read_buffer_size(SOCKET_BUFFER_BYTES).write_buffer_size(SOCKET_BUFFER_BYTES)
}
