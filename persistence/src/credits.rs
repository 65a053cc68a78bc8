//! The credits gate's view of each org's balance, so admitting a run costs no database round trip:
//! a balance is read from `credit_balances` at most once per [`FRESH_FOR`] per org, moved at once
//! by the debits this process's writer commits, and read again after credits are added here.
//! Another node's debits and credits show within `FRESH_FOR`. The gate only decides whether a run
//! may start; the ledger and its kept balance stay exact whatever the gate saw.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aos_schema::OrgId;

use crate::db::{Db, with_pool};
use crate::error::StoreResult;

/// How long a read balance is trusted (beyond this process's own debits, which apply at once).
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// Cached balances, by org.
#[derive(Debug)]
pub struct Credits {
    db: Db,
    cache: Mutex<HashMap<OrgId, (i64, Instant)>>,
}

impl Credits {
    pub(crate) fn new(db: Db) -> Self {
        Self { db, cache: Mutex::new(HashMap::new()) }
    }

    /// The org's balance in micros, as the credits gate sees it.
    pub async fn balance(&self, org: OrgId) -> StoreResult<i64> {
        if let Some((balance, at)) = self.lock().get(&org).copied()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(balance);
        }
        let read: Option<i64> = with_pool!(&self.db, |pool| {
            sqlx::query_scalar("SELECT balance_micros FROM credit_balances WHERE org_id = $1")
                .bind(org.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        let balance = read.unwrap_or(0);
        self.lock().insert(org, (balance, Instant::now()));
        Ok(balance)
    }

    /// A debit of `micros` this process committed.
    pub(crate) fn debited(&self, org: OrgId, micros: i64) {
        if let Some(entry) = self.lock().get_mut(&org) {
            entry.0 = entry.0.saturating_sub(micros);
        }
    }

    /// Forgets the org's balance (credits were added): the next gate reads it.
    pub(crate) fn forget(&self, org: OrgId) {
        self.lock().remove(&org);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<OrgId, (i64, Instant)>> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
