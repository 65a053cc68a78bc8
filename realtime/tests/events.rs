//! Run events over a real WebSocket: catch-up from the run log after a sequence number, live rows
//! as they are appended, per workflow and per run, on SQLite and Postgres.

use std::collections::HashMap;
use std::time::Duration;

use aos_persistence::testing::{TestContext, published_workflow, queued_run};
use aos_persistence::{NewRunLog, Store};
use aos_realtime::{EventHub, EventScope, EventsConfig, EventsSession};
use aos_schema::{Node, RunId, WorkflowGraph, WorkflowId};
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn serve(hub: EventHub) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    async fn ws_events(
        State(hub): State<EventHub>,
        Query(query): Query<HashMap<String, String>>,
        upgrade: WebSocketUpgrade,
    ) -> Response {
        let scope = match (query.get("workflow"), query.get("run")) {
            (Some(w), None) => w.parse::<WorkflowId>().ok().map(EventScope::Workflow),
            (None, Some(r)) => r.parse::<RunId>().ok().map(EventScope::Run),
            _ => None,
        };
        let Some(scope) = scope else { return (axum::http::StatusCode::BAD_REQUEST, "scope").into_response() };
        let after = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
        let session = EventsSession { hub, scope, after };
        upgrade.on_upgrade(move |socket| async move {
            let _end = session.serve_axum(socket).await;
        })
    }
    let app = axum::Router::new().route("/ws/events", axum::routing::get(ws_events)).with_state(hub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _stopped = axum::serve(listener, app).await;
    });
    (addr, server)
}

async fn log(store: &Store, ids: (aos_schema::OrgId, WorkflowId, RunId), event: &'static str, n: i64) -> i64 {
    let (org_id, workflow_id, run_id) = ids;
    let row = NewRunLog {
        run_id,
        org_id,
        workflow_id,
        node_id: Some("start".into()),
        level: "info",
        event,
        message: format!("row {n}"),
        data: json!({"n": n}),
    };
    store.runs().append_log(&row).await.unwrap().seq
}

/// Reads text frames until `count` events arrived (bounded by a timeout).
async fn read_events<S>(socket: &mut S, count: usize) -> Vec<Value>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut events = Vec::new();
    while events.len() < count {
        let next = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("an event in time");
        match next {
            Some(Ok(Message::Text(text))) => events.push(serde_json::from_str(&text).unwrap()),
            Some(Ok(_)) => {}
            other => panic!("socket ended early: {other:?}"),
        }
    }
    events
}

async fn catch_up_then_follow_live_rows_without_gaps_or_repeats(ctx: TestContext) {
    let graph = WorkflowGraph::new().with_node(Node::new("start", "trigger.manual"));
    let published = published_workflow(&ctx.store, &graph).await;
    let run_a = queued_run(&ctx.store, published, json!({})).await;
    let run_b = queued_run(&ctx.store, published, json!({})).await;
    let a = (published.org, published.workflow, run_a);
    let b = (published.org, published.workflow, run_b);
    let first = log(&ctx.store, a, "step_started", 1).await;
    log(&ctx.store, b, "step_started", 2).await;
    log(&ctx.store, a, "step_succeeded", 3).await;

    let config = EventsConfig { page: 2, ..EventsConfig::default() };
    let (addr, server) = serve(EventHub::new(ctx.store.clone(), config)).await;

    // the workflow's stream from the start: three old rows (two pages), then live ones
    let url = format!("ws://{addr}/ws/events?workflow={}", published.workflow);
    let (mut all, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    // resumed after the first row, run b only
    let url = format!("ws://{addr}/ws/events?run={run_b}&after={first}");
    let (mut only_b, _) = tokio_tungstenite::connect_async(url).await.unwrap();

    let old = read_events(&mut all, 3).await;
    let messages: Vec<&str> = old.iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["row 1", "row 2", "row 3"]);
    for n in 4..=8 {
        log(&ctx.store, if n % 2 == 0 { b } else { a }, "step_finished", n).await;
    }
    let live = read_events(&mut all, 5).await;
    let numbers: Vec<i64> = live.iter().map(|e| e["data"]["n"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [4, 5, 6, 7, 8]);
    let seqs: Vec<i64> = old.iter().chain(&live).map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, no repeats: {seqs:?}");

    let b_events = read_events(&mut only_b, 4).await;
    let numbers: Vec<i64> = b_events.iter().map(|e| e["data"]["n"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [2, 4, 6, 8]);
    assert!(b_events.iter().all(|e| e["run_id"] == json!(run_b.to_string())));
    assert_eq!(b_events[0]["event"], "step_started");

    // resuming from the last seen row gives only what came after
    let last = seqs[seqs.len() - 1];
    log(&ctx.store, a, "run_finished", 9).await;
    let url = format!("ws://{addr}/ws/events?workflow={}&after={last}", published.workflow);
    let (mut resumed, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let after = read_events(&mut resumed, 1).await;
    assert_eq!(after[0]["data"]["n"], 9);
    server.abort();
}

aos_persistence::conformance_suite!(catch_up_then_follow_live_rows_without_gaps_or_repeats);
