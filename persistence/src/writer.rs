//! The group-commit writer: the hot write path of runs (intake and what runs record) goes through
//! one task per store, which commits many callers' rows in one transaction and answers each caller
//! once that transaction is durable. Under load the queue fills while a commit is under way, so
//! the next transaction takes everything that arrived meanwhile: one commit (one fsync) for
//! hundreds of runs instead of several per step. Rows of one kind go in multi-row statements.
//! Of what it takes at once, the admissions commit first, in a transaction of their own, then the
//! live docs' changes (every doc room of the node appends through here), then the runs' records:
//! a delivery waits for its own few rows, never for the steps of the runs that finished meanwhile.
//!
//! What a caller gets back is committed: an [`Admitted`] run exists, a [`RunRecords`] checkpoint's
//! rows are all there. If a batch fails (a full disk, a broken connection), each job in it is
//! tried again alone, so one job's failure is never another's; the caller of a job that still
//! fails gets the error and nothing of that job was written.
//!
//! Committed run-log rows are published to [`Writer::subscribe`]rs after the commit, so a live
//! event stream never shows a row the log does not have.
//!
//! The writer runs on a thread of its own (`aos-writer`, a one-thread tokio runtime) with a pool of
//! its own, so a batch's statements never wait behind request handlers and run steps on the shared
//! runtime, nor for a connection behind reads. It stops, closing its pool, once the store's pool
//! is closed. On SQLite its commits leave the write-ahead log to a checkpointer beside it, which
//! copies the log into the database file through one of the store's connections: that copying
//! and its sync are off the writer's path (the writer's connection checkpoints only as a backstop,
//! should the log grow past [`WRITER_CHECKPOINT_BACKSTOP_PAGES`]).

use std::sync::Arc;

use aos_schema::{DlqEntryId, OrgId, RunId, RunStatus, RunStepId, StepStatus, WorkflowId};
use sqlx::QueryBuilder;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::Timestamp;
use crate::credits::Credits;
use crate::db::{Db, in_tx, now};
use crate::error::{StoreError, StoreResult};
use crate::json_text::JsonText;
use crate::queries::{CreditKind, NewDocUpdate, NewRun, PricePlan, Run, RunLog, Usage};

/// Runs' status changes, one multi-row `UPDATE … FROM (VALUES …)`: this head, the rows, then
/// [`RUN_MOVES_WHERE`] (Postgres) or [`RUN_MOVES_WHERE_SQLITE`].
const RUN_MOVES: &str = "UPDATE runs SET status = v.column2, error = COALESCE(v.column3, runs.error), \
     started_at = COALESCE(runs.started_at, v.column4), finished_at = COALESCE(runs.finished_at, v.column5) FROM (";
const RUN_MOVES_WHERE: &str = ") AS v WHERE runs.id = v.column1 AND runs.status IN ('queued', 'running')";
/// On SQLite `status || ''`: the bare column matches the partial index of unfinished runs, and
/// SQLite then scans every unfinished run for each batch (milliseconds per batch with thousands of
/// runs waiting or delayed) instead of finding each run by its id. Postgres plans the join by id.
const RUN_MOVES_WHERE_SQLITE: &str =
    ") AS v WHERE runs.id = v.column1 AND (runs.status || '') IN ('queued', 'running')";
/// Jobs one transaction takes at most.
const MAX_JOBS: usize = 512;
/// Rows one multi-row statement carries at most (SQLite allows 32,766 bound values). A power of
/// two: see [`statement_chunks`].
const ROWS_PER_STATEMENT: usize = 256;
/// Connections of the writer's own pool: it commits one batch at a time.
const WRITER_CONNECTIONS: u32 = 1;
/// The page cache of the writer's SQLite connection, in KiB: the pages its inserts touch (index
/// leaves, the tables' last pages) stay cached between batches. 32 MiB measured no faster under
/// load and kept about 25 MiB more resident.
const WRITER_CACHE_KIB: u32 = 4 * 1024;
/// The write-ahead log's size, in pages, at which the writer's own connection checkpoints after
/// a commit (SQLite's default is 1,000): only should the checkpointer fall behind.
const WRITER_CHECKPOINT_BACKSTOP_PAGES: u32 = 16 * 1024;
/// The checkpointer's rest after each checkpoint: the log it copies is that of many commits.
const CHECKPOINT_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);
/// How often an idle writer looks whether the store's pool was closed.
const CLOSED_CHECK: std::time::Duration = std::time::Duration::from_millis(500);
/// How far the run-event feed may run ahead of a slow subscriber before it skips (it then catches
/// up from the log).
const FEED_CAPACITY: usize = 4096;

/// A run to create under its unique (workflow, idempotency key), with the delivery that asked for
/// it when it came through a webhook.
#[derive(Debug, Clone)]
pub struct Admission {
    pub run: NewRun,
    /// The node that will drive the run: claimed at insert, so no later claim is needed.
    pub owner_node: Option<String>,
    /// The webhook delivery, recorded once per (source, key) and linked to the run.
    pub event: Option<AdmittedEvent>,
}

/// A webhook delivery, as admitted with its run.
#[derive(Debug, Clone)]
pub struct AdmittedEvent {
    pub source_id: aos_schema::WebhookSourceId,
    pub idempotency_key: String,
    pub headers: serde_json::Value,
    pub body: serde_json::Value,
    /// The URL's query string as an object.
    pub query: serde_json::Value,
}

/// An admitted run: the stored row, and whether this admission created it (`false`: the key was
/// seen before and this is the first run).
#[derive(Debug, Clone)]
pub struct Admitted {
    pub run: Run,
    pub fresh: bool,
}

