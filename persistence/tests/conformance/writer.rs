//! The group-commit writer on both backends: concurrent admissions with one key make one run and
//! one delivery row, whichever of two writers (two nodes on one database) takes them; a run's
//! checkpoints write attempts as upserts and log rows that reach the event feed after the commit;
//! a run is billed once however often its bill is written, and the org's kept balance equals its
//! ledger to the micro under concurrent bills from both nodes.

use std::collections::BTreeSet;

use aos_persistence::testing::{self, TestContext};
use aos_persistence::{
    Admission, AdmittedEvent, AttemptRecord, CreditSource, Keyring, LogRecord, NewCredit, NewRun, NewWebhookSource,
    RunBill, RunRecords, Store, Timestamp, Transition, WebhookToken,
};
use aos_schema::{Node, RunStatus, SecretString, StepStatus, WorkflowGraph};
use serde_json::json;

use crate::fixtures::by;

fn admission(published: testing::PublishedWorkflow, source: aos_schema::WebhookSourceId, key: &str) -> Admission {
    Admission {
        run: NewRun {
            org_id: published.org,
            workflow_id: published.workflow,
            version: 1,
            trigger_kind: "webhook".into(),
            idempotency_key: Some(format!("webhook:{source}:{key}")),
            input: json!({ "body": { "key": key } }),
            replay_of: None,
            traceparent: None,
        },
        owner_node: Some("node-a".into()),
        event: Some(AdmittedEvent {
            source_id: source,
            idempotency_key: key.to_owned(),
            headers: json!({}),
            body: json!({ "key": key }),
            query: json!({ "from": key }),
        }),
    }
}

async fn published(store: &Store) -> testing::PublishedWorkflow {
    let graph = WorkflowGraph::new().with_node(Node::new("hook", "trigger.webhook"));
    testing::published_workflow(store, &graph).await
}

async fn a_second_node(cx: &TestContext) -> Store {
    Store::open(&cx.target, Keyring::generate()).await.unwrap()
}

async fn concurrent_admissions_of_one_key_make_one_run_on_any_node(cx: TestContext) {
    let published = published(&cx.store).await;
    let token = WebhookToken { value: SecretString::new("whk_w"), hash: "hash-w".into(), prefix: "whk_".into() };
    let new = NewWebhookSource {
        org_id: published.org,
        workflow_id: published.workflow,
        name: "w".into(),
        token,
        settings: Default::default(),
    };
    let source = cx.store.webhooks().create_source(&new, aos_persistence::By::System).await.unwrap().id;
    let other = a_second_node(&cx).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = if i % 2 == 0 { cx.store.clone() } else { other.clone() };
        let key = if i % 4 == 0 { format!("unique-{i}") } else { "shared".to_owned() };
        tasks.push(tokio::spawn(async move { store.writer().admit(admission(published, source, &key)).await }));
    }
    let mut shared = BTreeSet::new();
    let mut fresh_shared = 0;
    let mut unique = BTreeSet::new();
    for task in tasks {
        let admitted = task.await.unwrap().unwrap();
        let key = admitted.run.idempotency_key.clone().unwrap();
        if key.ends_with(":shared") {
            shared.insert(admitted.run.id);
            fresh_shared += usize::from(admitted.fresh);
        } else {
            assert!(admitted.fresh, "a unique key makes its own run");
            unique.insert(admitted.run.id);
        }
        assert_eq!(admitted.run.status, RunStatus::Queued);
    }
    assert_eq!(shared.len(), 1, "150 admissions of one key, one run");
    assert_eq!(fresh_shared, 1, "and exactly one of them made it");
    assert_eq!(unique.len(), 50);
    let events = cx.store.webhooks().events(published.org, source, Some(500)).await.unwrap();
    assert_eq!(events.len(), 51, "one delivery row per key");
    let linked = events.iter().filter(|e| e.idempotency_key == "shared").map(|e| e.run_id).collect::<Vec<_>>();
    assert_eq!(linked, [shared.first().copied()], "the delivery names its run");
    assert!(events.iter().all(|e| e.query == json!({ "from": e.idempotency_key })), "each delivery keeps its query");
    let owner = cx.store.nodes().owned_runs("node-a", 100).await.unwrap();
    assert_eq!(owner.len(), 51, "runs are claimed for the admitting node at insert");
}

