//! Templates over real HTTP on SQLite and Postgres: publish a workflow as a versioned template,
//! find it in the gallery (search, category), install it into another org in one call (with or
//! without the secrets it needs), and creator profiles. Drafts stay private to their org.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use aos_persistence::Backend;
use serde_json::json;
use support_api::Api;

both_backends!(publish_find_and_install);

async fn publish_find_and_install(backend: Backend) {
    let api = Api::start(backend).await;
    let alice = api.signup("alice").await;
    let bob = api.signup("bob").await;
    let org = &alice.org_id;
    let wf = api.post(&format!("/api/orgs/{org}/workflows"), &alice.token, json!({ "name": "Ping Slack" })).await;
    let wf = wf.body["id"].as_str().unwrap().to_owned();
    let graph = json!({ "nodes": [
        { "id": "start", "kind": "trigger.manual", "label": "Start", "position": { "x": 0.0, "y": 0.0 }, "config": {} },
        { "id": "shape", "kind": "data.transform", "label": "Shape", "position": { "x": 1.0, "y": 0.0 },
          "config": { "fields": { "auth": "{{ secrets.PING_TOKEN }}" } } }
    ], "edges": [ { "id": "e1", "from": "start", "from_port": "out", "to": "shape", "to_port": "in" } ] });
    assert_eq!(
        api.call("PUT", &format!("/api/workflows/{wf}/graph"), Some(&alice.token), Some(graph)).await.status,
        200
    );

    let slug = format!("ping-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let template = api
        .post(
            &format!("/api/orgs/{org}/templates"),
            &alice.token,
            json!({ "slug": slug, "name": "Ping pong", "description": "Says hi", "category": "messaging" }),
        )
        .await;
    assert_eq!(template.status, 201, "{template:?}");
    let tid = template.body["id"].as_str().unwrap().to_owned();
    let bad = api
        .post(
            &format!("/api/orgs/{org}/templates"),
            &alice.token,
            json!({ "slug": "x-1", "name": "x", "category": "nope" }),
        )
        .await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_input"));

    // A draft template is private to its org.
    assert_eq!(api.get(&format!("/api/templates/{tid}"), &bob.token).await.status, 404);
    let early = api.post(&format!("/api/orgs/{}/templates/{tid}/install", bob.org_id), &bob.token, json!({})).await;
    assert_eq!(early.status, 404);

    let published = api
        .post(&format!("/api/orgs/{org}/templates/{tid}/versions"), &alice.token, json!({ "workflow_id": wf }))
        .await;
    assert_eq!(published.status, 201, "{published:?}");
    assert_eq!(published.body["version"], 1);
    assert_eq!(published.body["required_secrets"], json!(["PING_TOKEN"]));

    let found = api.get("/api/gallery?search=PING&category=messaging", &bob.token).await;
    assert!(found.body.as_array().unwrap().iter().any(|t| t["id"] == tid.as_str()), "{found:?}");
    let other = api.get("/api/gallery?category=ai", &bob.token).await;
    assert!(!other.body.as_array().unwrap().iter().any(|t| t["id"] == tid.as_str()));
    let detail = api.get(&format!("/api/templates/{tid}"), &bob.token).await;
    assert_eq!(detail.body["latest"]["required_secrets"], json!(["PING_TOKEN"]));
    assert_eq!(
        detail.body["latest"]["graph"]["nodes"].as_array().map(Vec::len),
        Some(2),
        "a preview graph: {detail:?}"
    );

    let installed = api.post(&format!("/api/orgs/{}/templates/{tid}/install", bob.org_id), &bob.token, json!({})).await;
    assert_eq!(installed.status, 201, "{installed:?}");
    assert_eq!(installed.body["missing_secrets"], json!(["PING_TOKEN"]));
    let copy = installed.body["workflow_id"].as_str().unwrap();
    let read = api.get(&format!("/api/workflows/{copy}"), &bob.token).await;
    assert_eq!(read.body["name"], "Ping Slack");
    assert_eq!(read.body["graph"]["nodes"].as_array().unwrap().len(), 2);

    let with_secret = api
        .post(
            &format!("/api/orgs/{}/templates/{tid}/install", bob.org_id),
            &bob.token,
            json!({ "secrets": { "PING_TOKEN": "tok-value-xyz" } }),
        )
        .await;
    assert_eq!(with_secret.status, 201);
    assert_eq!(with_secret.body["missing_secrets"], json!([]));
    assert!(!with_secret.text.contains("tok-value-xyz"));
    let wrong = api
        .post(
            &format!("/api/orgs/{}/templates/{tid}/install", bob.org_id),
            &bob.token,
            json!({ "secrets": { "OTHER": "v" } }),
        )
        .await;
    assert_eq!(wrong.status, 400);
    let installs = api.get(&format!("/api/orgs/{}/installations", bob.org_id), &bob.token).await;
    assert_eq!(installs.body.as_array().unwrap().len(), 2);
    assert_eq!(api.get(&format!("/api/templates/{tid}"), &bob.token).await.body["install_count"], 2);

    let handle = format!("alice{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let profile = api
        .call(
            "PUT",
            "/api/creators/me",
            Some(&alice.token),
            Some(json!({ "handle": handle, "display_name": "Alice", "bio": "builds bots" })),
        )
        .await;
    assert_eq!(profile.status, 200, "{profile:?}");
    let seen = api.get(&format!("/api/creators/{handle}"), &bob.token).await;
    assert_eq!(seen.body["display_name"], "Alice");
    assert_eq!(seen.body["templates"][0]["id"], tid.as_str());
    api.finish().await;
}
