//! Two `automateos serve` processes on one Postgres and one Redis: steps travel through the Redis
//! step queue to the workers of both. The node driving a run is SIGKILLed mid-run, with a slow step
//! in flight on its own worker; the other node adopts the run once the dead node's heartbeat goes stale, a worker
//! takes over the dead node's unacked step job, and the run finishes with every step recorded
//! (and billed) exactly once. Editors connected to two processes edit one workflow's doc and
//! converge through Redis; run events of a run driven on one node reach a subscriber on the other,
//! and so does a webhook test event.

#[path = "support/http.rs"]
mod support_http;
#[path = "../../realtime/tests/support/mod.rs"]
mod yjs;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aos_persistence::testing::{self, TestStore};
use aos_persistence::{Backend, DatabaseTarget, Store};
use aos_schema::{Edge, Node, RunId, RunStatus, StepStatus, WorkflowGraph};
use serde_json::json;
use support_http::{call, wait_until};

/// A loopback service whose `/slow` answers after 4 s, counting calls.
async fn slow_service() -> (String, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let app = axum::Router::new().route(
        "/slow",
        axum::routing::get(move || {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(4)).await;
                axum::Json(json!({ "ok": true }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), calls)
}

fn redis_url() -> String {
    std::env::var("AOS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn serve(target: &DatabaseTarget, node: &str, stream: &str) -> tokio::process::Child {
    serve_as(target, node, stream, "all")
}

fn serve_as(target: &DatabaseTarget, node: &str, stream: &str, role: &str) -> tokio::process::Child {
    spawn(target, node, stream, role).0
}

/// The signing secret every node of a test cluster shares, so a token works on any node.
const CLUSTER_JWT_SECRET: &str = "a test cluster's shared signing secret, 32+ bytes";

/// `automateos serve` as `node` in `role` on a port the OS picks; returns the process and the
/// `host:port` it reports once it listens (read from its log, so no other process's port is ever
/// mistaken for this node's).
async fn spawn_node(target: &DatabaseTarget, node: &str, stream: &str, role: &str) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let (mut child, _) = spawn_with(target, node, stream, role, "127.0.0.1:0", Stdio::piped());
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("automateos serving")
                && let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line)
                && let Some(addr) = entry["addr"].as_str()
            {
                return Some(addr.to_owned());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("the node reports its address");
    // keep draining its log so the pipe never fills
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

/// `automateos serve` as `node` in `role` on a port chosen here; returns the process and `host:port`.
fn spawn(target: &DatabaseTarget, node: &str, stream: &str, role: &str) -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    spawn_with(target, node, stream, role, &format!("127.0.0.1:{port}"), Stdio::null())
}

fn spawn_with(
    target: &DatabaseTarget,
    node: &str,
    stream: &str,
    role: &str,
    addr: &str,
    log: Stdio,
) -> (tokio::process::Child, String) {
    let DatabaseTarget::Postgres(url) = target else { panic!("the cluster test runs on Postgres") };
    let data_dir = std::env::temp_dir().join(format!("aos-cluster-{}", uuid::Uuid::new_v4().simple()));
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_automateos"))
        .args(["serve", "--addr", addr, "--data-dir"])
        .arg(&data_dir)
        .args(["--node-id", node, "--step-stream", stream, "--step-workers", "2", "--role", role])
        .args(["--node-stale-after-ms", "1500", "--step-claim-timeout-ms", "2000"])
        .env("DATABASE_URL", url)
        .env("REDIS_URL", redis_url())
        .env("AOS_EGRESS_ALLOW", "127.0.0.1")
        .env("AOS_JWT_SECRET", CLUSTER_JWT_SECRET)
        .env_remove("AOS_MASTER_KEY")
        .env("AOS_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    (child, addr.to_owned())
}

async fn queued_run(store: &Store, service: &str) -> RunId {
    let transform = |n: &str| Node::new(n, "data.transform").with_config("fields", json!({ "n": "{{ trigger.n }}" }));
    let graph = WorkflowGraph::new()
        .with_node(Node::new("start", "trigger.manual"))
        .with_node(transform("a"))
        .with_node(
            Node::new("slow", "http.request")
                .with_config("method", "GET")
                .with_config("url", format!("{service}/slow")),
        )
        .with_node(transform("c"))
        .with_node(transform("d"))
        .with_edge(Edge::new("e1", "start", "a"))
        .with_edge(Edge::new("e2", "a", "slow"))
        .with_edge(Edge::new("e3", "slow", "c"))
        .with_edge(Edge::new("e4", "c", "d"));
    let published = testing::published_workflow(store, &graph).await;
    testing::queued_run(store, published, json!({ "n": 7 })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_sigkill_of_its_node_with_two_nodes_on_postgres_and_redis() {
    let fixture = TestStore::new(Backend::Postgres).await;
    let store = fixture.store.clone();
    let (service, calls) = slow_service().await;
    let run = queued_run(&store, &service).await;
    let stream = format!("aos:test:steps:{}", uuid::Uuid::new_v4().simple());

    let mut node_a = serve(&fixture.target, "node-a", &stream);
    let in_flight = wait_until(Duration::from_secs(30), || {
        let store = store.clone();
        async move {
            store
                .runs()
                .steps(run)
                .await
                .unwrap()
                .iter()
                .any(|s| s.node_id == "slow" && s.status == StepStatus::Running)
        }
    })
    .await;
    assert!(in_flight, "node-a runs the slow step");
    assert_eq!(store.nodes().owner_of(run).await.unwrap().as_deref(), Some("node-a"), "node-a drives the run");
    let mut node_b = serve(&fixture.target, "node-b", &stream);
    let both = wait_until(Duration::from_secs(30), || {
        let store = store.clone();
        async move { store.nodes().live(Duration::from_secs(5)).await.unwrap().len() == 2 }
    })
    .await;
    assert!(both, "node-b is up beside node-a");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the slow step is still in flight on node-a");
    node_a.start_kill().unwrap(); // SIGKILL
    node_a.wait().await.unwrap();
    assert_eq!(store.runs().get(run).await.unwrap().status, RunStatus::Running, "killed mid-run");

    let finished = wait_until(Duration::from_secs(60), || {
        let store = store.clone();
        async move { store.runs().get(run).await.unwrap().status == RunStatus::Succeeded }
    })
    .await;
    let steps = store.runs().steps(run).await.unwrap();
    assert!(finished, "node-b finished the run: {steps:?}");
    assert_eq!(store.nodes().owner_of(run).await.unwrap().as_deref(), Some("node-b"), "node-b adopted the run");
    node_b.start_kill().unwrap();
    node_b.wait().await.unwrap();

    for node in ["start", "a", "slow", "c", "d"] {
        let succeeded = steps.iter().filter(|s| s.node_id == node && s.status == StepStatus::Succeeded).count();
        assert_eq!(succeeded, 1, "{node} recorded once: {steps:?}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2, "node-b's worker took over the dead node's step job");
    let slow: Vec<_> = steps.iter().filter(|s| s.node_id == "slow").map(|s| (s.attempt, s.status)).collect();
    assert_eq!(slow, [(1, StepStatus::Succeeded)], "the same attempt ran again and was recorded once");
    let org = store.runs().get(run).await.unwrap().org_id;
    assert_eq!(store.billing().run_usage(org, run).await.unwrap().steps, 5, "each step billed once, with the run");
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_and_worker_roles_split_the_work() {
    let fixture = TestStore::new(Backend::Postgres).await;
    let store = fixture.store.clone();
    let stream = format!("aos:test:steps:{}", uuid::Uuid::new_v4().simple());
    let (service, calls) = slow_service().await;
    // the trigger and the transform are pure: the gateway's run actor runs them; the HTTP call is
    // a step with side effects, for a worker
    let graph = WorkflowGraph::new()
        .with_node(Node::new("start", "trigger.manual"))
        .with_node(Node::new("a", "data.transform").with_config("fields", json!({ "n": "{{ trigger.n }}" })))
        .with_node(
            Node::new("fetch", "http.request")
                .with_config("method", "GET")
                .with_config("url", format!("{service}/slow")),
        )
        .with_edge(Edge::new("e1", "start", "a"))
        .with_edge(Edge::new("e2", "a", "fetch"));
    let published = testing::published_workflow(&store, &graph).await;
    let run = testing::queued_run(&store, published, json!({ "n": 1 })).await;

    let mut gateway = serve_as(&fixture.target, "gw-1", &stream, "gateway");
    let owned = wait_until(Duration::from_secs(30), || {
        let store = store.clone();
        async move { store.nodes().owner_of(run).await.unwrap().as_deref() == Some("gw-1") }
    })
    .await;
    assert!(owned, "the gateway node drives the run");
    let queued = wait_until(Duration::from_secs(30), || {
        let store = store.clone();
        async move { store.runs().logs(run, 0, Some(10)).await.unwrap().iter().any(|l| l.event == "step_queued") }
    })
    .await;
    assert!(queued, "the gateway queued the HTTP step");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let steps = store.runs().steps(run).await.unwrap();
    let ran: Vec<&str> = steps.iter().map(|s| s.node_id.as_str()).collect();
    assert_eq!(ran, ["start", "a"], "the run actor ran the pure steps; no worker yet for the HTTP call: {steps:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let mut worker = serve_as(&fixture.target, "wk-1", &stream, "worker");
    let finished = wait_until(Duration::from_secs(30), || {
        let store = store.clone();
        async move { store.runs().get(run).await.unwrap().status == RunStatus::Succeeded }
    })
    .await;
    assert!(finished, "the worker node executed the HTTP step");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let started: Vec<(String, String)> = store
        .runs()
        .logs(run, 0, Some(100))
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.event == "step_started")
        .map(|l| (l.node_id.unwrap_or_default(), l.data["worker"].as_str().unwrap_or_default().to_owned()))
        .collect();
    let fetch: Vec<&(String, String)> = started.iter().filter(|(node, _)| node == "fetch").collect();
    assert!(fetch.len() == 1 && fetch[0].1.starts_with("wk-1/"), "the worker started the HTTP step: {started:?}");
    gateway.start_kill().unwrap();
    worker.start_kill().unwrap();
    let _ = tokio::join!(gateway.wait(), worker.wait());

    // a split role without Redis refuses to start, saying why
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_automateos"))
        .args(["serve", "--addr", "127.0.0.1:0", "--role", "gateway", "--data-dir"])
        .arg(std::env::temp_dir().join(format!("aos-role-{}", uuid::Uuid::new_v4().simple())))
        .env_remove("REDIS_URL")
        .env_remove("DATABASE_URL")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("needs REDIS_URL"), "{said}");
    fixture.cleanup().await;
}

async fn healthy(host: &str) -> bool {
    wait_until(Duration::from_secs(60), || async move {
        support_http::http_get(format!("http://{host}/readyz")).await.is_ok_and(|r| r.status().is_success())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editors_on_two_processes_converge_and_events_cross_nodes() {
    let fixture = TestStore::new(Backend::Postgres).await;
    let stream = format!("aos:test:steps:{}", uuid::Uuid::new_v4().simple());
    let (mut node_a, a) = spawn_node(&fixture.target, "docs-a", &stream, "all").await;
    let (mut node_b, b) = spawn_node(&fixture.target, "docs-b", &stream, "all").await;
    assert!(healthy(&a).await && healthy(&b).await, "both nodes are ready");
    let (base_a, base_b) = (format!("http://{a}"), format!("http://{b}"));

    let email = format!("alice-{}@example.test", uuid::Uuid::new_v4().simple());
    let signup =
        json!({ "email": email, "password": "a long test passphrase", "name": "Alice", "org_name": "Two nodes" });
    let (status, session) = call(&base_a, "POST", "/api/auth/signup", None, Some(signup)).await;
    assert_eq!(status, 201, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();
    let org = session["org_id"].as_str().unwrap();
    let (status, created) =
        call(&base_b, "POST", &format!("/api/orgs/{org}/workflows"), Some(&token), Some(json!({ "name": "Shared" })))
            .await;
    assert_eq!(status, 201, "node-b accepts node-a's token: {created}");
    let id = created["id"].as_str().unwrap().to_owned();

    let doc_url = |host: &str| format!("ws://{host}/ws/docs/{id}?token={token}");
    let alice = yjs::YClient::connect(&doc_url(&a)).await;
    let bob = yjs::YClient::connect(&doc_url(&b)).await;
    yjs::eventually("both editors synced", || alice.synced() && bob.synced()).await;
    for i in 0..5 {
        alice.add_node(&Node::new(format!("a{i}"), "logic.delay"));
        bob.add_node(&Node::new(format!("b{i}"), "logic.delay"));
    }
    yjs::eventually("editors on the two processes converge on all ten nodes", || {
        let (on_a, on_b) = (alice.graph(), bob.graph());
        on_a == on_b && on_a.nodes.len() == 10
    })
    .await;
    let late = yjs::YClient::connect(&doc_url(&a)).await;
    yjs::eventually("a late joiner on node-a gets the whole doc", || late.synced() && late.graph() == bob.graph())
        .await;
    let read = wait_until(Duration::from_secs(10), || {
        let (base_b, id, token) = (base_b.clone(), id.clone(), token.clone());
        async move {
            let (_, workflow) = call(&base_b, "GET", &format!("/api/workflows/{id}"), Some(&token), None).await;
            workflow["graph"]["nodes"].as_array().is_some_and(|nodes| nodes.len() == 10)
        }
    })
    .await;
    assert!(read, "node-b's API reads the doc both nodes edited");

    // a run started through node-a streams its events to a subscriber on node-b
    let graph = json!({ "nodes": [
        { "id": "start", "kind": "trigger.manual", "label": "", "position": { "x": 0.0, "y": 0.0 }, "config": {} }
    ], "edges": [] });
    let (status, _) = call(&base_a, "PUT", &format!("/api/workflows/{id}/graph"), Some(&token), Some(graph)).await;
    assert!(status < 300);
    let (status, published) = call(&base_a, "POST", &format!("/api/workflows/{id}/publish"), Some(&token), None).await;
    assert_eq!(status, 201, "{published}");
    let events_url = format!("ws://{b}/ws/events?workflow={id}&after=0&token={token}");
    let (mut events, _) = tokio_tungstenite::connect_async(events_url).await.expect("events on node-b");
    let (status, run) =
        call(&base_a, "POST", &format!("/api/workflows/{id}/runs"), Some(&token), Some(json!({ "input": {} }))).await;
    assert_eq!(status, 201, "{run}");
    let finished = tokio::time::timeout(Duration::from_secs(30), async {
        use futures_util::StreamExt;
        while let Some(Ok(message)) = events.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message
                && text.contains("run_finished")
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(finished, Ok(true), "node-b's subscriber saw the run node-a started finish");

    // a test event sent to node-a's test URL reaches a studio listening through node-b
    let (status, source) =
        call(&base_a, "POST", &format!("/api/workflows/{id}/webhooks"), Some(&token), Some(json!({}))).await;
    assert_eq!(status, 201, "{source}");
    let (source_id, hook) = (source["source_id"].as_str().unwrap().to_owned(), source["token"].as_str().unwrap());
    let listener = {
        let (base_b, token) = (base_b.clone(), token.clone());
        tokio::spawn(async move {
            call(&base_b, "GET", &format!("/api/webhooks/{source_id}/test-event?wait=20"), Some(&token), None).await
        })
    };
    let taken = wait_until(Duration::from_secs(15), || {
        let base_a = base_a.clone();
        async move {
            let body = json!({ "from": "node-a" });
            call(&base_a, "POST", &format!("/hooks/{hook}/test"), None, Some(body)).await.0 == 200
        }
    })
    .await;
    assert!(taken, "node-a handed the test delivery to a listener");
    let (status, heard) = listener.await.unwrap();
    assert_eq!(status, 200, "{heard}");
    assert_eq!(heard["event"]["body"], json!({ "from": "node-a" }), "node-b's listener got it: {heard}");

    node_a.start_kill().unwrap();
    node_b.start_kill().unwrap();
    let _ = tokio::join!(node_a.wait(), node_b.wait());
    fixture.cleanup().await;
}
