//! [`MemoryStepQueue`]: the step queue of the embedded mode, in this process. The same semantics as
//! the Redis one, minus surviving the process (the run actors re-enqueue from the database when
//! the process starts again).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Delivery, DeliveryId, QueueDepth, QueueFuture, StepJob, StepQueue};

/// An in-process step queue. The state sits behind a plain mutex that is never held across an
/// await (every critical section is a few map operations); claimers wait on a [`Notify`].
#[derive(Debug, Default)]
pub struct MemoryStepQueue {
    state: Mutex<State>,
    /// Wakes claimers waiting on an empty queue when a job arrives.
    arrived: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// The sequence number of the next job; a delivery id is its job's number.
    next_seq: u64,
    /// Never claimed, oldest first.
    waiting: VecDeque<Waiting>,
    /// Claimed and not acked, by sequence number, so reclaiming scans oldest first (like the
    /// pending entries list of a Redis consumer group).
    in_flight: BTreeMap<u64, Held>,
}

#[derive(Debug)]
struct Waiting {
    seq: u64,
    job: StepJob,
    /// When it was enqueued, for the lag.
    since: Instant,
}

#[derive(Debug)]
struct Held {
    job: StepJob,
    /// Who holds it now: only they may renew it.
    consumer: String,
    /// When it was last claimed or renewed: its idle time runs from here.
    since: Instant,
    /// How many times it has been handed out.
    deliveries: u32,
}

impl MemoryStepQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock, and every section leaves the state whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, job: &StepJob) -> DeliveryId {
        let seq = {
            let mut state = self.state();
            let seq = state.next_seq;
            state.next_seq += 1;
            state.waiting.push_back(Waiting { seq, job: job.clone(), since: Instant::now() });
            seq
        };
        self.arrived.notify_waiters();
        delivery_id(seq)
    }

    /// Moves up to `max` waiting jobs into flight for `consumer`, all at once, so a claim whose
    /// future is dropped has either taken nothing or taken jobs `reclaim_stale` can recover.
    fn take(&self, consumer: &str, max: usize) -> Vec<Delivery> {
        let mut state = self.state();
        let count = max.min(state.waiting.len());
        let now = Instant::now();
        let taken: Vec<Waiting> = state.waiting.drain(..count).collect();
        taken
            .into_iter()
            .map(|Waiting { seq, job, .. }| {
                let held = Held { job: job.clone(), consumer: consumer.to_owned(), since: now, deliveries: 1 };
                state.in_flight.insert(seq, held);
                Delivery { id: delivery_id(seq), job, deliveries: 1 }
            })
            .collect()
    }

    async fn claim_waiting(&self, consumer: &str, max: usize, block_for: Duration) -> Vec<Delivery> {
        if max == 0 {
            return Vec::new();
        }
        let deadline = Instant::now() + block_for;
        loop {
            // Registered before looking, so a job enqueued between the look and the wait still
            // wakes this claimer.
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let taken = self.take(consumer, max);
            if !taken.is_empty() || Instant::now() >= deadline {
                return taken;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Vec::new();
            }
        }
    }

    fn reclaim(&self, consumer: &str, idle_for: Duration, max: usize) -> Vec<Delivery> {
        let mut state = self.state();
        let now = Instant::now();
        state
            .in_flight
            .iter_mut()
            .filter(|(_, held)| now.saturating_duration_since(held.since) >= idle_for)
            .take(max)
            .map(|(seq, held)| {
                held.consumer = consumer.to_owned();
                held.since = now;
                held.deliveries = held.deliveries.saturating_add(1);
                Delivery { id: delivery_id(*seq), job: held.job.clone(), deliveries: held.deliveries }
            })
            .collect()
    }

    fn renew_held(&self, consumer: &str, ids: &[DeliveryId]) -> Vec<DeliveryId> {
        let mut state = self.state();
        let now = Instant::now();
        ids.iter()
            .filter(|id| {
                let held = parse_seq(id).and_then(|seq| state.in_flight.get_mut(&seq));
                match held {
                    Some(held) if held.consumer == consumer => {
                        held.since = now;
                        true
                    }
                    _ => false,
                }
            })
            .cloned()
            .collect()
    }
}

impl StepQueue for MemoryStepQueue {
    fn enqueue<'a>(&'a self, job: &'a StepJob) -> QueueFuture<'a, DeliveryId> {
        Box::pin(async move { Ok(self.push(job)) })
    }

    fn claim<'a>(&'a self, consumer: &'a str, max: usize, block_for: Duration) -> QueueFuture<'a, Vec<Delivery>> {
        Box::pin(async move { Ok(self.claim_waiting(consumer, max, block_for).await) })
    }

    fn ack<'a>(&'a self, id: &'a DeliveryId) -> QueueFuture<'a, bool> {
        Box::pin(async move { Ok(parse_seq(id).is_some_and(|seq| self.state().in_flight.remove(&seq).is_some())) })
    }

    fn renew<'a>(&'a self, consumer: &'a str, ids: &'a [DeliveryId]) -> QueueFuture<'a, Vec<DeliveryId>> {
        Box::pin(async move { Ok(self.renew_held(consumer, ids)) })
    }

    fn reclaim_stale<'a>(
        &'a self,
        consumer: &'a str,
        idle_for: Duration,
        max: usize,
    ) -> QueueFuture<'a, Vec<Delivery>> {
        Box::pin(async move { Ok(self.reclaim(consumer, idle_for, max)) })
    }

    fn depth(&self) -> QueueFuture<'_, QueueDepth> {
        Box::pin(async move {
            let state = self.state();
            Ok(QueueDepth { waiting: state.waiting.len() as u64, in_flight: state.in_flight.len() as u64 })
        })
    }

    fn lag(&self) -> QueueFuture<'_, Duration> {
        Box::pin(
            async move { Ok(self.state().waiting.front().map(|oldest| oldest.since.elapsed()).unwrap_or_default()) },
        )
    }
}

fn delivery_id(seq: u64) -> DeliveryId {
    DeliveryId::new(seq.to_string())
}

fn parse_seq(id: &DeliveryId) -> Option<u64> {
    id.as_str().parse().ok()
}
