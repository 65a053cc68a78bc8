//! The built-in trigger, logic, data and HTTP nodes through the real embedded engine: success,
//! permanent failure, retryable failure and bad config, against a real HTTP server on loopback.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aos_engine_link::{
    EgressPolicy, EmbeddedEngine, Engine, EngineConfig, ErrorClass, PROTOCOL_VERSION, StepContext, StepError, StepMeta,
    StepOutput, StepRequest, WireSecret,
};
use aos_schema::SecretString;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use serde_json::{Value, json};

fn engine(egress: &str) -> EmbeddedEngine {
    EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::parse(egress).unwrap() }).unwrap()
}

fn request(kind: &str, config: Value) -> StepRequest {
    StepRequest {
        protocol: PROTOCOL_VERSION.to_owned(),
        meta: StepMeta { node_id: "node_a".into(), attempt: 1, ..StepMeta::default() },
        kind: kind.to_owned(),
        config: config.as_object().cloned().unwrap_or_default(),
        context: StepContext {
            trigger: json!({ "body": { "email": "ada@example.test", "tier": "gold", "items": [1, 2, 3] } }),
            steps: serde_json::from_value(json!({ "fetch": { "output": { "status": 200, "items": [{ "id": 7 }] } } }))
                .unwrap(),
            input: json!({ "tier": "gold", "n": 2 }),
            item: None,
        },
        secrets: BTreeMap::new(),
    }
}

async fn run(engine: &EmbeddedEngine, request: StepRequest) -> Result<StepOutput, StepError> {
    engine.execute(request).await
}

#[tokio::test]
async fn triggers_pass_their_payload_on() {
    let e = engine("");
    for kind in ["trigger.webhook", "trigger.manual"] {
        let out = run(&e, request(kind, json!({}))).await.unwrap();
        assert_eq!(out.output["body"]["email"], "ada@example.test");
        assert_eq!(out.ports, None);
    }
    let out = run(&e, request("trigger.schedule", json!({ "cron": "0 9 * * *" }))).await.unwrap();
    assert_eq!(out.output["body"]["tier"], "gold");
}

#[tokio::test]
async fn condition_and_switch_name_the_port_taken() {
    let e = engine("");
    let yes = run(&e, request("logic.condition", json!({ "condition": "{{ steps.fetch.output.status == 200 }}" })))
        .await
        .unwrap();
    assert_eq!(yes.ports, Some(vec!["true".to_owned()]));
    assert_eq!(yes.output, json!({ "tier": "gold", "n": 2 }), "the input passes through");
    let no = run(&e, request("logic.condition", json!({ "condition": "{{ input.n > 5 }}" }))).await.unwrap();
    assert_eq!(no.ports, Some(vec!["false".to_owned()]));
    let cases = json!({ "value": "{{ input.tier }}", "cases": { "gold_lane": "gold", "silver_lane": "silver" } });
    let gold = run(&e, request("logic.switch", cases)).await.unwrap();
    assert_eq!(gold.ports, Some(vec!["gold_lane".to_owned()]));
    let other = json!({ "value": "bronze", "cases": { "gold_lane": "gold" } });
    assert_eq!(run(&e, request("logic.switch", other)).await.unwrap().ports, Some(vec!["default".to_owned()]));
}

#[tokio::test]
async fn for_each_delay_transform_and_respond_shape_their_output() {
    let e = engine("");
    let each = run(&e, request("logic.for_each", json!({ "items": "{{ trigger.body.items }}" }))).await.unwrap();
    assert_eq!(each.items, Some(vec![json!(1), json!(2), json!(3)]));
    let wait = run(&e, request("logic.delay", json!({ "seconds": 1.5 }))).await.unwrap();
    assert_eq!(wait.wait_ms, Some(1500));
    let shaped = run(
        &e,
        request(
            "data.transform",
            json!({ "fields": { "email": "{{ trigger.body.email }}", "first": "{{ steps.fetch.output.items[0].id }}" } }),
        ),
    )
    .await
    .unwrap();
    assert_eq!(shaped.output, json!({ "email": "ada@example.test", "first": 7 }));
    let answer = run(
        &e,
        request("webhook.respond", json!({ "status": 201, "headers": { "x-run": "yes" }, "body": { "ok": true } })),
    )
    .await
    .unwrap();
    let response = answer.response.unwrap();
    assert_eq!((response.status, response.body), (201, json!({ "ok": true })));
    assert_eq!(response.headers["x-run"], "yes");
}

