//! A standard Yjs client (yjs + the y-websocket provider, in node) edits the same room as a Rust
//! yrs client; both must end with the same doc. The npm packages are pinned in `tests/js`
//! (`npm ci` runs when `node_modules` is missing).

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use aos_persistence::Backend;
use aos_persistence::testing::TestStore;
use aos_schema::{Node, Position, WorkflowGraph, WorkflowId};
use serde_json::Value;
use support::{TestServer, YClient, eventually};

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("js")
}

async fn npm_ci_once() {
    let dir = js_dir();
    if dir.join("node_modules").join("y-websocket").exists() {
        return;
    }
    let status = tokio::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .await
        .expect("npm runs (node and npm must be installed)");
    assert!(status.success(), "npm ci failed in {}", dir.display());
}

/// The `workflow` map as the Yjs client printed it, read as a graph.
fn graph_from_yjs_json(value: &Value) -> WorkflowGraph {
    let mut graph = WorkflowGraph::new();
    let nodes = value["nodes"].as_object().expect("nodes is a map");
    for (id, node) in nodes {
        let mut out = Node::new(id.as_str(), node["kind"].as_str().unwrap_or_default());
        out.label = node["label"].as_str().unwrap_or_default().to_owned();
        out.position = Position { x: node["x"].as_f64().unwrap_or(0.0), y: node["y"].as_f64().unwrap_or(0.0) };
        out.config = node["config"].as_object().cloned().unwrap_or_default();
        graph = graph.with_node(out);
    }
    assert!(value["edges"].as_object().is_some_and(|e| e.is_empty()));
    graph.sorted()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yjs_client_and_a_rust_client_converge() {
    npm_ci_once().await;
    let fixture = TestStore::new(Backend::Sqlite).await;
    let server = TestServer::start(fixture.store.clone()).await;
    let workflow = WorkflowId::new();

    let rust = YClient::connect(&server.url(workflow, "alice")).await;
    eventually("the rust client synced", || rust.synced()).await;
    rust.write_graph(
        &WorkflowGraph::new().with_node(Node::new("rust", "http.request").with_config("url", "https://example.com")),
    );

    let mut yjs = tokio::process::Command::new("node")
        .arg("client.mjs")
        .arg(format!("ws://{}/ws/docs", server.addr))
        .arg(workflow.to_string())
        .arg("bob")
        .arg("yjs")
        .arg("rust,yjs,rust2")
        .current_dir(js_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");

    // the Rust client answers the Yjs client's edits with one of its own
    eventually("the rust client sees the yjs node and its config edit", || {
        let graph = rust.graph();
        graph.node("yjs").is_some()
            && graph.node("rust").is_some_and(|n| n.config.get("touched_by_yjs") == Some(&Value::Bool(true)))
    })
    .await;
    let yjs_node = rust.graph().node("yjs").cloned().unwrap();
    assert_eq!((yjs_node.kind.as_str(), yjs_node.label.as_str()), ("logic.delay", "From Yjs"));
    assert_eq!((yjs_node.position.x, yjs_node.position.y), (120.0, 40.5));
    assert_eq!(yjs_node.config.get("seconds"), Some(&serde_json::json!(2)));
    rust.add_node(&Node::new("rust2", "logic.delay").with_label("After Yjs"));

    let output = tokio::time::timeout(Duration::from_secs(30), async {
        let mut stdout = yjs.stdout.take().unwrap();
        let mut stderr = yjs.stderr.take().unwrap();
        let mut out = String::new();
        let mut err = String::new();
        use tokio::io::AsyncReadExt;
        let _ = stdout.read_to_string(&mut out).await;
        let _ = stderr.read_to_string(&mut err).await;
        let status = yjs.wait().await.unwrap();
        (status, out, err)
    })
    .await
    .expect("the yjs client finishes");
    let (status, out, err) = output;
    assert!(status.success(), "yjs client failed: {err}");
    let printed: Value = serde_json::from_str(out.trim()).expect("the yjs client prints its doc as JSON");
    let yjs_graph = graph_from_yjs_json(&printed);

    eventually("the rust client converges with the yjs client", || rust.graph() == yjs_graph).await;
    assert_eq!(server.rooms.graph(workflow).await.unwrap().graph, yjs_graph);
    assert_eq!(yjs_graph.nodes.len(), 3);
    server.stop().await;
    fixture.cleanup().await;
}
