//! `GET /api/openapi.json` (the OpenAPI document) and `GET /api/docs` (a page that browses it).

use axum::Router;
use axum::response::{Html, IntoResponse};
use axum::routing::get;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(spec)).route("/api/docs", get(page))
}

async fn spec() -> impl IntoResponse {
    axum::Json(crate::openapi::document())
}

async fn page() -> Html<&'static str> {
    Html(crate::openapi::DOCS_PAGE)
}
