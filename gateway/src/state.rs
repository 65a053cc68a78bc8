//! What every handler shares.

use aos_persistence::{RedisLink, Store};

/// The server's shared state: cheap to clone (everything inside is a handle).
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// Present when `REDIS_URL` is configured.
    pub redis: Option<RedisLink>,
}
