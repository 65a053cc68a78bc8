//! Runs and everything they leave behind: one row per step attempt (unique per run, node and
//! attempt, so a redelivered step is never recorded twice), the append-only run log that event
//! streams replay from, and the dead-letter queue.

use crate::Timestamp;
use aos_schema::{DlqEntryId, DlqStatus, OrgId, RunId, RunStatus, RunStepId, StepStatus, WorkflowId};
use serde::Serialize;
use sqlx::types::Json;

use crate::audit::{AuditEntry, AuditTx, By};
use crate::db::{Db, in_tx, now, with_pool};
use crate::error::StoreResult;
use crate::queries::orgs::{corrupt, not_found};
use crate::queries::page_limit;
use crate::queries::webhooks::Recorded;

/// One execution of one version of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: RunId,
    pub org_id: OrgId,
    pub workflow_id: WorkflowId,
    /// The published version it executes.
    pub version: i64,
    pub status: RunStatus,
    /// What started it: `webhook`, `schedule`, `manual` or `replay`.
    pub trigger_kind: String,
    pub idempotency_key: Option<String>,
    pub input: serde_json::Value,
    /// The run this one replays, if it is a replay.
    pub replay_of: Option<RunId>,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The W3C `traceparent` of what started the run; its steps' spans continue that trace.
    #[serde(skip)]
    pub traceparent: Option<String>,
}

#[derive(Clone, sqlx::FromRow)]
pub(crate) struct RunRow {
    pub(crate) id: uuid::Uuid,
    org_id: uuid::Uuid,
    workflow_id: uuid::Uuid,
    version: i64,
    status: String,
    trigger_kind: String,
    idempotency_key: Option<String>,
    #[sqlx(json)]
    input: serde_json::Value,
    replay_of: Option<uuid::Uuid>,
    error: Option<String>,
    created_at: Timestamp,
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    traceparent: Option<String>,
}

impl TryFrom<RunRow> for Run {
    type Error = crate::StoreError;

    fn try_from(row: RunRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id.into(),
            org_id: row.org_id.into(),
            workflow_id: row.workflow_id.into(),
            version: row.version,
            status: row.status.parse().map_err(|err| corrupt("run status", err))?,
            trigger_kind: row.trigger_kind,
            idempotency_key: row.idempotency_key,
            input: row.input,
            replay_of: row.replay_of.map(RunId::from),
            error: row.error,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            traceparent: row.traceparent,
        })
    }
}

/// One attempt of one step.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RunStep {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: RunStepId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub run_id: RunId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    pub node_id: String,
    /// 1 for the first try, then 2, 3, ... for retries.
    pub attempt: i64,
    #[sqlx(try_from = "String")]
    pub status: StepStatus,
    #[sqlx(json(nullable))]
    pub input: Option<serde_json::Value>,
    #[sqlx(json(nullable))]
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub duration_ms: Option<i64>,
}

/// One run-log row: what happened, in order (`seq` is global and increasing).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct RunLog {
    pub seq: i64,
    #[sqlx(try_from = "uuid::Uuid")]
    pub run_id: RunId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub workflow_id: WorkflowId,
    pub node_id: Option<String>,
    pub level: String,
    /// A run-event name (`step_started`, `step_succeeded`, `run_finished`, ...).
    pub event: String,
    pub message: String,
    #[sqlx(json)]
    pub data: serde_json::Value,
    pub created_at: Timestamp,
}

/// A run waiting in the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DlqEntry {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: DlqEntryId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub run_id: RunId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub workflow_id: WorkflowId,
    /// The step that exhausted its retries.
    pub node_id: String,
    pub error: String,
    /// The input of the failed step.
    #[sqlx(json)]
    pub input: serde_json::Value,
    #[sqlx(try_from = "String")]
    pub status: DlqStatus,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

/// A run to create.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub org_id: OrgId,
    pub workflow_id: WorkflowId,
    pub version: i64,
    pub trigger_kind: String,
    /// Unique per workflow: the same key again returns the first run instead of a second one.
    pub idempotency_key: Option<String>,
    pub input: serde_json::Value,
    pub replay_of: Option<RunId>,
    /// The W3C `traceparent` of what starts it (kept only when it is well-formed).
    pub traceparent: Option<String>,
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub workflow_id: Option<WorkflowId>,
    pub status: Option<RunStatus>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub limit: Option<i64>,
}

