//! Telemetry as an operator sees it, each test against a real `automateos` process (so each gets
//! its own global subscriber and recorder): OTLP/HTTP exports reaching a loopback collector with
//! the caller's trace continued, Pino-like JSON log lines, and `/metrics` in the Prometheus text
//! format counting requests by route template and status.

#[path = "support/http.rs"]
mod support_http;

use support_http::{call, http, wait_until};

#[path = "support/prometheus.rs"]
mod prometheus;
#[path = "support/process.rs"]
mod support_process;

use support_process::Process;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aos_engine_link::{Engine, PROTOCOL_VERSION, RemoteEngine, StepMeta, StepRequest};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::Value;

/// The caller's trace and span, as a W3C `traceparent` would name them.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
/// A credential the caller sends; it must appear in no span, attribute or log line.
const SECRET: &str = "s3cret-bearer-value";

fn traceparent() -> String {
    format!("00-{TRACE_ID}-{CALLER_SPAN_ID}-01")
}

/// One POST the collector received: its content type and decoded body.
#[derive(Debug)]
struct Export {
    content_type: String,
    request: Result<ExportTraceServiceRequest, String>,
}

#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Export>>>);

/// A span as the collector saw it, ids in hex.
#[derive(Debug, Clone)]
struct SeenSpan {
    service: Option<String>,
    name: String,
    kind: i32,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    attributes: Vec<(String, String)>,
}

