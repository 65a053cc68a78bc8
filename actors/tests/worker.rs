//! Step workers on the queue path, on both databases (real SQLite and Postgres, a real engine, a
//! real HTTP server on loopback): a job carries its step, so a worker runs it without the run's
//! history; results reach the run's actor in the notice (over Redis from another node, a large
//! result without it); one worker runs several jobs at once; copies of a job record once; jobs of
//! older nodes (no step) and of finished runs are handled.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aos_actors::{ActorKind, ActorSystem, Dispatch, Registry, RunActor, RunArgs, RunDeps, RunMsg, SystemConfig};
use aos_engine_link::{EgressPolicy, EmbeddedEngine, EngineConfig, StepOutput};
use aos_persistence::testing::{self, TestContext, wait_until};
use aos_persistence::{
    AttemptOutcome, JobStep, MemoryStepQueue, NewAttempt, NewRun, RedisLink, RedisQueueConfig, RedisStepQueue, RunStep,
    StepJob, StepQueue, Store, Timestamp,
};
use aos_schema::{Edge, Node, OrgId, RunId, RunStatus, StepStatus, WorkflowGraph, WorkflowId};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use ractor::Actor;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The size of `/big`'s body: past what a published notice carries.
const BIG: usize = 80 * 1024;
/// How many requests `/together` holds until they are all in.
const TOGETHER: u32 = 4;
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A loopback service counting its calls: `/ok` answers at once, `/big` with a [`BIG`] body;
/// `/together` holds each request
/// until [`TOGETHER`] are in at the same time (or 10 s passed), and keeps the most it saw at once.
#[derive(Default)]
struct Service {
    calls: AtomicU32,
    now: AtomicU32,
    most: AtomicU32,
    all_in: Notify,
}

async fn service() -> (String, Arc<Service>) {
    async fn ok(State(seen): State<Arc<Service>>) -> &'static str {
        seen.calls.fetch_add(1, Ordering::SeqCst);
        "{\"ok\":true}"
    }
    async fn together(State(seen): State<Arc<Service>>) -> &'static str {
        seen.calls.fetch_add(1, Ordering::SeqCst);
        let waiting = seen.all_in.notified();
        let now = seen.now.fetch_add(1, Ordering::SeqCst) + 1;
        seen.most.fetch_max(now, Ordering::SeqCst);
        if now >= TOGETHER {
            seen.all_in.notify_waiters();
        } else {
            let _all_in_or_not = tokio::time::timeout(Duration::from_secs(10), waiting).await;
        }
        seen.now.fetch_sub(1, Ordering::SeqCst);
        "{\"ok\":true}"
    }
    async fn big(State(seen): State<Arc<Service>>) -> String {
        seen.calls.fetch_add(1, Ordering::SeqCst);
        json!({ "text": "x".repeat(BIG) }).to_string()
    }
    let seen = Arc::new(Service::default());
    let app = Router::new()
        .route("/ok", get(ok))
        .route("/big", get(big))
        .route("/together", get(together))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// Queue dispatch on a fresh in-process queue. Run actors check their rows only once an hour, so
/// a run that finishes learned its results from notices.
fn deps(store: &Store) -> RunDeps {
    let engine = EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::parse("127.0.0.1").unwrap() }).unwrap();
    let queue: Arc<dyn StepQueue> = Arc::new(MemoryStepQueue::new());
    RunDeps {
        dispatch: Dispatch::Queue(queue),
        check_every: Duration::from_secs(3600),
        step_timeout: Duration::from_secs(20),
        ..RunDeps::new(store.clone(), Arc::new(engine))
    }
}

fn queue_of(deps: &RunDeps) -> Arc<dyn StepQueue> {
    match &deps.dispatch {
        Dispatch::Queue(queue) => Arc::clone(queue),
        Dispatch::Local => unreachable!("the tests dispatch through the queue"),
    }
}

/// A node's tree with `workers` step workers on `deps`' queue.
async fn node(deps: &RunDeps, workers: usize) -> ActorSystem {
    let mut config = SystemConfig::new(deps.clone());
    config.workers = workers;
    config.claim_timeout = Duration::from_secs(2);
    ActorSystem::start_with(config).await.unwrap()
}

