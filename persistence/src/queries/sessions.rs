//! Login sessions: one row per login, holding the hash of its refresh token. Access tokens name
//! their session, so logging out (revoking the session) ends them too; a refresh swaps the
//! refresh token for a new one, so a stolen old token stops working.

use std::fmt;

use aos_schema::UserId;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::db::{Db, now, with_pool};
use crate::error::StoreResult;

/// A login session's id (carried in access tokens as `sid`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(uuid::Uuid);

impl SessionId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    pub const fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

impl From<uuid::Uuid> for SessionId {
    fn from(uuid: uuid::Uuid) -> Self {
        Self(uuid)
    }
}

impl std::str::FromStr for SessionId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(Self)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

/// A stored session. The refresh token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Session {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: SessionId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub user_id: UserId,
    pub refresh_hash: String,
    pub created_at: Timestamp,
    /// After this the refresh token no longer works (nor do access tokens of the session).
    pub expires_at: Timestamp,
    pub refreshed_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl Session {
    /// Not revoked and not expired at `at`.
    pub fn is_live_at(&self, at: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > at
    }
}

/// The sessions repository.
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'a> {
    pub(crate) db: &'a Db,
}

impl Sessions<'_> {
    /// Starts a session for `user` whose refresh token hashes to `refresh_hash`.
    pub async fn create(&self, user: UserId, refresh_hash: &str, expires_at: Timestamp) -> StoreResult<Session> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "INSERT INTO auth_sessions (id, user_id, refresh_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING *",
            )
            .bind(SessionId::new().as_uuid())
            .bind(user.as_uuid())
            .bind(refresh_hash)
            .bind(now())
            .bind(expires_at)
            .fetch_all(pool)
            .await?
            .into_iter()
            .next()
            .ok_or(sqlx::Error::RowNotFound)?
        }))
    }

    /// The session, live or not.
    pub async fn get(&self, id: SessionId) -> StoreResult<Option<Session>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM auth_sessions WHERE id = $1").bind(id.as_uuid()).fetch_optional(pool).await?
        }))
    }

    /// Swaps a live session's refresh token (found by its hash) for a new one, extending it to
    /// `expires_at`. `None` when the old token is unknown, revoked or expired.
    pub async fn refresh(&self, old_hash: &str, new_hash: &str, expires_at: Timestamp) -> StoreResult<Option<Session>> {
        let at = now();
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "UPDATE auth_sessions SET refresh_hash = $2, expires_at = $3, refreshed_at = $4 \
                 WHERE refresh_hash = $1 AND revoked_at IS NULL AND expires_at > $4 RETURNING *",
            )
            .bind(old_hash)
            .bind(new_hash)
            .bind(expires_at)
            .bind(at)
            .fetch_all(pool)
            .await?
            .into_iter()
            .next()
        }))
    }

    /// Ends a session; ending it twice is a no-op. Returns whether a live session ended.
    pub async fn revoke(&self, id: SessionId) -> StoreResult<bool> {
        let done = with_pool!(self.db, |pool| {
            sqlx::query("UPDATE auth_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id.as_uuid())
                .bind(now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Ends every session of `user` (a password change, an account lock). Returns how many.
    pub async fn revoke_all(&self, user: UserId) -> StoreResult<u64> {
        let done = with_pool!(self.db, |pool| {
            sqlx::query("UPDATE auth_sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user.as_uuid())
                .bind(now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }
}
