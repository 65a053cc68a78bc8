//! Run starts at the node's capacity. A run actor holds one of the node's start slots
//! ([`StartSlot`]) from its start until it first waits (for a step on a task or the queue, a
//! timer, a retry) or ends. The slots bound how many runs execute and record at once on a node, so
//! a burst of deliveries is admitted at the rate the store takes admissions, not at the rate runs
//! finish, and what the node holds in memory is bounded by the slots, not by the burst.
//!
//! An admitted run that finds no free slot (or runs already waiting before it) waits in line: as
//! what makes it durable, its row (status `queued`, owned by this node), and here as the seed it
//! starts from (its row and plan, up to [`SEEDS_IN_LINE`]; past that as its id, and its row is
//! read back when it starts). The dispatcher starts the waiting runs in order as slots free, after
//! one read of their statuses (or rows) per batch, so a run cancelled while it waited (through any
//! node) does not start. Runs the node resumes (at boot, or found without an actor) wait in the same line and
//! start by reloading what they recorded. A crash loses the line, never a run: the boot resumes
//! every unfinished run from its rows.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aos_persistence::{Run, Store};
use aos_schema::{ExecutionPlan, RunId, RunStatus};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::run::RunSeed;
use crate::supervisor::{Seed, SupervisorHandle};

/// Waiting runs the dispatcher starts after one read of their statuses, at most.
const BATCH: usize = 64;
/// Waiting runs the line keeps the seeds of (their rows, the input as text: about a KiB each for
/// a small delivery); the runs admitted while it holds more wait as ids, and their rows are read
/// back in batches when they start (reads beside the writer slow it down).
pub const SEEDS_IN_LINE: usize = 64 * 1024;
/// The dispatcher's pause after its store could not be read.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// A run actor's hold on one of the node's start slots: the slot frees when this is dropped.
#[derive(Debug)]
pub struct StartSlot(#[allow(dead_code, reason = "held for its drop")] OwnedSemaphorePermit);

/// What the runs supervisor starts a run actor from: its seed (none: the actor reloads the run),
/// and the start slot it holds.
#[derive(Debug)]
pub struct RunStart {
    pub seed: Option<RunSeed>,
    pub slot: Option<StartSlot>,
}

/// A run waiting for a slot.
#[derive(Debug)]
enum Waiter {
    /// Admitted and never started: it starts from its seed.
    Fresh(Box<Waiting>),
    /// Admitted past [`SEEDS_IN_LINE`]: it starts from its row, read back, and its plan.
    Stored(RunId),
    /// Resumed: its actor reloads it.
    Resume(RunId),
}

impl Waiter {
    fn id(&self) -> RunId {
        match self {
            Waiter::Fresh(waiting) => waiting.run.id,
            Waiter::Stored(id) | Waiter::Resume(id) => *id,
        }
    }
}

/// A fresh run's seed as it waits: its input as JSON text (a fraction of the memory of the parsed
/// tree), parsed again when it starts.
#[derive(Debug)]
struct Waiting {
    run: Run,
    input: Box<str>,
    plan: Arc<ExecutionPlan>,
}

impl Waiting {
    fn of(mut run: Run, plan: Arc<ExecutionPlan>) -> Self {
        let input = std::mem::take(&mut run.input).to_string().into_boxed_str();
        Self { run, input, plan }
    }

    fn seed(self) -> Result<RunSeed, serde_json::Error> {
        let Waiting { mut run, input, plan } = self;
        run.input = serde_json::from_str(&input)?;
        Ok(RunSeed { run, plan })
    }
}

#[derive(Debug, Default)]
struct Line {
    order: VecDeque<Waiter>,
    /// Runs in `order`, and those taken from it until their start has been handed to the
    /// supervisor (so nothing else starts them meanwhile).
    ids: HashSet<RunId>,
    /// Seeds in `order`.
    seeds: usize,
    /// The plans of the versions the stored waiters execute (kept until the line is empty).
    plans: std::collections::HashMap<(aos_schema::WorkflowId, i64), Arc<ExecutionPlan>>,
}

#[derive(Debug)]
struct Inner {
    slots: Arc<Semaphore>,
    line: Mutex<Line>,
    wake: Notify,
}

/// The start slots of a node and the line of runs waiting for one. Clones share them.
#[derive(Debug, Clone)]
pub struct RunStarts {
    inner: Arc<Inner>,
}

impl RunStarts {
    /// `slots` start slots (at least one), nobody waiting.
    pub fn new(slots: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                slots: Arc::new(Semaphore::new(slots.max(1))),
                line: Mutex::new(Line::default()),
                wake: Notify::new(),
            }),
        }
    }

    /// An admitted run's start now, if a slot is free and nobody waits before it; otherwise the
    /// run joins the line (its row is what keeps it) and `None` says the dispatcher starts it.
    pub fn admitted(&self, run: Run, plan: Arc<ExecutionPlan>) -> Option<RunStart> {
        let mut line = self.line();
        if line.order.is_empty()
            && let Ok(permit) = Arc::clone(&self.inner.slots).try_acquire_owned()
        {
            return Some(RunStart { seed: Some(RunSeed { run, plan }), slot: Some(StartSlot(permit)) });
        }
        if line.ids.insert(run.id) {
            let waiter = if line.seeds < SEEDS_IN_LINE {
                line.seeds += 1;
                Waiter::Fresh(Box::new(Waiting::of(run, plan)))
            } else {
                line.plans.entry((run.workflow_id, run.version)).or_insert(plan);
                Waiter::Stored(run.id)
            };
            line.order.push_back(waiter);
            drop(line);
            self.inner.wake.notify_one();
        }
        None
    }

    /// Has `run`, recorded unfinished and owned by this node, start by reloading it, in line.
    pub fn resume(&self, run: RunId) {
        let mut line = self.line();
        if line.ids.insert(run) {
            line.order.push_back(Waiter::Resume(run));
            drop(line);
            self.inner.wake.notify_one();
        }
    }

    /// Whether `run` waits in line (or is being started from it).
    pub fn is_waiting(&self, run: RunId) -> bool {
        self.line().ids.contains(&run)
    }

    /// Takes `run` out of the line (it was cancelled). Returns whether it waited there; `false`
    /// also when the dispatcher was starting it (it then starts only if it took the run before,
    /// and that actor sees the cancel).
    pub fn forget(&self, run: RunId) -> bool {
        let mut line = self.line();
        if !line.ids.remove(&run) {
            return false;
        }
        let Some(at) = line.order.iter().position(|waiter| waiter.id() == run) else { return false };
        if let Some(Waiter::Fresh(_)) = line.order.remove(at) {
            line.seeds -= 1;
        }
        true
    }

    /// Runs waiting in line.
    pub fn waiting(&self) -> usize {
        self.line().order.len()
    }

    /// Start slots free now.
    pub fn free_slots(&self) -> usize {
        self.inner.slots.available_permits()
    }

    fn line(&self) -> std::sync::MutexGuard<'_, Line> {
        // a panic elsewhere while holding the lock leaves the line as consistent as it was
        self.inner.line.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the dispatcher: as slots free, it starts the waiting runs in order under `runs`.
    pub fn dispatch(&self, store: Store, runs: SupervisorHandle) -> tokio::task::JoinHandle<()> {
        let starts = self.clone();
        tokio::spawn(async move { starts.dispatch_loop(store, runs).await })
    }

    async fn dispatch_loop(self, store: Store, runs: SupervisorHandle) {
        loop {
            // someone in line first, then a slot: an idle dispatcher holds none
            loop {
                let woken = self.inner.wake.notified();
                if self.waiting() > 0 {
                    break;
                }
                woken.await;
            }
            let Ok(first) = Arc::clone(&self.inner.slots).acquire_owned().await else { return };
            let mut slots = vec![StartSlot(first)];
            let taken = self.take(&mut slots);
            if taken.is_empty() {
                continue; // taken out of the line meanwhile
            }
            if let Err((err, taken)) = self.start(&store, &runs, taken, slots).await {
                tracing::warn!(error = %err, runs = taken.len(), "waiting runs could not be read; trying again");
                self.put_back(taken);
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }

    /// Takes waiters from the front of the line, one per slot in `slots` (taking more free slots
    /// into it, up to a batch). Their ids stay marked until they are started.
    fn take(&self, slots: &mut Vec<StartSlot>) -> Vec<Waiter> {
        let mut line = self.line();
        let wanted = line.order.len().min(BATCH);
        while slots.len() < wanted {
            match Arc::clone(&self.inner.slots).try_acquire_owned() {
                Ok(permit) => slots.push(StartSlot(permit)),
                Err(_) => break,
            }
        }
        let taken: Vec<Waiter> = (0..slots.len()).map_while(|_| line.order.pop_front()).collect();
        line.seeds -= taken.iter().filter(|waiter| matches!(waiter, Waiter::Fresh(_))).count();
        taken
    }

    /// Puts `taken` back at the front of the line, in their order.
    fn put_back(&self, taken: Vec<Waiter>) {
        let mut line = self.line();
        for waiter in taken.into_iter().rev() {
            if line.ids.contains(&waiter.id()) {
                line.seeds += usize::from(matches!(waiter, Waiter::Fresh(_)));
                line.order.push_front(waiter);
            }
        }
        drop(line);
        self.inner.wake.notify_one();
    }

    /// Starts `taken`, one slot each: the fresh ones from their seeds, the stored ones from their
    /// rows read back, either unless cancelled or finished meanwhile (one read per batch), the
    /// others by reloading them. On a failed read nothing is started and `taken` comes back. A
    /// slot not used frees here.
    async fn start(
        &self,
        store: &Store,
        runs: &SupervisorHandle,
        taken: Vec<Waiter>,
        mut slots: Vec<StartSlot>,
    ) -> Result<(), (aos_persistence::StoreError, Vec<Waiter>)> {
        let ids = |kind: fn(&Waiter) -> bool| taken.iter().filter(|w| kind(w)).map(Waiter::id).collect::<Vec<_>>();
        let (fresh, stored) = (ids(|w| matches!(w, Waiter::Fresh(_))), ids(|w| matches!(w, Waiter::Stored(_))));
        let statuses = match store.runs().statuses(&fresh).await {
            Ok(statuses) => statuses,
            Err(err) => return Err((err, taken)),
        };
        let mut rows: std::collections::HashMap<RunId, Run> = match store.runs().many(&stored).await {
            Ok(rows) => rows.into_iter().map(|run| (run.id, run)).collect(),
            Err(err) => return Err((err, taken)),
        };
        for waiter in taken {
            let id = waiter.id();
            if !self.line().ids.contains(&id) {
                continue; // cancelled while it waited
            }
            let seed = match waiter {
                Waiter::Fresh(waiting) if statuses.get(&id) == Some(&RunStatus::Queued) => match waiting.seed() {
                    Ok(seed) => Some(Some(seed)),
                    Err(err) => {
                        tracing::warn!(run_id = %id, error = %err, "a waiting run's input did not read back; reloading it");
                        Some(None)
                    }
                },
                Waiter::Stored(_) => match rows.remove(&id) {
                    Some(run) if run.status == RunStatus::Queued => {
                        let plan = self.line().plans.get(&(run.workflow_id, run.version)).cloned();
                        Some(plan.map(|plan| RunSeed { run, plan }))
                    }
                    _ => None,
                },
                // cancelled through another node, or gone with its workflow
                Waiter::Fresh(_) => None,
                Waiter::Resume(_) => Some(None),
            };
            if let Some(seed) = seed
                && runs
                    .start_seeded_soon(&id.to_string(), Seed::new(RunStart { seed, slot: slots.pop() }))
                    .await
                    .is_err()
            {
                tracing::warn!(run_id = %id, "run not started now; the node's sweep starts it");
            }
            self.line().ids.remove(&id);
        }
        let mut line = self.line();
        if line.ids.is_empty() {
            // nobody waits or is being started: no stored waiter needs a plan
            line.plans.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::WorkflowId;

    fn run(workflow: WorkflowId) -> Run {
        Run {
            id: RunId::new(),
            org_id: aos_schema::OrgId::new(),
            workflow_id: workflow,
            version: 1,
            status: RunStatus::Queued,
            trigger_kind: "webhook".into(),
            idempotency_key: None,
            input: serde_json::json!({}),
            replay_of: None,
            error: None,
            created_at: aos_persistence::Timestamp::now(),
            started_at: None,
            finished_at: None,
            traceparent: None,
        }
    }

    #[test]
    fn a_run_starts_at_once_while_a_slot_is_free_and_nobody_waits() {
        let starts = RunStarts::new(2);
        let plan = Arc::new(ExecutionPlan { trigger: "t".into(), layers: Vec::new(), steps: Vec::new() });
        let workflow = WorkflowId::new();
        let first = starts.admitted(run(workflow), Arc::clone(&plan)).expect("a free slot");
        let _second = starts.admitted(run(workflow), Arc::clone(&plan)).expect("a free slot");
        let third = run(workflow);
        let id = third.id;
        assert!(starts.admitted(third, Arc::clone(&plan)).is_none(), "no slot left: it waits");
        assert!(starts.is_waiting(id));
        drop(first);
        // a freed slot goes to the line, never past it
        assert!(starts.admitted(run(workflow), plan).is_none(), "one waits before it");
        assert_eq!(starts.waiting(), 2);
        assert!(starts.forget(id));
        assert_eq!(starts.waiting(), 1);
    }

    #[test]
    fn taking_from_the_line_takes_one_waiter_per_slot_in_order() {
        let starts = RunStarts::new(3);
        let ids: Vec<RunId> = (0..5).map(|_| RunId::new()).collect();
        for id in &ids {
            starts.resume(*id);
        }
        starts.resume(ids[0]);
        assert_eq!(starts.waiting(), 5, "a run waits once");
        let mut slots = Vec::new();
        let taken = starts.take(&mut slots);
        assert_eq!(taken.iter().map(Waiter::id).collect::<Vec<_>>(), ids[..3]);
        assert_eq!(starts.free_slots(), 0);
        assert!(starts.is_waiting(ids[0]), "marked until started");
        drop(slots);
        starts.put_back(taken);
        assert_eq!(starts.waiting(), 5);
        assert_eq!(starts.free_slots(), 3);
    }
}