/// Everything a run recorded since its last checkpoint, written together.
#[derive(Debug, Clone)]
pub struct RunRecords {
    pub run_id: RunId,
    pub org_id: OrgId,
    pub workflow_id: WorkflowId,
    /// When the run started running (its first checkpoint says so; later ones leave it `None`).
    pub started_at: Option<Timestamp>,
    /// A status change (applied only while the run is unfinished).
    pub transition: Option<Transition>,
    /// Attempt rows: inserted, or updated while they are unfinished.
    pub attempts: Vec<AttemptRecord>,
    pub logs: Vec<LogRecord>,
    /// The run's dead-letter entry (with a `dead_lettered` transition).
    pub dead_letter: Option<DeadLetter>,
    /// What the whole run used: priced with the active plan and debited once per run.
    pub bill: Option<RunBill>,
}

impl RunRecords {
    pub fn new(run_id: RunId, org_id: OrgId, workflow_id: WorkflowId) -> Self {
        Self {
            run_id,
            org_id,
            workflow_id,
            started_at: None,
            transition: None,
            attempts: Vec::new(),
            logs: Vec::new(),
            dead_letter: None,
            bill: None,
        }
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.started_at.is_none()
            && self.transition.is_none()
            && self.attempts.is_empty()
            && self.logs.is_empty()
            && self.dead_letter.is_none()
            && self.bill.is_none()
    }

    /// Moves the records out, leaving an empty set for the same run.
    pub fn take(&mut self) -> RunRecords {
        std::mem::replace(self, RunRecords::new(self.run_id, self.org_id, self.workflow_id))
    }
}

/// A run's status change.
#[derive(Debug, Clone)]
pub struct Transition {
    pub status: RunStatus,
    pub error: Option<String>,
    pub at: Timestamp,
}

/// One attempt of one step as it stands.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub node_id: String,
    pub attempt: i64,
    pub status: StepStatus,
    pub input: Option<serde_json::Value>,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub duration_ms: Option<i64>,
}

/// A run-log row of the run the records are for.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub node_id: Option<String>,
    pub level: &'static str,
    pub event: &'static str,
    pub message: String,
    pub data: serde_json::Value,
    pub at: Timestamp,
}

/// The step that exhausted its retries, and what it was given.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub node_id: String,
    pub error: String,
    pub input: serde_json::Value,
}

/// What a whole run used. Stored as the run's one usage record (no node, attempt 0) and debited
/// under the ledger reference `run:<id>`, so a run is billed once however often it is recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunBill {
    pub steps: i64,
    pub compute_ms: i64,
    pub bytes: i64,
}

enum Job {
    Admit { admission: Box<EncodedAdmission>, reply: oneshot::Sender<Answer<Admitted, EncodedAdmission>> },
    Record { records: Box<EncodedRecords>, reply: oneshot::Sender<Answer<(), EncodedRecords>> },
    Docs { append: Box<DocAppend>, reply: oneshot::Sender<Answer<Vec<i64>, DocAppend>> },
}

/// Changes of one workflow's live doc to append to its log, in order.
#[derive(Debug)]
pub struct DocAppend {
    pub workflow: WorkflowId,
    pub updates: Vec<NewDocUpdate>,
}

/// A job's content with its JSON already encoded by the caller (on the caller's task, so the
/// writer's one thread only binds text).
struct Encoded<T, J> {
    content: T,
    json: J,
}

type EncodedAdmission = Encoded<Admission, AdmissionJson>;
type EncodedRecords = Encoded<RunRecords, RecordsJson>;

/// An admission's JSON: the run's input, the delivery's headers, body and query.
struct AdmissionJson {
    input: JsonText,
    event: Option<EventJson>,
}

/// A delivery's headers, body and query as JSON text.
type EventJson = (JsonText, JsonText, JsonText);

impl AdmissionJson {
    fn of(admission: &Admission) -> Self {
        Self {
            input: JsonText::of(&admission.run.input),
            event: admission
                .event
                .as_ref()
                .map(|event| (JsonText::of(&event.headers), JsonText::of(&event.body), JsonText::of(&event.query))),
        }
    }
}

/// Run records' JSON: each attempt's input and output, each log row's data, the dead letter's input.
struct RecordsJson {
    attempts: Vec<(Option<JsonText>, Option<JsonText>)>,
    logs: Vec<JsonText>,
    dead_letter: Option<JsonText>,
}

impl RecordsJson {
    fn of(records: &RunRecords) -> Self {
        Self {
            attempts: records
                .attempts
                .iter()
                .map(|a| (a.input.as_ref().map(JsonText::of), a.output.as_ref().map(JsonText::of)))
                .collect(),
            logs: records.logs.iter().map(|l| JsonText::of(&l.data)).collect(),
            dead_letter: records.dead_letter.as_ref().map(|dead| JsonText::of(&dead.input)),
        }
    }
}

/// A job's result, with the job's content handed back: freeing what it held (JSON trees and
/// their text, strings) is then the caller's work, not the writer's.
type Answer<T, J> = (StoreResult<T>, Box<J>);

/// What one job produced, before it is answered: the admitted run, or the sequence numbers its
/// log rows were given (in the order of the records' rows).
enum Done {
    Admitted(Box<Admitted>),
    Recorded(Vec<i64>),
    /// The doc updates' sequence numbers, in their order.
    Appended(Vec<i64>),
}

/// What one transaction produced: one result per job in order, and the debits it made (org, micros).
type Committed = (Vec<Done>, Vec<(OrgId, i64)>);

/// The handle callers submit through; clones share the one task.
#[derive(Debug, Clone)]
pub struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
    feed: broadcast::Sender<Arc<[RunLog]>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Admit { .. } => f.write_str("Admit"),
            Job::Record { records, .. } => write!(f, "Record({})", records.content.run_id),
            Job::Docs { append, .. } => write!(f, "Docs({}, {})", append.workflow, append.updates.len()),
        }
    }
}

