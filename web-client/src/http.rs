//! Calls to the API: JSON over same-origin `fetch` with the session's bearer token. A refused
//! token (401) is renewed once ([`crate::session`]) and the call tried again; every other refusal
//! becomes an [`ApiError`] read from the server's error body.

use aos_api::{ErrorBody, ErrorCode, InvitationSignup, Login, SignedUp, Signup, Tokens};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::platform::{self, PlatformError};
use crate::session;

/// A call that did not succeed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// The HTTP status; 0 when there was no answer (or nothing was sent), 200 when the answer
    /// did not read.
    pub status: u16,
    /// What kind of failure: the server's stable code, or one of this client's own.
    pub code: Failure,
    pub message: String,
    /// The problems one by one, for a refused graph or form.
    pub details: Vec<Value>,
}

/// What kind of failure a call met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server refused, with one of its documented codes.
    Refused(ErrorCode),
    /// The server refused with a code this client does not know (a newer server).
    Unrecognized(String),
    /// No answer: the server could not be reached.
    Offline,
    /// An answer that did not read as what the call expects.
    BadResponse,
    /// A refusal without an error body (a proxy's error page, say).
    HttpError,
    /// Not sent: this client found an argument that does not read (an id that is not one).
    Invalid,
}

impl Failure {
    /// The code as text: the server's on the wire, or `offline`, `bad_response`, `http_error`,
    /// `invalid`.
    pub fn as_str(&self) -> &str {
        match self {
            Failure::Refused(code) => code.as_str(),
            Failure::Unrecognized(code) => code,
            Failure::Offline => "offline",
            Failure::BadResponse => "bad_response",
            Failure::HttpError => "http_error",
            Failure::Invalid => "invalid",
        }
    }

    fn of(code: String) -> Self {
        match ErrorCode::parse(&code) {
            Some(known) => Failure::Refused(known),
            None => Failure::Unrecognized(code),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ApiError {
    /// Reads a refusal's body.
    pub fn from_response(status: u16, body: &str) -> Self {
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(ErrorBody { error }) => ApiError {
                status,
                code: Failure::of(error.code),
                message: error.message,
                details: error.details.unwrap_or_default(),
            },
            Err(_) => ApiError {
                status,
                code: Failure::HttpError,
                message: format!("the server answered {status}"),
                details: Vec::new(),
            },
        }
    }

    fn offline(err: PlatformError) -> Self {
        ApiError {
            status: 0,
            code: Failure::Offline,
            message: format!("the server could not be reached: {err}"),
            details: Vec::new(),
        }
    }

    fn unreadable(err: impl std::fmt::Display) -> Self {
        ApiError {
            status: 200,
            code: Failure::BadResponse,
            message: format!("the server's answer was not understood: {err}"),
            details: Vec::new(),
        }
    }

    /// Whether the session is gone: the server refused it and no refresh could renew it, so the
    /// app should show its sign-in screen.
    pub fn signed_out(&self) -> bool {
        self.status == 401 && !session::signed_in()
    }

    /// The details that read as `T` (a refused publish's validation problems, say).
    pub fn details_as<T: DeserializeOwned>(&self) -> Vec<T> {
        self.details.iter().filter_map(|d| T::deserialize(d).ok()).collect()
    }
}

/// One call with the session's token; the body text of a 2xx answer.
pub async fn call_text(method: &str, path: &str, body: Option<String>) -> Result<String, ApiError> {
    let mut renewed = false;
    loop {
        let bearer = session::token();
        let response = platform::fetch(method, path, body.clone(), bearer.clone()).await.map_err(ApiError::offline)?;
        if (200..300).contains(&response.status) {
            return Ok(response.body);
        }
        if response.status == 401
            && let Some(refused) = bearer
        {
            if !renewed {
                renewed = true;
                if session::renew(&refused).await {
                    continue;
                }
            } else {
                // refused again with a fresh token: the session is over
                session::forget_if_current(&refused);
            }
        }
        return Err(ApiError::from_response(response.status, &response.body));
    }
}

/// Reads an answer as `T` (an empty body reads as `null`).
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let text = if text.trim().is_empty() { "null" } else { text };
    serde_json::from_str(text).map_err(ApiError::unreadable)
}

/// `GET path` as `T`.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    decode(&call_text("GET", path, None).await?)
}

