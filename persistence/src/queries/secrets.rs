//! The secrets vault's storage: values sealed with the keyring (see [`crate::vault`]) before they
//! reach the database, names listed, values write-only to the API and opened only for an engine
//! call. Every write and every use is audited; no audit row, log line or error carries a value.

use crate::Timestamp;
use aos_schema::{OrgId, SecretId, SecretString};
use serde::Serialize;

use crate::audit::{AuditEntry, AuditTx, By};
use crate::db::{Db, in_tx, now, with_pool};
use crate::error::StoreResult;
use crate::queries::orgs::not_found;
use crate::vault::{Keyring, Sealed};

/// What may be shown of a secret: never its value.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SecretMeta {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: SecretId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    pub name: String,
    /// The master key that sealed it (shows rotation progress).
    pub key_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    id: uuid::Uuid,
    org_id: uuid::Uuid,
    name: String,
    ciphertext: Vec<u8>,
    nonce: Vec<u8>,
    key_id: String,
}

impl SealedRow {
    fn sealed(&self) -> Sealed {
        Sealed { ciphertext: self.ciphertext.clone(), nonce: self.nonce.clone(), key_id: self.key_id.clone() }
    }
}

/// Why a secret is being opened, recorded in the audit row of the use.
#[derive(Debug, Clone)]
pub struct SecretUse {
    pub by: By,
    /// e.g. `run:<id>/step:<node>`.
    pub purpose: String,
}

/// The secrets repository.
#[derive(Debug, Clone, Copy)]
pub struct Secrets<'a> {
    pub(crate) db: &'a Db,
    pub(crate) keyring: &'a Keyring,
}

const META_COLUMNS: &str = "id, org_id, name, key_id, created_at, updated_at, last_used_at";

impl Secrets<'_> {
    /// Creates or replaces secret `name` of `org`. Returns its metadata and whether it was new.
    pub async fn put(&self, org: OrgId, name: &str, value: &SecretString, by: By) -> StoreResult<(SecretMeta, bool)> {
        let sealed = self.keyring.seal(org, name, value)?;
        let id = SecretId::new();
        let at = now();
        let sql = format!(
            "INSERT INTO secrets (id, org_id, name, ciphertext, nonce, key_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (org_id, name) DO UPDATE SET \
             ciphertext = excluded.ciphertext, nonce = excluded.nonce, key_id = excluded.key_id, updated_at = excluded.updated_at \
             RETURNING {META_COLUMNS}"
        );
        Ok(in_tx!(self.db, |tx| {
            let meta: SecretMeta = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id.as_uuid())
                .bind(org.as_uuid())
                .bind(name)
                .bind(&sealed.ciphertext)
                .bind(&sealed.nonce)
                .bind(&sealed.key_id)
                .bind(at)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .next()
                .ok_or(sqlx::Error::RowNotFound)?;
            let created = meta.id == id;
            let action = if created { "secret.create" } else { "secret.update" };
            tx.append_audit(
                &AuditEntry::new(org, by, action, ("secret", meta.id.to_string()))
                    .with_detail(serde_json::json!({ "name": name })),
            )
            .await?;
            (meta, created)
        }))
    }

    /// The secrets of `org` by name, without values.
    pub async fn list(&self, org: OrgId) -> StoreResult<Vec<SecretMeta>> {
        let sql = format!("SELECT {META_COLUMNS} FROM secrets WHERE org_id = $1");
        let mut metas: Vec<SecretMeta> = with_pool!(self.db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(org.as_uuid()).fetch_all(pool).await?
        });
        metas.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(metas)
    }

    pub async fn delete(&self, org: OrgId, name: &str, by: By) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            let deleted: Option<(uuid::Uuid,)> =
                sqlx::query_as("DELETE FROM secrets WHERE org_id = $1 AND name = $2 RETURNING id")
                    .bind(org.as_uuid())
                    .bind(name)
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .next();
            let Some((id,)) = deleted else { return Err(not_found("secret", name)) };
            tx.append_audit(
                &AuditEntry::new(org, by, "secret.delete", ("secret", id.to_string()))
                    .with_detail(serde_json::json!({ "name": name })),
            )
            .await?;
        });
        Ok(())
    }

    /// Opens secret `name` of `org` for one use, stamping `last_used_at` and auditing the use.
    pub async fn reveal(&self, org: OrgId, name: &str, usage: &SecretUse) -> StoreResult<SecretString> {
        let row: SealedRow = in_tx!(self.db, |tx| {
            let row: Option<SealedRow> = sqlx::query_as(
                "UPDATE secrets SET last_used_at = $3 WHERE org_id = $1 AND name = $2 \
                 RETURNING id, org_id, name, ciphertext, nonce, key_id",
            )
            .bind(org.as_uuid())
            .bind(name)
            .bind(now())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
            let Some(row) = row else { return Err(not_found("secret", name)) };
            tx.append_audit(
                &AuditEntry::new(org, usage.by, "secret.use", ("secret", row.id.to_string()))
                    .with_detail(serde_json::json!({ "name": name, "purpose": usage.purpose })),
            )
            .await?;
            row
        });
        Ok(self.keyring.open(OrgId::from_uuid(row.org_id), &row.name, &row.sealed())?)
    }

    /// Re-seals every secret of every org with `keyring`'s active key (which must open the old
    /// ones too), in one transaction, auditing each org once. Returns how many rows changed.
    pub async fn reseal_all(&self, keyring: &Keyring) -> StoreResult<u64> {
        let active = keyring.active_key_id().to_owned();
        Ok(in_tx!(self.db, |tx| {
            let rows: Vec<SealedRow> = sqlx::query_as(
                "SELECT id, org_id, name, ciphertext, nonce, key_id FROM secrets WHERE key_id <> $1 ORDER BY org_id, id",
            )
            .bind(&active)
            .fetch_all(&mut *tx)
            .await?;
            let mut per_org: Vec<(OrgId, u64)> = Vec::new();
            for row in &rows {
                let org = OrgId::from_uuid(row.org_id);
                let plaintext = keyring.open(org, &row.name, &row.sealed())?;
                let sealed = keyring.seal(org, &row.name, &plaintext)?;
                sqlx::query("UPDATE secrets SET ciphertext = $2, nonce = $3, key_id = $4 WHERE id = $1")
                    .bind(row.id)
                    .bind(&sealed.ciphertext)
                    .bind(&sealed.nonce)
                    .bind(&sealed.key_id)
                    .execute(&mut *tx)
                    .await?;
                match per_org.last_mut() {
                    Some((last, count)) if *last == org => *count += 1,
                    _ => per_org.push((org, 1)),
                }
            }
            for (org, count) in per_org {
                tx.append_audit(
                    &AuditEntry::new(org, By::System, "secret.reseal", ("keyring", active.clone()))
                        .with_detail(serde_json::json!({ "secrets": count })),
                )
                .await?;
            }
            rows.len() as u64
        }))
    }
}