impl SeenSpan {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

impl Collector {
    /// An OTLP/HTTP (protobuf) trace receiver on a loopback port.
    async fn start() -> (SocketAddr, Self) {
        let collector = Self::default();
        let app = Router::new().route("/v1/traces", post(receive)).with_state(collector.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (addr, collector)
    }

    fn spans(&self) -> Vec<SeenSpan> {
        let exports = self.0.lock().unwrap();
        let mut spans = Vec::new();
        for export in exports.iter() {
            assert_eq!(export.content_type, "application/x-protobuf", "OTLP/HTTP in its binary protobuf form");
            let request = export.request.as_ref().expect("a decodable ExportTraceServiceRequest");
            for resource_spans in &request.resource_spans {
                let service = resource_spans.resource.as_ref().and_then(|resource| {
                    resource.attributes.iter().find(|kv| kv.key == "service.name").map(|kv| text(kv.value.as_ref()))
                });
                for span in resource_spans.scope_spans.iter().flat_map(|scope| &scope.spans) {
                    spans.push(SeenSpan {
                        service: service.clone(),
                        name: span.name.clone(),
                        kind: span.kind,
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        attributes: span
                            .attributes
                            .iter()
                            .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
                            .collect(),
                    });
                }
            }
        }
        spans
    }

    /// Everything received, as text, for leak checks.
    fn dump(&self) -> String {
        format!("{:?}", self.0.lock().unwrap())
    }

    /// Waits (bounded) for a span named `name` in the caller's trace.
    async fn span_named(&self, name: &str) -> SeenSpan {
        let found = wait_until(Duration::from_secs(15), || async {
            self.spans().iter().any(|s| s.name == name && s.trace_id == TRACE_ID)
        })
        .await;
        let spans = self.spans();
        assert!(found, "no span {name} in trace {TRACE_ID}; received {spans:#?}");
        spans.into_iter().find(|s| s.name == name && s.trace_id == TRACE_ID).unwrap()
    }
}

async fn receive(State(collector): State<Collector>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let request = ExportTraceServiceRequest::decode(body).map_err(|err| err.to_string());
    collector.0.lock().unwrap().push(Export { content_type, request });
    ([(CONTENT_TYPE, "application/x-protobuf")], ExportTraceServiceResponse::default().encode_to_vec())
}

#[tokio::test]
async fn the_request_span_continues_the_callers_trace_and_reaches_the_collector() {
    let (collector_addr, collector) = Collector::start().await;
    let endpoint = format!("http://{collector_addr}");
    let server = Process::start(
        &["serve"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("AOS_SERVICE_NAME", "aos-telemetry-test")],
    )
    .await;
    let response = http()
        .get(format!("{}/readyz", server.url))
        .header("traceparent", traceparent())
        .header("authorization", format!("Bearer {SECRET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let logs = server.stop_and_clean().await;

    let request = collector.span_named("GET /readyz").await;
    assert_eq!(request.parent_span_id, CALLER_SPAN_ID, "the caller's span is the request span's parent");
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(request.service.as_deref(), Some("aos-telemetry-test"));
    assert_eq!(request.attribute("http.route"), Some("/readyz"));
    assert_eq!(request.attribute("http.request.method"), Some("GET"));
    assert_eq!(request.attribute("http.response.status_code"), Some("200"));
    let ping = collector.span_named("store.ping").await;
    assert_eq!(ping.parent_span_id, request.span_id, "the store ping hangs under the request span");
    assert_eq!(ping.attribute("db.system.name"), Some("sqlite"));
    assert_ne!(ping.span_id, request.span_id);

    let everything = collector.dump();
    assert!(!everything.contains(SECRET), "the bearer token reached the collector");
    assert!(!everything.to_ascii_lowercase().contains("authorization"), "a header was recorded");
    assert!(!logs.contains(SECRET), "the bearer token reached the logs");
}

/// `automateos engine` exporting its spans to `endpoint`, taking [`SECRET`] as its token.
async fn traced_engine(endpoint: &str) -> Process {
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("AOS_SERVICE_NAME", "aos-engine-test"),
        ("AOS_ENGINE_TOKEN", SECRET),
    ];
    Process::start(&["engine"], &env).await
}

#[tokio::test]
async fn the_engine_process_continues_the_trace_of_the_step_call() {
    let (collector_addr, collector) = Collector::start().await;
    let endpoint = format!("http://{collector_addr}");
    let engine = traced_engine(&endpoint).await;
    let remote =
        RemoteEngine::new(&engine.url, Some(aos_schema::SecretString::new(SECRET)), Duration::from_secs(10)).unwrap();
    let step = StepRequest {
        protocol: PROTOCOL_VERSION.to_owned(),
        meta: StepMeta { node_id: "shape".into(), attempt: 1, traceparent: Some(traceparent()), ..StepMeta::default() },
        kind: "data.transform".to_owned(),
        config: serde_json::json!({ "fields": { "n": "{{ 1 + 1 }}" } }).as_object().cloned().unwrap(),
        context: Default::default(),
        secrets: Default::default(),
    };
    let out = remote.execute(step).await.unwrap();
    assert_eq!(out.output, serde_json::json!({ "n": 2 }));
    let metrics = http().get(format!("{}/metrics", engine.url)).send().await.unwrap().text().await.unwrap();
    let parsed = prometheus::parse(&metrics).unwrap();
    let steps = [("method", "POST"), ("route", "/v1/steps"), ("status", "200")];
    assert_eq!(parsed.value("aos_http_requests_total", &steps), Some(1.0), "the engine serves /metrics too");
    let logs = engine.stop_and_clean().await;

    let call = collector.span_named("POST /v1/steps").await;
    assert_eq!(call.parent_span_id, CALLER_SPAN_ID);
    assert_eq!(call.service.as_deref(), Some("aos-engine-test"));
    assert!(!collector.dump().contains(SECRET) && !logs.contains(SECRET), "the engine token leaked");
}

#[tokio::test]
async fn log_lines_are_pino_like_json_with_span_fields_and_the_trace_id() {
    // No collector: spans still get trace ids, so logs correlate and traces propagate.
    let server = Process::start(&["serve"], &[("RUST_LOG", "info,aos_gateway=debug")]).await;
    let response = http()
        .get(format!("{}/readyz", server.url))
        .header("traceparent", traceparent())
        .header("authorization", format!("Bearer {SECRET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let logs = server.stop_and_clean().await;
    assert!(!logs.contains(SECRET));
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("not a JSON line ({err}): {line}")))
        .collect();
    for line in &lines {
        for key in ["time", "level", "msg", "target"] {
            assert!(line[key].is_string(), "{key} missing: {line}");
        }
        assert!(["trace", "debug", "info", "warn", "error"].contains(&line["level"].as_str().unwrap()), "{line}");
    }
    let serving = lines.iter().find(|l| l["msg"] == "automateos serving").expect("the startup line");
    assert_eq!(serving["level"], "info");
    assert!(serving["addr"].as_str().unwrap().starts_with("127.0.0.1:"));
    let finished = lines
        .iter()
        .find(|l| l["msg"] == "request finished" && l["http.route"] == "/readyz")
        .unwrap_or_else(|| panic!("no request line for /readyz in\n{logs}"));
    assert_eq!(finished["level"], "debug");
    assert_eq!(finished["target"], "aos_gateway::observe");
    assert_eq!(finished["span"], "http.request");
    assert_eq!(finished["status"], 200);
    assert_eq!(finished["trace_id"], TRACE_ID, "the caller's trace, continued");
    assert_ne!(finished["span_id"], CALLER_SPAN_ID);
    assert!(finished.get("otel.name").is_none(), "{finished}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let server = Process::start(&["serve"], &[]).await;
    let client = http();
    let send = |method: reqwest::Method, path: &str| {
        let request = client.request(method, format!("{}{path}", server.url));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(send(reqwest::Method::GET, "/readyz").await, 200);
    assert_eq!(send(reqwest::Method::GET, "/readyz").await, 200);
    assert_eq!(send(reqwest::Method::GET, "/no/such/thing/8d1f3c").await, 404);
    assert_eq!(send(reqwest::Method::POST, "/hooks/some-secret-token").await, 404, "an unknown webhook token");
    assert_eq!(send(reqwest::Method::PUT, "/readyz").await, 405);

    let response = client.get(format!("{}/metrics", server.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let body = response.text().await.unwrap();
    server.stop_and_clean().await;
    let metrics = prometheus::parse(&body).unwrap_or_else(|err| panic!("{err}\n{body}"));

    let requests = metrics.family("aos_http_requests_total");
    assert_eq!(requests.kind.as_deref(), Some("counter"));
    assert!(requests.help.as_deref().is_some_and(|help| help.contains("route template")));
    let count = |method, route, status| {
        metrics.value("aos_http_requests_total", &[("method", method), ("route", route), ("status", status)])
    };
    assert_eq!(count("GET", "/readyz", "200"), Some(2.0));
    assert_eq!(count("GET", "unmatched", "404"), Some(1.0), "unknown paths share one label value");
    assert_eq!(count("POST", "/hooks/{token}", "404"), Some(1.0), "the template, never the token");
    assert_eq!(count("PUT", "/readyz", "405"), Some(1.0));
    assert!(count("GET", "/healthz", "200").is_some_and(|n| n >= 1.0), "the readiness polls");
    for sample in &requests.samples {
        let route = &sample.labels["route"];
        assert!(
            ["/healthz", "/readyz", "/metrics", "/hooks/{token}", "unmatched"].contains(&route.as_str()),
            "raw path {route}"
        );
    }
    assert!(!body.contains("8d1f3c") && !body.contains("some-secret-token"), "a raw path reached a label");

    let latency = metrics.family("aos_http_request_duration_seconds");
    assert_eq!(latency.kind.as_deref(), Some("histogram"));
    let readyz = [("method", "GET"), ("route", "/readyz"), ("status", "200")];
    assert_eq!(metrics.value("aos_http_request_duration_seconds_count", &readyz), Some(2.0));
    let inf = [("le", "+Inf"), ("method", "GET"), ("route", "/readyz"), ("status", "200")];
    assert_eq!(metrics.value("aos_http_request_duration_seconds_bucket", &inf), Some(2.0));
    assert!(metrics.value("aos_http_request_duration_seconds_sum", &readyz).is_some_and(|s| s > 0.0));
}

#[tokio::test]
async fn one_trace_runs_from_the_webhook_request_through_each_step_to_the_remote_engine() {
    let (collector_addr, collector) = Collector::start().await;
    let endpoint = format!("http://{collector_addr}");
    let engine = traced_engine(&endpoint).await;
    let server = Process::start(
        &["serve"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("AOS_SERVICE_NAME", "aos-server-test"),
            ("AOS_ENGINE_URL", engine.url.as_str()),
            ("AOS_ENGINE_TOKEN", SECRET),
        ],
    )
    .await;
    let base = server.url.clone();
    let signup = serde_json::json!({
        "email": "tracer@example.test", "password": "a long test passphrase", "name": "T", "org_name": "Traces"
    });
    let (status, session) = call(&base, "POST", "/api/auth/signup", None, Some(signup)).await;
    assert_eq!(status, 201, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();
    let org = session["org_id"].as_str().unwrap().to_owned();
    let (_, created) = call(
        &base,
        "POST",
        &format!("/api/orgs/{org}/workflows"),
        Some(&token),
        Some(serde_json::json!({ "name": "T" })),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let node = |id: &str, kind: &str, x: f64| {
        serde_json::json!({ "id": id, "kind": kind, "label": "", "position": { "x": x, "y": 0.0 },
            "config": if kind == "data.transform" { serde_json::json!({ "fields": { "n": "{{ trigger.body.n }}" } }) } else { serde_json::json!({}) } })
    };
    let graph = serde_json::json!({
        "nodes": [node("hook", "trigger.webhook", 0.0), node("shape", "data.transform", 200.0), node("again", "data.transform", 400.0)],
        "edges": [
            { "id": "e1", "from": "hook", "from_port": "out", "to": "shape", "to_port": "in" },
            { "id": "e2", "from": "shape", "from_port": "out", "to": "again", "to_port": "in" }
        ]
    });
    let (status, _) = call(&base, "PUT", &format!("/api/workflows/{id}/graph"), Some(&token), Some(graph)).await;
    assert!(status < 300);
    let (status, published) = call(&base, "POST", &format!("/api/workflows/{id}/publish"), Some(&token), None).await;
    assert_eq!(status, 201, "{published}");
    let (status, source) =
        call(&base, "POST", &format!("/api/workflows/{id}/webhooks"), Some(&token), Some(serde_json::json!({}))).await;
    assert_eq!(status, 201, "{source}");
    let hook_token = source["token"].as_str().unwrap().to_owned();
    let hook = format!("/hooks/{hook_token}");

    let delivered = http()
        .post(format!("{base}{hook}"))
        .header("traceparent", traceparent())
        .json(&serde_json::json!({ "n": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), 202);
    let run: Value = delivered.json().await.unwrap();
    let run_id = run["run_id"].as_str().unwrap().to_owned();
    let finished = wait_until(Duration::from_secs(30), || {
        let (base, token, run_id) = (base.clone(), token.clone(), run_id.clone());
        async move {
            call(&base, "GET", &format!("/api/runs/{run_id}"), Some(&token), None).await.1["status"] == "succeeded"
        }
    })
    .await;
    assert!(finished, "the webhook's run succeeded on the remote engine");
    let server_logs = server.stop_and_clean().await;
    let engine_logs = engine.stop_and_clean().await;

    // the request continues the caller's trace ...
    let request = collector.span_named("POST /hooks/{token}").await;
    assert_eq!(request.parent_span_id, CALLER_SPAN_ID);
    assert_eq!(request.service.as_deref(), Some("aos-server-test"));
    // ... each step of the run is a span in that trace, under the request ...
    for step in ["hook", "shape", "again"] {
        let span = collector.span_named(&format!("step {step}")).await;
        assert_eq!(span.parent_span_id, request.span_id, "step {step} hangs under the webhook request");
        assert_eq!(span.attribute("run_id"), Some(run_id.as_str()));
        // ... and the remote engine's handling of that step's call is the step's child
        let calls: Vec<SeenSpan> = collector
            .spans()
            .into_iter()
            .filter(|s| s.name == "POST /v1/steps" && s.trace_id == TRACE_ID && s.parent_span_id == span.span_id)
            .collect();
        assert_eq!(calls.len(), 1, "one engine call under step {step}");
        assert_eq!(calls[0].service.as_deref(), Some("aos-engine-test"));
    }
    let everything = collector.dump();
    for leak in [SECRET, token.as_str(), hook_token.as_str()] {
        assert!(
            !everything.contains(leak) && !server_logs.contains(leak) && !engine_logs.contains(leak),
            "a credential leaked"
        );
    }
}