#[tokio::test]
async fn bad_config_and_bad_data_are_permanent_errors() {
    let e = engine("");
    let cases = [
        request("logic.for_each", json!({ "items": "{{ trigger.body.email }}" })),
        request("logic.delay", json!({ "seconds": "soon" })),
        request("logic.delay", json!({ "seconds": -1 })),
        request("data.transform", json!({ "fields": "not a map" })),
        request("webhook.respond", json!({ "status": 42 })),
        request("http.request", json!({ "method": "TELEPORT", "url": "http://example.test" })),
        request("http.request", json!({ "method": "GET", "url": "not a url" })),
        request("no.such_kind", json!({})),
    ];
    for case in cases {
        let kind = case.kind.clone();
        let err = run(&e, case).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Permanent, "{kind}: {err:?}");
    }
}

#[tokio::test]
async fn bad_expressions_name_node_field_and_position() {
    let e = engine("");
    let err =
        run(&e, request("data.transform", json!({ "fields": { "email": "{{ trigger.body. }}" } }))).await.unwrap_err();
    assert_eq!(err.code, "bad_expression");
    assert!(
        err.message.starts_with("node `node_a`: expression in `fields.email` at line 1, column"),
        "{}",
        err.message
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn missing_secrets_and_wrong_protocol_are_refused() {
    let e = engine("");
    let err = run(&e, request("data.transform", json!({ "fields": { "t": "{{ secrets.NOPE }}" } }))).await.unwrap_err();
    assert_eq!((err.code.as_str(), err.message.as_str()), ("missing_secret", "node `node_a`: secret NOPE is not set"));
    let mut old = request("data.transform", json!({ "fields": {} }));
    old.protocol = "automateos.step/v0".into();
    assert_eq!(run(&e, old).await.unwrap_err().code, "unsupported_protocol");
}

/// What the loopback server saw.
#[derive(Debug, Clone, Default)]
struct Seen {
    requests: Arc<Mutex<Vec<(String, HeaderMap, String)>>>,
}

async fn echo_server() -> (SocketAddr, Seen) {
    async fn handle(
        State(seen): State<Seen>,
        method: axum::http::Method,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: String,
    ) -> (StatusCode, HeaderMap, String) {
        seen.requests.lock().unwrap().push((format!("{method} {uri}"), headers.clone(), body.clone()));
        let mut out = HeaderMap::new();
        match uri.path() {
            "/limited" => {
                out.insert("retry-after", "7".parse().unwrap());
                (StatusCode::TOO_MANY_REQUESTS, out, "slow down".into())
            }
            "/broken" => (StatusCode::BAD_GATEWAY, out, "upstream down".into()),
            "/missing" => (StatusCode::NOT_FOUND, out, "no such thing".into()),
            "/text" => (StatusCode::OK, out, "plain words".into()),
            _ => {
                out.insert("content-type", "application/json".parse().unwrap());
                (StatusCode::OK, out, json!({ "echo": body, "auth": headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()) }).to_string())
            }
        }
    }
    let seen = Seen::default();
    let app = Router::new().fallback(any(handle)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

#[tokio::test]
async fn http_request_sends_and_answers_in_the_contract_shape() {
    let (addr, seen) = echo_server().await;
    let e = engine("127.0.0.1");
    let out = run(
        &e,
        request(
            "http.request",
            json!({
                "method": "POST",
                "url": format!("http://{addr}/items"),
                "headers": { "x-trace": "{{ input.tier }}" },
                "body": { "email": "{{ trigger.body.email }}", "n": "{{ input.n }}" }
            }),
        ),
    )
    .await
    .unwrap();
    assert_eq!(out.output["status"], 200);
    assert_eq!(out.output["headers"]["content-type"], "application/json");
    let echoed: Value = serde_json::from_str(out.output["body"]["echo"].as_str().unwrap()).unwrap();
    assert_eq!(echoed, json!({ "email": "ada@example.test", "n": 2 }));
    assert!(out.bytes > 0);
    let requests = seen.requests.lock().unwrap().clone();
    assert_eq!(requests[0].0, "POST /items");
    assert_eq!(requests[0].1["x-trace"], "gold");
    assert_eq!(requests[0].1["content-type"], "application/json");
    let text = run(&e, request("http.request", json!({ "method": "GET", "url": format!("http://{addr}/text") })))
        .await
        .unwrap();
    assert_eq!(text.output["body"], "plain words");
}

#[tokio::test]
async fn http_failures_are_classed_retryable_or_permanent() {
    let (addr, _seen) = echo_server().await;
    let e = engine("127.0.0.1");
    let get = |path: &str| request("http.request", json!({ "method": "GET", "url": format!("http://{addr}{path}") }));
    let limited = run(&e, get("/limited")).await.unwrap_err();
    assert_eq!(
        (limited.class, limited.code.as_str(), limited.retry_after_ms),
        (ErrorClass::Retryable, "rate_limited", Some(7000))
    );
    let broken = run(&e, get("/broken")).await.unwrap_err();
    assert_eq!((broken.class, broken.code.as_str()), (ErrorClass::Retryable, "service_unavailable"));
    let missing = run(&e, get("/missing")).await.unwrap_err();
    assert_eq!((missing.class, missing.code.as_str()), (ErrorClass::Permanent, "http_status"));
    // nothing listens on the port of a closed listener: retryable
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let refused = run(&e, request("http.request", json!({ "method": "GET", "url": format!("http://{closed}/") })))
        .await
        .unwrap_err();
    assert_eq!((refused.class, refused.code.as_str()), (ErrorClass::Retryable, "connect_failed"));
}

#[tokio::test]
async fn loopback_is_refused_by_default() {
    let (addr, seen) = echo_server().await;
    let e = engine("");
    let err = run(&e, request("http.request", json!({ "method": "GET", "url": format!("http://{addr}/") })))
        .await
        .unwrap_err();
    assert_eq!((err.class, err.code.as_str()), (ErrorClass::Permanent, "egress_refused"));
    assert!(seen.requests.lock().unwrap().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn secrets_resolve_inside_the_call_and_never_come_back() {
    let (addr, seen) = echo_server().await;
    let e = engine("127.0.0.1");
    let mut req = request(
        "http.request",
        json!({
            "method": "POST",
            "url": format!("http://{addr}/echo"),
            "headers": { "authorization": "Bearer {{ secrets.API_TOKEN }}" },
            "body": { "token": "{{ secrets.API_TOKEN }}" }
        }),
    );
    req.secrets.insert("API_TOKEN".into(), WireSecret(SecretString::new("tok-5ecret-value")));
    let out = run(&e, req).await.unwrap();
    // the service got the real value...
    assert_eq!(seen.requests.lock().unwrap()[0].1["authorization"], "Bearer tok-5ecret-value");
    // ...and the output only ever shows it redacted
    let text = out.output.to_string();
    assert!(!text.contains("tok-5ecret-value"), "{text}");
    assert!(text.contains("[redacted]"));
    let mut failing = request(
        "http.request",
        json!({ "method": "GET", "url": format!("http://{addr}/missing?k={{{{ secrets.API_TOKEN }}}}") }),
    );
    failing.secrets.insert("API_TOKEN".into(), WireSecret(SecretString::new("tok-5ecret-value")));
    let err = run(&e, failing).await.unwrap_err();
    assert!(!err.message.contains("tok-5ecret-value"));
}

#[tokio::test]
async fn a_configured_content_type_replaces_the_json_default_and_a_user_agent_is_sent() {
    let (addr, seen) = echo_server().await;
    let e = engine("127.0.0.1");
    run(
        &e,
        request(
            "http.request",
            json!({
                "method": "POST",
                "url": format!("http://{addr}/items"),
                "headers": { "Content-Type": "application/vnd.api+json" },
                "body": { "a": 1 }
            }),
        ),
    )
    .await
    .unwrap();
    let requests = seen.requests.lock().unwrap().clone();
    let types: Vec<&str> = requests[0].1.get_all("content-type").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(types, ["application/vnd.api+json"]);
    assert!(requests[0].1["user-agent"].to_str().unwrap().starts_with("AutomateOS/"));
}

#[tokio::test]
async fn expressions_can_url_encode() {
    let e = engine("");
    let out =
        run(&e, request("data.transform", json!({ "fields": { "q": "{{ 'a b+c' | urlencode }}" } }))).await.unwrap();
    assert_eq!(out.output, json!({ "q": "a%20b%2Bc" }));
}
