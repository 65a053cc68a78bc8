//! The built-in nodes. Each takes a [`NodeCall`] (its config already resolved, the step's context,
//! the guarded HTTP client) and returns a [`StepOutput`] or a [`StepError`] that says whether a
//! retry can help. Integrations call a `base_url` from their config, defaulting to the real service.

mod api;
mod email;
mod http;
mod logic;
mod openai;
mod sheets;
mod slack;

use std::collections::BTreeMap;

use aos_schema::kinds;
use serde_json::{Map, Value};

use crate::egress::GuardedClient;
use crate::protocol::{StepContext, StepError, StepOutput};

/// Everything a node needs for one execution.
#[derive(Debug)]
pub(crate) struct NodeCall<'a> {
    /// The config with every expression resolved (secrets included: never log it).
    pub config: Map<String, Value>,
    pub context: &'a StepContext,
    pub http: &'a GuardedClient,
}

/// Runs the node of `kind`.
pub(crate) async fn run(kind: &str, call: NodeCall<'_>) -> Result<StepOutput, StepError> {
    match kind {
        kinds::TRIGGER_WEBHOOK | kinds::TRIGGER_SCHEDULE | kinds::TRIGGER_MANUAL => {
            Ok(StepOutput::value(call.context.trigger.clone()))
        }
        kinds::LOGIC_CONDITION => logic::condition(&call),
        kinds::LOGIC_SWITCH => logic::switch(&call),
        kinds::LOGIC_MERGE => Ok(StepOutput::value(call.context.input.clone())),
        kinds::LOGIC_FOR_EACH => logic::for_each(&call),
        kinds::LOGIC_DELAY => logic::delay(&call),
        kinds::DATA_TRANSFORM => logic::transform(&call),
        kinds::WEBHOOK_RESPOND => logic::respond(&call),
        kinds::HTTP_REQUEST => http::request(&call).await,
        kinds::SLACK_POST_MESSAGE => slack::post_message(&call).await,
        kinds::SHEETS_APPEND => sheets::append(&call).await,
        kinds::SHEETS_READ => sheets::read(&call).await,
        kinds::OPENAI_CHAT => openai::chat(&call).await,
        kinds::EMAIL_SEND => email::send(&call).await,
        other => Err(StepError::permanent("unknown_kind", format!("no node of kind {other:?}"))),
    }
}

impl NodeCall<'_> {
    /// A required text field.
    pub fn text(&self, field: &str) -> Result<&str, StepError> {
        match self.config.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
            Some(Value::String(_)) | None | Some(Value::Null) => Err(StepError::bad_config(field, "is required")),
            Some(other) => Err(StepError::bad_config(field, format!("must be text, got {}", type_name(other)))),
        }
    }

    /// An optional text field (absent, null or empty is `None`).
    pub fn opt_text(&self, field: &str) -> Result<Option<&str>, StepError> {
        match self.config.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(StepError::bad_config(field, format!("must be text, got {}", type_name(other)))),
        }
    }

    /// An optional number field; numbers written as text (from an expression) are accepted.
    pub fn opt_number(&self, field: &str) -> Result<Option<f64>, StepError> {
        match self.config.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| StepError::bad_config(field, format!("must be a number, got {s:?}"))),
            Some(other) => Err(StepError::bad_config(field, format!("must be a number, got {}", type_name(other)))),
        }
    }

    /// An optional key-value field, every value rendered as text.
    pub fn string_map(&self, field: &str) -> Result<BTreeMap<String, String>, StepError> {
        match self.config.get(field) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::Object(map)) => Ok(map.iter().map(|(k, v)| (k.clone(), as_text(v))).collect()),
            Some(other) => {
                Err(StepError::bad_config(field, format!("must be key-value pairs, got {}", type_name(other))))
            }
        }
    }

    /// The base URL of an integration, without a trailing slash.
    pub fn base_url(&self) -> Result<String, StepError> {
        Ok(self.text("base_url")?.trim_end_matches('/').to_owned())
    }
}

/// A JSON value as text: strings as themselves, everything else as compact JSON.
pub(crate) fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The largest response body a node reads; more is an error, not an out-of-memory.
pub(crate) const MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;

/// Reads a response body up to [`MAX_RESPONSE_BYTES`].
pub(crate) async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, StepError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| crate::egress::transport_error(&err))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(StepError::permanent(
                "response_too_large",
                format!("response body over {MAX_RESPONSE_BYTES} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The step error for a non-success HTTP status from `service`: 429 and 5xx are retryable (with
/// the service's `Retry-After` when given), other 4xx permanent.
pub(crate) fn status_error(
    service: &str,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    detail: &str,
) -> StepError {
    let detail = detail.chars().take(300).collect::<String>();
    let message = if detail.is_empty() {
        format!("{service} answered {status}")
    } else {
        format!("{service} answered {status}: {detail}")
    };
    let error = if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        StepError::retryable("rate_limited", message)
    } else if status.is_server_error() {
        StepError::retryable("service_unavailable", message)
    } else if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        StepError::permanent("unauthorized", message)
    } else {
        StepError::permanent("http_status", message)
    };
    match retry_after_ms(headers) {
        Some(ms) => error.after(ms),
        None => error,
    }
}

/// `Retry-After` in seconds, as milliseconds.
pub(crate) fn retry_after_ms(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(|s| s.saturating_mul(1000))
}
