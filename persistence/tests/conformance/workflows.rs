//! Workflows and published versions.

use aos_persistence::testing::TestContext;
use aos_persistence::{NewVersion, NewWorkflow, StoreError, WorkflowPatch};
use aos_schema::{Edge, Node, WorkflowGraph};

use crate::fixtures::{by, owner_with_org};

fn graph() -> WorkflowGraph {
    WorkflowGraph::new()
        .with_node(Node::new("hook", "trigger.webhook").with_label("Incoming").with_position(10.0, 20.5))
        .with_node(
            Node::new("shape", "data.transform")
                .with_config("fields", serde_json::json!({ "email": "{{ trigger.body.email }}" })),
        )
        .with_edge(Edge::new("e1", "hook", "shape"))
}

async fn create_list_update_delete_scoped_by_org(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let (_other, other_org) = owner_with_org(&cx.store).await;
    let workflows = cx.store.workflows();
    let new = |name: &str| NewWorkflow { org_id: org.id, name: name.into(), description: String::new() };
    let b = workflows.create(&new("beta"), by(&owner)).await.unwrap();
    let a = workflows.create(&new("Alpha"), by(&owner)).await.unwrap();
    assert_eq!(b.current_version, None);
    assert!(b.enabled);
    let names: Vec<String> = workflows.list(org.id).await.unwrap().into_iter().map(|w| w.name).collect();
    assert_eq!(names, ["Alpha", "beta"]);
    assert!(workflows.list(other_org.id).await.unwrap().is_empty());
    assert!(matches!(workflows.get_in(other_org.id, a.id).await, Err(StoreError::NotFound { .. })));
    let patch = WorkflowPatch { enabled: Some(false), ..Default::default() };
    let updated = workflows.update(org.id, a.id, &patch, by(&owner)).await.unwrap();
    assert!(!updated.enabled);
    assert_eq!(updated.name, "Alpha");
    assert!(matches!(workflows.update(other_org.id, a.id, &patch, by(&owner)).await, Err(StoreError::NotFound { .. })));
    workflows.delete(org.id, b.id, by(&owner)).await.unwrap();
    assert!(matches!(workflows.get(b.id).await, Err(StoreError::NotFound { .. })));
    let actions: Vec<String> =
        cx.store.audit().list(org.id, &Default::default()).await.unwrap().into_iter().map(|r| r.action).collect();
    assert_eq!(actions, ["org.create", "workflow.create", "workflow.create", "workflow.update", "workflow.delete"]);
}

async fn publish_numbers_versions_and_stores_nodes_and_edges(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let workflows = cx.store.workflows();
    let wf = workflows
        .create(&NewWorkflow { org_id: org.id, name: "wf".into(), description: "d".into() }, by(&owner))
        .await
        .unwrap();
    let graph = graph();
    let plan = serde_json::json!({ "layers": [["hook"], ["shape"]] });
    let new = NewVersion {
        workflow_id: wf.id,
        org_id: org.id,
        export: "{\"format\":1}\n",
        checksum: "abc",
        plan: &plan,
        graph: &graph,
    };
    let v1 = workflows.publish(&new, by(&owner)).await.unwrap();
    let v2 = workflows.publish(&new, by(&owner)).await.unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(v1.plan, plan);
    assert_eq!(v1.export, "{\"format\":1}\n");
    assert_eq!(workflows.get(wf.id).await.unwrap().current_version, Some(2));
    let (nodes, edges) = workflows.version_parts(v1.id).await.unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0].node_id, "hook");
    assert_eq!((nodes[0].x, nodes[0].y), (10.0, 20.5));
    assert_eq!(nodes[1].config["fields"]["email"], "{{ trigger.body.email }}");
    assert_eq!(edges[0].from_port, "out");
    workflows.set_current_version(org.id, wf.id, 1, by(&owner)).await.unwrap();
    assert_eq!(workflows.get(wf.id).await.unwrap().current_version, Some(1));
    assert!(matches!(
        workflows.set_current_version(org.id, wf.id, 9, by(&owner)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(workflows.versions(org.id, wf.id).await.unwrap().len(), 2);
    assert_eq!(workflows.version(org.id, wf.id, 2).await.unwrap().id, v2.id);
}

async fn concurrent_publishes_get_distinct_versions(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let wf = cx
        .store
        .workflows()
        .create(&NewWorkflow { org_id: org.id, name: "wf".into(), description: String::new() }, by(&owner))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = cx.store.clone();
        let owner = owner.clone();
        tasks.push(tokio::spawn(async move {
            let graph = graph();
            let plan = serde_json::json!({});
            let new = NewVersion {
                workflow_id: wf.id,
                org_id: org.id,
                export: "x",
                checksum: "c",
                plan: &plan,
                graph: &graph,
            };
            store.workflows().publish(&new, by(&owner)).await.unwrap().version
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6]);
}

async fn published_versions_are_immutable(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let wf = cx
        .store
        .workflows()
        .create(&NewWorkflow { org_id: org.id, name: "wf".into(), description: String::new() }, by(&owner))
        .await
        .unwrap();
    let graph = graph();
    let plan = serde_json::json!({});
    let new = NewVersion { workflow_id: wf.id, org_id: org.id, export: "x", checksum: "c", plan: &plan, graph: &graph };
    cx.store.workflows().publish(&new, by(&owner)).await.unwrap();
    let err = match cx.store.db() {
        aos_persistence::Db::Sqlite(pool) => {
            sqlx::query("UPDATE workflow_versions SET export = 'forged'").execute(pool).await.unwrap_err()
        }
        aos_persistence::Db::Postgres(pool) => {
            sqlx::query("UPDATE workflow_versions SET export = 'forged'").execute(pool).await.unwrap_err()
        }
    };
    assert!(matches!(StoreError::from(err), StoreError::AppendOnly { .. }));
}

aos_persistence::conformance_suite!(
    create_list_update_delete_scoped_by_org,
    publish_numbers_versions_and_stores_nodes_and_edges,
    concurrent_publishes_get_distinct_versions,
    published_versions_are_immutable,
);
