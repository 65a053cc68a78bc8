//! Triggers and runs over real HTTP with the actor tree and the embedded engine, on SQLite and
//! Postgres: webhook sources and `/hooks/{token}` (dedupe by `Idempotency-Key`), manual runs, run
//! detail and logs, replay, cancel, the dead-letter queue; test events (`/hooks/{token}/test`);
//! secrets stay write-only; and the admin actor tree.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use std::time::Duration;

use aos_persistence::{AuditQuery, Backend};
use aos_schema::RunStatus;
use serde_json::{Value, json};
use support_api::{Account, Api, runnable_graph};
use support_http::wait_until;

both_backends!(
    webhooks_and_manual_runs,
    test_events_reach_the_listener_and_start_no_run,
    a_cancelled_run_stops,
    secrets_are_write_only,
    admin_sees_the_actor_tree,
    a_respond_step_answers_the_webhook_request
);

/// Creates and publishes a workflow with a trigger of `trigger`.
async fn published(api: &Api, owner: &Account, trigger: &str) -> String {
    published_graph(api, owner, runnable_graph(trigger)).await
}

/// Creates and publishes a workflow of `graph`.
async fn published_graph(api: &Api, owner: &Account, graph: Value) -> String {
    let created =
        api.post(&format!("/api/orgs/{}/workflows", owner.org_id), &owner.token, json!({ "name": "w" })).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let put = api.call("PUT", &format!("/api/workflows/{id}/graph"), Some(&owner.token), Some(graph)).await;
    assert_eq!(put.status, 200, "{put:?}");
    let published = api.post(&format!("/api/workflows/{id}/publish"), &owner.token, json!({})).await;
    assert_eq!(published.status, 201, "{published:?}");
    id
}

