//! `slack.post_message`: posts `{channel, text}` to Slack's Web API (`chat.postMessage`) with a bot
//! token and outputs `{ok, channel, ts}`. Also home, for now, of the bearer-token JSON call that
//! the Slack, Sheets and OpenAI nodes share.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::api::{Bearer, api_url, send_json};
use super::{NodeCall, retry_after_ms, status_error};
use crate::protocol::{StepError, StepOutput};

pub(super) async fn post_message(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    let token = call.text("token")?;
    let channel = call.text("channel")?;
    let text = call.text("text")?;
    let url = api_url(call, &["chat.postMessage"])?;
    let reply = send_json(
        call,
        Method::POST,
        url,
        Bearer { field: "token", token },
        Some(&json!({ "channel": channel, "text": text })),
    )
    .await?;
    let answer = serde_json::from_slice::<Value>(&reply.body).ok();
    if !reply.status.is_success() {
        let detail = answer.as_ref().and_then(|a| a["error"].as_str()).unwrap_or_default();
        return Err(status_error("slack", reply.status, &reply.headers, detail));
    }
    let answer =
        answer.ok_or_else(|| StepError::permanent("bad_response", "slack answered something that is not json"))?;
    if answer["ok"] != Value::Bool(true) {
        let error = answer["error"].as_str().unwrap_or("unknown_error");
        return Err(api_error(error, &reply.headers));
    }
    Ok(StepOutput {
        bytes: reply.bytes,
        ..StepOutput::value(json!({ "ok": true, "channel": answer["channel"], "ts": answer["ts"] }))
    })
}

/// The step error for Slack's `{"ok": false, "error": …}` (sent with HTTP 200): rate limits and
/// Slack-side failures are worth a retry; auth problems and everything about the request itself
/// (an unknown channel, a message too long, an unknown error code) are not.
fn api_error(error: &str, headers: &HeaderMap) -> StepError {
    let message = format!("slack refused the message: {error}");
    let step_error = match error {
        "ratelimited" | "rate_limited" => StepError::retryable("rate_limited", message),
        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
            StepError::retryable("service_unavailable", message)
        }
        "invalid_auth"
        | "not_authed"
        | "account_inactive"
        | "token_revoked"
        | "token_expired"
        | "no_permission"
        | "missing_scope"
        | "not_allowed_token_type"
        | "ekm_access_denied"
        | "team_access_not_granted"
        | "org_login_required" => StepError::permanent("unauthorized", message),
        _ => StepError::permanent("api_error", message),
    };
    match retry_after_ms(headers) {
        Some(ms) if step_error.is_retryable() => step_error.after(ms),
        _ => step_error,
    }
}
