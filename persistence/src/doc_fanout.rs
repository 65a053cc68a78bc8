//! Doc-update fan-out between nodes over Redis pub/sub: the room of a doc on one node publishes
//! each update it accepted, and the rooms of the same doc on other nodes apply it at once. Pub/sub is
//! a hint, never the truth: a message lost while a subscriber reconnects is caught up from the
//! update log, which every room re-reads now and then.

use aos_schema::WorkflowId;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;

use crate::error::{StoreError, StoreResult};

/// One doc update as another node published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocBroadcast {
    /// The update's sequence number in the log; 0 when it was published before it was logged.
    pub seq: i64,
    /// The encoded update (yrs v1).
    pub update: Vec<u8>,
}

/// Publishes and subscribes to doc updates, as one node.
#[derive(Clone)]
pub struct DocFanout {
    client: redis::Client,
    publisher: ConnectionManager,
    /// This node's name: its own messages come back on the channel and are skipped.
    node: String,
}

impl std::fmt::Debug for DocFanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocFanout").field("node", &self.node).finish_non_exhaustive()
    }
}

fn redis_error(err: redis::RedisError) -> StoreError {
    StoreError::Redis { reason: err.to_string() }
}

fn channel(workflow: WorkflowId) -> String {
    format!("aos:doc:{workflow}")
}

impl DocFanout {
    /// Connects to Redis at `url` as the node called `node` (unique among the nodes).
    pub async fn connect(url: &str, node: impl Into<String>) -> StoreResult<Self> {
        let client = redis::Client::open(url)
            .map_err(|err| StoreError::Config { reason: format!("invalid redis url: {err}") })?;
        let publisher = ConnectionManager::new(client.clone()).await.map_err(redis_error)?;
        Ok(Self { client, publisher, node: node.into() })
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Publishes an update of `workflow` that this node logged under `seq` (0: not logged yet).
    pub async fn publish(&self, workflow: WorkflowId, seq: i64, update: &[u8]) -> StoreResult<()> {
        self.publish_all(workflow, [(seq, update)]).await
    }

    /// Publishes several logged updates of `workflow` in one round trip (a pipeline), in order.
    pub async fn publish_all<'a>(
        &self,
        workflow: WorkflowId,
        updates: impl IntoIterator<Item = (i64, &'a [u8])>,
    ) -> StoreResult<()> {
        let node = self.node.as_bytes();
        let node = &node[..node.len().min(u16::MAX as usize)];
        let channel = channel(workflow);
        let mut pipe = redis::pipe();
        for (seq, update) in updates {
            let mut payload = Vec::with_capacity(10 + node.len() + update.len());
            payload.extend_from_slice(&seq.to_be_bytes());
            payload.extend_from_slice(&(node.len() as u16).to_be_bytes());
            payload.extend_from_slice(node);
            payload.extend_from_slice(update);
            pipe.cmd("PUBLISH").arg(&channel).arg(payload).ignore();
        }
        let mut conn = self.publisher.clone();
        let () = pipe.query_async(&mut conn).await.map_err(redis_error)?;
        Ok(())
    }

    /// Subscribes to the updates of `workflow` published by other nodes, on a connection of its own.
    /// Updates published after this returns are delivered.
    pub async fn subscribe(&self, workflow: WorkflowId) -> StoreResult<DocSubscription> {
        let mut pubsub = self.client.get_async_pubsub().await.map_err(redis_error)?;
        pubsub.subscribe(channel(workflow)).await.map_err(redis_error)?;
        Ok(DocSubscription { messages: pubsub.into_on_message(), node: self.node.clone() })
    }
}

/// The updates of one doc from the other nodes.
pub struct DocSubscription {
    messages: redis::aio::PubSubStream,
    node: String,
}

impl std::fmt::Debug for DocSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocSubscription").field("node", &self.node).finish_non_exhaustive()
    }
}

impl DocSubscription {
    /// The next update from another node; `None` when the connection is gone (subscribe again and
    /// catch up from the log). Messages this node published and malformed ones are skipped.
    pub async fn next(&mut self) -> Option<DocBroadcast> {
        loop {
            let message = self.messages.next().await?;
            let payload = message.get_payload_bytes();
            if let Some((node, broadcast)) = decode(payload)
                && node != self.node.as_bytes()
            {
                return Some(broadcast);
            }
        }
    }
}

fn decode(payload: &[u8]) -> Option<(&[u8], DocBroadcast)> {
    let seq = i64::from_be_bytes(payload.get(..8)?.try_into().ok()?);
    let len = u16::from_be_bytes(payload.get(8..10)?.try_into().ok()?) as usize;
    let node = payload.get(10..10 + len)?;
    let update = payload.get(10 + len..)?.to_vec();
    Some((node, DocBroadcast { seq, update }))
}
