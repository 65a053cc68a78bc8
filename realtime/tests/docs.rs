//! Live co-editing end to end: a real server on 127.0.0.1:0, Rust yrs clients over real
//! WebSockets, the update log on SQLite and Postgres.

mod support;

use std::time::Duration;

use aos_persistence::testing::TestContext;
use aos_persistence::testing::wait_until;
use aos_persistence::{Keyring, Store};
use aos_realtime::{READ_ONLY_REASON, RoomConfig, SessionConfig, close_code};
use aos_schema::{Edge, Node, WorkflowGraph, WorkflowId};
use serde_json::json;
use support::{ServerOptions, TestServer, YClient, eventually};
use yrs::{Map, Out, ReadTxn};

fn node(id: &str, kind: &str) -> Node {
    Node::new(id, kind)
}

async fn synced(server: &TestServer, workflow: WorkflowId, token: &str) -> YClient {
    let client = YClient::connect(&server.url(workflow, token)).await;
    eventually("the client synced", || client.synced()).await;
    client
}

/// Each editor adds its own node to what it sees, at the same time; all converge on every node.
async fn editors_converge_concurrently(ctx: TestContext) {
    let server = TestServer::start(ctx.store.clone()).await;
    let workflow = WorkflowId::new();
    let alice = synced(&server, workflow, "alice").await;
    let bob = synced(&server, workflow, "bob").await;
    let carol = synced(&server, workflow, "carol").await;

    alice.add_node(&node("start", "trigger.manual"));
    bob.add_node(&node("fetch", "http.request").with_config("url", "https://b"));
    carol.add_node(&node("wait", "logic.delay").with_config("seconds", 5));
    // concurrent field edits: each client writes single keys, so nothing of the others' is undone
    for round in 0..5 {
        alice.edit(|txn| set_label(txn, "start", &format!("alice {round}")));
        bob.edit(|txn| set_label(txn, "fetch", &format!("bob {round}")));
    }

    let all = |c: &YClient| c.graph().nodes.len() == 3;
    eventually("every editor sees every node", || all(&alice) && all(&bob) && all(&carol)).await;
    eventually("every editor converges", || {
        alice.graph() == bob.graph()
            && bob.graph() == carol.graph()
            && alice.graph().node("start").unwrap().label == "alice 4"
    })
    .await;
    let expected = alice.graph();
    assert_eq!(expected.node("fetch").unwrap().label, "bob 4");
    assert_eq!(server.rooms.graph(workflow).await.unwrap().graph, expected);
    server.stop().await;
}

fn set_label(txn: &mut yrs::TransactionMut, id: &str, label: &str) {
    let root = txn.get_map(aos_schema::doc::ROOT).unwrap();
    let Some(Out::YMap(nodes)) = root.get(txn, aos_schema::doc::NODES) else { panic!("no nodes") };
    if let Some(Out::YMap(node)) = nodes.get(txn, id) {
        node.insert(txn, "label", label);
    }
}

/// A client edits while offline; its edits merge with what happened meanwhile when it reconnects.
async fn an_offline_client_merges_on_reconnect(ctx: TestContext) {
    let server = TestServer::start(ctx.store.clone()).await;
    let workflow = WorkflowId::new();
    let alice = synced(&server, workflow, "alice").await;
    let bob = synced(&server, workflow, "bob").await;
    let base = WorkflowGraph::new().with_node(node("start", "trigger.manual")).with_node(node("wait", "logic.delay"));
    alice.write_graph(&base);
    eventually("bob has the base", || bob.graph() == base).await;

    let offline = bob.disconnect();
    // online: alice renames `start`; offline: bob moves `wait` and connects the two
    let mut on_alice = base.clone();
    on_alice.node_mut("start").unwrap().label = "Go".into();
    alice.write_graph(&on_alice);
    let mut on_bob = base.clone().with_edge(Edge::new("e1", "start", "wait"));
    on_bob.node_mut("wait").unwrap().position.x = 300.0;
    {
        let mut txn = yrs::Transact::transact_mut(&offline);
        aos_schema::doc::apply_graph(&mut txn, &on_bob).unwrap();
    }

    let bob = YClient::connect_with(&server.url(workflow, "bob"), offline).await;
    let mut expected = on_bob.clone();
    expected.node_mut("start").unwrap().label = "Go".into();
    let expected = expected.sorted();
    eventually("both converge on both edits", || alice.graph() == expected && bob.graph() == expected).await;
    server.stop().await;
}

