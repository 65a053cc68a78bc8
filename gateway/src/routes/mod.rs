//! The HTTP routes, one module per area. Later issues add the API, webhook ingress and the apps.
//! Every request, matched or not, passes through [`crate::observe`].

mod health;
pub(crate) mod metrics;

use axum::Router;
use axum::http::{Method, Uri};

use crate::error::ApiError;
use crate::state::AppState;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(metrics::routes())
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn(crate::observe::observe))
        .with_state(state)
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed { method: method.to_string(), path: uri.path().to_owned() }
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound { message: format!("no route for {method} {}", uri.path()) }
}
