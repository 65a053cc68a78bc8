//! Live editing and run events through the real server on SQLite and Postgres: a y-websocket client
//! authenticated by `?token=` edits the workflow's doc and the API reads the edit; a graph written
//! over the API reaches the open editor as a CRDT change, and so does a revert to a published
//! version; a viewer syncs read-only; a bad token and another org's workflow are refused before the
//! upgrade; `/ws/events` streams a run to its end.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;
#[path = "../../realtime/tests/support/mod.rs"]
mod yjs;

use std::time::Duration;

use aos_persistence::Backend;
use aos_persistence::testing::wait_until;
use aos_schema::Node;
use futures_util::StreamExt;
use serde_json::json;
use support_api::Api;
use yjs::{YClient, eventually};

both_backends!(editors_and_the_api_share_the_live_doc, run_events_stream_to_the_end);

fn ws(api: &Api, path: &str) -> String {
    format!("ws://{}{path}", api.addr)
}

async fn editors_and_the_api_share_the_live_doc(backend: Backend) {
    let api = Api::start_with_actors(backend).await;
    let alice = api.signup("alice").await;
    let org = alice.org_id.clone();
    let created = api
        .call("POST", &format!("/api/orgs/{org}/workflows"), Some(&alice.token), Some(json!({ "name": "Live" })))
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.body["id"].as_str().unwrap().to_owned();

    let editor = YClient::connect(&ws(&api, &format!("/ws/docs/{id}?token={}", alice.token))).await;
    eventually("the editor synced the skeleton", || editor.synced() && editor.has_skeleton()).await;
    editor.add_node(&Node::new("start", "trigger.manual"));
    let seen = wait_until(Duration::from_secs(4), || async {
        let read = api.get(&format!("/api/workflows/{id}"), &alice.token).await;
        read.body["graph"]["nodes"].as_array().is_some_and(|n| n.iter().any(|n| n["id"] == "start"))
    })
    .await;
    assert!(seen, "the API reads the editor's node from the live doc");

    let graph = json!({ "nodes": [
        { "id": "start", "kind": "trigger.manual", "label": "Start", "position": { "x": 0.0, "y": 0.0 }, "config": {} },
        { "id": "shape", "kind": "data.transform", "label": "", "position": { "x": 200.0, "y": 0.0 },
          "config": { "fields": { "a": "1" } } }
    ], "edges": [ { "id": "e1", "from": "start", "from_port": "out", "to": "shape", "to_port": "in" } ] });
    let put = api.call("PUT", &format!("/api/workflows/{id}/graph"), Some(&alice.token), Some(graph.clone())).await;
    assert!(put.status < 300, "{put:?}");
    eventually("the editor sees the graph written over the API", || {
        let graph = editor.graph();
        graph.nodes.iter().any(|n| n.id.as_str() == "shape") && graph.edges.len() == 1
    })
    .await;
    let published = api.call("POST", &format!("/api/workflows/{id}/publish"), Some(&alice.token), None).await;
    assert_eq!(published.status, 201, "publishing reads the live doc: {published:?}");

    // version 2 adds a step; reverting to version 1 writes its graph into the live doc, so the
    // open editor loses the step again
    let mut grown = graph.clone();
    grown["nodes"].as_array_mut().unwrap().push(
        json!({ "id": "later", "kind": "logic.delay", "label": "Later", "position": { "x": 400.0, "y": 0.0 }, "config": { "seconds": 1 } }),
    );
    grown["edges"].as_array_mut().unwrap().push(json!({ "id": "e2", "from": "shape", "to": "later" }));
    let put = api.call("PUT", &format!("/api/workflows/{id}/graph"), Some(&alice.token), Some(grown)).await;
    assert!(put.status < 300, "{put:?}");
    let second = api.call("POST", &format!("/api/workflows/{id}/publish"), Some(&alice.token), None).await;
    assert_eq!(second.status, 201, "{second:?}");
    eventually("the editor sees version 2's step", || editor.graph().nodes.iter().any(|n| n.id.as_str() == "later"))
        .await;
    let reverted =
        api.call("POST", &format!("/api/workflows/{id}/versions/1/revert"), Some(&alice.token), Some(json!({}))).await;
    assert_eq!(reverted.status, 200, "{reverted:?}");
    eventually("the editor sees version 1's graph after the revert", || {
        let graph = editor.graph();
        graph.nodes.len() == 2 && graph.edges.len() == 1 && graph.node("later").is_none()
    })
    .await;

    // a viewer syncs but may not write
    let bob = api.signup("bob").await;
    let added = api
        .call(
            "POST",
            &format!("/api/orgs/{org}/members"),
            Some(&alice.token),
            Some(json!({ "email": bob.email, "role": "viewer" })),
        )
        .await;
    assert!(added.status < 300, "{added:?}");
    let viewer = YClient::connect(&ws(&api, &format!("/ws/docs/{id}?token={}", bob.token))).await;
    eventually("the viewer synced the graph", || viewer.synced() && viewer.graph().nodes.len() == 2).await;
    viewer.add_node(&Node::new("sneaky", "trigger.manual"));
    eventually("the viewer is told it may not write", || viewer.denied() > 0).await;
    let read = api.get(&format!("/api/workflows/{id}"), &alice.token).await;
    assert!(!read.body["graph"]["nodes"].as_array().unwrap().iter().any(|n| n["id"] == "sneaky"), "{read:?}");

    // refused before the upgrade: no token, a forged one, another org's workflow
    for (query, status) in [
        (String::new(), 401),
        ("?token=not-a-token".to_owned(), 401),
        (format!("?token={}", api.signup("carol").await.token), 404),
    ] {
        let refused = tokio_tungstenite::connect_async(ws(&api, &format!("/ws/docs/{id}{query}"))).await;
        match refused {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), status, "{query}")
            }
            other => panic!("{query}: expected a refusal, got {other:?}"),
        }
    }
    api.finish().await;
}

async fn run_events_stream_to_the_end(backend: Backend) {
    let api = Api::start_with_actors(backend).await;
    let alice = api.signup("alice").await;
    let org = alice.org_id.clone();
    let created = api
        .call("POST", &format!("/api/orgs/{org}/workflows"), Some(&alice.token), Some(json!({ "name": "Ev" })))
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let graph = json!({ "nodes": [
        { "id": "start", "kind": "trigger.manual", "label": "", "position": { "x": 0.0, "y": 0.0 }, "config": {} }
    ], "edges": [] });
    api.call("PUT", &format!("/api/workflows/{id}/graph"), Some(&alice.token), Some(graph)).await;
    let published = api.call("POST", &format!("/api/workflows/{id}/publish"), Some(&alice.token), None).await;
    assert_eq!(published.status, 201, "{published:?}");
    let run =
        api.call("POST", &format!("/api/workflows/{id}/runs"), Some(&alice.token), Some(json!({ "input": {} }))).await;
    assert_eq!(run.status, 201, "{run:?}");
    let run_id = run.body["run_id"].as_str().unwrap().to_owned();
    let url = ws(&api, &format!("/ws/events?run={run_id}&after=0&token={}", alice.token));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("events connect");
    let mut events = Vec::new();
    let finished = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(message)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                events.push(text.to_string());
                if text.contains("run_finished") {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(finished, Ok(true), "the stream reached the run's end: {events:?}");
    assert!(events.iter().any(|e| e.contains("step_succeeded")), "{events:?}");
    let neither = tokio_tungstenite::connect_async(ws(&api, &format!("/ws/events?token={}", alice.token))).await;
    assert!(matches!(neither, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status().as_u16() == 400));
    api.finish().await;
}
