//! Webhook deliveries through the webhook-source actors of two "nodes" (two actor trees on one
//! database, SQLite and Postgres): 1,000 concurrent deliveries with one idempotency key make
//! exactly one run; signatures, size, rate limits, bad bodies and private headers are handled; a
//! run can be cancelled as soon as its delivery is answered; runs beyond the node's start slots
//! wait in line, in order, and one cancelled there never starts.

use std::sync::Arc;
use std::time::Duration;

use aos_actors::{ActorSystem, Delivery, DeliveryError, RetryPolicy, RunDeps, SystemConfig};
use aos_engine_link::{EgressPolicy, EmbeddedEngine, EngineConfig};
use aos_persistence::testing::{self, TestContext};
use aos_persistence::testing::{wait_for, wait_until};
use aos_persistence::{By, NewWebhookSource, RunFilter, Store, WebhookSettings};
use aos_schema::{Edge, Node, RunStatus, SecretString, WebhookSourceId, WorkflowGraph};
use hmac::{Hmac, Mac};
use serde_json::{Map, json};
use sha2::Sha256;

fn deps(store: &Store) -> RunDeps {
    RunDeps {
        retry: RetryPolicy::default(),
        step_timeout: Duration::from_secs(10),
        ..RunDeps::new(
            store.clone(),
            Arc::new(EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::public_only() }).unwrap()),
        )
    }
}

async fn source(store: &Store, settings: WebhookSettings) -> (testing::PublishedWorkflow, WebhookSourceId) {
    let graph = WorkflowGraph::new()
        .with_node(Node::new("hook", "trigger.webhook"))
        .with_node(
            Node::new("shape", "data.transform").with_config("fields", json!({ "email": "{{ trigger.body.email }}" })),
        )
        .with_edge(Edge::new("e1", "hook", "shape"));
    source_of(store, settings, &graph).await
}

/// A webhook source for `graph`, published, in an org with credits.
async fn source_of(
    store: &Store,
    settings: WebhookSettings,
    graph: &WorkflowGraph,
) -> (testing::PublishedWorkflow, WebhookSourceId) {
    let published = testing::published_workflow(store, graph).await;
    // a delivery makes a run, and runs need credits
    let grant = aos_persistence::NewCredit {
        org: published.org,
        amount_micros: 1_000_000_000,
        kind: aos_persistence::CreditSource::Grant,
        reference: "test-grant".into(),
        memo: String::new(),
    };
    store.billing().add_credits(&grant, By::System).await.unwrap();
    let new = NewWebhookSource {
        org_id: published.org,
        workflow_id: published.workflow,
        name: "hook".into(),
        token: aos_persistence::WebhookToken {
            value: aos_schema::SecretString::new("whk_test"),
            hash: format!("hash-{}", uuid::Uuid::new_v4()),
            prefix: "whk".into(),
        },
        settings,
    };
    let source = store.webhooks().create_source(&new, By::System).await.unwrap();
    (published, source.id)
}

fn delivery(headers: &[(&str, &str)], body: &str) -> Delivery {
    Delivery {
        headers: headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned())).collect(),
        query: Map::new(),
        body: body.as_bytes().to_vec(),
        traceparent: None,
    }
}

