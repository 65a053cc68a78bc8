//! Schedules on two "nodes" (two actor trees on one database, SQLite and Postgres): every tick
//! fires exactly one run, whichever node wins the tick, and the runs complete.

use std::sync::Arc;
use std::time::Duration;

use aos_actors::{ActorSystem, NodeIdentity, PublishRequest, RetryPolicy, RunDeps};
use aos_engine_link::{EgressPolicy, EmbeddedEngine, EngineConfig};
use aos_persistence::testing::wait_until;
use aos_persistence::testing::{self, TestContext};
use aos_persistence::{RunFilter, Timestamp};
use aos_schema::{Edge, Node, RunStatus, WorkflowGraph};
use serde_json::json;

async fn every_tick_fires_exactly_one_run_across_two_nodes(cx: TestContext) {
    let graph = WorkflowGraph::new()
        .with_node(
            Node::new("tick", "trigger.schedule").with_config("cron", "* * * * * *").with_config("missed", "catch_up"),
        )
        .with_node(
            Node::new("note", "data.transform").with_config("fields", json!({ "at": "{{ trigger.scheduled_for }}" })),
        )
        .with_edge(Edge::new("e1", "tick", "note"));
    let published = testing::published_workflow(&cx.store, &graph).await;
    let deps = |node: &str| RunDeps {
        retry: RetryPolicy::default(),
        step_timeout: Duration::from_secs(10),
        node: NodeIdentity { id: node.into(), ..NodeIdentity::default() },
        ..RunDeps::new(
            cx.store.clone(),
            Arc::new(EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::public_only() }).unwrap()),
        )
    };
    let node_a = ActorSystem::start(deps("node-a")).await.unwrap();
    let node_b = ActorSystem::start(deps("node-b")).await.unwrap();
    assert_eq!(node_a.sync_schedules().await.unwrap(), 1);
    assert_eq!(node_b.sync_schedules().await.unwrap(), 1);
    let filter = RunFilter { workflow_id: Some(published.workflow), limit: Some(500), ..RunFilter::default() };
    let succeeded = |runs: &[aos_persistence::Run]| runs.iter().filter(|r| r.status == RunStatus::Succeeded).count();
    wait_until(Duration::from_secs(6), || async {
        succeeded(&cx.store.runs().list(published.org, &filter).await.unwrap()) >= 3
    })
    .await;
    let runs = cx.store.runs().list(published.org, &filter).await.unwrap();
    node_a.stop();
    node_b.stop();
    assert!(runs.iter().filter(|r| r.status == RunStatus::Succeeded).count() >= 3, "runs fired and finished: {runs:?}");
    let mut ticks: Vec<Timestamp> =
        runs.iter().map(|r| serde_json::from_value(r.input["scheduled_for"].clone()).expect("scheduled_for")).collect();
    ticks.sort();
    let count = ticks.len();
    ticks.dedup();
    assert_eq!(ticks.len(), count, "no tick fired twice");
    for pair in ticks.windows(2) {
        let gap = pair[1].as_offset() - pair[0].as_offset();
        assert_eq!(gap, time::Duration::seconds(1), "no tick skipped between {} and {}", pair[0], pair[1]);
    }
    assert!(runs.iter().all(|r| r.trigger_kind == "schedule"));
}

/// A new version's schedule takes over at once, and so does the older one's after a revert (the
/// current version set back, then `workflow_changed`, as the revert endpoint does): the running
/// schedule actor reloads instead of sleeping until the tick it had planned (here, next New Year).
async fn a_revert_to_a_scheduled_version_ticks_at_once(cx: TestContext) {
    let scheduled = |cron: &str| {
        WorkflowGraph::new()
            .with_node(Node::new("tick", "trigger.schedule").with_config("cron", cron))
            .with_node(Node::new("note", "data.transform").with_config("fields", json!({ "ok": true })))
            .with_edge(Edge::new("e1", "tick", "note"))
    };
    let published = testing::published_workflow(&cx.store, &scheduled("* * * * * *")).await;
    let node = ActorSystem::start(RunDeps {
        node: NodeIdentity { id: "node-a".into(), ..NodeIdentity::default() },
        ..RunDeps::new(
            cx.store.clone(),
            Arc::new(EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::public_only() }).unwrap()),
        )
    })
    .await
    .unwrap();
    assert_eq!(node.sync_schedules().await.unwrap(), 1);
    let filter = RunFilter { workflow_id: Some(published.workflow), limit: Some(500), ..RunFilter::default() };
    let fired = || async { cx.store.runs().list(published.org, &filter).await.unwrap().len() };
    wait_until(Duration::from_secs(6), || async { fired().await >= 1 }).await;

    let by = aos_persistence::By::System;
    let yearly = PublishRequest::new(published.org, "workflow", scheduled("0 0 1 1 *"), by);
    assert_eq!(node.publish(published.workflow, yearly).await.unwrap().version, 2);
    // a tick already under way may still land; after that, nothing fires until New Year
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stopped = fired().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(fired().await, stopped, "the yearly version fires nothing now");

    cx.store.workflows().set_current_version(published.org, published.workflow, 1, by).await.unwrap();
    node.workflow_changed(published.workflow).await;
    wait_until(Duration::from_secs(6), || async { fired().await >= stopped + 2 }).await;
    let after = fired().await;
    node.stop();
    assert!(after >= stopped + 2, "the reverted schedule ticks again at once: {stopped} before, {after} after");
}

aos_persistence::conformance_suite!(
    every_tick_fires_exactly_one_run_across_two_nodes,
    a_revert_to_a_scheduled_version_ticks_at_once
);
