//! The audit log: its rows (each chained to the one before by hash) and the chain's verification.

use aos_schema::OrgId;
use serde::{Deserialize, Serialize};

/// One audit row (`GET /api/orgs/{org}/audit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub org_id: OrgId,
    /// Position in the org's chain, from 1.
    pub chain_seq: i64,
    /// Who did it (`user:…`, `api_key:…`, `system`).
    pub actor: String,
    /// What was done (`workflow.publish`, `secret.put`, ...).
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    /// Canonical JSON text (the exact bytes that were hashed).
    pub detail: String,
    pub created_at: String,
    pub prev_hash: String,
    pub hash: String,
}

/// `GET /api/orgs/{org}/audit/verify`: the result of walking an org's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainVerification {
    pub rows_checked: u64,
    /// The first row where the chain breaks, if any.
    pub broken_at: Option<ChainBreak>,
}

impl ChainVerification {
    pub fn is_intact(&self) -> bool {
        self.broken_at.is_none()
    }
}

/// Where and how a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    pub chain_seq: i64,
    pub reason: String,
}
