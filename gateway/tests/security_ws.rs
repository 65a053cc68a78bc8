//! Tenancy on the WebSocket endpoints, through the real server: another org's doc room
//! (`/ws/docs/{id}`) and event streams (`/ws/events?workflow=…`, `?run=…`) are refused before the
//! upgrade with the same `404` as ids that do not exist, for access tokens and for API keys of
//! another org alike; the owner's own connections are accepted (the control).

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use aos_persistence::Backend;
use serde_json::json;
use support_api::{Api, runnable_graph};
use tokio_tungstenite::tungstenite::Error as WsError;

both_backends!(other_orgs_doc_rooms_and_event_streams_are_refused);

/// The HTTP status of a WebSocket handshake to `path` (101 when it upgraded).
async fn handshake(api: &Api, path: &str) -> u16 {
    match tokio_tungstenite::connect_async(format!("ws://{}{path}", api.addr)).await {
        Ok((mut socket, response)) => {
            let _ = socket.close(None).await;
            response.status().as_u16()
        }
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("{path}: {other:?}"),
    }
}

async fn other_orgs_doc_rooms_and_event_streams_are_refused(backend: Backend) {
    let api = Api::start_with_actors(backend).await;
    let alice = api.signup("alice").await;
    let mallory = api.signup("mallory").await;
    let created =
        api.post(&format!("/api/orgs/{}/workflows", alice.org_id), &alice.token, json!({ "name": "Private" })).await;
    assert_eq!(created.status, 201, "{created:?}");
    let workflow = created.body["id"].as_str().unwrap().to_owned();
    let graph = api
        .call(
            "PUT",
            &format!("/api/workflows/{workflow}/graph"),
            Some(&alice.token),
            Some(runnable_graph("trigger.manual")),
        )
        .await;
    assert!(graph.status < 300, "{graph:?}");
    let published = api.call("POST", &format!("/api/workflows/{workflow}/publish"), Some(&alice.token), None).await;
    assert_eq!(published.status, 201, "{published:?}");
    let run = api.post(&format!("/api/workflows/{workflow}/runs"), &alice.token, json!({ "input": { "n": 1 } })).await;
    assert_eq!(run.status, 201, "{run:?}");
    let run_id = run.body["run_id"].as_str().unwrap().to_owned();
    let key = api
        .post(
            &format!("/api/orgs/{}/api-keys", mallory.org_id),
            &mallory.token,
            json!({ "name": "k", "role": "owner" }),
        )
        .await;
    assert_eq!(key.status, 201, "{key:?}");
    let mallory_key = key.body["key"].as_str().unwrap().to_owned();

    let paths = |token: &str| {
        [
            format!("/ws/docs/{workflow}?token={token}"),
            format!("/ws/events?workflow={workflow}&token={token}"),
            format!("/ws/events?run={run_id}&after=0&token={token}"),
        ]
    };
    for path in paths(&alice.token) {
        assert_eq!(handshake(&api, &path).await, 101, "the owner connects: {path}");
    }
    for token in [&mallory.token, &mallory_key] {
        for path in paths(token) {
            assert_eq!(handshake(&api, &path).await, 404, "another org is refused: {path}");
        }
    }
    // the same answer as for ids that do not exist, so ids cannot be probed
    let unknown_workflow = uuid::Uuid::new_v4();
    let unknown_run = uuid::Uuid::new_v4();
    for path in [
        format!("/ws/docs/{unknown_workflow}?token={}", mallory.token),
        format!("/ws/events?workflow={unknown_workflow}&token={}", mallory.token),
        format!("/ws/events?run={unknown_run}&token={}", mallory.token),
    ] {
        assert_eq!(handshake(&api, &path).await, 404, "{path}");
    }
    // no token, or a bad one: 401 before anything is looked up
    for path in [format!("/ws/events?run={run_id}"), format!("/ws/docs/{workflow}?token=aosk_not-a-key")] {
        assert_eq!(handshake(&api, &path).await, 401, "{path}");
    }
    api.finish().await;
}
