//! The middleware every request passes through: one `http.request` span per request (an
//! OpenTelemetry server span continuing the caller's W3C `traceparent`), and the request counter
//! and latency histogram.
//!
//! The span carries the request id (`x-request-id`, set by the router when the caller sent
//! none). Only the matched route template is recorded (`/api/runs/{id}`), never the raw path or query:
//! paths carry ids and webhook tokens, queries carry WebSocket tokens. No header is recorded.

use std::time::Instant;

use aos_ops::metrics::{HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_TOTAL, label};
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing::field::Empty;

/// Wraps one request in its span and records its metrics (`axum::middleware::from_fn`).
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned());
    let span = tracing::info_span!(
        "http.request",
        otel.name = %span_name(method, route.as_deref()),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = route.as_deref(),
        http.response.status_code = Empty,
        request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()),
    );
    aos_ops::set_parent_from_headers(&span, request.headers());
    let response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    if response.status().is_server_error() {
        span.record("otel.status_code", "error");
    }
    span.in_scope(|| tracing::debug!(status, elapsed_ms = elapsed.as_secs_f64() * 1e3, "request finished"));
    let labels = [
        (label::METHOD, method.to_owned()),
        (label::ROUTE, route.unwrap_or_else(|| label::UNMATCHED_ROUTE.to_owned())),
        (label::STATUS, status.to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, &labels).record(elapsed.as_secs_f64());
    response
}

/// The method as a label: the standard ones by name, anything else `_OTHER` (clients choose
/// methods freely, labels must stay few).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}

/// The span name OpenTelemetry's HTTP conventions ask for: `GET /api/runs/{id}`, or the method
/// alone when no route matched.
fn span_name(method: &str, route: Option<&str>) -> String {
    match route {
        Some(route) => format!("{method} {route}"),
        None => method.to_owned(),
    }
}
