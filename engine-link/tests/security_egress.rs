//! Server-side request forgery, through the real embedded engine against real servers on loopback:
//! the HTTP request node and every integration's `base_url` (Slack, Sheets, OpenAI, SMTP) refuse
//! loopback, private and link-local destinations by default — as literal addresses in any spelling,
//! as names that resolve to them, and as redirect targets — and the operator's allow-list opens
//! exactly what it names.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aos_engine_link::testing::openai::{self, OpenAi};
use aos_engine_link::testing::sheets::{self, Sheets};
use aos_engine_link::testing::slack::{self, Slack};
use aos_engine_link::testing::smtp::{self, Behaviour, SmtpServer};
use aos_engine_link::testing::{Step, assert_permanent, public_engine};
use aos_engine_link::{EgressPolicy, EmbeddedEngine, EngineConfig, ErrorClass, StepError, StepOutput};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

fn engine(allow: &str) -> EmbeddedEngine {
    EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::parse(allow).unwrap() }).unwrap()
}

/// A loopback server: `/hit` counts the requests that reached it, `/redirect?to=URL` answers 302.
async fn target() -> (SocketAddr, Arc<Mutex<usize>>) {
    let hits = Arc::new(Mutex::new(0usize));
    async fn hit(State(hits): State<Arc<Mutex<usize>>>) -> impl IntoResponse {
        *hits.lock().unwrap() += 1;
        axum::Json(json!({ "reached": true }))
    }
    async fn redirect(Query(query): Query<std::collections::HashMap<String, String>>) -> impl IntoResponse {
        let to = query.get("to").cloned().unwrap_or_default();
        (StatusCode::FOUND, [(header::LOCATION, to)])
    }
    let app = Router::new().route("/hit", get(hit)).route("/redirect", get(redirect)).with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

fn get_url(url: &str) -> Step {
    Step::new("http.request", json!({ "method": "GET", "url": url }))
}

#[track_caller]
fn refused(result: Result<StepOutput, StepError>, what: &str) {
    let err = result.expect_err(what);
    assert_eq!(err.class, ErrorClass::Permanent, "{what}: {err:?}");
    assert!(matches!(err.code.as_str(), "egress_refused" | "bad_redirect"), "{what}: {err:?}");
}

#[tokio::test]
async fn the_http_node_refuses_non_public_addresses_in_any_spelling() {
    let (addr, hits) = target().await;
    let port = addr.port();
    let e = public_engine();
    for url in [
        format!("http://127.0.0.1:{port}/hit"),
        format!("http://[::1]:{port}/hit"),
        format!("http://[::ffff:127.0.0.1]:{port}/hit"),
        // WHATWG URL parsing turns these into 127.0.0.1 before the check sees them
        format!("http://127.1:{port}/hit"),
        format!("http://2130706433:{port}/hit"),
        format!("http://0x7f.0.0.1:{port}/hit"),
        format!("http://0.0.0.0:{port}/hit"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fe80::1]/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://172.16.0.1/".to_owned(),
        "http://192.168.1.1/".to_owned(),
        "http://100.64.0.1/".to_owned(),
        "http://[fd00::1]/".to_owned(),
    ] {
        refused(get_url(&url).run(&e).await, &url);
    }
    assert_eq!(*hits.lock().unwrap(), 0, "no request reached the loopback server");
}

#[tokio::test]
async fn names_that_resolve_to_loopback_are_refused() {
    let (addr, hits) = target().await;
    let e = public_engine();
    for host in ["localhost", "LOCALHOST"] {
        let url = format!("http://{host}:{}/hit", addr.port());
        refused(get_url(&url).run(&e).await, &url);
    }
    assert_eq!(*hits.lock().unwrap(), 0);
}

#[tokio::test]
async fn redirects_to_refused_addresses_are_not_followed() {
    let (addr, hits) = target().await;
    let port = addr.port();
    // `localhost` is allowed by name; the addresses it redirects to are not
    let e = engine("localhost");
    for to in [
        format!("http://127.0.0.1:{port}/hit"),
        format!("http://[::1]:{port}/hit"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.1.2.3/".to_owned(),
    ] {
        let url = format!("http://localhost:{port}/redirect?to={}", urlencode(&to));
        refused(get_url(&url).run(&e).await, &to);
    }
    // a redirect to another scheme is never followed: the 302 itself is the answer
    let to_file = format!("http://localhost:{port}/redirect?to={}", urlencode("file:///etc/passwd"));
    if let Ok(out) = get_url(&to_file).run(&e).await {
        assert_eq!(out.output["status"], 302, "{:?}", out.output);
    }
    assert_eq!(*hits.lock().unwrap(), 0, "no redirect reached the target");
    // the control: a redirect to an allowed destination is followed
    let allowed = format!("http://localhost:{port}/redirect?to={}", urlencode(&format!("http://localhost:{port}/hit")));
    let out = get_url(&allowed).run(&e).await.expect("an allowed redirect is followed");
    assert_eq!(out.output["body"]["reached"], true, "{:?}", out.output);
    assert_eq!(*hits.lock().unwrap(), 1);
}

#[tokio::test]
async fn every_integration_base_url_is_guarded() {
    let e = public_engine();
    let slack_fake = Slack::start().await;
    let sheets_fake = Sheets::start(&[]).await;
    let ai = OpenAi::start().await;
    let smtp_server = SmtpServer::start(Behaviour::default()).await;
    let metadata = "http://169.254.169.254";
    let cases: Vec<(&str, Step)> = vec![
        ("slack loopback", slack_step(&slack::base_url(&slack_fake))),
        ("slack link-local", slack_step(metadata)),
        ("sheets loopback", sheets_step(&sheets::base_url(&sheets_fake))),
        ("sheets private", sheets_step("http://192.168.0.10")),
        ("openai loopback", openai_step(&openai::base_url(&ai))),
        ("openai link-local", openai_step(metadata)),
        ("smtp loopback", smtp_step(&smtp_server.url())),
        ("smtp by name", smtp_step(&format!("smtp://localhost:{}?tls=none", smtp_server.addr.port()))),
        ("smtp private", smtp_step("smtp://10.0.0.25:25?tls=none")),
    ];
    for (what, step) in cases {
        let err = assert_permanent(step.run(&e).await, "egress_refused");
        assert!(err.message.contains("AOS_EGRESS_ALLOW"), "{what}: the refusal says how to allow it: {err}");
    }
    assert!(slack_fake.received().is_empty());
    assert!(sheets_fake.received().is_empty());
    assert!(ai.received().is_empty());
    assert_eq!(smtp_server.connections(), 0);
}

#[tokio::test]
async fn the_allow_list_opens_only_what_it_names() {
    let (addr, hits) = target().await;
    let url = format!("http://127.0.0.1:{}/hit", addr.port());
    refused(get_url(&url).run(&engine("10.0.0.0/8, internal.example")).await, "another network allowed");
    let out = get_url(&url).run(&engine("127.0.0.0/8")).await.expect("a CIDR opens loopback");
    assert_eq!(out.output["body"]["reached"], true);
    let by_name = format!("http://localhost:{}/hit", addr.port());
    get_url(&by_name).run(&engine("localhost")).await.expect("a host name opens itself");
    assert_eq!(*hits.lock().unwrap(), 2);
    let slack_fake = Slack::start().await;
    slack_step(&slack::base_url(&slack_fake)).run(&engine("127.0.0.1")).await.expect("an allowed integration");
    assert_eq!(slack_fake.received().len(), 1);
}

fn slack_step(base: &str) -> Step {
    Step::new("slack.post_message", json!({ "base_url": base, "channel": "#deploys", "text": "hi" }))
        .secret("SLACK_TOKEN", slack::TOKEN)
}

fn sheets_step(base: &str) -> Step {
    let config = json!({ "base_url": base, "spreadsheet_id": sheets::SPREADSHEET, "range": "Leads" });
    Step::new("sheets.read", config).secret("GOOGLE_SHEETS_TOKEN", sheets::TOKEN)
}

fn openai_step(base: &str) -> Step {
    Step::new("openai.chat", json!({ "base_url": base, "prompt": "hi" })).secret("OPENAI_API_KEY", openai::API_KEY)
}

fn smtp_step(base: &str) -> Step {
    let config: Value = json!({
        "base_url": base, "from": "a@example.test", "to": "b@example.test", "subject": "s", "body": "b",
    });
    Step::new("email.send", config).secret("SMTP_PASSWORD", smtp::PASSWORD)
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
