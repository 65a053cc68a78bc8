//! The actor tree of one process: a root supervisor over one supervisor per kind: `workflows` (one
//! actor per workflow being published), `runs` (run actors), `schedules` (one actor per scheduled
//! workflow), `webhook-sources` (one actor per source that received a delivery) and, with queue
//! dispatch, `step-workers` (the workers draining the step queue). Doc rooms (`aos-realtime`)
//! join as their own kind.
//!
//! A node beats a heartbeat under its id and drives the runs it owns. On start it resumes its own
//! unfinished runs; while it lives it adopts the runs of nodes whose heartbeat went stale (and runs
//! nobody ever started), which is how a run survives the loss of the process that was running it.

use std::sync::Arc;
use std::time::Duration;

use aos_persistence::{RedisLink, RunClaim};
use aos_schema::{RunId, RunStatus, WebhookSourceId, WorkflowId};
use ractor::{Actor, SpawnErr};

use crate::notice::Notifier;
use crate::policy::RestartPolicy;
use crate::registry::{ActorKind, ActorNode, Registry};
use crate::run::{Dispatch, RunDeps, RunFactory};
use crate::schedule::ScheduleFactory;
use crate::starts::RunStarts;
use crate::supervisor::{Supervisor, SupervisorArgs, SupervisorError, SupervisorFactory, SupervisorHandle};
use crate::webhook::{Accepted, Delivery, DeliveryError, Gates, ParsedDelivery, WebhookFactory, WebhookMsg};
use crate::worker::{WorkerDeps, WorkerFactory};
use crate::workflow::{PublishError, PublishRequest, Published, WorkflowFactory, WorkflowMsg};

/// Why the tree could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    #[error("actor tree could not start: {0}")]
    Spawn(#[from] SpawnErr),
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    #[error(transparent)]
    Store(#[from] aos_persistence::StoreError),
}

/// The running tree.
#[derive(Debug)]
pub struct ActorSystem {
    registry: Arc<Registry>,
    root: SupervisorHandle,
    workflows: SupervisorHandle,
    runs: SupervisorHandle,
    schedules: SupervisorHandle,
    webhooks: SupervisorHandle,
    /// The step-workers supervisor (queue dispatch with workers only).
    workers: Option<SupervisorHandle>,
    /// The supervisors of `SystemConfig::extra_kinds`, by name.
    extras: std::collections::HashMap<String, SupervisorHandle>,
    /// The admission gates of the webhook sources live on this node.
    gates: Arc<Gates>,
    /// The node's start slots and the runs waiting for one (none: every run starts at once).
    starts: Option<RunStarts>,
    deps: RunDeps,
    /// The heartbeat and adoption loop, and the step-notice listener.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// How a node's tree is set up beyond what its runs need.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    pub deps: RunDeps,
    /// Step workers on this node (queue dispatch only; none on a gateway-only node).
    pub workers: usize,
    /// How long a claimed step job may go without renewal before other workers take it over.
    pub claim_timeout: Duration,
    /// How often the node beats its heartbeat and looks for orphaned runs.
    pub heartbeat_every: Duration,
    /// Carries step notices between nodes.
    pub redis: Option<RedisLink>,
    /// Kinds other crates supervise under this root (the realtime crate's doc rooms), by name.
    pub extra_kinds: Vec<ExtraKind>,
    /// Runs that may execute (or record) at once on this node; admitted runs beyond wait in line
    /// (`crate::starts`). `None`: every run starts as it is admitted.
    pub start_slots: Option<usize>,
}

/// A supervised kind another crate brings: its supervisor's name, restart policy and children.
#[derive(Clone)]
pub struct ExtraKind {
    pub name: String,
    pub policy: RestartPolicy,
    pub factory: Arc<dyn crate::supervisor::ChildFactory>,
}

impl std::fmt::Debug for ExtraKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtraKind").field("name", &self.name).field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl SystemConfig {
    pub fn new(deps: RunDeps) -> Self {
        let heartbeat_every = (deps.node.stale_after / 3).max(Duration::from_millis(100));
        Self {
            deps,
            workers: 4,
            claim_timeout: Duration::from_secs(30),
            heartbeat_every,
            redis: None,
            extra_kinds: Vec::new(),
            start_slots: None,
        }
    }
}

