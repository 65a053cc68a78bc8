//! Org secrets: names and bookkeeping only. Values go in and never come back; the requests'
//! `Debug` hides them.

use aos_schema::{OrgId, SecretId};
use serde::{Deserialize, Serialize};

/// A stored secret as listed: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretMeta {
    pub id: SecretId,
    pub org_id: OrgId,
    /// What `{{ secrets.NAME }}` reads.
    pub name: String,
    /// The master key that sealed it (shows rotation progress).
    pub key_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_used_at: Option<String>,
}

/// `POST /api/orgs/{org}/secrets`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSecret {
    pub name: String,
    pub value: String,
}

/// `PUT /api/orgs/{org}/secrets/{name}`: the new value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretValue {
    pub value: String,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret").field("name", &self.name).field("value", &"[redacted]").finish()
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_out_of_debug_output() {
        let new = NewSecret { name: "SLACK_TOKEN".into(), value: "xoxb-secret".into() };
        let update = SecretValue { value: "xoxb-secret".into() };
        let shown = format!("{new:?} {update:?}");
        assert!(shown.contains("SLACK_TOKEN") && !shown.contains("xoxb"), "{shown}");
    }
}
