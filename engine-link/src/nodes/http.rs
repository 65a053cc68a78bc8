//! `http.request`: `{method, url, headers, body}` in, `{status, headers, body}` out. A JSON body is
//! sent as JSON, text as text. 2xx and 3xx succeed; 429 and 5xx are retryable failures (honouring
//! `Retry-After`), other 4xx permanent ones.

use std::str::FromStr;

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{NodeCall, read_body, status_error};
use crate::egress::transport_error;
use crate::protocol::{StepError, StepOutput};

/// The methods the catalog offers.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

pub(super) async fn request(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    let method_text = call.opt_text("method")?.unwrap_or("GET").to_ascii_uppercase();
    if !METHODS.contains(&method_text.as_str()) {
        return Err(StepError::bad_config(
            "method",
            format!("must be one of {}, got {method_text:?}", METHODS.join(", ")),
        ));
    }
    let method =
        Method::from_str(&method_text).map_err(|_| StepError::bad_config("method", "is not an HTTP method"))?;
    let url = call.text("url")?;
    let mut request = call.http.request(method, url)?;
    let headers = call.string_map("headers")?;
    let has_content_type = headers.keys().any(|name| name.eq_ignore_ascii_case("content-type"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut sent = 0usize;
    match call.config.get("body") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => {
            sent = text.len();
            request = request.body(text.clone());
        }
        Some(json_body) => {
            let bytes = serde_json::to_vec(json_body).map_err(|err| StepError::bad_config("body", err))?;
            sent = bytes.len();
            if !has_content_type {
                request = request.header(reqwest::header::CONTENT_TYPE, "application/json");
            }
            request = request.body(bytes);
        }
    }
    let response = request.send().await.map_err(|err| transport_error(&err))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_body(response).await?;
    if status.is_client_error() || status.is_server_error() {
        return Err(status_error("the server", status, &headers, &String::from_utf8_lossy(&body)));
    }
    let header_map: Map<String, Value> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), Value::String(value.to_str().ok()?.to_owned()))))
        .collect();
    let body_value =
        serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    Ok(StepOutput {
        bytes: (sent + body.len()) as u64,
        ..StepOutput::value(json!({ "status": status.as_u16(), "headers": header_map, "body": body_value }))
    })
}
