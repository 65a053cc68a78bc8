//! The run-actor suite, on both backends (real SQLite and Postgres, a real engine, a real HTTP
//! server on loopback): every transition recorded, untaken branches skipped, retryable failures
//! retried, exhausted retries dead-lettered, permanent failures failed, cancel, and a re-created
//! actor that continues from the recorded results without repeating them. Run twice: with steps as
//! tasks of the run actor (`tests/run.rs`) and through the step queue to step workers
//! (`tests/run_queued.rs`), chosen by the including binary's `QUEUED`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aos_actors::{ActorKind, Backoff, Registry, RetryPolicy, RunActor, RunArgs, RunDeps, RunMsg};
use aos_engine_link::{EgressPolicy, EmbeddedEngine, EngineConfig, StepOutput};
use aos_persistence::testing::{self, TestContext};
use aos_persistence::{AttemptOutcome, By, NewAttempt, Store};
use aos_schema::{DlqStatus, Edge, Node, OrgId, RunId, RunStatus, StepStatus, WorkflowGraph};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use ractor::Actor;
use serde_json::{Value, json};

/// A loopback service: `/ok`, `/slow` (200 after a second), `/missing` (404), `/down` (503 always),
/// `/flaky/{n}` (503 the first n calls, then 200); counts every call.
pub(crate) async fn service() -> (String, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    async fn flaky(State(calls): State<Arc<AtomicU32>>, Path(n): Path<u32>) -> (StatusCode, String) {
        let seen = calls.fetch_add(1, Ordering::SeqCst);
        if seen < n {
            (StatusCode::SERVICE_UNAVAILABLE, "busy".into())
        } else {
            (StatusCode::OK, "{\"ok\":true}".into())
        }
    }
    async fn count(State(calls): State<Arc<AtomicU32>>) -> (StatusCode, &'static str) {
        calls.fetch_add(1, Ordering::SeqCst);
        (StatusCode::OK, "{\"ok\":true}")
    }
    async fn slow(State(calls): State<Arc<AtomicU32>>) -> (StatusCode, &'static str) {
        calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(1)).await;
        (StatusCode::OK, "{\"ok\":true}")
    }
    async fn down(State(calls): State<Arc<AtomicU32>>) -> StatusCode {
        calls.fetch_add(1, Ordering::SeqCst);
        StatusCode::SERVICE_UNAVAILABLE
    }
    async fn missing(State(calls): State<Arc<AtomicU32>>) -> StatusCode {
        calls.fetch_add(1, Ordering::SeqCst);
        StatusCode::NOT_FOUND
    }
    let app = Router::new()
        .route("/ok", get(count))
        .route("/slow", get(slow))
        .route("/down", get(down))
        .route("/missing", get(missing))
        .route("/flaky/{n}", get(flaky))
        .with_state(Arc::clone(&calls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), calls)
}

pub(crate) fn deps(store: &Store, max_attempts: u32) -> RunDeps {
    let engine = EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::parse("127.0.0.1").unwrap() }).unwrap();
    let mut deps = RunDeps {
        retry: RetryPolicy {
            max_attempts,
            backoff: Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(40), multiplier: 2.0 },
            jitter: 0.5,
        },
        step_timeout: Duration::from_secs(10),
        ..RunDeps::new(store.clone(), Arc::new(engine))
    };
    if super::QUEUED {
        // workers of a tree of their own drain the queue; the run actors under test learn of
        // results by checking their rows (no notice reaches an actor outside that tree)
        let queue: Arc<dyn aos_persistence::StepQueue> = Arc::new(aos_persistence::MemoryStepQueue::new());
        deps.dispatch = aos_actors::Dispatch::Queue(queue);
        deps.check_every = Duration::from_millis(20);
        let mut config = aos_actors::SystemConfig::new(deps.clone());
        config.workers = 2;
        // long enough that a worker renewing its claim on a loaded machine keeps it (a lapsed
        // claim is taken over and the attempt runs again, which these tests would count)
        config.claim_timeout = Duration::from_secs(5);
        tokio::spawn(async move {
            let workers = aos_actors::ActorSystem::start_with(config).await.unwrap();
            // the tree lives as long as the test's runtime
            std::mem::forget(workers);
        });
    }
    deps
}

