//! The workflow actor on both backends: publishes numbered in turn with their checksums, invalid
//! graphs refused with every problem and nothing stored, the schedule actor started by a scheduled
//! version and ended by an unscheduled one, other orgs' and unknown workflows not found.

use std::sync::Arc;
use std::time::Duration;

use aos_actors::{ActorKind, ActorNode, ActorSystem, PublishError, PublishRequest, RunDeps};
use aos_engine_link::{EgressPolicy, EmbeddedEngine, EngineConfig};
use aos_persistence::testing::TestContext;
use aos_persistence::testing::wait_until;
use aos_persistence::{By, NewUser, NewWorkflow, Store};
use aos_schema::{Edge, Node, OrgId, WorkflowGraph, WorkflowId};
use serde_json::json;

async fn system(store: &Store) -> ActorSystem {
    let engine = Arc::new(EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::public_only() }).unwrap());
    ActorSystem::start(RunDeps::new(store.clone(), engine)).await.unwrap()
}

async fn workflow(store: &Store) -> (OrgId, WorkflowId) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let user = NewUser { email: format!("o-{unique}@example.test"), name: "O".into(), password_hash: "x".into() };
    let (_, org) = store.orgs().create_user_with_org(&user, "Org", &format!("org-{unique}")).await.unwrap();
    let new = NewWorkflow { org_id: org.id, name: "wf".into(), description: String::new() };
    (org.id, store.workflows().create(&new, By::System).await.unwrap().id)
}

fn manual_graph() -> WorkflowGraph {
    WorkflowGraph::new()
        .with_node(Node::new("start", "trigger.manual"))
        .with_node(Node::new("shape", "data.transform").with_config("fields", json!({ "a": "1" })))
        .with_edge(Edge::new("e1", "start", "shape"))
}

fn scheduled_graph() -> WorkflowGraph {
    WorkflowGraph::new()
        .with_node(
            Node::new("tick", "trigger.schedule").with_config("cron", "0 9 * * *").with_config("timezone", "UTC"),
        )
        .with_node(Node::new("shape", "data.transform").with_config("fields", json!({ "a": "1" })))
        .with_edge(Edge::new("e1", "tick", "shape"))
}

fn request(org: OrgId, graph: WorkflowGraph) -> PublishRequest {
    PublishRequest::new(org, "wf", graph, By::System)
}

fn count(nodes: &[ActorNode], kind: ActorKind, name: &str) -> usize {
    nodes.iter().map(|n| usize::from(n.kind == kind && n.name == name) + count(&n.children, kind, name)).sum()
}

async fn publishes_are_numbered_in_turn(cx: TestContext) {
    let tree = Arc::new(system(&cx.store).await);
    let (org, wf) = workflow(&cx.store).await;
    let first = tree.publish(wf, request(org, manual_graph())).await.unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.checksum.len(), 64);
    let publishes: Vec<_> = (0..8)
        .map(|_| {
            let tree = Arc::clone(&tree);
            tokio::spawn(async move { tree.publish(wf, request(org, manual_graph())).await })
        })
        .collect();
    let mut versions = Vec::new();
    for publish in publishes {
        versions.push(publish.await.unwrap().unwrap().version);
    }
    versions.sort_unstable();
    assert_eq!(versions, (2..=9).collect::<Vec<_>>());
    let stored = cx.store.workflows().versions(org, wf).await.unwrap();
    assert_eq!(stored.len(), 9);
    assert!(stored.iter().all(|v| v.checksum == first.checksum), "the same graph, the same checksum");
    assert_eq!(cx.store.workflows().get(wf).await.unwrap().current_version, Some(9));
    tree.stop();
}

async fn an_invalid_graph_is_refused_and_nothing_is_stored(cx: TestContext) {
    let tree = system(&cx.store).await;
    let (org, wf) = workflow(&cx.store).await;
    let cyclic = manual_graph()
        .with_node(Node::new("back", "data.transform").with_config("fields", json!({})))
        .with_edge(Edge::new("e2", "shape", "back"))
        .with_edge(Edge::new("e3", "back", "shape"));
    let Err(PublishError::Invalid(errors)) = tree.publish(wf, request(org, cyclic)).await else {
        panic!("a cycle is refused")
    };
    assert!(!errors.errors().is_empty());
    assert!(cx.store.workflows().versions(org, wf).await.unwrap().is_empty(), "nothing stored");
    let (other_org, _) = workflow(&cx.store).await;
    assert!(
        matches!(tree.publish(wf, request(other_org, manual_graph())).await, Err(PublishError::Store(_))),
        "another org's workflow is not found"
    );
    assert!(matches!(
        tree.publish(WorkflowId::new(), request(org, manual_graph())).await,
        Err(PublishError::Store(aos_persistence::StoreError::NotFound { .. }))
    ));
    tree.stop();
}

async fn a_scheduled_version_starts_its_schedule_and_an_unscheduled_one_ends_it(cx: TestContext) {
    let tree = system(&cx.store).await;
    let (org, wf) = workflow(&cx.store).await;
    let name = wf.to_string();
    assert_eq!(count(&tree.snapshot(), ActorKind::Schedule, &name), 0);
    tree.publish(wf, request(org, scheduled_graph())).await.unwrap();
    assert_eq!(count(&tree.snapshot(), ActorKind::Schedule, &name), 1, "the schedule runs");
    assert_eq!(count(&tree.snapshot(), ActorKind::Workflow, &name), 1, "the workflow's actor is in the tree");
    tree.publish(wf, request(org, manual_graph())).await.unwrap();
    let gone = wait_until(Duration::from_secs(2), || {
        std::future::ready(count(&tree.snapshot(), ActorKind::Schedule, &name) == 0)
    })
    .await;
    assert!(gone, "the schedule ended with the unscheduled version");
    tree.stop();
}

aos_persistence::conformance_suite!(
    publishes_are_numbered_in_turn,
    an_invalid_graph_is_refused_and_nothing_is_stored,
    a_scheduled_version_starts_its_schedule_and_an_unscheduled_one_ends_it,
);
