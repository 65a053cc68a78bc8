//! Invitations to join an org: what admins send and list, what the link's page reads before
//! anyone signs in, and what joining through it takes.

use aos_schema::{InvitationId, OrgId, Role, UserId};
use serde::{Deserialize, Serialize};

/// `POST /api/orgs/{org}/invitations`: the email to invite and the role they get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    pub email: String,
    pub role: Role,
}

/// `GET /api/orgs/{org}/invitations` rows: a pending invitation, never its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    /// The admin who invited.
    pub invited_by: UserId,
    pub created_at: String,
    /// After this the link no longer works (RFC 3339).
    pub expires_at: String,
}

/// What creating an invitation answers: the invitation and its link, shown this once and never
/// again (only a hash of the token is kept). Its `Debug` hides the token and the link.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedInvitation {
    pub invitation: Invitation,
    pub token: String,
    /// The link's path on this server: `/app/invite/{token}`.
    pub path: String,
    /// The whole link, on the server's public URL.
    pub url: String,
}

/// `GET /api/invitations/{token}`: what the link's page says before anyone signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationPreview {
    pub org_id: OrgId,
    pub org_name: String,
    pub role: Role,
    /// Who may join with it: the account with this email, or the one made for it.
    pub email: String,
    /// The name of the admin who invited.
    pub invited_by: String,
    pub expires_at: String,
}

/// `POST /api/invitations/{token}/signup`: a new account for the invited email (which the
/// invitation fixes), joining the org at once. Its `Debug` hides the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvitationSignup {
    pub name: String,
    pub password: String,
}

impl std::fmt::Debug for CreatedInvitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedInvitation").field("invitation", &self.invitation).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for InvitationSignup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvitationSignup").field("name", &self.name).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_token_and_the_password() {
        let invitation = Invitation {
            id: InvitationId::new(),
            org_id: OrgId::new(),
            email: "pat@example.test".into(),
            role: Role::Editor,
            invited_by: UserId::new(),
            created_at: "2026-12-05T00:00:00.000000Z".into(),
            expires_at: "2026-12-12T00:00:00.000000Z".into(),
        };
        let created = CreatedInvitation {
            invitation,
            token: "aosi_the_secret_part".into(),
            path: "/app/invite/aosi_the_secret_part".into(),
            url: "http://localhost/app/invite/aosi_the_secret_part".into(),
        };
        let signup = InvitationSignup { name: "Pat".into(), password: "hunter2hunter2".into() };
        let shown = format!("{created:?} {signup:?}");
        assert!(shown.contains("pat@example.test") && shown.contains("Pat"), "{shown}");
        for secret in ["the_secret_part", "hunter2"] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
    }
}