/// Publishes `graph` as a new workflow of a fresh org and creates a queued run of it.
pub(crate) async fn queued_run(store: &Store, graph: WorkflowGraph, input: Value) -> (OrgId, RunId) {
    let published = testing::published_workflow(store, &graph).await;
    (published.org, testing::queued_run(store, published, input).await)
}

/// Runs the actor to its end (bounded).
async fn run_to_end(store: &Store, run_id: RunId, max_attempts: u32) {
    let registry = Registry::default();
    let args = RunArgs {
        run_id,
        deps: deps(store, max_attempts),
        stats: registry.register(ActorKind::Run, "run", None),
        seed: None,
        slot: None,
    };
    let (_actor, done) = Actor::spawn(None, RunActor, args).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), done).await.expect("run ends").unwrap();
}

pub(crate) fn graph(nodes: Vec<Node>, edges: &[(&str, &str, &str)]) -> WorkflowGraph {
    let mut g = WorkflowGraph::new().with_node(Node::new("start", "trigger.manual"));
    for n in nodes {
        g = g.with_node(n);
    }
    for (i, (from, port, to)) in edges.iter().enumerate() {
        g = g.with_edge(Edge::new(format!("e{i}"), *from, *to).ports(*port, "in"));
    }
    g
}

pub(crate) fn http_get(id: &str, url: String) -> Node {
    Node::new(id, "http.request").with_config("method", "GET").with_config("url", url)
}

async fn events(store: &Store, run: RunId) -> Vec<(Option<String>, String)> {
    store.runs().logs(run, 0, Some(500)).await.unwrap().into_iter().map(|l| (l.node_id, l.event)).collect()
}

async fn a_linear_run_succeeds_and_records_every_transition(cx: TestContext) {
    let store = &cx.store;
    let shape = Node::new("shape", "data.transform")
        .with_config("fields", json!({ "email": "{{ trigger.email }}", "token": "{{ secrets.API_TOKEN }}" }));
    let g = graph(
        vec![shape, Node::new("again", "data.transform").with_config("fields", json!({ "e": "{{ input.email }}" }))],
        &[("start", "out", "shape"), ("shape", "out", "again")],
    );
    let (org, run) = queued_run(store, g, json!({ "email": "ada@example.test" })).await;
    store.secrets().put(org, "API_TOKEN", &aos_schema::SecretString::new("tok-very-secret"), By::System).await.unwrap();
    run_to_end(store, run, 3).await;
    assert_eq!(store.runs().get(run).await.unwrap().status, RunStatus::Succeeded);
    let steps = store.runs().steps(run).await.unwrap();
    let seen: Vec<(String, i64, StepStatus)> = steps.iter().map(|s| (s.node_id.clone(), s.attempt, s.status)).collect();
    assert_eq!(
        seen,
        [
            ("start".into(), 1, StepStatus::Succeeded),
            ("shape".into(), 1, StepStatus::Succeeded),
            ("again".into(), 1, StepStatus::Succeeded)
        ]
    );
    let again: StepOutput = serde_json::from_value(steps[2].output.clone().unwrap()).unwrap();
    assert_eq!(again.output, json!({ "e": "ada@example.test" }));
    let shape_out = steps[1].output.as_ref().unwrap().to_string();
    assert!(!shape_out.contains("tok-very-secret") && shape_out.contains("[redacted]"), "{shape_out}");
    let log = events(store, run).await;
    assert_eq!(log.first().map(|e| e.1.as_str()), Some("run_started"));
    assert_eq!(log.last().map(|e| e.1.as_str()), Some("run_finished"));
    assert_eq!(log.iter().filter(|e| e.1 == "step_succeeded").count(), 3);
    let usage = store.billing().run_usage(org, run).await.unwrap();
    assert_eq!(usage.steps, 3);
    assert!(usage.cost_micros > 0);
}

async fn the_untaken_branch_is_recorded_skipped(cx: TestContext) {
    let store = &cx.store;
    let check = Node::new("check", "logic.condition").with_config("condition", "{{ input.ok }}");
    let yes = Node::new("yes", "data.transform").with_config("fields", json!({ "b": "yes" }));
    let no = Node::new("no", "data.transform").with_config("fields", json!({ "b": "no" }));
    let g =
        graph(vec![check, yes, no], &[("start", "out", "check"), ("check", "true", "yes"), ("check", "false", "no")]);
    let (_, run) = queued_run(store, g, json!({ "ok": true })).await;
    run_to_end(store, run, 3).await;
    assert_eq!(store.runs().get(run).await.unwrap().status, RunStatus::Succeeded);
    let steps = store.runs().steps(run).await.unwrap();
    let no = steps.iter().find(|s| s.node_id == "no").unwrap();
    assert_eq!(no.status, StepStatus::Skipped);
    assert!(events(store, run).await.contains(&(Some("no".into()), "step_skipped".into())));
}

