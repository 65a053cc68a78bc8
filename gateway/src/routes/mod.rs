//! The HTTP routes, one module per area. Later issues add the API, webhook ingress and the apps.

mod health;

use axum::Router;
use axum::http::{Method, Uri};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new().merge(health::routes()).fallback(unknown_route).layer(TraceLayer::new_for_http()).with_state(state)
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound { message: format!("no route for {method} {}", uri.path()) }
}
