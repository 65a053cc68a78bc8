//! Accounting: the default price plan, usage priced and debited once per step attempt, idempotent
//! credits, the append-only ledger and usage summaries.

use aos_persistence::testing::TestContext;
use aos_persistence::{
    CreditKind, CreditSource, DEFAULT_PRICE_PLAN_ID, Db, Keyring, LedgerQuery, NewCredit, NewUsage, Store, StoreError,
    Usage, UsageRange, UsageRecorded,
};
use aos_schema::{NodeId, OrgId, RunId, WorkflowId};
use time::Duration;

use crate::fixtures::{by, owner_with_org};

async fn the_default_plan_is_seeded_once_and_active(cx: TestContext) {
    let plan = cx.store.billing().active_plan().await.unwrap();
    assert_eq!(plan.id, DEFAULT_PRICE_PLAN_ID);
    assert!(plan.active);
    for price in [plan.run_micros, plan.step_micros, plan.compute_second_micros, plan.gigabyte_micros] {
        assert!(price > 0, "{plan:?}");
    }
    // every open seeds it again, concurrently too, without a second row
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = cx.store.clone();
        tasks.push(tokio::spawn(async move { store.billing().ensure_default_price_plan().await.unwrap() }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let reopened = Store::open(&cx.target, Keyring::generate()).await.unwrap();
    assert_eq!(reopened.billing().plans().await.unwrap(), std::slice::from_ref(&plan));
    reopened.db().close().await;
    assert_eq!(cx.store.billing().plans().await.unwrap(), [plan]);
}

async fn usage_without_an_active_plan_is_refused_and_writes_nothing(cx: TestContext) {
    let (_owner, org) = owner_with_org(&cx.store).await;
    raw(cx.store.db(), "UPDATE price_plans SET active = FALSE").await.unwrap();
    let err = cx.store.billing().active_plan().await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err =
        cx.store.billing().record_usage(&usage(org.id, WorkflowId::new(), RunId::new(), "a", 1)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(cx.store.billing().balance(org.id).await.unwrap(), 0);
    assert!(cx.store.billing().ledger(org.id, &LedgerQuery::default()).await.unwrap().is_empty());
}

async fn usage_is_priced_recorded_and_debited_once(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let billing = cx.store.billing();
    let plan = billing.active_plan().await.unwrap();
    billing.add_credits(&credit(org.id, 5_000_000, "signup"), by(&owner)).await.unwrap();
    let (workflow, run) = (WorkflowId::new(), RunId::new());

    let step = usage(org.id, workflow, run, "fetch", 1);
    let first = billing.record_usage(&step).await.unwrap();
    assert!(first.created);
    let step_cost = plan.cost_micros(Usage { runs: 0, steps: 1, compute_ms: 1_500, bytes: 2_048 });
    let run_fee = plan.cost_micros(Usage { runs: 1, ..Usage::default() });
    assert_eq!(first.record.cost_micros, step_cost + run_fee, "the run's first record carries its fee");
    assert_eq!(first.record.node_id, NodeId::from("fetch"));
    assert_eq!((first.record.steps, first.record.compute_ms, first.record.bytes), (1, 1_500, 2_048));
    assert_eq!(billing.balance(org.id).await.unwrap(), 5_000_000 - step_cost - run_fee);

    // a redelivery of the same step attempt is not counted again
    let again = billing.record_usage(&step).await.unwrap();
    assert_eq!(again, UsageRecorded { record: first.record.clone(), created: false });
    assert_eq!(billing.balance(org.id).await.unwrap(), 5_000_000 - step_cost - run_fee);

    // another step, and a retry of it, of the same run pay no second run fee
    let second = billing.record_usage(&usage(org.id, workflow, run, "post", 1)).await.unwrap();
    let retry = billing.record_usage(&usage(org.id, workflow, run, "post", 2)).await.unwrap();
    assert!(second.created && retry.created);
    assert_eq!(second.record.cost_micros, step_cost);
    assert_eq!(retry.record.cost_micros, step_cost);

    let ledger = billing.ledger(org.id, &LedgerQuery::default()).await.unwrap();
    let rows: Vec<(CreditKind, i64, String)> =
        ledger.iter().map(|entry| (entry.kind, entry.amount_micros, entry.reference.clone())).collect();
    assert_eq!(
        rows,
        [
            (CreditKind::Usage, -step_cost, format!("usage:{run}:post:2")),
            (CreditKind::Usage, -step_cost, format!("usage:{run}:post:1")),
            (CreditKind::Usage, -step_cost, format!("usage:{run}:fetch:1")),
            (CreditKind::Usage, -run_fee, format!("run:{run}")),
            (CreditKind::Grant, 5_000_000, "signup".to_owned()),
        ]
    );
    let totals = billing.run_usage(org.id, run).await.unwrap();
    assert_eq!(totals.runs, 1);
    assert_eq!(totals.steps, 3);
    assert_eq!(totals.cost_micros, run_fee + 3 * step_cost);
    assert_eq!(billing.balance(org.id).await.unwrap(), 5_000_000 - totals.cost_micros);
}

async fn concurrent_recording_counts_each_step_once_and_each_run_fee_once(cx: TestContext) {
    let (_owner, org) = owner_with_org(&cx.store).await;
    let plan = cx.store.billing().active_plan().await.unwrap();
    let (workflow, run) = (WorkflowId::new(), RunId::new());
    // four nodes of one run, each delivered three times, all at once
    let mut tasks = Vec::new();
    for delivery in 0..12 {
        let store = cx.store.clone();
        let node = format!("node-{}", delivery % 4);
        let step = usage(org.id, workflow, run, &node, 1);
        tasks.push(tokio::spawn(async move { store.billing().record_usage(&step).await.unwrap() }));
    }
    let mut created = 0;
    for task in tasks {
        created += usize::from(task.await.unwrap().created);
    }
    assert_eq!(created, 4);
    let step_cost = plan.cost_micros(Usage { runs: 0, steps: 1, compute_ms: 1_500, bytes: 2_048 });
    let run_fee = plan.cost_micros(Usage { runs: 1, ..Usage::default() });
    let ledger = cx.store.billing().ledger(org.id, &LedgerQuery::default()).await.unwrap();
    assert_eq!(ledger.len(), 5, "four step debits and one run fee: {ledger:?}");
    assert_eq!(ledger.iter().filter(|entry| entry.reference.starts_with("run:")).count(), 1);
    let totals = cx.store.billing().run_usage(org.id, run).await.unwrap();
    assert_eq!(totals.steps, 4);
    assert_eq!(totals.cost_micros, 4 * step_cost + run_fee);
    assert_eq!(cx.store.billing().balance(org.id).await.unwrap(), -totals.cost_micros);
    let summed: i64 = ledger.iter().map(|entry| entry.amount_micros).sum();
    assert_eq!(cx.store.billing().balance(org.id).await.unwrap(), summed, "the kept balance is the ledger's sum");
}

async fn a_step_key_of_another_org_is_a_conflict(cx: TestContext) {
    let (_owner, org) = owner_with_org(&cx.store).await;
    let (_other, other_org) = owner_with_org(&cx.store).await;
    let run = RunId::new();
    cx.store.billing().record_usage(&usage(org.id, WorkflowId::new(), run, "a", 1)).await.unwrap();
    let err = cx.store.billing().record_usage(&usage(other_org.id, WorkflowId::new(), run, "a", 1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(cx.store.billing().balance(other_org.id).await.unwrap(), 0);
    assert!(cx.store.billing().ledger(other_org.id, &LedgerQuery::default()).await.unwrap().is_empty());
    assert_eq!(cx.store.billing().run_usage(other_org.id, run).await.unwrap().steps, 0);
}

async fn credits_are_idempotent_per_reference_and_audited(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let (other_owner, other_org) = owner_with_org(&cx.store).await;
    let billing = cx.store.billing();
    let topup = NewCredit {
        org: org.id,
        amount_micros: 20_000_000,
        kind: CreditSource::Topup,
        reference: "pay_123".into(),
        memo: "card payment".into(),
    };
    let first = billing.add_credits(&topup, by(&owner)).await.unwrap();
    assert!(first.created);
    assert_eq!(first.entry.kind, CreditKind::Topup);
    assert_eq!(first.entry.amount_micros, 20_000_000);
    let twice = NewCredit { amount_micros: 99_000_000, memo: "retried webhook".into(), ..topup.clone() };
    let second = billing.add_credits(&twice, by(&owner)).await.unwrap();
    assert!(!second.created);
    assert_eq!(second.entry, first.entry, "the first entry, unchanged");
    assert_eq!(billing.balance(org.id).await.unwrap(), 20_000_000);

    // references are per org
    let theirs = NewCredit { org: other_org.id, amount_micros: 1_230_000, ..topup.clone() };
    assert!(billing.add_credits(&theirs, by(&other_owner)).await.unwrap().created);
    assert_eq!(billing.balance(other_org.id).await.unwrap(), 1_230_000);
    assert_eq!(billing.balance(org.id).await.unwrap(), 20_000_000);

    // the usage namespaces are the billing code's own
    for reserved in ["usage:x:y:1", "run:abc"] {
        let forged = NewCredit { reference: reserved.into(), ..topup.clone() };
        let err = billing.add_credits(&forged, by(&owner)).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    }

    let audit = cx.store.audit().list(org.id, &Default::default()).await.unwrap();
    let credits: Vec<_> = audit.iter().filter(|row| row.action == "credits.add").collect();
    assert_eq!(credits.len(), 1, "a repeated reference adds no audit row");
    assert_eq!(credits[0].target_id, "pay_123");
    let detail: serde_json::Value = serde_json::from_str(&credits[0].detail).unwrap();
    assert_eq!(detail["amount_micros"], 20_000_000);
    assert_eq!(detail["kind"], "topup");
}

async fn concurrent_credits_with_one_reference_add_once(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = cx.store.clone();
        let actor = by(&owner);
        tasks.push(tokio::spawn(async move {
            store.billing().add_credits(&credit(org.id, 1_000_000, "promo"), actor).await.unwrap()
        }));
    }
    let mut entries = Vec::new();
    for task in tasks {
        entries.push(task.await.unwrap());
    }
    assert_eq!(entries.iter().filter(|added| added.created).count(), 1);
    assert!(entries.windows(2).all(|pair| pair[0].entry == pair[1].entry));
    assert_eq!(cx.store.billing().balance(org.id).await.unwrap(), 1_000_000);
    assert!(cx.store.audit().verify(org.id).await.unwrap().is_intact());
}

async fn the_ledger_pages_newest_first_and_refuses_changes(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let billing = cx.store.billing();
    for n in 1..=5 {
        billing.add_credits(&credit(org.id, n * 10_000, &format!("grant-{n}")), by(&owner)).await.unwrap();
    }
    let page = billing.ledger(org.id, &LedgerQuery { before_seq: None, limit: Some(2) }).await.unwrap();
    let refs: Vec<&str> = page.iter().map(|entry| entry.reference.as_str()).collect();
    assert_eq!(refs, ["grant-5", "grant-4"]);
    let next = LedgerQuery { before_seq: Some(page[1].seq), limit: Some(10) };
    let rest = billing.ledger(org.id, &next).await.unwrap();
    let refs: Vec<&str> = rest.iter().map(|entry| entry.reference.as_str()).collect();
    assert_eq!(refs, ["grant-3", "grant-2", "grant-1"]);
    assert_eq!(billing.balance(org.id).await.unwrap(), 150_000);

    for statement in ["UPDATE credit_ledger SET amount_micros = 0", "DELETE FROM credit_ledger"] {
        let err = raw(cx.store.db(), statement).await.expect_err(statement);
        assert!(matches!(err, StoreError::AppendOnly { .. }), "{statement}: {err:?}");
    }
    assert_eq!(billing.balance(org.id).await.unwrap(), 150_000);
}

async fn usage_summaries_total_per_workflow_and_per_day(cx: TestContext) {
    let (_owner, org) = owner_with_org(&cx.store).await;
    let (_other, other_org) = owner_with_org(&cx.store).await;
    let billing = cx.store.billing();
    let (busy, quiet) = (WorkflowId::new(), WorkflowId::new());
    let (run_a, run_b, run_c) = (RunId::new(), RunId::new(), RunId::new());
    let mut records = Vec::new();
    for (workflow, run, node) in
        [(busy, run_a, "one"), (busy, run_a, "two"), (busy, run_b, "one"), (quiet, run_c, "one")]
    {
        records.push(billing.record_usage(&usage(org.id, workflow, run, node, 1)).await.unwrap().record);
    }
    // another org's usage never shows
    billing.record_usage(&usage(other_org.id, busy, RunId::new(), "one", 1)).await.unwrap();

    let now = aos_persistence::now();
    let around = UsageRange { from: now - Duration::hours(1), to: now + Duration::hours(1) };
    let summary = billing.usage_summary(org.id, around).await.unwrap();
    let cost: i64 = records.iter().map(|record| record.cost_micros).sum();
    assert_eq!(summary.totals.runs, 3);
    assert_eq!(summary.totals.steps, 4);
    assert_eq!(summary.totals.compute_ms, 4 * 1_500);
    assert_eq!(summary.totals.bytes, 4 * 2_048);
    assert_eq!(summary.totals.cost_micros, cost);
    assert_eq!(billing.balance(org.id).await.unwrap(), -cost, "the ledger debited exactly the cost");

    let per_workflow: Vec<(WorkflowId, i64, i64)> =
        summary.by_workflow.iter().map(|usage| (usage.workflow_id, usage.totals.runs, usage.totals.steps)).collect();
    assert_eq!(per_workflow, [(busy, 2, 3), (quiet, 1, 1)], "costliest first");
    assert_eq!(summary.by_workflow[0].totals.cost_micros + summary.by_workflow[1].totals.cost_micros, cost);

    // the test may straddle midnight UTC: then the records split over two days
    assert!(!summary.by_day.is_empty() && summary.by_day.len() <= 2);
    assert!(summary.by_day.windows(2).all(|pair| pair[0].day < pair[1].day));
    assert_eq!(summary.by_day.iter().map(|day| day.totals.steps).sum::<i64>(), 4);
    assert_eq!(summary.by_day.iter().map(|day| day.totals.cost_micros).sum::<i64>(), cost);
    let today = records[0].created_at.as_offset().date();
    let today = format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());
    assert_eq!(summary.by_day[0].day, today);

    // the bounds are exact to the microsecond: [from, to)
    let third = &records[2];
    let exactly = UsageRange { from: third.created_at, to: third.created_at + Duration::microseconds(1) };
    let only = billing.usage_summary(org.id, exactly).await.unwrap();
    assert_eq!((only.totals.runs, only.totals.steps, only.totals.cost_micros), (1, 1, third.cost_micros));
    let before = UsageRange { from: now - Duration::hours(1), to: third.created_at };
    assert_eq!(billing.usage_summary(org.id, before).await.unwrap().totals.steps, 2);
    let after = UsageRange { from: third.created_at + Duration::microseconds(1), to: now + Duration::hours(1) };
    assert_eq!(billing.usage_summary(org.id, after).await.unwrap().totals.steps, 1);
    let later = UsageRange { from: now + Duration::hours(1), to: now + Duration::hours(2) };
    assert_eq!(billing.usage_summary(org.id, later).await.unwrap(), Default::default());
    let backwards = UsageRange { from: around.to, to: around.from };
    assert_eq!(billing.usage_summary(org.id, backwards).await.unwrap(), Default::default());

    let theirs = billing.usage_summary(other_org.id, around).await.unwrap();
    assert_eq!(theirs.totals.steps, 1);
    assert_eq!(theirs.by_workflow.len(), 1);
}

fn usage(org: OrgId, workflow: WorkflowId, run: RunId, node: &str, attempt: i64) -> NewUsage {
    NewUsage { org, workflow, run, node_id: NodeId::from(node), attempt, steps: 1, compute_ms: 1_500, bytes: 2_048 }
}

fn credit(org: OrgId, amount_micros: i64, reference: &str) -> NewCredit {
    NewCredit {
        org,
        amount_micros,
        kind: CreditSource::Grant,
        reference: reference.into(),
        memo: format!("{reference} credits"),
    }
}

/// Runs raw SQL, as an operator with a database shell would.
async fn raw(db: &Db, statement: &'static str) -> Result<(), StoreError> {
    match db {
        Db::Sqlite(pool) => sqlx::query(statement).execute(pool).await.map(drop).map_err(StoreError::from),
        Db::Postgres(pool) => sqlx::query(statement).execute(pool).await.map(drop).map_err(StoreError::from),
    }
}

aos_persistence::conformance_suite!(
    the_default_plan_is_seeded_once_and_active,
    usage_without_an_active_plan_is_refused_and_writes_nothing,
    usage_is_priced_recorded_and_debited_once,
    concurrent_recording_counts_each_step_once_and_each_run_fee_once,
    a_step_key_of_another_org_is_a_conflict,
    credits_are_idempotent_per_reference_and_audited,
    concurrent_credits_with_one_reference_add_once,
    the_ledger_pages_newest_first_and_refuses_changes,
    usage_summaries_total_per_workflow_and_per_day,
);
