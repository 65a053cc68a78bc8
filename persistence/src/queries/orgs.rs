//! Tenancy: orgs, users, memberships and API keys.

use crate::Timestamp;
use aos_schema::{ApiKeyId, OrgId, Role, UserId};
use serde::Serialize;

use crate::audit::{AuditEntry, AuditTx, By};
use crate::db::{Db, in_tx, now, with_pool};
use crate::error::{StoreError, StoreResult};

/// A tenant.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Org {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: OrgId,
    pub name: String,
    /// URL-safe unique name.
    pub slug: String,
    pub created_at: Timestamp,
}

/// A person who can log in. The password hash never leaves the gateway's auth code.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct User {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: UserId,
    pub email: String,
    pub name: String,
    /// An argon2id PHC string, never the password.
    pub password_hash: String,
    pub created_at: Timestamp,
}

/// A user's role in an org.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Membership {
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub user_id: UserId,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub created_at: Timestamp,
}

/// An API key's stored form: the key itself is shown once and only its hash is kept. The API
/// shows it as `aos_api::ApiKey`, without the hash.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiKey {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: ApiKeyId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub user_id: UserId,
    pub name: String,
    /// The first characters of the key, so people can tell keys apart.
    pub prefix: String,
    pub key_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A member as listed: their membership with their account's name and email.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Member {
    #[sqlx(try_from = "uuid::Uuid")]
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub created_at: Timestamp,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password_hash: String,
}

/// A new org and the user who owns it (signup creates both at once).
#[derive(Debug, Clone)]
pub struct NewOrg {
    pub name: String,
    pub slug: String,
    pub owner: UserId,
}

/// A new API key, already hashed.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub role: Role,
}

const INSERT_USER: &str =
    "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *";
const INSERT_ORG: &str = "INSERT INTO orgs (id, name, slug, created_at) VALUES ($1, $2, $3, $4) RETURNING *";
const INSERT_MEMBERSHIP: &str = "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)";

/// The tenancy repository.
#[derive(Debug, Clone, Copy)]
pub struct Orgs<'a> {
    pub(crate) db: &'a Db,
}

