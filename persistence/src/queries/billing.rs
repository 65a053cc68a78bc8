//! Pay-as-you-go accounting: price plans turn each step's usage into a cost, usage records keep
//! what was measured, and the append-only credit ledger holds the prepaid credits it is debited
//! from. Recording the same step twice (a redelivery) is never counted twice.
//!
//! Money is `i64` micro-units of USD ("micros": 1 USD = 1_000_000, 1 cent = 10_000).
//!
//! A run's base fee (`run_micros`) is charged once, with the first usage recorded for the run: its
//! ledger debit has the reference `run:{run_id}`, whose uniqueness per org decides (also between
//! concurrent transactions) which record carries the fee. Each usage record then has its own
//! debit `usage:{run_id}:{node_id}:{attempt}`, so the ledger's usage debits always add up to the
//! negated sum of the records' `cost_micros`.

use std::collections::{BTreeMap, BTreeSet};

use aos_schema::{NodeId, OrgId, RunId, WorkflowId};
use serde::Serialize;
use time::Date;

use crate::Timestamp;

use crate::audit::{AuditEntry, AuditTx, By};
use crate::db::{Db, in_tx, now, with_pool};
use crate::error::{StoreError, StoreResult};
use crate::queries::orgs::not_found;
use crate::queries::page_limit;

/// The id of the plan every store seeds.
pub const DEFAULT_PRICE_PLAN_ID: &str = "payg-v1";
/// The default plan's base fee per run: $0.001.
pub const DEFAULT_RUN_MICROS: i64 = 1_000;
/// The default plan's fee per executed step: $0.0002.
pub const DEFAULT_STEP_MICROS: i64 = 200;
/// The default plan's fee per second of compute: $0.00005 ($0.18 an hour).
pub const DEFAULT_COMPUTE_SECOND_MICROS: i64 = 50;
/// The default plan's fee per gigabyte (10^9 bytes) moved: $0.10.
pub const DEFAULT_GIGABYTE_MICROS: i64 = 100_000;

/// Ledger references the billing code writes itself; credits may not use them.
const RESERVED_REFERENCE_PREFIXES: [&str; 2] = ["usage:", "run:"];

/// A price table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PricePlan {
    pub id: String,
    pub name: String,
    /// Charged once per run, with the first usage recorded for it.
    pub run_micros: i64,
    pub step_micros: i64,
    pub compute_second_micros: i64,
    /// Per 10^9 bytes.
    pub gigabyte_micros: i64,
    /// Whether new usage is priced with this plan (the newest active plan wins).
    pub active: bool,
    pub created_at: Timestamp,
}

/// An amount of metered usage to price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub runs: i64,
    pub steps: i64,
    pub compute_ms: i64,
    pub bytes: i64,
}

impl PricePlan {
    /// What `usage` costs on this plan, in micros. Integer arithmetic throughout: runs and steps
    /// are exact; compute time (per second, measured in ms) and bytes (per 10^9) are each rounded
    /// *up* to a whole micro, so any nonzero usage of a priced resource costs at least one micro.
    /// Negative quantities and prices count as zero; a total past `i64::MAX` saturates.
    pub fn cost_micros(&self, usage: Usage) -> i64 {
        fn non_negative(value: i64) -> u128 {
            u128::try_from(value).unwrap_or(0)
        }
        fn metered(quantity: i64, price: i64, per: u128) -> u128 {
            (non_negative(quantity) * non_negative(price)).div_ceil(per)
        }
        let total = metered(usage.runs, self.run_micros, 1)
            + metered(usage.steps, self.step_micros, 1)
            + metered(usage.compute_ms, self.compute_second_micros, 1_000)
            + metered(usage.bytes, self.gigabyte_micros, 1_000_000_000);
        i64::try_from(total).unwrap_or(i64::MAX)
    }
}