/// Someone joining after many edits gets the whole doc.
async fn a_late_joiner_gets_the_full_state(ctx: TestContext) {
    let server = TestServer::start(ctx.store.clone()).await;
    let workflow = WorkflowId::new();
    let alice = synced(&server, workflow, "alice").await;
    let mut graph = WorkflowGraph::new();
    for i in 0..20 {
        graph = graph.with_node(node(&format!("n{i:02}"), "logic.delay").with_position(i as f64, 0.0));
        alice.write_graph(&graph);
    }
    let late = synced(&server, workflow, "carol").await;
    eventually("the late joiner has everything", || late.graph() == graph).await;
    server.stop().await;
}

/// A viewer's write is refused with a y-websocket permission-denied message; it stays connected,
/// keeps receiving, and the room and its editors are untouched.
async fn viewer_writes_are_refused_and_the_room_is_unharmed(ctx: TestContext) {
    let server = TestServer::start(ctx.store.clone()).await;
    let workflow = WorkflowId::new();
    let alice = synced(&server, workflow, "alice").await;
    let viewer = synced(&server, workflow, "viewer").await;
    let base = WorkflowGraph::new().with_node(node("start", "trigger.manual"));
    alice.write_graph(&base);
    eventually("the viewer sees the editor's work", || viewer.graph() == base).await;

    viewer.write_graph(&WorkflowGraph::new().with_node(node("vandal", "logic.delay")));
    eventually("the viewer is told no", || viewer.denied() == 1).await;
    assert_eq!(viewer.seen.lock().unwrap().denied, [READ_ONLY_REASON]);
    assert_eq!(server.rooms.graph(workflow).await.unwrap().graph, base);
    assert!(viewer.closed().is_none());

    let next = base.clone().with_node(node("wait", "logic.delay"));
    alice.write_graph(&next);
    eventually("the viewer still receives", || viewer.graph().node("wait").is_some()).await;
    assert!(alice.graph().node("vandal").is_none());
    let late = synced(&server, workflow, "bob").await;
    assert_eq!(late.graph(), next);
    server.stop().await;
}

/// A corrupt frame and an oversized frame each close their own sender; the others carry on.
async fn corrupt_and_oversized_frames_close_only_their_sender(ctx: TestContext) {
    let server = TestServer::start(ctx.store.clone()).await;
    let workflow = WorkflowId::new();
    let good = synced(&server, workflow, "alice").await;
    let corrupt = synced(&server, workflow, "bob").await;
    let huge = synced(&server, workflow, "carol").await;

    corrupt.send_raw(vec![0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]);
    huge.send_raw(vec![0; 100 * 1024]);
    eventually("the corrupt client is closed", || corrupt.closed().is_some()).await;
    eventually("the oversized client is closed", || huge.closed().is_some()).await;
    assert_eq!(corrupt.closed().unwrap().0, 1007, "{:?}", corrupt.closed());
    assert_eq!(huge.closed().unwrap().0, close_code::TOO_BIG, "{:?}", huge.closed());

    let graph = WorkflowGraph::new().with_node(node("still", "trigger.manual"));
    good.write_graph(&graph);
    let other = synced(&server, workflow, "carol").await;
    eventually("the room still works", || other.graph() == graph).await;
    assert!(good.closed().is_none());
    server.stop().await;
}

/// Every edit the server acknowledged as saved survives dropping the server and its rooms and
/// starting again on the same database, with a snapshot in the middle of the log.
async fn a_restart_loses_no_acknowledged_edit(ctx: TestContext) {
    let server = TestServer::start(ctx.store.clone()).await;
    let workflow = WorkflowId::new();
    let alice = synced(&server, workflow, "alice").await;
    let witness = synced(&server, workflow, "bob").await;
    let mut graph = WorkflowGraph::new().with_node(node("start", "trigger.manual"));
    let frame = alice.write_graph(&graph);
    eventually("acknowledged", || alice.saved() >= frame).await;
    eventually("relayed", || witness.graph() == graph).await;
    let upto = server.rooms.compact(workflow).await.unwrap();
    assert!(upto > 0);
    graph = graph.with_node(node("fetch", "http.request").with_config("method", "GET"));
    graph = graph.with_edge(Edge::new("e1", "start", "fetch"));
    let frame = alice.write_graph(&graph);
    graph = graph.sorted();
    eventually("acknowledged after the snapshot", || alice.saved() >= frame).await;
    let logged = ctx.store.docs().updates_after(workflow, upto).await.unwrap();
    assert!(!logged.is_empty(), "edits after the snapshot are in the log");
    drop((alice, witness));
    server.stop().await;

    // a new process: a new pool on the same database
    let store = Store::open(&ctx.target, Keyring::generate()).await.unwrap();
    let server = TestServer::start(store).await;
    let reader = synced(&server, workflow, "carol").await;
    eventually("the restarted room has every edit", || reader.graph() == graph).await;
    server.stop().await;
}