fn graph(nodes: Vec<Node>, edges: &[(&str, &str)]) -> WorkflowGraph {
    let mut g = WorkflowGraph::new().with_node(Node::new("start", "trigger.manual"));
    for n in nodes {
        g = g.with_node(n);
    }
    for (i, (from, to)) in edges.iter().enumerate() {
        g = g.with_edge(Edge::new(format!("e{i}"), *from, *to).ports("out", "in"));
    }
    g
}

fn http_get(id: &str, url: String) -> Node {
    Node::new(id, "http.request").with_config("method", "GET").with_config("url", url)
}

/// A published workflow of `graph` and a queued run of it, started by a request with a trace.
async fn queued_run(store: &Store, graph: WorkflowGraph, input: Value) -> (OrgId, WorkflowId, RunId) {
    let published = testing::published_workflow(store, &graph).await;
    let run = NewRun {
        org_id: published.org,
        workflow_id: published.workflow,
        version: published.version,
        trigger_kind: "manual".into(),
        idempotency_key: None,
        input,
        replay_of: None,
        traceparent: Some(TRACEPARENT.into()),
    };
    (published.org, published.workflow, store.runs().create(&run).await.unwrap().into_inner().id)
}

/// Attempt 1 of `node`, recorded as succeeded with `output`.
async fn recorded(store: &Store, org: OrgId, run: RunId, node: &str, output: Value) {
    let runs = store.runs();
    let new = NewAttempt {
        run_id: run,
        org_id: org,
        node_id: node.into(),
        attempt: 1,
        status: StepStatus::Running,
        input: None,
    };
    runs.start_attempt(&new).await.unwrap();
    let outcome = AttemptOutcome {
        status: StepStatus::Succeeded,
        output: Some(serde_json::to_value(StepOutput::value(output)).unwrap()),
        error: None,
        duration_ms: Some(1),
    };
    assert!(runs.finish_attempt(run, node, 1, &outcome).await.unwrap());
}

/// A first-attempt job for step `key` of `run`, carrying `step` (or not, as an older node's).
fn job(org: OrgId, workflow: WorkflowId, run: RunId, key: &str, step: Option<JobStep>) -> StepJob {
    StepJob {
        run_id: run,
        org_id: org,
        workflow_id: workflow,
        step_key: key.into(),
        attempt: 1,
        enqueued_at: Timestamp::now(),
        step,
        traceparent: None,
    }
}

fn http_step(url: &str, input: Value) -> JobStep {
    let config = json!({ "method": "GET", "url": url });
    JobStep {
        kind: "http.request".into(),
        config: config.as_object().cloned().unwrap(),
        context: json!({ "trigger": {}, "steps": {}, "input": input }),
    }
}

async fn rows_of(store: &Store, run: RunId, node: &str) -> Vec<RunStep> {
    store.runs().steps(run).await.unwrap().into_iter().filter(|s| s.node_id == node).collect()
}

async fn events_of(store: &Store, run: RunId, node: &str) -> Vec<String> {
    let logs = store.runs().logs(run, 0, Some(5000)).await.unwrap();
    logs.into_iter().filter(|l| l.node_id.as_deref() == Some(node)).map(|l| l.event).collect()
}

async fn drained(queue: &Arc<dyn StepQueue>) -> bool {
    wait_until(Duration::from_secs(10), || async {
        let depth = queue.depth().await.unwrap();
        depth.waiting == 0 && depth.in_flight == 0
    })
    .await
}

async fn finished(store: &Store, run: RunId) -> RunStatus {
    wait_until(Duration::from_secs(20), || async { store.runs().status(run).await.unwrap().is_terminal() }).await;
    store.runs().status(run).await.unwrap()
}