async fn run_finished(api: &Api, token: &str, run: &str) -> serde_json::Value {
    let finished = wait_until(Duration::from_secs(20), || async {
        let detail = api.get(&format!("/api/runs/{run}"), token).await;
        matches!(detail.body["status"].as_str(), Some("succeeded" | "failed" | "dead_lettered" | "cancelled"))
    })
    .await;
    assert!(finished, "run {run} did not finish");
    let detail = api.get(&format!("/api/runs/{run}"), token).await;
    let typed = detail.decoded::<aos_api::RunDetail>();
    assert_eq!(typed.run.id.to_string(), run);
    detail.body
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

async fn webhooks_and_manual_runs(backend: Backend) {
    let api = Api::start_with_actors(backend).await;
    let alice = api.signup("alice").await;
    let hooked = published(&api, &alice, "trigger.webhook").await;

    // publishing a webhook-triggered workflow gave it its URL, shown to editors whenever asked
    let listed = api.get(&format!("/api/workflows/{hooked}/webhooks"), &alice.token).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1), "one source made by the publish: {listed:?}");
    let url = listed.body[0]["url"].as_str().expect("an editor sees the URL").to_owned();
    assert!(url.starts_with(&api.url("/hooks/whk_")), "{url}");
    let republished = api.post(&format!("/api/workflows/{hooked}/publish"), &alice.token, json!({})).await;
    assert_eq!(republished.status, 201);
    let again = api.get(&format!("/api/workflows/{hooked}/webhooks"), &alice.token).await;
    assert_eq!(again.body.as_array().map(Vec::len), Some(1), "a second publish keeps the one source");
    assert_eq!(again.body[0]["url"], url.as_str(), "and its URL");
    let victor = api.signup("victor").await;
    api.add_member(&alice, &alice.org_id, &victor, "viewer").await;
    let as_viewer = api.get(&format!("/api/workflows/{hooked}/webhooks"), &victor.token).await;
    assert_eq!(as_viewer.status, 200);
    assert!(as_viewer.body[0]["url"].is_null(), "a viewer may not start runs, so sees no URL: {as_viewer:?}");
    assert!(!as_viewer.text.contains("/hooks/"), "{as_viewer:?}");
    let first_id = listed.body[0]["id"].as_str().unwrap();
    let refused = api.post(&format!("/api/webhooks/{first_id}/rotate"), &victor.token, json!({})).await;
    assert_eq!(refused.status, 403, "a viewer cannot rotate: {refused:?}");

    let source = api.post(&format!("/api/workflows/{hooked}/webhooks"), &alice.token, json!({})).await;
    assert_eq!(source.status, 201, "{source:?}");
    let token = source.body["token"].as_str().unwrap().to_owned();
    let url = source.body["url"].as_str().unwrap().to_owned();
    assert_eq!(url, api.url(&format!("/hooks/{token}")));
    let first = api
        .client
        .post(format!("{url}?team=first&sp=a+b&q=%C3%A9t%C3%A9&bad=%zz&team=last"))
        .header("idempotency-key", "k-1")
        .header("authorization", "Bearer sender-credential-123")
        .json(&json!({ "n": 7 }))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 202);
    let first: aos_api::Accepted = first.json().await.unwrap();
    assert!(!first.duplicate);
    let again = api.client.post(&url).header("idempotency-key", "k-1").json(&json!({ "n": 7 })).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 200, "the same key answers the first run");
    let again: aos_api::Accepted = again.json().await.unwrap();
    assert_eq!(again, aos_api::Accepted { run_id: first.run_id, duplicate: true });
    let run = first.run_id.to_string();
    let detail = run_finished(&api, &alice.token, &run).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    let shape = detail["steps"].as_array().unwrap().iter().find(|s| s["node_id"] == "shape").unwrap().clone();
    assert_eq!((shape["status"].as_str(), shape["attempts"].as_i64()), (Some("succeeded"), Some(1)));
    assert_eq!(shape["output"]["n"], 7, "{detail}");
    assert_eq!(shape["input"]["body"]["n"], 7, "the step's input (the trigger's output) is shown: {detail}");
    assert_eq!(
        shape["input"]["query"],
        json!({ "team": "last", "sp": "a b", "q": "été", "bad": "%zz" }),
        "the query string reaches the run decoded, a repeated key keeping its last value: {detail}"
    );
    assert!(shape["duration_ms"].as_i64().is_some_and(|ms| ms >= 0), "{detail}");
    let logs = api.get(&format!("/api/runs/{run}/logs"), &alice.token).await.decoded::<Vec<aos_api::RunLog>>();
    assert_eq!(logs.first().map(|row| row.event.as_str()), Some("run_started"), "{logs:?}");
    assert_eq!(logs.last().map(|row| row.event.as_str()), Some("run_finished"), "{logs:?}");

    // switching the workflow's triggers off refuses deliveries at once, and on admits them again
    let off = api
        .call("PATCH", &format!("/api/workflows/{hooked}"), Some(&alice.token), Some(json!({ "enabled": false })))
        .await;
    assert_eq!(off.status, 200, "{off:?}");
    let refused = api.client.post(&url).json(&json!({ "n": 8 })).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 409, "a disabled workflow takes no deliveries");
    let on = api
        .call("PATCH", &format!("/api/workflows/{hooked}"), Some(&alice.token), Some(json!({ "enabled": true })))
        .await;
    assert_eq!(on.status, 200, "{on:?}");
    let admitted =
        api.client.post(&url).header("idempotency-key", "k-2").json(&json!({ "n": 9 })).send().await.unwrap();
    assert_eq!(admitted.status().as_u16(), 202, "enabled again");

    let source_id = source.body["source_id"].as_str().unwrap();
    let listed = api.get(&format!("/api/workflows/{hooked}/webhooks"), &alice.token).await;
    let views = listed.decoded::<Vec<aos_api::SourceView>>();
    let shown = views.iter().find(|s| s.id.to_string() == source_id).expect("the source is listed");
    assert_eq!(shown.url.as_deref(), Some(url.as_str()), "the editor sees the same URL again: {listed:?}");
    assert_eq!(shown.settings, aos_api::WebhookSettings::default());
    assert!(!listed.text.contains("token_hash") && !listed.text.contains("token_ciphertext"), "{listed:?}");
    let events = api.get(&format!("/api/webhooks/{source_id}/events"), &alice.token).await;
    let deliveries = events.decoded::<Vec<aos_api::WebhookEvent>>();
    assert_eq!(deliveries.len(), 2, "one delivery for each key: {events:?}");
    let first = deliveries.iter().find(|e| e.body["n"] == 7 && e.run_id.is_some()).expect("the first delivery, linked");
    assert_eq!(first.query, shape["input"]["query"], "the recorded delivery keeps the query its run read");
    assert!(!events.text.contains("sender-credential-123"), "credential headers are never stored");
    let rotated = api.post(&format!("/api/webhooks/{source_id}/rotate"), &alice.token, json!({})).await;
    assert_eq!(rotated.status, 200);
    let new_url = rotated.decoded::<aos_api::SourceWithToken>();
    assert!(new_url.url.ends_with(&new_url.token) && new_url.source_id.to_string() == source_id);
    let listed = api.get(&format!("/api/workflows/{hooked}/webhooks"), &alice.token).await;
    assert!(listed.text.contains(rotated.body["url"].as_str().unwrap()), "the list shows the rotated URL: {listed:?}");
    assert!(!listed.text.contains(&url), "and no longer the old one");
    let old = api.client.post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(old.status().as_u16(), 404, "the old token stops working");
    let bad = api.client.post(rotated.body["url"].as_str().unwrap()).body("not json").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(api.call("DELETE", &format!("/api/webhooks/{source_id}"), Some(&alice.token), None).await.status, 204);
    let gone = api.client.post(rotated.body["url"].as_str().unwrap()).json(&json!({})).send().await.unwrap();
    assert_eq!(gone.status().as_u16(), 404);

    // Manual runs, filters, replay, cancel.
    let manual = published(&api, &alice, "trigger.manual").await;
    let started =
        api.post(&format!("/api/workflows/{manual}/runs"), &alice.token, json!({ "input": { "n": 1 } })).await;
    assert_eq!(started.status, 201, "{started:?}");
    let run = started.body["run_id"].as_str().unwrap().to_owned();
    assert_eq!(run_finished(&api, &alice.token, &run).await["status"], "succeeded");
    let keyed = || {
        api.client
            .post(api.url(&format!("/api/workflows/{manual}/runs")))
            .bearer_auth(&alice.token)
            .header("idempotency-key", "order-17")
            .json(&json!({ "input": { "n": 2 } }))
            .send()
    };
    let first = keyed().await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let second = keyed().await.unwrap();
    assert_eq!(second.status().as_u16(), 200, "the same key answers the first run");
    let second: serde_json::Value = second.json().await.unwrap();
    assert_eq!(first["run_id"], second["run_id"]);
    run_finished(&api, &alice.token, first["run_id"].as_str().unwrap()).await;
    let org = &alice.org_id;
    let filtered = api.get(&format!("/api/orgs/{org}/runs?workflow={manual}&status=succeeded"), &alice.token).await;
    let typed = filtered.decoded::<Vec<aos_api::Run>>();
    assert_eq!(typed.len(), 2, "{filtered:?}");
    assert!(typed.iter().all(|r| r.status == aos_schema::RunStatus::Succeeded && r.finished_at.is_some()));
    let none = api.get(&format!("/api/orgs/{org}/runs?workflow={manual}&status=failed"), &alice.token).await;
    assert!(none.body.as_array().unwrap().is_empty());
    // pages by time: the newest first, then the ones before the last shown
    let page = api.get(&format!("/api/orgs/{org}/runs?workflow={manual}&limit=1"), &alice.token).await;
    let newest = page.body[0].clone();
    assert_eq!(page.body.as_array().unwrap().len(), 1, "{page:?}");
    let before = urlencode(newest["created_at"].as_str().unwrap());
    let next = api.get(&format!("/api/orgs/{org}/runs?workflow={manual}&before={before}"), &alice.token).await;
    assert_eq!(next.body.as_array().unwrap().len(), 1, "{next:?}");
    assert_ne!(next.body[0]["id"], newest["id"]);
    let since = api.get(&format!("/api/orgs/{org}/runs?workflow={manual}&since={before}"), &alice.token).await;
    assert!(since.body.as_array().unwrap().iter().all(|r| r["id"] != next.body[0]["id"]), "{since:?}");
    let unparsable = api.get(&format!("/api/orgs/{org}/runs?since=yesterday"), &alice.token).await;
    assert_eq!(unparsable.status, 400, "{unparsable:?}");
    let replay = api.post(&format!("/api/runs/{run}/replay"), &alice.token, json!({ "from": "start" })).await;
    assert_eq!(replay.status, 201, "{replay:?}");
    let replayed = replay.decoded::<aos_api::RunCreated>().run_id.to_string();
    assert_eq!(run_finished(&api, &alice.token, &replayed).await["replay_of"], run.as_str());
    let cancel = api.post(&format!("/api/runs/{run}/cancel"), &alice.token, json!({})).await;
    assert_eq!((cancel.status, cancel.code()), (409, "run_finished"));
    let dlq = api.get(&format!("/api/orgs/{org}/dlq"), &alice.token).await;
    assert_eq!((dlq.status, dlq.decoded::<Vec<aos_api::DlqEntry>>()), (200, vec![]));
    let bulk = api.post(&format!("/api/orgs/{org}/dlq/replay"), &alice.token, json!({})).await;
    assert_eq!((bulk.status, bulk.decoded::<aos_api::BulkReplay>()), (200, aos_api::BulkReplay::default()));

    let unpublished = api.post(&format!("/api/orgs/{org}/workflows"), &alice.token, json!({ "name": "draft" })).await;
    let draft = unpublished.body["id"].as_str().unwrap();
    let refused = api.post(&format!("/api/workflows/{draft}/runs"), &alice.token, json!({})).await;
    assert_eq!((refused.status, refused.code()), (409, "not_published"));
    api.finish().await;
}

