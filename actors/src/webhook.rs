//! Webhook sources. Each source has a [`WebhookSourceActor`] on the node that received a delivery
//! for it; the actor loads and owns the source's [`SourceGate`] (its settings, opened signing key,
//! rate limit and the workflow version its runs execute) and keeps it in the node's [`Gates`].
//! Deliveries do not queue in the actor's mailbox: every request checks itself against the gate
//! (body size, HMAC-SHA256 signature, the per-source token bucket, JSON body), then is admitted
//! through the store's group-commit writer — the delivery row and its run under unique keys from
//! the sender's `Idempotency-Key` (or the source's provider delivery-id header, e.g.
//! `X-GitHub-Delivery`), so a key delivered any number of times, concurrently, on any node,
//! makes exactly one run. Deliveries without a key are each their own run. A changed source or
//! workflow (rotate, delete, publish, disable) drops or refreshes the gate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use aos_persistence::{Admission, AdmittedEvent, NewRun, SecretUse, Store, StoreError, WebhookSettings, WebhookSource};
use aos_schema::{ExecutionPlan, RunId, SecretString, WebhookSourceId, WorkflowId};
use hmac::{Hmac, Mac};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::registry::ActorStats;
use crate::run::RunSeed;
use crate::starts::{RunStart, RunStarts};
use crate::supervisor::{Seed, SupervisorHandle, parse_key, spawn_child};

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
    #[error("no webhook answers to this token")]
    UnknownSource,
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
    #[error("the org's credits are used up (balance {balance} micros); top up to run workflows")]
    CreditsExhausted { balance: i64 },
    #[error("delivery could not be recorded")]
    Unavailable,
    #[error("delivery could not be recorded: the storage is full")]
    StorageFull,
}

/// The version a source's runs execute: the workflow's current one, while it is enabled.
#[derive(Debug, Clone)]
pub struct RunTarget {
    pub version: i64,
    pub plan: Arc<ExecutionPlan>,
    /// The version has a respond-to-webhook step: the request waits for its answer.
    pub responds: bool,
}

/// What a source admits deliveries with. Built by the source's actor; read by every request.
#[derive(Debug)]
pub struct SourceGate {
    pub source: WebhookSource,
    /// The opened signing secret, when the source signs.
    signing_key: Option<SecretString>,
    bucket: Mutex<TokenBucket>,
    /// `None` while the workflow has no published version or is disabled.
    target: Option<RunTarget>,
}

impl SourceGate {
    /// Whether the published version answers its webhook requests with a respond step.
    pub fn responds(&self) -> bool {
        self.target.as_ref().is_some_and(|target| target.responds)
    }

    /// Loads source `id`: its row, signing key, and the workflow version its runs execute.
    async fn load(store: &Store, id: WebhookSourceId) -> Result<Self, StoreError> {
        let source = store.webhooks().source_by_id(id).await?;
        let signing_key = match &source.settings.signing_secret {
            Some(name) => {
                let usage = SecretUse {
                    by: aos_persistence::By::System,
                    purpose: format!("webhook_source:{}/signature", source.id),
                };
                Some(store.secrets().reveal(source.org_id, name, &usage).await?)
            }
            None => None,
        };
        let target = load_target(store, &source).await?;
        let bucket = Mutex::new(TokenBucket::new(source.settings.rate_per_minute, Instant::now()));
        Ok(Self { source, signing_key, bucket, target })
    }

    /// The checks of a delivery to the test URL: the production URL's size limit, signature and
    /// rate limit (test deliveries count against it too), then the body read as a run would read
    /// it. Needs no published version: nothing runs.
    pub fn check_test(&self, delivery: &Delivery) -> Result<ParsedDelivery, DeliveryError> {
        verify_delivery(&self.source.settings, self.signing_key.as_ref(), delivery)?;
        self.bucket.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take(Instant::now())?;
        parse_delivery(&self.source.settings, delivery)
    }

    /// The checks before anything is recorded, then the run to create.
    fn check(&self, delivery: &Delivery) -> Result<(ParsedDelivery, RunTarget), DeliveryError> {
        verify_delivery(&self.source.settings, self.signing_key.as_ref(), delivery)?;
        self.bucket.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take(Instant::now())?;
        let parsed = parse_delivery(&self.source.settings, delivery)?;
        let target = self.target.clone().ok_or(DeliveryError::NotRunnable)?;
        Ok((parsed, target))
    }
}