async fn a_job_carrying_its_step_runs_without_the_runs_history(cx: TestContext) {
    let store = &cx.store;
    let (base, seen) = service().await;
    let g = graph(vec![http_get("fetch", format!("{base}/ok"))], &[("start", "fetch")]);
    let (org, workflow, run) = queued_run(store, g, json!({})).await;
    // a long history: a worker that replayed it per job would read every one of these rows
    for i in 0..300 {
        recorded(store, org, run, &format!("earlier[{i}]"), json!({ "i": i })).await;
    }
    // a step no replay of this run could find (its plan has no `extra`): only the job knows it,
    // and its URL comes from the context the job carries
    let step = http_step("{{ input.base }}/ok", json!({ "base": base }));
    let deps = deps(store);
    let queue = queue_of(&deps);
    queue.enqueue(&job(org, workflow, run, "extra", Some(step))).await.unwrap();
    let node = node(&deps, 1).await;
    assert!(drained(&queue).await, "the job is acked");
    let extra: Vec<_> = rows_of(store, run, "extra").await.into_iter().map(|s| (s.attempt, s.status)).collect();
    assert_eq!(extra, [(1, StepStatus::Succeeded)]);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    let started = store.runs().logs(run, 0, Some(5000)).await.unwrap();
    let started = started.iter().find(|l| l.event == "step_started").unwrap();
    assert_eq!(started.data["worker"], json!(format!("{}/worker-0", deps.node.id)));
    node.stop();
}

async fn a_run_moves_on_from_the_results_its_notices_carry(cx: TestContext) {
    let store = &cx.store;
    let (base, seen) = service().await;
    let shape =
        Node::new("shape", "data.transform").with_config("fields", json!({ "got": "{{ steps.b.output.body.ok }}" }));
    let g = graph(
        vec![http_get("a", format!("{base}/ok")), http_get("b", format!("{base}/ok")), shape],
        &[("start", "a"), ("a", "b"), ("b", "shape")],
    );
    let (_, _, run) = queued_run(store, g, json!({})).await;
    let deps = deps(store);
    let node = node(&deps, 1).await;
    assert_eq!(node.start_run(run).await.unwrap(), aos_actors::RunPlacement::Here);
    // no check of the rows comes within the hour: only the notices move this run
    assert_eq!(finished(store, run).await, RunStatus::Succeeded);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);
    let shape = rows_of(store, run, "shape").await;
    let shaped: StepOutput = serde_json::from_value(shape[0].output.clone().unwrap()).unwrap();
    assert_eq!(shaped.output, json!({ "got": true }));
    node.stop();
}

async fn results_reach_the_run_on_another_node_over_redis(cx: TestContext) {
    let store = &cx.store;
    let (base, seen) = service().await;
    let shape =
        Node::new("shape", "data.transform").with_config("fields", json!({ "ok": "{{ steps.after.output.body.ok }}" }));
    let g = graph(
        vec![http_get("large", format!("{base}/big")), http_get("after", format!("{base}/ok")), shape],
        &[("start", "large"), ("large", "after"), ("after", "shape")],
    );
    let (_, _, run) = queued_run(store, g, json!({})).await;
    let url = std::env::var("AOS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let link = RedisLink::connect(&url).await.expect("redis for tests (AOS_TEST_REDIS_URL)");
    let config = RedisQueueConfig::on_stream(format!("aos:test:worker:{}", uuid::Uuid::new_v4().simple()));
    // node `a` drives the run and has no worker; node `b` has one: every result crosses over Redis
    let mut nodes = Vec::new();
    for (id, workers) in [("a", 0), ("b", 1)] {
        let queue: Arc<dyn StepQueue> = Arc::new(RedisStepQueue::open(link.clone(), config.clone()).await.unwrap());
        let mut deps = deps(store);
        deps.dispatch = Dispatch::Queue(queue);
        deps.node.id = id.into();
        let mut node_config = SystemConfig::new(deps);
        node_config.workers = workers;
        node_config.redis = Some(link.clone());
        nodes.push(ActorSystem::start_with(node_config).await.unwrap());
    }
    assert_eq!(nodes[0].start_run(run).await.unwrap(), aos_actors::RunPlacement::Here);
    // `large`'s notice goes without its result (the actor reads the row), `after`'s with it
    let status = finished(store, run).await;
    for node in &nodes {
        node.stop();
    }
    if let Ok(client) = redis::Client::open(url.as_str())
        && let Ok(mut conn) = client.get_multiplexed_async_connection().await
    {
        let streams = [&config.stream, &config.dead_letter_stream];
        let _gone: Result<i64, _> = redis::cmd("DEL").arg(&streams).query_async(&mut conn).await;
    }
    assert_eq!(status, RunStatus::Succeeded);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);
    let shape = rows_of(store, run, "shape").await;
    let shaped: StepOutput = serde_json::from_value(shape[0].output.clone().unwrap()).unwrap();
    assert_eq!(shaped.output, json!({ "ok": true }));
    let large = rows_of(store, run, "large").await;
    let large: StepOutput = serde_json::from_value(large[0].output.clone().unwrap()).unwrap();
    assert_eq!(large.output["body"]["text"].as_str().map(str::len), Some(BIG));
    let worker = store.runs().logs(run, 0, Some(500)).await.unwrap();
    let worker = worker.iter().find(|l| l.event == "step_started").unwrap();
    assert_eq!(worker.data["worker"], json!("b/worker-0"));
}