impl Writer {
    /// Starts the writer of `db` on a thread of its own (on the current runtime, sharing the
    /// store's pool, if no thread can be started).
    pub(crate) fn start(db: Db, credits: Arc<Credits>) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        let (hand_over, handed) = std::sync::mpsc::channel::<(Db, Arc<Credits>, mpsc::UnboundedReceiver<Job>)>();
        let thread_feed = feed.clone();
        let spawned = std::thread::Builder::new().name("aos-writer".to_owned()).spawn(move || {
            let Ok((store_db, credits, rx)) = handed.recv() else { return };
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime.block_on(async move {
                    let own = store_db.sibling(
                        WRITER_CONNECTIONS,
                        &[
                            ("cache_size", format!("-{WRITER_CACHE_KIB}")),
                            ("wal_autocheckpoint", WRITER_CHECKPOINT_BACKSTOP_PAGES.to_string()),
                        ],
                    );
                    let (committed, checkpoints) = mpsc::channel(1);
                    tokio::spawn(checkpoint_loop(store_db.clone(), checkpoints));
                    write_loop(store_db, Some((own, committed)), credits, rx, thread_feed).await;
                }),
                Err(err) => tracing::error!(error = %err, "the store's writer cannot start a runtime"),
            }
        });
        let parts = (db, credits, rx);
        let parts = match spawned {
            Ok(_thread) => hand_over.send(parts).err().map(|unsent| unsent.0),
            Err(err) => {
                tracing::warn!(error = %err, "no thread for the store's writer; it shares the runtime");
                Some(parts)
            }
        };
        if let Some((db, credits, rx)) = parts {
            tokio::spawn(write_loop(db, None, credits, rx, feed.clone()));
        }
        Self { jobs, feed }
    }

    /// Creates a run (and records its delivery) under their unique keys; answers once committed.
    pub async fn admit(&self, admission: Admission) -> StoreResult<Admitted> {
        let (reply, answer) = oneshot::channel();
        let json = AdmissionJson::of(&admission);
        self.submit(Job::Admit { admission: Box::new(Encoded { content: admission, json }), reply })?;
        answer.await.map_err(|_| gone())?.0
    }

    /// Writes a run's records; answers once committed.
    pub async fn record(&self, records: RunRecords) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        let json = RecordsJson::of(&records);
        self.submit(Job::Record { records: Box::new(Encoded { content: records, json }), reply })?;
        answer.await.map_err(|_| gone())?.0
    }

    /// Appends changes of a workflow's live doc to its log, in order, in one of the writer's
    /// commits (shared with every other room's changes queued meanwhile); answers once committed,
    /// with their sequence numbers, and hands the changes back (to be published after the commit).
    pub async fn append_doc_updates(&self, append: DocAppend) -> StoreResult<(Vec<i64>, DocAppend)> {
        if append.updates.is_empty() {
            return Ok((Vec::new(), append));
        }
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Docs { append: Box::new(append), reply })?;
        let (result, append) = answer.await.map_err(|_| gone())?;
        Ok((result?, *append))
    }

    /// Every run-log row this store commits from now on (the writer's batches, and rows appended
    /// directly through `Runs::append_log`), after the commit.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<[RunLog]>> {
        self.feed.subscribe()
    }

    /// Publishes rows committed outside the writer.
    pub(crate) fn publish(&self, rows: Vec<RunLog>) {
        if !rows.is_empty() {
            let _nobody_listens = self.feed.send(rows.into());
        }
    }

    fn submit(&self, job: Job) -> StoreResult<()> {
        self.jobs.send(job).map_err(|_| gone())
    }
}

fn gone() -> StoreError {
    StoreError::Unavailable { reason: "the store's writer has stopped".into() }
}

/// Commits what arrives on `rx` through the writer's `own` pool (or the store's) until every
/// handle is gone or `store_db`, the store's pool, is closed. With its own pool, it tells the
/// checkpointer of each commit.
async fn write_loop(
    store_db: Db,
    own: Option<(Db, mpsc::Sender<()>)>,
    credits: Arc<Credits>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    feed: broadcast::Sender<Arc<[RunLog]>>,
) {
    let db = own.as_ref().map_or(&store_db, |(own, _)| own);
    let mut jobs = Vec::with_capacity(MAX_JOBS);
    loop {
        tokio::select! {
            taken = rx.recv_many(&mut jobs, MAX_JOBS) => if taken == 0 { break },
            () = tokio::time::sleep(CLOSED_CHECK) => {
                if store_db.is_closed() { break }
                continue;
            }
        }
        let taken = std::mem::take(&mut jobs);
        if store_db.is_closed() {
            for job in taken {
                job.answer(Err(gone()));
            }
            break;
        }
        // admissions first, in a transaction of their own: a delivery's 202 waits for its few rows,
        // not for the steps of the runs that finished meanwhile, and a run starts that much sooner
        let (admissions, rest): (Vec<Job>, Vec<Job>) =
            taken.into_iter().partition(|job| matches!(job, Job::Admit { .. }));
        let (docs, records): (Vec<Job>, Vec<Job>) = rest.into_iter().partition(|job| matches!(job, Job::Docs { .. }));
        let batches = [(BatchKind::Admissions, admissions), (BatchKind::Docs, docs), (BatchKind::Records, records)];
        for (kind, batch) in batches {
            if !batch.is_empty() {
                write_batch(db, kind, batch, &credits, &feed).await;
            }
        }
        if let Some((_, committed)) = &own {
            // one waiting notice covers every commit until the checkpointer takes it
            let _already_told = committed.try_send(());
        }
        jobs = Vec::with_capacity(MAX_JOBS);
    }
    if let Some((own, _)) = own {
        own.close().await;
    }
}

/// What a batch holds: runs to admit, or runs' records (the `kind` of its metrics).
#[derive(Debug, Clone, Copy)]
enum BatchKind {
    Admissions,
    /// Changes of live docs (their rooms wait for them before anyone hears of them).
    Docs,
    Records,
}

impl BatchKind {
    fn as_str(self) -> &'static str {
        match self {
            BatchKind::Admissions => "admissions",
            BatchKind::Docs => "docs",
            BatchKind::Records => "records",
        }
    }
}