/// The workflow's runnable version and its plan, or `None`.
async fn load_target(store: &Store, source: &WebhookSource) -> Result<Option<RunTarget>, StoreError> {
    let workflow = store.workflows().get(source.workflow_id).await?;
    let Some(version) = workflow.current_version.filter(|_| workflow.enabled) else { return Ok(None) };
    let stored = store.workflows().version(source.org_id, source.workflow_id, version).await?;
    let plan: ExecutionPlan = serde_json::from_value(stored.plan)
        .map_err(|err| StoreError::Corrupt { what: "execution plan", reason: err.to_string() })?;
    let responds = plan.steps.iter().any(|step| step.kind == aos_schema::kinds::WEBHOOK_RESPOND);
    Ok(Some(RunTarget { version, plan: Arc::new(plan), responds }))
}

/// The gates of this node's live sources, by token hash and by source.
#[derive(Debug, Default)]
pub struct Gates {
    inner: RwLock<GateMaps>,
}

#[derive(Debug, Default)]
struct GateMaps {
    by_token: HashMap<String, Arc<SourceGate>>,
    by_source: HashMap<WebhookSourceId, Arc<SourceGate>>,
}

impl Gates {
    /// The gate of the source whose token hashes to `token_hash`, if its actor runs here.
    pub fn by_token(&self, token_hash: &str) -> Option<Arc<SourceGate>> {
        self.read().by_token.get(token_hash).cloned()
    }

    /// The gate of source `id`, if its actor runs here.
    pub fn by_source(&self, id: WebhookSourceId) -> Option<Arc<SourceGate>> {
        self.read().by_source.get(&id).cloned()
    }

    /// The sources of `workflow` with a gate here.
    pub fn sources_of(&self, workflow: WorkflowId) -> Vec<WebhookSourceId> {
        self.read().by_source.values().filter(|g| g.source.workflow_id == workflow).map(|g| g.source.id).collect()
    }

    fn put(&self, gate: Arc<SourceGate>) {
        let mut maps = self.write();
        if let Some(old) = maps.by_source.insert(gate.source.id, Arc::clone(&gate)) {
            maps.by_token.remove(&old.source.token_hash);
        }
        maps.by_token.insert(gate.source.token_hash.clone(), gate);
    }