/// An attempt being started.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    pub run_id: RunId,
    pub org_id: OrgId,
    pub node_id: String,
    pub attempt: i64,
    pub status: StepStatus,
    pub input: Option<serde_json::Value>,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub status: StepStatus,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
}

/// A run-log row to append.
#[derive(Debug, Clone)]
pub struct NewRunLog {
    pub run_id: RunId,
    pub org_id: OrgId,
    pub workflow_id: WorkflowId,
    pub node_id: Option<String>,
    pub level: &'static str,
    pub event: &'static str,
    pub message: String,
    pub data: serde_json::Value,
}

/// A failed step that dead-letters its run.
#[derive(Debug, Clone)]
pub struct NewDlqEntry {
    pub run_id: RunId,
    pub node_id: String,
    pub error: String,
    pub input: serde_json::Value,
}

/// The runs repository.
#[derive(Debug, Clone, Copy)]
pub struct Runs<'a> {
    pub(crate) db: &'a Db,
    /// Where appended log rows are announced once committed.
    pub(crate) writer: &'a crate::writer::Writer,
}

const NOT_FINISHED: &str = "('queued', 'running')";

/// A W3C `traceparent`: `00-<32 hex>-<16 hex>-<2 hex>` (anything else is not stored).
pub(crate) fn is_traceparent(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    parts.len() == 4 && hex(parts[0], 2) && hex(parts[1], 32) && hex(parts[2], 16) && hex(parts[3], 2)
}