async fn retryable_failures_are_retried_until_they_succeed(cx: TestContext) {
    let (base, calls) = service().await;
    let g = graph(vec![http_get("fetch", format!("{base}/flaky/2"))], &[("start", "out", "fetch")]);
    let (_, run) = queued_run(&cx.store, g, json!({})).await;
    run_to_end(&cx.store, run, 5).await;
    assert_eq!(cx.store.runs().get(run).await.unwrap().status, RunStatus::Succeeded);
    let attempts: Vec<(i64, StepStatus)> = cx
        .store
        .runs()
        .steps(run)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.node_id == "fetch")
        .map(|s| (s.attempt, s.status))
        .collect();
    assert_eq!(attempts, [(1, StepStatus::Failed), (2, StepStatus::Failed), (3, StepStatus::Succeeded)]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(events(&cx.store, run).await.iter().filter(|e| e.1 == "step_retrying").count(), 2);
}

async fn exhausted_retries_dead_letter_the_run(cx: TestContext) {
    let (base, calls) = service().await;
    let g = graph(vec![http_get("fetch", format!("{base}/down"))], &[("start", "out", "fetch")]);
    let (org, run) = queued_run(&cx.store, g, json!({ "n": 1 })).await;
    run_to_end(&cx.store, run, 2).await;
    assert_eq!(cx.store.runs().get(run).await.unwrap().status, RunStatus::DeadLettered);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "two tries in all");
    let dlq = cx.store.runs().dlq(org, Some(DlqStatus::Pending), None).await.unwrap();
    assert_eq!(dlq.len(), 1);
    assert_eq!((dlq[0].run_id, dlq[0].node_id.as_str()), (run, "fetch"));
    assert!(dlq[0].error.contains("503"), "{}", dlq[0].error);
}

async fn permanent_failures_fail_the_run_at_once(cx: TestContext) {
    let (base, calls) = service().await;
    let g = graph(vec![http_get("fetch", format!("{base}/missing"))], &[("start", "out", "fetch")]);
    let (_, run) = queued_run(&cx.store, g, json!({})).await;
    run_to_end(&cx.store, run, 5).await;
    let finished = cx.store.runs().get(run).await.unwrap();
    assert_eq!(finished.status, RunStatus::Failed);
    assert!(finished.error.unwrap().contains("404"));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "no retry for a permanent failure");
}

async fn a_recreated_actor_continues_without_repeating_recorded_steps(cx: TestContext) {
    let (base, calls) = service().await;
    let shape = Node::new("shape", "data.transform")
        .with_config("fields", json!({ "got": "{{ steps.fetch.output.body.ok }}" }));
    let g = graph(
        vec![http_get("fetch", format!("{base}/ok")), shape],
        &[("start", "out", "fetch"), ("fetch", "out", "shape")],
    );
    let (org, run) = queued_run(&cx.store, g, json!({})).await;
    // a previous actor ran `start` and `fetch`, recorded them, and died
    for (node, output) in
        [("start", json!({})), ("fetch", json!({ "status": 200, "headers": {}, "body": { "ok": true } }))]
    {
        let runs = cx.store.runs();
        runs.start_attempt(&NewAttempt {
            run_id: run,
            org_id: org,
            node_id: node.into(),
            attempt: 1,
            status: StepStatus::Running,
            input: None,
        })
        .await
        .unwrap();
        let out = serde_json::to_value(StepOutput::value(output)).unwrap();
        runs.finish_attempt(
            run,
            node,
            1,
            &AttemptOutcome { status: StepStatus::Succeeded, output: Some(out), error: None, duration_ms: Some(1) },
        )
        .await
        .unwrap();
    }
    cx.store.runs().transition(run, RunStatus::Running, None).await.unwrap();
    run_to_end(&cx.store, run, 3).await;
    assert_eq!(cx.store.runs().get(run).await.unwrap().status, RunStatus::Succeeded);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the recorded HTTP call was not made again");
    let shape = cx.store.runs().steps(run).await.unwrap().into_iter().find(|s| s.node_id == "shape").unwrap();
    let out: StepOutput = serde_json::from_value(shape.output.unwrap()).unwrap();
    assert_eq!(out.output, json!({ "got": true }));
}

