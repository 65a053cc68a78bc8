//! Storage for AutomateOS: every table of the data model on SQLite (the embedded default) and on
//! Postgres, behind one [`Store`]. Repositories are split by topic (`store.runs()`,
//! `store.secrets()`, ...); each query is written once and compiled for both backends, and one
//! conformance suite proves they behave the same. This is the only crate that imports sqlx or redis.

pub mod audit;
pub mod credits;
mod db;
pub mod doc_fanout;
pub mod error;
mod json_text;
pub mod queries;
pub mod queue;
mod redis_link;
#[cfg(feature = "testing")]
pub mod testing;
mod timestamp;
pub mod vault;
pub mod writer;

use std::path::PathBuf;
use std::sync::Arc;

pub use audit::{AuditEntry, AuditQuery, AuditRecord, By, ChainBreak, ChainVerification};
pub use credits::Credits;
pub use db::{Backend, Db, now};
pub use doc_fanout::{DocBroadcast, DocFanout, DocSubscription};
pub use error::{StoreError, StoreResult};
pub use queries::*;
pub use queue::{
    Delivery, DeliveryId, JobStep, MemoryStepQueue, QueueDepth, QueueFuture, RedisQueueConfig, RedisStepQueue, StepJob,
    StepQueue,
};
pub use redis_link::{RedisLink, Subscription};
pub use timestamp::Timestamp;
pub use vault::{Keyring, Sealed, VaultError};
pub use writer::{
    Admission, Admitted, AdmittedEvent, AttemptRecord, DeadLetter, DocAppend, LogRecord, RunBill, RunRecords,
    Transition, Writer,
};

/// Where the SQL data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// An SQLite file (created if absent): the embedded default.
    SqliteFile(PathBuf),
    /// A Postgres URL.
    Postgres(String),
}

/// The storage face of the platform: a database pool and the vault's keyring.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    /// Seals and opens secret values; shared, never mutated (rotation builds a new keyring).
    keyring: Arc<Keyring>,
    /// The group-commit write path of runs (see `writer.rs`).
    writer: Writer,
    /// The credits gate's cached balances (see `credits.rs`).
    credits: Arc<Credits>,
}

impl Store {
    /// Connects to `target`, applies pending migrations and seeds reference rows.
    pub async fn open(target: &DatabaseTarget, keyring: Keyring) -> StoreResult<Self> {
        let db = match target {
            DatabaseTarget::SqliteFile(path) => Db::open_sqlite(path).await?,
            DatabaseTarget::Postgres(url) => Db::connect_postgres(url).await?,
        };
        Self::from_db(db, keyring).await
    }

    /// Wraps an open pool, applying pending migrations and seeding reference rows.
    pub async fn from_db(db: Db, keyring: Keyring) -> StoreResult<Self> {
        db.migrate().await?;
        let credits = Arc::new(Credits::new(db.clone()));
        let writer = Writer::start(db.clone(), Arc::clone(&credits));
        let store = Self { db, keyring: Arc::new(keyring), writer, credits };
        store.billing().ensure_default_price_plan().await?;
        Ok(store)
    }

    /// The underlying pool.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The group-commit writer runs are admitted and recorded through.
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Each org's balance as the credits gate sees it (cached; see `credits.rs`).
    pub fn credits(&self) -> &Credits {
        &self.credits
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The vault's keyring (for key rotation, which builds a new one from it).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await
    }

    pub fn orgs(&self) -> Orgs<'_> {
        Orgs { db: &self.db }
    }

    pub fn invitations(&self) -> Invitations<'_> {
        Invitations { db: &self.db }
    }

    pub fn workflows(&self) -> Workflows<'_> {
        Workflows { db: &self.db }
    }

    pub fn drafts(&self) -> Drafts<'_> {
        Drafts { db: &self.db }
    }

    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { db: &self.db }
    }

    pub fn docs(&self) -> Docs<'_> {
        Docs { db: &self.db }
    }

    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { db: &self.db, keyring: &self.keyring }
    }

    pub fn runs(&self) -> Runs<'_> {
        Runs { db: &self.db, writer: &self.writer }
    }

    pub fn nodes(&self) -> Nodes<'_> {
        Nodes { db: &self.db }
    }

    pub fn secrets(&self) -> Secrets<'_> {
        Secrets { db: &self.db, keyring: &self.keyring }
    }

    pub fn templates(&self) -> Templates<'_> {
        Templates { db: &self.db }
    }

    pub fn billing(&self) -> Billing<'_> {
        Billing { db: &self.db, credits: &self.credits }
    }

    pub fn audit(&self) -> audit::Audit<'_> {
        audit::Audit { db: &self.db }
    }
}