/// Commits `taken` as one transaction (or, should that fail for one job's content, each job in
/// a transaction of its own), answers each job, and publishes the committed run-log rows.
async fn write_batch(
    db: &Db,
    kind: BatchKind,
    taken: Vec<Job>,
    credits: &Credits,
    feed: &broadcast::Sender<Arc<[RunLog]>>,
) {
    let started = std::time::Instant::now();
    let mut debits: Vec<(OrgId, i64)> = Vec::new();
    let results: Vec<StoreResult<Done>> = match commit(db, &taken).await {
        Ok((done, debited)) => {
            debits = debited;
            done.into_iter().map(Ok).collect()
        }
        Err(err) if shared_failure(&err) => {
            // the database itself is down or full: every job would fail alike, so none is
            // tried again now (each would wait out the same timeout)
            tracing::warn!(error = %err, jobs = taken.len(), "a write batch failed; nothing of it was written");
            taken.iter().map(|_| Err(same_failure(&err))).collect()
        }
        Err(err) => {
            // one transaction per job, so one job's failure is never another's
            tracing::warn!(error = %err, jobs = taken.len(), "a write batch failed; writing its jobs one by one");
            let mut alone = Vec::with_capacity(taken.len());
            for job in &taken {
                alone.push(match commit(db, std::slice::from_ref(job)).await {
                    Ok((mut done, debited)) => {
                        debits.extend(debited);
                        done.pop().ok_or_else(mismatch)
                    }
                    Err(err) => Err(err),
                });
            }
            alone
        }
    };
    let kind = kind.as_str();
    metrics::histogram!(aos_ops::metrics::WRITE_BATCH_JOBS, aos_ops::metrics::label::KIND => kind)
        .record(taken.len() as f64);
    metrics::histogram!(aos_ops::metrics::WRITE_BATCH_SECONDS, aos_ops::metrics::label::KIND => kind)
        .record(started.elapsed().as_secs_f64());
    for (org, micros) in debits {
        credits.debited(org, micros);
    }
    let mut committed: Vec<RunLog> = Vec::new();
    for (mut job, result) in taken.into_iter().zip(results) {
        if let (Job::Record { records, .. }, Ok(Done::Recorded(seqs))) = (&mut job, &result) {
            committed.extend(committed_logs(&mut records.content, seqs));
        }
        job.answer(result);
    }
    committed.sort_by_key(|row| row.seq);
    if !committed.is_empty() {
        let _nobody_listens = feed.send(committed.into());
    }
}

/// Checkpoints `db` after commits, pausing [`CHECKPOINT_PAUSE`] between checkpoints, until the
/// writer is gone.
async fn checkpoint_loop(db: Db, mut committed: mpsc::Receiver<()>) {
    while committed.recv().await.is_some() {
        if db.is_closed() {
            break;
        }
        if let Err(err) = db.checkpoint().await {
            tracing::warn!(error = %err, "a checkpoint of the write-ahead log failed; the next commit tries again");
        }
        tokio::time::sleep(CHECKPOINT_PAUSE).await;
    }
}

impl Job {
    /// Answers the caller with what its job produced.
    fn answer(self, result: StoreResult<Done>) {
        match (self, result) {
            (Job::Admit { reply, admission }, Ok(Done::Admitted(admitted))) => {
                let _caller_gone = reply.send((Ok(*admitted), admission));
            }
            (Job::Record { reply, records }, Ok(Done::Recorded(_))) => {
                let _caller_gone = reply.send((Ok(()), records));
            }
            (Job::Admit { reply, admission }, result) => {
                let _caller_gone = reply.send((result.and_then(|_| Err(mismatch())), admission));
            }
            (Job::Record { reply, records }, result) => {
                let _caller_gone = reply.send((result.and_then(|_| Err(mismatch())), records));
            }
            (Job::Docs { reply, append }, Ok(Done::Appended(seqs))) => {
                let _caller_gone = reply.send((Ok(seqs), append));
            }
            (Job::Docs { reply, append }, result) => {
                let _caller_gone = reply.send((result.and_then(|_| Err(mismatch())), append));
            }
        }
    }
}

/// The log rows of `records` as committed under `seqs`, moved out of the records (the feed gets
/// them; the caller gets back what is left to free).
fn committed_logs(records: &mut RunRecords, seqs: &[i64]) -> Vec<RunLog> {
    let (run_id, org_id, workflow_id) = (records.run_id, records.org_id, records.workflow_id);
    records
        .logs
        .drain(..)
        .zip(seqs)
        .map(|(l, seq)| RunLog {
            seq: *seq,
            run_id,
            org_id,
            workflow_id,
            node_id: l.node_id,
            level: l.level.to_owned(),
            event: l.event.to_owned(),
            message: l.message,
            data: l.data,
            created_at: l.at,
        })
        .collect()
}

/// Splits `rows` into multi-row statements of at most [`ROWS_PER_STATEMENT`] rows each; see
/// [`padded`] for their sizes.
fn statement_chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    rows.chunks(ROWS_PER_STATEMENT)
}

/// The rows of one statement, padded with `None`s to a power of two; a statement binds NULL in
/// each column of a padding row and leaves such rows out (`WHERE v.column1 IS NOT NULL`). So a
/// batch takes one statement per kind of row (each a round trip to the connection), and each kind
/// comes in a handful of shapes, which all stay in the connection's statement cache.
fn padded<T>(chunk: &[T]) -> impl Iterator<Item = Option<&T>> {
    let padding = chunk.len().next_power_of_two() - chunk.len();
    chunk.iter().map(Some).chain(std::iter::repeat_n(None, padding))
}

/// Whether `err` is the database's state rather than a job's content.
fn shared_failure(err: &StoreError) -> bool {
    matches!(err, StoreError::Unavailable { .. } | StoreError::StorageFull)
}

/// `err` again, for each job of a batch that failed as a whole.
fn same_failure(err: &StoreError) -> StoreError {
    match err {
        StoreError::StorageFull => StoreError::StorageFull,
        other => StoreError::Unavailable { reason: other.to_string() },
    }
}

