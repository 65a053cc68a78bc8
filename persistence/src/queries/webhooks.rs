//! Webhook sources (endpoints found by their token's hash, the token itself kept sealed by the
//! vault so editors can see the URL again) and the deliveries they receive, deduplicated by
//! idempotency key per source.

use crate::Timestamp;
use crate::vault::{Keyring, Sealed};
use aos_schema::{OrgId, RunId, SecretString, WebhookEventId, WebhookSourceId, WorkflowId};
use serde::Serialize;
use sqlx::types::Json;

use crate::audit::{AuditEntry, AuditTx, By};
use crate::db::{Db, in_tx, now, with_pool};
use crate::error::StoreResult;
use crate::queries::orgs::not_found;

/// A webhook endpoint. Lookups go by the token's hash; the token itself is stored only sealed
/// (`Webhooks::reveal_token`).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct WebhookSource {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: WebhookSourceId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub workflow_id: WorkflowId,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    /// The token's first characters, so people can tell sources apart.
    pub token_prefix: String,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub rotated_at: Option<Timestamp>,
    #[sqlx(json)]
    pub settings: WebhookSettings,
}

/// How a source checks and limits its deliveries: a wire shape too, defined once in `aos-api`.
pub use aos_api::WebhookSettings;

/// One received delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookEvent {
    pub id: WebhookEventId,
    pub source_id: WebhookSourceId,
    pub org_id: OrgId,
    pub idempotency_key: String,
    pub headers: serde_json::Value,
    pub body: serde_json::Value,
    /// The URL's query string as an object (`{}` for deliveries recorded before it was kept).
    pub query: serde_json::Value,
    /// The run it started, once one was created.
    pub run_id: Option<RunId>,
    pub received_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct WebhookEventRow {
    id: uuid::Uuid,
    source_id: uuid::Uuid,
    org_id: uuid::Uuid,
    idempotency_key: String,
    #[sqlx(json)]
    headers: serde_json::Value,
    #[sqlx(json)]
    body: serde_json::Value,
    #[sqlx(json)]
    query: serde_json::Value,
    run_id: Option<uuid::Uuid>,
    received_at: Timestamp,
}

impl From<WebhookEventRow> for WebhookEvent {
    fn from(row: WebhookEventRow) -> Self {
        Self {
            id: row.id.into(),
            source_id: row.source_id.into(),
            org_id: row.org_id.into(),
            idempotency_key: row.idempotency_key,
            headers: row.headers,
            body: row.body,
            query: row.query,
            run_id: row.run_id.map(RunId::from),
            received_at: row.received_at,
        }
    }
}

/// A new webhook source.
#[derive(Debug, Clone)]
pub struct NewWebhookSource {
    pub org_id: OrgId,
    pub workflow_id: WorkflowId,
    pub name: String,
    pub token: WebhookToken,
    pub settings: WebhookSettings,
}

/// A source's token: the value (stored sealed), its hash (what deliveries are looked up by) and
/// its first characters (shown to tell sources apart).
#[derive(Debug, Clone)]
pub struct WebhookToken {
    pub value: SecretString,
    pub hash: String,
    pub prefix: String,
}

/// A delivery to record.
#[derive(Debug, Clone)]
pub struct NewWebhookEvent {
    pub source_id: WebhookSourceId,
    pub org_id: OrgId,
    /// The sender's `Idempotency-Key` (or delivery id); a digest of the body when it sent none.
    pub idempotency_key: String,
    pub headers: serde_json::Value,
    pub body: serde_json::Value,
    /// The URL's query string as an object.
    pub query: serde_json::Value,
}

/// Whether a recorded delivery was new or a repeat of one already stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded<T> {
    New(T),
    /// The same key was seen before; this is the first delivery's row.
    Duplicate(T),
}

impl<T> Recorded<T> {
    pub fn into_inner(self) -> T {
        match self {
            Recorded::New(value) | Recorded::Duplicate(value) => value,
        }
    }

    pub fn is_new(&self) -> bool {
        matches!(self, Recorded::New(_))
    }
}

/// The webhook repository.
#[derive(Debug, Clone, Copy)]
pub struct Webhooks<'a> {
    pub(crate) db: &'a Db,
    pub(crate) keyring: &'a Keyring,
}

/// The vault name a source's token is sealed under (bound into the ciphertext with the org).
fn sealed_name(id: WebhookSourceId) -> String {
    format!("webhook_source:{id}")
}

#[derive(sqlx::FromRow)]
struct SealedTokenRow {
    id: uuid::Uuid,
    org_id: uuid::Uuid,
    token_ciphertext: Option<Vec<u8>>,
    token_nonce: Option<Vec<u8>>,
    token_key_id: Option<String>,
}