/// A run waiting in a delay is cancelled through the API: the answer says so, the run ends
/// cancelled, and a second cancel is refused.
/// A delivery to the test URL reaches the editor listening for one, shaped as a run's trigger
/// would see it (credential headers left out), and starts no run; with nobody listening it is
/// refused in words; viewers may not listen; the production URL's checks apply to it.
async fn test_events_reach_the_listener_and_start_no_run(backend: Backend) {
    let api = Api::start_with_actors(backend).await;
    let alice = api.signup("alice").await;
    let hooked = published(&api, &alice, "trigger.webhook").await;
    let listed = api.get(&format!("/api/workflows/{hooked}/webhooks"), &alice.token).await;
    let source = listed.body[0]["id"].as_str().unwrap().to_owned();
    let test_url = listed.body[0]["test_url"].as_str().expect("an editor sees the test URL").to_owned();
    assert_eq!(test_url, format!("{}/test", listed.body[0]["url"].as_str().unwrap()));

    let nobody = api.client.post(&test_url).json(&json!({ "name": "Ada" })).send().await.unwrap();
    assert_eq!(nobody.status().as_u16(), 404);
    let refusal: Value = nobody.json().await.unwrap();
    assert_eq!(refusal["error"]["code"], "not_listening", "{refusal}");
    assert!(refusal["error"]["message"].as_str().unwrap().contains("Listen for a test event"), "{refusal}");

    let listen = {
        let (client, url, token) =
            (api.client.clone(), api.url(&format!("/api/webhooks/{source}/test-event?wait=20")), alice.token.clone());
        tokio::spawn(async move { client.get(url).bearer_auth(token).send().await.unwrap().json::<Value>().await })
    };
    // the listener is subscribed once its request has reached the server: send until it takes one
    let mut delivered = None;
    for _ in 0..100 {
        let sent = api
            .client
            .post(format!("{test_url}?team=a+b"))
            .header("authorization", "Bearer sender-credential-123")
            .header("x-origin", "crm")
            .json(&json!({ "name": "Ada", "n": 7 }))
            .send()
            .await
            .unwrap();
        if sent.status().as_u16() == 200 {
            delivered = Some(sent.json::<aos_api::TestDelivered>().await.unwrap());
            break;
        }
        assert_eq!(sent.status().as_u16(), 404, "only 'nobody listens' while the listener connects");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered, Some(aos_api::TestDelivered { listeners: 1 }));
    let heard: aos_api::TestEventWait = serde_json::from_value(listen.await.unwrap().unwrap()).unwrap();
    let event = heard.event.expect("the listener got the delivery");
    assert_eq!(event.source_id.to_string(), source);
    assert_eq!(event.body, json!({ "name": "Ada", "n": 7 }), "the body arrives as JSON, as trigger.body would");
    assert_eq!(event.query, json!({ "team": "a b" }).as_object().unwrap().clone());
    assert_eq!(event.headers.get("x-origin"), Some(&json!("crm")));
    assert!(!event.headers.contains_key("authorization"), "credential headers are left out: {event:?}");

    let runs = api.get(&format!("/api/orgs/{}/runs?workflow={hooked}", alice.org_id), &alice.token).await;
    assert_eq!(runs.body.as_array().map(Vec::len), Some(0), "a test event starts no run: {runs:?}");
    let recorded = api.get(&format!("/api/webhooks/{source}/events"), &alice.token).await;
    assert_eq!(recorded.body.as_array().map(Vec::len), Some(0), "nor is it recorded: {recorded:?}");

    // nothing arrives: the wait ends with no event; bad waits and viewers are refused
    let quiet = api.get(&format!("/api/webhooks/{source}/test-event?wait=1"), &alice.token).await;
    assert_eq!((quiet.status, quiet.body["event"].clone()), (200, Value::Null), "{quiet:?}");
    let too_long = api.get(&format!("/api/webhooks/{source}/test-event?wait=3600"), &alice.token).await;
    assert_eq!(too_long.status, 400, "{too_long:?}");
    let victor = api.signup("victor").await;
    api.add_member(&alice, &alice.org_id, &victor, "viewer").await;
    let as_viewer = api.get(&format!("/api/webhooks/{source}/test-event?wait=1"), &victor.token).await;
    assert_eq!(as_viewer.status, 403, "{as_viewer:?}");
    // the production URL's checks: a body that is not JSON, an unknown token
    let test_path = test_url.trim_start_matches(&api.url("")).to_owned();
    let garbled = api.raw("POST", &test_path, None, b"{not json".to_vec()).await;
    assert_eq!(garbled.status, 400, "{garbled:?}");
    let unknown = api.raw("POST", "/hooks/whk_nosuchtoken/test", None, b"{}".to_vec()).await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert_eq!(unknown.code(), "not_found", "{unknown:?}");
    api.finish().await;
}

