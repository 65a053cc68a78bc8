//! The API client: JSON over same-origin `fetch` with the bearer token from `localStorage`
//! (shared with the studio). A refused token (401) is refreshed once with the refresh token; when
//! that fails too the tokens are forgotten and the app shows its login screen.

use dioxus::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::{ErrorBody, Tokens};
use crate::platform;

/// Where the access token lives (shared with the studio).
pub const TOKEN_KEY: &str = "aos.token";
/// Where the refresh token lives (shared with the studio).
pub const REFRESH_KEY: &str = "aos.refresh";

/// The access token the app holds; `None` shows the login screen.
pub static TOKEN: GlobalSignal<Option<String>> = Signal::global(|| platform::storage_get(TOKEN_KEY));

/// A request that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// The HTTP status (0 when there was no answer).
    pub status: u16,
    /// The server's stable error code (`not_found`, `credits_exhausted`, ...).
    pub code: String,
    pub message: String,
}

impl ApiError {
    fn from_response(status: u16, body: &str) -> Self {
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(body) => ApiError { status, code: body.error.code, message: body.error.message },
            Err(_) => ApiError { status, code: "http_error".into(), message: format!("the server answered {status}") },
        }
    }

    fn offline(err: platform::PlatformError) -> Self {
        ApiError { status: 0, code: "offline".into(), message: format!("the server could not be reached: {err}") }
    }
}

/// Keeps new tokens (after login, signup or refresh).
pub fn remember(tokens: &Tokens) {
    platform::storage_set(TOKEN_KEY, &tokens.token);
    if let Some(refresh) = &tokens.refresh_token {
        platform::storage_set(REFRESH_KEY, refresh);
    }
    *TOKEN.write() = Some(tokens.token.clone());
}

/// Forgets the tokens; the app shows the login screen.
pub fn forget() {
    platform::storage_remove(TOKEN_KEY);
    platform::storage_remove(REFRESH_KEY);
    *TOKEN.write() = None;
}

async fn refresh() -> bool {
    let Some(refresh_token) = platform::storage_get(REFRESH_KEY) else { return false };
    let body = serde_json::json!({ "refresh_token": refresh_token }).to_string();
    match platform::http("POST", "/api/auth/refresh", Some(body), None).await {
        Ok((200, text)) => match serde_json::from_str::<Tokens>(&text) {
            Ok(tokens) => {
                remember(&tokens);
                true
            }
            Err(_) => false,
        },
        _ => false,
    }
}

/// One request with the stored token; the body text of a 2xx answer.
pub async fn raw(method: &str, path: &str, body: Option<&Value>) -> Result<String, ApiError> {
    let body = body.map(Value::to_string);
    let mut retried = false;
    loop {
        let token = platform::storage_get(TOKEN_KEY);
        let (status, text) =
            platform::http(method, path, body.clone(), token.clone()).await.map_err(ApiError::offline)?;
        if status == 401 && token.is_some() && !retried {
            retried = true;
            if refresh().await {
                continue;
            }
            forget();
        }
        if (200..300).contains(&status) {
            return Ok(text);
        }
        return Err(ApiError::from_response(status, &text));
    }
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|err| ApiError {
        status: 200,
        code: "bad_response".into(),
        message: format!("the server's answer was not understood: {err}"),
    })
}

/// `GET path` as `T`.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    decode(&raw("GET", path, None).await?)
}

/// `method path` with a JSON body, answered as `T`.
pub async fn send<T: DeserializeOwned>(method: &str, path: &str, body: &Value) -> Result<T, ApiError> {
    decode(&raw(method, path, Some(body)).await?)
}

/// `method path` with a JSON body; the answer's body is not needed.
pub async fn call(method: &str, path: &str, body: Option<&Value>) -> Result<(), ApiError> {
    raw(method, path, body).await.map(|_| ())
}

/// Logs in (no token needed) and keeps the tokens.
pub async fn login(email: &str, password: &str) -> Result<(), ApiError> {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let (status, text) =
        platform::http("POST", "/api/auth/login", Some(body), None).await.map_err(ApiError::offline)?;
    if status != 200 {
        return Err(ApiError::from_response(status, &text));
    }
    remember(&decode::<Tokens>(&text)?);
    Ok(())
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_the_error_body() {
        let err = ApiError::from_response(402, r#"{"error":{"code":"credits_exhausted","message":"top up"}}"#);
        assert_eq!((err.status, err.code.as_str(), err.message.as_str()), (402, "credits_exhausted", "top up"));
        let err = ApiError::from_response(502, "<html>bad gateway</html>");
        assert_eq!(err.code, "http_error");
        assert_eq!(err.message, "the server answered 502");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("2026-11-01T00:00:00Z"), "2026-11-01T00%3A00%3A00Z");
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