fn mismatch() -> StoreError {
    StoreError::Corrupt { what: "write batch", reason: "a job's result did not match its kind".into() }
}

/// The ids a batch's rows get before they are written (so nothing has to be read back to link
/// an event to its run, or to match returned rows to callers).
struct Planned {
    run_ids: Vec<Option<RunId>>,
}

/// Writes `jobs` in one transaction, one statement per kind of row (per [`ROWS_PER_STATEMENT`]).
async fn commit(db: &Db, jobs: &[Job]) -> StoreResult<Committed> {
    let at = now();
    let planned =
        Planned { run_ids: jobs.iter().map(|job| matches!(job, Job::Admit { .. }).then(RunId::new)).collect() };
    // rows in key order, so two nodes' batches that touch the same keys (a shared idempotency
    // key, an org's balance) wait for each other instead of deadlocking
    let mut admissions: Vec<(usize, &Admission, &AdmissionJson)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, job)| match job {
            Job::Admit { admission, .. } => Some((i, &admission.content, &admission.json)),
            Job::Record { .. } | Job::Docs { .. } => None,
        })
        .collect();
    admissions.sort_by(|(_, a, _), (_, b, _)| {
        (a.run.workflow_id, &a.run.idempotency_key).cmp(&(b.run.workflow_id, &b.run.idempotency_key))
    });
    let records: Vec<(usize, &RunRecords, &RecordsJson)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, job)| match job {
            Job::Record { records, .. } => Some((i, &records.content, &records.json)),
            Job::Admit { .. } | Job::Docs { .. } => None,
        })
        .collect();
    type AttemptJson = (Option<JsonText>, Option<JsonText>);
    let attempts: Vec<(&RunRecords, &AttemptRecord, &AttemptJson)> = records
        .iter()
        .flat_map(|(_, r, json)| r.attempts.iter().zip(&json.attempts).map(move |(a, j)| (*r, a, j)))
        .collect();
    let logs: Vec<(usize, &RunRecords, &LogRecord, &JsonText)> = records
        .iter()
        .flat_map(|(i, r, json)| r.logs.iter().zip(&json.logs).map(move |(l, j)| (*i, *r, l, j)))
        .collect();
    let mut bills: Vec<(&RunRecords, RunBill)> = records.iter().filter_map(|(_, r, _)| Some((*r, r.bill?))).collect();
    bills.sort_by_key(|(r, _)| (r.org_id, r.run_id));
    // doc changes: (job, workflow, change), in each job's order
    let doc_rows: Vec<(usize, WorkflowId, &NewDocUpdate)> = jobs
        .iter()
        .enumerate()
        .flat_map(|(i, job)| match job {
            Job::Docs { append, .. } => append.updates.iter().map(|u| (i, append.workflow, u)).collect(),
            Job::Admit { .. } | Job::Record { .. } => Vec::new(),
        })
        .collect();
    let mut doc_seqs: Vec<Vec<i64>> = jobs.iter().map(|_| Vec::new()).collect();
    let mut done: Vec<Option<Done>> = jobs.iter().map(|_| None).collect();
    let mut log_seqs: Vec<Vec<i64>> = jobs.iter().map(|_| Vec::new()).collect();
    let sqlite = db.backend() == crate::db::Backend::Sqlite;
    let mut debited: Vec<(OrgId, i64)> = Vec::new();
    in_tx!(db, |tx| {
        // admissions: the runs first (their ids go into the events), then the deliveries
        for chunk in statement_chunks(&admissions) {
            let mut insert = QueryBuilder::new(
                "INSERT INTO runs (id, org_id, workflow_id, version, status, trigger_kind, idempotency_key, input, \
                 replay_of, created_at, traceparent, owner_node) SELECT * FROM (",
            );
            insert.push_values(padded(chunk), |mut row, admission| {
                let run = admission.map(|(_, a, _)| &a.run);
                row.push_bind(admission.and_then(|(i, _, _)| planned.run_ids[*i]).map(|id| id.as_uuid()))
                    .push_bind(run.map(|r| r.org_id.as_uuid()))
                    .push_bind(run.map(|r| r.workflow_id.as_uuid()))
                    .push_bind(run.map(|r| r.version))
                    .push_bind(run.map(|_| "queued"))
                    .push_bind(run.map(|r| r.trigger_kind.as_str()))
                    .push_bind(run.and_then(|r| r.idempotency_key.as_deref()))
                    .push_bind(admission.map(|(_, _, json)| json.input.clone()))
                    .push_bind(run.and_then(|r| r.replay_of).map(|id| id.as_uuid()))
                    .push_bind(run.map(|_| at))
                    .push_bind(run.and_then(|r| r.traceparent.as_deref()).filter(|t| crate::queries::is_traceparent(t)))
                    .push_bind(admission.and_then(|(_, a, _)| a.owner_node.as_deref()));
            });
            // only the ids come back: a fresh run is what was sent, a repeat is read
            insert.push(
                ") AS v WHERE v.column1 IS NOT NULL \
                 ON CONFLICT (workflow_id, idempotency_key) DO NOTHING RETURNING id",
            );
            let inserted: Vec<(uuid::Uuid,)> = insert.build_query_as().fetch_all(&mut *tx).await?;
            let inserted: std::collections::HashSet<uuid::Uuid> = inserted.into_iter().map(|(id,)| id).collect();
            for (i, admission, _) in chunk {
                let fresh = planned.run_ids[*i].filter(|id| inserted.contains(&id.as_uuid()));
                let run = match fresh {
                    Some(id) => admitted_run(id, admission, at),
                    None => {
                        let existing: crate::queries::RunRow =
                            sqlx::query_as("SELECT * FROM runs WHERE workflow_id = $1 AND idempotency_key = $2")
                                .bind(admission.run.workflow_id.as_uuid())
                                .bind(&admission.run.idempotency_key)
                                .fetch_one(&mut *tx)
                                .await?;
                        Run::try_from(existing)?
                    }
                };
                done[*i] = Some(Done::Admitted(Box::new(Admitted { run, fresh: fresh.is_some() })));
            }
        }
        let events: Vec<(usize, &Admission, &AdmittedEvent, &EventJson)> = admissions
            .iter()
            .filter_map(|(i, a, json)| Some((*i, *a, a.event.as_ref()?, json.event.as_ref()?)))
            .collect();
        for chunk in statement_chunks(&events) {
            let mut insert = QueryBuilder::new(
                "INSERT INTO webhook_events (id, source_id, org_id, idempotency_key, headers, body, query, run_id, received_at) \
                 SELECT * FROM (",
            );
            insert.push_values(padded(chunk), |mut row, delivery| {
                let run_id = delivery.and_then(|(i, ..)| match &done[*i] {
                    Some(Done::Admitted(admitted)) => Some(admitted.run.id.as_uuid()),
                    _ => None,
                });
                row.push_bind(delivery.map(|_| uuid::Uuid::now_v7()))
                    .push_bind(delivery.map(|(_, _, event, _)| event.source_id.as_uuid()))
                    .push_bind(delivery.map(|(_, admission, _, _)| admission.run.org_id.as_uuid()))
                    .push_bind(delivery.map(|(_, _, event, _)| event.idempotency_key.as_str()))
                    .push_bind(delivery.map(|(.., (headers, ..))| headers.clone()))
                    .push_bind(delivery.map(|(.., (_, body, _))| body.clone()))
                    .push_bind(delivery.map(|(.., (.., query))| query.clone()))
                    .push_bind(run_id)
                    .push_bind(delivery.map(|_| at));
            });
            insert.push(") AS v WHERE v.column1 IS NOT NULL ON CONFLICT (source_id, idempotency_key) DO NOTHING");
            insert.build().execute(&mut *tx).await?;
        }

        // run records: status changes (one multi-row UPDATE), attempts, dead letters, logs, bills
        let moves: Vec<RunMove> = records.iter().filter_map(|(_, r, _)| RunMove::of(r, at)).collect();
        for chunk in statement_chunks(&moves) {
            // VALUES columns are `column1`… on both backends; padding rows match no run
            let mut update = QueryBuilder::new(RUN_MOVES);
            update.push_values(padded(chunk), |mut row, m| {
                row.push_bind(m.map(|m| m.run_id.as_uuid()))
                    .push_bind(m.map(|m| m.status.as_str()))
                    .push_bind(m.and_then(|m| m.error.as_deref()))
                    .push_bind(m.and_then(|m| m.started))
                    .push_bind(m.and_then(|m| m.finished));
            });
            update.push(if sqlite { RUN_MOVES_WHERE_SQLITE } else { RUN_MOVES_WHERE });
            update.build().execute(&mut *tx).await?;
        }
        for (_, r, json) in &records {
            if let (Some(dead), Some(input)) = (&r.dead_letter, &json.dead_letter) {
                let when = r.transition.as_ref().map_or(at, |t| t.at);
                sqlx::query(
                    "INSERT INTO dlq_entries (id, org_id, run_id, workflow_id, node_id, error, input, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)",
                )
                .bind(DlqEntryId::new().as_uuid())
                .bind(r.org_id.as_uuid())
                .bind(r.run_id.as_uuid())
                .bind(r.workflow_id.as_uuid())
                .bind(&dead.node_id)
                .bind(&dead.error)
                .bind(input.clone())
                .bind(when)
                .execute(&mut *tx)
                .await?;
            }
        }
        for chunk in statement_chunks(&attempts) {
            let mut upsert = QueryBuilder::new(
                "INSERT INTO run_steps (id, run_id, org_id, node_id, attempt, status, input, output, error, \
                 started_at, finished_at, duration_ms) SELECT * FROM (",
            );
            upsert.push_values(padded(chunk), |mut row, attempt| {
                let a = attempt.map(|(_, a, _)| *a);
                row.push_bind(attempt.map(|_| RunStepId::new().as_uuid()))
                    .push_bind(attempt.map(|(r, ..)| r.run_id.as_uuid()))
                    .push_bind(attempt.map(|(r, ..)| r.org_id.as_uuid()))
                    .push_bind(a.map(|a| a.node_id.as_str()))
                    .push_bind(a.map(|a| a.attempt))
                    .push_bind(a.map(|a| a.status.as_str()))
                    .push_bind(attempt.and_then(|(.., (input, _))| input.clone()))
                    .push_bind(attempt.and_then(|(.., (_, output))| output.clone()))
                    .push_bind(a.and_then(|a| a.error.as_deref()))
                    .push_bind(a.and_then(|a| a.started_at))
                    .push_bind(a.and_then(|a| a.finished_at))
                    .push_bind(a.and_then(|a| a.duration_ms));
            });
            upsert.push(
                ") AS v WHERE v.column1 IS NOT NULL \
                 ON CONFLICT (run_id, node_id, attempt) DO UPDATE SET status = excluded.status, \
                 input = COALESCE(excluded.input, run_steps.input), output = excluded.output, error = excluded.error, \
                 started_at = COALESCE(run_steps.started_at, excluded.started_at), finished_at = excluded.finished_at, \
                 duration_ms = excluded.duration_ms WHERE run_steps.status IN ('queued', 'running')",
            );
            upsert.build().execute(&mut *tx).await?;
        }
        for chunk in statement_chunks(&logs) {
            let mut insert = QueryBuilder::new(
                "INSERT INTO run_logs (run_id, org_id, workflow_id, node_id, level, event, message, data, created_at) \
                 SELECT * FROM (",
            );
            insert.push_values(padded(chunk), |mut row, log| {
                let (r, l) = (log.map(|(_, r, ..)| *r), log.map(|(_, _, l, _)| *l));
                row.push_bind(r.map(|r| r.run_id.as_uuid()))
                    .push_bind(r.map(|r| r.org_id.as_uuid()))
                    .push_bind(r.map(|r| r.workflow_id.as_uuid()))
                    .push_bind(l.and_then(|l| l.node_id.as_deref()))
                    .push_bind(l.map(|l| l.level))
                    .push_bind(l.map(|l| l.event))
                    .push_bind(l.map(|l| l.message.as_str()))
                    .push_bind(log.map(|(.., data)| (*data).clone()))
                    .push_bind(l.map(|l| l.at));
            });
            insert.push(") AS v WHERE v.column1 IS NOT NULL");
            let seqs = numbered!(insert, &mut *tx, sqlite, chunk.len(), "run log insert");
            for ((i, ..), seq) in chunk.iter().zip(seqs) {
                log_seqs[*i].push(seq);
            }
        }
        if !bills.is_empty() {
            let plan: Option<PricePlan> =
                sqlx::query_as(crate::queries::ACTIVE_PLAN).bind(true).fetch_optional(&mut *tx).await?;
            let plan = plan.ok_or_else(|| StoreError::NotFound { entity: "price plan", id: "active".into() })?;
            for chunk in statement_chunks(&bills) {
                let priced: Vec<(&RunRecords, RunBill, i64)> = chunk
                    .iter()
                    .map(|(r, bill)| {
                        let usage = Usage {
                            runs: 1,
                            steps: bill.steps.max(0),
                            compute_ms: bill.compute_ms.max(0),
                            bytes: bill.bytes.max(0),
                        };
                        (*r, *bill, plan.cost_micros(usage))
                    })
                    .collect();
                let mut usage = QueryBuilder::new(
                    "INSERT INTO usage_records (id, org_id, workflow_id, run_id, node_id, attempt, steps, compute_ms, \
                     bytes, cost_micros, created_at) SELECT * FROM (",
                );
                usage.push_values(padded(&priced), |mut row, priced| {
                    let r = priced.map(|(r, ..)| *r);
                    let bill = priced.map(|(_, bill, _)| *bill);
                    row.push_bind(priced.map(|_| uuid::Uuid::now_v7()))
                        .push_bind(r.map(|r| r.org_id.as_uuid()))
                        .push_bind(r.map(|r| r.workflow_id.as_uuid()))
                        .push_bind(r.map(|r| r.run_id.as_uuid()))
                        .push_bind(priced.map(|_| RUN_USAGE_NODE))
                        .push_bind(priced.map(|_| 0_i64))
                        .push_bind(bill.map(|b| b.steps.max(0)))
                        .push_bind(bill.map(|b| b.compute_ms.max(0)))
                        .push_bind(bill.map(|b| b.bytes.max(0)))
                        .push_bind(priced.map(|(.., cost)| *cost))
                        .push_bind(priced.map(|_| at));
                });
                usage.push(") AS v WHERE v.column1 IS NOT NULL ON CONFLICT (run_id, node_id, attempt) DO NOTHING");
                usage.build().execute(&mut *tx).await?;
                // the debit's reference is as unique as the usage record: a run billed before is
                // debited nothing again
                let debits: Vec<&(&RunRecords, RunBill, i64)> =
                    priced.iter().filter(|(_, _, cost)| *cost > 0).collect();
                if debits.is_empty() {
                    continue;
                }
                let mut debit = QueryBuilder::new(
                    "INSERT INTO credit_ledger (org_id, amount_micros, kind, reference, memo, created_at) SELECT * FROM (",
                );
                debit.push_values(padded(&debits), |mut row, debit| {
                    row.push_bind(debit.map(|(r, ..)| r.org_id.as_uuid()))
                        .push_bind(debit.map(|(.., cost)| -*cost))
                        .push_bind(debit.map(|_| CreditKind::Usage.as_str()))
                        .push_bind(debit.map(|(r, ..)| format!("run:{}", r.run_id)))
                        .push_bind(debit.map(|(_, bill, _)| format!("{} steps, {} ms", bill.steps, bill.compute_ms)))
                        .push_bind(debit.map(|_| at));
                });
                debit.push(") AS v WHERE v.column1 IS NOT NULL ON CONFLICT (org_id, reference) DO NOTHING");
                debit.build().execute(&mut *tx).await?;
                debited.extend(debits.iter().map(|(r, _, cost)| (r.org_id, *cost)));
            }
        }
        for chunk in statement_chunks(&doc_rows) {
            let mut insert = QueryBuilder::new(
                "INSERT INTO doc_updates (workflow_id, update_bytes, origin, created_at) SELECT * FROM (",
            );
            insert.push_values(padded(chunk), |mut row, change| {
                row.push_bind(change.map(|(_, workflow, _)| workflow.as_uuid()))
                    .push_bind(change.map(|(.., u)| u.update.as_slice()))
                    .push_bind(change.map(|(.., u)| u.origin.as_str()))
                    .push_bind(change.map(|_| at));
            });
            insert.push(") AS v WHERE v.column1 IS NOT NULL");
            let seqs = numbered!(insert, &mut *tx, sqlite, chunk.len(), "doc update insert");
            for ((i, ..), seq) in chunk.iter().zip(seqs) {
                doc_seqs[*i].push(seq);
            }
        }
    });
    for (i, ..) in &records {
        done[*i] = Some(Done::Recorded(std::mem::take(&mut log_seqs[*i])));
    }
    for (i, job) in jobs.iter().enumerate() {
        if let Job::Docs { .. } = job {
            done[i] = Some(Done::Appended(std::mem::take(&mut doc_seqs[i])));
        }
    }
    let done = done.into_iter().map(|d| d.ok_or_else(mismatch)).collect::<StoreResult<Vec<Done>>>()?;
    Ok((done, debited))
}