impl SealedTokenRow {
    fn sealed(&self) -> Option<Sealed> {
        Some(Sealed {
            ciphertext: self.token_ciphertext.clone()?,
            nonce: self.token_nonce.clone()?,
            key_id: self.token_key_id.clone()?,
        })
    }
}

impl Webhooks<'_> {
    pub async fn create_source(&self, new: &NewWebhookSource, by: By) -> StoreResult<WebhookSource> {
        let id = WebhookSourceId::new();
        let sealed = self.keyring.seal(new.org_id, &sealed_name(id), &new.token.value)?;
        Ok(in_tx!(self.db, |tx| {
            let source: WebhookSource = sqlx::query_as(
                "INSERT INTO webhook_sources (id, org_id, workflow_id, name, token_hash, token_prefix, enabled, created_at, settings, \
                 token_ciphertext, token_nonce, token_key_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(new.org_id.as_uuid())
            .bind(new.workflow_id.as_uuid())
            .bind(&new.name)
            .bind(&new.token.hash)
            .bind(&new.token.prefix)
            .bind(true)
            .bind(now())
            .bind(Json(&new.settings))
            .bind(&sealed.ciphertext)
            .bind(&sealed.nonce)
            .bind(&sealed.key_id)
            .fetch_all(&mut *tx)
            .await?.into_iter().next().ok_or(sqlx::Error::RowNotFound)?;
            tx.append_audit(
                &AuditEntry::new(new.org_id, by, "webhook.create", ("webhook_source", id.to_string()))
                    .with_detail(serde_json::json!({ "workflow_id": new.workflow_id, "prefix": new.token.prefix })),
            )
            .await?;
            source
        }))
    }

    /// The token of source `id` of `org`, opened from the vault; `None` for a source created
    /// before tokens were kept (rotating it gives it one).
    pub async fn reveal_token(&self, org: OrgId, id: WebhookSourceId) -> StoreResult<Option<SecretString>> {
        let row: Option<SealedTokenRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, org_id, token_ciphertext, token_nonce, token_key_id FROM webhook_sources \
                 WHERE id = $1 AND org_id = $2",
            )
            .bind(id.as_uuid())
            .bind(org.as_uuid())
            .fetch_optional(pool)
            .await?
        });
        let row = row.ok_or_else(|| not_found("webhook source", id))?;
        match row.sealed() {
            Some(sealed) => Ok(Some(self.keyring.open(org, &sealed_name(id), &sealed)?)),
            None => Ok(None),
        }
    }

    /// Re-seals every source token with `keyring`'s active key (which must open the old ones too),
    /// in one transaction. Returns how many rows changed.
    pub async fn reseal_all(&self, keyring: &Keyring) -> StoreResult<u64> {
        let active = keyring.active_key_id().to_owned();
        Ok(in_tx!(self.db, |tx| {
            let rows: Vec<SealedTokenRow> = sqlx::query_as(
                "SELECT id, org_id, token_ciphertext, token_nonce, token_key_id FROM webhook_sources \
                 WHERE token_key_id IS NOT NULL AND token_key_id <> $1 ORDER BY id",
            )
            .bind(&active)
            .fetch_all(&mut *tx)
            .await?;
            let mut changed = 0u64;
            for row in &rows {
                let Some(old) = row.sealed() else { continue };
                let (org, id) = (OrgId::from_uuid(row.org_id), WebhookSourceId::from_uuid(row.id));
                let token = keyring.open(org, &sealed_name(id), &old)?;
                let sealed = keyring.seal(org, &sealed_name(id), &token)?;
                sqlx::query(
                    "UPDATE webhook_sources SET token_ciphertext = $2, token_nonce = $3, token_key_id = $4 WHERE id = $1",
                )
                .bind(row.id)
                .bind(&sealed.ciphertext)
                .bind(&sealed.nonce)
                .bind(&sealed.key_id)
                .execute(&mut *tx)
                .await?;
                changed += 1;
            }
            changed
        }))
    }

    /// The enabled source whose token hashes to `token_hash`.
    pub async fn source_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<WebhookSource>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM webhook_sources WHERE token_hash = $1 AND enabled = $2")
                .bind(token_hash)
                .bind(true)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A source by id, whatever its org (for the source's own actor).
    pub async fn source_by_id(&self, id: WebhookSourceId) -> StoreResult<WebhookSource> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM webhook_sources WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(pool)
                .await?
        })
        .ok_or_else(|| not_found("webhook source", id))
    }

    pub async fn source(&self, org: OrgId, id: WebhookSourceId) -> StoreResult<WebhookSource> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM webhook_sources WHERE id = $1 AND org_id = $2")
                .bind(id.as_uuid())
                .bind(org.as_uuid())
                .fetch_optional(pool)
                .await?
        })
        .ok_or_else(|| not_found("webhook source", id))
    }

    pub async fn sources(&self, org: OrgId, workflow: WorkflowId) -> StoreResult<Vec<WebhookSource>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT * FROM webhook_sources WHERE org_id = $1 AND workflow_id = $2 ORDER BY created_at, id",
            )
            .bind(org.as_uuid())
            .bind(workflow.as_uuid())
            .fetch_all(pool)
            .await?
        }))
    }

    /// Replaces the token; the old one stops working at once.
    pub async fn rotate_token(
        &self,
        org: OrgId,
        id: WebhookSourceId,
        token: &WebhookToken,
        by: By,
    ) -> StoreResult<WebhookSource> {
        let sealed = self.keyring.seal(org, &sealed_name(id), &token.value)?;
        let token_prefix = &token.prefix;
        Ok(in_tx!(self.db, |tx| {
            let source: Option<WebhookSource> = sqlx::query_as(
                "UPDATE webhook_sources SET token_hash = $3, token_prefix = $4, rotated_at = $5, \
                 token_ciphertext = $6, token_nonce = $7, token_key_id = $8 \
                 WHERE id = $1 AND org_id = $2 RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(org.as_uuid())
            .bind(&token.hash)
            .bind(token_prefix)
            .bind(now())
            .bind(&sealed.ciphertext)
            .bind(&sealed.nonce)
            .bind(&sealed.key_id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
            let Some(source) = source else { return Err(not_found("webhook source", id)) };
            tx.append_audit(
                &AuditEntry::new(org, by, "webhook.rotate", ("webhook_source", id.to_string()))
                    .with_detail(serde_json::json!({ "prefix": token_prefix })),
            )
            .await?;
            source
        }))
    }

    pub async fn delete_source(&self, org: OrgId, id: WebhookSourceId, by: By) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            let done = sqlx::query("DELETE FROM webhook_sources WHERE id = $1 AND org_id = $2")
                .bind(id.as_uuid())
                .bind(org.as_uuid())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(not_found("webhook source", id));
            }
            tx.append_audit(&AuditEntry::new(org, by, "webhook.delete", ("webhook_source", id.to_string()))).await?;
        });
        Ok(())
    }

    /// Records a delivery once per (source, idempotency key); a repeat returns the first row.
    pub async fn record_event(&self, new: &NewWebhookEvent) -> StoreResult<Recorded<WebhookEvent>> {
        let id = WebhookEventId::new();
        Ok(with_pool!(self.db, |pool| {
            let inserted: Option<WebhookEventRow> = sqlx::query_as(
                "INSERT INTO webhook_events (id, source_id, org_id, idempotency_key, headers, body, query, run_id, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8) ON CONFLICT (source_id, idempotency_key) DO NOTHING RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(new.source_id.as_uuid())
            .bind(new.org_id.as_uuid())
            .bind(&new.idempotency_key)
            .bind(Json(&new.headers))
            .bind(Json(&new.body))
            .bind(Json(&new.query))
            .bind(now())
            .fetch_all(pool)
            .await?.into_iter().next();
            match inserted {
                Some(row) => Recorded::New(row.into()),
                None => {
                    let row: WebhookEventRow =
                        sqlx::query_as("SELECT * FROM webhook_events WHERE source_id = $1 AND idempotency_key = $2")
                            .bind(new.source_id.as_uuid())
                            .bind(&new.idempotency_key)
                            .fetch_one(pool)
                            .await?;
                    Recorded::Duplicate(row.into())
                }
            }
        }))
    }

    /// Links a delivery to the run it started (first link wins).
    pub async fn link_run(&self, event: WebhookEventId, run: RunId) -> StoreResult<()> {
        with_pool!(self.db, |pool| {
            sqlx::query("UPDATE webhook_events SET run_id = $2 WHERE id = $1 AND run_id IS NULL")
                .bind(event.as_uuid())
                .bind(run.as_uuid())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Recent deliveries of a source, newest first.
    pub async fn events(
        &self,
        org: OrgId,
        source: WebhookSourceId,
        limit: Option<i64>,
    ) -> StoreResult<Vec<WebhookEvent>> {
        let rows: Vec<WebhookEventRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT * FROM webhook_events WHERE org_id = $1 AND source_id = $2 ORDER BY received_at DESC, id DESC LIMIT $3",
            )
            .bind(org.as_uuid())
            .bind(source.as_uuid())
            .bind(crate::queries::page_limit(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(WebhookEvent::from).collect())
    }
}