async fn a_thousand_concurrent_deliveries_with_one_key_make_one_run(cx: TestContext) {
    let (published, source) =
        source(&cx.store, WebhookSettings { rate_per_minute: 100_000, ..Default::default() }).await;
    let node_a = Arc::new(ActorSystem::start(deps(&cx.store)).await.unwrap());
    let node_b = Arc::new(ActorSystem::start(deps(&cx.store)).await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let node = if i % 2 == 0 { Arc::clone(&node_a) } else { Arc::clone(&node_b) };
        tasks.push(tokio::spawn(async move {
            node.deliver(source, delivery(&[("Idempotency-Key", "order-42")], r#"{"email":"ada@example.test"}"#)).await
        }));
    }
    let mut run_ids = Vec::new();
    for task in tasks {
        run_ids.push(task.await.unwrap().expect("accepted").run_id);
    }
    run_ids.sort();
    run_ids.dedup();
    assert_eq!(run_ids.len(), 1, "every delivery got the same run");
    let filter = RunFilter { workflow_id: Some(published.workflow), ..RunFilter::default() };
    wait_until(Duration::from_secs(5), || async {
        let runs = cx.store.runs().list(published.org, &filter).await.unwrap();
        runs.iter().all(|r| r.status == RunStatus::Succeeded)
    })
    .await;
    let runs = cx.store.runs().list(published.org, &filter).await.unwrap();
    assert_eq!(runs.len(), 1, "exactly one run");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(cx.store.webhooks().events(published.org, source, None).await.unwrap().len(), 1);
    node_a.stop();
    node_b.stop();
}

async fn deliveries_are_checked_before_anything_is_recorded(cx: TestContext) {
    let settings = WebhookSettings {
        signing_secret: Some("HOOK_SECRET".into()),
        dedupe_header: Some("X-GitHub-Delivery".into()),
        rate_per_minute: 3,
        max_body_bytes: 64,
    };
    let (published, source) = source(&cx.store, settings).await;
    cx.store.secrets().put(published.org, "HOOK_SECRET", &SecretString::new("sign-me"), By::System).await.unwrap();
    let node = ActorSystem::start(deps(&cx.store)).await.unwrap();
    let sign = |body: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"sign-me").unwrap();
        mac.update(body.as_bytes());
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let body = r#"{"email":"a@example.test"}"#;
    let unsigned = node.deliver(source, delivery(&[], body)).await;
    assert_eq!(unsigned, Err(DeliveryError::BadSignature));
    let forged = node.deliver(source, delivery(&[("X-Hub-Signature-256", &sign("{}"))], body)).await;
    assert_eq!(forged, Err(DeliveryError::BadSignature));
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(100));
    assert!(matches!(node.deliver(source, delivery(&[], &big)).await, Err(DeliveryError::TooLarge { .. })));
    let signature = sign(body);
    let first = node
        .deliver(
            source,
            delivery(
                &[("X-Hub-Signature-256", &signature), ("X-GitHub-Delivery", "d-1"), ("Authorization", "Bearer nope")],
                body,
            ),
        )
        .await
        .unwrap();
    assert!(!first.duplicate);
    let again = node
        .deliver(source, delivery(&[("X-Hub-Signature-256", &signature), ("X-GitHub-Delivery", "d-1")], body))
        .await
        .unwrap();
    assert_eq!((again.run_id, again.duplicate), (first.run_id, true), "the provider delivery id dedupes");
    let not_json = "not json";
    let bad = node.deliver(source, delivery(&[("X-Hub-Signature-256", &sign(not_json))], not_json)).await;
    assert!(matches!(bad, Err(DeliveryError::BadBody { .. })), "{bad:?}");
    let limited = node.deliver(source, delivery(&[("X-Hub-Signature-256", &signature)], body)).await;
    assert!(matches!(limited, Err(DeliveryError::RateLimited { .. })), "three per minute: {limited:?}");
    let run = cx.store.runs().get(first.run_id).await.unwrap();
    assert_eq!(run.input["body"]["email"], "a@example.test");
    assert_eq!(run.input["headers"]["x-github-delivery"], "d-1");
    assert!(run.input["headers"].get("authorization").is_none(), "credentials stay out of the run");
    assert!(run.input["headers"].get("x-hub-signature-256").is_none());
    assert_eq!(
        cx.store.webhooks().events(published.org, source, None).await.unwrap().len(),
        1,
        "refused deliveries left no record"
    );
    node.stop();
}

