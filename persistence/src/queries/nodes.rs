//! Nodes and run ownership: each server process beats a heartbeat under its node id, and each
//! unfinished run names the node whose actor drives it. A run whose node stopped beating is an
//! orphan: another node (or the same one, back under the same id) claims it and re-creates its
//! actor from the database. Claims are one conditional `UPDATE`, so two nodes never both win one.

use std::time::Duration;

use aos_schema::{RunId, RunStatus};

use crate::Timestamp;
use crate::db::{Db, now, with_pool};
use crate::error::StoreResult;
use crate::queries::orgs::{corrupt, not_found};

/// What a claim on a run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunClaim {
    /// The run is now (or already was) this node's.
    Claimed,
    /// A live node drives it.
    OwnedBy(String),
    /// The run has finished: nobody needs to drive it.
    Finished(RunStatus),
}

/// The nodes repository.
#[derive(Debug, Clone, Copy)]
pub struct Nodes<'a> {
    pub(crate) db: &'a Db,
}

/// The oldest heartbeat a live node may have.
fn live_since(stale_after: Duration) -> Timestamp {
    now() - time::Duration::try_from(stale_after).unwrap_or(time::Duration::MAX)
}

impl Nodes<'_> {
    /// Records that `node` is alive now.
    pub async fn heartbeat(&self, node: &str) -> StoreResult<()> {
        with_pool!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO nodes (id, started_at, heartbeat_at) VALUES ($1, $2, $2) \
                 ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            )
            .bind(node)
            .bind(now())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Nodes that beat within `stale_after`, by id.
    pub async fn live(&self, stale_after: Duration) -> StoreResult<Vec<String>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_scalar("SELECT id FROM nodes WHERE heartbeat_at > $1 ORDER BY id")
                .bind(live_since(stale_after))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Makes `node` the owner of `run` if nobody live owns it: no owner, `node` itself, or an owner
    /// whose last heartbeat is older than `stale_after`.
    pub async fn claim_run(&self, run: RunId, node: &str, stale_after: Duration) -> StoreResult<RunClaim> {
        let claimed = with_pool!(self.db, |pool| {
            sqlx::query(
                "UPDATE runs SET owner_node = $2 WHERE id = $1 AND status IN ('queued', 'running') \
                 AND (owner_node IS NULL OR owner_node = $2 \
                      OR owner_node NOT IN (SELECT id FROM nodes WHERE heartbeat_at > $3))",
            )
            .bind(run.as_uuid())
            .bind(node)
            .bind(live_since(stale_after))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if claimed > 0 {
            return Ok(RunClaim::Claimed);
        }
        let row: Option<(String, Option<String>)> = with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT status, owner_node FROM runs WHERE id = $1")
                .bind(run.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        let (status, owner) = row.ok_or_else(|| not_found("run", run))?;
        let status: RunStatus = status.parse().map_err(|err| corrupt("run status", err))?;
        Ok(match owner {
            Some(owner) if !status.is_terminal() => RunClaim::OwnedBy(owner),
            _ => RunClaim::Finished(status),
        })
    }

    /// Up to `limit` unfinished runs no live node drives, oldest first: those whose owner stopped
    /// beating for `stale_after`, and those nobody claimed within `stale_after` of their creation
    /// (a node that created a run and died before starting it).
    pub async fn orphaned_runs(&self, stale_after: Duration, limit: i64) -> StoreResult<Vec<RunId>> {
        let since = live_since(stale_after);
        let ids: Vec<uuid::Uuid> = with_pool!(self.db, |pool| {
            sqlx::query_scalar(
                "SELECT id FROM runs WHERE status IN ('queued', 'running') \
                 AND ((owner_node IS NULL AND created_at < $1) \
                      OR (owner_node IS NOT NULL AND owner_node NOT IN (SELECT id FROM nodes WHERE heartbeat_at > $1))) \
                 ORDER BY created_at, id LIMIT $2",
            )
            .bind(since)
            .bind(limit.clamp(1, 10_000))
            .fetch_all(pool)
            .await?
        });
        Ok(ids.into_iter().map(RunId::from).collect())
    }

    /// Unfinished runs `node` owns (oldest first): the node checks each has its actor.
    pub async fn owned_runs(&self, node: &str, limit: i64) -> StoreResult<Vec<RunId>> {
        let ids: Vec<uuid::Uuid> = with_pool!(self.db, |pool| {
            sqlx::query_scalar(
                "SELECT id FROM runs WHERE status IN ('queued', 'running') AND owner_node = $1 \
                 ORDER BY created_at, id LIMIT $2",
            )
            .bind(node)
            .bind(limit.clamp(1, 100_000))
            .fetch_all(pool)
            .await?
        });
        Ok(ids.into_iter().map(RunId::from).collect())
    }

    /// The node that drives `run`, if any.
    pub async fn owner_of(&self, run: RunId) -> StoreResult<Option<String>> {
        let owner: Option<Option<String>> = with_pool!(self.db, |pool| {
            sqlx::query_scalar("SELECT owner_node FROM runs WHERE id = $1")
                .bind(run.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        owner.ok_or_else(|| not_found("run", run))
    }
}
