//! Node heartbeats and run ownership: one owner per unfinished run, adoption of a silent node's
//! runs, and runs nobody started.

use std::time::Duration;

use aos_persistence::testing::TestContext;
use aos_persistence::{NewRun, NewWorkflow, Recorded, RunClaim, Store};
use aos_schema::{RunId, RunStatus};

use crate::fixtures::{by, owner_with_org};

async fn queued_run(store: &Store) -> RunId {
    let (owner, org) = owner_with_org(store).await;
    let wf = store
        .workflows()
        .create(&NewWorkflow { org_id: org.id, name: "wf".into(), description: String::new() }, by(&owner))
        .await
        .unwrap();
    let new = NewRun {
        org_id: org.id,
        workflow_id: wf.id,
        version: 1,
        trigger_kind: "manual".into(),
        idempotency_key: None,
        input: serde_json::json!({}),
        replay_of: None,
        traceparent: None,
    };
    let Recorded::New(run) = store.runs().create(&new).await.unwrap() else { panic!("new run") };
    run.id
}

const STALE: Duration = Duration::from_secs(30);

async fn a_live_node_keeps_its_runs(cx: TestContext) {
    let nodes = cx.store.nodes();
    let run = queued_run(&cx.store).await;
    nodes.heartbeat("node-a").await.unwrap();
    nodes.heartbeat("node-b").await.unwrap();
    assert_eq!(nodes.claim_run(run, "node-a", STALE).await.unwrap(), RunClaim::Claimed);
    assert_eq!(nodes.claim_run(run, "node-a", STALE).await.unwrap(), RunClaim::Claimed, "claims are idempotent");
    assert_eq!(nodes.claim_run(run, "node-b", STALE).await.unwrap(), RunClaim::OwnedBy("node-a".into()));
    assert_eq!(nodes.owner_of(run).await.unwrap().as_deref(), Some("node-a"));
    assert!(nodes.orphaned_runs(STALE, 100).await.unwrap().is_empty(), "a live node's run is no orphan");
    assert_eq!(nodes.live(STALE).await.unwrap(), vec!["node-a".to_owned(), "node-b".to_owned()]);
}

async fn a_silent_nodes_runs_are_adopted_once(cx: TestContext) {
    let nodes = cx.store.nodes();
    let run = queued_run(&cx.store).await;
    nodes.heartbeat("node-a").await.unwrap();
    assert_eq!(nodes.claim_run(run, "node-a", STALE).await.unwrap(), RunClaim::Claimed);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    nodes.heartbeat("node-b").await.unwrap();
    nodes.heartbeat("node-c").await.unwrap();
    // with a one-second staleness window node-a (its beat 1.2 s old) is gone, node-b and node-c
    // (beating now) are not, so whichever claims second sees a live owner
    let short = Duration::from_secs(1);
    assert_eq!(nodes.orphaned_runs(short, 100).await.unwrap(), vec![run]);
    let (b, c) = tokio::join!(nodes.claim_run(run, "node-b", short), nodes.claim_run(run, "node-c", short));
    let claims = [b.unwrap(), c.unwrap()];
    assert_eq!(claims.iter().filter(|c| **c == RunClaim::Claimed).count(), 1, "one adopter: {claims:?}");
    let owner = nodes.owner_of(run).await.unwrap().unwrap();
    assert!(owner == "node-b" || owner == "node-c");
}

async fn unstarted_and_finished_runs(cx: TestContext) {
    let nodes = cx.store.nodes();
    let run = queued_run(&cx.store).await;
    assert!(nodes.orphaned_runs(STALE, 100).await.unwrap().is_empty(), "a new run is given time to start");
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(nodes.orphaned_runs(Duration::from_millis(20), 100).await.unwrap(), vec![run], "nobody started it");
    cx.store.runs().transition(run, RunStatus::Cancelled, None).await.unwrap();
    assert_eq!(nodes.claim_run(run, "node-a", STALE).await.unwrap(), RunClaim::Finished(RunStatus::Cancelled));
    assert!(nodes.orphaned_runs(Duration::from_millis(20), 100).await.unwrap().is_empty());
    assert!(nodes.claim_run(RunId::new(), "node-a", STALE).await.is_err(), "unknown run");
}

aos_persistence::conformance_suite!(
    a_live_node_keeps_its_runs,
    a_silent_nodes_runs_are_adopted_once,
    unstarted_and_finished_runs,
);