async fn deliveries_without_a_key_are_separate_runs(cx: TestContext) {
    let (published, source) = source(&cx.store, WebhookSettings::default()).await;
    let node = ActorSystem::start(deps(&cx.store)).await.unwrap();
    let a = node.deliver(source, delivery(&[], r#"{"n":1}"#)).await.unwrap();
    let b = node.deliver(source, delivery(&[], r#"{"n":1}"#)).await.unwrap();
    assert_ne!(a.run_id, b.run_id);
    cx.store
        .workflows()
        .update(
            published.org,
            published.workflow,
            &aos_persistence::WorkflowPatch { enabled: Some(false), ..Default::default() },
            By::System,
        )
        .await
        .unwrap();
    // the API tells the node's gates what it changed (a change made through another node shows
    // within the gates' reload period)
    node.workflow_changed(published.workflow).await;
    assert_eq!(node.deliver(source, delivery(&[], "{}")).await, Err(DeliveryError::NotRunnable));
    node.stop();
}

async fn a_cancel_asked_once_a_delivery_is_answered_reaches_its_run(cx: TestContext) {
    let graph = WorkflowGraph::new()
        .with_node(Node::new("hook", "trigger.webhook"))
        .with_node(Node::new("wait", "logic.delay").with_config("seconds", 3600))
        .with_node(Node::new("after", "data.transform").with_config("fields", json!({ "x": 1 })))
        .with_edge(Edge::new("e1", "hook", "wait"))
        .with_edge(Edge::new("e2", "wait", "after"));
    let (_, source) = source_of(&cx.store, WebhookSettings::default(), &graph).await;
    let node = ActorSystem::start(deps(&cx.store)).await.unwrap();
    let mut runs = Vec::new();
    for _ in 0..20 {
        let accepted = node.deliver(source, delivery(&[], "{}")).await.unwrap();
        // the answer does not wait for the run's actor to start, yet the actor is there for a
        // cancel asked after it
        assert!(node.cancel_run(accepted.run_id).await, "the run's actor takes the cancel");
        runs.push(accepted.run_id);
    }
    for run in runs {
        let status = wait_for(Duration::from_secs(5), || async {
            Some(cx.store.runs().get(run).await.unwrap().status).filter(|s| s.is_terminal())
        })
        .await;
        assert_eq!(status, Some(RunStatus::Cancelled));
        assert!(cx.store.runs().steps(run).await.unwrap().iter().all(|s| s.node_id != "after"));
    }
    node.stop();
}

async fn runs_beyond_the_start_slots_wait_in_line_and_a_cancelled_one_never_starts(cx: TestContext) {
    let (published, source) = source(&cx.store, WebhookSettings::default()).await;
    let config = SystemConfig { start_slots: Some(1), ..SystemConfig::new(deps(&cx.store)) };
    let node = ActorSystem::start_with(config).await.unwrap();
    // the node's one slot is taken (as a long run would hold it): every delivery waits in line
    let held =
        node.starts().unwrap().admitted(placeholder_run(published.workflow), placeholder_plan()).expect("a free slot");
    let mut runs = Vec::new();
    for n in 0..20 {
        let accepted = node.deliver(source, delivery(&[], &format!(r#"{{"email":"{n}@example.com"}}"#))).await;
        runs.push(accepted.unwrap().run_id);
    }
    assert_eq!(node.starts().unwrap().waiting(), 20, "answered, recorded, and waiting");
    for run in &runs {
        assert_eq!(cx.store.runs().get(*run).await.unwrap().status, RunStatus::Queued);
    }
    // one is cancelled while it waits (the API records the cancel, then tells the node)
    assert!(cx.store.runs().transition(runs[5], RunStatus::Cancelled, Some("cancelled")).await.unwrap());
    assert!(node.cancel_run(runs[5]).await, "taken out of the line");
    assert_eq!(node.starts().unwrap().waiting(), 19);

    drop(held);
    let mut started = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let ended = wait_for(Duration::from_secs(20), || async {
            Some(cx.store.runs().get(*run).await.unwrap()).filter(|r| r.status.is_terminal())
        })
        .await
        .expect("every run ends");
        if i == 5 {
            assert_eq!(ended.status, RunStatus::Cancelled);
            assert!(cx.store.runs().steps(*run).await.unwrap().is_empty(), "the cancelled run never started");
        } else {
            assert_eq!(ended.status, RunStatus::Succeeded, "run {i}");
            let shaped = cx.store.runs().steps(*run).await.unwrap().into_iter().find(|s| s.node_id == "shape");
            let output = shaped.and_then(|s| s.output).expect("the step's output");
            assert!(
                output.to_string().contains(&format!("\"{i}@example.com\"")),
                "run {i}: each run has its own delivery: {output}"
            );
            started.push(ended.started_at.expect("a started run has its start"));
        }
    }
    // one slot: they ran one after another, in the order they were admitted
    assert!(started.windows(2).all(|pair| pair[0] <= pair[1]), "{started:?}");
    assert_eq!(node.starts().unwrap().waiting(), 0);
    assert_eq!(node.starts().unwrap().free_slots(), 1);
    node.stop();
}

/// A run as a starter holds it (only its ids matter to the slots).
fn placeholder_run(workflow: aos_schema::WorkflowId) -> aos_persistence::Run {
    aos_persistence::Run {
        id: aos_schema::RunId::new(),
        org_id: aos_schema::OrgId::new(),
        workflow_id: workflow,
        version: 0,
        status: RunStatus::Queued,
        trigger_kind: "manual".into(),
        idempotency_key: None,
        input: json!({}),
        replay_of: None,
        error: None,
        created_at: aos_persistence::Timestamp::now(),
        started_at: None,
        finished_at: None,
        traceparent: None,
    }
}

fn placeholder_plan() -> Arc<aos_schema::ExecutionPlan> {
    Arc::new(aos_schema::ExecutionPlan { trigger: "hook".into(), layers: Vec::new(), steps: Vec::new() })
}

aos_persistence::conformance_suite!(
    a_cancel_asked_once_a_delivery_is_answered_reaches_its_run,
    a_thousand_concurrent_deliveries_with_one_key_make_one_run,
    deliveries_are_checked_before_anything_is_recorded,
    deliveries_without_a_key_are_separate_runs,
    runs_beyond_the_start_slots_wait_in_line_and_a_cancelled_one_never_starts,
);
