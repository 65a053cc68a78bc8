//! What every handler shares.

use std::sync::Arc;

use aos_actors::ActorSystem;
use aos_ops::MetricsHandle;
use aos_persistence::{RedisLink, Store};
use axum::extract::FromRef;

/// The server's shared state: cheap to clone (everything inside is a handle).
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// Present when `REDIS_URL` is configured.
    pub redis: Option<RedisLink>,
    /// Renders `/metrics`; the process-wide recorder from `aos_ops::install_metrics`.
    pub metrics: MetricsHandle,
    /// The actor tree of this process, when it plays the worker role.
    pub actors: Option<Arc<ActorSystem>>,
}

impl FromRef<AppState> for MetricsHandle {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