/// What an admin may do to one actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Stop it for good (its supervisor forgets it; a run, schedule or source comes back when
    /// next needed or adopted).
    Stop,
    /// Stop it and start it again, reloading its state from the database.
    Restart,
}

/// Why a control request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    #[error("actor {id} not found")]
    NotFound { id: u64 },
    /// Supervisors and the root are the tree itself: they are not stopped one by one.
    #[error("actor {id} is a supervisor; only the actors under a kind's supervisor can be controlled")]
    NotControllable { id: u64 },
    #[error("the actor's supervisor is unavailable")]
    Unavailable,
}

/// The controlled actor, for the caller's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controlled {
    pub kind: ActorKind,
    pub name: String,
}

/// Where a run is driven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunPlacement {
    /// By an actor on this node.
    Here,
    /// By the node named (alive).
    Elsewhere(String),
    /// Nowhere: it has finished.
    Finished,
}

/// The name of the workflows supervisor.
pub const WORKFLOWS: &str = "workflows";
/// The name of the runs supervisor.
pub const RUNS: &str = "runs";
/// The name of the schedules supervisor.
pub const SCHEDULES: &str = "schedules";
/// The name of the webhook-sources supervisor.
pub const WEBHOOK_SOURCES: &str = "webhook-sources";
/// The name of the step-workers supervisor.
pub const STEP_WORKERS: &str = "step-workers";
/// Orphaned runs one adoption round takes at most.
const ADOPT_BATCH: i64 = 500;

impl ActorSystem {
    /// Starts the root and the kind supervisors with the default node settings.
    pub async fn start(deps: RunDeps) -> Result<Self, SystemError> {
        Self::start_with(SystemConfig::new(deps)).await
    }

