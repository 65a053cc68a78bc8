//! Workflows: as listed and read (with the draft graph), what creating and changing one takes,
//! and its published versions.

use aos_schema::{GraphDiff, ImportWarning, OrgId, RequiredSecret, Unmapped, WorkflowGraph, WorkflowId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A workflow: `GET /api/orgs/{org}/workflows` rows, and what create and update answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    pub id: WorkflowId,
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
    /// Whether triggers (webhooks, schedules) start runs.
    pub enabled: bool,
    /// The published version runs use; `None` until the first publish.
    pub current_version: Option<i64>,
    /// Who created it (`user:<id>`, `api_key:<id>` or `system`).
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /api/workflows/{id}`: the workflow and its current draft graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowDetail {
    #[serde(flatten)]
    pub workflow: Workflow,
    pub graph: WorkflowGraph,
}

/// `POST /api/orgs/{org}/workflows`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkflow {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// `PATCH /api/workflows/{id}`: what to change; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Switches the triggers on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `PUT /api/workflows/{id}/graph`: the draft graph written, by size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphWritten {
    pub nodes: usize,
    pub edges: usize,
}

/// `POST /api/workflows/{id}/publish`: the new version (and `…/versions/{n}/revert`: the version made
/// current again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub version: i64,
    /// SHA-256 of the version's canonical export text.
    pub checksum: String,
}

/// A published version as listed (`GET /api/workflows/{id}/versions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionSummary {
    pub version: i64,
    pub checksum: String,
    pub created_by: String,
    pub created_at: String,
}

/// `GET /api/workflows/{id}/versions/{n}`: the version and its export file (its `graph` is the
/// version's graph).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionDetail {
    #[serde(flatten)]
    pub summary: VersionSummary,
    pub export: Value,
}

impl VersionDetail {
    /// The version's graph, read from its export file.
    pub fn graph(&self) -> Option<WorkflowGraph> {
        self.export.get("graph").and_then(|graph| WorkflowGraph::deserialize(graph).ok())
    }
}

/// What one graph would become as another: sizes, whether they are the same, and the diff (nodes
/// and edges added and removed, nodes changed down to config keys) the studio draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphChanges {
    pub identical: bool,
    pub nodes_before: usize,
    pub nodes_after: usize,
    pub edges_before: usize,
    pub edges_after: usize,
    pub diff: GraphDiff,
}

impl GraphChanges {
    pub fn between(before: &WorkflowGraph, after: &WorkflowGraph) -> Self {
        let diff = aos_schema::diff_graphs(before, after);
        Self {
            identical: diff.is_empty(),
            nodes_before: before.nodes.len(),
            nodes_after: after.nodes.len(),
            edges_before: before.edges.len(),
            edges_after: after.edges.len(),
            diff,
        }
    }
}

/// `GET /api/workflows/{id}/versions/{from}/diff/{to}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionDiff {
    pub from: i64,
    pub to: i64,
    pub changes: GraphChanges,
}

/// What converting an n8n workflow had to say: the nodes that did not map, what was carried over
/// only in part, and the secrets to set before running it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct N8nReport {
    pub unmapped: Vec<Unmapped>,
    pub warnings: Vec<ImportWarning>,
    pub secrets: Vec<RequiredSecret>,
    /// Nodes in the n8n file.
    #[serde(default)]
    pub nodes: usize,
    /// Nodes imported as the step they were.
    #[serde(default)]
    pub mapped: usize,
    /// Expressions translated (those kept as written are among `warnings`).
    #[serde(default)]
    pub translated: usize,
}

/// `POST /api/orgs/{org}/workflows/import?dry_run=true[&into=ID]`: what the import would make,
/// and with `into`, what it would change in that workflow's draft. Nothing is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportPreview {
    /// Always true: nothing was written.
    pub dry_run: bool,
    pub name: String,
    pub nodes: usize,
    pub edges: usize,
    /// The secrets the workflow reads.
    pub required_secrets: Vec<String>,
    pub into: Option<WorkflowId>,
    pub changes: Option<GraphChanges>,
    /// For an n8n file.
    pub n8n: Option<N8nReport>,
}

/// `POST /api/orgs/{org}/workflows/import`: the new workflow, the secrets it reads and, for an n8n
/// file, the conversion's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    #[serde(flatten)]
    pub workflow: Workflow,
    pub required_secrets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n8n: Option<N8nReport>,
}
