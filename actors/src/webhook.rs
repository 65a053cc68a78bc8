//! Webhook sources: one [`WebhookSourceActor`] per source takes its deliveries in order and checks
//! them — body size, HMAC-SHA256 signature (when the source has a signing secret), a per-source
//! rate limit — then records the delivery durably and creates its run, both under unique keys:
//! the sender's `Idempotency-Key` (or the source's provider delivery-id header, e.g.
//! `X-GitHub-Delivery`) dedupes across retries and across nodes, so a key delivered any number of
//! times, anywhere, makes exactly one run. Deliveries without a key are each their own run.

use std::sync::Arc;
use std::time::Instant;

use aos_persistence::{NewRun, NewWebhookEvent, SecretUse, Store, WebhookSettings, WebhookSource};
use aos_schema::{RunId, SecretString, WebhookSourceId};
use hmac::{Hmac, Mac};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::registry::ActorStats;
use crate::supervisor::{SupervisorHandle, parse_key, runs_ready, spawn_child};

/// Headers never copied into the run's trigger payload (they carry credentials).
const PRIVATE_HEADERS: [&str; 6] =
    ["authorization", "cookie", "x-hub-signature-256", "x-signature-256", "x-aos-token", "proxy-authorization"];

/// One incoming delivery, as the HTTP layer received it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub query: Map<String, Value>,
    pub body: Vec<u8>,
    /// The W3C `traceparent` of the request that carried it, so the run continues its trace.
    pub traceparent: Option<String>,
}

impl Delivery {
    fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

/// A delivery that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub run_id: RunId,
    /// The key was seen before: this is the first delivery's run.
    pub duplicate: bool,
}

/// Why a delivery was refused. Nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("body of {size} bytes is over the {limit}-byte limit")]
    TooLarge { size: usize, limit: u64 },
    #[error("signature missing or wrong")]
    BadSignature,
    #[error("rate limit reached, retry in {retry_after_ms} ms")]
    RateLimited { retry_after_ms: u64 },
    #[error("body is not JSON: {reason}")]
    BadBody { reason: String },
    #[error("the workflow has no published version or is disabled")]
    NotRunnable,
    #[error("delivery could not be recorded")]
    Unavailable,
    #[error("delivery could not be recorded: the storage is full")]
    StorageFull,
}

/// What a webhook-source actor handles.
#[derive(Debug)]
pub enum WebhookMsg {
    Deliver { delivery: Delivery, reply: RpcReplyPort<Result<Accepted, DeliveryError>> },
}

/// A webhook-source actor's start arguments.
#[derive(Debug, Clone)]
pub struct WebhookArgs {
    pub source: WebhookSourceId,
    pub store: Store,
    pub runs: SupervisorHandle,
    pub stats: Arc<ActorStats>,
}

/// One webhook source.
#[derive(Debug, Default)]
pub struct WebhookSourceActor;

/// A live source.
#[derive(Debug)]
pub struct WebhookState {
    args: WebhookArgs,
    source: WebhookSource,
    /// The opened signing secret, when the source signs.
    signing_key: Option<SecretString>,
    bucket: TokenBucket,
}

impl Actor for WebhookSourceActor {
    type Msg = WebhookMsg;
    type State = WebhookState;
    type Arguments = WebhookArgs;

    async fn pre_start(&self, _: ActorRef<WebhookMsg>, args: WebhookArgs) -> Result<WebhookState, ActorProcessingErr> {
        let source = args.store.webhooks().source_by_id(args.source).await?;
        let signing_key = match &source.settings.signing_secret {
            Some(name) => {
                let usage = SecretUse {
                    by: aos_persistence::Actor::System,
                    purpose: format!("webhook_source:{}/signature", source.id),
                };
                Some(args.store.secrets().reveal(source.org_id, name, &usage).await?)
            }
            None => None,
        };
        let bucket = TokenBucket::new(source.settings.rate_per_minute, Instant::now());
        Ok(WebhookState { args, source, signing_key, bucket })
    }