    /// Starts the root and the kind supervisors, the step workers (queue dispatch), the heartbeat
    /// and adoption loop and the step-notice listener.
    pub async fn start_with(config: SystemConfig) -> Result<Self, SystemError> {
        let SystemConfig { deps, workers, claim_timeout, heartbeat_every, redis, extra_kinds, start_slots } = config;
        let starts = start_slots.map(RunStarts::new);
        let registry = Arc::new(Registry::default());
        let runs_handle = Arc::new(std::sync::OnceLock::new());
        let schedules_handle = Arc::new(std::sync::OnceLock::new());
        let notifier = Notifier::new(Arc::clone(&runs_handle), redis);
        let gates = Arc::new(Gates::default());
        let mut kinds = SupervisorFactory::new(Arc::clone(&registry))
            .with_kind(
                WORKFLOWS,
                RestartPolicy::default(),
                Arc::new(WorkflowFactory { store: deps.store.clone(), schedules: Arc::clone(&schedules_handle) }),
            )
            .with_kind(RUNS, RestartPolicy::default(), Arc::new(RunFactory { deps: deps.clone() }))
            .with_kind(
                SCHEDULES,
                RestartPolicy::default(),
                Arc::new(ScheduleFactory { store: deps.store.clone(), runs: Arc::clone(&runs_handle) }),
            )
            .with_kind(
                WEBHOOK_SOURCES,
                RestartPolicy::default(),
                Arc::new(WebhookFactory { store: deps.store.clone(), gates: Arc::clone(&gates) }),
            );
        for extra in &extra_kinds {
            kinds = kinds.with_kind(&extra.name, extra.policy, Arc::clone(&extra.factory));
        }
        if let Dispatch::Queue(queue) = &deps.dispatch {
            let worker_deps = WorkerDeps {
                store: deps.store.clone(),
                engine: Arc::clone(&deps.engine),
                queue: Arc::clone(queue),
                notifier: notifier.clone(),
                step_timeout: deps.step_timeout,
                claim_timeout,
                node: deps.node.id.clone(),
            };
            kinds =
                kinds.with_kind(STEP_WORKERS, RestartPolicy::default(), Arc::new(WorkerFactory { deps: worker_deps }));
        }
        let root_stats = registry.register(ActorKind::Root, "root", None);
        let args = SupervisorArgs {
            name: "root".into(),
            policy: RestartPolicy::default(),
            factory: Arc::new(kinds),
            registry: Arc::clone(&registry),
            stats: Arc::clone(&root_stats),
        };
        let (root_actor, _) = Actor::spawn(None, Supervisor, args).await?;
        let root = SupervisorHandle::new(root_actor, root_stats);
        let workflows = root.start(WORKFLOWS).await?;
        let workflows = SupervisorHandle::child_of(&root, WORKFLOWS, workflows);
        let runs = root.start(RUNS).await?;
        let runs = SupervisorHandle::child_of(&root, RUNS, runs);
        let _first_start = runs_handle.set(runs.clone());
        let schedules = root.start(SCHEDULES).await?;
        let schedules = SupervisorHandle::child_of(&root, SCHEDULES, schedules);
        let _first_start = schedules_handle.set(schedules.clone());
        let webhooks = root.start(WEBHOOK_SOURCES).await?;
        let webhooks = SupervisorHandle::child_of(&root, WEBHOOK_SOURCES, webhooks);
        let mut worker_pool = None;
        if matches!(deps.dispatch, Dispatch::Queue(_)) && workers > 0 {
            let pool = root.start(STEP_WORKERS).await?;
            let pool = SupervisorHandle::child_of(&root, STEP_WORKERS, pool);
            for n in 0..workers {
                pool.start(&format!("worker-{n}")).await?;
            }
            worker_pool = Some(pool);
        }
        let mut extras = std::collections::HashMap::new();
        for extra in &extra_kinds {
            let started = root.start(&extra.name).await?;
            extras.insert(extra.name.clone(), SupervisorHandle::child_of(&root, &extra.name, started));
        }
        deps.store.nodes().heartbeat(&deps.node.id).await?;
        let mut tasks = Vec::new();
        tasks.extend(notifier.listen());
        tasks.extend(starts.as_ref().map(|starts| starts.dispatch(deps.store.clone(), runs.clone())));
        let kept =
            Kept { deps: deps.clone(), runs: runs.clone(), schedules: schedules.clone(), starts: starts.clone() };
        tasks.push(tokio::spawn(keep_node(kept, heartbeat_every)));
        Ok(Self {
            registry,
            root,
            workflows,
            runs,
            schedules,
            webhooks,
            workers: worker_pool,
            extras,
            gates,
            starts,
            deps,
            tasks,
        })
    }

    /// The node's start slots and the runs waiting for one, if it has them.
    pub fn starts(&self) -> Option<&RunStarts> {
        self.starts.as_ref()
    }

    /// Starts (or finds) the actor of a run, if no other live node drives it.
    pub async fn start_run(&self, run: RunId) -> Result<RunPlacement, SystemError> {
        start_here(&self.deps, &self.runs, run).await
    }