/// What one step attempt used, as the run actor reports it.
#[derive(Debug, Clone)]
pub struct NewUsage {
    pub org: OrgId,
    pub workflow: WorkflowId,
    pub run: RunId,
    pub node_id: NodeId,
    pub attempt: i64,
    /// Steps executed (1 for a plain step; a fan-out may report more). Negative counts as zero.
    pub steps: i64,
    pub compute_ms: i64,
    /// Bytes moved in and out of the step.
    pub bytes: i64,
}

/// One recorded step attempt and what it cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct UsageRecord {
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub workflow_id: WorkflowId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub run_id: RunId,
    #[sqlx(try_from = "String")]
    pub node_id: NodeId,
    pub attempt: i64,
    pub steps: i64,
    pub compute_ms: i64,
    pub bytes: i64,
    /// The step's price, plus the run's base fee when this was the run's first record.
    pub cost_micros: i64,
    pub created_at: Timestamp,
}

/// The outcome of [`Billing::record_usage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRecorded {
    /// The stored record (for a redelivery, the one stored the first time).
    pub record: UsageRecord,
    /// False when the same (run, node, attempt) was recorded before and nothing was added.
    pub created: bool,
}

pub use aos_schema::CreditKind;

/// The kinds of entry a person may add; usage debits are the billing code's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditSource {
    Grant,
    Topup,
    Refund,
}

impl From<CreditSource> for CreditKind {
    fn from(source: CreditSource) -> Self {
        match source {
            CreditSource::Grant => CreditKind::Grant,
            CreditSource::Topup => CreditKind::Topup,
            CreditSource::Refund => CreditKind::Refund,
        }
    }
}

/// One row of an org's credit ledger. Rows are never changed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LedgerEntry {
    /// Position in the ledger (global, increasing).
    pub seq: i64,
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    /// Positive adds credit, negative spends it.
    pub amount_micros: i64,
    #[sqlx(try_from = "String")]
    pub kind: CreditKind,
    /// Unique per org: writing the same reference twice adds nothing the second time.
    pub reference: String,
    pub memo: String,
    pub created_at: Timestamp,
}

/// Credits to add to an org.
#[derive(Debug, Clone)]
pub struct NewCredit {
    pub org: OrgId,
    /// Added to the balance as given.
    pub amount_micros: i64,
    pub kind: CreditSource,
    /// The idempotency key, e.g. a payment id: unique per org. `usage:…` and `run:…` are
    /// reserved for usage debits and refused as a `Conflict`.
    pub reference: String,
    pub memo: String,
}

/// The outcome of [`Billing::add_credits`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditAdded {
    /// The stored entry (for a repeated reference, the first one).
    pub entry: LedgerEntry,
    /// False when the reference was used before and nothing was added.
    pub created: bool,
}

/// A page of the ledger, newest first.
#[derive(Debug, Clone, Default)]
pub struct LedgerQuery {
    /// Only entries older than this position (the last `seq` of the previous page).
    pub before_seq: Option<i64>,
    pub limit: Option<i64>,
}

/// A half-open time range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageRange {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl UsageRange {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.from <= at && at < self.to
    }
}

// the usage figures are wire types as they are (`aos-api`)
pub use aos_api::{DailyUsage, UsageSummary, UsageTotals, WorkflowUsage};

/// The billing repository.
#[derive(Debug, Clone, Copy)]
pub struct Billing<'a> {
    pub(crate) db: &'a Db,
    pub(crate) credits: &'a crate::credits::Credits,
}

