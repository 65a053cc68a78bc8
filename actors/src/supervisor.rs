//! The supervisor: ractor gives linking and supervision events; this adds the restart strategy.
//! A [`Supervisor`] owns the children of one kind (or, for the root, the kind supervisors). It
//! starts a child through that kind's [`ChildFactory`], registers it for introspection, and when a
//! child fails it restarts it one-for-one after the policy's backoff — the child's `pre_start`
//! reloads its state from the database, since the database is the truth and the actor its cache.
//! When a child fails more often than the policy's intensity allows, the supervisor escalates: it
//! fails itself, so its own supervisor decides (and ultimately the process logs and gives up on
//! that subtree rather than restarting forever).
//!
//! Actors are spawned unnamed in ractor's process-wide registry (names live in our [`Registry`]),
//! so several trees, or two supervisors holding the same key, can coexist in one process.
//!
//! Ordering: a supervisor handles one message or supervision event at a time, so starts, stops
//! and restarts of its children never interleave. A child stopped on purpose (`Stop`, or a clean
//! exit) is forgotten, never restarted.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SpawnErr, SupervisionEvent};

use crate::policy::{RestartDecision, RestartHistory, RestartPolicy};
use crate::registry::{ActorKind, ActorStats, ActorStatus, Registry};

/// A boxed future, so factories of different child types fit behind one trait object.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// How to start one kind of child.
pub trait ChildFactory: Send + Sync + 'static {
    /// The kind of the children it starts.
    fn kind(&self) -> ActorKind;

    /// Starts the child called `key`, linked to `supervisor`. The child counts each message it
    /// takes with `stats.dequeued()` and reloads its state in `pre_start`.
    fn start(
        &self,
        key: String,
        supervisor: ActorCell,
        stats: Arc<ActorStats>,
    ) -> BoxFuture<Result<ActorCell, SpawnErr>>;

    /// Starts the child `key` from state its starter already holds (`seed`), so its `pre_start`
    /// need not read it back. A restart never has a seed: it reloads. By default the seed is
    /// ignored.
    fn start_seeded(
        &self,
        key: String,
        seed: Seed,
        supervisor: ActorCell,
        stats: Arc<ActorStats>,
    ) -> BoxFuture<Result<ActorCell, SpawnErr>> {
        let _ = seed;
        self.start(key, supervisor, stats)
    }
}

/// State a child's first start may begin from instead of reading it (see
/// `ChildFactory::start_seeded`); each factory knows the type it takes.
pub struct Seed(Box<dyn std::any::Any + Send>);

impl Seed {
    pub fn new<T: std::any::Any + Send>(value: T) -> Self {
        Self(Box::new(value))
    }

    /// The value, if it is a `T`.
    pub fn take<T: std::any::Any>(self) -> Option<T> {
        self.0.downcast::<T>().ok().map(|value| *value)
    }
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed")
    }
}

/// Spawns `actor` linked under `supervisor`, unnamed: the common end of every factory's `start`.
pub async fn spawn_child<A: Actor>(actor: A, args: A::Arguments, supervisor: ActorCell) -> Result<ActorCell, SpawnErr> {
    let (actor, _) = A::spawn_linked(None, actor, args, supervisor).await?;
    Ok(actor.get_cell())
}

/// A child that could not start, and why.
pub fn startup_failed(reason: impl Into<String>) -> SpawnErr {
    SpawnErr::StartupFailed(reason.into().into())
}

/// A child key read as the id it names (`what`: "run id", "workflow id", ...).
pub fn parse_key<T: std::str::FromStr>(key: &str, what: &str) -> Result<T, SpawnErr> {
    key.parse().map_err(|_| startup_failed(format!("{key:?} is not a {what}")))
}

/// The runs supervisor a factory needs, once the tree has started it.
pub fn runs_ready(runs: &std::sync::OnceLock<SupervisorHandle>) -> Result<SupervisorHandle, SpawnErr> {
    runs.get().cloned().ok_or_else(|| startup_failed("the runs supervisor is not up"))
}

/// What a supervisor is given at start.
#[derive(Clone)]
pub struct SupervisorArgs {
    pub name: String,
    pub policy: RestartPolicy,
    pub factory: Arc<dyn ChildFactory>,
    pub registry: Arc<Registry>,
    /// The supervisor's own registry entry (its children hang under it).
    pub stats: Arc<ActorStats>,
}

