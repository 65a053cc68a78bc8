//! `GET /metrics`: every metric of the process in the Prometheus text format.

use aos_ops::{MetricsHandle, PROMETHEUS_CONTENT_TYPE};
use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

/// The `/metrics` route, for any state that holds the metrics handle (the server's, the engine's).
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    MetricsHandle: FromRef<S>,
{
    Router::new().route("/metrics", get(render))
}

async fn render(State(metrics): State<MetricsHandle>) -> impl IntoResponse {
    ([(CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], metrics.render())
}