/// Runs a multi-row insert (a `QueryBuilder`) of `$rows` rows into a table numbered by `seq`, in
/// transaction `$tx`; evaluates to the numbers in the order of its VALUES. Only the numbers come
/// back (the rows are what was sent): an insert numbers its rows in the order of its VALUES on
/// both backends; SQLite's are the run of numbers ending at the last rowid (no other writer can
/// insert inside this transaction). A macro, as each backend's transaction is its own type.
macro_rules! numbered {
    ($insert:expr, $tx:expr, $sqlite:expr, $rows:expr, $what:expr) => {{
        let mut insert = $insert;
        let rows: usize = $rows;
        let seqs: Vec<i64> = if $sqlite {
            let result = insert.build().execute($tx).await?;
            let (last, count) = (result.last_rowid().unwrap_or(0), result.rows_affected());
            if count != rows as u64 {
                return Err(StoreError::Corrupt { what: $what, reason: "a row was not inserted".into() });
            }
            (last - rows as i64 + 1..=last).collect()
        } else {
            insert.push(" RETURNING seq");
            let mut seqs: Vec<(i64,)> = insert.build_query_as().fetch_all($tx).await?;
            seqs.sort_unstable();
            seqs.into_iter().map(|(seq,)| seq).collect()
        };
        if seqs.len() != rows {
            return Err(StoreError::Corrupt { what: $what, reason: "a row was not numbered".into() });
        }
        seqs
    }};
}
use numbered;