async fn checkpoints_upsert_attempts_feed_events_and_bill_once(cx: TestContext) {
    let published = published(&cx.store).await;
    let run = testing::queued_run(&cx.store, published, json!({})).await;
    let mut feed = cx.store.writer().subscribe();
    let at = Timestamp::now();
    let attempt = |status: StepStatus, output: Option<serde_json::Value>| AttemptRecord {
        node_id: "hook".into(),
        attempt: 1,
        status,
        input: Some(json!({ "in": 1 })),
        output,
        error: None,
        started_at: Some(at),
        finished_at: (status != StepStatus::Running).then_some(at),
        duration_ms: (status != StepStatus::Running).then_some(7),
    };
    let log = |event: &'static str| LogRecord {
        node_id: Some("hook".into()),
        level: "info",
        event,
        message: event.into(),
        data: json!({}),
        at,
    };
    let mut first = RunRecords::new(run, published.org, published.workflow);
    first.started_at = Some(at);
    first.attempts.push(attempt(StepStatus::Running, None));
    first.logs.push(log("step_started"));
    cx.store.writer().record(first).await.unwrap();
    let started = cx.store.runs().get(run).await.unwrap();
    assert_eq!((started.status, started.started_at), (RunStatus::Running, Some(at)));
    let fed = feed.recv().await.unwrap();
    assert_eq!(fed.iter().map(|r| r.event.as_str()).collect::<Vec<_>>(), ["step_started"]);

    let mut last = RunRecords::new(run, published.org, published.workflow);
    last.attempts.push(attempt(StepStatus::Succeeded, Some(json!({ "output": 1 }))));
    last.logs.extend([log("step_succeeded"), log("run_finished")]);
    last.transition = Some(Transition { status: RunStatus::Succeeded, error: None, at });
    last.bill = Some(RunBill { steps: 1, compute_ms: 7, bytes: 0 });
    cx.store.writer().record(last.clone()).await.unwrap();
    // the feed's rows are the stored rows, numbered alike
    let fed: Vec<(i64, String)> = feed.recv().await.unwrap().iter().map(|r| (r.seq, r.event.clone())).collect();
    let stored: Vec<(i64, String)> = cx
        .store
        .runs()
        .logs(run, fed[0].0 - 1, Some(10))
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.seq, r.event))
        .collect();
    assert_eq!(fed, stored);
    let steps = cx.store.runs().steps(run).await.unwrap();
    assert_eq!(steps.len(), 1, "the attempt row was updated, not added");
    assert_eq!((steps[0].status, steps[0].duration_ms), (StepStatus::Succeeded, Some(7)));
    assert_eq!(steps[0].input, Some(json!({ "in": 1 })));
    assert_eq!(cx.store.runs().get(run).await.unwrap().status, RunStatus::Succeeded);
    let usage = cx.store.billing().run_usage(published.org, run).await.unwrap();
    assert_eq!((usage.runs, usage.steps, usage.compute_ms), (1, 1, 7));
    let balance = cx.store.billing().balance(published.org).await.unwrap();
    assert_eq!(balance, -usage.cost_micros, "debited once, exactly the usage's cost");

    // the same checkpoint again (a redelivered write): nothing is billed or finished twice
    last.logs.clear();
    cx.store.writer().record(last).await.unwrap();
    assert_eq!(cx.store.billing().run_usage(published.org, run).await.unwrap(), usage);
    assert_eq!(cx.store.billing().balance(published.org).await.unwrap(), balance);
    let logs = cx.store.runs().logs(run, 0, Some(10)).await.unwrap();
    assert_eq!(
        logs.iter().map(|l| l.event.as_str()).collect::<Vec<_>>(),
        ["step_started", "step_succeeded", "run_finished"]
    );
    assert!(logs.iter().all(|l| l.created_at == at), "rows keep the time they happened");
}

async fn concurrent_bills_keep_the_balance_exact_across_nodes(cx: TestContext) {
    let published = published(&cx.store).await;
    let grant = NewCredit {
        org: published.org,
        amount_micros: 10_000_000,
        kind: CreditSource::Grant,
        reference: "grant".into(),
        memo: String::new(),
    };
    let (owner, _) = crate::fixtures::owner_with_org(&cx.store).await;
    cx.store.billing().add_credits(&grant, by(&owner)).await.unwrap();
    let other = a_second_node(&cx).await;
    let mut tasks = Vec::new();
    for i in 0..120_i64 {
        let run = testing::queued_run(&cx.store, published, json!({})).await;
        let store = if i % 2 == 0 { cx.store.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            let mut records = RunRecords::new(run, published.org, published.workflow);
            records.transition = Some(Transition { status: RunStatus::Succeeded, error: None, at: Timestamp::now() });
            records.bill = Some(RunBill { steps: 1 + i % 11, compute_ms: 3 * i, bytes: 1_000 * i });
            store.writer().record(records).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let summary = cx
        .store
        .billing()
        .usage_summary(
            published.org,
            aos_persistence::UsageRange {
                from: Timestamp::from_offset(time::OffsetDateTime::UNIX_EPOCH),
                to: Timestamp::now() + time::Duration::hours(1),
            },
        )
        .await
        .unwrap();
    assert_eq!(summary.totals.runs, 120);
    let balance = cx.store.billing().balance(published.org).await.unwrap();
    assert_eq!(balance, 10_000_000 - summary.totals.cost_micros, "kept balance = grant − every run's cost");
    let mut ledger_sum = 0;
    let mut before = None;
    loop {
        let page = cx
            .store
            .billing()
            .ledger(published.org, &aos_persistence::LedgerQuery { before_seq: before, limit: Some(500) })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.seq);
        ledger_sum += page.iter().map(|e| e.amount_micros).sum::<i64>();
    }
    assert_eq!(ledger_sum, balance, "the ledger adds up to the kept balance, to the micro");
    assert_eq!(cx.store.credits().balance(published.org).await.unwrap(), balance, "and the gate agrees");
}

aos_persistence::conformance_suite!(
    concurrent_admissions_of_one_key_make_one_run_on_any_node,
    checkpoints_upsert_attempts_feed_events_and_bill_once,
    concurrent_bills_keep_the_balance_exact_across_nodes,
);