async fn a_cancelled_run_stops(backend: Backend) {
    let api = Api::start_with_actors(backend).await;
    let alice = api.signup("alice").await;
    let mut graph = runnable_graph("trigger.manual");
    graph["nodes"].as_array_mut().unwrap().push(json!({ "id": "wait", "kind": "logic.delay", "label": "Wait",
        "position": { "x": 400.0, "y": 0.0 }, "config": { "seconds": 3600 } }));
    graph["edges"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "id": "e2", "from": "shape", "from_port": "out", "to": "wait", "to_port": "in" }));
    let wf = published_graph(&api, &alice, graph).await;
    let started = api.post(&format!("/api/workflows/{wf}/runs"), &alice.token, json!({ "input": { "n": 1 } })).await;
    let run = started.decoded::<aos_api::RunCreated>().run_id;
    let cancel = api.post(&format!("/api/runs/{run}/cancel"), &alice.token, json!({})).await;
    assert_eq!(cancel.status, 200, "{cancel:?}");
    assert_eq!(
        cancel.decoded::<aos_api::Cancelled>(),
        aos_api::Cancelled { run_id: run, status: RunStatus::Cancelled }
    );
    let detail = run_finished(&api, &alice.token, &run.to_string()).await;
    assert_eq!(detail["status"], "cancelled", "{detail}");
    let again = api.post(&format!("/api/runs/{run}/cancel"), &alice.token, json!({})).await;
    assert_eq!((again.status, again.code()), (409, "run_finished"));
    api.finish().await;
}

