//! `openai.chat`: one Chat Completions call (`POST {base_url}/chat/completions`) with an optional
//! system prompt and the user prompt; outputs `{content, model, usage}` from the first choice.
//! Rate limits (429 with `Retry-After` or `retry-after-ms`) and 5xx are retryable; an exhausted
//! quota (a 429 with code `insufficient_quota`) and every other 4xx are not.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::api::{Bearer, api_url, send_json};
use super::{NodeCall, status_error};
use crate::protocol::{StepError, StepOutput};

pub(super) async fn chat(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    let api_key = call.text("api_key")?;
    let model = call.text("model")?.trim();
    let prompt = call.text("prompt")?;
    let mut messages = Vec::new();
    if let Some(system) = call.opt_text("system")? {
        messages.push(json!({ "role": "system", "content": system }));
    }
    messages.push(json!({ "role": "user", "content": prompt }));
    let mut body = json!({ "model": model, "messages": messages });
    if let Some(temperature) = call.opt_number("temperature")? {
        if !(0.0..=2.0).contains(&temperature) {
            return Err(StepError::bad_config("temperature", "must be between 0 and 2"));
        }
        body["temperature"] = json!(temperature);
    }
    let url = api_url(call, &["chat", "completions"])?;
    let reply = send_json(call, Method::POST, url, Bearer { field: "api_key", token: api_key }, Some(&body)).await?;
    let answer = serde_json::from_slice::<Value>(&reply.body).ok();
    if !reply.status.is_success() {
        return Err(api_error(reply.status, &reply.headers, answer.as_ref()));
    }
    let answer =
        answer.ok_or_else(|| StepError::permanent("bad_response", "openai answered something that is not json"))?;
    let message = &answer["choices"][0]["message"];
    if !message.is_object() {
        return Err(StepError::permanent("bad_response", "openai answered without a choice"));
    }
    Ok(StepOutput {
        bytes: reply.bytes,
        ..StepOutput::value(json!({
            "content": message["content"],
            "model": answer["model"],
            "usage": answer["usage"],
        }))
    })
}

/// The step error for OpenAI's `{"error": {message, type, code}}`.
fn api_error(status: StatusCode, headers: &HeaderMap, answer: Option<&Value>) -> StepError {
    let error = answer.map(|a| &a["error"]).unwrap_or(&Value::Null);
    let message = error["message"].as_str().unwrap_or_default();
    let code = error["code"].as_str().or_else(|| error["type"].as_str()).unwrap_or_default();
    let detail = match (code.is_empty(), message.is_empty()) {
        (false, false) => format!("{code}: {message}"),
        (false, true) => code.to_owned(),
        _ => message.to_owned(),
    };
    if code == "insufficient_quota" {
        return StepError::permanent("insufficient_quota", format!("openai answered {status}: {detail}"));
    }
    let step_error = status_error("openai", status, headers, &detail);
    match retry_after_ms(headers) {
        Some(ms) if step_error.is_retryable() => step_error.after(ms),
        _ => step_error,
    }
}

/// OpenAI's own `retry-after-ms` header, finer than the standard `Retry-After` (which
/// `status_error` reads) and preferred when both are sent.
fn retry_after_ms(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("retry-after-ms")?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| ms.ceil() as u64)
}