    /// Drops the gate of `id` if it is still `gate` (a newer one stays).
    fn remove(&self, id: WebhookSourceId, gate: &Arc<SourceGate>) {
        let mut maps = self.write();
        if maps.by_source.get(&id).is_some_and(|current| Arc::ptr_eq(current, gate)) {
            maps.by_source.remove(&id);
            maps.by_token.remove(&gate.source.token_hash);
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, GateMaps> {
        self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, GateMaps> {
        self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What a webhook-source actor handles.
#[derive(Debug)]
pub enum WebhookMsg {
    /// Read the source and its workflow again (a publish, a disable, a rotated token); answers
    /// once the gate is replaced. A source that is gone takes its gate with it and stops.
    Refresh(ractor::RpcReplyPort<()>),
    /// The same, on the actor's own timer: changes made through another node show here within
    /// [`RELOAD_EVERY`].
    Reload,
}

/// How often a source's gate reads its source and workflow again by itself.
pub const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// A webhook-source actor's start arguments.
#[derive(Debug, Clone)]
pub struct WebhookArgs {
    pub source: WebhookSourceId,
    pub store: Store,
    pub gates: Arc<Gates>,
    pub stats: Arc<ActorStats>,
}

/// One webhook source: the owner of its gate on this node.
#[derive(Debug, Default)]
pub struct WebhookSourceActor;

/// A live source.
#[derive(Debug)]
pub struct WebhookState {
    args: WebhookArgs,
    gate: Arc<SourceGate>,
}

impl Actor for WebhookSourceActor {
    type Msg = WebhookMsg;
    type State = WebhookState;
    type Arguments = WebhookArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<WebhookMsg>,
        args: WebhookArgs,
    ) -> Result<WebhookState, ActorProcessingErr> {
        let gate = Arc::new(SourceGate::load(&args.store, args.source).await?);
        args.gates.put(Arc::clone(&gate));
        let stats = Arc::clone(&args.stats);
        myself.send_interval(RELOAD_EVERY, move || {
            stats.enqueued();
            WebhookMsg::Reload
        });
        Ok(WebhookState { args, gate })
    }

    async fn post_stop(&self, _: ActorRef<WebhookMsg>, state: &mut WebhookState) -> Result<(), ActorProcessingErr> {
        state.args.gates.remove(state.args.source, &state.gate);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<WebhookMsg>,
        msg: WebhookMsg,
        state: &mut WebhookState,
    ) -> Result<(), ActorProcessingErr> {
        state.args.stats.dequeued();
        let reply = match msg {
            WebhookMsg::Refresh(reply) => Some(reply),
            WebhookMsg::Reload => None,
        };
        match SourceGate::load(&state.args.store, state.args.source).await {
            Ok(gate) => {
                let gate = Arc::new(gate);
                state.args.gates.put(Arc::clone(&gate));
                state.gate = gate;
            }
            Err(StoreError::NotFound { .. }) => {
                state.args.gates.remove(state.args.source, &state.gate);
                myself.stop(Some("source deleted".into()));
            }
            Err(err) => return Err(err.into()),
        }
        if let Some(reply) = reply {
            let _caller_gone = reply.send(());
        }
        Ok(())
    }
}

/// Admits `delivery` through `gate`: checks it, records it and its run in one commit, and starts
/// the run's actor on this node from memory, or has it wait in line for a start slot (`starts`).
/// The credits gate reads the store's cached balance.
pub(crate) async fn admit(
    store: &Store,
    runs: &SupervisorHandle,
    starts: Option<&RunStarts>,
    node: &str,
    gate: &SourceGate,
    delivery: &Delivery,
) -> Result<Accepted, DeliveryError> {
    let (parsed, target) = gate.check(delivery)?;
    let source = &gate.source;
    let balance = store.credits().balance(source.org_id).await.map_err(|err| store_refusal(source.id, &err))?;
    if balance <= 0 {
        return Err(DeliveryError::CreditsExhausted { balance });
    }
    let admission = Admission {
        run: NewRun {
            org_id: source.org_id,
            workflow_id: source.workflow_id,
            version: target.version,
            trigger_kind: "webhook".into(),
            idempotency_key: Some(format!("webhook:{}:{}", source.id, parsed.key)),
            input: json!({ "body": parsed.body, "headers": parsed.headers, "query": delivery.query }),
            replay_of: None,
            traceparent: delivery.traceparent.clone(),
        },
        owner_node: Some(node.to_owned()),
        event: Some(AdmittedEvent {
            source_id: source.id,
            idempotency_key: parsed.key,
            headers: Value::Object(parsed.headers),
            body: parsed.body,
            query: Value::Object(delivery.query.clone()),
        }),
    };
    let admitted = store.writer().admit(admission).await.map_err(|err| store_refusal(source.id, &err))?;
    let run = admitted.run;
    // the run is recorded: the delivery is accepted without waiting for its actor to start (a
    // cancel asked after the answer still finds it: the supervisor takes requests in order, and a
    // run waiting for a slot is taken out of the line), and even if it cannot start right now (a
    // restarting supervisor); the node's sweep starts unfinished runs nobody drives
    let start = match starts {
        _ if !admitted.fresh => None,
        Some(starts) => starts.admitted(run.clone(), target.plan),
        None => Some(RunStart { seed: Some(RunSeed { run: run.clone(), plan: target.plan }), slot: None }),
    };
    if let Some(start) = start
        && runs.start_seeded_soon(&run.id.to_string(), Seed::new(start)).await.is_err()
    {
        tracing::warn!(run_id = %run.id, "run recorded but not started now, the node's sweep will start it");
    }
    Ok(Accepted { run_id: run.id, duplicate: !admitted.fresh })
}

fn store_refusal(source: WebhookSourceId, err: &StoreError) -> DeliveryError {
    tracing::warn!(source_id = %source, error = %err, "webhook delivery not recorded");
    match err {
        StoreError::StorageFull => DeliveryError::StorageFull,
        _ => DeliveryError::Unavailable,
    }
}

/// What a verified delivery carries into its run.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedDelivery {
    /// The dedupe key: `Idempotency-Key`, else the source's provider delivery-id header, else a
    /// fresh `unkeyed:<uuid>` (its own run; a time-ordered UUID v7, so the unique keys of
    /// unkeyed deliveries grow at the end of their indexes instead of anywhere in them).
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
        .unwrap_or_else(|| format!("unkeyed:{}", uuid::Uuid::now_v7()));
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
    pub gates: Arc<Gates>,
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
        let gates = Arc::clone(&self.gates);
        Box::pin(async move {
            let source: WebhookSourceId = parse_key(&key, "source id")?;
            spawn_child(WebhookSourceActor, WebhookArgs { source, store, gates, stats }, supervisor).await
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