    /// Stops or restarts the actor with registry id `id`, through its kind's supervisor.
    pub async fn control(&self, id: u64, action: Control) -> Result<Controlled, ControlError> {
        let (node, parent) = find_node(&self.snapshot(), id, None).ok_or(ControlError::NotFound { id })?;
        let supervisors = [&self.workflows, &self.runs, &self.schedules, &self.webhooks]
            .into_iter()
            .chain(self.extras.values())
            .chain(self.workers.as_ref());
        let supervisor = supervisors
            .into_iter()
            .find(|handle| Some(handle.stats.id) == parent)
            .ok_or(ControlError::NotControllable { id })?;
        let controlled = Controlled { kind: node.kind, name: node.name.clone() };
        supervisor.stop(&node.name).map_err(|_| ControlError::Unavailable)?;
        if action == Control::Restart {
            // the stop is a message; wait until the supervisor has let the child go
            for _ in 0..500 {
                match supervisor.find(&node.name).await {
                    Ok(None) => break,
                    Ok(Some(_)) => tokio::time::sleep(Duration::from_millis(10)).await,
                    Err(_) => return Err(ControlError::Unavailable),
                }
            }
            supervisor.start(&node.name).await.map_err(|_| ControlError::Unavailable)?;
            let kind = node.kind.as_str();
            metrics::counter!(aos_ops::metrics::ACTOR_RESTARTS_TOTAL, aos_ops::metrics::label::KIND => kind)
                .increment(1);
        }
        tracing::info!(actor = id, kind = ?controlled.kind, name = %controlled.name, ?action, "actor controlled");
        Ok(controlled)
    }

    /// Tells the run's actor on this node to stop the run for good. Returns whether one was here;
    /// a run driven on another node notices its cancelled row at its next check.
    pub async fn cancel_run(&self, run: RunId) -> bool {
        if self.starts.as_ref().is_some_and(|starts| starts.forget(run)) {
            // it never started: its row is all there is to cancel (the API did it already)
            if let Err(err) = self.deps.store.runs().transition(run, RunStatus::Cancelled, Some("cancelled")).await {
                tracing::warn!(run_id = %run, error = %err, "a waiting run's cancel was not recorded");
            }
            return true;
        }
        let Ok(Some(child)) = self.runs.find(&run.to_string()).await else { return false };
        let actor: ractor::ActorRef<crate::run::RunMsg> = child.cell.into();
        child.stats.enqueued();
        if actor.send_message(crate::run::RunMsg::Cancel).is_err() {
            child.stats.dequeued();
            return false;
        }
        true
    }

