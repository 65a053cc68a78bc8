//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: its stores answer).

use aos_api::{Health, Readiness};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use tracing::Instrument;

use aos_persistence::Backend;

use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
}

async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    let database = match state.store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let ping = tracing::info_span!("store.ping", db.system.name = database_system(state.store.backend()));
    if let Err(err) = state.store.ping().instrument(ping).await {
        tracing::warn!(error = %err, "database not ready");
        return Err(ApiError::NotReady { what: "database" });
    }
    if let Some(redis) = &state.redis
        && let Err(err) = redis.ping().instrument(tracing::info_span!("redis.ping", db.system.name = "redis")).await
    {
        tracing::warn!(error = %err, "redis not ready");
        return Err(ApiError::NotReady { what: "redis" });
    }
    let redis = if state.redis.is_some() { "ok" } else { "not_configured" };
    Ok(Json(Readiness { status: "ready".into(), database: database.into(), redis: redis.into() }))
}

/// The database as OpenTelemetry's `db.system.name` spells it.
fn database_system(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    }
}
