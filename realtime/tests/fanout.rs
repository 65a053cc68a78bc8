//! One doc served by two nodes (two servers, two actor trees, one database): editors on either node
//! converge, through Redis pub/sub and, when a node does not publish, through the log catch-up.

mod support;

use std::time::Duration;

use aos_persistence::testing::TestContext;
use aos_persistence::{DocFanout, Keyring, Store};
use aos_realtime::RoomConfig;
use aos_schema::{Node, WorkflowGraph, WorkflowId};
use support::{ServerOptions, TestServer, YClient, eventually};

fn redis_url() -> String {
    std::env::var("AOS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A node; `tick` is how often its rooms re-read the log (long: only pub/sub can deliver in time).
async fn node(ctx: &TestContext, name: Option<&str>, tick: Duration) -> TestServer {
    let fanout = match name {
        Some(name) => Some(DocFanout::connect(&redis_url(), name).await.expect("redis for tests (AOS_TEST_REDIS_URL)")),
        None => None,
    };
    // each node has its own pool, as two processes would
    let store = Store::open(&ctx.target, Keyring::generate()).await.unwrap();
    let defaults = ServerOptions::default();
    let options = ServerOptions { room: RoomConfig { fanout, tick, ..defaults.room }, ..defaults };
    TestServer::start_with(store, options).await
}

async fn synced(server: &TestServer, workflow: WorkflowId, token: &str) -> YClient {
    let client = YClient::connect(&server.url(workflow, token)).await;
    eventually("the client synced", || client.synced()).await;
    client
}

/// Editors on two nodes edit at once and converge; a third editor joining either node sees it all.
async fn editors_on_two_nodes_converge(ctx: TestContext) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    // no log catch-up within the test: the edits travel over Redis
    let a = node(&ctx, Some(&format!("a-{unique}")), Duration::from_secs(600)).await;
    let b = node(&ctx, Some(&format!("b-{unique}")), Duration::from_secs(600)).await;
    let workflow = WorkflowId::new();
    let alice = synced(&a, workflow, "alice").await;
    let bob = synced(&b, workflow, "bob").await;

    for i in 0..5 {
        alice.add_node(&Node::new(format!("a{i}"), "logic.delay"));
        bob.add_node(&Node::new(format!("b{i}"), "logic.delay"));
    }
    eventually("both nodes' editors converge on all ten nodes", || {
        let (ga, gb) = (alice.graph(), bob.graph());
        ga == gb && ga.nodes.len() == 10
    })
    .await;
    let late = synced(&b, workflow, "carol").await;
    assert_eq!(late.graph(), alice.graph());
    a.stop().await;
    b.stop().await;
}

/// A node that does not publish (Redis lost the messages, say) still reaches the other node's
/// editors: the other node re-reads the log on its tick.
async fn a_lost_message_is_caught_up_from_the_log(ctx: TestContext) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let quiet = node(&ctx, None, Duration::from_millis(100)).await;
    let listening = node(&ctx, Some(&format!("l-{unique}")), Duration::from_millis(100)).await;
    let workflow = WorkflowId::new();
    let alice = synced(&quiet, workflow, "alice").await;
    let bob = synced(&listening, workflow, "bob").await;
    let graph = WorkflowGraph::new().with_node(Node::new("start", "trigger.manual"));
    alice.write_graph(&graph);
    eventually("the edit reaches the other node through the log", || bob.graph() == graph).await;
    quiet.stop().await;
    listening.stop().await;
}

aos_persistence::conformance_suite!(editors_on_two_nodes_converge, a_lost_message_is_caught_up_from_the_log);