/// One run's status change, as the batch's UPDATE applies it.
struct RunMove {
    run_id: RunId,
    status: RunStatus,
    error: Option<String>,
    started: Option<Timestamp>,
    finished: Option<Timestamp>,
}

impl RunMove {
    fn of(r: &RunRecords, at: Timestamp) -> Option<Self> {
        let status = match (&r.dead_letter, &r.transition, r.started_at) {
            (Some(_), _, _) => RunStatus::DeadLettered,
            (None, Some(t), _) => t.status,
            (None, None, Some(_)) => RunStatus::Running,
            (None, None, None) => return None,
        };
        let (error, when) = match (&r.dead_letter, &r.transition) {
            (Some(dead), t) => (Some(dead.error.clone()), t.as_ref().map_or(at, |t| t.at)),
            (None, Some(t)) => (t.error.clone(), t.at),
            (None, None) => (None, r.started_at.unwrap_or(at)),
        };
        Some(Self {
            run_id: r.run_id,
            status,
            error,
            started: r.started_at.or((status == RunStatus::Running).then_some(when)),
            finished: status.is_terminal().then_some(when),
        })
    }
}

/// The last rowid of an insert where the backend tells it (SQLite).
trait LastRowid {
    fn last_rowid(&self) -> Option<i64>;
}

