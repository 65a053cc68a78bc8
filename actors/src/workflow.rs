//! The workflow actor: one per workflow with work on this node, the place its versions are made.
//! A publish validates and compiles the graph it is given (the doc's materialised draft), stores an
//! immutable version (canonical export, checksum, plan, nodes and edges) and then brings the
//! workflow's schedule in line: the schedule actor on this node is started, or told to read the new
//! version (other nodes' schedule actors read it at their next wake). Publishes of one workflow on
//! one node are taken one at a time, in arrival order; across nodes the store numbers versions in
//! turn (the workflow row is locked while a version is written).

use std::sync::{Arc, OnceLock};

use aos_persistence::{By, NewVersion, Store, StoreError};
use aos_schema::{Catalog, ExportError, ExportFile, OrgId, ValidationErrors, WorkflowGraph, WorkflowId};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::registry::{ActorKind, ActorStats};
use crate::schedule::ScheduleMsg;
use crate::supervisor::{BoxFuture, ChildFactory, SupervisorHandle, parse_key, spawn_child};

/// A stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub version: i64,
    /// SHA-256 of the canonical export text, hex.
    pub checksum: String,
}

/// Why a publish was refused.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The graph does not validate or compile: every problem found.
    #[error("the workflow is not valid: {0}")]
    Invalid(ValidationErrors),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The workflow's actor could not take the request.
    #[error("the workflow's actor is unavailable")]
    Unavailable,
}

/// What a workflow actor handles.
#[derive(Debug)]
pub enum WorkflowMsg {
    /// Publish `graph` as the workflow's next version.
    Publish { request: PublishRequest, reply: RpcReplyPort<Result<Published, PublishError>> },
}

/// One publish.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    pub org: OrgId,
    /// The version's export file: the graph, with the workflow's name and description.
    pub file: ExportFile,
    pub by: By,
}

impl PublishRequest {
    /// A request to publish `graph` under the workflow name `name`.
    pub fn new(org: OrgId, name: impl Into<String>, graph: WorkflowGraph, by: By) -> Self {
        Self { org, file: ExportFile::new(name, graph), by }
    }
}

/// Validates, compiles and stores `request` as the next version of `workflow` (what the workflow
/// actor does, without the schedule upkeep; for a node without an actor tree).
pub async fn publish_version(
    store: &Store,
    workflow: WorkflowId,
    request: PublishRequest,
) -> Result<Published, PublishError> {
    let PublishRequest { org, file, by } = request;
    let plan = aos_schema::compile(&file.graph, &Catalog::builtin()).map_err(PublishError::Invalid)?;
    let plan = serde_json::to_value(plan)
        .map_err(|err| StoreError::Corrupt { what: "execution plan", reason: err.to_string() })?;
    let text = file.to_canonical_string()?;
    let checksum = file.checksum()?;
    let new = NewVersion {
        workflow_id: workflow,
        org_id: org,
        export: &text,
        checksum: &checksum,
        plan: &plan,
        graph: &file.graph,
    };
    let version = store.workflows().publish(&new, by).await?;
    Ok(Published { version: version.version, checksum })
}

/// The workflow actor.
#[derive(Debug, Default)]
pub struct WorkflowActor;

/// A workflow actor's start arguments.
#[derive(Debug, Clone)]
pub struct WorkflowArgs {
    pub workflow: WorkflowId,
    pub store: Store,
    /// This node's schedules supervisor, once the tree has started it.
    pub schedules: Arc<OnceLock<SupervisorHandle>>,
    pub stats: Arc<ActorStats>,
}

/// A workflow actor's state: nothing cached; every publish reads and writes the store.
#[derive(Debug)]
pub struct WorkflowState {
    args: WorkflowArgs,
}

impl Actor for WorkflowActor {
    type Msg = WorkflowMsg;
    type State = WorkflowState;
    type Arguments = WorkflowArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<WorkflowMsg>,
        args: WorkflowArgs,
    ) -> Result<WorkflowState, ActorProcessingErr> {
        args.store.workflows().get(args.workflow).await?;
        Ok(WorkflowState { args })
    }

    async fn handle(
        &self,
        _myself: ActorRef<WorkflowMsg>,
        msg: WorkflowMsg,
        state: &mut WorkflowState,
    ) -> Result<(), ActorProcessingErr> {
        state.args.stats.dequeued();
        match msg {
            WorkflowMsg::Publish { request, reply } => {
                let outcome = state.publish(request).await;
                if let Ok(published) = &outcome {
                    state.sync_schedule().await;
                    tracing::info!(workflow_id = %state.args.workflow, version = published.version, "workflow published");
                }
                let _caller_gone = reply.send(outcome);
            }
        }
        Ok(())
    }
}

impl WorkflowState {
    async fn publish(&self, request: PublishRequest) -> Result<Published, PublishError> {
        publish_version(&self.args.store, self.args.workflow, request).await
    }

    /// Brings this node's schedule for the workflow up to the version just published.
    async fn sync_schedule(&self) {
        if let Some(schedules) = self.args.schedules.get() {
            sync_schedule(&self.args.store, schedules, self.args.workflow).await;
        }
    }
}

/// Starts this node's schedule actor for `workflow` if its current version is scheduled, or tells
/// a running one to read its schedule again (it stops itself when no longer scheduled): after a
/// publish, and after anything else that changes the current version or the workflow (a revert,
/// an enable or disable), so the change takes effect now rather than at the schedule's next wake.
pub(crate) async fn sync_schedule(store: &Store, schedules: &SupervisorHandle, workflow: WorkflowId) {
    let key = workflow.to_string();
    match schedules.find(&key).await {
        Ok(Some(child)) => {
            child.stats.enqueued();
            let actor: ActorRef<ScheduleMsg> = child.cell.into();
            if actor.send_message(ScheduleMsg::Reload).is_err() {
                child.stats.dequeued();
            }
        }
        Ok(None) => match store.workflows().scheduled_workflow(workflow).await {
            Ok(Some(_)) => {
                if let Err(err) = schedules.start(&key).await {
                    tracing::warn!(workflow_id = %workflow, error = %err, "could not start schedule");
                }
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(workflow_id = %workflow, error = %err, "cannot read schedule"),
        },
        Err(err) => tracing::warn!(workflow_id = %workflow, error = %err, "schedules unavailable"),
    }
}

/// Starts workflow actors under the workflows supervisor: the child key is the workflow id.
#[derive(Debug, Clone)]
pub struct WorkflowFactory {
    pub store: Store,
    pub schedules: Arc<OnceLock<SupervisorHandle>>,
}

impl ChildFactory for WorkflowFactory {
    fn kind(&self) -> ActorKind {
        ActorKind::Workflow
    }

    fn start(
        &self,
        key: String,
        supervisor: ractor::ActorCell,
        stats: Arc<ActorStats>,
    ) -> BoxFuture<Result<ractor::ActorCell, ractor::SpawnErr>> {
        let store = self.store.clone();
        let schedules = Arc::clone(&self.schedules);
        Box::pin(async move {
            let workflow: WorkflowId = parse_key(&key, "workflow id")?;
            spawn_child(WorkflowActor, WorkflowArgs { workflow, store, schedules, stats }, supervisor).await
        })
    }
}
