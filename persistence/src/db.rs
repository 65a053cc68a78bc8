//! The connection to whichever SQL backend is configured: an SQLite file (the embedded default) or
//! Postgres. Both sit behind [`Db`]; the `with_pool!` and `in_tx!` macros run one query body
//! against the concrete pool, so every repository is written once and compiled for both backends.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::Timestamp;
use crate::error::{StoreError, StoreResult};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Prepared statements each connection keeps. The writer's multi-row statements come in a few
/// sizes per kind of row (see `writer::padded`), so all of them stay prepared beside the
/// repositories' own queries.
const STATEMENT_CACHE: usize = 400;

/// Which SQL backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool on one of the two backends.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the configured backend's concrete pool. The body is compiled
/// once per backend, so it must be SQL both understand (`$1` placeholders work on both).
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` inside a write transaction bound to `$tx`, committing after it. An early return
/// through `?` or `return` drops the transaction, which rolls it back. SQLite transactions begin
/// IMMEDIATE so two writers never deadlock on a read-then-write upgrade.
///
/// A connection whose transaction failed anywhere (a statement, or the commit itself) is closed
/// rather than returned to the pool: SQLite rolls a transaction back by itself on some failures
/// (a full disk), after which the driver could no longer end it and would refuse every later
/// transaction on that connection.
macro_rules! in_tx {
    ($db:expr, |$tx:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(pool) => {
                let mut connection = pool.acquire().await?;
                let outcome: $crate::error::StoreResult<_> = async {
                    #[allow(unused_mut)]
                    let mut $tx = sqlx::Connection::begin_with(&mut *connection, "BEGIN IMMEDIATE").await?;
                    let out = $body;
                    $tx.commit().await?;
                    Ok(out)
                }
                .await;
                if outcome.is_err() {
                    connection.close_on_drop();
                }
                outcome?
            }
            $crate::db::Db::Postgres(pool) => {
                let mut connection = pool.acquire().await?;
                let outcome: $crate::error::StoreResult<_> = async {
                    #[allow(unused_mut)]
                    let mut $tx = sqlx::Connection::begin(&mut *connection).await?;
                    let out = $body;
                    $tx.commit().await?;
                    Ok(out)
                }
                .await;
                if outcome.is_err() {
                    connection.close_on_drop();
                }
                outcome?
            }
        }
    };
}

pub(crate) use {in_tx, with_pool};

impl Db {
    /// Opens (creating if needed) the SQLite database file at `path`, in WAL mode with
    /// `synchronous=FULL`: every commit is synced, so what was acknowledged survives an OS crash
    /// too (the group-commit writer makes that one sync per batch, not per row).
    pub async fn open_sqlite(path: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // statement journals (a multi-row insert inside a batch's transaction keeps one, to
            // undo just that statement) stay in memory instead of going through temporary files
            .pragma("temp_store", "memory")
            .statement_cache_capacity(STATEMENT_CACHE);
        let pool = sqlite_pool().max_connections(8).connect_with(options).await?;
        Ok(Db::Sqlite(pool))
    }

    /// Connects to Postgres at `url` (`postgres://user:pass@host:port/db`).
    pub async fn connect_postgres(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|err| StoreError::Config { reason: format!("invalid postgres url: {err}") })?
            .statement_cache_capacity(STATEMENT_CACHE);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // with the database down, a request fails in seconds (503) instead of hanging
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Db::Postgres(pool))
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// One round trip to the database, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// A second pool of `connections` on the same database with the same options, connecting on
    /// first use (the group-commit writer's own, so its commits never queue behind reads).
    /// `sqlite_pragmas` are set on each SQLite connection besides the store's own.
    pub(crate) fn sibling(&self, connections: u32, sqlite_pragmas: &[(&'static str, String)]) -> Self {
        match self {
            Db::Sqlite(pool) => {
                let mut options = (*pool.connect_options()).clone();
                for (name, value) in sqlite_pragmas {
                    options = options.pragma(*name, value.clone());
                }
                Db::Sqlite(sqlite_pool().max_connections(connections).connect_lazy_with(options))
            }
            Db::Postgres(pool) => Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(connections)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_lazy_with((*pool.connect_options()).clone()),
            ),
        }
    }

    /// Copies what the SQLite write-ahead log holds into the database file, as far as no reader
    /// still needs it, without waiting for anyone (a passive checkpoint). Nothing to do on Postgres.
    pub(crate) async fn checkpoint(&self) -> StoreResult<()> {
        if let Db::Sqlite(pool) = self {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(pool).await?;
        }
        Ok(())
    }

    /// Whether [`Db::close`] was called.
    pub fn is_closed(&self) -> bool {
        with_pool!(self, |pool| pool.is_closed())
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }
}

/// Options of every SQLite pool. A connection is not pinged when it is taken from the pool: the
/// database is a local file, so a ping would only tell that the connection's thread still runs
/// (it stops only with the connection), at the cost of one more round trip to that thread for
/// each query and each of the writer's batches.
fn sqlite_pool() -> SqlitePoolOptions {
    SqlitePoolOptions::new().test_before_acquire(false)
}

/// The current time, at the microsecond precision both backends store.
pub fn now() -> Timestamp {
    Timestamp::now()
}
