//! The seam draft writes go through. `PUT /api/workflows/{id}/graph` hands the whole graph to a
//! [`GraphWriter`]; today [`StoreGraphWriter`] stores it as the workflow's draft row. When the
//! live doc room lands, its writer applies the graph to the room's yrs doc as one CRDT change (so
//! open editors see it) and the room persists it; the handlers do not change.

use aos_persistence::{Actor, Store};
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
        by: Actor,
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
        by: Actor,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move { Ok(self.store.drafts().put(org, workflow, graph, by).await?) })
    }
}