async fn a_notice_with_its_result_is_applied_without_reading_rows(cx: TestContext) {
    let store = &cx.store;
    let (base, seen) = service().await;
    let g = graph(vec![http_get("fetch", format!("{base}/ok"))], &[("start", "fetch")]);
    let (_, _, run) = queued_run(store, g, json!({ "id": 7 })).await;
    // a run actor and its queue, no worker: the test plays the worker
    let deps = deps(store);
    let queue = queue_of(&deps);
    let registry = Registry::default();
    let args =
        RunArgs { run_id: run, deps, stats: registry.register(ActorKind::Run, "run", None), seed: None, slot: None };
    let (actor, done) = Actor::spawn(None, RunActor, args).await.unwrap();
    let queued = wait_until(Duration::from_secs(10), || async { queue.depth().await.unwrap().waiting == 1 }).await;
    assert!(queued, "the run queued its step");
    let claimed = queue.claim("test", 10, Duration::ZERO).await.unwrap();
    let job = &claimed[0].job;
    // the job carries the step: what the engine needs, its trace, and no secret
    let step = job.step.as_ref().expect("the job carries its step");
    assert_eq!((job.step_key.as_str(), step.kind.as_str()), ("fetch", "http.request"));
    assert_eq!(step.config["url"], json!(format!("{base}/ok")));
    assert_eq!(job.traceparent.as_deref(), Some(TRACEPARENT));

    // a notice of another attempt is not this one's result
    let later = Some(Ok(StepOutput::value(json!({ "status": 500 }))));
    actor.send_message(RunMsg::Recorded { step: "fetch".into(), attempt: 2, result: later }).unwrap();
    // no row was recorded for it: an actor that read its rows would wait for the hourly check
    let result = Some(Ok(StepOutput::value(json!({ "status": 200, "headers": {}, "body": { "ok": true } }))));
    actor.send_message(RunMsg::Recorded { step: "fetch".into(), attempt: 1, result }).unwrap();
    tokio::time::timeout(Duration::from_secs(10), done).await.expect("the run ends").unwrap();
    assert_eq!(store.runs().status(run).await.unwrap(), RunStatus::Succeeded);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0, "nobody ran the step but the test");
}

async fn one_worker_runs_a_fan_out_at_once(cx: TestContext) {
    let store = &cx.store;
    let (base, seen) = service().await;
    let steps: Vec<Node> = ["a", "b", "c", "d"].iter().map(|id| http_get(id, format!("{base}/together"))).collect();
    let g = graph(steps, &[("start", "a"), ("start", "b"), ("start", "c"), ("start", "d")]);
    let (_, _, run) = queued_run(store, g, json!({})).await;
    let deps = deps(store);
    let node = node(&deps, 1).await;
    assert_eq!(node.start_run(run).await.unwrap(), aos_actors::RunPlacement::Here);
    assert_eq!(finished(store, run).await, RunStatus::Succeeded);
    // one at a time, each would have waited out its hold alone
    assert_eq!(seen.most.load(Ordering::SeqCst), TOGETHER, "the one worker ran the four steps at once");
    assert_eq!(seen.calls.load(Ordering::SeqCst), TOGETHER);
    node.stop();
}