impl LastRowid for sqlx::sqlite::SqliteQueryResult {
    fn last_rowid(&self) -> Option<i64> {
        Some(self.last_insert_rowid())
    }
}

impl LastRowid for sqlx::postgres::PgQueryResult {
    fn last_rowid(&self) -> Option<i64> {
        None
    }
}

/// The run an admission created, as stored.
fn admitted_run(id: RunId, admission: &Admission, at: Timestamp) -> Run {
    let new = &admission.run;
    Run {
        id,
        org_id: new.org_id,
        workflow_id: new.workflow_id,
        version: new.version,
        status: RunStatus::Queued,
        trigger_kind: new.trigger_kind.clone(),
        idempotency_key: new.idempotency_key.clone(),
        input: new.input.clone(),
        replay_of: new.replay_of,
        error: None,
        created_at: at,
        started_at: None,
        finished_at: None,
        traceparent: new.traceparent.clone().filter(|t| crate::queries::is_traceparent(t)),
    }
}

/// The node id of a run's one usage record (step nodes never have an empty id).
pub const RUN_USAGE_NODE: &str = "";

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite finds each run of a batch's status changes by its id, however many runs are
    /// unfinished: the bare `status IN (…)` made it scan them all.
    #[tokio::test]
    async fn status_changes_find_their_runs_by_id_on_sqlite() {
        let cx = crate::testing::TestStore::new(crate::Backend::Sqlite).await;
        let Db::Sqlite(pool) = cx.store.db().clone() else { unreachable!("a SQLite store") };
        let values = "VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)";
        let mut plans = Vec::new();
        for tail in [RUN_MOVES_WHERE_SQLITE, RUN_MOVES_WHERE] {
            let sql = format!("EXPLAIN QUERY PLAN {RUN_MOVES}{values}{tail}");
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap();
            plans.push(rows.into_iter().map(|(.., detail)| detail).collect::<Vec<_>>());
        }
        let (ours, bare) = (&plans[0], &plans[1]);
        assert!(
            ours.iter().any(|step| step.starts_with("SEARCH runs USING INDEX sqlite_autoindex_runs_1")),
            "{ours:?}"
        );
        assert!(!ours.iter().any(|step| step.starts_with("SCAN runs")), "{ours:?}");
        // the bare condition is what scanned (else this test could not catch its return)
        assert!(bare.iter().any(|step| step.starts_with("SCAN runs")), "{bare:?}");
        cx.cleanup().await;
    }

    #[test]
    fn statements_come_in_power_of_two_sizes_covering_every_row() {
        for len in [0, 1, 2, 3, 22, 255, 256, 257, 700, 1000] {
            let rows: Vec<usize> = (0..len).collect();
            let chunks: Vec<&[usize]> = statement_chunks(&rows).collect();
            assert_eq!(chunks.concat(), rows, "{len} rows, in order, each once");
            assert_eq!(chunks.len(), len.div_ceil(ROWS_PER_STATEMENT), "{len}: as few statements as can be");
            for chunk in &chunks {
                let padded: Vec<Option<&usize>> = padded(chunk).collect();
                assert!(
                    padded.len().is_power_of_two() && padded.len() <= ROWS_PER_STATEMENT,
                    "{len}: {}",
                    padded.len()
                );
                assert!(padded.len() < 2 * chunk.len(), "{len}: less padding than rows");
                let (rows, padding) = padded.split_at(chunk.len());
                assert!(rows.iter().zip(chunk.iter()).all(|(row, sent)| *row == Some(sent)), "{len}: rows first");
                assert!(padding.iter().all(Option::is_none), "{len}: then padding");
            }
        }
    }
}
