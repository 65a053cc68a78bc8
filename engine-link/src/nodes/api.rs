//! What the JSON-over-HTTP integrations share: building a URL from the node's `base_url`, a bearer
//! credential, and one request/answer exchange whose status each integration judges itself.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::{NodeCall, read_body};
use crate::egress::transport_error;
use crate::protocol::StepError;

/// `base_url` with `segments` appended, each percent-encoded as one path segment.
pub(super) fn api_url(call: &NodeCall<'_>, segments: &[&str]) -> Result<Url, StepError> {
    let base = call.base_url()?;
    let mut url =
        Url::parse(&base).map_err(|err| StepError::bad_config("base_url", format!("is not a valid URL: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(StepError::bad_config("base_url", "must be an http or https URL"));
    }
    url.path_segments_mut()
        .map_err(|()| StepError::bad_config("base_url", "cannot have a path"))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// A credential sent as `Authorization: Bearer …`, with the config field it came from (for
/// messages, which never show the value).
#[derive(Debug, Clone, Copy)]
pub(super) struct Bearer<'a> {
    pub field: &'a str,
    pub token: &'a str,
}

/// A JSON API's answer, read whole.
#[derive(Debug)]
pub(super) struct ApiReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Bytes sent and received, for usage accounting.
    pub bytes: u64,
}

/// Sends `body` as JSON (or no body) to `url` with a bearer token and reads the answer, whatever
/// its status. Transport failures become step errors (refused destinations included); the status
/// is the caller's to judge, since each service words its errors differently.
pub(super) async fn send_json(
    call: &NodeCall<'_>,
    method: Method,
    url: Url,
    bearer: Bearer<'_>,
    body: Option<&Value>,
) -> Result<ApiReply, StepError> {
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", bearer.token.trim()))
        .map_err(|_| StepError::bad_config(bearer.field, "contains characters an HTTP header cannot carry"))?;
    auth.set_sensitive(true);
    let mut request = call.http.request(method, url.as_str())?.header(AUTHORIZATION, auth);
    let mut sent = 0usize;
    if let Some(body) = body {
        let bytes = serde_json::to_vec(body).map_err(|err| StepError::permanent("bad_request", err.to_string()))?;
        sent = bytes.len();
        request = request.header(CONTENT_TYPE, "application/json; charset=utf-8").body(bytes);
    }
    let response = request.send().await.map_err(|err| transport_error(&err))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_body(response).await?;
    Ok(ApiReply { status, headers, bytes: (sent + body.len()) as u64, body })
}
