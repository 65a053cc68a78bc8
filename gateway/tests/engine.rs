//! The engine as its own process: `automateos engine` serves the step protocol, the remote client
//! runs steps through it, and an engine that dies mid-step or never answers gives the caller a
//! retryable error within a bounded time, never a hang.

#[path = "support/http.rs"]
mod support_http;

use support_http::{http, http_get};

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aos_engine_link::{Engine, ErrorClass, PROTOCOL_VERSION, RemoteEngine, StepContext, StepMeta, StepRequest};
use aos_persistence::testing::wait_until;
use aos_schema::SecretString;
use serde_json::json;

const TOKEN: &str = "engine-test-token";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An `automateos engine` process, killed when dropped.
struct EngineProcess {
    child: tokio::process::Child,
    url: String,
}

async fn start_engine() -> EngineProcess {
    let port = free_port();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_automateos"))
        .args(["engine", "--addr", &format!("127.0.0.1:{port}")])
        .env("AOS_EGRESS_ALLOW", "127.0.0.1")
        .env("AOS_ENGINE_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let health = format!("{url}/healthz");
    let up =
        wait_until(Duration::from_secs(10), || async { matches!(http_get(&health).await, Ok(r) if r.status() == 200) })
            .await;
    assert!(up, "engine process became healthy");
    EngineProcess { child, url }
}

fn request(kind: &str, config: serde_json::Value) -> StepRequest {
    StepRequest {
        protocol: PROTOCOL_VERSION.to_owned(),
        meta: StepMeta {
            run_id: "run-1".into(),
            node_id: "shape".into(),
            attempt: 1,
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            ..StepMeta::default()
        },
        kind: kind.to_owned(),
        config: config.as_object().cloned().unwrap(),
        context: StepContext { trigger: json!({ "body": { "email": "ada@example.test" } }), ..StepContext::default() },
        secrets: Default::default(),
    }
}

fn client(url: &str, token: Option<&str>, timeout: Duration) -> RemoteEngine {
    RemoteEngine::new(url, token.map(SecretString::new), timeout).unwrap()
}

#[tokio::test]
async fn a_step_runs_through_a_real_engine_process() {
    let engine = start_engine().await;
    let remote = client(&engine.url, Some(TOKEN), Duration::from_secs(10));
    let out = remote
        .execute(request("data.transform", json!({ "fields": { "email": "{{ trigger.body.email }}" } })))
        .await
        .unwrap();
    assert_eq!(out.output, json!({ "email": "ada@example.test" }));
    // errors come back typed, as they would from the embedded engine
    let err = remote.execute(request("data.transform", json!({ "fields": { "e": "{{ 1 + }}" } }))).await.unwrap_err();
    assert_eq!((err.class, err.code.as_str()), (ErrorClass::Permanent, "bad_expression"));
}

#[tokio::test]
async fn the_engine_refuses_callers_without_its_token_and_malformed_requests() {
    let engine = start_engine().await;
    let anonymous = client(&engine.url, None, Duration::from_secs(10));
    let err = anonymous.execute(request("data.transform", json!({ "fields": {} }))).await.unwrap_err();
    assert_eq!((err.class, err.code.as_str()), (ErrorClass::Permanent, "unauthorized"));
    let wrong = client(&engine.url, Some("guess"), Duration::from_secs(10));
    assert_eq!(
        wrong.execute(request("data.transform", json!({ "fields": {} }))).await.unwrap_err().code,
        "unauthorized"
    );
    let raw =
        http().post(format!("{}/v1/steps", engine.url)).bearer_auth(TOKEN).body("{not json").send().await.unwrap();
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["failed"]["code"], "bad_request");
}

#[tokio::test]
async fn an_engine_that_is_down_is_a_retryable_error() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let err = client(&closed, Some(TOKEN), Duration::from_secs(5))
        .execute(request("data.transform", json!({ "fields": {} })))
        .await
        .unwrap_err();
    assert_eq!((err.class, err.code.as_str()), (ErrorClass::Retryable, "engine_unavailable"));
}

/// A server that accepts connections and never answers; counts connections.
async fn silent_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn an_engine_killed_mid_step_gives_a_retryable_error_not_a_hang() {
    let mut engine = start_engine().await;
    let (silent, accepted) = silent_server().await;
    let remote = client(&engine.url, Some(TOKEN), Duration::from_secs(60));
    let step = request("http.request", json!({ "method": "GET", "url": format!("http://{silent}/slow") }));
    let call = tokio::spawn(async move { remote.execute(step).await });
    // the engine is inside the step once the slow service has its connection
    let reached = wait_until(Duration::from_secs(5), || std::future::ready(accepted.load(Ordering::SeqCst) > 0)).await;
    assert!(reached, "the step reached the slow service");
    engine.child.start_kill().unwrap();
    let outcome =
        tokio::time::timeout(Duration::from_secs(20), call).await.expect("the caller is not left hanging").unwrap();
    let err = outcome.unwrap_err();
    assert_eq!((err.class, err.code.as_str()), (ErrorClass::Retryable, "engine_unavailable"), "{err:?}");
}

#[tokio::test]
async fn an_engine_that_never_answers_times_out_retryably() {
    let engine = start_engine().await;
    let (silent, _accepted) = silent_server().await;
    let remote = client(&engine.url, Some(TOKEN), Duration::from_millis(500));
    let step = request("http.request", json!({ "method": "GET", "url": format!("http://{silent}/slow") }));
    let err = tokio::time::timeout(Duration::from_secs(20), remote.execute(step)).await.unwrap().unwrap_err();
    assert_eq!((err.class, err.code.as_str()), (ErrorClass::Retryable, "engine_timeout"));
}
