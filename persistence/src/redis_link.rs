//! The link to Redis, which carries work and fan-out when several nodes share the load (ready-step
//! streams, pub/sub for doc updates and run events). Optional: the embedded default runs without it.

use redis::aio::ConnectionManager;

use crate::error::{StoreError, StoreResult};

/// A reconnecting connection to Redis.
#[derive(Clone)]
pub struct RedisLink {
    manager: ConnectionManager,
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink").finish_non_exhaustive()
    }
}

impl RedisLink {
    /// Connects to `url` (`redis://host:port/db`), failing if Redis does not answer.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let client = redis::Client::open(url)
            .map_err(|err| StoreError::Config { reason: format!("invalid redis url: {err}") })?;
        let manager = ConnectionManager::new(client).await.map_err(redis_error)?;
        Ok(Self { manager })
    }

    /// One round trip, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        let mut conn = self.manager.clone();
        let pong: String = redis::cmd("PING").query_async(&mut conn).await.map_err(redis_error)?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Redis { reason: format!("unexpected ping answer {pong:?}") })
        }
    }
}

fn redis_error(err: redis::RedisError) -> StoreError {
    StoreError::Redis { reason: err.to_string() }
}