    async fn handle(
        &self,
        _: ActorRef<WebhookMsg>,
        msg: WebhookMsg,
        state: &mut WebhookState,
    ) -> Result<(), ActorProcessingErr> {
        state.args.stats.dequeued();
        let WebhookMsg::Deliver { delivery, reply } = msg;
        let outcome = state.deliver(&delivery).await;
        let _caller_gone = reply.send(outcome);
        Ok(())
    }
}

impl WebhookState {
    async fn deliver(&mut self, delivery: &Delivery) -> Result<Accepted, DeliveryError> {
        verify_delivery(&self.source.settings, self.signing_key.as_ref(), delivery)?;
        self.bucket.take(Instant::now())?;
        let parsed = parse_delivery(&self.source.settings, delivery)?;
        let origin = Origin { query: &delivery.query, traceparent: delivery.traceparent.as_deref() };
        self.record(&parsed.key, parsed.body, parsed.headers, origin).await.map_err(|err| {
            tracing::warn!(source_id = %self.source.id, error = %err, "webhook delivery not recorded");
            match err {
                RecordError::NotRunnable => DeliveryError::NotRunnable,
                RecordError::Store(aos_persistence::StoreError::StorageFull) => DeliveryError::StorageFull,
                RecordError::Store(_) => DeliveryError::Unavailable,
            }
        })
    }

    async fn record(
        &self,
        key: &str,
        body: Value,
        headers: Map<String, Value>,
        origin: Origin<'_>,
    ) -> Result<Accepted, RecordError> {
        let store = &self.args.store;
        let workflow = store.workflows().get(self.source.workflow_id).await?;
        let version = workflow.current_version.filter(|_| workflow.enabled).ok_or(RecordError::NotRunnable)?;
        let event = store
            .webhooks()
            .record_event(&NewWebhookEvent {
                source_id: self.source.id,
                org_id: self.source.org_id,
                idempotency_key: key.to_owned(),
                headers: Value::Object(headers.clone()),
                body: body.clone(),
            })
            .await?;
        let duplicate = !event.is_new();
        let event = event.into_inner();
        let run = store
            .runs()
            .create(&NewRun {
                org_id: self.source.org_id,
                workflow_id: self.source.workflow_id,
                version,
                trigger_kind: "webhook".into(),
                idempotency_key: Some(format!("webhook:{}:{key}", self.source.id)),
                input: json!({ "body": body, "headers": headers, "query": origin.query }),
                replay_of: None,
                traceparent: origin.traceparent.map(str::to_owned),
            })
            .await?;
        let fresh = run.is_new();
        let run = run.into_inner();
        store.webhooks().link_run(event.id, run.id).await?;
        // the run is recorded: the delivery is accepted even if its actor cannot start right now
        // (a full disk, a restarting supervisor); the node's adoption sweep starts queued runs
        // nobody drives
        if fresh && self.args.runs.start(&run.id.to_string()).await.is_err() {
            tracing::warn!(run_id = %run.id, "run recorded but not started now, the adoption sweep will start it");
        }
        Ok(Accepted { run_id: run.id, duplicate: duplicate || !fresh })
    }
}

/// Where a delivery came from, beside its body and headers.
#[derive(Debug, Clone, Copy)]
struct Origin<'a> {
    query: &'a Map<String, Value>,
    traceparent: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
enum RecordError {
    #[error("workflow not runnable")]
    NotRunnable,
    #[error(transparent)]
    Store(#[from] aos_persistence::StoreError),
}

/// What a verified delivery carries into its run.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedDelivery {
    /// The dedupe key: `Idempotency-Key`, else the source's provider delivery-id header, else a
    /// fresh `unkeyed:<uuid>` (its own run).
    pub key: String,
    /// The JSON body (`null` when empty).
    pub body: Value,
    /// The headers the run may see: everything but credentials.
    pub headers: Map<String, Value>,
}

/// The checks before anything is counted or recorded: the size limit, then the signature when the
/// source signs (`key`). Pure, so it is fuzzed (`fuzz/fuzz_targets/webhook_delivery.rs`).
pub fn verify_delivery(
    settings: &WebhookSettings,
    key: Option<&SecretString>,
    delivery: &Delivery,
) -> Result<(), DeliveryError> {
    if delivery.body.len() as u64 > settings.max_body_bytes {
        return Err(DeliveryError::TooLarge { size: delivery.body.len(), limit: settings.max_body_bytes });
    }
    if let Some(key) = key {
        let signature = delivery.header("x-hub-signature-256").or_else(|| delivery.header("x-signature-256"));
        if !signature_ok(key, &delivery.body, signature) {
            return Err(DeliveryError::BadSignature);
        }
    }
    Ok(())
}

