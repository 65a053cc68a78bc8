//! The durable log of a workflow's live document: every accepted CRDT update appended in order
//! (append-only; the database refuses UPDATE and DELETE), and the latest compacted snapshot. A
//! room loads the snapshot, then the updates after the sequence number it covers.

use crate::Timestamp;
use aos_schema::WorkflowId;

use crate::db::{Db, now, with_pool};
use crate::error::StoreResult;

/// One stored CRDT update.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DocUpdate {
    /// Global, increasing: the order updates were accepted in.
    pub seq: i64,
    /// The encoded update (yrs v1 encoding).
    pub update_bytes: Vec<u8>,
    /// Which session or node sent it, for tracing.
    pub origin: String,
}

/// One update to append with [`Writer::append_doc_updates`](crate::Writer::append_doc_updates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocUpdate {
    /// The encoded update (yrs v1 encoding).
    pub update: Vec<u8>,
    /// Which session or node sent it, for tracing.
    pub origin: String,
}

/// A compacted state of the doc covering every update up to `upto_seq`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DocSnapshot {
    pub upto_seq: i64,
    /// The encoded full state (yrs v1 encoding).
    pub state: Vec<u8>,
    pub created_at: Timestamp,
}

/// The doc-log repository.
#[derive(Debug, Clone, Copy)]
pub struct Docs<'a> {
    pub(crate) db: &'a Db,
}

impl Docs<'_> {
    /// Appends one update; the returned sequence number orders it among all updates.
    pub async fn append_update(&self, workflow: WorkflowId, update: &[u8], origin: &str) -> StoreResult<i64> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_scalar(
                "INSERT INTO doc_updates (workflow_id, update_bytes, origin, created_at) VALUES ($1, $2, $3, $4) RETURNING seq",
            )
            .bind(workflow.as_uuid())
            .bind(update)
            .bind(origin)
            .bind(now())
            .fetch_all(pool)
            .await?.into_iter().next().ok_or(sqlx::Error::RowNotFound)?
        }))
    }

    /// Updates of `workflow` after `after_seq`, in order.
    pub async fn updates_after(&self, workflow: WorkflowId, after_seq: i64) -> StoreResult<Vec<DocUpdate>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT seq, update_bytes, origin FROM doc_updates WHERE workflow_id = $1 AND seq > $2 ORDER BY seq",
            )
            .bind(workflow.as_uuid())
            .bind(after_seq)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Updates of `workflow` after `after_seq`, plus any appended since `created_since`, in order.
    /// Several nodes append to one doc's log at once, and a row can commit after a row with a higher
    /// sequence number: reading the recent past again (applying an update twice is harmless) catches
    /// such a row that a cursor alone would skip.
    pub async fn updates_since(
        &self,
        workflow: WorkflowId,
        after_seq: i64,
        created_since: Timestamp,
    ) -> StoreResult<Vec<DocUpdate>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT seq, update_bytes, origin FROM doc_updates \
                 WHERE workflow_id = $1 AND (seq > $2 OR created_at >= $3) ORDER BY seq",
            )
            .bind(workflow.as_uuid())
            .bind(after_seq)
            .bind(created_since)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Total bytes of the updates after `after_seq`: compaction compares this with the snapshot.
    pub async fn log_size_after(&self, workflow: WorkflowId, after_seq: i64) -> StoreResult<(i64, i64)> {
        let (count, bytes): (i64, Option<i64>) = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT COUNT(*), CAST(SUM(LENGTH(update_bytes)) AS BIGINT) FROM doc_updates WHERE workflow_id = $1 AND seq > $2",
            )
            .bind(workflow.as_uuid())
            .bind(after_seq)
            .fetch_one(pool)
            .await?
        });
        Ok((count, bytes.unwrap_or(0)))
    }

    /// Stores a snapshot unless a newer one is already there. Returns whether it was stored.
    pub async fn save_snapshot(&self, workflow: WorkflowId, upto_seq: i64, state: &[u8]) -> StoreResult<bool> {
        let done = with_pool!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO doc_snapshots (workflow_id, upto_seq, state, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workflow_id) DO UPDATE SET upto_seq = excluded.upto_seq, state = excluded.state, \
                 created_at = excluded.created_at WHERE doc_snapshots.upto_seq < excluded.upto_seq",
            )
            .bind(workflow.as_uuid())
            .bind(upto_seq)
            .bind(state)
            .bind(now())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
    }

    /// The latest snapshot of `workflow`, if any.
    pub async fn snapshot(&self, workflow: WorkflowId) -> StoreResult<Option<DocSnapshot>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT upto_seq, state, created_at FROM doc_snapshots WHERE workflow_id = $1")
                .bind(workflow.as_uuid())
                .fetch_optional(pool)
                .await?
        }))
    }
}