async fn secrets_are_write_only(backend: Backend) {
    let api = Api::start(backend).await;
    let alice = api.signup("alice").await;
    let org = &alice.org_id;
    let value = "sk-very-secret-value-123";
    let created = api
        .post(&format!("/api/orgs/{org}/secrets"), &alice.token, json!({ "name": "SLACK_TOKEN", "value": value }))
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert!(!created.text.contains(value));
    let dup = api
        .post(&format!("/api/orgs/{org}/secrets"), &alice.token, json!({ "name": "SLACK_TOKEN", "value": "x" }))
        .await;
    assert_eq!((dup.status, dup.code()), (409, "secret_exists"));
    let bad =
        api.post(&format!("/api/orgs/{org}/secrets"), &alice.token, json!({ "name": "no spaces", "value": "x" })).await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_input"));
    let updated = api
        .call(
            "PUT",
            &format!("/api/orgs/{org}/secrets/SLACK_TOKEN"),
            Some(&alice.token),
            Some(json!({ "value": "new-value-456" })),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert!(!updated.text.contains("new-value-456"));
    let missing = api
        .call("PUT", &format!("/api/orgs/{org}/secrets/NOPE"), Some(&alice.token), Some(json!({ "value": "v" })))
        .await;
    assert_eq!(missing.status, 404);
    let list = api.get(&format!("/api/orgs/{org}/secrets"), &alice.token).await;
    assert_eq!(list.body[0]["name"], "SLACK_TOKEN");
    assert!(list.body[0].get("value").is_none());
    assert!(!list.text.contains(value) && !list.text.contains("new-value-456"));
    let org_id: aos_schema::OrgId = org.parse().unwrap();
    let audit = api.store.audit().list(org_id, &AuditQuery { limit: Some(100), ..Default::default() }).await.unwrap();
    assert!(audit.iter().any(|row| row.action.starts_with("secret.")), "secret writes are audited");
    assert!(audit.iter().all(|row| !row.detail.contains(value) && !row.detail.contains("new-value-456")));
    let revealed = api
        .store
        .secrets()
        .reveal(
            org_id,
            "SLACK_TOKEN",
            &aos_persistence::SecretUse { by: aos_persistence::By::System, purpose: "test".into() },
        )
        .await
        .unwrap();
    assert_eq!(revealed.expose(), "new-value-456", "the vault holds the updated value");
    assert_eq!(
        api.call("DELETE", &format!("/api/orgs/{org}/secrets/SLACK_TOKEN"), Some(&alice.token), None).await.status,
        204
    );
    assert!(api.get(&format!("/api/orgs/{org}/secrets"), &alice.token).await.body.as_array().unwrap().is_empty());
    api.finish().await;
}

async fn admin_sees_the_actor_tree(backend: Backend) {
    let api = Api::start_with_actors(backend).await;
    let root = api.signup_platform_admin().await;
    let alice = api.signup("alice").await;
    let tree = api.get("/api/admin/actors", &root.token).await;
    assert_eq!(tree.status, 200, "{tree:?}");
    let typed: Vec<aos_api::ActorView> = tree.decoded();
    assert_eq!(typed[0].kind, "root");
    let top = &tree.body[0];
    assert_eq!(top["kind"], "root");
    for field in ["id", "name", "status", "mailbox", "restarts", "children"] {
        assert!(top.get(field).is_some(), "missing {field}: {top}");
    }
    let names: Vec<&str> = top["children"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(names.contains(&"runs"), "{names:?}");
    let refused = api.get("/api/admin/actors", &alice.token).await;
    assert_eq!(refused.status, 404, "not a platform admin");

    // restart then stop one actor (a workflow's, started by a publish), audited in the admin's org
    let org = root.org_id.clone();
    let created = api
        .call("POST", &format!("/api/orgs/{org}/workflows"), Some(&root.token), Some(json!({ "name": "Ops" })))
        .await;
    let wf = created.body["id"].as_str().unwrap().to_owned();
    let graph = json!({ "nodes": [
        { "id": "start", "kind": "trigger.manual", "label": "", "position": { "x": 0.0, "y": 0.0 }, "config": {} }
    ], "edges": [] });
    let put = api.call("PUT", &format!("/api/workflows/{wf}/graph"), Some(&root.token), Some(graph)).await;
    assert!(put.status < 300, "{put:?}");
    let published = api.call("POST", &format!("/api/workflows/{wf}/publish"), Some(&root.token), None).await;
    assert_eq!(published.status, 201, "{published:?}");
    fn find<'a>(nodes: &'a Value, kind: &str, name: &str) -> Option<&'a Value> {
        nodes.as_array()?.iter().find_map(|n| {
            if n["kind"] == kind && n["name"] == name { Some(n) } else { find(&n["children"], kind, name) }
        })
    }
    let tree = api.get("/api/admin/actors", &root.token).await.body;
    let actor = find(&tree, "workflow", &wf).expect("the publish went through the workflow's actor").clone();
    let audited = api.audit_rows(&org).await;
    let restarted = api
        .call("POST", &format!("/api/admin/actors/{}/restart", actor["id"].as_str().unwrap()), Some(&root.token), None)
        .await;
    assert_eq!(restarted.status, 200, "{restarted:?}");
    let restarted: aos_api::ActorControlled = restarted.decoded();
    assert_eq!((restarted.id.as_str(), restarted.status.as_str()), (actor["id"].as_str().unwrap(), "restarted"));
    let tree = api.get("/api/admin/actors", &root.token).await.body;
    let again = find(&tree, "workflow", &wf).expect("running again").clone();
    let stopped = api
        .call("POST", &format!("/api/admin/actors/{}/stop", again["id"].as_str().unwrap()), Some(&root.token), None)
        .await;
    assert_eq!(stopped.status, 200, "{stopped:?}");
    let gone = wait_until(Duration::from_secs(2), || async {
        find(&api.get("/api/admin/actors", &root.token).await.body, "workflow", &wf).is_none()
    })
    .await;
    assert!(gone, "the stopped actor left the tree");
    assert_eq!(api.audit_rows(&org).await, audited + 2, "both actions audited");
    let runs_supervisor = find(&tree, "supervisor", "runs").unwrap();
    let refused = api
        .call(
            "POST",
            &format!("/api/admin/actors/{}/stop", runs_supervisor["id"].as_str().unwrap()),
            Some(&root.token),
            None,
        )
        .await;
    assert_eq!((refused.status, refused.code()), (409, "not_controllable"), "{refused:?}");
    let missing = api.call("POST", "/api/admin/actors/999999999/restart", Some(&root.token), None).await;
    assert_eq!(missing.status, 404);
    let by_alice = api.call("POST", "/api/admin/actors/1/stop", Some(&alice.token), None).await;
    assert_eq!(by_alice.status, 404, "not a platform admin");
    api.finish().await;
}

