//! The HTTP routes, one module per area. Every request, matched or not, passes through
//! [`crate::observe`]; every API route authenticates with [`crate::auth::Principal`] and checks the
//! caller's org role with [`crate::auth::Principal::access`].

mod admin;
mod audit;
mod auth;
pub(crate) mod billing;
mod catalog;
mod docs;
mod health;
mod invitations;
mod live;
pub(crate) mod metrics;
mod orgs;
mod runs;
mod secrets;
mod templates;
mod web;
mod webhooks;
pub(crate) mod workflows;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::HOST;
use axum::http::{HeaderMap, Method, Uri};

use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::error::ApiError;
use crate::state::AppState;

/// The largest request body any API route reads (an export file's limit plus room for JSON).
pub const MAX_BODY_BYTES: usize = aos_schema::MAX_EXPORT_BYTES + 64 * 1024;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let limiter = crate::limits::CallerLimit::new(state.limits.per_minute, state.auth.clone());
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    Router::new()
        .merge(health::routes())
        .merge(metrics::routes())
        .merge(auth::routes())
        .merge(catalog::routes())
        .merge(docs::routes())
        .merge(orgs::routes())
        .merge(invitations::routes())
        .merge(workflows::routes())
        .merge(webhooks::routes())
        .merge(runs::routes())
        .merge(secrets::routes())
        .merge(templates::routes())
        .merge(admin::routes())
        .merge(live::routes())
        .merge(audit::routes())
        .merge(billing::routes())
        .merge(web::routes(state.web_dir.as_deref()))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.limits.request_timeout, crate::limits::timeout))
        .layer(axum::middleware::from_fn_with_state(limiter, crate::limits::rate_limit))
        .layer(crate::limits::cors(&state.limits.cors_origins))
        .layer(axum::middleware::from_fn(crate::limits::security_headers))
        .layer(axum::middleware::from_fn(crate::observe::observe))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed { method: method.to_string(), path: uri.path().to_owned() }
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound { message: format!("no route for {method} {}", uri.path()) }
}

/// The base URL clients reach this server on, for links it hands out (webhook URLs, invitation
/// links): the configured public URL, else the request's host.
pub(crate) fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    match &state.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}
