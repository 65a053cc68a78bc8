//! Bad input on every endpoint class answers its documented error code and writes nothing:
//! malformed JSON, wrong types, unknown fields, unknown and malformed ids, bad query values,
//! oversize bodies, a missing content type, and forged tokens on writes. On SQLite and Postgres.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use aos_persistence::Backend;
use serde_json::json;
use support_api::Api;

both_backends!(bad_input_is_refused_and_nothing_is_written);

/// One bad request: method, path, raw body (`None`: no body), whether to send the JSON content
/// type, and the expected status and code.
struct Case {
    method: &'static str,
    path: String,
    body: Option<Vec<u8>>,
    json_type: bool,
    status: u16,
    code: &'static str,
}

fn case(method: &'static str, path: String, body: &str, status: u16, code: &'static str) -> Case {
    Case { method, path, body: Some(body.as_bytes().to_vec()), json_type: true, status, code }
}

async fn bad_input_is_refused_and_nothing_is_written(backend: Backend) {
    let api = Api::start(backend).await;
    let alice = api.signup("alice").await;
    let org = alice.org_id.clone();
    let made = api.post(&format!("/api/orgs/{org}/workflows"), &alice.token, json!({ "name": "w" })).await;
    let wf = made.body["id"].as_str().unwrap().to_owned();
    let ghost = uuid::Uuid::new_v4();
    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(5 * 1024 * 1024));
    let cases = vec![
        // Auth.
        case("POST", "/api/auth/signup".into(), "{\"email\":", 400, "malformed_json"),
        case(
            "POST",
            "/api/auth/signup".into(),
            r#"{"email":1,"password":"p","name":"n","org_name":"o"}"#,
            400,
            "invalid_body",
        ),
        case(
            "POST",
            "/api/auth/signup".into(),
            r#"{"email":"a@b.test","password":"short","name":"n","org_name":"o"}"#,
            400,
            "invalid_input",
        ),
        case(
            "POST",
            "/api/auth/signup".into(),
            r#"{"email":"not-an-email","password":"long enough","name":"n","org_name":"o"}"#,
            400,
            "invalid_input",
        ),
        case(
            "POST",
            "/api/auth/signup".into(),
            r#"{"email":"a@b.test","password":"long enough","name":"n","org_name":"o","admin":true}"#,
            400,
            "invalid_body",
        ),
        case("POST", "/api/auth/login".into(), "[]", 400, "invalid_body"),
        case("POST", "/api/auth/refresh".into(), r#"{"refresh_token":"aosr_forged"}"#, 401, "unauthorized"),
        Case {
            method: "POST",
            path: "/api/auth/signup".into(),
            body: Some(b"{}".to_vec()),
            json_type: false,
            status: 415,
            code: "unsupported_media_type",
        },
        case("POST", "/api/auth/signup".into(), &huge, 413, "payload_too_large"),
        // Orgs and members.
        case("POST", format!("/api/orgs/{org}/members"), r#"{"email":"x@y.test","role":"god"}"#, 400, "invalid_body"),
        case("POST", format!("/api/orgs/{ghost}/members"), r#"{"email":"x@y.test","role":"viewer"}"#, 404, "not_found"),
        case("PATCH", format!("/api/orgs/{org}/members/not-a-uuid"), r#"{"role":"viewer"}"#, 400, "invalid_path"),
        // Workflows.
        case("POST", format!("/api/orgs/{org}/workflows"), r#"{"name":""}"#, 400, "invalid_input"),
        case("POST", format!("/api/orgs/{org}/workflows"), r#"{"name":["x"]}"#, 400, "invalid_body"),
        case("POST", format!("/api/orgs/{org}/workflows"), &huge, 413, "payload_too_large"),
        case("PUT", format!("/api/workflows/{wf}/graph"), r#"{"nodes":"x","edges":[]}"#, 400, "invalid_body"),
        case("PUT", format!("/api/workflows/{wf}/graph"), "{\"nodes\":[", 400, "malformed_json"),
        case("PUT", format!("/api/workflows/{ghost}/graph"), r#"{"nodes":[],"edges":[]}"#, 404, "not_found"),
        case(
            "PUT",
            format!("/api/workflows/{wf}/graph"),
            r#"{"nodes":[{"id":"a","kind":"trigger.manual","label":"","position":{"x":0,"y":0},"config":{}},{"id":"a","kind":"trigger.manual","label":"","position":{"x":0,"y":0},"config":{}}],"edges":[]}"#,
            422,
            "duplicate_node_id",
        ),
        case("GET", "/api/workflows/12345".into(), "", 400, "invalid_path"),
        case("POST", format!("/api/workflows/{wf}/publish"), "{}", 422, "invalid_workflow"),
        case("POST", format!("/api/workflows/{wf}/versions/abc/revert"), "{}", 400, "invalid_path"),
        case("POST", format!("/api/workflows/{wf}/versions/3/revert"), "{}", 404, "not_found"),
        case("POST", format!("/api/orgs/{org}/workflows/import"), "not json", 400, "malformed_json"),
        case("POST", format!("/api/orgs/{org}/workflows/import"), r#"{"name":"x"}"#, 422, "missing_format"),
        case("POST", format!("/api/orgs/{org}/workflows/import?dry_run=maybe"), "{}", 400, "invalid_query"),
        // Triggers and runs.
        case(
            "POST",
            format!("/api/workflows/{wf}/webhooks"),
            r#"{"settings":{"rate_per_minute":"fast"}}"#,
            400,
            "invalid_body",
        ),
        case(
            "POST",
            format!("/api/workflows/{wf}/webhooks"),
            r#"{"settings":{"signing_secret":"NOPE"}}"#,
            400,
            "invalid_input",
        ),
        case("POST", format!("/api/workflows/{wf}/runs"), "{\"input\":", 400, "malformed_json"),
        case("POST", format!("/api/workflows/{wf}/runs"), "{}", 409, "not_published"),
        case("GET", format!("/api/runs/{ghost}"), "", 404, "not_found"),
        case("POST", format!("/api/runs/{ghost}/replay"), r#"{"from":"middle"}"#, 400, "invalid_body"),
        case("GET", format!("/api/orgs/{org}/runs?status=bogus"), "", 400, "invalid_query"),
        case("POST", format!("/hooks/whk_{ghost}"), "{}", 404, "not_found"),
        // Secrets.
        case("POST", format!("/api/orgs/{org}/secrets"), r#"{"name":"A","value":5}"#, 400, "invalid_body"),
        case("POST", format!("/api/orgs/{org}/secrets"), r#"{"name":"A-B","value":"v"}"#, 400, "invalid_input"),
        case("DELETE", format!("/api/orgs/{org}/secrets/NOPE"), "", 404, "not_found"),
    ];
    let audit_before = api.audit_rows(&org).await;
    let workflows_before = api.get(&format!("/api/orgs/{org}/workflows"), &alice.token).await.body;
    let mut failures = Vec::new();
    // No pooled connections: a server that answers 413 before reading a body closes that
    // connection, and a reused one would fail the next request on the client side.
    let _provider = support_http::http();
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    for case in &cases {
        let mut request = client
            .request(reqwest::Method::from_bytes(case.method.as_bytes()).unwrap(), api.url(&case.path))
            .bearer_auth(&alice.token);
        if case.json_type {
            request = request.header("content-type", "application/json");
        }
        if let Some(body) = &case.body
            && !body.is_empty()
        {
            request = request.body(body.clone());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let code = body["error"]["code"].as_str().unwrap_or("");
        if (status, code) != (case.status, case.code) {
            failures.push(format!(
                "{} {}: {status} {body}, expected {} {}",
                case.method, case.path, case.status, case.code
            ));
        }
    }
    // Forged and expired tokens on writes.
    for token in ["garbage", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"] {
        let reply = api.post(&format!("/api/orgs/{org}/workflows"), token, json!({ "name": "sneaky" })).await;
        if (reply.status, reply.code()) != (401, "unauthorized") {
            failures.push(format!("token {token}: {} {}", reply.status, reply.text));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len() + 2, failures.join("\n"));
    assert_eq!(api.audit_rows(&org).await, audit_before, "refused requests wrote no audit rows");
    assert_eq!(
        api.get(&format!("/api/orgs/{org}/workflows"), &alice.token).await.body,
        workflows_before,
        "and no workflows"
    );
    assert!(api.store.orgs().user_by_email("a@b.test").await.unwrap().is_none(), "and no accounts");
    api.finish().await;
}
