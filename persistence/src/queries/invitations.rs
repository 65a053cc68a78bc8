//! Invitations to join an org: created by its admins for an email and a role, used once through a
//! link whose token is stored only as a hash (like API keys and refresh tokens), refused once
//! accepted, revoked or expired. Accepting consumes the invitation and adds the membership in one
//! transaction, with a conditional update, so two people racing with one link cannot both join.

use aos_schema::{InvitationId, OrgId, Role, UserId};

use crate::Timestamp;
use crate::audit::{AuditEntry, AuditTx, By};
use crate::db::{Db, in_tx, now, with_pool};
use crate::error::{StoreError, StoreResult};
use crate::queries::orgs::{User, corrupt, not_found};

/// An invitation as stored: its token's hash, never the token.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    /// Who may accept it (lowercased): the account with this email, or the account made for it.
    pub email: String,
    /// The role the invitee gets.
    pub role: Role,
    /// The admin who invited.
    pub invited_by: UserId,
    pub token_hash: String,
    pub created_at: Timestamp,
    /// After this the link no longer works.
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    /// The account that joined through it.
    pub accepted_by: Option<UserId>,
    pub revoked_at: Option<Timestamp>,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    /// It can still be accepted.
    Pending,
    /// Someone joined through it; it works once.
    Accepted,
    /// An admin took it back.
    Revoked,
    /// Its time ran out.
    Expired,
}

impl InvitationState {
    /// The state in words, as errors say it.
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationState::Pending => "pending",
            InvitationState::Accepted => "accepted",
            InvitationState::Revoked => "revoked",
            InvitationState::Expired => "expired",
        }
    }
}

impl std::fmt::Display for InvitationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Invitation {
    /// Where it stands at `at`: accepted and revoked win over expired, since they happened first.
    pub fn state_at(&self, at: Timestamp) -> InvitationState {
        if self.accepted_at.is_some() {
            InvitationState::Accepted
        } else if self.revoked_at.is_some() {
            InvitationState::Revoked
        } else if self.expires_at <= at {
            InvitationState::Expired
        } else {
            InvitationState::Pending
        }
    }
}

/// The stored row, before its ids and role are typed.
#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: uuid::Uuid,
    org_id: uuid::Uuid,
    email: String,
    role: String,
    invited_by: uuid::Uuid,
    token_hash: String,
    created_at: Timestamp,
    expires_at: Timestamp,
    accepted_at: Option<Timestamp>,
    accepted_by: Option<uuid::Uuid>,
    revoked_at: Option<Timestamp>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;

    fn try_from(row: InvitationRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            org_id: row.org_id.into(),
            email: row.email,
            role: row.role.parse().map_err(|err| corrupt("invitation role", err))?,
            invited_by: row.invited_by.into(),
            token_hash: row.token_hash,
            created_at: row.created_at,
            expires_at: row.expires_at,
            accepted_at: row.accepted_at,
            accepted_by: row.accepted_by.map(UserId::from),
            revoked_at: row.revoked_at,
        })
    }
}

/// A new invitation, its token already hashed.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    pub invited_by: UserId,
    pub token_hash: String,
    pub expires_at: Timestamp,
}

/// The account a new person makes through an invitation; its email is the invitation's.
#[derive(Debug, Clone)]
pub struct InvitedUser {
    pub name: String,
    /// An argon2id PHC string, never the password.
    pub password_hash: String,
}

/// The invitations repository.
#[derive(Debug, Clone, Copy)]
pub struct Invitations<'a> {
    pub(crate) db: &'a Db,
}

/// Consumes the pending invitation whose token hashes to `$hash` (at `$at`) inside `$tx`, or
/// returns from the transaction's body with why it cannot be used. Written as a macro because
/// the transaction has a different type on each backend.
macro_rules! consume_invitation {
    ($tx:ident, $hash:expr, $at:expr) => {{
        let consumed: Option<InvitationRow> = sqlx::query_as(
            "UPDATE invitations SET accepted_at = $2 WHERE token_hash = $1 AND accepted_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2 RETURNING *",
        )
        .bind($hash)
        .bind($at)
        .fetch_all(&mut *$tx)
        .await?
        .into_iter()
        .next();
        match consumed {
            Some(row) => Invitation::try_from(row)?,
            None => {
                let found: Option<InvitationRow> = sqlx::query_as("SELECT * FROM invitations WHERE token_hash = $1")
                    .bind($hash)
                    .fetch_optional(&mut *$tx)
                    .await?;
                return Err(match found {
                    Some(row) => StoreError::InvitationClosed { state: Invitation::try_from(row)?.state_at($at) },
                    None => unknown_link(),
                });
            }
        }
    }};
}

/// Inside `$tx`, records that `$user` used `$invitation` (consumed at `$at`), adds them to its org
/// with its role (a member already keeps theirs) and audits the join as theirs.
macro_rules! join_org {
    ($tx:ident, $invitation:ident, $user:expr, $at:expr) => {{
        sqlx::query("UPDATE invitations SET accepted_by = $2 WHERE id = $1")
            .bind($invitation.id.as_uuid())
            .bind($user.as_uuid())
            .execute(&mut *$tx)
            .await?;
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, user_id) DO NOTHING",
        )
        .bind($invitation.org_id.as_uuid())
        .bind($user.as_uuid())
        .bind($invitation.role.as_str())
        .bind($at)
        .execute(&mut *$tx)
        .await?;
        $tx.append_audit(
            &AuditEntry::new($invitation.org_id, By::User($user), "invitation.accept", ("user", $user.to_string()))
                .with_detail(serde_json::json!({ "invitation": $invitation.id, "role": $invitation.role })),
        )
        .await?;
        $invitation.accepted_by = Some($user);
    }};
}