impl Runs<'_> {
    /// Creates a queued run, once per (workflow, idempotency key).
    pub async fn create(&self, new: &NewRun) -> StoreResult<Recorded<Run>> {
        let id = RunId::new();
        let (row, fresh): (RunRow, bool) = with_pool!(self.db, |pool| {
            let inserted: Option<RunRow> = sqlx::query_as(
                "INSERT INTO runs (id, org_id, workflow_id, version, status, trigger_kind, idempotency_key, input, replay_of, created_at, traceparent) \
                 VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $10) ON CONFLICT (workflow_id, idempotency_key) DO NOTHING RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(new.org_id.as_uuid())
            .bind(new.workflow_id.as_uuid())
            .bind(new.version)
            .bind(&new.trigger_kind)
            .bind(&new.idempotency_key)
            .bind(Json(&new.input))
            .bind(new.replay_of.map(|id| id.as_uuid()))
            .bind(now())
            .bind(new.traceparent.as_deref().filter(|t| is_traceparent(t)))
            .fetch_all(pool)
            .await?.into_iter().next();
            match inserted {
                Some(row) => (row, true),
                None => (
                    sqlx::query_as("SELECT * FROM runs WHERE workflow_id = $1 AND idempotency_key = $2")
                        .bind(new.workflow_id.as_uuid())
                        .bind(&new.idempotency_key)
                        .fetch_one(pool)
                        .await?,
                    false,
                ),
            }
        });
        let run = Run::try_from(row)?;
        Ok(if fresh { Recorded::New(run) } else { Recorded::Duplicate(run) })
    }

    /// A run by id, whatever its org: callers check membership in `org_id`.
    pub async fn get(&self, id: RunId) -> StoreResult<Run> {
        let row: Option<RunRow> = with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM runs WHERE id = $1").bind(id.as_uuid()).fetch_optional(pool).await?
        });
        row.ok_or_else(|| not_found("run", id))?.try_into()
    }

    /// The runs of `ids` that exist, whatever their org, in no particular order (at most 512 ids:
    /// one statement).
    pub async fn many(&self, ids: &[RunId]) -> StoreResult<Vec<Run>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = &ids[..ids.len().min(512)];
        let rows: Vec<RunRow> = with_pool!(self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new("SELECT * FROM runs WHERE id IN (");
            let mut listed = query.separated(", ");
            for id in ids {
                listed.push_bind(id.as_uuid());
            }
            listed.push_unseparated(")");
            query.build_query_as().fetch_all(pool).await?
        });
        rows.into_iter().map(Run::try_from).collect()
    }

    /// The status of each of `ids` that exists, whatever its org (at most 512 ids: one
    /// statement), without reading the runs' input.
    pub async fn statuses(&self, ids: &[RunId]) -> StoreResult<std::collections::HashMap<RunId, RunStatus>> {
        if ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let ids = &ids[..ids.len().min(512)];
        let rows: Vec<(uuid::Uuid, String)> = with_pool!(self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new("SELECT id, status FROM runs WHERE id IN (");
            let mut listed = query.separated(", ");
            for id in ids {
                listed.push_bind(id.as_uuid());
            }
            listed.push_unseparated(")");
            query.build_query_as().fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(id, status)| Ok((RunId::from(id), status.parse().map_err(|err| corrupt("run status", err))?)))
            .collect()
    }

    /// The name of the workflow of each of `runs` that belongs to `org` (other orgs' runs and
    /// unknown ids are left out): how a person reads what a run's debit was for.
    pub async fn workflow_names(
        &self,
        org: OrgId,
        runs: &[RunId],
    ) -> StoreResult<std::collections::HashMap<RunId, String>> {
        if runs.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let rows: Vec<(uuid::Uuid, String)> = with_pool!(self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT r.id, w.name FROM runs r JOIN workflows w ON w.id = r.workflow_id WHERE r.org_id = ",
            );
            query.push_bind(org.as_uuid()).push(" AND r.id IN (");
            let mut ids = query.separated(", ");
            for run in runs {
                ids.push_bind(run.as_uuid());
            }
            ids.push_unseparated(")");
            query.build_query_as().fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(id, name)| (RunId::from(id), name)).collect())
    }

    /// A run's status alone, whatever its org: what a step worker checks before it starts an
    /// attempt (a finished or cancelled run's jobs are dropped), without reading the run's input.
    pub async fn status(&self, id: RunId) -> StoreResult<RunStatus> {
        let status: Option<String> = with_pool!(self.db, |pool| {
            sqlx::query_scalar("SELECT status FROM runs WHERE id = $1").bind(id.as_uuid()).fetch_optional(pool).await?
        });
        status.ok_or_else(|| not_found("run", id))?.parse().map_err(|err| corrupt("run status", err))
    }

    /// Runs of every org that have not finished, oldest first: what a starting node resumes.
    pub async fn unfinished(&self, limit: i64) -> StoreResult<Vec<Run>> {
        let sql = format!("SELECT * FROM runs WHERE status IN {NOT_FINISHED} ORDER BY created_at, id LIMIT $1");
        let rows: Vec<RunRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(limit.clamp(1, 100_000)).fetch_all(pool).await?
        });
        rows.into_iter().map(Run::try_from).collect()
    }

    /// The newest run of `workflow` started by `trigger_kind` (a schedule's last tick).
    pub async fn latest_by_trigger(&self, workflow: WorkflowId, trigger_kind: &str) -> StoreResult<Option<Run>> {
        let row: Option<RunRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT * FROM runs WHERE workflow_id = $1 AND trigger_kind = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(workflow.as_uuid())
            .bind(trigger_kind)
            .fetch_optional(pool)
            .await?
        });
        row.map(Run::try_from).transpose()
    }

    /// Runs of `org`, newest first.
    pub async fn list(&self, org: OrgId, filter: &RunFilter) -> StoreResult<Vec<Run>> {
        let rows: Vec<RunRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT * FROM runs WHERE org_id = $1 AND ($2 IS NULL OR workflow_id = $2) AND ($3 IS NULL OR status = $3) \
                 AND ($4 IS NULL OR created_at > $4) AND ($5 IS NULL OR created_at < $5) \
                 ORDER BY created_at DESC, id DESC LIMIT $6",
            )
            .bind(org.as_uuid())
            .bind(filter.workflow_id.map(|id| id.as_uuid()))
            .bind(filter.status.map(RunStatus::as_str))
            .bind(filter.created_after)
            .bind(filter.created_before)
            .bind(page_limit(filter.limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Run::try_from).collect()
    }

    /// Moves an unfinished run to `status`; a finished run stays as it is. Returns whether it
    /// moved. Stamps `started_at` on the first move to running and `finished_at` on the last.
    pub async fn transition(&self, id: RunId, status: RunStatus, error: Option<&str>) -> StoreResult<bool> {
        let at = now();
        let started = (status == RunStatus::Running).then_some(at);
        let finished = status.is_terminal().then_some(at);
        let sql = format!(
            "UPDATE runs SET status = $2, error = COALESCE($3, error), started_at = COALESCE(started_at, $4), \
             finished_at = COALESCE(finished_at, $5) WHERE id = $1 AND status IN {NOT_FINISHED}"
        );
        let moved = with_pool!(self.db, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id.as_uuid())
                .bind(status.as_str())
                .bind(error)
                .bind(started)
                .bind(finished)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(moved > 0)
    }

    /// Records the start of an attempt, once per (run, node, attempt): a redelivered step gets
    /// `Duplicate` with the row already there.
    pub async fn start_attempt(&self, new: &NewAttempt) -> StoreResult<Recorded<RunStep>> {
        let id = RunStepId::new();
        let started = (new.status == StepStatus::Running).then(now);
        Ok(with_pool!(self.db, |pool| {
            let inserted: Option<RunStep> = sqlx::query_as(
                "INSERT INTO run_steps (id, run_id, org_id, node_id, attempt, status, input, started_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run_id, node_id, attempt) DO NOTHING RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(new.run_id.as_uuid())
            .bind(new.org_id.as_uuid())
            .bind(&new.node_id)
            .bind(new.attempt)
            .bind(new.status.as_str())
            .bind(new.input.as_ref().map(Json))
            .bind(started)
            .fetch_all(pool)
            .await?
            .into_iter()
            .next();
            match inserted {
                Some(step) => Recorded::New(step),
                None => Recorded::Duplicate(
                    sqlx::query_as("SELECT * FROM run_steps WHERE run_id = $1 AND node_id = $2 AND attempt = $3")
                        .bind(new.run_id.as_uuid())
                        .bind(&new.node_id)
                        .bind(new.attempt)
                        .fetch_one(pool)
                        .await?,
                ),
            }
        }))
    }

    /// Records how an attempt ended, once: an attempt already finished is left as it is and this
    /// returns `false`.
    pub async fn finish_attempt(
        &self,
        run: RunId,
        node_id: &str,
        attempt: i64,
        outcome: &AttemptOutcome,
    ) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE run_steps SET status = $4, output = $5, error = $6, duration_ms = $7, finished_at = $8 \
             WHERE run_id = $1 AND node_id = $2 AND attempt = $3 AND status IN {NOT_FINISHED}"
        );
        let done = with_pool!(self.db, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(run.as_uuid())
                .bind(node_id)
                .bind(attempt)
                .bind(outcome.status.as_str())
                .bind(outcome.output.as_ref().map(Json))
                .bind(&outcome.error)
                .bind(outcome.duration_ms)
                .bind(now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Every attempt of a run, in the order they were started.
    pub async fn steps(&self, run: RunId) -> StoreResult<Vec<RunStep>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM run_steps WHERE run_id = $1 ORDER BY id")
                .bind(run.as_uuid())
                .fetch_all(pool)
                .await?
        }))
    }

    /// Appends a run-log row (append-only: never changed afterwards) and announces it to the
    /// store's event feed.
    pub async fn append_log(&self, new: &NewRunLog) -> StoreResult<RunLog> {
        let row: RunLog = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "INSERT INTO run_logs (run_id, org_id, workflow_id, node_id, level, event, message, data, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
            )
            .bind(new.run_id.as_uuid())
            .bind(new.org_id.as_uuid())
            .bind(new.workflow_id.as_uuid())
            .bind(&new.node_id)
            .bind(new.level)
            .bind(new.event)
            .bind(&new.message)
            .bind(Json(&new.data))
            .bind(now())
            .fetch_all(pool)
            .await?
            .into_iter()
            .next()
            .ok_or(sqlx::Error::RowNotFound)?
        });
        self.writer.publish(vec![row.clone()]);
        Ok(row)
    }

    /// Log rows of a run after `after_seq`, in order.
    pub async fn logs(&self, run: RunId, after_seq: i64, limit: Option<i64>) -> StoreResult<Vec<RunLog>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM run_logs WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
                .bind(run.as_uuid())
                .bind(after_seq)
                .bind(page_limit(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Log rows of every run of a workflow after `after_seq`, in order.
    pub async fn workflow_logs(
        &self,
        workflow: WorkflowId,
        after_seq: i64,
        limit: Option<i64>,
    ) -> StoreResult<Vec<RunLog>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM run_logs WHERE workflow_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
                .bind(workflow.as_uuid())
                .bind(after_seq)
                .bind(page_limit(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Dead-letters an unfinished run: its status and its queue entry change together.
    pub async fn dead_letter(&self, new: &NewDlqEntry) -> StoreResult<DlqEntry> {
        let id = DlqEntryId::new();
        let at = now();
        let sql = format!(
            "UPDATE runs SET status = 'dead_lettered', error = $2, finished_at = $3 WHERE id = $1 AND status IN {NOT_FINISHED} \
             RETURNING org_id, workflow_id"
        );
        Ok(in_tx!(self.db, |tx| {
            let moved: Option<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(new.run_id.as_uuid())
                .bind(&new.error)
                .bind(at)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .next();
            let Some((org_id, workflow_id)) = moved else { return Err(not_found("unfinished run", new.run_id)) };
            let entry: DlqEntry = sqlx::query_as(
                "INSERT INTO dlq_entries (id, org_id, run_id, workflow_id, node_id, error, input, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(org_id)
            .bind(new.run_id.as_uuid())
            .bind(workflow_id)
            .bind(&new.node_id)
            .bind(&new.error)
            .bind(Json(&new.input))
            .bind(at)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next()
            .ok_or(sqlx::Error::RowNotFound)?;
            entry
        }))
    }

    /// Dead-letter entries of `org`, newest first, optionally only those in `status`.
    pub async fn dlq(&self, org: OrgId, status: Option<DlqStatus>, limit: Option<i64>) -> StoreResult<Vec<DlqEntry>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT * FROM dlq_entries WHERE org_id = $1 AND ($2 IS NULL OR status = $2) ORDER BY created_at DESC, id DESC LIMIT $3",
            )
            .bind(org.as_uuid())
            .bind(status.map(DlqStatus::as_str))
            .bind(page_limit(limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// How many dead-letter entries wait, over every org (the `aos_dlq_entries` gauge).
    pub async fn dlq_pending_total(&self) -> StoreResult<i64> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM dlq_entries WHERE status = 'pending'").fetch_one(pool).await?
        }))
    }

    /// How many entries of `org` are in each status.
    pub async fn dlq_counts(&self, org: OrgId) -> StoreResult<Vec<(DlqStatus, i64)>> {
        let rows: Vec<(String, i64)> = with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT status, COUNT(*) FROM dlq_entries WHERE org_id = $1 GROUP BY status")
                .bind(org.as_uuid())
                .fetch_all(pool)
                .await?
        });
        let mut counts = rows
            .into_iter()
            .map(|(status, count)| Ok((status.parse().map_err(|err| corrupt("dlq status", err))?, count)))
            .collect::<StoreResult<Vec<(DlqStatus, i64)>>>()?;
        counts.sort_by_key(|(status, _)| DlqStatus::ALL.iter().position(|s| s == status));
        Ok(counts)
    }

    /// Marks a pending entry of `org` replayed or discarded, audited. Resolving twice is
    /// `NotFound` (it is no longer pending).
    pub async fn resolve_dlq(&self, org: OrgId, id: DlqEntryId, status: DlqStatus, by: By) -> StoreResult<DlqEntry> {
        Ok(in_tx!(self.db, |tx| {
            let entry: Option<DlqEntry> = sqlx::query_as(
                "UPDATE dlq_entries SET status = $3, resolved_at = $4 WHERE id = $1 AND org_id = $2 AND status = 'pending' RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(org.as_uuid())
            .bind(status.as_str())
            .bind(now())
            .fetch_all(&mut *tx)
            .await?.into_iter().next();
            let Some(entry) = entry else { return Err(not_found("pending dead-letter entry", id)) };
            tx.append_audit(
                &AuditEntry::new(org, by, "dlq.resolve", ("dlq_entry", id.to_string()))
                    .with_detail(serde_json::json!({ "status": status, "run_id": entry.run_id })),
            )
            .await?;
            entry
        }))
    }
}
