//! Workflows and their immutable published versions (with the version's nodes and edges broken out
//! into rows for querying).

use crate::Timestamp;
use aos_schema::{OrgId, WorkflowGraph, WorkflowId, WorkflowVersionId};
use serde::Serialize;
use sqlx::types::Json;

use crate::audit::{AuditEntry, AuditTx, By};
use crate::db::{Db, in_tx, now, with_pool};
use crate::error::StoreResult;
use crate::queries::orgs::not_found;

/// A workflow's row: what it is called, whether its triggers are live, which version is current.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Workflow {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: WorkflowId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
    /// Whether triggers (webhooks, schedules) start runs.
    pub enabled: bool,
    /// The published version runs use; `None` until the first publish.
    pub current_version: Option<i64>,
    /// Who created it (`user:<id>`, `api_key:<id>` or `system`).
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One published version. Immutable: the database refuses UPDATE on these rows.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct WorkflowVersion {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: WorkflowVersionId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub workflow_id: WorkflowId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    /// 1, 2, 3, ... per workflow.
    pub version: i64,
    /// The canonical export file of this version (its exact bytes).
    pub export: String,
    /// The compiled execution plan as JSON.
    #[sqlx(json)]
    pub plan: serde_json::Value,
    /// sha256 hex of `export`.
    pub checksum: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// A node of a published version, as stored for querying ("which versions use slack?").
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct VersionNode {
    pub node_id: String,
    pub kind: String,
    pub label: String,
    pub x: f64,
    pub y: f64,
    #[sqlx(json)]
    pub config: serde_json::Value,
}

/// An edge of a published version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct VersionEdge {
    pub edge_id: String,
    pub from_node: String,
    pub from_port: String,
    pub to_node: String,
    pub to_port: String,
}

/// An enabled workflow whose current version starts on a schedule.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ScheduledWorkflow {
    #[sqlx(try_from = "uuid::Uuid")]
    pub workflow_id: WorkflowId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    pub version: i64,
    /// The schedule trigger node's config (`cron`, `timezone`, `missed`).
    #[sqlx(json)]
    pub config: serde_json::Value,
}

/// A new workflow.
#[derive(Debug, Clone)]
pub struct NewWorkflow {
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
}

/// Changes to a workflow's own fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WorkflowPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// What publishing stores: the graph already validated and compiled by the caller.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    pub workflow_id: WorkflowId,
    pub org_id: OrgId,
    /// The canonical export file text.
    pub export: &'a str,
    pub checksum: &'a str,
    pub plan: &'a serde_json::Value,
    pub graph: &'a WorkflowGraph,
}

/// The workflow repository.
#[derive(Debug, Clone, Copy)]
pub struct Workflows<'a> {
    pub(crate) db: &'a Db,
}

