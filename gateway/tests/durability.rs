//! A run survives the loss of the process running it: `automateos serve` is SIGKILLed mid-run
//! (inside a delay), started again on the same database, resumes the run from what was recorded
//! and finishes it; every step is recorded and billed exactly once. Live co-editing survives it
//! too: SIGKILLed while editors write, the restarted process has every edit another editor had
//! received. On SQLite and on Postgres.

#[path = "support/http.rs"]
mod support_http;
#[path = "../../realtime/tests/support/mod.rs"]
mod yjs;

use std::process::Stdio;
use std::time::Duration;

use aos_persistence::testing::{self, TestStore};
use aos_persistence::{Backend, DatabaseTarget, Store};
use aos_schema::{Edge, Node, RunId, RunStatus, StepStatus, WorkflowGraph};
use serde_json::json;
use support_http::wait_until;
use yjs::{YClient, eventually};

async fn queued_run(store: &Store) -> RunId {
    let graph = WorkflowGraph::new()
        .with_node(Node::new("start", "trigger.manual"))
        .with_node(Node::new("wait", "logic.delay").with_config("seconds", 2))
        .with_node(Node::new("shape", "data.transform").with_config("fields", json!({ "n": "{{ trigger.n }}" })))
        .with_edge(Edge::new("e1", "start", "wait"))
        .with_edge(Edge::new("e2", "wait", "shape"));
    let published = testing::published_workflow(store, &graph).await;
    testing::queued_run(store, published, json!({ "n": 42 })).await
}

fn serve(target: &DatabaseTarget, data_dir: &std::path::Path) -> tokio::process::Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    serve_on(target, data_dir, port)
}