impl Invitations<'_> {
    /// Stores an invitation and audits it. A pending invitation for the same email in the same
    /// org is a `Conflict` (revoke it first), so one person has one working link at a time.
    pub async fn create(&self, new: &NewInvitation, by: By) -> StoreResult<Invitation> {
        let id = InvitationId::new();
        let email = new.email.trim().to_lowercase();
        let at = now();
        let row: InvitationRow = in_tx!(self.db, |tx| {
            let pending: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM invitations WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL \
                 AND revoked_at IS NULL AND expires_at > $3",
            )
            .bind(new.org_id.as_uuid())
            .bind(&email)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            if pending > 0 {
                return Err(StoreError::Conflict { what: "pending invitation for this email".into() });
            }
            let row: InvitationRow = sqlx::query_as(
                "INSERT INTO invitations (id, org_id, email, role, invited_by, token_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(new.org_id.as_uuid())
            .bind(&email)
            .bind(new.role.as_str())
            .bind(new.invited_by.as_uuid())
            .bind(&new.token_hash)
            .bind(at)
            .bind(new.expires_at)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next()
            .ok_or(sqlx::Error::RowNotFound)?;
            tx.append_audit(
                &AuditEntry::new(new.org_id, by, "invitation.create", ("invitation", id.to_string()))
                    .with_detail(serde_json::json!({ "email": email, "role": new.role })),
            )
            .await?;
            row
        });
        Invitation::try_from(row)
    }

    /// The invitation whose token hashes to `token_hash`, whatever its state.
    pub async fn by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Invitation>> {
        let row: Option<InvitationRow> = with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM invitations WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(pool)
                .await?
        });
        row.map(Invitation::try_from).transpose()
    }

    /// The invitations of `org` that can still be accepted, oldest first.
    pub async fn pending(&self, org: OrgId) -> StoreResult<Vec<Invitation>> {
        let rows: Vec<InvitationRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT * FROM invitations WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
                 AND expires_at > $2 ORDER BY created_at, id",
            )
            .bind(org.as_uuid())
            .bind(now())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Invitation::try_from).collect()
    }

    /// Revokes an invitation of `org` so its link stops working; revoking twice is a no-op. One
    /// of another org is `NotFound`; an accepted one is `InvitationClosed` (remove the member
    /// instead).
    pub async fn revoke(&self, org: OrgId, id: InvitationId, by: By) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            let found: Option<InvitationRow> =
                sqlx::query_as("SELECT * FROM invitations WHERE id = $1 AND org_id = $2")
                    .bind(id.as_uuid())
                    .bind(org.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(found) = found else { return Err(not_found("invitation", id)) };
            if found.accepted_at.is_some() {
                return Err(StoreError::InvitationClosed { state: InvitationState::Accepted });
            }
            if found.revoked_at.is_none() {
                sqlx::query("UPDATE invitations SET revoked_at = $2 WHERE id = $1")
                    .bind(id.as_uuid())
                    .bind(now())
                    .execute(&mut *tx)
                    .await?;
                tx.append_audit(&AuditEntry::new(org, by, "invitation.revoke", ("invitation", id.to_string()))).await?;
            }
        });
        Ok(())
    }

    /// `user` (an existing account) accepts the invitation whose token hashes to `token_hash`:
    /// it is used up and they become a member with its role, audited as theirs. Someone who is a
    /// member already keeps their role (the caller refuses that case first). Unknown: `NotFound`;
    /// used, revoked or expired: `InvitationClosed`.
    pub async fn accept(&self, token_hash: &str, user: UserId) -> StoreResult<Invitation> {
        let at = now();
        Ok(in_tx!(self.db, |tx| {
            let mut invitation = consume_invitation!(tx, token_hash, at);
            join_org!(tx, invitation, user, at);
            invitation
        }))
    }

    /// A new person accepts the invitation whose token hashes to `token_hash` by making an
    /// account with its email: the account, the used-up invitation and the membership are written
    /// together or not at all. A taken email is a `Conflict` (that person signs in and accepts).
    pub async fn accept_as_new_user(&self, token_hash: &str, new: &InvitedUser) -> StoreResult<(User, Invitation)> {
        let at = now();
        let user_id = UserId::new();
        Ok(in_tx!(self.db, |tx| {
            let mut invitation = consume_invitation!(tx, token_hash, at);
            let user: User = sqlx::query_as(
                "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *",
            )
            .bind(user_id.as_uuid())
            .bind(&invitation.email)
            .bind(&new.name)
            .bind(&new.password_hash)
            .bind(at)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next()
            .ok_or(sqlx::Error::RowNotFound)?;
            join_org!(tx, invitation, user_id, at);
            (user, invitation)
        }))
    }
}

/// The `NotFound` of a link whose token matches no invitation; it names neither the token nor
/// its hash.
fn unknown_link() -> StoreError {
    not_found("invitation", "of this link")
}