impl Workflows<'_> {
    pub async fn create(&self, new: &NewWorkflow, by: By) -> StoreResult<Workflow> {
        let id = WorkflowId::new();
        let at = now();
        Ok(in_tx!(self.db, |tx| {
            let workflow: Workflow = sqlx::query_as(
                "INSERT INTO workflows (id, org_id, name, description, enabled, current_version, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $7) RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(new.org_id.as_uuid())
            .bind(&new.name)
            .bind(&new.description)
            .bind(true)
            .bind(by.to_string())
            .bind(at)
            .fetch_all(&mut *tx)
            .await?.into_iter().next().ok_or(sqlx::Error::RowNotFound)?;
            tx.append_audit(
                &AuditEntry::new(new.org_id, by, "workflow.create", ("workflow", id.to_string()))
                    .with_detail(serde_json::json!({ "name": new.name })),
            )
            .await?;
            workflow
        }))
    }

    /// A workflow by id, whatever its org: callers check the caller's membership in `org_id`.
    pub async fn get(&self, id: WorkflowId) -> StoreResult<Workflow> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM workflows WHERE id = $1").bind(id.as_uuid()).fetch_optional(pool).await?
        })
        .ok_or_else(|| not_found("workflow", id))
    }

    /// A workflow of `org`; another org's workflow is `NotFound`.
    pub async fn get_in(&self, org: OrgId, id: WorkflowId) -> StoreResult<Workflow> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM workflows WHERE id = $1 AND org_id = $2")
                .bind(id.as_uuid())
                .bind(org.as_uuid())
                .fetch_optional(pool)
                .await?
        })
        .ok_or_else(|| not_found("workflow", id))
    }

    /// Every workflow of `org`, by name (sorted here, not by the database's collation, so both
    /// backends agree).
    pub async fn list(&self, org: OrgId) -> StoreResult<Vec<Workflow>> {
        let mut workflows: Vec<Workflow> = with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM workflows WHERE org_id = $1").bind(org.as_uuid()).fetch_all(pool).await?
        });
        workflows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(workflows)
    }

    /// Every enabled workflow whose current version has a `trigger.schedule` node.
    pub async fn scheduled(&self) -> StoreResult<Vec<ScheduledWorkflow>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT w.id AS workflow_id, w.org_id, v.version, n.config FROM workflows w \
                 JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version \
                 JOIN workflow_nodes n ON n.version_id = v.id \
                 WHERE w.enabled = $1 AND n.kind = 'trigger.schedule' ORDER BY w.id",
            )
            .bind(true)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The schedule of one workflow, if it is enabled and its current version has a
    /// `trigger.schedule` node.
    pub async fn scheduled_workflow(&self, id: WorkflowId) -> StoreResult<Option<ScheduledWorkflow>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT w.id AS workflow_id, w.org_id, v.version, n.config FROM workflows w \
                 JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version \
                 JOIN workflow_nodes n ON n.version_id = v.id \
                 WHERE w.id = $1 AND w.enabled = $2 AND n.kind = 'trigger.schedule' LIMIT 1",
            )
            .bind(id.as_uuid())
            .bind(true)
            .fetch_optional(pool)
            .await?
        }))
    }

    pub async fn update(&self, org: OrgId, id: WorkflowId, patch: &WorkflowPatch, by: By) -> StoreResult<Workflow> {
        Ok(in_tx!(self.db, |tx| {
            let updated: Option<Workflow> = sqlx::query_as(
                "UPDATE workflows SET name = COALESCE($3, name), description = COALESCE($4, description), \
                 enabled = COALESCE($5, enabled), updated_at = $6 WHERE id = $1 AND org_id = $2 RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(org.as_uuid())
            .bind(&patch.name)
            .bind(&patch.description)
            .bind(patch.enabled)
            .bind(now())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
            let Some(workflow) = updated else { return Err(not_found("workflow", id)) };
            tx.append_audit(&AuditEntry::new(org, by, "workflow.update", ("workflow", id.to_string())).with_detail(
                serde_json::json!({ "name": patch.name, "description": patch.description, "enabled": patch.enabled }),
            ))
            .await?;
            workflow
        }))
    }

    /// Deletes a workflow with its versions, sources and runs. Run logs and audit rows stay.
    pub async fn delete(&self, org: OrgId, id: WorkflowId, by: By) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            let done = sqlx::query("DELETE FROM workflows WHERE id = $1 AND org_id = $2")
                .bind(id.as_uuid())
                .bind(org.as_uuid())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(not_found("workflow", id));
            }
            tx.append_audit(&AuditEntry::new(org, by, "workflow.delete", ("workflow", id.to_string()))).await?;
        });
        Ok(())
    }

    /// Stores the next version (numbered inside the transaction), its nodes and edges, and makes it
    /// current.
    pub async fn publish(&self, new: &NewVersion<'_>, by: By) -> StoreResult<WorkflowVersion> {
        let id = WorkflowVersionId::new();
        Ok(in_tx!(self.db, |tx| {
            // Locks the workflow row (Postgres) so two publishers number their versions in turn.
            let current: Option<(Option<i64>,)> = sqlx::query_as(
                "UPDATE workflows SET updated_at = $3 WHERE id = $1 AND org_id = $2 RETURNING current_version",
            )
            .bind(new.workflow_id.as_uuid())
            .bind(new.org_id.as_uuid())
            .bind(now())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
            let Some((_current,)) = current else { return Err(not_found("workflow", new.workflow_id)) };
            let latest: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM workflow_versions WHERE workflow_id = $1")
                    .bind(new.workflow_id.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
            let number = latest.unwrap_or(0) + 1;
            let version: WorkflowVersion = sqlx::query_as(
                "INSERT INTO workflow_versions (id, workflow_id, org_id, version, export, plan, checksum, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(new.workflow_id.as_uuid())
            .bind(new.org_id.as_uuid())
            .bind(number)
            .bind(new.export)
            .bind(Json(new.plan))
            .bind(new.checksum)
            .bind(by.to_string())
            .bind(now())
            .fetch_all(&mut *tx)
            .await?.into_iter().next().ok_or(sqlx::Error::RowNotFound)?;
            for node in &new.graph.nodes {
                sqlx::query(
                    "INSERT INTO workflow_nodes (version_id, node_id, kind, label, x, y, config) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id.as_uuid())
                .bind(node.id.as_str())
                .bind(&node.kind)
                .bind(&node.label)
                .bind(node.position.x)
                .bind(node.position.y)
                .bind(Json(&node.config))
                .execute(&mut *tx)
                .await?;
            }
            for edge in &new.graph.edges {
                sqlx::query(
                    "INSERT INTO workflow_edges (version_id, edge_id, from_node, from_port, to_node, to_port) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id.as_uuid())
                .bind(edge.id.as_str())
                .bind(edge.from.as_str())
                .bind(&edge.from_port)
                .bind(edge.to.as_str())
                .bind(&edge.to_port)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE workflows SET current_version = $2 WHERE id = $1")
                .bind(new.workflow_id.as_uuid())
                .bind(number)
                .execute(&mut *tx)
                .await?;
            tx.append_audit(
                &AuditEntry::new(new.org_id, by, "workflow.publish", ("workflow", new.workflow_id.to_string()))
                    .with_detail(serde_json::json!({ "version": number, "checksum": new.checksum })),
            )
            .await?;
            version
        }))
    }

    /// Points the workflow at an existing version (revert), audited.
    pub async fn set_current_version(&self, org: OrgId, id: WorkflowId, version: i64, by: By) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM workflow_versions WHERE workflow_id = $1 AND org_id = $2 AND version = $3",
            )
            .bind(id.as_uuid())
            .bind(org.as_uuid())
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
            if exists.is_none() {
                return Err(not_found("workflow version", format!("{id}@{version}")));
            }
            sqlx::query("UPDATE workflows SET current_version = $2, updated_at = $3 WHERE id = $1")
                .bind(id.as_uuid())
                .bind(version)
                .bind(now())
                .execute(&mut *tx)
                .await?;
            tx.append_audit(
                &AuditEntry::new(org, by, "workflow.revert", ("workflow", id.to_string()))
                    .with_detail(serde_json::json!({ "version": version })),
            )
            .await?;
        });
        Ok(())
    }

    /// Every version of a workflow of `org`, oldest first.
    pub async fn versions(&self, org: OrgId, id: WorkflowId) -> StoreResult<Vec<WorkflowVersion>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM workflow_versions WHERE workflow_id = $1 AND org_id = $2 ORDER BY version")
                .bind(id.as_uuid())
                .bind(org.as_uuid())
                .fetch_all(pool)
                .await?
        }))
    }

    /// One version of a workflow of `org`.
    pub async fn version(&self, org: OrgId, id: WorkflowId, version: i64) -> StoreResult<WorkflowVersion> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM workflow_versions WHERE workflow_id = $1 AND org_id = $2 AND version = $3")
                .bind(id.as_uuid())
                .bind(org.as_uuid())
                .bind(version)
                .fetch_optional(pool)
                .await?
        })
        .ok_or_else(|| not_found("workflow version", format!("{id}@{version}")))
    }

    /// The nodes and edges of a stored version, ordered by id.
    pub async fn version_parts(&self, version: WorkflowVersionId) -> StoreResult<(Vec<VersionNode>, Vec<VersionEdge>)> {
        let (mut nodes, mut edges): (Vec<VersionNode>, Vec<VersionEdge>) = with_pool!(self.db, |pool| {
            let nodes =
                sqlx::query_as("SELECT node_id, kind, label, x, y, config FROM workflow_nodes WHERE version_id = $1")
                    .bind(version.as_uuid())
                    .fetch_all(pool)
                    .await?;
            let edges = sqlx::query_as(
                "SELECT edge_id, from_node, from_port, to_node, to_port FROM workflow_edges WHERE version_id = $1",
            )
            .bind(version.as_uuid())
            .fetch_all(pool)
            .await?;
            (nodes, edges)
        });
        nodes.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        edges.sort_by(|a, b| a.edge_id.cmp(&b.edge_id));
        Ok((nodes, edges))
    }
}