async fn a_cancelled_run_stops_waiting(cx: TestContext) {
    let wait = Node::new("wait", "logic.delay").with_config("seconds", 3600);
    let after = Node::new("after", "data.transform").with_config("fields", json!({ "x": 1 }));
    let g = graph(vec![wait, after], &[("start", "out", "wait"), ("wait", "out", "after")]);
    let (_, run) = queued_run(&cx.store, g, json!({})).await;
    let registry = Registry::default();
    let args = RunArgs {
        run_id: run,
        deps: deps(&cx.store, 3),
        stats: registry.register(ActorKind::Run, "run", None),
        seed: None,
        slot: None,
    };
    let (actor, done) = Actor::spawn(None, RunActor, args).await.unwrap();
    // the delay step has run once its row says so; then cancel
    testing::wait_until(Duration::from_secs(4), || async {
        let steps = cx.store.runs().steps(run).await.unwrap();
        steps.iter().any(|s| s.node_id == "wait" && s.status == StepStatus::Succeeded)
    })
    .await;
    actor.send_message(RunMsg::Cancel).unwrap();
    tokio::time::timeout(Duration::from_secs(10), done).await.expect("cancel ends the run").unwrap();
    assert_eq!(cx.store.runs().get(run).await.unwrap().status, RunStatus::Cancelled);
    assert!(cx.store.runs().steps(run).await.unwrap().iter().all(|s| s.node_id != "after"));
}

/// start → first (/ok on one service) → second (/flaky/2 on another): with two tries the run
/// dead-letters at `second` after two calls.
async fn dead_lettered_at_second(store: &Store) -> (OrgId, RunId, Arc<AtomicU32>, Arc<AtomicU32>) {
    let (first_base, first_calls) = service().await;
    let (second_base, second_calls) = service().await;
    let g = graph(
        vec![http_get("first", format!("{first_base}/ok")), http_get("second", format!("{second_base}/flaky/2"))],
        &[("start", "out", "first"), ("first", "out", "second")],
    );
    let (org, run) = queued_run(store, g, json!({ "n": 7 })).await;
    run_to_end(store, run, 2).await;
    assert_eq!(store.runs().get(run).await.unwrap().status, RunStatus::DeadLettered);
    (org, run, first_calls, second_calls)
}

async fn replay_from_the_failed_step_reuses_what_succeeded(cx: TestContext) {
    let (org, old, first_calls, second_calls) = dead_lettered_at_second(&cx.store).await;
    assert_eq!((first_calls.load(Ordering::SeqCst), second_calls.load(Ordering::SeqCst)), (1, 2));
    let new = aos_actors::replay_run(&cx.store, old, aos_actors::ReplayFrom::Failed, By::System).await.unwrap();
    assert_eq!((new.replay_of, new.trigger_kind.as_str(), new.input.clone()), (Some(old), "replay", json!({ "n": 7 })));
    run_to_end(&cx.store, new.id, 2).await;
    assert_eq!(cx.store.runs().get(new.id).await.unwrap().status, RunStatus::Succeeded);
    assert_eq!(first_calls.load(Ordering::SeqCst), 1, "the step that succeeded did not run again");
    assert_eq!(second_calls.load(Ordering::SeqCst), 3);
    let dlq = cx.store.runs().dlq(org, None, None).await.unwrap();
    assert_eq!((dlq.len(), dlq[0].status), (1, DlqStatus::Replayed));
    let audit = cx.store.audit().list(org, &Default::default()).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "run.replay"));
    // a run that is still going cannot be replayed
    let again = aos_actors::replay_run(&cx.store, new.id, aos_actors::ReplayFrom::Start, By::System).await.unwrap();
    let err = aos_actors::replay_run(&cx.store, again.id, aos_actors::ReplayFrom::Start, By::System).await.unwrap_err();
    assert!(matches!(err, aos_persistence::StoreError::Conflict { .. }), "{err:?}");
}