/// `method path` with a JSON body, answered as `T`.
pub async fn send<T: DeserializeOwned>(method: &str, path: &str, body: &impl Serialize) -> Result<T, ApiError> {
    let body = serde_json::to_string(body).map_err(ApiError::unreadable)?;
    decode(&call_text(method, path, Some(body)).await?)
}

/// `method path` with an optional JSON body, when the answer's body is not needed.
pub async fn call(method: &str, path: &str, body: Option<&Value>) -> Result<(), ApiError> {
    call_text(method, path, body.map(Value::to_string)).await.map(|_| ())
}

/// A call without the session (signing in); the answer as `T`.
async fn anonymous<T: DeserializeOwned>(path: &str, body: &impl Serialize) -> Result<T, ApiError> {
    let body = serde_json::to_string(body).map_err(ApiError::unreadable)?;
    let response = platform::fetch("POST", path, Some(body), None).await.map_err(ApiError::offline)?;
    if !(200..300).contains(&response.status) {
        return Err(ApiError::from_response(response.status, &response.body));
    }
    decode(&response.body)
}

/// Signs in and keeps the session.
pub async fn login(email: &str, password: &str) -> Result<(), ApiError> {
    let tokens: Tokens =
        anonymous("/api/auth/login", &Login { email: email.to_owned(), password: password.to_owned() }).await?;
    session::remember(&tokens);
    Ok(())
}

/// Makes an account and its first org, and keeps the session.
pub async fn signup(form: &Signup) -> Result<SignedUp, ApiError> {
    let signed_up: SignedUp = anonymous("/api/auth/signup", form).await?;
    session::remember(&signed_up.tokens);
    Ok(signed_up)
}

/// Makes an account through an invitation link (its email is the invitation's), joining the
/// inviting org, and keeps the session.
pub async fn signup_invited(token: &str, form: &InvitationSignup) -> Result<SignedUp, ApiError> {
    let signed_up: SignedUp = anonymous(&format!("/api/invitations/{}/signup", encode(token)), form).await?;
    session::remember(&signed_up.tokens);
    Ok(signed_up)
}

/// What [`encode`] leaves as it is: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes a query value or a path segment.
pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_the_error_body() {
        let err = ApiError::from_response(402, r#"{"error":{"code":"credits_exhausted","message":"top up"}}"#);
        assert_eq!((err.status, err.message.as_str()), (402, "top up"));
        assert_eq!(err.code, Failure::Refused(ErrorCode::CreditsExhausted));
        assert!(err.details.is_empty());
        let err = ApiError::from_response(502, "<html>bad gateway</html>");
        assert_eq!((err.code.clone(), err.message.as_str()), (Failure::HttpError, "the server answered 502"));
        assert_eq!(err.code.as_str(), "http_error");
        let err = ApiError::from_response(409, r#"{"error":{"code":"from_a_newer_server","message":"x"}}"#);
        assert_eq!(err.code, Failure::Unrecognized("from_a_newer_server".into()));
        assert_eq!(err.code.to_string(), "from_a_newer_server");
    }

    #[test]
    fn details_read_as_the_caller_asks() {
        let body = r#"{"error":{"code":"invalid_workflow","message":"x","details":[{"code":"no_trigger"},7]}}"#;
        let err = ApiError::from_response(422, body);
        let codes: Vec<serde_json::Map<String, Value>> = err.details_as();
        assert_eq!(codes.len(), 1, "what does not read is left out");
    }

    #[test]
    fn only_a_lost_session_is_signed_out() {
        session::forget();
        assert!(ApiError::from_response(401, "").signed_out());
        session::remember(&Tokens { token: "t".into(), refresh_token: "r".into(), expires_in: 1 });
        assert!(!ApiError::from_response(401, "").signed_out(), "a refresh that could not reach the server");
        assert!(!ApiError::from_response(403, "").signed_out());
        session::forget();
    }

    #[test]
    fn empty_answers_read_as_null_and_bad_ones_say_so() {
        assert_eq!(decode::<Option<i64>>("  ").unwrap(), None);
        let err = decode::<i64>("{").unwrap_err();
        assert_eq!(err.code, Failure::BadResponse);
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("2026-11-01T00:00:00Z"), "2026-11-01T00%3A00%3A00Z");
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
