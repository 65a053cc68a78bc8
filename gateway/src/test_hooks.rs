//! Test events: a delivery to a webhook's test URL (`POST /hooks/{token}/test`) reaches whoever is
//! listening for one in the studio (`GET /api/webhooks/{id}/test-event`) and starts no run. Without
//! Redis the listeners are this process's own; with Redis they are every node's, over one pub/sub
//! channel per source that exists only while someone listens.

use std::collections::HashMap;
use std::sync::Mutex;

use aos_api::TestEvent;
use aos_persistence::{RedisLink, StoreError, Subscription};
use aos_schema::WebhookSourceId;
use tokio::sync::broadcast;

/// The listeners of this process, by source (used when there is no Redis).
#[derive(Debug, Default)]
pub struct TestHooks {
    local: Mutex<HashMap<WebhookSourceId, broadcast::Sender<TestEvent>>>,
}

/// One studio waiting for a source's next test event.
#[derive(Debug)]
pub enum Listener {
    Local(broadcast::Receiver<TestEvent>),
    Redis(Subscription),
}

impl Listener {
    /// The next test event; `None` when the channel is gone (Redis dropped the connection).
    pub async fn next(&mut self) -> Option<TestEvent> {
        match self {
            Listener::Local(receiver) => loop {
                match receiver.recv().await {
                    Ok(event) => return Some(event),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            },
            Listener::Redis(subscription) => loop {
                let payload = subscription.next().await?;
                match serde_json::from_slice(&payload) {
                    Ok(event) => return Some(event),
                    Err(err) => tracing::warn!(error = %err, "malformed test event skipped"),
                }
            },
        }
    }
}

fn channel(source: WebhookSourceId) -> String {
    format!("aos:webhook-test:{source}")
}

impl TestHooks {
    /// Starts listening for `source`'s next test event; deliveries made after this returns reach
    /// the listener.
    pub async fn listen(&self, redis: Option<&RedisLink>, source: WebhookSourceId) -> Result<Listener, StoreError> {
        if let Some(redis) = redis {
            return Ok(Listener::Redis(redis.subscribe(&channel(source)).await?));
        }
        let mut local = self.local.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let sender = local.entry(source).or_insert_with(|| broadcast::channel(8).0);
        Ok(Listener::Local(sender.subscribe()))
    }

    /// Hands `event` to the listeners of its source; returns how many received it (0: nobody is
    /// listening, and the event is dropped).
    pub async fn deliver(&self, redis: Option<&RedisLink>, event: &TestEvent) -> Result<u64, StoreError> {
        if let Some(redis) = redis {
            let payload = serde_json::to_vec(event).map_err(|err| StoreError::Redis { reason: err.to_string() })?;
            return redis.publish(&channel(event.source_id), &payload).await;
        }
        let mut local = self.local.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(sender) = local.get(&event.source_id) else { return Ok(0) };
        match sender.send(event.clone()) {
            Ok(listeners) => Ok(listeners as u64),
            Err(_) => {
                // everyone who listened has gone: forget the source
                local.remove(&event.source_id);
                Ok(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(source: WebhookSourceId) -> TestEvent {
        TestEvent {
            source_id: source,
            headers: Default::default(),
            query: Default::default(),
            body: serde_json::json!({ "name": "Ada" }),
            received_at: "2026-12-05T00:00:00Z".into(),
        }
    }

    #[tokio::test]
    async fn a_test_event_reaches_the_listeners_of_its_source_only() {
        let hooks = TestHooks::default();
        let (source, other) = (WebhookSourceId::new(), WebhookSourceId::new());
        assert_eq!(hooks.deliver(None, &event(source)).await.unwrap(), 0, "nobody listens yet");
        let mut listener = hooks.listen(None, source).await.unwrap();
        let mut elsewhere = hooks.listen(None, other).await.unwrap();
        assert_eq!(hooks.deliver(None, &event(source)).await.unwrap(), 1);
        assert_eq!(listener.next().await, Some(event(source)));
        let nothing = tokio::time::timeout(std::time::Duration::from_millis(50), elsewhere.next()).await;
        assert!(nothing.is_err(), "the other source's listener got nothing");
        drop(listener);
        assert_eq!(hooks.deliver(None, &event(source)).await.unwrap(), 0, "the listener left");
    }
}
