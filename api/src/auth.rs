//! Accounts and sessions: what sign-up, login and refresh take and answer, who is signed in, and
//! the orgs they belong to.

use aos_schema::{OrgId, Role, UserId};
use serde::{Deserialize, Serialize};

/// `POST /api/auth/signup`: a new account and its first org. Its `Debug` hides the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signup {
    pub email: String,
    pub password: String,
    pub name: String,
    pub org_name: String,
}

/// `POST /api/auth/login`. Its `Debug` hides the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// `POST /api/auth/refresh`: the refresh token to swap (it stops working once swapped). Its
/// `Debug` hides the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refresh {
    pub refresh_token: String,
}

/// `POST /api/auth/password`: the current password and the new one. Its `Debug` hides both.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// What login and refresh answer: a short-lived access token and the refresh token that gets
/// the next one. Its `Debug` hides both.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub token: String,
    pub refresh_token: String,
    /// Seconds until `token` expires.
    pub expires_in: u64,
}

/// What sign-up answers: the session's tokens, the new user and their org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedUp {
    #[serde(flatten)]
    pub tokens: Tokens,
    pub user_id: UserId,
    pub org_id: OrgId,
}

/// `GET /api/auth/me`: who is signed in. With an API key, `orgs` holds only the key's org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub platform_admin: bool,
    pub orgs: Vec<MyOrg>,
}

/// One org of the signed-in user and their role there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyOrg {
    pub org_id: OrgId,
    pub role: Role,
}

/// `GET /api/orgs` rows: an org and the caller's role there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgView {
    pub id: OrgId,
    pub name: String,
    /// URL-safe unique name.
    pub slug: String,
    pub created_at: String,
    pub role: Role,
}

impl std::fmt::Debug for Signup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signup")
            .field("email", &self.email)
            .field("name", &self.name)
            .field("org_name", &self.org_name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("email", &self.email).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Refresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Refresh([redacted])")
    }
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange([redacted])")
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_passwords_and_tokens() {
        let signup =
            Signup { email: "a@b.c".into(), password: "hunter2hunter2".into(), name: "A".into(), org_name: "O".into() };
        let login = Login { email: "a@b.c".into(), password: "hunter2hunter2".into() };
        let tokens = Tokens { token: "eyJsecret".into(), refresh_token: "aosr_secret".into(), expires_in: 900 };
        let refresh = Refresh { refresh_token: "aosr_secret".into() };
        let change = PasswordChange { current_password: "hunter2old".into(), new_password: "hunter2new".into() };
        let shown = format!("{signup:?} {login:?} {tokens:?} {refresh:?} {change:?}");
        assert!(shown.contains("a@b.c") && shown.contains("900"), "{shown}");
        for secret in ["hunter2", "eyJsecret", "aosr_secret"] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
    }
}
