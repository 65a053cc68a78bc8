//! Request hardening middleware: a rate limit per caller (per user when the request carries an
//! access token that verifies, else per client IP, so made-up tokens cannot mint fresh budgets;
//! GCRA via governor, idle keys pruned), a whole-request timeout answering the documented error
//! shape, security headers on every answer, and the CORS policy for the web apps (origins from `AOS_CORS_ORIGINS`). Body sizes are
//! capped by `DefaultBodyLimit` in the router; webhook ingress has its own per-source limits.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::{API_KEY_PREFIX, AuthSettings};
use crate::error::ApiError;

/// The limits one server applies.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests per minute per caller (the burst is the same number).
    pub per_minute: NonZeroU32,
    /// The longest a request may take.
    pub request_timeout: Duration,
    /// Origins allowed to call the API from a browser; empty means same-origin only.
    pub cors_origins: Vec<String>,
    /// Login attempts per minute per email (password guessing), whatever the caller's IP.
    pub logins_per_minute: NonZeroU32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_minute: NonZeroU32::new(1200).unwrap_or(NonZeroU32::MIN),
            request_timeout: Duration::from_secs(30),
            cors_origins: vec![],
            logins_per_minute: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// The shared limiter.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
}

impl RateLimiter {
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self::with_quota(Quota::per_minute(per_minute))
    }

    /// A limiter with any quota (`Quota::per_hour(n)`: a burst of `n`, refilled over an hour).
    pub fn with_quota(quota: Quota) -> Self {
        Self { limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota)) }
    }

    /// Counts one request of `key`; `429 rate_limited` with `Retry-After` saying `what` when over.
    pub fn check_or_429(&self, key: &str, what: &str) -> Result<(), ApiError> {
        self.check(key).map_err(|wait| ApiError::RateLimited {
            message: format!("too many {what}, wait a little"),
            retry_after_secs: wait.as_secs().max(1),
        })
    }

    /// Counts one request of `key`; the wait when over the limit.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets keys whose budget has refilled (they are as good as new), so the limiter's memory
    /// follows the callers active now, not every caller ever seen.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// How many keys the limiter holds.
    pub fn keys(&self) -> usize {
        self.limiter.len()
    }
}

/// The per-caller limit of the API: the limiter, and the keys that verify access tokens.
#[derive(Clone)]
pub struct CallerLimit {
    limiter: RateLimiter,
    auth: Arc<AuthSettings>,
    requests: Arc<AtomicU64>,
}

impl std::fmt::Debug for CallerLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerLimit").field("keys", &self.limiter.keys()).finish_non_exhaustive()
    }
}

/// Requests between two prunings of the limiter's idle keys.
const PRUNE_EVERY: u64 = 4096;

impl CallerLimit {
    pub fn new(per_minute: NonZeroU32, auth: Arc<AuthSettings>) -> Self {
        Self { limiter: RateLimiter::new(per_minute), auth, requests: Arc::new(AtomicU64::new(0)) }
    }

    /// Whose budget a request spends: the user of a valid access token, else the client's IP (a
    /// missing, expired or forged token, or an API key, which only the database can check).
    fn key(&self, request: &Request) -> String {
        let token = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim);
        match token.filter(|t| !t.starts_with(API_KEY_PREFIX)).map(|t| self.auth.verify_access(t)) {
            Some(Ok(claims)) => format!("user:{}", claims.sub),
            _ => format!("ip:{}", client_ip(request.extensions())),
        }
    }
}

/// Paths the per-caller limit skips: probes, metrics, and webhook ingress (limited per source).
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics") || path.starts_with("/hooks/")
}

/// Refuses a caller over its rate with `429 rate_limited` and `Retry-After`.
pub async fn rate_limit(State(limit): State<CallerLimit>, request: Request, next: Next) -> Response {
    if exempt(request.uri().path()) {
        return next.run(request).await;
    }
    if limit.requests.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
        limit.limiter.prune();
    }
    let key = limit.key(&request);
    if let Err(wait) = limit.limiter.check(&key) {
        let retry_after_secs = wait.as_secs().max(1);
        return ApiError::RateLimited { message: "too many requests, slow down".into(), retry_after_secs }
            .into_response();
    }
    next.run(request).await
}

/// The client's IP address as the listener saw it (`unknown` when the server was not started with
/// connect info). Behind a proxy this is the proxy's address.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(&parts.extensions)))
    }
}

fn client_ip(extensions: &axum::http::Extensions) -> String {
    match extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => addr.ip().to_string(),
        None => "unknown".to_owned(),
    }
}

/// Security headers on every response the gateway answers itself: `X-Content-Type-Options:
/// nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY` and, under `/api/`, `/hooks/`
/// and `/ws/`, `Cache-Control: no-store`. A header a handler already set is kept (the web apps'
/// static files carry their own policy); any `Server` header is removed.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let no_store = path.starts_with("/api/") || path.starts_with("/hooks/") || path.starts_with("/ws/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.remove(axum::http::header::SERVER);
    let defaults = [
        (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (axum::http::header::REFERRER_POLICY, "no-referrer"),
        (axum::http::header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in defaults {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    if no_store {
        headers.entry(axum::http::header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    }
    response
}

/// Ends a request that takes longer than the limit with `503 timeout`.
pub async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// The CORS policy: the configured origins may call with credentials headers; none configured
/// means no cross-origin access (the apps are served from the same origin).
pub fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o.trim()).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, "idempotency-key".parse().unwrap_or(CONTENT_TYPE)])
        .max_age(Duration::from_secs(600))
}
