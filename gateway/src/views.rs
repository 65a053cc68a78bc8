//! Storage rows as the API shows them ([`aos_api`] types): the same fields, times as the RFC 3339
//! text the rows serialize to. Where storage computes a wire shape itself (usage figures, the
//! audit chain's verification) it returns the `aos-api` type directly and nothing here is needed.

use aos_persistence as store;

/// A price table.
pub fn price_plan(plan: store::PricePlan) -> aos_api::PricePlan {
    aos_api::PricePlan {
        id: plan.id,
        name: plan.name,
        run_micros: plan.run_micros,
        step_micros: plan.step_micros,
        compute_second_micros: plan.compute_second_micros,
        gigabyte_micros: plan.gigabyte_micros,
        active: plan.active,
        created_at: plan.created_at.to_string(),
    }
}

/// One row of a credit ledger.
pub fn ledger_entry(entry: store::LedgerEntry) -> aos_api::LedgerEntry {
    aos_api::LedgerEntry {
        seq: entry.seq,
        org_id: entry.org_id,
        amount_micros: entry.amount_micros,
        kind: entry.kind,
        reference: entry.reference,
        memo: entry.memo,
        created_at: entry.created_at.to_string(),
    }
}