async fn copies_of_a_job_run_and_record_once(cx: TestContext) {
    let store = &cx.store;
    let (base, seen) = service().await;
    let g = graph(vec![http_get("fetch", format!("{base}/ok"))], &[("start", "fetch")]);
    let (org, workflow, run) = queued_run(store, g, json!({})).await;
    let deps = deps(store);
    let queue = queue_of(&deps);
    let copy = job(org, workflow, run, "fetch", Some(http_step(&format!("{base}/ok"), json!({}))));
    // delivered twice before any worker looks: one claim takes both, and they run side by side
    queue.enqueue(&copy).await.unwrap();
    queue.enqueue(&copy).await.unwrap();
    let node = node(&deps, 1).await;
    assert!(drained(&queue).await, "both copies are acked");
    // and once more after the result is recorded: acked without running
    queue.enqueue(&copy).await.unwrap();
    assert!(drained(&queue).await, "the late copy is acked");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1, "the step ran once");
    let rows: Vec<_> = rows_of(store, run, "fetch").await.into_iter().map(|s| (s.attempt, s.status)).collect();
    assert_eq!(rows, [(1, StepStatus::Succeeded)]);
    assert_eq!(events_of(store, run, "fetch").await, ["step_started", "step_succeeded"]);
    node.stop();
}

async fn a_job_from_an_older_node_finds_its_step_by_restoring_the_run(cx: TestContext) {
    let store = &cx.store;
    let (base, seen) = service().await;
    let g = graph(vec![http_get("fetch", format!("{base}/ok"))], &[("start", "fetch")]);
    let (org, workflow, run) = queued_run(store, g, json!({})).await;
    recorded(store, org, run, "start", json!({})).await;
    let deps = deps(store);
    let queue = queue_of(&deps);
    queue.enqueue(&job(org, workflow, run, "fetch", None)).await.unwrap();
    // and one whose step does not decode: found the same way (a second copy of the attempt)
    let mut garbled = job(org, workflow, run, "fetch", Some(http_step("unused", json!({}))));
    garbled.step.as_mut().unwrap().context = json!("not a context");
    queue.enqueue(&garbled).await.unwrap();
    let node = node(&deps, 1).await;
    assert!(drained(&queue).await, "the jobs are acked");
    let rows: Vec<_> = rows_of(store, run, "fetch").await.into_iter().map(|s| (s.attempt, s.status)).collect();
    assert_eq!(rows, [(1, StepStatus::Succeeded)]);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    node.stop();
}

async fn a_finished_runs_jobs_are_dropped(cx: TestContext) {
    let store = &cx.store;
    let (base, seen) = service().await;
    let g = graph(vec![http_get("fetch", format!("{base}/ok"))], &[("start", "fetch")]);
    let (org, workflow, run) = queued_run(store, g, json!({})).await;
    assert!(store.runs().transition(run, RunStatus::Cancelled, Some("cancelled")).await.unwrap());
    let deps = deps(store);
    let queue = queue_of(&deps);
    queue.enqueue(&job(org, workflow, run, "fetch", Some(http_step(&format!("{base}/ok"), json!({}))))).await.unwrap();
    // and a job of a run that does not exist
    queue.enqueue(&job(org, workflow, RunId::new(), "fetch", None)).await.unwrap();
    let node = node(&deps, 1).await;
    assert!(drained(&queue).await, "both are acked");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
    assert!(rows_of(store, run, "fetch").await.is_empty());
    node.stop();
}

aos_persistence::conformance_suite!(
    a_job_carrying_its_step_runs_without_the_runs_history,
    a_run_moves_on_from_the_results_its_notices_carry,
    results_reach_the_run_on_another_node_over_redis,
    a_notice_with_its_result_is_applied_without_reading_rows,
    one_worker_runs_a_fan_out_at_once,
    copies_of_a_job_run_and_record_once,
    a_job_from_an_older_node_finds_its_step_by_restoring_the_run,
    a_finished_runs_jobs_are_dropped,
);
