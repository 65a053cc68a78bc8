//! The platform admin's views.

use serde::{Deserialize, Serialize};

/// One actor of `GET /api/admin/actors`, with its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorView {
    pub id: String,
    /// `workflow`, `run`, `webhook_source`, `doc_room`, `supervisor`, ...
    pub kind: String,
    pub name: String,
    /// `running`, `stopped`, ...
    pub status: String,
    /// Messages waiting in its mailbox.
    pub mailbox: u64,
    pub restarts: u64,
    pub uptime_ms: u64,
    #[serde(default)]
    pub children: Vec<ActorView>,
}

/// `POST /api/admin/actors/{id}/stop` and `/restart`: the actor acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorControlled {
    pub id: String,
    pub kind: String,
    pub name: String,
    /// `stopped` or `restarted`.
    pub status: String,
}
