//! The step dispatch queue: run actors enqueue ready steps, step workers claim, run and ack them.
//! One [`StepQueue`] trait, two implementations proven alike by one conformance suite
//! (`persistence/tests/queue.rs`): [`MemoryStepQueue`] in this process (the embedded default) and
//! [`RedisStepQueue`] on a Redis stream read by a consumer group (several nodes share the work).
//!
//! Semantics, the same on both:
//! - **At least once.** [`claim`](StepQueue::claim) hands a job to one consumer and keeps it
//!   *in flight* until [`ack`](StepQueue::ack). A job whose holder died (or was dropped, or is stuck)
//!   stays in flight until another consumer takes it over with
//!   [`reclaim_stale`](StepQueue::reclaim_stale) once it has been held longer than an idle timeout;
//!   nothing is ever lost by a crash, but a slow holder and its successor may both run a step. That is
//!   safe because step results are recorded under a unique (run, step, attempt) key: the database is
//!   the truth, the queue only says "look at this step".
//! - **Before its ack, a job is held by exactly one consumer**: a claim never hands out a job that is
//!   in flight, and reclaiming moves a job from its old holder to the new one.
//! - **Acked jobs never come back**, whoever acks them (acking by id, like Redis's `XACK`).
//! - **Roughly FIFO**: claims take the oldest waiting jobs first; reclaimed jobs come back oldest
//!   first, through `reclaim_stale` only (a worker loop calls both).
//! - **Long steps renew their claim** ([`renew`](StepQueue::renew)) more often than the idle timeout,
//!   so a live holder is not mistaken for a dead one; a holder that lost a job learns it there.
//! - A job carries the step it runs ([`StepJob::step`]: kind, config and the data its expressions
//!   read, never a secret's value), so a worker runs it without reading the run's history; the
//!   database still decides, through the attempt's unique row, which copy of a job runs it.
//!
//! The trait returns boxed futures (like `aos_engine_link::Engine`) so callers hold an
//! `Arc<dyn StepQueue>` chosen at startup, and tests can wrap one (fault injection) without an enum
//! that would have to know every implementation; one allocation per call is nothing next to a
//! round trip to Redis.

mod memory;
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use aos_schema::{OrgId, RunId, WorkflowId};
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;
use crate::timestamp::Timestamp;

pub use self::memory::MemoryStepQueue;
pub use self::redis::{RedisQueueConfig, RedisStepQueue};

/// One ready step to run, with everything a worker needs to execute it except the secrets its
/// config references (revealed from the vault by the worker, so no plaintext sits in the queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepJob {
    pub run_id: RunId,
    /// The run's org, so the worker scopes its queries without a lookup first.
    pub org_id: OrgId,
    pub workflow_id: WorkflowId,
    /// Which execution of a node: `notify`, or `notify[2]` inside a for-each (the step rows' key).
    pub step_key: String,
    /// Which attempt, from 1: with run and step, the key a result is recorded under, so a job that
    /// is delivered twice is still counted once.
    pub attempt: u32,
    /// When the job was enqueued, by the enqueuer's clock (for logs; the queue measures its own lag).
    pub enqueued_at: Timestamp,
    /// The step itself, as the run's progress made it ready. `None` in a job enqueued by a node
    /// older than this field (during a rolling upgrade): its worker finds the step the old way,
    /// by restoring the run's progress from the recorded results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<JobStep>,
    /// The W3C `traceparent` of what started the run, so the step's span continues the run's
    /// trace without the worker reading the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// The step a [`StepJob`] runs: what the engine request is made of, minus the secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStep {
    /// The node kind (`http.request`).
    pub kind: String,
    /// The node's config as the workflow version has it: secret *references* (`{{ secrets.X }}`),
    /// never their values.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// The data the step's expressions read (trigger, earlier outputs, input, for-each item): the
    /// engine link's `StepContext` as JSON, since this crate does not know the engine link's
    /// types. The worker decodes it back, and treats a context that does not decode like a job
    /// without its step.
    pub context: serde_json::Value,
}

/// Names one delivery of a job until it is acked: a stream entry id on Redis, a sequence number in
/// process. Opaque; only the queue that issued it understands it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryId(String);

impl DeliveryId {
    pub(crate) fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text, for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job handed to one consumer, held by it until acked (or reclaimed by another).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub job: StepJob,
    /// How many times the job has been handed out, this time included: 1 on its first claim, more
    /// after reclaims. A high count means its holders keep dying on it (a poison job).
    pub deliveries: u32,
}

/// How many jobs the queue holds, for the `aos_queue_pending_steps` gauge and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueDepth {
    /// Enqueued and never claimed: ready steps waiting for a worker.
    pub waiting: u64,
    /// Claimed and not acked: held by a consumer, alive or not.
    pub in_flight: u64,
}

/// The future a queue call returns.
pub type QueueFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// Hands ready steps to workers, at least once. See the module docs for the guarantees.
///
/// `consumer` names a worker (say `node-a/worker-3`); it must be unique among live workers, since
/// a queue tells holders apart by it.
pub trait StepQueue: Send + Sync + fmt::Debug {
    /// Adds a job at the back of the queue and wakes a waiting claimer. Returns the id the job
    /// will be delivered under.
    fn enqueue<'a>(&'a self, job: &'a StepJob) -> QueueFuture<'a, DeliveryId>;

    /// Takes up to `max` waiting jobs, oldest first, for `consumer`. Waits up to `block_for` for a
    /// first job when none is waiting (not at all for `Duration::ZERO`); returns an empty list if
    /// none came. Jobs taken are in flight even if the caller never sees them (its future dropped
    /// at the wrong moment): `reclaim_stale` recovers them.
    fn claim<'a>(&'a self, consumer: &'a str, max: usize, block_for: Duration) -> QueueFuture<'a, Vec<Delivery>>;

    /// Marks a delivery done, removing its job for good. `true` if it was in flight, `false` if it
    /// was acked before or is unknown.
    fn ack<'a>(&'a self, id: &'a DeliveryId) -> QueueFuture<'a, bool>;

    /// Restarts the idle clock of each listed delivery still held by `consumer`, so a long step
    /// is not reclaimed while it runs. Returns the ids still held; a missing one was reclaimed by
    /// another consumer (or acked), and its result should be left to the new holder.
    fn renew<'a>(&'a self, consumer: &'a str, ids: &'a [DeliveryId]) -> QueueFuture<'a, Vec<DeliveryId>>;

    /// Takes over, for `consumer`, up to `max` in-flight deliveries held (by anyone, `consumer`
    /// included) for at least `idle_for` without an ack or renewal, oldest first; each comes back
    /// with its delivery count raised.
    fn reclaim_stale<'a>(&'a self, consumer: &'a str, idle_for: Duration, max: usize)
    -> QueueFuture<'a, Vec<Delivery>>;

    /// How many jobs wait and how many are in flight.
    fn depth(&self) -> QueueFuture<'_, QueueDepth>;

    /// How long the oldest waiting job has waited (zero when none waits): the `aos_queue_lag_seconds`
    /// measure.
    fn lag(&self) -> QueueFuture<'_, Duration>;
}