    /// Claims every unfinished run this node may drive (its own, nobody's, and those of nodes
    /// gone stale) and has each start, in the line of the node's start slots. Returns how many
    /// it claimed here.
    pub async fn resume_unfinished(&self) -> Result<usize, SystemError> {
        let runs = self.deps.store.runs().unfinished(100_000).await?;
        let mut here = 0;
        for run in &runs {
            let Some(starts) = &self.starts else {
                match self.start_run(run.id).await {
                    Ok(RunPlacement::Here) => here += 1,
                    Ok(_) => {}
                    Err(err) => tracing::warn!(run_id = %run.id, error = %err, "could not resume run"),
                }
                continue;
            };
            match self.deps.store.nodes().claim_run(run.id, &self.deps.node.id, self.deps.node.stale_after).await {
                Ok(RunClaim::Claimed) => {
                    starts.resume(run.id);
                    here += 1;
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(run_id = %run.id, error = %err, "could not resume run"),
            }
        }
        Ok(here)
    }

    /// Admits a delivery to source `source` (starting its actor if needed): see `webhook.rs`.
    pub async fn deliver(&self, source: WebhookSourceId, delivery: Delivery) -> Result<Accepted, DeliveryError> {
        let gate = match self.gates.by_source(source) {
            Some(gate) => gate,
            None => self.open_gate(source).await?,
        };
        crate::webhook::admit(&self.deps.store, &self.runs, self.starts.as_ref(), &self.deps.node.id, &gate, &delivery)
            .await
    }

    /// Admits a delivery to the source whose token hashes to `token_hash`. A source seen before
    /// on this node is found in memory; another is read once and its actor started.
    pub async fn deliver_by_token(&self, token_hash: &str, delivery: Delivery) -> Result<Accepted, DeliveryError> {
        let gate = self.gate_by_token(token_hash).await?;
        crate::webhook::admit(&self.deps.store, &self.runs, self.starts.as_ref(), &self.deps.node.id, &gate, &delivery)
            .await
    }

    /// A delivery as [`Self::deliver_by_token`] takes it; when the workflow answers its webhook
    /// requests with a respond step, also that answer, waited for up to `limit` (`None`: the run
    /// ended without one, took longer, or the delivery was a duplicate).
    pub async fn deliver_and_answer(
        &self,
        token_hash: &str,
        delivery: Delivery,
        limit: Duration,
    ) -> Result<(Accepted, Option<aos_engine_link::WebhookResponse>), DeliveryError> {
        let gate = self.gate_by_token(token_hash).await?;
        let accepted = crate::webhook::admit(
            &self.deps.store,
            &self.runs,
            self.starts.as_ref(),
            &self.deps.node.id,
            &gate,
            &delivery,
        )
        .await?;
        if accepted.duplicate || !gate.responds() {
            return Ok((accepted, None));
        }
        let answer = self.deps.answers.wait(accepted.run_id, limit).await;
        Ok((accepted, answer))
    }

    /// A delivery to the test URL of the source whose token hashes to `token_hash`: checked as a
    /// real delivery is (size, signature, rate), read as its run's trigger would be, and neither
    /// recorded nor run. Returns the source and what its trigger would see.
    pub async fn test_delivery_by_token(
        &self,
        token_hash: &str,
        delivery: &Delivery,
    ) -> Result<(WebhookSourceId, ParsedDelivery), DeliveryError> {
        let gate = self.gate_by_token(token_hash).await?;
        Ok((gate.source.id, gate.check_test(delivery)?))
    }

    /// The gate of the enabled source whose token hashes to `token_hash`, opened if needed.
    async fn gate_by_token(&self, token_hash: &str) -> Result<Arc<crate::webhook::SourceGate>, DeliveryError> {
        if let Some(gate) = self.gates.by_token(token_hash) {
            return Ok(gate);
        }
        let source = self.deps.store.webhooks().source_by_token_hash(token_hash).await.map_err(|err| {
            tracing::warn!(error = %err, "webhook source lookup failed");
            DeliveryError::Unavailable
        })?;
        let source = source.filter(|s| s.enabled).ok_or(DeliveryError::UnknownSource)?;
        self.open_gate(source.id).await
    }

    async fn open_gate(&self, source: WebhookSourceId) -> Result<Arc<crate::webhook::SourceGate>, DeliveryError> {
        self.webhooks.start(&source.to_string()).await.map_err(|err| match err {
            SupervisorError::StartFailed(reason) if reason.contains("not found") => DeliveryError::UnknownSource,
            _ => DeliveryError::Unavailable,
        })?;
        self.gates.by_source(source).ok_or(DeliveryError::Unavailable)
    }

    /// A source changed (token rotated, deleted, settings): its gate on this node is read again
    /// (or dropped, when the source is gone) before this returns.
    pub async fn source_changed(&self, source: WebhookSourceId) {
        self.refresh_gate(source).await;
    }

    /// A workflow changed (published, reverted, enabled, disabled, deleted): the gates of its
    /// sources on this node read it again before this returns, and its schedule here starts,
    /// reloads or stops.
    pub async fn workflow_changed(&self, workflow: WorkflowId) {
        for source in self.gates.sources_of(workflow) {
            self.refresh_gate(source).await;
        }
        crate::workflow::sync_schedule(&self.deps.store, &self.schedules, workflow).await;
    }

    async fn refresh_gate(&self, source: WebhookSourceId) {
        let Ok(Some(child)) = self.webhooks.find(&source.to_string()).await else { return };
        let actor: ractor::ActorRef<WebhookMsg> = child.cell.into();
        child.stats.enqueued();
        if !matches!(actor.call(WebhookMsg::Refresh, None).await, Ok(ractor::rpc::CallResult::Success(()))) {
            tracing::warn!(source_id = %source, "webhook source could not read its changes; dropping its gate");
            let _not_running = self.webhooks.stop(&source.to_string());
        }
    }

    /// Starts a schedule actor for every enabled scheduled workflow not yet running here.
    /// Returns how many workflows are scheduled.
    pub async fn sync_schedules(&self) -> Result<usize, SystemError> {
        sync_schedules(&self.deps.store, &self.schedules).await
    }

    /// Publishes a new version of `workflow` through its actor (see `workflow.rs`).
    pub async fn publish(&self, workflow: WorkflowId, request: PublishRequest) -> Result<Published, PublishError> {
        let child = self.workflows.start(&workflow.to_string()).await.map_err(|err| match err {
            SupervisorError::StartFailed(reason) if reason.contains("not found") => {
                PublishError::Store(aos_persistence::StoreError::NotFound {
                    entity: "workflow",
                    id: workflow.to_string(),
                })
            }
            _ => PublishError::Unavailable,
        })?;
        let actor: ractor::ActorRef<WorkflowMsg> = child.cell.into();
        child.stats.enqueued();
        match actor.call(|reply| WorkflowMsg::Publish { request, reply }, None).await {
            Ok(ractor::rpc::CallResult::Success(outcome)) => outcome,
            _ => Err(PublishError::Unavailable),
        }
    }

    /// The live tree, for introspection.
    pub fn snapshot(&self) -> Vec<ActorNode> {
        self.registry.snapshot()
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The supervisor of an extra kind (see `SystemConfig::extra_kinds`).
    pub fn kind(&self, name: &str) -> Option<&SupervisorHandle> {
        self.extras.get(name)
    }

    /// The runs supervisor (to find or wait for a run's actor).
    pub fn runs(&self) -> &SupervisorHandle {
        &self.runs
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.deps.node.id
    }

    /// Stops the whole tree and the node's background tasks.
    pub fn stop(&self) {
        self.tasks.iter().for_each(tokio::task::JoinHandle::abort);
        self.root.actor.stop(Some("shutting down".into()));
    }
}

/// The node with registry id `id` in `nodes`, and its parent's id.
fn find_node(nodes: &[ActorNode], id: u64, parent: Option<u64>) -> Option<(ActorNode, Option<u64>)> {
    nodes.iter().find_map(|node| {
        if node.id == id { Some((node.clone(), parent)) } else { find_node(&node.children, id, Some(node.id)) }
    })
}

/// Claims `run` for this node and starts its actor.
async fn start_here(deps: &RunDeps, runs: &SupervisorHandle, run: RunId) -> Result<RunPlacement, SystemError> {
    match deps.store.nodes().claim_run(run, &deps.node.id, deps.node.stale_after).await? {
        RunClaim::Claimed => {
            runs.start(&run.to_string()).await?;
            Ok(RunPlacement::Here)
        }
        RunClaim::OwnedBy(node) => Ok(RunPlacement::Elsewhere(node)),
        RunClaim::Finished(_) => Ok(RunPlacement::Finished),
    }
}

/// Starts a schedule actor for every enabled scheduled workflow not yet running under `schedules`.
async fn sync_schedules(store: &aos_persistence::Store, schedules: &SupervisorHandle) -> Result<usize, SystemError> {
    let scheduled = store.workflows().scheduled().await?;
    for workflow in &scheduled {
        if let Err(err) = schedules.start(&workflow.workflow_id.to_string()).await {
            tracing::warn!(workflow_id = %workflow.workflow_id, error = %err, "could not start schedule");
        }
    }
    Ok(scheduled.len())
}

/// Has every unfinished run this node owns that has no actor and does not wait in line start
/// again, in line: a run whose actor gave up (its restarts failed while the database was down, or
/// its supervisor escalated and came back empty) is driven again once the database answers,
/// without waiting for a process restart.
async fn restart_lost_runs(
    deps: &RunDeps,
    runs: &SupervisorHandle,
    starts: Option<&RunStarts>,
) -> Result<(), SystemError> {
    let owned = deps.store.nodes().owned_runs(&deps.node.id, OWNED_BATCH).await?;
    if owned.is_empty() {
        return Ok(());
    }
    let live: std::collections::HashSet<String> = runs.children().await?.into_iter().collect();
    for run in owned {
        let key = run.to_string();
        match starts {
            _ if live.contains(&key) => {}
            Some(starts) if !starts.is_waiting(run) => {
                tracing::info!(run_id = %run, "run had lost its actor, starting it again");
                starts.resume(run);
            }
            Some(_) => {}
            None => match runs.start(&key).await {
                Ok(_) => tracing::info!(run_id = %run, "run had lost its actor, started it again"),
                Err(err) => tracing::warn!(run_id = %run, error = %err, "could not start a lost run"),
            },
        }
    }
    Ok(())
}

/// The gauges read from shared state once a heartbeat: pending dead-letter entries (all orgs) and
/// the ready steps waiting for a worker (none wait in-process: a ready step starts at once).
async fn record_gauges(deps: &RunDeps) {
    match deps.store.runs().dlq_pending_total().await {
        Ok(pending) => metrics::gauge!(aos_ops::metrics::DLQ_ENTRIES).set(pending as f64),
        Err(err) => tracing::debug!(error = %err, "dead-letter count unavailable"),
    }
    let waiting = match &deps.dispatch {
        Dispatch::Queue(queue) => match (queue.depth().await, queue.lag().await) {
            (Ok(depth), Ok(lag)) => {
                metrics::histogram!(aos_ops::metrics::QUEUE_LAG_SECONDS).record(lag.as_secs_f64());
                depth.waiting
            }
            _ => return,
        },
        Dispatch::Local => 0,
    };
    metrics::gauge!(aos_ops::metrics::QUEUE_PENDING_STEPS).set(waiting as f64);
}

/// The most owned runs checked per heartbeat.
const OWNED_BATCH: i64 = 10_000;

/// What the node-keeping loop works with.
struct Kept {
    deps: RunDeps,
    runs: SupervisorHandle,
    schedules: SupervisorHandle,
    starts: Option<RunStarts>,
}

/// Every `every`, until aborted: beats this node's heartbeat, adopts orphaned runs, and starts
/// schedule actors for workflows that became scheduled on other nodes.
async fn keep_node(kept: Kept, every: Duration) {
    let Kept { deps, runs, schedules, starts } = kept;
    loop {
        tokio::time::sleep(every).await;
        if let Err(err) = deps.store.nodes().heartbeat(&deps.node.id).await {
            tracing::warn!(node = %deps.node.id, error = %err, "heartbeat failed");
            continue;
        }
        let orphans = match deps.store.nodes().orphaned_runs(deps.node.stale_after, ADOPT_BATCH).await {
            Ok(orphans) => orphans,
            Err(err) => {
                tracing::warn!(node = %deps.node.id, error = %err, "cannot list orphaned runs");
                continue;
            }
        };
        for run in orphans {
            match start_here(&deps, &runs, run).await {
                Ok(RunPlacement::Here) => tracing::info!(run_id = %run, node = %deps.node.id, "adopted run"),
                Ok(_) => {}
                Err(err) => tracing::warn!(run_id = %run, error = %err, "could not adopt run"),
            }
        }
        record_gauges(&deps).await;
        metrics::gauge!(aos_ops::metrics::RUNS_WAITING).set(starts.as_ref().map_or(0, RunStarts::waiting) as f64);
        if let Err(err) = restart_lost_runs(&deps, &runs, starts.as_ref()).await {
            tracing::warn!(node = %deps.node.id, error = %err, "cannot check this node's runs");
        }
        if let Err(err) = sync_schedules(&deps.store, &schedules).await {
            tracing::warn!(node = %deps.node.id, error = %err, "cannot sync schedules");
        }
    }
}