impl Billing<'_> {
    /// Seeds the default pay-as-you-go plan unless a plan with its id exists (run on every open;
    /// concurrent openers are fine). An operator's later changes to that plan are kept.
    pub async fn ensure_default_price_plan(&self) -> StoreResult<()> {
        with_pool!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO price_plans (id, name, run_micros, step_micros, compute_second_micros, \
                 gigabyte_micros, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(DEFAULT_PRICE_PLAN_ID)
            .bind("Pay as you go")
            .bind(DEFAULT_RUN_MICROS)
            .bind(DEFAULT_STEP_MICROS)
            .bind(DEFAULT_COMPUTE_SECOND_MICROS)
            .bind(DEFAULT_GIGABYTE_MICROS)
            .bind(true)
            .bind(now())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The plan new usage is priced with: the newest active one.
    pub async fn active_plan(&self) -> StoreResult<PricePlan> {
        with_pool!(self.db, |pool| { sqlx::query_as(ACTIVE_PLAN).bind(true).fetch_optional(pool).await? })
            .ok_or_else(|| not_found("price plan", "active"))
    }

    /// Every plan, newest first.
    pub async fn plans(&self) -> StoreResult<Vec<PricePlan>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM price_plans ORDER BY created_at DESC, id").fetch_all(pool).await?
        }))
    }

    /// Prices one step attempt with the active plan, stores it and debits the org's credits, in
    /// one transaction. The same (run, node, attempt) again adds nothing and returns the first
    /// record with `created: false`; if that record belongs to another org it is a `Conflict`.
    pub async fn record_usage(&self, usage: &NewUsage) -> StoreResult<UsageRecorded> {
        let measured = Usage {
            runs: 0,
            steps: usage.steps.max(0),
            compute_ms: usage.compute_ms.max(0),
            bytes: usage.bytes.max(0),
        };
        let at = now();
        let run_reference = format!("run:{}", usage.run);
        let step_reference = format!("usage:{}:{}:{}", usage.run, usage.node_id, usage.attempt);
        Ok(in_tx!(self.db, |tx| {
            let plan: Option<PricePlan> = sqlx::query_as(ACTIVE_PLAN).bind(true).fetch_optional(&mut *tx).await?;
            let plan = plan.ok_or_else(|| not_found("price plan", "active"))?;
            let step_cost = plan.cost_micros(measured);
            let run_fee = plan.cost_micros(Usage { runs: 1, ..Usage::default() });
            // Whoever inserts the run's fee entry first carries the fee; a concurrent recorder of
            // the same run waits on the unique (org, reference) and then inserts nothing.
            let fee_charged = if run_fee > 0 {
                let seq: Option<i64> = sqlx::query_scalar(INSERT_DEBIT)
                    .bind(usage.org.as_uuid())
                    .bind(-run_fee)
                    .bind(CreditKind::Usage.as_str())
                    .bind(&run_reference)
                    .bind(format!("base fee of run {}", usage.run))
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?;
                seq.is_some()
            } else {
                false
            };
            let cost = if fee_charged { step_cost.saturating_add(run_fee) } else { step_cost };
            let inserted: Option<UsageRecord> = sqlx::query_as(
                "INSERT INTO usage_records (id, org_id, workflow_id, run_id, node_id, attempt, steps, \
                 compute_ms, bytes, cost_micros, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (run_id, node_id, attempt) DO NOTHING RETURNING *",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(usage.org.as_uuid())
            .bind(usage.workflow.as_uuid())
            .bind(usage.run.as_uuid())
            .bind(usage.node_id.as_str())
            .bind(usage.attempt)
            .bind(measured.steps)
            .bind(measured.compute_ms)
            .bind(measured.bytes)
            .bind(cost)
            .bind(at)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
            let Some(record) = inserted else {
                // A redelivery. Returning drops the transaction, which also takes back a run fee
                // inserted above.
                let existing: Option<UsageRecord> = sqlx::query_as(
                    "SELECT * FROM usage_records \
                     WHERE run_id = $1 AND node_id = $2 AND attempt = $3 AND org_id = $4",
                )
                .bind(usage.run.as_uuid())
                .bind(usage.node_id.as_str())
                .bind(usage.attempt)
                .bind(usage.org.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
                return match existing {
                    Some(record) => Ok(UsageRecorded { record, created: false }),
                    None => Err(StoreError::Conflict { what: step_reference }),
                };
            };
            if step_cost > 0 {
                sqlx::query(INSERT_DEBIT)
                    .bind(usage.org.as_uuid())
                    .bind(-step_cost)
                    .bind(CreditKind::Usage.as_str())
                    .bind(&step_reference)
                    .bind(format!("step {} attempt {} of run {}", usage.node_id, usage.attempt, usage.run))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            UsageRecorded { record, created: true }
        }))
    }

    /// Adds credits to an org, audited. The same reference again adds nothing and returns the
    /// first entry with `created: false`.
    pub async fn add_credits(&self, credit: &NewCredit, by: By) -> StoreResult<CreditAdded> {
        if RESERVED_REFERENCE_PREFIXES.iter().any(|prefix| credit.reference.starts_with(prefix)) {
            return Err(StoreError::Conflict { what: format!("credit reference {}", credit.reference) });
        }
        let kind = CreditKind::from(credit.kind);
        let added = in_tx!(self.db, |tx| {
            let inserted: Option<LedgerEntry> = sqlx::query_as(
                "INSERT INTO credit_ledger (org_id, amount_micros, kind, reference, memo, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, reference) DO NOTHING \
                 RETURNING *",
            )
            .bind(credit.org.as_uuid())
            .bind(credit.amount_micros)
            .bind(kind.as_str())
            .bind(&credit.reference)
            .bind(&credit.memo)
            .bind(now())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
            match inserted {
                Some(entry) => {
                    tx.append_audit(
                        &AuditEntry::new(credit.org, by, "credits.add", ("credit", credit.reference.clone()))
                            .with_detail(serde_json::json!({
                                "seq": entry.seq,
                                "amount_micros": entry.amount_micros,
                                "kind": kind,
                                "memo": entry.memo,
                            })),
                    )
                    .await?;
                    CreditAdded { entry, created: true }
                }
                None => {
                    let entry: LedgerEntry =
                        sqlx::query_as("SELECT * FROM credit_ledger WHERE org_id = $1 AND reference = $2")
                            .bind(credit.org.as_uuid())
                            .bind(&credit.reference)
                            .fetch_one(&mut *tx)
                            .await?;
                    CreditAdded { entry, created: false }
                }
            }
        });
        self.credits.forget(credit.org);
        Ok(added)
    }

    /// The org's credit balance in micros: the sum of its ledger (negative when overdrawn), kept
    /// by the database as each ledger row is inserted (`credit_balances`), so reading it costs one
    /// row however long the ledger is.
    pub async fn balance(&self, org: OrgId) -> StoreResult<i64> {
        let balance: Option<i64> = with_pool!(self.db, |pool| {
            sqlx::query_scalar("SELECT balance_micros FROM credit_balances WHERE org_id = $1")
                .bind(org.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        Ok(balance.unwrap_or(0))
    }

    /// A page of the org's ledger, newest first.
    pub async fn ledger(&self, org: OrgId, query: &LedgerQuery) -> StoreResult<Vec<LedgerEntry>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT * FROM credit_ledger WHERE org_id = $1 AND seq < $2 \
                 ORDER BY seq DESC LIMIT $3",
            )
            .bind(org.as_uuid())
            .bind(query.before_seq.unwrap_or(i64::MAX))
            .bind(page_limit(query.limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// The usage records of one run of `org`, and their totals.
    pub async fn run_usage(&self, org: OrgId, run: RunId) -> StoreResult<UsageTotals> {
        let records: Vec<UsageRecord> = with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM usage_records WHERE org_id = $1 AND run_id = $2")
                .bind(org.as_uuid())
                .bind(run.as_uuid())
                .fetch_all(pool)
                .await?
        });
        let mut totals = Accumulator::default();
        records.iter().for_each(|record| totals.add(record));
        Ok(totals.totals())
    }

    /// The org's usage recorded within `range`: totals, per workflow and per UTC day.
    pub async fn usage_summary(&self, org: OrgId, range: UsageRange) -> StoreResult<UsageSummary> {
        if range.to <= range.from {
            return Ok(UsageSummary::default());
        }
        let records: Vec<UsageRecord> = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT * FROM usage_records WHERE org_id = $1 AND created_at >= $2 \
                 AND created_at < $3",
            )
            .bind(org.as_uuid())
            .bind(range.from)
            .bind(range.to)
            .fetch_all(pool)
            .await?
        });
        Ok(summarize(&records, range))
    }
}

pub(crate) const ACTIVE_PLAN: &str = "SELECT * FROM price_plans WHERE active = $1 ORDER BY created_at DESC, id LIMIT 1";

const INSERT_DEBIT: &str = "INSERT INTO credit_ledger \
    (org_id, amount_micros, kind, reference, memo, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
    ON CONFLICT (org_id, reference) DO NOTHING RETURNING seq";

/// Sums of records, counting each run once.
#[derive(Debug, Default)]
struct Accumulator {
    runs: BTreeSet<RunId>,
    steps: i64,
    compute_ms: i64,
    bytes: i64,
    cost_micros: i64,
}

impl Accumulator {
    fn add(&mut self, record: &UsageRecord) {
        self.runs.insert(record.run_id);
        self.steps = self.steps.saturating_add(record.steps);
        self.compute_ms = self.compute_ms.saturating_add(record.compute_ms);
        self.bytes = self.bytes.saturating_add(record.bytes);
        self.cost_micros = self.cost_micros.saturating_add(record.cost_micros);
    }

    fn totals(&self) -> UsageTotals {
        UsageTotals {
            runs: i64::try_from(self.runs.len()).unwrap_or(i64::MAX),
            steps: self.steps,
            compute_ms: self.compute_ms,
            bytes: self.bytes,
            cost_micros: self.cost_micros,
        }
    }
}

/// `2025-03-02`.
fn iso_date(day: Date) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day())
}

