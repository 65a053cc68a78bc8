//! Every metric of the catalog is recorded where its event happens: the real `automateos serve`
//! (embedded) is put to real work — webhook runs through the API's URL, a step that fails once
//! and is retried, a run that exhausts its tries and is dead-lettered, a co-editor on the doc
//! socket, an admin restarting an actor — and then `/metrics` is scraped: each family of
//! `aos_ops::metrics::CATALOG` has a sample, with the values that work implies.

#[path = "support/prometheus.rs"]
mod prometheus;
#[path = "support/http.rs"]
mod support_http;
#[path = "support/process.rs"]
mod support_process;
#[path = "../../realtime/tests/support/mod.rs"]
mod yjs;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aos_schema::Node;
use axum::http::StatusCode;
use serde_json::{Value, json};
use support_http::{call, http, wait_until};
use support_process::Process;
use yjs::{YClient, eventually};

const ADMIN: &str = "metrics-admin@automateos.test";

/// A loopback service: `/flaky` answers 503 on its first call and 200 after, `/down` always 503.
async fn service() -> String {
    let calls = Arc::new(AtomicU32::new(0));
    let app = axum::Router::new()
        .route(
            "/flaky",
            axum::routing::get(|axum::extract::State(calls): axum::extract::State<Arc<AtomicU32>>| async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }
            }),
        )
        .route("/down", axum::routing::get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .with_state(calls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _stopped = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// A webhook → http.request workflow calling `url` with `tries` tries in all; published, with the
/// webhook URL its publish made.
async fn hooked(base: &str, token: &str, org: &str, url: &str, tries: u32) -> (String, String) {
    let (status, created) =
        call(base, "POST", &format!("/api/orgs/{org}/workflows"), Some(token), Some(json!({ "name": "m" }))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let graph = json!({ "nodes": [
        { "id": "hook", "kind": "trigger.webhook", "label": "Hook", "position": { "x": 0.0, "y": 0.0 }, "config": {} },
        { "id": "fetch", "kind": "http.request", "label": "Fetch", "position": { "x": 200.0, "y": 0.0 },
          "config": { "method": "GET", "url": url, "max_attempts": tries, "backoff_initial_ms": 10, "backoff_max_ms": 20 } }
    ], "edges": [ { "id": "e1", "from": "hook", "from_port": "out", "to": "fetch", "to_port": "in" } ] });
    let (status, body) = call(base, "PUT", &format!("/api/workflows/{id}/graph"), Some(token), Some(graph)).await;
    assert!(status < 300, "{body}");
    let (status, body) =
        call(base, "POST", &format!("/api/workflows/{id}/publish"), Some(token), Some(json!({}))).await;
    assert_eq!(status, 201, "{body}");
    let (_, sources) = call(base, "GET", &format!("/api/workflows/{id}/webhooks"), Some(token), None).await;
    let hook = sources[0]["url"].as_str().expect("the publish made the URL").to_owned();
    (id, hook)
}

async fn finished(base: &str, token: &str, run: &str) -> Value {
    let done = wait_until(Duration::from_secs(30), || async {
        let (_, detail) = call(base, "GET", &format!("/api/runs/{run}"), Some(token), None).await;
        matches!(detail["status"].as_str(), Some("succeeded" | "failed" | "dead_lettered" | "cancelled"))
    })
    .await;
    assert!(done, "run {run} finished");
    call(base, "GET", &format!("/api/runs/{run}"), Some(token), None).await.1
}

#[tokio::test]
async fn every_catalog_metric_has_a_sample_after_real_work() {
    let server = Process::start(&["serve"], &[("AOS_ADMIN_EMAILS", ADMIN), ("AOS_EGRESS_ALLOW", "127.0.0.1")]).await;
    let base = server.url.clone();
    let (status, admin) = call(
        &base,
        "POST",
        "/api/auth/signup",
        None,
        Some(json!({ "email": ADMIN, "password": "a long test passphrase 42", "name": "Admin", "org_name": "Ops" })),
    )
    .await;
    assert_eq!(status, 201, "{admin}");
    let (token, org) = (admin["token"].as_str().unwrap(), admin["org_id"].as_str().unwrap());
    let service = service().await;

    // a run whose step fails once and is retried, and one that exhausts its tries
    let (flaky_wf, flaky) = hooked(&base, token, org, &format!("{service}/flaky"), 3).await;
    let (_, down) = hooked(&base, token, org, &format!("{service}/down"), 2).await;
    let client = http();
    let mut runs = Vec::new();
    for url in [&flaky, &down] {
        let answer = client.post(url).json(&json!({ "n": 1 })).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 202);
        runs.push(answer.json::<Value>().await.unwrap()["run_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(finished(&base, token, &runs[0]).await["status"], "succeeded");
    assert_eq!(finished(&base, token, &runs[1]).await["status"], "dead_lettered");

    // a co-editor on the doc socket edits the workflow
    let editor = YClient::connect(&format!("{}/ws/docs/{flaky_wf}?token={token}", base.replace("http", "ws"))).await;
    eventually("the editor synced", || editor.synced() && editor.has_skeleton()).await;
    editor.add_node(&Node::new("note", "data.transform"));

    // an admin restarts an actor: a webhook source (its gate is read again)
    let (_, tree) = call(&base, "GET", "/api/admin/actors", Some(token), None).await;
    let source = find_kind(&tree, "webhook_source").expect("a webhook source actor is live");
    let (status, body) = call(&base, "POST", &format!("/api/admin/actors/{source}/restart"), Some(token), None).await;
    assert!(status < 300, "{body}");

    // the gauges read at the heartbeat (every 5 s) show up within two of them
    let scraped = std::sync::Mutex::new(String::new());
    let complete = wait_until(Duration::from_secs(15), || {
        let request = client.get(format!("{base}/metrics"));
        let scraped = &scraped;
        async move {
            let text = request.send().await.unwrap().text().await.unwrap();
            let parsed = prometheus::parse(&text).unwrap();
            *scraped.lock().unwrap() = text;
            aos_ops::metrics::CATALOG
                .iter()
                .all(|metric| parsed.families.get(metric.name).is_some_and(|f| !f.samples.is_empty()))
        }
    })
    .await;
    let text = scraped.into_inner().unwrap();
    drop(editor);
    server.stop_and_clean().await;
    let metrics = prometheus::parse(&text).unwrap();
    let missing: Vec<&str> = aos_ops::metrics::CATALOG
        .iter()
        .map(|metric| metric.name)
        .filter(|name| metrics.families.get(*name).is_none_or(|f| f.samples.is_empty()))
        .collect();
    assert!(complete && missing.is_empty(), "families without a sample: {missing:?}\n{text}");

    let value = |name: &str, labels: &[(&str, &str)]| metrics.value(name, labels).unwrap_or(0.0);
    assert_eq!(value("aos_runs_started_total", &[("trigger", "webhook")]), 2.0);
    assert_eq!(value("aos_runs_finished_total", &[("status", "succeeded")]), 1.0);
    assert_eq!(value("aos_runs_finished_total", &[("status", "dead_lettered")]), 1.0);
    assert_eq!(value("aos_runs_active", &[]), 0.0, "both runs' actors ended");
    assert_eq!(value("aos_runs_waiting", &[]), 0.0, "no run waits for a start slot");
    assert_eq!(value("aos_step_retries_total", &[("kind", "http.request")]), 2.0, "one retry in each run");
    assert_eq!(value("aos_steps_total", &[("kind", "http.request"), ("outcome", "retryable")]), 3.0);
    assert_eq!(value("aos_steps_total", &[("kind", "http.request"), ("outcome", "succeeded")]), 1.0);
    assert_eq!(value("aos_steps_total", &[("kind", "trigger.webhook"), ("outcome", "succeeded")]), 2.0);
    assert_eq!(value("aos_dlq_entries", &[]), 1.0);
    assert!(value("aos_step_duration_seconds_count", &[("kind", "http.request")]) >= 4.0);
    assert!(value("aos_queue_lag_seconds_count", &[]) >= 6.0, "every step's wait is measured");
    assert_eq!(value("aos_queue_pending_steps", &[]), 0.0);
    for kind in ["admissions", "records"] {
        let batches = value("aos_write_batch_jobs_count", &[("kind", kind)]);
        assert!(value("aos_write_batch_jobs_sum", &[("kind", kind)]) >= 2.0, "two runs' {kind}");
        assert!(batches >= 1.0 && value("aos_write_batch_seconds_count", &[("kind", kind)]) == batches, "{kind} timed");
    }
    assert!(value("aos_doc_rooms_active", &[]) >= 1.0, "the edited workflows' rooms");
    assert_eq!(value("aos_ws_connections_active", &[("channel", "docs")]), 1.0, "the editor's socket");
    assert_eq!(value("aos_actor_restarts_total", &[("kind", "webhook_source")]), 1.0);
}

/// The registry id of the first live actor of `kind` in the admin tree.
fn find_kind(nodes: &Value, kind: &str) -> Option<String> {
    nodes.as_array()?.iter().find_map(|node| {
        if node["kind"] == kind { node["id"].as_str().map(str::to_owned) } else { find_kind(&node["children"], kind) }
    })
}