impl std::fmt::Debug for SupervisorArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorArgs").field("name", &self.name).field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// Requests a supervisor answers.
#[derive(Debug)]
pub enum SupervisorMsg {
    /// Starts the child `key` unless it runs already (from `seed` when given); answers it either
    /// way, or logs a failure when nobody waits for the answer.
    Start { key: String, seed: Option<Seed>, reply: Option<RpcReplyPort<Result<StartedChild, String>>> },
    /// Stops the child `key` for good.
    Stop { key: String },
    /// Starts a failed child again (sent to itself after the backoff, or by an admin).
    Restart { key: String },
    /// The keys of the live children.
    Children(RpcReplyPort<Vec<String>>),
    /// The child `key` if it runs now (never starts one).
    Find { key: String, reply: RpcReplyPort<Option<StartedChild>> },
}

/// A running child: its cell and its counters (count what you send it with `stats.enqueued()`).
#[derive(Debug, Clone)]
pub struct StartedChild {
    pub cell: ActorCell,
    pub stats: Arc<ActorStats>,
}

/// The restart-strategy actor.
#[derive(Debug, Default)]
pub struct Supervisor;

/// A supervisor's children.
#[derive(Debug)]
pub struct SupervisorState {
    args: SupervisorArgs,
    children: HashMap<String, Child>,
    by_id: HashMap<ActorId, String>,
}

#[derive(Debug)]
struct Child {
    /// `None` while waiting out a restart backoff.
    cell: Option<ActorCell>,
    stats: Arc<ActorStats>,
    history: RestartHistory,
}

impl SupervisorState {
    async fn start_child(
        &mut self,
        key: &str,
        seed: Option<Seed>,
        supervisor: ActorCell,
    ) -> Result<StartedChild, String> {
        if let Some(Child { cell: Some(cell), stats, .. }) = self.children.get(key) {
            return Ok(StartedChild { cell: cell.clone(), stats: Arc::clone(stats) });
        }
        let stats = match self.children.get(key) {
            Some(child) => Arc::clone(&child.stats),
            None => self.args.registry.register(self.args.factory.kind(), key, Some(self.args.stats.id)),
        };
        let restarting = self.children.contains_key(key);
        let started = match seed {
            Some(seed) => self.args.factory.start_seeded(key.to_owned(), seed, supervisor, Arc::clone(&stats)),
            None => self.args.factory.start(key.to_owned(), supervisor, Arc::clone(&stats)),
        };
        match started.await {
            Ok(cell) => {
                if restarting {
                    stats.restarted();
                    let kind = self.args.factory.kind().as_str();
                    metrics::counter!(aos_ops::metrics::ACTOR_RESTARTS_TOTAL, aos_ops::metrics::label::KIND => kind)
                        .increment(1);
                }
                stats.set_status(ActorStatus::Running);
                self.by_id.insert(cell.get_id(), key.to_owned());
                let history = self.children.remove(key).map(|c| c.history).unwrap_or_default();
                self.children
                    .insert(key.to_owned(), Child { cell: Some(cell.clone()), stats: Arc::clone(&stats), history });
                Ok(StartedChild { cell, stats })
            }
            Err(err) => {
                if !restarting {
                    self.args.registry.deregister(stats.id);
                }
                Err(format!("{} could not start {key}: {err}", self.args.name))
            }
        }
    }

