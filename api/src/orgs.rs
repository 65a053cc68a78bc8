//! Orgs, their members and their API keys: what the org routes take and answer.

use aos_schema::{ApiKeyId, OrgId, Role, UserId};
use serde::{Deserialize, Serialize};

/// `POST /api/orgs`: a new org, owned by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    pub name: String,
}

/// `GET /api/orgs/{org}/members` rows: a member, their account and their role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// When they became a member (RFC 3339).
    pub created_at: String,
}

/// `POST /api/orgs/{org}/members`: an existing account to add, with its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    pub email: String,
    pub role: Role,
}

/// `PATCH /api/orgs/{org}/members/{user}`: the member's new role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: Role,
}

/// `POST /api/orgs/{org}/api-keys`: a key's name and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    /// At most the creator's role; the creator's role when absent.
    #[serde(default)]
    pub role: Option<Role>,
}

/// What creating a key answers: the key itself, shown this once and never again. Its `Debug`
/// hides the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    /// The key's first characters, as the key list shows them.
    pub prefix: String,
    pub key: String,
}

/// `GET /api/orgs/{org}/api-keys` rows: a key as people tell keys apart, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    /// Who created it.
    pub user_id: UserId,
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    pub role: Role,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_keys_debug_hides_the_key() {
        let created = CreatedKey {
            id: ApiKeyId::new(),
            name: "ci".into(),
            role: Role::Editor,
            prefix: "aosk_abcdef".into(),
            key: "aosk_abcdef_the_secret_part".into(),
        };
        let shown = format!("{created:?}");
        assert!(shown.contains("aosk_abcdef") && !shown.contains("the_secret_part"), "{shown}");
    }

    #[test]
    fn a_key_request_may_leave_out_the_role_but_not_add_fields() {
        let request: NewApiKey = serde_json::from_str(r#"{"name":"ci"}"#).unwrap();
        assert_eq!(request, NewApiKey { name: "ci".into(), role: None });
        assert!(serde_json::from_str::<NewApiKey>(r#"{"name":"ci","scopes":[]}"#).is_err());
    }
}
