//! The stored draft graph of each workflow: what `GET /api/workflows/{id}` shows and what
//! publishing starts from, until the live doc room owns drafts. Writes are audited.

use aos_schema::{OrgId, WorkflowGraph, WorkflowId};

use crate::Timestamp;
use crate::audit::{AuditEntry, AuditTx, By};
use crate::db::{Db, in_tx, now, with_pool};
use crate::error::StoreResult;
use crate::queries::orgs::{corrupt, not_found};

/// A workflow's draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub workflow_id: WorkflowId,
    pub graph: WorkflowGraph,
    pub updated_by: String,
    pub updated_at: Timestamp,
}

/// The drafts repository.
#[derive(Debug, Clone, Copy)]
pub struct Drafts<'a> {
    pub(crate) db: &'a Db,
}

impl Drafts<'_> {
    /// The draft of a workflow of `org`, or `None` when none was written yet. A workflow of
    /// another org is `NotFound`.
    pub async fn get(&self, org: OrgId, workflow: WorkflowId) -> StoreResult<Option<Draft>> {
        let row: Option<(String, String, Timestamp)> = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT d.graph, d.updated_by, d.updated_at FROM workflow_drafts d \
                 JOIN workflows w ON w.id = d.workflow_id WHERE d.workflow_id = $1 AND w.org_id = $2",
            )
            .bind(workflow.as_uuid())
            .bind(org.as_uuid())
            .fetch_optional(pool)
            .await?
        });
        if row.is_none() {
            self.exists(org, workflow).await?;
            return Ok(None);
        }
        row.map(|(graph, updated_by, updated_at)| {
            let graph = serde_json::from_str(&graph).map_err(|err| corrupt("draft graph", err))?;
            Ok(Draft { workflow_id: workflow, graph, updated_by, updated_at })
        })
        .transpose()
    }

    /// Replaces the draft of a workflow of `org`, auditing the write.
    pub async fn put(&self, org: OrgId, workflow: WorkflowId, graph: &WorkflowGraph, by: By) -> StoreResult<()> {
        let text = serde_json::to_string(graph).map_err(|err| corrupt("draft graph", err))?;
        let at = now();
        in_tx!(self.db, |tx| {
            let found: Option<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM workflows WHERE id = $1 AND org_id = $2")
                .bind(workflow.as_uuid())
                .bind(org.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            if found.is_none() {
                return Err(not_found("workflow", workflow));
            }
            sqlx::query(
                "INSERT INTO workflow_drafts (workflow_id, org_id, graph, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workflow_id) DO UPDATE \
                 SET graph = excluded.graph, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            )
            .bind(workflow.as_uuid())
            .bind(org.as_uuid())
            .bind(&text)
            .bind(by.to_string())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.append_audit(
                &AuditEntry::new(org, by, "workflow.draft.write", ("workflow", workflow.to_string()))
                    .with_detail(serde_json::json!({ "nodes": graph.nodes.len(), "edges": graph.edges.len() })),
            )
            .await?;
        });
        Ok(())
    }

    async fn exists(&self, org: OrgId, workflow: WorkflowId) -> StoreResult<()> {
        let found: Option<(uuid::Uuid,)> = with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT id FROM workflows WHERE id = $1 AND org_id = $2")
                .bind(workflow.as_uuid())
                .bind(org.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        found.map(|_| ()).ok_or_else(|| not_found("workflow", workflow))
    }
}
