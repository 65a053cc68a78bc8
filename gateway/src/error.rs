//! The one place that turns errors into HTTP answers. Every refusal carries an
//! [`ErrorCode`] (the table in `aos-api`: its text, its HTTP status, its meaning), and clients get
//! `{"error": {"code": "snake_case", "message": "…"}}` (plus `details` where a list of problems
//! helps, such as validation): a stable code and a clear message, never an internal detail (those
//! go to the log). Errors of the other crates (storage, the live doc, webhook ingress, the domain
//! rules) become an [`ApiError`] here and nowhere else.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use aos_actors::DeliveryError;
use aos_api::{ErrorBody, ErrorCode, ErrorDetail};
use aos_persistence::{InvitationState, StoreError};

/// An error an HTTP handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Unauthorized { message: String },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    NotFound { message: String },
    /// Refused for the reason `code` names (its status: 400, 409, 422, ...); `details` lists every
    /// problem where there are several.
    #[error("{message}")]
    Refused { code: ErrorCode, message: String, details: Vec<Value> },
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
        ApiError::refused(ErrorCode::InvalidInput, message)
    }

    /// Refused for the reason `code` names.
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Refused { code, message: message.into(), details: Vec::new() }
    }

    /// The code the answer carries; its status is the code's.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Unauthorized { .. } => ErrorCode::Unauthorized,
            ApiError::Forbidden { .. } => ErrorCode::Forbidden,
            ApiError::NotFound { .. } => ErrorCode::NotFound,
            ApiError::Refused { code, .. } => *code,
            ApiError::PaymentRequired { .. } => ErrorCode::CreditsExhausted,
            ApiError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            ApiError::NotReady { .. } => ErrorCode::NotReady,
            ApiError::Unavailable { .. } => ErrorCode::Unavailable,
            ApiError::StorageFull => ErrorCode::StorageFull,
            ApiError::WebAppsNotBuilt => ErrorCode::WebAppsNotBuilt,
            ApiError::Timeout => ErrorCode::Timeout,
            ApiError::Internal => ErrorCode::Internal,
        }
    }
}

impl From<aos_realtime::RealtimeError> for ApiError {
    fn from(err: aos_realtime::RealtimeError) -> Self {
        match err {
            aos_realtime::RealtimeError::RoomUnavailable { .. } => ApiError::Unavailable { what: "the live doc" },
            aos_realtime::RealtimeError::GraphRejected { reason, .. } => {
                ApiError::refused(ErrorCode::GraphRejected, reason)
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
                ApiError::refused(ErrorCode::Conflict, format!("{} already exists", public_conflict(&what)))
            }
            StoreError::InvitationClosed { state } => match state {
                InvitationState::Accepted => {
                    ApiError::refused(ErrorCode::InvitationUsed, "this invitation link has been used already")
                }
                InvitationState::Revoked => {
                    ApiError::refused(ErrorCode::InvitationRevoked, "this invitation was revoked")
                }
                InvitationState::Expired => {
                    ApiError::refused(ErrorCode::InvitationExpired, "this invitation has expired")
                }
                InvitationState::Pending => {
                    tracing::error!("a pending invitation was reported closed");
                    ApiError::Internal
                }
            },
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
            JsonRejection::JsonDataError(err) => ApiError::refused(ErrorCode::InvalidBody, err.body_text()),
            JsonRejection::JsonSyntaxError(err) => ApiError::refused(ErrorCode::MalformedJson, err.body_text()),
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            other => ApiError::refused(ErrorCode::InvalidBody, other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::refused(ErrorCode::InvalidPath, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::refused(ErrorCode::InvalidQuery, rejection.body_text())
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::refused(ErrorCode::InvalidBody, rejection.body_text())
        }
    }
}

impl From<crate::domain::DomainError> for ApiError {
    fn from(err: crate::domain::DomainError) -> Self {
        ApiError::Refused { code: err.code, message: err.message, details: err.details }
    }
}

impl From<aos_actors::PublishError> for ApiError {
    fn from(err: aos_actors::PublishError) -> Self {
        match err {
            aos_actors::PublishError::Invalid(errors) => ApiError::Refused {
                code: ErrorCode::InvalidWorkflow,
                message: format!("the workflow cannot be published: {errors}"),
                details: errors.errors().iter().map(|e| serde_json::to_value(e).unwrap_or(Value::Null)).collect(),
            },
            aos_actors::PublishError::Store(store) => ApiError::from(store),
            aos_actors::PublishError::Export(_) => ApiError::Internal,
            aos_actors::PublishError::Unavailable => ApiError::Unavailable { what: "the workflow's actor" },
        }
    }
}

impl From<aos_actors::ControlError> for ApiError {
    fn from(err: aos_actors::ControlError) -> Self {
        match err {
            aos_actors::ControlError::NotFound { .. } => ApiError::not_found("actor"),
            aos_actors::ControlError::NotControllable { .. } => {
                ApiError::refused(ErrorCode::NotControllable, err.to_string())
            }
            aos_actors::ControlError::Unavailable => ApiError::Unavailable { what: "the actor's supervisor" },
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
            DeliveryError::BadBody { .. } => ApiError::refused(ErrorCode::MalformedJson, err.to_string()),
            DeliveryError::NotRunnable => ApiError::refused(ErrorCode::NotRunnable, err.to_string()),
            DeliveryError::Unavailable => ApiError::Unavailable { what: "webhook ingress" },
            DeliveryError::StorageFull => ApiError::StorageFull,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = ErrorDetail { code: code.as_str().to_owned(), message: self.to_string(), details: None };
        let retry_after = match self {
            ApiError::Refused { details, .. } if !details.is_empty() => {
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