/// Presence reaches the other editors and is removed when its client disconnects.
async fn presence_comes_and_goes_with_the_connection(ctx: TestContext) {
    let server = TestServer::start(ctx.store.clone()).await;
    let workflow = WorkflowId::new();
    let alice = synced(&server, workflow, "alice").await;
    let bob = synced(&server, workflow, "bob").await;
    alice.set_presence(json!({"user": {"name": "Alice", "color": "#E84B4B"}}));
    let alice_id = alice.awareness.lock().unwrap().client_id();
    let bob_sees_alice = |bob: &YClient| bob.awareness.lock().unwrap().state::<serde_json::Value>(alice_id).is_some();
    eventually("bob sees alice", || bob_sees_alice(&bob)).await;
    assert_eq!(server.rooms.presence(workflow).await.unwrap().len(), 1);

    drop(alice.disconnect());
    eventually("bob no longer sees alice", || !bob_sees_alice(&bob)).await;
    assert!(server.rooms.presence(workflow).await.unwrap().is_empty());
    server.stop().await;
}

/// A burst of presence changes (a cursor dragged across the canvas, here twenty positions in one
/// frame) reaches the other editors as one frame holding the latest state, not one per change.
async fn a_burst_of_presence_reaches_the_others_as_one_frame(ctx: TestContext) {
    use yrs::updates::encoder::Encode;
    let server = TestServer::start(ctx.store.clone()).await;
    let workflow = WorkflowId::new();
    let alice = synced(&server, workflow, "alice").await;
    let bob = synced(&server, workflow, "bob").await;
    let alice_id = alice.awareness.lock().unwrap().client_id();
    let before = bob.seen.lock().unwrap().presence_frames;
    let mut frame = Vec::new();
    for x in 0..20 {
        let update = {
            let mut awareness = alice.awareness.lock().unwrap();
            awareness.set_local_state(json!({ "cursor": { "x": x } })).unwrap();
            awareness.update().unwrap()
        };
        frame.extend(yrs::sync::Message::Awareness(update).encode_v1());
    }
    alice.send_raw(frame);
    let last = json!({ "cursor": { "x": 19 } });
    let bob_sees =
        |bob: &YClient| bob.awareness.lock().unwrap().state::<serde_json::Value>(alice_id) == Some(last.clone());
    eventually("bob sees the last cursor", || bob_sees(&bob)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(bob.seen.lock().unwrap().presence_frames - before, 1, "one frame for the burst");
    server.stop().await;
}

/// A room nobody is connected to unloads (compacting its log) and reloads on the next connection.
async fn an_idle_room_unloads_and_comes_back(ctx: TestContext) {
    let options = ServerOptions {
        room: RoomConfig {
            tick: Duration::from_millis(50),
            idle_after: Duration::from_millis(200),
            ..ServerOptions::default().room
        },
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(ctx.store.clone(), options).await;
    let workflow = WorkflowId::new();
    let alice = synced(&server, workflow, "alice").await;
    let graph = WorkflowGraph::new().with_node(node("start", "trigger.manual"));
    alice.write_graph(&graph);
    eventually("the room has the edit", || alice.graph() == graph).await;
    let rooms = server.rooms.clone();
    // the edit must be in the room before alice leaves
    eventually_async(|| async { rooms.graph(workflow).await.unwrap().graph == graph }).await;
    drop(alice.disconnect());
    let unloaded = wait_until(Duration::from_secs(10), || async { rooms.open().await.is_empty() }).await;
    assert!(unloaded, "the idle room unloaded");
    assert!(ctx.store.docs().snapshot(workflow).await.unwrap().is_some(), "unloading compacted the log");
    let back = synced(&server, workflow, "bob").await;
    assert_eq!(back.graph(), graph);
    server.stop().await;
}

/// A client that never answers pings is closed and leaves the room.
async fn a_silent_client_is_closed_as_a_zombie(ctx: TestContext) {
    let options = ServerOptions {
        session: SessionConfig {
            ping_every: Duration::from_millis(100),
            zombie_after: Duration::from_millis(300),
            ..ServerOptions::default().session
        },
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(ctx.store.clone(), options).await;
    let workflow = WorkflowId::new();
    // a socket that is never read never answers a ping
    let (silent, _) = tokio_tungstenite::connect_async(server.url(workflow, "alice")).await.unwrap();
    let rooms = server.rooms.clone();
    eventually_async(|| async { rooms.connections(workflow).await.unwrap() == 1 }).await;
    eventually_async(|| async { rooms.connections(workflow).await.unwrap() == 0 }).await;
    drop(silent);
    // a client that reads (and so answers pings) stays
    let live = synced(&server, workflow, "bob").await;
    // two zombie windows pass: a live client is not mistaken for a silent one
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(live.closed().is_none());
    assert_eq!(rooms.connections(workflow).await.unwrap(), 1);
    server.stop().await;
}

async fn eventually_async<F, Fut>(condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    assert!(
        aos_persistence::testing::wait_until(Duration::from_secs(10), condition).await,
        "condition never held within 10 s"
    );
}

/// A whole graph from the server (`PUT /api/workflows/{id}/graph`) reaches open editors, and an
/// editor's concurrent change to another field survives it: the server writes only what differs.
async fn a_server_side_graph_write_reaches_editors_and_keeps_their_edits(ctx: TestContext) {
    let server = TestServer::start(ctx.store.clone()).await;
    let workflow = WorkflowId::new();
    let alice = synced(&server, workflow, "alice").await;
    let base = WorkflowGraph::new().with_node(node("start", "trigger.manual").with_label("Start"));
    server.rooms.apply_graph(workflow, &base, "api").await.unwrap();
    eventually("alice sees the server's graph", || alice.graph() == base).await;

    // alice moves the node while her change is not yet at the server (offline, then back)
    let offline = alice.disconnect();
    {
        let mut txn = yrs::Transact::transact_mut(&offline);
        let mut moved = base.clone();
        moved.node_mut("start").unwrap().position.x = 250.0;
        aos_schema::doc::apply_graph(&mut txn, &moved).unwrap();
    }
    let mut relabelled = base.clone();
    relabelled.node_mut("start").unwrap().label = "Begin".into();
    let stats = server.rooms.apply_graph(workflow, &relabelled, "api").await.unwrap();
    assert_eq!(stats, aos_schema::doc::ApplyStats { written: 1, removed: 0 }, "only the label differs");

    let alice = YClient::connect_with(&server.url(workflow, "alice"), offline).await;
    let mut expected = relabelled.clone();
    expected.node_mut("start").unwrap().position.x = 250.0;
    eventually("both changes survive", || alice.graph() == expected).await;
    let rooms = server.rooms.clone();
    eventually_async(|| {
        let (rooms, expected) = (rooms.clone(), expected.clone());
        async move { rooms.graph(workflow).await.unwrap().graph == expected }
    })
    .await;
    server.stop().await;
}

/// A workflow created with a graph (an import) has its doc in the log before anyone opens it; the
/// room adds no second skeleton, and seeding twice changes nothing.
async fn a_seeded_doc_opens_with_its_graph(ctx: TestContext) {
    let workflow = WorkflowId::new();
    let graph = WorkflowGraph::new()
        .with_node(node("hook", "trigger.webhook"))
        .with_node(node("fetch", "http.request").with_config("url", "https://example.com"))
        .with_edge(Edge::new("e1", "hook", "fetch"));
    assert!(aos_realtime::seed_doc(&ctx.store, workflow, &graph).await.unwrap());
    assert!(!aos_realtime::seed_doc(&ctx.store, workflow, &WorkflowGraph::new()).await.unwrap());
    let server = TestServer::start(ctx.store.clone()).await;
    let alice = synced(&server, workflow, "alice").await;
    assert_eq!(alice.graph(), graph.clone().sorted());
    assert_eq!(ctx.store.docs().updates_after(workflow, 0).await.unwrap().len(), 1, "no second skeleton");
    server.stop().await;
}

/// A node loses its database while an editor's change is in flight: the other editor already has
/// it, the room fails, every connection is closed for a restart, and the change — never
/// acknowledged as saved — comes back from the editors' docs when they reconnect (here to another
/// node on the same database).
async fn a_failed_append_closes_the_room_and_the_author_resends(ctx: TestContext) {
    let store = Store::open(&ctx.target, Keyring::generate()).await.unwrap();
    let failing = TestServer::start(store.clone()).await;
    let workflow = WorkflowId::new();
    let alice = synced(&failing, workflow, "alice").await;
    let bob = synced(&failing, workflow, "bob").await;
    let base = WorkflowGraph::new().with_node(node("start", "trigger.manual"));
    let frame = alice.write_graph(&base);
    eventually("the base is acknowledged", || alice.saved() >= frame && bob.graph() == base).await;

    store.db().close().await;
    let edited = base.clone().with_node(node("late", "logic.delay")).sorted();
    let late = alice.add_node(&node("late", "logic.delay"));
    eventually("both connections are closed for a restart", || alice.ended() && bob.ended()).await;
    assert_eq!(alice.closed().map(|(code, _)| code), Some(close_code::SERVICE_RESTART));
    assert!(alice.saved() < late, "the unlogged change was never acknowledged as saved");

    let healthy = TestServer::start(ctx.store.clone()).await;
    let offline = alice.disconnect();
    let alice = YClient::connect_with(&healthy.url(workflow, "alice"), offline).await;
    let bob = synced(&healthy, workflow, "bob").await;
    eventually("the author's change came back", || bob.graph() == edited && alice.graph() == edited).await;
    drop((alice, bob));
    healthy.stop().await;
    failing.stop().await;

    let again = TestServer::start(ctx.store.clone()).await;
    let reader = synced(&again, workflow, "carol").await;
    assert_eq!(reader.graph(), edited, "and it is in the log now");
    again.stop().await;
}

/// A client that stops reading is dropped — once its queued frames fill up, or once its socket has
/// taken nothing for as long as a silent client is given — and never holds the room up: the
/// other editor keeps receiving every edit at once.
async fn a_stalled_client_is_dropped_and_never_slows_the_room(ctx: TestContext) {
    let mut options = ServerOptions::default();
    options.room.outbox_capacity = 128;
    options.session.outbox_capacity = 128;
    options.session.ping_every = Duration::from_millis(500);
    options.session.zombie_after = Duration::from_secs(2);
    let server = TestServer::start_with(ctx.store.clone(), options).await;
    let workflow = WorkflowId::new();
    let alice = synced(&server, workflow, "alice").await;
    let bob = synced(&server, workflow, "bob").await;
    alice.add_node(&node("start", "trigger.manual"));
    eventually("bob has the node", || bob.graph().node("start").is_some()).await;
    // carol connects and then never reads a frame
    let (stalled, _) = tokio_tungstenite::connect_async(server.url(workflow, "carol")).await.unwrap();
    eventually_async(|| async { server.rooms.connections(workflow).await.unwrap() == 3 }).await;

    // ~10 MB of edits: more than the socket buffers between the server and carol hold
    let text = "x".repeat(16 * 1024);
    for round in 0..640 {
        alice.edit(|txn| set_label(txn, "start", &format!("{round} {text}")));
        if round % 64 == 63 {
            let expected = format!("{round} {text}");
            eventually("bob keeps up", || bob.graph().node("start").is_some_and(|n| n.label == expected)).await;
        }
    }
    eventually_async(|| async { server.rooms.connections(workflow).await.unwrap() == 2 }).await;
    assert!(bob.closed().is_none() && alice.closed().is_none(), "only the stalled client was dropped");
    drop(stalled);
    server.stop().await;
}

aos_persistence::conformance_suite!(
    a_burst_of_presence_reaches_the_others_as_one_frame,
    a_stalled_client_is_dropped_and_never_slows_the_room,
    a_failed_append_closes_the_room_and_the_author_resends,
    a_seeded_doc_opens_with_its_graph,
    editors_converge_concurrently,
    an_offline_client_merges_on_reconnect,
    a_late_joiner_gets_the_full_state,
    viewer_writes_are_refused_and_the_room_is_unharmed,
    corrupt_and_oversized_frames_close_only_their_sender,
    a_restart_loses_no_acknowledged_edit,
    presence_comes_and_goes_with_the_connection,
    an_idle_room_unloads_and_comes_back,
    a_silent_client_is_closed_as_a_zombie,
    a_server_side_graph_write_reaches_editors_and_keeps_their_edits,
);
