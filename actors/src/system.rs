//! The actor tree of one process: a root supervisor over one supervisor per kind. Today the kinds
//! are `runs` (run actors), `schedules` (one actor per scheduled workflow) and `webhook-sources`
//! (one actor per source that received a delivery); the workflow, webhook-source, schedule, doc-room and step-worker kinds
//! join as they are built. On start a node resumes every unfinished run it finds in the database,
//! which is how a run survives the loss of the process that was running it.

use std::sync::Arc;

use aos_schema::{RunId, WebhookSourceId};
use ractor::{Actor, SpawnErr};

use crate::policy::RestartPolicy;
use crate::registry::{ActorKind, ActorNode, Registry};
use crate::run::{RunDeps, RunFactory};
use crate::schedule::ScheduleFactory;
use crate::supervisor::{Supervisor, SupervisorArgs, SupervisorError, SupervisorFactory, SupervisorHandle};
use crate::webhook::{Accepted, Delivery, DeliveryError, WebhookFactory, WebhookMsg};

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
    runs: SupervisorHandle,
    schedules: SupervisorHandle,
    webhooks: SupervisorHandle,
    deps: RunDeps,
}

/// The name of the runs supervisor.
pub const RUNS: &str = "runs";
/// The name of the schedules supervisor.
pub const SCHEDULES: &str = "schedules";
/// The name of the webhook-sources supervisor.
pub const WEBHOOK_SOURCES: &str = "webhook-sources";

impl ActorSystem {
    /// Starts the root and the kind supervisors.
    pub async fn start(deps: RunDeps) -> Result<Self, SystemError> {
        let registry = Arc::new(Registry::default());
        let runs_handle = Arc::new(std::sync::OnceLock::new());
        let kinds = SupervisorFactory::new(Arc::clone(&registry))
            .with_kind(RUNS, RestartPolicy::default(), Arc::new(RunFactory { deps: deps.clone() }))
            .with_kind(
                SCHEDULES,
                RestartPolicy::default(),
                Arc::new(ScheduleFactory { store: deps.store.clone(), runs: Arc::clone(&runs_handle) }),
            )
            .with_kind(
                WEBHOOK_SOURCES,
                RestartPolicy::default(),
                Arc::new(WebhookFactory { store: deps.store.clone(), runs: Arc::clone(&runs_handle) }),
            );
        let root_stats = registry.register(ActorKind::Root, "root", None);
        let args = SupervisorArgs {
            name: "root".into(),
            policy: RestartPolicy::default(),
            factory: Arc::new(kinds),
            registry: Arc::clone(&registry),
            stats: Arc::clone(&root_stats),
        };
        let (root_actor, _) = Actor::spawn(None, Supervisor, args).await?;
        let root = SupervisorHandle { actor: root_actor, stats: root_stats };
        let runs = root.start(RUNS).await?;
        let runs = SupervisorHandle { actor: runs.cell.into(), stats: runs.stats };
        let _first_start = runs_handle.set(runs.clone());
        let schedules = root.start(SCHEDULES).await?;
        let schedules = SupervisorHandle { actor: schedules.cell.into(), stats: schedules.stats };
        let webhooks = root.start(WEBHOOK_SOURCES).await?;
        let webhooks = SupervisorHandle { actor: webhooks.cell.into(), stats: webhooks.stats };
        Ok(Self { registry, root, runs, schedules, webhooks, deps })
    }

    /// Starts (or finds) the actor of a run.
    pub async fn start_run(&self, run: RunId) -> Result<(), SystemError> {
        self.runs.start(&run.to_string()).await?;
        Ok(())
    }

    /// Starts an actor for every run the database says is unfinished. Returns how many.
    pub async fn resume_unfinished(&self) -> Result<usize, SystemError> {
        let runs = self.deps.store.runs().unfinished(100_000).await?;
        for run in &runs {
            if let Err(err) = self.start_run(run.id).await {
                tracing::warn!(run_id = %run.id, error = %err, "could not resume run");
            }
        }
        Ok(runs.len())
    }

    /// Hands a delivery to its source's actor (starting it if needed) and waits for the verdict.
    pub async fn deliver(&self, source: WebhookSourceId, delivery: Delivery) -> Result<Accepted, DeliveryError> {
        let child = self.webhooks.start(&source.to_string()).await.map_err(|_| DeliveryError::Unavailable)?;
        let actor: ractor::ActorRef<WebhookMsg> = child.cell.into();
        child.stats.enqueued();
        match actor.call(|reply| WebhookMsg::Deliver { delivery, reply }, None).await {
            Ok(ractor::rpc::CallResult::Success(outcome)) => outcome,
            _ => Err(DeliveryError::Unavailable),
        }
    }

    /// Starts a schedule actor for every enabled scheduled workflow not yet running here.
    /// Returns how many workflows are scheduled.
    pub async fn sync_schedules(&self) -> Result<usize, SystemError> {
        let scheduled = self.deps.store.workflows().scheduled().await?;
        for workflow in &scheduled {
            if let Err(err) = self.schedules.start(&workflow.workflow_id.to_string()).await {
                tracing::warn!(workflow_id = %workflow.workflow_id, error = %err, "could not start schedule");
            }
        }
        Ok(scheduled.len())
    }

    /// The live tree, for introspection.
    pub fn snapshot(&self) -> Vec<ActorNode> {
        self.registry.snapshot()
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Stops the whole tree.
    pub fn stop(&self) {
        self.root.actor.stop(Some("shutting down".into()));
    }
}