/// Reads a verified delivery: the JSON body, the dedupe key and the headers without credentials.
pub fn parse_delivery(settings: &WebhookSettings, delivery: &Delivery) -> Result<ParsedDelivery, DeliveryError> {
    let body: Value = if delivery.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&delivery.body).map_err(|err| DeliveryError::BadBody { reason: err.to_string() })?
    };
    let key = delivery
        .header("idempotency-key")
        .or_else(|| settings.dedupe_header.as_deref().and_then(|h| delivery.header(h)))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("unkeyed:{}", uuid::Uuid::new_v4()));
    let headers: Map<String, Value> = delivery
        .headers
        .iter()
        .filter(|(k, _)| !PRIVATE_HEADERS.contains(&k.to_ascii_lowercase().as_str()))
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Ok(ParsedDelivery { key, body, headers })
}

/// `sha256=<hex>` of the body under `key`, compared in constant time.
fn signature_ok(key: &SecretString, body: &[u8], presented: Option<&str>) -> bool {
    let Some(hex_digest) = presented.and_then(|s| s.trim().strip_prefix("sha256=")) else { return false };
    let Ok(expected) = hex::decode(hex_digest) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// A token bucket: `capacity` tokens refilled evenly over a minute.
#[derive(Debug, Clone)]
struct TokenBucket {
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(per_minute: u32, now: Instant) -> Self {
        let capacity = f64::from(per_minute.max(1));
        Self { capacity, tokens: capacity, last: now }
    }

    fn take(&mut self, now: Instant) -> Result<(), DeliveryError> {
        let per_ms = self.capacity / 60_000.0;
        let elapsed_ms = now.saturating_duration_since(self.last).as_secs_f64() * 1000.0;
        self.tokens = (self.tokens + elapsed_ms * per_ms).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let retry_after_ms = ((1.0 - self.tokens) / per_ms).ceil() as u64;
            Err(DeliveryError::RateLimited { retry_after_ms })
        }
    }
}

/// Starts webhook-source actors under their supervisor: the child key is the source id.
#[derive(Debug, Clone)]
pub struct WebhookFactory {
    pub store: Store,
    pub runs: Arc<std::sync::OnceLock<SupervisorHandle>>,
}

impl crate::supervisor::ChildFactory for WebhookFactory {
    fn kind(&self) -> crate::registry::ActorKind {
        crate::registry::ActorKind::WebhookSource
    }

    fn start(
        &self,
        key: String,
        supervisor: ractor::ActorCell,
        stats: Arc<ActorStats>,
    ) -> crate::supervisor::BoxFuture<Result<ractor::ActorCell, ractor::SpawnErr>> {
        let store = self.store.clone();
        let runs = runs_ready(&self.runs);
        Box::pin(async move {
            let runs = runs?;
            let source: WebhookSourceId = parse_key(&key, "source id")?;
            spawn_child(WebhookSourceActor, WebhookArgs { source, store, runs, stats }, supervisor).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn signatures_are_checked() {
        let key = SecretString::new("s3cret");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"{\"a\":1}");
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signature_ok(&key, b"{\"a\":1}", Some(&good)));
        assert!(!signature_ok(&key, b"{\"a\":2}", Some(&good)));
        assert!(!signature_ok(&key, b"{\"a\":1}", Some("sha256=zz")));
        assert!(!signature_ok(&key, b"{\"a\":1}", None));
    }

    #[test]
    fn the_bucket_refills_over_a_minute() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(2, t0);
        assert!(bucket.take(t0).is_ok());
        assert!(bucket.take(t0).is_ok());
        let Err(DeliveryError::RateLimited { retry_after_ms }) = bucket.take(t0) else { panic!("limited") };
        assert_eq!(retry_after_ms, 30_000);
        assert!(bucket.take(t0 + Duration::from_secs(30)).is_ok());
    }
}
