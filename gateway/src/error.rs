//! The one place that turns errors into HTTP statuses. Clients get
//! `{"error": {"code": "snake_case", "message": "…"}}` (plus `details` where a list of problems
//! helps, such as validation): a stable code and a clear message, never an internal detail (those
//! go to the log).
//!
//! Codes: `unauthorized` (401; also a bad webhook signature), `forbidden` (403), `not_found`
//! (404), `conflict`, `email_taken`, `already_member`, `last_owner`, `secret_exists`,
//! `not_published`, `disabled`, `not_runnable`, `run_finished`, `run_unfinished` (409),
//! `malformed_json`, `invalid_body`, `invalid_path`, `invalid_query`, `invalid_input` (400),
//! `credits_exhausted` (402), `payload_too_large` (413), `unsupported_media_type` (415),
//! `invalid_workflow` (with `details`), `unsupported_format` and the other import codes of
//! `aos_schema::ImportError::code` (422), `rate_limited` (429, with `Retry-After`),
//! `method_not_allowed` (405), `not_ready`, `unavailable`, `timeout` (503), `internal` (500).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use aos_actors::DeliveryError;
use aos_api::{ErrorBody, ErrorDetail};
use aos_persistence::StoreError;

/// An error an HTTP handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Unauthorized { message: String },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    NotFound { message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The request was well-formed but its content is refused; `details` lists every problem.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String, details: Vec<Value> },
    /// Credits are used up, or a top-up payment was declined.
    #[error("{message}")]
    PaymentRequired { message: String },
    #[error("body is larger than the limit")]
    PayloadTooLarge,
    #[error("expected a JSON body (content-type: application/json)")]
    UnsupportedMediaType,
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("{what} is not ready")]
    NotReady { what: &'static str },
    #[error("the request took too long")]
    Timeout,
    #[error("{what} is unavailable on this node")]
    Unavailable { what: &'static str },
    #[error("the server's storage is full: nothing was recorded, send it again later")]
    StorageFull,
    #[error("the web apps are not built on this server: `cargo xtask run` builds them, or pass --web-dir")]
    WebAppsNotBuilt,
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::Unauthorized { message: message.into() }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden { message: message.into() }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound { message: format!("{what} not found") }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadRequest { code: "invalid_input", message: message.into() }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::PaymentRequired { .. } => (StatusCode::PAYMENT_REQUIRED, "credits_exhausted"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::NotReady { .. } => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            ApiError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::StorageFull => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
            ApiError::WebAppsNotBuilt => (StatusCode::SERVICE_UNAVAILABLE, "web_apps_not_built"),
            ApiError::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<aos_realtime::RealtimeError> for ApiError {
    fn from(err: aos_realtime::RealtimeError) -> Self {
        match err {
            aos_realtime::RealtimeError::RoomUnavailable { .. } => ApiError::Unavailable { what: "the live doc" },
            aos_realtime::RealtimeError::GraphRejected { reason, .. } => {
                ApiError::Unprocessable { code: "graph_rejected", message: reason, details: vec![] }
            }
            aos_realtime::RealtimeError::CompactionFailed { .. } => ApiError::Internal,
            aos_realtime::RealtimeError::Store(store) => ApiError::from(store),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity, .. } => ApiError::NotFound { message: format!("{entity} not found") },
            StoreError::Conflict { what } => {
                ApiError::Conflict { code: "conflict", message: format!("{} already exists", public_conflict(&what)) }
            }
            StoreError::Unavailable { reason } => {
                tracing::warn!(reason = %reason, "the database is unavailable");
                ApiError::Unavailable { what: "the database" }
            }
            StoreError::StorageFull => {
                tracing::error!("the database's storage is full, writes are refused");
                ApiError::StorageFull
            }
            other => {
                tracing::error!(error = %other, "storage call failed");
                ApiError::Internal
            }
        }
    }
}

/// A unique-constraint name as a client may see it (`users.email` → `email`).
fn public_conflict(what: &str) -> &str {
    what.rsplit('.').next().unwrap_or(what)
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(err) => {
                ApiError::BadRequest { code: "invalid_body", message: err.body_text() }
            }
            JsonRejection::JsonSyntaxError(err) => {
                ApiError::BadRequest { code: "malformed_json", message: err.body_text() }
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            other => ApiError::BadRequest { code: "invalid_body", message: other.body_text() },
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest { code: "invalid_path", message: rejection.body_text() }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest { code: "invalid_query", message: rejection.body_text() }
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest { code: "invalid_body", message: rejection.body_text() }
        }
    }
}

impl From<DeliveryError> for ApiError {
    fn from(err: DeliveryError) -> Self {
        match err {
            DeliveryError::UnknownSource => ApiError::not_found("webhook"),
            DeliveryError::CreditsExhausted { .. } => ApiError::PaymentRequired { message: err.to_string() },
            DeliveryError::TooLarge { .. } => ApiError::PayloadTooLarge,
            DeliveryError::BadSignature => ApiError::Unauthorized { message: err.to_string() },
            DeliveryError::RateLimited { retry_after_ms } => {
                ApiError::RateLimited { message: err.to_string(), retry_after_secs: retry_after_ms.div_ceil(1000) }
            }
            DeliveryError::BadBody { .. } => ApiError::BadRequest { code: "malformed_json", message: err.to_string() },
            DeliveryError::NotRunnable => ApiError::Conflict { code: "not_runnable", message: err.to_string() },
            DeliveryError::Unavailable => ApiError::Unavailable { what: "webhook ingress" },
            DeliveryError::StorageFull => ApiError::StorageFull,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let mut error = ErrorDetail { code: code.to_owned(), message: self.to_string(), details: None };
        let retry_after = match self {
            ApiError::Unprocessable { details, .. } if !details.is_empty() => {
                error.details = Some(details);
                None
            }
            ApiError::RateLimited { retry_after_secs, .. } => Some(retry_after_secs),
            _ => None,
        };
        let mut response = (status, Json(ErrorBody { error })).into_response();
        if let Some(secs) = retry_after
            && let Ok(value) = secs.to_string().parse()
        {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}
