//! The API's JSON as the dashboard reads it: one plain struct per response shape of the gateway's
//! routes (`gateway/src/routes/*.rs`). Fields the dashboard does not show are left out; times stay
//! RFC 3339 text and are parsed where they are shown ([`crate::clock`]).

use aos_schema::{DlqEntryId, DlqStatus, OrgId, Role, RunId, RunStatus, StepStatus, UserId, WorkflowId};
use serde::Deserialize;

// the shapes the gateway sends as they are
pub use aos_api::{
    ActorView, Balance, BulkReplay, ChainBreak, ChainVerification, DailyUsage, ErrorBody, ErrorDetail, LedgerEntry,
    PricePlan, RunCreated, UsageSummary, UsageTotals, WorkflowUsage,
};
use serde_json::Value;

/// `POST /api/auth/login` and `/refresh`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Tokens {
    pub token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// `GET /api/auth/me`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Me {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub platform_admin: bool,
    #[serde(default)]
    pub orgs: Vec<MyOrg>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MyOrg {
    pub org_id: OrgId,
    pub role: Role,
}

/// `GET /api/orgs` rows: an org and the caller's role there.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrgView {
    pub id: OrgId,
    pub name: String,
    pub role: Role,
}

/// `GET /api/orgs/{org}/workflows` rows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Workflow {
    pub id: WorkflowId,
    pub org_id: OrgId,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Whether triggers start runs.
    pub enabled: bool,
    pub current_version: Option<i64>,
    pub updated_at: String,
}

/// `GET /api/workflows/{id}/webhooks` rows; `url` is `None` for viewers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WebhookSource {
    pub id: String,
    pub name: String,
    pub token_prefix: String,
    pub enabled: bool,
    #[serde(default)]
    pub url: Option<String>,
}

/// `GET /api/orgs/{org}/runs` rows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Run {
    pub id: RunId,
    pub workflow_id: WorkflowId,
    pub version: i64,
    pub status: RunStatus,
    pub trigger_kind: String,
    #[serde(default)]
    pub input: Value,
    pub replay_of: Option<RunId>,
    pub error: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// `GET /api/runs/{id}`: the run and the latest attempt of each step.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: Run,
    #[serde(default)]
    pub steps: Vec<StepView>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StepView {
    pub node_id: String,
    pub status: StepStatus,
    pub attempts: i64,
    /// What the latest attempt received.
    #[serde(default)]
    pub input: Option<Value>,
    /// As the API gives it: secret values already replaced by `[redacted]`.
    pub output: Option<Value>,
    pub error: Option<String>,
}

/// One run-log row, from `GET /api/runs/{id}/logs` and the `/ws/events` stream alike.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunLog {
    pub seq: i64,
    pub run_id: RunId,
    pub workflow_id: WorkflowId,
    pub node_id: Option<String>,
    pub level: String,
    /// `run_started`, `step_queued`, `step_started`, `step_succeeded`, `step_failed`,
    /// `step_retrying`, `step_skipped`, `run_finished`, ...
    pub event: String,
    pub message: String,
    #[serde(default)]
    pub data: Value,
    pub created_at: String,
}

/// `GET /api/orgs/{org}/dlq` rows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DlqEntry {
    pub id: DlqEntryId,
    pub run_id: RunId,
    pub workflow_id: WorkflowId,
    pub node_id: String,
    pub error: String,
    /// The failed step's input.
    #[serde(default)]
    pub input: Value,
    pub status: DlqStatus,
    pub created_at: String,
}

/// `GET /api/orgs/{org}/secrets` rows: never a value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SecretMeta {
    pub name: String,
    pub key_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_used_at: Option<String>,
}

/// `GET /api/orgs/{org}/installations` rows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Installation {
    pub template_id: String,
    pub template_version: i64,
    pub workflow_id: WorkflowId,
    pub installed_by: String,
    pub created_at: String,
}

/// `GET /api/orgs/{org}/audit` rows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuditRecord {
    pub chain_seq: i64,
    pub actor: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    /// Canonical JSON text.
    pub detail: String,
    pub created_at: String,
    pub hash: String,
}

/// `GET /api/workflows/{id}/versions/{n}`: the version's export file holds its graph.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VersionDetail {
    pub version: i64,
    pub export: VersionExport,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VersionExport {
    pub graph: aos_schema::WorkflowGraph,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_run_detail_as_the_gateway_writes_it() {
        let text = r#"{"id":"0193a0a0-0000-7000-8000-000000000001","org_id":"0193a0a0-0000-7000-8000-000000000002",
            "workflow_id":"0193a0a0-0000-7000-8000-000000000003","version":2,"status":"dead_lettered",
            "trigger_kind":"webhook","idempotency_key":null,"input":{"a":1},"replay_of":null,"error":null,
            "created_at":"2026-11-25T21:41:23.288557Z","started_at":null,"finished_at":null,
            "steps":[{"node_id":"fetch","status":"failed","attempts":3,"error":"boom"},
                     {"node_id":"shape","status":"succeeded","attempts":1,"output":{"token":"[redacted]"}}]}"#;
        let detail: RunDetail = serde_json::from_str(text).unwrap();
        assert_eq!(detail.run.status, RunStatus::DeadLettered);
        assert_eq!(detail.steps.len(), 2);
        assert_eq!(detail.steps[0].attempts, 3);
        assert_eq!(detail.steps[1].output.as_ref().unwrap()["token"], "[redacted]");
    }

    #[test]
    fn reads_the_actor_tree() {
        let text = r#"[{"id":"1","kind":"root","name":"root","status":"running","mailbox":0,"restarts":0,
            "uptime_ms":5,"children":[{"id":"2","kind":"supervisor","name":"runs","status":"running",
            "mailbox":3,"restarts":1,"uptime_ms":4,"children":[]}]}]"#;
        let tree: Vec<ActorView> = serde_json::from_str(text).unwrap();
        assert_eq!(tree[0].children[0].mailbox, 3);
    }
}
