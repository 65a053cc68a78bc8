//! `GET /api/catalog`: every node kind with its ports and config fields (public: the studio and
//! scripts build forms and graphs from it).

use aos_api::NodeDescriptor;
use aos_schema::Catalog;
use axum::Router;
use axum::routing::get;

use crate::extract::ApiJson;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/catalog", get(catalog))
}

async fn catalog() -> ApiJson<Vec<NodeDescriptor>> {
    ApiJson(Catalog::builtin().descriptors().to_vec())
}