fn serve_on(target: &DatabaseTarget, data_dir: &std::path::Path, port: u16) -> tokio::process::Child {
    let url = match target {
        DatabaseTarget::SqliteFile(path) => format!("sqlite:{}", path.display()),
        DatabaseTarget::Postgres(url) => url.clone(),
    };
    tokio::process::Command::new(env!("CARGO_BIN_EXE_automateos"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        // the same node id across the restart: the new process takes the run back at once
        .args(["--node-id", "durable-node"])
        .env("DATABASE_URL", url)
        .env_remove("REDIS_URL")
        .env_remove("AOS_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn step_status(store: &Store, run: RunId, node: &str) -> Option<StepStatus> {
    store.runs().steps(run).await.unwrap().into_iter().filter(|s| s.node_id == node).map(|s| s.status).next_back()
}

async fn a_run_survives_sigkill(backend: Backend) {
    let fixture = TestStore::new(backend).await;
    let store = fixture.store.clone();
    let run = queued_run(&store).await;
    let data_dir = std::env::temp_dir().join(format!("aos-durable-{}", uuid::Uuid::new_v4().simple()));

    let mut first = serve(&fixture.target, &data_dir);
    let waiting = wait_until(Duration::from_secs(30), || {
        let store = store.clone();
        async move { step_status(&store, run, "wait").await == Some(StepStatus::Succeeded) }
    })
    .await;
    assert!(waiting, "the first process reached the delay");
    first.start_kill().unwrap(); // SIGKILL
    first.wait().await.unwrap();
    assert_eq!(store.runs().get(run).await.unwrap().status, RunStatus::Running, "killed mid-run");
    assert_eq!(step_status(&store, run, "shape").await, None, "the step after the delay had not run");

    let mut second = serve(&fixture.target, &data_dir);
    let finished = wait_until(Duration::from_secs(30), || {
        let store = store.clone();
        async move { store.runs().get(run).await.unwrap().status == RunStatus::Succeeded }
    })
    .await;
    assert!(finished, "the restarted process finished the run");
    second.start_kill().unwrap();
    second.wait().await.unwrap();

    let steps = store.runs().steps(run).await.unwrap();
    for node in ["start", "wait", "shape"] {
        let succeeded = steps.iter().filter(|s| s.node_id == node && s.status == StepStatus::Succeeded).count();
        assert_eq!(succeeded, 1, "{node} recorded once: {steps:?}");
    }
    let waited = steps.iter().find(|s| s.node_id == "wait" && s.status == StepStatus::Succeeded).unwrap();
    let shaped = steps.iter().find(|s| s.node_id == "shape").unwrap();
    let gap = shaped.started_at.unwrap().as_offset() - waited.finished_at.unwrap().as_offset();
    assert!(gap >= time::Duration::seconds(2), "the restart did not shorten the delay ({gap})");
    let org = store.runs().get(run).await.unwrap().org_id;
    assert_eq!(store.billing().run_usage(org, run).await.unwrap().steps, 3, "billed once per step");
    fixture.cleanup().await;
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_sigkill_on_sqlite() {
    a_run_survives_sigkill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_sigkill_on_postgres() {
    a_run_survives_sigkill(Backend::Postgres).await;
}

/// Editors add nodes as fast as the room takes them, asking to be told which of their frames
/// are saved, while the process is SIGKILLed. Started again on the same database, a new editor's
/// doc holds every node whose frame was acknowledged.
async fn acknowledged_edits_survive_sigkill(backend: Backend) {
    let fixture = TestStore::new(backend).await;
    let data_dir = std::env::temp_dir().join(format!("aos-durable-{}", uuid::Uuid::new_v4().simple()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let healthy = || async { support_http::call(&base, "GET", "/healthz", None, None).await.0 == 200 };
    let mut first = serve_on(&fixture.target, &data_dir, port);
    assert!(wait_until(Duration::from_secs(30), healthy).await, "the server started");
    let email = format!("editor-{}@example.test", uuid::Uuid::new_v4().simple());
    let signup = json!({ "email": email, "password": "correct horse battery", "name": "Ed", "org_name": "Ed org" });
    let (status, signed_up) = support_http::call(&base, "POST", "/api/auth/signup", None, Some(signup)).await;
    assert_eq!(status, 201, "{signed_up}");
    let (token, org) = (signed_up["token"].as_str().unwrap(), signed_up["org_id"].as_str().unwrap());
    let path = format!("/api/orgs/{org}/workflows");
    let (status, created) =
        support_http::call(&base, "POST", &path, Some(token), Some(json!({ "name": "Live" }))).await;
    assert_eq!(status, 201, "{created}");
    let doc_url = format!("ws://127.0.0.1:{port}/ws/docs/{}?token={token}&acks=true", created["id"].as_str().unwrap());

    let mut writers = Vec::new();
    for _ in 0..3 {
        let writer = YClient::connect(&doc_url).await;
        eventually("synced", || writer.synced() && writer.has_skeleton()).await;
        writers.push(writer);
    }
    let writers = std::sync::Arc::new(writers);
    // (writer, node id, the frame it went in)
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writing = {
        let (writers, sent) = (std::sync::Arc::clone(&writers), std::sync::Arc::clone(&sent));
        tokio::spawn(async move {
            for k in 0.. {
                for (w, writer) in writers.iter().enumerate() {
                    let id = format!("w{w}-{k}");
                    let frame = writer.add_node(&Node::new(id.as_str(), "logic.delay"));
                    sent.lock().unwrap().push((w, id, frame));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    eventually("edits were acknowledged", || writers.iter().all(|w| w.saved() >= 20)).await;
    first.start_kill().unwrap(); // SIGKILL, mid-stream
    first.wait().await.unwrap();
    writing.abort();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let saved: Vec<u64> = writers.iter().map(YClient::saved).collect();
    let sent = sent.lock().unwrap().clone();
    let acknowledged: Vec<&String> =
        sent.iter().filter(|(w, _, frame)| *frame <= saved[*w]).map(|(_, id, _)| id).collect();
    assert!(acknowledged.len() < sent.len(), "the kill came while edits were in flight");

    let mut second = serve_on(&fixture.target, &data_dir, port);
    assert!(wait_until(Duration::from_secs(30), healthy).await, "the server started again");
    let reader = YClient::connect(&doc_url).await;
    eventually("the reader synced", || reader.synced() && reader.has_skeleton()).await;
    let restored = reader.graph();
    let missing: Vec<&&String> = acknowledged.iter().filter(|id| restored.node(id.as_str()).is_none()).collect();
    assert!(missing.is_empty(), "{} of {} acknowledged edits lost: {missing:?}", missing.len(), acknowledged.len());
    drop(reader);
    second.start_kill().unwrap();
    second.wait().await.unwrap();
    fixture.cleanup().await;
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_edits_survive_sigkill_on_sqlite() {
    acknowledged_edits_survive_sigkill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_edits_survive_sigkill_on_postgres() {
    acknowledged_edits_survive_sigkill(Backend::Postgres).await;
}
