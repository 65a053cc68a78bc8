//! The engine as its own process (`automateos engine`): the step protocol over HTTP.
//! `POST /v1/steps` takes a [`StepRequest`] as JSON and always answers with a [`StepResponse`]
//! (failures are in the body, classed retryable or permanent), `GET /healthz` says it is up. When
//! a token is configured, callers must send it as `Authorization: Bearer <token>`: requests carry
//! secret values, so only the orchestrator may call.

use std::sync::Arc;

use aos_schema::SecretString;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::response::Json;
use axum::routing::{get, post};

use crate::engine::Engine;
use crate::protocol::{StepError, StepRequest, StepResponse};

/// The largest request the engine accepts.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// The path of the step endpoint.
pub const STEPS_PATH: &str = "/v1/steps";

#[derive(Clone)]
struct ServerState {
    engine: Arc<dyn Engine>,
    token: Option<Arc<SecretString>>,
}

/// The engine's HTTP routes around `engine`.
pub fn router(engine: Arc<dyn Engine>, token: Option<SecretString>) -> Router {
    Router::new()
        .route(STEPS_PATH, post(execute))
        .route("/healthz", get(|| async { Json(serde_json::json!({ "status": "ok" })) }))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(ServerState { engine, token: token.map(Arc::new) })
}

async fn execute(State(state): State<ServerState>, headers: HeaderMap, body: Bytes) -> Json<StepResponse> {
    if let Some(expected) = &state.token {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !constant_time_eq(presented.as_bytes(), expected.expose().as_bytes()) {
            return Json(StepResponse::Failed(StepError::permanent("unauthorized", "engine token missing or wrong")));
        }
    }
    let mut request: StepRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return Json(StepResponse::Failed(StepError::permanent(
                "bad_request",
                format!("step request is not valid: {err}"),
            )));
        }
    };
    if request.meta.traceparent.is_none() {
        request.meta.traceparent = headers.get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_owned);
    }
    Json(state.engine.execute(request).await.into())
}

/// Compares two byte strings in constant time (`subtle`), as SHA-256 digests so neither where
/// they differ nor their lengths show in the timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    Sha256::digest(a)[..].ct_eq(&Sha256::digest(b)[..]).into()
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
