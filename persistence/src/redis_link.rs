//! The link to Redis, which carries work and fan-out when several nodes share the load (ready-step
//! streams, pub/sub for doc updates and run events). Optional: the embedded default runs without it.

use redis::AsyncConnectionConfig;
use redis::aio::{ConnectionManager, MultiplexedConnection};

use crate::error::{StoreError, StoreResult};

/// A reconnecting connection to Redis.
#[derive(Clone)]
pub struct RedisLink {
    /// Opens dedicated connections for commands that would stall the shared one (blocking reads
    /// hold their connection until they return, and every command behind them would wait).
    client: redis::Client,
    /// The shared, multiplexed, reconnecting connection every non-blocking command goes through.
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
        let manager = ConnectionManager::new(client.clone()).await.map_err(redis_error)?;
        Ok(Self { client, manager })
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

    /// A handle on the shared connection (cheap to clone; commands on it must not block).
    pub(crate) fn shared(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// A new connection of its own, without a response timeout, for a blocking command; the caller
    /// bounds the wait itself and drops the connection if the command did not finish.
    pub(crate) async fn dedicated(&self) -> StoreResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new().set_response_timeout(None);
        self.client.get_multiplexed_async_connection_with_config(&config).await.map_err(redis_error)
    }
}

pub(crate) fn redis_error(err: redis::RedisError) -> StoreError {
    StoreError::Redis { reason: err.to_string() }
}
