//! What the liveness and readiness probes answer.

use serde::{Deserialize, Serialize};

/// `GET /healthz`: the process answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The server's version.
    pub version: String,
}

/// `GET /readyz`: the stores answer (a store that does not makes it a 503 `not_ready`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// Always `ready`.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// `ok`, or `not_configured` when the node runs without Redis.
    pub redis: String,
}
