//! The seam draft writes go through. `PUT /api/workflows/{id}/graph` (and imports, installs,
//! reverts) hand the whole graph to a [`GraphWriter`]: with the actor tree's doc rooms,
//! [`RoomGraphWriter`] applies it to the room's yrs doc as one CRDT change (so open editors see
//! it) and the room persists it; without them, [`StoreGraphWriter`] stores it as the workflow's
//! draft row. The handlers are the same either way.

use aos_persistence::{By, Store};
use aos_schema::{OrgId, WorkflowGraph, WorkflowId};
use std::future::Future;
use std::pin::Pin;

use crate::error::ApiError;

/// A boxed, sendable future (the trait stays dyn-compatible).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Writes a workflow's draft graph.
pub trait GraphWriter: std::fmt::Debug + Send + Sync {
    /// Replaces the draft of `workflow` (of `org`) with `graph`.
    fn write<'a>(
        &'a self,
        org: OrgId,
        workflow: WorkflowId,
        graph: &'a WorkflowGraph,
        by: By,
    ) -> BoxFuture<'a, Result<(), ApiError>>;
}

/// Stores drafts in the `workflow_drafts` table.
#[derive(Debug, Clone)]
pub struct StoreGraphWriter {
    pub store: Store,
}

impl GraphWriter for StoreGraphWriter {
    fn write<'a>(
        &'a self,
        org: OrgId,
        workflow: WorkflowId,
        graph: &'a WorkflowGraph,
        by: By,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move { Ok(self.store.drafts().put(org, workflow, graph, by).await?) })
    }
}

/// Writes drafts into the workflow's live doc (one CRDT change, so open editors see it) and keeps
/// the `workflow_drafts` row, which records who wrote it, in step.
#[derive(Debug, Clone)]
pub struct RoomGraphWriter {
    pub store: Store,
    pub rooms: aos_realtime::DocRooms,
}

impl GraphWriter for RoomGraphWriter {
    fn write<'a>(
        &'a self,
        org: OrgId,
        workflow: WorkflowId,
        graph: &'a WorkflowGraph,
        by: By,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            ensure_doc(&self.store, org, workflow).await?;
            self.rooms.apply_graph(workflow, graph, &format!("api:{by}")).await?;
            Ok(self.store.drafts().put(org, workflow, graph, by).await?)
        })
    }
}

/// Seeds the live doc of a workflow that has none yet from its stored draft (a workflow created
/// before its doc existed, or on a node without rooms); a no-op once the doc exists.
pub async fn ensure_doc(store: &Store, org: OrgId, workflow: WorkflowId) -> Result<(), ApiError> {
    let stored = store.drafts().get(org, workflow).await?.map(|draft| draft.graph).unwrap_or_default();
    aos_realtime::seed_doc(store, workflow, &stored).await?;
    Ok(())
}
