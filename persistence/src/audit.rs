//! The audit log: one hash chain per org. Each row stores the hash of the row before it and its
//! own hash over its content, so editing or removing a row breaks the chain where it happened.
//! The database refuses UPDATE and DELETE on `audit_logs`; the chain catches whoever gets past that
//! (someone with DDL rights, or raw file access).
//!
//! Appending takes the org's row in `audit_chain_heads` under lock (an upsert), so concurrent
//! appenders queue instead of forking the chain. Mutations append inside their own transaction.

use std::fmt;

use crate::Timestamp;
use aos_schema::{ApiKeyId, OrgId, UserId};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::Db;
use crate::db::{in_tx, now, with_pool};
use crate::error::StoreResult;

/// The `prev_hash` of an org's first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something: a person, an API key or the platform (`user:…`, `api_key:…`, `system` in
/// audit rows). Named `By` so it reads as it is used (`by: By::System`) and does not collide with
/// `ractor::Actor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    User(UserId),
    ApiKey(ApiKeyId),
    /// The platform itself (migrations, key rotation, schedules).
    System,
}

impl fmt::Display for By {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            By::User(id) => write!(f, "user:{id}"),
            By::ApiKey(id) => write!(f, "api_key:{id}"),
            By::System => f.write_str("system"),
        }
    }
}

/// What to record. `detail` must never hold a secret value.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub org_id: OrgId,
    pub actor: By,
    /// Dotted verb, e.g. `workflow.publish`, `secret.update`.
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target_id: String,
    pub detail: serde_json::Value,
}

impl AuditEntry {
    /// An entry with an empty detail object.
    pub fn new(org_id: OrgId, actor: By, action: &'static str, target: (&'static str, String)) -> Self {
        Self { org_id, actor, action, target_kind: target.0, target_id: target.1, detail: serde_json::json!({}) }
    }

    /// The same entry with `detail`.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// One stored audit row.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    pub seq: i64,
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    /// Position in the org's chain, from 1.
    pub chain_seq: i64,
    pub actor: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    /// Canonical JSON text (the exact bytes that were hashed).
    pub detail: String,
    pub created_at: Timestamp,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// The hash this row should carry given its content and `prev_hash`.
    pub fn expected_hash(&self) -> String {
        let fields = RowFields {
            org_id: self.org_id,
            chain_seq: self.chain_seq,
            actor: &self.actor,
            action: &self.action,
            target_kind: &self.target_kind,
            target_id: &self.target_id,
            detail: &self.detail,
            created_at: self.created_at,
        };
        chain_hash(&self.prev_hash, &fields)
    }
}

/// The content of a row that its hash covers.
struct RowFields<'a> {
    org_id: OrgId,
    chain_seq: i64,
    actor: &'a str,
    action: &'a str,
    target_kind: &'a str,
    target_id: &'a str,
    detail: &'a str,
    created_at: Timestamp,
}

/// sha256 over the previous hash and every field, each length-prefixed so no two different rows
/// hash the same bytes.
fn chain_hash(prev_hash: &str, row: &RowFields<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(b"automateos/audit/v1");
    field(prev_hash.as_bytes());
    field(row.org_id.as_uuid().as_bytes());
    field(&row.chain_seq.to_be_bytes());
    field(row.actor.as_bytes());
    field(row.action.as_bytes());
    field(row.target_kind.as_bytes());
    field(row.target_id.as_bytes());
    field(row.detail.as_bytes());
    field(&row.created_at.unix_nanos().to_be_bytes());
    hex::encode(hasher.finalize())
}

// the verification is a wire type as it is (`aos-api`)
pub use aos_api::{ChainBreak, ChainVerification};

/// Appending an audit row inside an open transaction, on either backend.
pub(crate) trait AuditTx {
    async fn append_audit(&mut self, entry: &AuditEntry) -> StoreResult<AuditRecord>;
}

macro_rules! impl_audit_tx {
    ($database:ty) => {
        impl AuditTx for sqlx::Transaction<'_, $database> {
            async fn append_audit(&mut self, entry: &AuditEntry) -> StoreResult<AuditRecord> {
                let (head_seq, head_hash): (i64, String) = sqlx::query_as(
                    "INSERT INTO audit_chain_heads (org_id, chain_seq, hash) VALUES ($1, 0, $2) \
                     ON CONFLICT (org_id) DO UPDATE SET chain_seq = audit_chain_heads.chain_seq \
                     RETURNING chain_seq, hash",
                )
                .bind(entry.org_id.as_uuid())
                .bind(GENESIS_HASH)
                .fetch_all(&mut **self)
                .await?
                .into_iter()
                .next()
                .ok_or(sqlx::Error::RowNotFound)?;
                let detail = entry.detail.to_string();
                let actor = entry.actor.to_string();
                let fields = RowFields {
                    org_id: entry.org_id,
                    chain_seq: head_seq + 1,
                    actor: &actor,
                    action: entry.action,
                    target_kind: entry.target_kind,
                    target_id: &entry.target_id,
                    detail: &detail,
                    created_at: now(),
                };
                let hash = chain_hash(&head_hash, &fields);
                let record: AuditRecord = sqlx::query_as(
                    "INSERT INTO audit_logs (org_id, chain_seq, actor, action, target_kind, target_id, \
                     detail, created_at, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     RETURNING *",
                )
                .bind(entry.org_id.as_uuid())
                .bind(fields.chain_seq)
                .bind(fields.actor)
                .bind(fields.action)
                .bind(fields.target_kind)
                .bind(fields.target_id)
                .bind(fields.detail)
                .bind(fields.created_at)
                .bind(&head_hash)
                .bind(&hash)
                .fetch_all(&mut **self)
                .await?
                .into_iter()
                .next()
                .ok_or(sqlx::Error::RowNotFound)?;
                sqlx::query("UPDATE audit_chain_heads SET chain_seq = $2, hash = $3 WHERE org_id = $1")
                    .bind(entry.org_id.as_uuid())
                    .bind(record.chain_seq)
                    .bind(&record.hash)
                    .execute(&mut **self)
                    .await?;
                Ok(record)
            }
        }
    };
}