    fn forget(&mut self, key: &str) {
        if let Some(child) = self.children.remove(key) {
            self.args.registry.deregister(child.stats.id);
        }
    }
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: SupervisorArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        args.stats.set_status(ActorStatus::Running);
        Ok(SupervisorState { args, children: HashMap::new(), by_id: HashMap::new() })
    }

    async fn post_stop(&self, myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        myself.stop_children(Some("supervisor stopped".into()));
        let keys: Vec<String> = state.children.keys().cloned().collect();
        keys.iter().for_each(|key| state.forget(key));
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.args.stats.dequeued();
        match message {
            SupervisorMsg::Start { key, seed, reply } => {
                let started = state.start_child(&key, seed, myself.get_cell()).await;
                match (reply, started) {
                    (Some(reply), started) => {
                        let _receiver_gone = reply.send(started);
                    }
                    (None, Err(reason)) => {
                        tracing::warn!(supervisor = %state.args.name, %key, %reason, "a child nobody waits for did not start");
                    }
                    (None, Ok(_)) => {}
                }
            }
            SupervisorMsg::Stop { key } => {
                if let Some(cell) = state.children.get(&key).and_then(|c| c.cell.clone()) {
                    state.children.get(&key).inspect(|c| c.stats.set_status(ActorStatus::Stopping));
                    cell.stop(Some("stopped by request".into()));
                } else {
                    state.forget(&key);
                }
            }
            SupervisorMsg::Restart { key } => {
                let waiting = state.children.get(&key).is_some_and(|c| c.cell.is_none());
                if waiting && let Err(err) = state.start_child(&key, None, myself.get_cell()).await {
                    tracing::warn!(supervisor = %state.args.name, %key, error = %err, "restart failed");
                    return Err(err.into());
                }
            }
            SupervisorMsg::Find { key, reply } => {
                let found = state.children.get(&key).and_then(|child| {
                    Some(StartedChild { cell: child.cell.clone()?, stats: Arc::clone(&child.stats) })
                });
                let _receiver_gone = reply.send(found);
            }
            SupervisorMsg::Children(reply) => {
                let mut keys: Vec<String> = state.children.keys().cloned().collect();
                keys.sort();
                let _receiver_gone = reply.send(keys);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, error) => {
                let Some(key) = state.by_id.remove(&cell.get_id()) else { return Ok(()) };
                let policy = state.args.policy;
                let Some(child) = state.children.get_mut(&key) else { return Ok(()) };
                child.cell = None;
                match child.history.on_failure(&policy, Instant::now()) {
                    RestartDecision::Restart { after, recent } => {
                        child.stats.set_status(ActorStatus::Restarting);
                        tracing::warn!(
                            supervisor = %state.args.name, %key, error = %error, recent,
                            backoff_ms = after.as_millis() as u64, "child failed, restarting"
                        );
                        state.args.stats.enqueued();
                        let restart_key = key.clone();
                        myself.send_after(after, move || SupervisorMsg::Restart { key: restart_key });
                    }
                    RestartDecision::Escalate { recent } => {
                        tracing::error!(supervisor = %state.args.name, %key, error = %error, recent, "restart intensity exceeded, escalating");
                        state.forget(&key);
                        return Err(format!(
                            "{}: child {key} failed {recent} times within {:?}",
                            state.args.name, policy.within
                        )
                        .into());
                    }
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                if let Some(key) = state.by_id.remove(&cell.get_id()) {
                    state.forget(&key);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Starts supervisors as children of another supervisor (the root's kind supervisors): the
/// child key names the kind, each with its own policy and child factory.
#[derive(Clone)]
pub struct SupervisorFactory {
    kinds: BTreeMap<String, (RestartPolicy, Arc<dyn ChildFactory>)>,
    registry: Arc<Registry>,
}

impl std::fmt::Debug for SupervisorFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorFactory")
            .field("kinds", &self.kinds.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SupervisorFactory {
    pub fn new(registry: Arc<Registry>) -> Self {
        Self { kinds: BTreeMap::new(), registry }
    }

    /// Adds the kind `name`: its supervisor restarts children under `policy`, started by `factory`.
    pub fn with_kind(mut self, name: &str, policy: RestartPolicy, factory: Arc<dyn ChildFactory>) -> Self {
        self.kinds.insert(name.to_owned(), (policy, factory));
        self
    }
}

impl ChildFactory for SupervisorFactory {
    fn kind(&self) -> ActorKind {
        ActorKind::Supervisor
    }

    fn start(
        &self,
        key: String,
        supervisor: ActorCell,
        stats: Arc<ActorStats>,
    ) -> BoxFuture<Result<ActorCell, SpawnErr>> {
        let spec = self.kinds.get(&key).cloned();
        let registry = Arc::clone(&self.registry);
        Box::pin(async move {
            let (policy, factory) = spec.ok_or_else(|| startup_failed(format!("no supervisor kind {key:?}")))?;
            let args = SupervisorArgs { name: key.clone(), policy, factory, registry, stats };
            spawn_child(Supervisor, args, supervisor).await
        })
    }
}

/// A supervisor's address, counting what it sends into the supervisor's mailbox.
#[derive(Debug, Clone)]
pub struct SupervisorHandle {
    pub actor: ActorRef<SupervisorMsg>,
    pub stats: Arc<ActorStats>,
    /// For a kind supervisor: its parent and its key there. When the parent has restarted the
    /// kind (after an escalation) the actor above is gone; the handle then reaches the new one
    /// through the parent, so holders of the handle keep working.
    pub parent: Option<Arc<(SupervisorHandle, String)>>,
}

/// Why a request to a supervisor failed.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("supervisor is not running")]
    Unavailable,
    #[error("{0}")]
    StartFailed(String),
}

impl SupervisorHandle {
    /// The handle of a top-level supervisor (nothing to re-resolve it through).
    pub fn new(actor: ActorRef<SupervisorMsg>, stats: Arc<ActorStats>) -> Self {
        Self { actor, stats, parent: None }
    }

    /// The handle of the child supervisor `key` that `parent` started.
    pub fn child_of(parent: &SupervisorHandle, key: &str, started: StartedChild) -> Self {
        Self {
            actor: started.cell.into(),
            stats: started.stats,
            parent: Some(Arc::new((parent.clone(), key.to_owned()))),
        }
    }

    /// The live actor behind this handle: the one it was made with, or, once that has stopped,
    /// the one its parent runs under the same key now (a restarted kind supervisor).
    async fn target(&self) -> Result<(ActorRef<SupervisorMsg>, Arc<ActorStats>), SupervisorError> {
        let stopped = matches!(self.actor.get_status(), ractor::ActorStatus::Stopping | ractor::ActorStatus::Stopped);
        match (&self.parent, stopped) {
            (Some(parent), true) => {
                let (parent, key) = parent.as_ref();
                let started = Box::pin(parent.find(key)).await?.ok_or(SupervisorError::Unavailable)?;
                Ok((started.cell.into(), started.stats))
            }
            _ => Ok((self.actor.clone(), Arc::clone(&self.stats))),
        }
    }

    /// Starts (or finds) the child `key`.
    pub async fn start(&self, key: &str) -> Result<StartedChild, SupervisorError> {
        let (actor, stats) = self.target().await?;
        stats.enqueued();
        let key = key.to_owned();
        let answer = actor.call(|reply| SupervisorMsg::Start { key, seed: None, reply: Some(reply) }, None).await;
        match answer {
            Ok(ractor::rpc::CallResult::Success(result)) => result.map_err(SupervisorError::StartFailed),
            _ => Err(SupervisorError::Unavailable),
        }
    }

    /// Has the child `key` started from `seed` (unless it runs already) without waiting for it.
    /// Whatever is asked through this supervisor after this returns (a `find`, a `stop`) is
    /// handled after the start, as its mailbox keeps order. A start that fails is logged.
    pub async fn start_seeded_soon(&self, key: &str, seed: Seed) -> Result<(), SupervisorError> {
        let (actor, stats) = self.target().await?;
        stats.enqueued();
        let key = key.to_owned();
        actor.send_message(SupervisorMsg::Start { key, seed: Some(seed), reply: None }).map_err(|_| {
            stats.dequeued();
            SupervisorError::Unavailable
        })
    }

    /// Stops the child `key` for good.
    pub fn stop(&self, key: &str) -> Result<(), SupervisorError> {
        self.stats.enqueued();
        self.actor.send_message(SupervisorMsg::Stop { key: key.to_owned() }).map_err(|_| {
            self.stats.dequeued();
            SupervisorError::Unavailable
        })
    }

    /// The child `key` if it runs now.
    pub async fn find(&self, key: &str) -> Result<Option<StartedChild>, SupervisorError> {
        let (actor, stats) = self.target().await?;
        stats.enqueued();
        let key = key.to_owned();
        match actor.call(|reply| SupervisorMsg::Find { key, reply }, None).await {
            Ok(ractor::rpc::CallResult::Success(found)) => Ok(found),
            _ => Err(SupervisorError::Unavailable),
        }
    }

    /// The keys of the live children.
    pub async fn children(&self) -> Result<Vec<String>, SupervisorError> {
        let (actor, stats) = self.target().await?;
        stats.enqueued();
        match actor.call(SupervisorMsg::Children, None).await {
            Ok(ractor::rpc::CallResult::Success(keys)) => Ok(keys),
            _ => Err(SupervisorError::Unavailable),
        }
    }
}
