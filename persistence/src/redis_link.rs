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

/// Messages of one pub/sub channel, as they arrive. Ends when the connection drops: the caller
/// subscribes again (messages published meanwhile are gone; pub/sub is a hint, never the truth).
pub struct Subscription {
    messages: redis::aio::PubSubStream,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next message's payload, or `None` once the connection is gone.
    pub async fn next(&mut self) -> Option<Vec<u8>> {
        use futures_util::StreamExt;
        self.messages.next().await.map(|msg| msg.get_payload_bytes().to_vec())
    }
}

impl RedisLink {
    /// Sends `payload` to every current subscriber of `channel` (on any node). Returns how many
    /// subscribers received it.
    pub async fn publish(&self, channel: &str, payload: &[u8]) -> StoreResult<u64> {
        let mut conn = self.manager.clone();
        redis::cmd("PUBLISH").arg(channel).arg(payload).query_async(&mut conn).await.map_err(redis_error)
    }

    /// Subscribes to `channel` on a connection of its own. Messages published after this returns
    /// are delivered.
    pub async fn subscribe(&self, channel: &str) -> StoreResult<Subscription> {
        let mut pubsub = self.client.get_async_pubsub().await.map_err(redis_error)?;
        pubsub.subscribe(channel).await.map_err(redis_error)?;
        Ok(Subscription { messages: pubsub.into_on_message() })
    }
}