async fn replay_from_the_start_runs_everything_again(cx: TestContext) {
    let (_org, old, first_calls, _second_calls) = dead_lettered_at_second(&cx.store).await;
    let new = aos_actors::replay_run(&cx.store, old, aos_actors::ReplayFrom::Start, By::System).await.unwrap();
    run_to_end(&cx.store, new.id, 2).await;
    assert_eq!(cx.store.runs().get(new.id).await.unwrap().status, RunStatus::Succeeded);
    assert_eq!(first_calls.load(Ordering::SeqCst), 2, "every step ran again");
}

async fn a_failing_run_actor_is_restarted_by_its_supervisor_and_the_run_completes(cx: TestContext) {
    let (base, calls) = service().await;
    let shape =
        Node::new("shape", "data.transform").with_config("fields", json!({ "ok": "{{ steps.fetch.output.body.ok }}" }));
    let g = graph(
        vec![http_get("fetch", format!("{base}/flaky/1")), shape],
        &[("start", "out", "fetch"), ("fetch", "out", "shape")],
    );
    let (_org, run) = queued_run(&cx.store, g, json!({})).await;
    let registry = Arc::new(Registry::default());
    let stats = registry.register(ActorKind::Supervisor, "runs", None);
    let args = aos_actors::SupervisorArgs {
        name: "runs".into(),
        policy: aos_actors::RestartPolicy {
            max_restarts: 3,
            within: Duration::from_secs(30),
            backoff: Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(50), multiplier: 2.0 },
        },
        factory: Arc::new(aos_actors::RunFactory { deps: deps(&cx.store, 5) }),
        registry: Arc::clone(&registry),
        stats: Arc::clone(&stats),
    };
    let (supervisor, _) = Actor::spawn(None, aos_actors::Supervisor, args).await.unwrap();
    let runs = aos_actors::SupervisorHandle::new(supervisor, stats);
    let child = runs.start(&run.to_string()).await.unwrap();
    // a result for a step the run never started: the actor fails on it
    let actor: ractor::ActorRef<RunMsg> = child.cell.clone().into();
    child.stats.enqueued();
    actor
        .send_message(RunMsg::Resume { key: aos_actors::StepKey::top("no_such_step"), output: StepOutput::default() })
        .unwrap();
    let finished = testing::wait_until(Duration::from_secs(10), || async {
        cx.store.runs().get(run).await.unwrap().status == RunStatus::Succeeded
    })
    .await;
    assert!(finished, "the restarted actor reloaded the run and finished it");
    assert_eq!(child.stats.restarts(), 1, "the supervisor restarted the run actor once");
    let steps = cx.store.runs().steps(run).await.unwrap();
    assert!(steps.iter().all(|s| s.status != StepStatus::Running), "no attempt is left running: {steps:?}");
    assert_eq!(steps.iter().filter(|s| s.status == StepStatus::Succeeded).count(), 3, "each step succeeded once");
    assert!(calls.load(Ordering::SeqCst) >= 2);
}

/// A server that accepts connections and never answers.
async fn silent() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

async fn a_node_timeout_is_a_retryable_failure(cx: TestContext) {
    let base = silent().await;
    let slow =
        http_get("slow", format!("{base}/never")).with_config("timeout_seconds", 0.2).with_config("max_attempts", 2);
    let g = graph(vec![slow], &[("start", "out", "slow")]);
    let (org, run) = queued_run(&cx.store, g, json!({})).await;
    run_to_end(&cx.store, run, 5).await;
    assert_eq!(cx.store.runs().get(run).await.unwrap().status, RunStatus::DeadLettered);
    let attempts = cx.store.runs().steps(run).await.unwrap().into_iter().filter(|s| s.node_id == "slow").count();
    assert_eq!(attempts, 2, "the timeout was retried, as often as the node's max_attempts says");
    let dlq = cx.store.runs().dlq(org, None, None).await.unwrap();
    assert!(dlq[0].error.contains("step_timeout"), "{}", dlq[0].error);
}

aos_persistence::conformance_suite!(
    a_node_timeout_is_a_retryable_failure,
    a_failing_run_actor_is_restarted_by_its_supervisor_and_the_run_completes,
    replay_from_the_failed_step_reuses_what_succeeded,
    replay_from_the_start_runs_everything_again,
    a_linear_run_succeeds_and_records_every_transition,
    the_untaken_branch_is_recorded_skipped,
    retryable_failures_are_retried_until_they_succeed,
    exhausted_retries_dead_letter_the_run,
    permanent_failures_fail_the_run_at_once,
    a_recreated_actor_continues_without_repeating_recorded_steps,
    a_cancelled_run_stops_waiting,
);