/// A workflow with a respond-to-webhook step answers the request that started the run with the
/// step's status, headers and body; where the run never reaches the step (a condition routes
/// around it), the request answers `202 {run_id}` once the run has ended.
async fn a_respond_step_answers_the_webhook_request(backend: Backend) {
    let api = Api::start_with_actors(backend).await;
    let alice = api.signup("alice").await;
    let graph = json!({
        "nodes": [
            { "id": "start", "kind": "trigger.webhook", "label": "Start", "position": { "x": 0.0, "y": 0.0 }, "config": {} },
            { "id": "known", "kind": "logic.condition", "label": "Known?", "position": { "x": 200.0, "y": 0.0 },
              "config": { "condition": "{{ input.body.name is defined }}" } },
            { "id": "answer", "kind": "webhook.respond", "label": "Answer", "position": { "x": 400.0, "y": 0.0 },
              "config": { "status": 201, "headers": { "x-answered-by": "automateos", "content-length": "1",
                          "content-type": "text/html", "set-cookie": "session=stolen", "x-frame-options": "ALLOW" },
                          "body": "{{ 'hi ' ~ input.body.name }}" } }
        ],
        "edges": [
            { "id": "e1", "from": "start", "from_port": "out", "to": "known", "to_port": "in" },
            { "id": "e2", "from": "known", "from_port": "true", "to": "answer", "to_port": "in" }
        ]
    });
    let id = published_graph(&api, &alice, graph).await;
    let listed = api.get(&format!("/api/workflows/{id}/webhooks"), &alice.token).await;
    let url = listed.body[0]["url"].as_str().unwrap().to_owned();

    let answered = api.client.post(&url).json(&json!({ "name": "Ada" })).send().await.unwrap();
    assert_eq!(answered.status().as_u16(), 201);
    assert_eq!(answered.headers()["x-answered-by"], "automateos");
    // an answer is sandboxed and cannot set cookies or loosen the origin's policy: HTML a workflow
    // answers runs no script as the apps' origin
    assert_eq!(answered.headers()["content-security-policy"], "sandbox");
    assert!(answered.headers().get("set-cookie").is_none());
    assert_eq!(answered.headers()["x-frame-options"], "DENY");
    assert_eq!(answered.headers()["content-type"], "text/html");
    assert_eq!(answered.text().await.unwrap(), "hi Ada", "the body is the step's, text as it is");

    let routed_around = api.client.post(&url).json(&json!({ "other": 1 })).send().await.unwrap();
    assert_eq!(routed_around.status().as_u16(), 202, "no respond step ran: the usual answer");
    let accepted: aos_api::Accepted = routed_around.json().await.unwrap();
    let detail = run_finished(&api, &alice.token, &accepted.run_id.to_string()).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    let answer = detail["steps"].as_array().unwrap().iter().find(|s| s["node_id"] == "answer").unwrap().clone();
    assert_eq!(answer["status"], "skipped", "{detail}");
}
