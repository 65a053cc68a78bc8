//! Usage and credits.

use aos_schema::{CreditKind, OrgId, RunId, WorkflowId};
use serde::{Deserialize, Serialize};

/// Usage added up (`GET /api/runs/{id}/usage`, and the totals of a summary).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageTotals {
    /// Distinct runs.
    pub runs: i64,
    pub steps: i64,
    pub compute_ms: i64,
    pub bytes: i64,
    pub cost_micros: i64,
}

/// One workflow's share of a summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowUsage {
    pub workflow_id: WorkflowId,
    pub totals: UsageTotals,
}

/// One UTC day's share of a summary. A run spanning midnight counts on both days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyUsage {
    /// `2026-11-25`.
    pub day: String,
    pub totals: UsageTotals,
}

/// `GET /api/orgs/{org}/usage`: an org's usage over a time range, in total, per workflow
/// (costliest first, then by id) and per UTC day (in order; days without usage are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageSummary {
    pub totals: UsageTotals,
    #[serde(default)]
    pub by_workflow: Vec<WorkflowUsage>,
    #[serde(default)]
    pub by_day: Vec<DailyUsage>,
}

/// `GET /api/orgs/{org}/billing`: the org's credit balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub balance_micros: i64,
}

/// `GET /api/billing/plan`: a price table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricePlan {
    pub id: String,
    pub name: String,
    /// Charged once per run.
    pub run_micros: i64,
    pub step_micros: i64,
    pub compute_second_micros: i64,
    /// Per 10^9 bytes.
    pub gigabyte_micros: i64,
    /// Whether new usage is priced with this plan (the newest active plan wins).
    pub active: bool,
    pub created_at: String,
}

/// `GET /api/orgs/{org}/billing/ledger` rows (newest first) and a top-up's answer. Rows are
/// never changed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Position in the ledger (global, increasing).
    pub seq: i64,
    pub org_id: OrgId,
    /// Positive adds credit, negative spends it.
    pub amount_micros: i64,
    pub kind: CreditKind,
    /// Unique per org: the same reference twice adds nothing the second time.
    pub reference: String,
    pub memo: String,
    pub created_at: String,
    /// For a run's debit: the run, and the name of its workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
}
