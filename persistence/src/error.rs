//! The one error type of the storage layer. Callers match on the variant; the gateway maps each to
//! an HTTP status in its single error-mapping place.

use thiserror::Error;

/// What went wrong in a store call.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The row asked for does not exist (or belongs to another org, which looks the same).
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// A unique constraint refused the write (a taken email, a duplicate secret name, ...).
    #[error("{what} already exists")]
    Conflict { what: String },
    /// An invitation that can no longer be used: accepted already, revoked or expired.
    #[error("the invitation is {state}")]
    InvitationClosed { state: crate::queries::InvitationState },
    /// The database refused to change an append-only row.
    #[error("{table} is append-only")]
    AppendOnly { table: String },
    /// A value read back could not be decoded (a corrupt row, a bad enum string).
    #[error("stored {what} is invalid: {reason}")]
    Corrupt { what: &'static str, reason: String },
    /// The vault could not encrypt or decrypt.
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    /// The configuration names a database we cannot use.
    #[error("database configuration invalid: {reason}")]
    Config { reason: String },
    /// Migrations failed to apply.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Redis did not answer or refused a command.
    #[error("redis error: {reason}")]
    Redis { reason: String },
    /// The database's disk is full: nothing was written (SQLite `SQLITE_FULL`, Postgres `53100`).
    #[error("the database's storage is full")]
    StorageFull,
    /// The database cannot be reached right now (no connection within the pool's wait, a broken
    /// connection): worth retrying later, nothing was written.
    #[error("the database is unavailable: {reason}")]
    Unavailable { reason: String },
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            let message = db.message();
            if let Some(rest) = message.strip_prefix("append_only: ") {
                let table = rest.split_whitespace().next().unwrap_or("table").to_owned();
                return StoreError::AppendOnly { table };
            }
            // SQLITE_FULL (13, and its extended forms), Postgres disk_full
            let code = db.code();
            if matches!(code.as_deref(), Some("13") | Some("53100")) {
                return StoreError::StorageFull;
            }
            if db.is_unique_violation() {
                let what = db.constraint().map(str::to_owned).unwrap_or_else(|| unique_target(message));
                return StoreError::Conflict { what };
            }
        }
        match &err {
            sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => StoreError::StorageFull,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable { reason: err.to_string() }
            }
            _ => StoreError::Database(err),
        }
    }
}

/// SQLite names the columns of a violated unique constraint only in its message
/// ("UNIQUE constraint failed: users.email").
fn unique_target(message: &str) -> String {
    message.rsplit(": ").next().unwrap_or("row").to_owned()
}

/// Shorthand for results of this crate.
pub type StoreResult<T> = Result<T, StoreError>;
