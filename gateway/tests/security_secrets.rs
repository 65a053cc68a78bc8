//! Secrets never leak, end to end through a real `automateos serve` process: a workflow uses a
//! stored secret in a request header, a body and a URL (its service receives the real value), an
//! expression copies it into a step output and into a map key, and another workflow fails with it
//! in the failing URL. Then every place an operator or tenant can read is searched for the
//! plaintext: the process's JSON log lines (at `debug`), every OTLP export a loopback collector
//! received, the API (run details with step outputs and error messages, run logs, the event
//! stream, the export file, versions, secrets list, audit, dead-letter queue) and the raw bytes of
//! the data dir's files (SQLite database, WAL). Access, refresh and webhook tokens are held to the
//! same rule in logs and traces.

#[path = "support/http.rs"]
mod support_http;
#[path = "support/process.rs"]
mod support_process;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{any, post};
use futures_util::StreamExt;
use serde_json::{Value, json};
use support_http::{http, wait_until};
use support_process::Process;

/// The secret's value: it must appear nowhere but in what the service received.
const PLAINTEXT: &str = "tok-Pl41nt3xt-7c2e9f";

/// What the loopback service received: (path and query, headers, body) per request.
type Seen = Arc<Mutex<Vec<String>>>;

async fn service() -> (SocketAddr, Seen) {
    async fn echo(State(seen): State<Seen>, uri: Uri, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
        let body_text = String::from_utf8_lossy(&body).into_owned();
        let header_text = format!("{headers:?}");
        seen.lock().unwrap().push(format!("{uri} {header_text} {body_text}"));
        let echoed = json!({ "uri": uri.to_string(), "authorization": headers.get("authorization").and_then(|v| v.to_str().ok()), "body": body_text });
        if uri.path() == "/missing" {
            return (StatusCode::NOT_FOUND, axum::Json(echoed));
        }
        (StatusCode::OK, axum::Json(echoed))
    }
    let seen = Seen::default();
    let app = Router::new().route("/{*path}", any(echo)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

/// An OTLP/HTTP receiver that keeps every export's raw bytes.
async fn collector() -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let exports = Arc::new(Mutex::new(Vec::new()));
    async fn receive(State(exports): State<Arc<Mutex<Vec<Vec<u8>>>>>, body: Bytes) -> impl IntoResponse {
        exports.lock().unwrap().push(body.to_vec());
        ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
    }
    let app = Router::new().route("/v1/traces", post(receive)).with_state(exports.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, exports)
}

/// A JSON client of one server and one account.
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
        let mut request =
            self.http.request(method.parse().unwrap(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn json(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, text) = self.call(method, path, body).await;
        assert!(status < 300, "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Creates, fills and publishes a workflow; returns its id.
    async fn workflow(&self, org: &str, name: &str, graph: Value) -> String {
        let created = self.json("POST", &format!("/api/orgs/{org}/workflows"), Some(json!({ "name": name }))).await;
        let id = created["id"].as_str().unwrap().to_owned();
        self.json("PUT", &format!("/api/workflows/{id}/graph"), Some(graph)).await;
        self.json("POST", &format!("/api/workflows/{id}/publish"), None).await;
        id
    }

    /// Starts a run and waits (bounded) for it to finish; returns its detail.
    async fn run_to_end(&self, workflow: &str) -> (String, Value) {
        let run = self.json("POST", &format!("/api/workflows/{workflow}/runs"), Some(json!({ "input": {} }))).await;
        let run_id = run["run_id"].as_str().unwrap().to_owned();
        let path = format!("/api/runs/{run_id}");
        let finished = wait_until(Duration::from_secs(60), || async {
            let detail = self.json("GET", &path, None).await;
            matches!(detail["status"].as_str(), Some("succeeded" | "failed" | "dead_lettered" | "cancelled"))
        })
        .await;
        let detail = self.json("GET", &path, None).await;
        assert!(finished, "the run finished: {detail}");
        (run_id, detail)
    }
}

fn node(id: &str, kind: &str, config: Value) -> Value {
    json!({ "id": id, "kind": kind, "label": id, "position": { "x": 0.0, "y": 0.0 }, "config": config })
}

fn edge(id: &str, from: &str, to: &str) -> Value {
    json!({ "id": id, "from": from, "from_port": "out", "to": to, "to_port": "in" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_appear_in_no_log_trace_export_output_or_error() {
    let (service_addr, received) = service().await;
    let (collector_addr, exports) = collector().await;
    let endpoint = format!("http://{collector_addr}");
    let server = Process::start(
        &["serve"],
        &[
            ("AOS_EGRESS_ALLOW", "127.0.0.1"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("AOS_LOG_FORMAT", "json"),
            ("RUST_LOG", "debug"),
        ],
    )
    .await;
    let anonymous = http();
    let signup = anonymous
        .post(format!("{}/api/auth/signup", server.url))
        .json(&json!({ "email": "ada@example.test", "password": "correct horse battery", "name": "Ada", "org_name": "Ada Co" }))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status().as_u16(), 201);
    let account: Value = signup.json().await.unwrap();
    let org = account["org_id"].as_str().unwrap().to_owned();
    let refresh_token = account["refresh_token"].as_str().unwrap().to_owned();
    let client = Client {
        http: anonymous.clone(),
        base: server.url.clone(),
        token: account["token"].as_str().unwrap().to_owned(),
    };
    client
        .json("POST", &format!("/api/orgs/{org}/secrets"), Some(json!({ "name": "API_TOKEN", "value": PLAINTEXT })))
        .await;

    let service_url = format!("http://{service_addr}");
    let uses = json!({ "nodes": [
        node("start", "trigger.manual", json!({})),
        node("call", "http.request", json!({
            "method": "POST",
            "url": format!("{service_url}/echo"),
            "headers": { "authorization": "Bearer {{ secrets.API_TOKEN }}" },
            "body": { "token": "{{ secrets.API_TOKEN }}", "nested": { "again": "x-{{ secrets.API_TOKEN }}-y" } }
        })),
        node("shape", "data.transform", json!({ "fields": {
            "direct": "{{ secrets.API_TOKEN }}",
            "keyed": "{{ {secrets.API_TOKEN: 1} }}",
            "echoed": "{{ steps.call.output.body }}"
        } })),
    ], "edges": [edge("e1", "start", "call"), edge("e2", "call", "shape")] });
    let fails = json!({ "nodes": [
        node("start", "trigger.manual", json!({})),
        node("call", "http.request", json!({ "method": "GET", "url": format!("{service_url}/missing?key={{{{ secrets.API_TOKEN }}}}") })),
    ], "edges": [edge("e1", "start", "call")] });
    let good = client.workflow(&org, "Uses a secret", uses).await;
    let bad = client.workflow(&org, "Fails with a secret", fails).await;
    let (good_run, good_detail) = client.run_to_end(&good).await;
    let (bad_run, bad_detail) = client.run_to_end(&bad).await;
    assert_eq!(good_detail["status"], "succeeded", "{good_detail}");
    assert_ne!(bad_detail["status"], "succeeded", "{bad_detail}");

    // the control: the service did receive the real value, in the header, the body and the URL
    {
        let seen = received.lock().unwrap();
        assert!(seen.iter().filter(|r| r.contains(PLAINTEXT)).count() >= 2, "{seen:?}");
    }
    let shown = good_detail.to_string();
    assert!(shown.contains("[redacted]"), "the output carried the secret, redacted: {shown}");

    // a webhook delivery, so its token travels through the request path
    let source = client.json("POST", &format!("/api/workflows/{good}/webhooks"), None).await;
    let hook_token = source["token"].as_str().unwrap().to_owned();
    let delivered = anonymous.post(format!("{}/hooks/{hook_token}", server.url)).json(&json!({})).send().await.unwrap();
    assert!(delivered.status().as_u16() < 300, "{delivered:?}");

    // everything the API shows
    let mut shown = vec![good_detail.to_string(), bad_detail.to_string()];
    for path in [
        format!("/api/runs/{good_run}/logs"),
        format!("/api/runs/{bad_run}/logs"),
        format!("/api/workflows/{good}/export"),
        format!("/api/workflows/{bad}/export"),
        format!("/api/workflows/{good}/versions"),
        format!("/api/workflows/{good}/versions/1"),
        format!("/api/workflows/{good}"),
        format!("/api/orgs/{org}/runs"),
        format!("/api/orgs/{org}/secrets"),
        format!("/api/orgs/{org}/audit"),
        format!("/api/orgs/{org}/dlq"),
        format!("/api/runs/{good_run}/usage"),
    ] {
        let (status, text) = client.call("GET", &path, None).await;
        assert!(status < 300, "{path}: {status} {text}");
        if path.ends_with("/dlq") {
            // as the dashboard reads it, every field kept
            let entries: Vec<aos_api::DlqEntry> = serde_json::from_str(&text).unwrap();
            assert_eq!(serde_json::to_value(&entries).unwrap(), serde_json::from_str::<Value>(&text).unwrap());
        }
        shown.push(text);
    }
    for run in [&good_run, &bad_run] {
        shown.push(events(&server.url, &client.token, run).await);
    }
    let errors: Vec<&Value> = bad_detail["steps"].as_array().into_iter().flatten().map(|s| &s["error"]).collect();
    assert!(errors.iter().any(|e| !e.is_null()), "the failing step has an error message: {bad_detail}");
    for (i, text) in shown.iter().enumerate() {
        assert!(!text.contains(PLAINTEXT), "API answer {i} holds the secret: {text}");
    }

    let (logs, dir) = server.stop().await;
    assert!(logs.lines().count() > 20, "debug logs were written");
    for line in logs.lines() {
        assert!(serde_json::from_str::<Value>(line).is_ok(), "a JSON log line: {line}");
    }
    let exported = wait_until(Duration::from_secs(10), || async { !exports.lock().unwrap().is_empty() }).await;
    assert!(exported, "the collector received spans");
    let traces: Vec<u8> = exports.lock().unwrap().concat();
    for (what, value) in [
        ("secret", PLAINTEXT),
        ("access token", client.token.as_str()),
        ("refresh token", refresh_token.as_str()),
        ("webhook token", hook_token.as_str()),
    ] {
        assert!(!logs.contains(value), "the logs hold the {what}");
        assert!(!contains(&traces, value.as_bytes()), "the exported spans hold the {what}");
    }
    // the data dir: database, WAL, key files
    let mut scanned = 0;
    for entry in std::fs::read_dir(dir.join("data")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(!contains(&bytes, PLAINTEXT.as_bytes()), "{} holds the secret", path.display());
            scanned += 1;
        }
    }
    assert!(scanned >= 2, "the database and its key files were scanned");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The event stream of a run, from the start to its end, as text.
async fn events(base: &str, token: &str, run: &str) -> String {
    let url = format!("{}/ws/events?run={run}&after=0&token={token}", base.replacen("http://", "ws://", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("events connect");
    let mut text = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(Ok(message)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(frame) = message {
                text.push_str(&frame);
                text.push('\n');
                if frame.contains("run_finished") {
                    break;
                }
            }
        }
    })
    .await;
    assert!(text.contains("run_finished"), "the stream reached the end: {text}");
    text
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}