/// Adds up the records inside `range`: in total, per workflow and per UTC day.
fn summarize(records: &[UsageRecord], range: UsageRange) -> UsageSummary {
    let mut total = Accumulator::default();
    let mut by_workflow: BTreeMap<WorkflowId, Accumulator> = BTreeMap::new();
    let mut by_day: BTreeMap<Date, Accumulator> = BTreeMap::new();
    for record in records.iter().filter(|record| range.contains(record.created_at)) {
        total.add(record);
        by_workflow.entry(record.workflow_id).or_default().add(record);
        let day = record.created_at.as_offset().date();
        by_day.entry(day).or_default().add(record);
    }
    let mut by_workflow: Vec<WorkflowUsage> = by_workflow
        .into_iter()
        .map(|(workflow_id, sums)| WorkflowUsage { workflow_id, totals: sums.totals() })
        .collect();
    by_workflow.sort_by(|a, b| b.totals.cost_micros.cmp(&a.totals.cost_micros).then(a.workflow_id.cmp(&b.workflow_id)));
    UsageSummary {
        totals: total.totals(),
        by_workflow,
        by_day: by_day
            .into_iter()
            .map(|(day, sums)| DailyUsage { day: iso_date(day), totals: sums.totals() })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn plan() -> PricePlan {
        PricePlan {
            id: DEFAULT_PRICE_PLAN_ID.into(),
            name: "test".into(),
            run_micros: DEFAULT_RUN_MICROS,
            step_micros: DEFAULT_STEP_MICROS,
            compute_second_micros: DEFAULT_COMPUTE_SECOND_MICROS,
            gigabyte_micros: DEFAULT_GIGABYTE_MICROS,
            active: true,
            created_at: datetime!(2025-01-01 00:00 UTC).into(),
        }
    }

    #[test]
    fn cost_adds_each_metered_component() {
        let usage = Usage { runs: 2, steps: 10, compute_ms: 4_000, bytes: 3_000_000_000 };
        // 2 runs * 1000 + 10 steps * 200 + 4 s * 50 + 3 GB * 100_000
        assert_eq!(plan().cost_micros(usage), 2_000 + 2_000 + 200 + 300_000);
        assert_eq!(plan().cost_micros(Usage::default()), 0);
    }

    #[test]
    fn fractions_of_a_micro_round_up() {
        // 1 ms of compute at 50 micros a second is 0.05 micros; one byte is 0.0001 micros
        assert_eq!(plan().cost_micros(Usage { compute_ms: 1, ..Usage::default() }), 1);
        assert_eq!(plan().cost_micros(Usage { bytes: 1, ..Usage::default() }), 1);
        // 1_500 ms is exactly 75 micros, 1_510 ms is 75.5 and rounds up
        assert_eq!(plan().cost_micros(Usage { compute_ms: 1_500, ..Usage::default() }), 75);
        assert_eq!(plan().cost_micros(Usage { compute_ms: 1_510, ..Usage::default() }), 76);
    }

    #[test]
    fn negative_quantities_count_as_zero_and_huge_totals_saturate() {
        assert_eq!(plan().cost_micros(Usage { steps: -5, ..Usage::default() }), 0);
        let huge = Usage { runs: i64::MAX, steps: i64::MAX, compute_ms: i64::MAX, bytes: i64::MAX };
        assert_eq!(plan().cost_micros(huge), i64::MAX);
    }

    fn record(workflow: WorkflowId, run: RunId, at: time::OffsetDateTime, cost: i64) -> UsageRecord {
        UsageRecord {
            org_id: OrgId::new(),
            workflow_id: workflow,
            run_id: run,
            node_id: NodeId::from("step"),
            attempt: 1,
            steps: 1,
            compute_ms: 10,
            bytes: 100,
            cost_micros: cost,
            created_at: at.into(),
        }
    }

    #[test]
    fn summary_groups_by_workflow_and_utc_day_within_exact_bounds() {
        let (w1, w2) = (WorkflowId::new(), WorkflowId::new());
        let (r1, r2, r3) = (RunId::new(), RunId::new(), RunId::new());
        let records = [
            record(w1, r1, datetime!(2025-03-01 23:59:59.5 UTC), 10),
            record(w1, r1, datetime!(2025-03-02 00:00:00.25 UTC), 20),
            record(w2, r2, datetime!(2025-03-02 10:00 UTC), 100),
            record(w2, r3, datetime!(2025-03-02 10:00 +02:00), 1),
            // outside the range by half a second on each side
            record(w1, r1, datetime!(2025-02-28 23:59:59.5 UTC), 1_000),
            record(w2, r2, datetime!(2025-03-03 00:00:00.5 UTC), 1_000),
        ];
        let range = UsageRange {
            from: datetime!(2025-03-01 00:00:00 UTC).into(),
            to: datetime!(2025-03-03 00:00:00.5 UTC).into(),
        };
        let summary = summarize(&records, range);
        assert_eq!(summary.totals.runs, 3);
        assert_eq!(summary.totals.steps, 4);
        assert_eq!(summary.totals.cost_micros, 131);
        assert_eq!(summary.by_workflow.len(), 2);
        assert_eq!(summary.by_workflow[0].workflow_id, w2, "costliest first");
        assert_eq!(summary.by_workflow[0].totals.runs, 2);
        assert_eq!(summary.by_workflow[1].totals.cost_micros, 30);
        let days: Vec<(&str, i64, i64)> =
            summary.by_day.iter().map(|day| (day.day.as_str(), day.totals.runs, day.totals.cost_micros)).collect();
        assert_eq!(days, [("2025-03-01", 1, 10), ("2025-03-02", 3, 121)]);
    }

    #[test]
    fn days_are_iso_dates() {
        assert_eq!(iso_date(time::macros::date!(2025 - 03 - 02)), "2025-03-02");
        assert_eq!(iso_date(time::macros::date!(0987 - 12 - 31)), "0987-12-31");
    }
}