impl Orgs<'_> {
    /// Creates a user. A taken email is a `Conflict`.
    pub async fn create_user(&self, new: &NewUser) -> StoreResult<User> {
        let email = new.email.trim().to_lowercase();
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(INSERT_USER)
                .bind(UserId::new().as_uuid())
                .bind(&email)
                .bind(&new.name)
                .bind(&new.password_hash)
                .bind(now())
                .fetch_all(pool)
                .await?
                .into_iter()
                .next()
                .ok_or(sqlx::Error::RowNotFound)?
        }))
    }

    /// Creates a user and an org they own, in one transaction (signup).
    pub async fn create_user_with_org(&self, user: &NewUser, org_name: &str, slug: &str) -> StoreResult<(User, Org)> {
        let email = user.email.trim().to_lowercase();
        let user_id = UserId::new();
        let org_id = OrgId::new();
        Ok(in_tx!(self.db, |tx| {
            let user: User = sqlx::query_as(INSERT_USER)
                .bind(user_id.as_uuid())
                .bind(&email)
                .bind(&user.name)
                .bind(&user.password_hash)
                .bind(now())
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .next()
                .ok_or(sqlx::Error::RowNotFound)?;
            let org: Org = sqlx::query_as(INSERT_ORG)
                .bind(org_id.as_uuid())
                .bind(org_name)
                .bind(slug)
                .bind(now())
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .next()
                .ok_or(sqlx::Error::RowNotFound)?;
            sqlx::query(INSERT_MEMBERSHIP)
                .bind(org_id.as_uuid())
                .bind(user_id.as_uuid())
                .bind(Role::Owner.as_str())
                .bind(now())
                .execute(&mut *tx)
                .await?;
            tx.append_audit(
                &AuditEntry::new(org_id, By::User(user_id), "org.create", ("org", org_id.to_string()))
                    .with_detail(serde_json::json!({ "name": org_name, "slug": slug })),
            )
            .await?;
            (user, org)
        }))
    }

    /// Creates an org owned by an existing user.
    pub async fn create_org(&self, new: &NewOrg) -> StoreResult<Org> {
        let org_id = OrgId::new();
        Ok(in_tx!(self.db, |tx| {
            let org: Org = sqlx::query_as(INSERT_ORG)
                .bind(org_id.as_uuid())
                .bind(&new.name)
                .bind(&new.slug)
                .bind(now())
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .next()
                .ok_or(sqlx::Error::RowNotFound)?;
            sqlx::query(INSERT_MEMBERSHIP)
                .bind(org_id.as_uuid())
                .bind(new.owner.as_uuid())
                .bind(Role::Owner.as_str())
                .bind(now())
                .execute(&mut *tx)
                .await?;
            tx.append_audit(
                &AuditEntry::new(org_id, By::User(new.owner), "org.create", ("org", org_id.to_string()))
                    .with_detail(serde_json::json!({ "name": new.name, "slug": new.slug })),
            )
            .await?;
            org
        }))
    }

    pub async fn org(&self, id: OrgId) -> StoreResult<Org> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM orgs WHERE id = $1").bind(id.as_uuid()).fetch_optional(pool).await?
        })
        .ok_or_else(|| not_found("org", id))
    }

    pub async fn user(&self, id: UserId) -> StoreResult<User> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM users WHERE id = $1").bind(id.as_uuid()).fetch_optional(pool).await?
        })
        .ok_or_else(|| not_found("user", id))
    }

    /// Looks a user up by email, case-insensitively.
    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let email = email.trim().to_lowercase();
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM users WHERE email = $1").bind(&email).fetch_optional(pool).await?
        }))
    }

    /// Replaces a user's password hash (the caller ends their sessions).
    pub async fn set_password_hash(&self, user: UserId, password_hash: &str) -> StoreResult<()> {
        let changed = with_pool!(self.db, |pool| {
            sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                .bind(user.as_uuid())
                .bind(password_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(not_found("user", user));
        }
        Ok(())
    }

    /// Adds `user` to `org` with `role`, or changes their role if they are already a member.
    pub async fn set_member(&self, org: OrgId, user: UserId, role: Role, by: By) -> StoreResult<Membership> {
        Ok(in_tx!(self.db, |tx| {
            let membership: Membership = sqlx::query_as(
                "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role RETURNING *",
            )
            .bind(org.as_uuid())
            .bind(user.as_uuid())
            .bind(role.as_str())
            .bind(now())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next()
            .ok_or(sqlx::Error::RowNotFound)?;
            tx.append_audit(
                &AuditEntry::new(org, by, "member.set", ("user", user.to_string()))
                    .with_detail(serde_json::json!({ "role": role })),
            )
            .await?;
            membership
        }))
    }

    /// Removes `user` from `org`.
    pub async fn remove_member(&self, org: OrgId, user: UserId, by: By) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            let done = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org.as_uuid())
                .bind(user.as_uuid())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(not_found("membership", user));
            }
            tx.append_audit(&AuditEntry::new(org, by, "member.remove", ("user", user.to_string()))).await?;
        });
        Ok(())
    }

    /// The role of `user` in `org`, or `None` when they are not a member.
    pub async fn role_of(&self, org: OrgId, user: UserId) -> StoreResult<Option<Role>> {
        let role: Option<String> = with_pool!(self.db, |pool| {
            sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org.as_uuid())
                .bind(user.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        role.map(|r| r.parse().map_err(|err: aos_schema::UnknownWord| corrupt("membership role", err))).transpose()
    }

    /// Every member of `org`.
    pub async fn members(&self, org: OrgId) -> StoreResult<Vec<Membership>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM memberships WHERE org_id = $1 ORDER BY created_at, user_id")
                .bind(org.as_uuid())
                .fetch_all(pool)
                .await?
        }))
    }

    /// Every member of `org` with their name and email, in joining order.
    pub async fn members_with_users(&self, org: OrgId) -> StoreResult<Vec<Member>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT u.id AS user_id, u.email, u.name, m.role, m.created_at FROM memberships m \
                 JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY m.created_at, u.id",
            )
            .bind(org.as_uuid())
            .fetch_all(pool)
            .await?
        }))
    }

    /// How many owners `org` has (the last one cannot leave or be demoted).
    pub async fn owner_count(&self, org: OrgId) -> StoreResult<i64> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'")
                .bind(org.as_uuid())
                .fetch_one(pool)
                .await?
        }))
    }

    /// Every org `user` belongs to, with their role there.
    pub async fn memberships_of(&self, user: UserId) -> StoreResult<Vec<Membership>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM memberships WHERE user_id = $1 ORDER BY created_at, org_id")
                .bind(user.as_uuid())
                .fetch_all(pool)
                .await?
        }))
    }

    /// Stores a new API key (its hash) and audits it.
    pub async fn create_api_key(&self, new: &NewApiKey, by: By) -> StoreResult<ApiKey> {
        let id = ApiKeyId::new();
        Ok(in_tx!(self.db, |tx| {
            let key: ApiKey = sqlx::query_as(
                "INSERT INTO api_keys (id, org_id, user_id, name, prefix, key_hash, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(new.org_id.as_uuid())
            .bind(new.user_id.as_uuid())
            .bind(&new.name)
            .bind(&new.prefix)
            .bind(&new.key_hash)
            .bind(new.role.as_str())
            .bind(now())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next()
            .ok_or(sqlx::Error::RowNotFound)?;
            tx.append_audit(
                &AuditEntry::new(new.org_id, by, "api_key.create", ("api_key", id.to_string()))
                    .with_detail(serde_json::json!({ "name": new.name, "prefix": new.prefix, "role": new.role })),
            )
            .await?;
            key
        }))
    }

    /// The live (not revoked) key with this hash, marking it used.
    pub async fn use_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "UPDATE api_keys SET last_used_at = $2 WHERE key_hash = $1 AND revoked_at IS NULL RETURNING *",
            )
            .bind(key_hash)
            .bind(now())
            .fetch_all(pool)
            .await?
            .into_iter()
            .next()
        }))
    }

    pub async fn api_keys(&self, org: OrgId) -> StoreResult<Vec<ApiKey>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM api_keys WHERE org_id = $1 ORDER BY created_at, id")
                .bind(org.as_uuid())
                .fetch_all(pool)
                .await?
        }))
    }

    /// Revokes a key of `org`; revoking twice is a no-op, a key of another org is `NotFound`.
    pub async fn revoke_api_key(&self, org: OrgId, id: ApiKeyId, by: By) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            let found: Option<(uuid::Uuid,)> = sqlx::query_as(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND org_id = $2 RETURNING id",
            )
            .bind(id.as_uuid())
            .bind(org.as_uuid())
            .bind(now())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
            if found.is_none() {
                return Err(not_found("api key", id));
            }
            tx.append_audit(&AuditEntry::new(org, by, "api_key.revoke", ("api_key", id.to_string()))).await?;
        });
        Ok(())
    }
}

/// A `NotFound` for `entity` with `id`.
pub(crate) fn not_found(entity: &'static str, id: impl std::fmt::Display) -> StoreError {
    StoreError::NotFound { entity, id: id.to_string() }
}

/// A `Corrupt` for a stored value that failed to decode.
pub(crate) fn corrupt(what: &'static str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { what, reason: err.to_string() }
}
