//! The audit chain's verification.

use serde::{Deserialize, Serialize};

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