impl_audit_tx!(sqlx::Sqlite);
impl_audit_tx!(sqlx::Postgres);

/// Filters for reading the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only rows whose action starts with this (e.g. `secret.`).
    pub action_prefix: Option<String>,
    /// Only rows after this chain position (for paging forward).
    pub after_chain_seq: Option<i64>,
    /// Only rows before this chain position (for paging back from the newest).
    pub before_chain_seq: Option<i64>,
    /// The newest rows first (the next page is `before_chain_seq` = the last row's position).
    pub newest_first: bool,
    pub limit: Option<i64>,
}

/// The audit log repository.
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    pub(crate) db: &'a Db,
}

impl Audit<'_> {
    /// Appends one entry in its own transaction (for events that change nothing else).
    pub async fn record(&self, entry: &AuditEntry) -> StoreResult<AuditRecord> {
        Ok(in_tx!(self.db, |tx| tx.append_audit(entry).await?))
    }

    /// Rows of one org's chain, in chain order or newest first.
    pub async fn list(&self, org: OrgId, query: &AuditQuery) -> StoreResult<Vec<AuditRecord>> {
        let prefix = query.action_prefix.clone().unwrap_or_default();
        let like = format!("{}%", prefix.replace('%', "").replace('_', "\\_"));
        let after = query.after_chain_seq.unwrap_or(0);
        let before = query.before_chain_seq.unwrap_or(i64::MAX);
        let limit = query.limit.unwrap_or(100).clamp(1, 1000);
        let sql = if query.newest_first {
            "SELECT * FROM audit_logs WHERE org_id = $1 AND chain_seq > $2 AND chain_seq < $3 \
             AND action LIKE $4 ESCAPE '\\' ORDER BY chain_seq DESC LIMIT $5"
        } else {
            "SELECT * FROM audit_logs WHERE org_id = $1 AND chain_seq > $2 AND chain_seq < $3 \
             AND action LIKE $4 ESCAPE '\\' ORDER BY chain_seq LIMIT $5"
        };
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(sql)
                .bind(org.as_uuid())
                .bind(after)
                .bind(before)
                .bind(&like)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Walks the whole chain of `org`: contiguous positions, each `prev_hash` equal to the hash
    /// before it, each hash recomputed from the row, and the head pointing at the last row.
    pub async fn verify(&self, org: OrgId) -> StoreResult<ChainVerification> {
        let (rows, head): (Vec<AuditRecord>, Option<(i64, String)>) = with_pool!(self.db, |pool| {
            let rows = sqlx::query_as("SELECT * FROM audit_logs WHERE org_id = $1 ORDER BY chain_seq")
                .bind(org.as_uuid())
                .fetch_all(pool)
                .await?;
            let head = sqlx::query_as("SELECT chain_seq, hash FROM audit_chain_heads WHERE org_id = $1")
                .bind(org.as_uuid())
                .fetch_optional(pool)
                .await?;
            (rows, head)
        });
        Ok(verify_chain(&rows, head.as_ref()))
    }
}

/// The chain check itself, without IO.
fn verify_chain(rows: &[AuditRecord], head: Option<&(i64, String)>) -> ChainVerification {
    let broken = |chain_seq: i64, reason: &str, checked: usize| ChainVerification {
        rows_checked: checked as u64,
        broken_at: Some(ChainBreak { chain_seq, reason: reason.to_owned() }),
    };
    let mut prev_hash = GENESIS_HASH.to_owned();
    for (index, row) in rows.iter().enumerate() {
        let expected_seq = index as i64 + 1;
        if row.chain_seq != expected_seq {
            return broken(expected_seq, "row missing from the chain", index);
        }
        if row.prev_hash != prev_hash {
            return broken(row.chain_seq, "prev_hash does not match the previous row", index);
        }
        if row.expected_hash() != row.hash {
            return broken(row.chain_seq, "content does not match its hash", index);
        }
        prev_hash = row.hash.clone();
    }
    let last_seq = rows.len() as i64;
    match head {
        Some((seq, hash)) if *seq != last_seq || *hash != prev_hash => {
            broken(last_seq + 1, "chain head points past the last row (rows removed)", rows.len())
        }
        None if !rows.is_empty() => broken(1, "chain head missing", rows.len()),
        _ => ChainVerification { rows_checked: rows.len() as u64, broken_at: None },
    }
}
