//! Login sessions (refresh rotation, expiry, revocation) and workflow drafts (org-scoped, audited).

use aos_persistence::testing::TestContext;
use aos_persistence::{NewWorkflow, StoreError, Timestamp};
use aos_schema::{Node, WorkflowGraph};

use crate::fixtures::{by, owner_with_org};

async fn sessions_rotate_expire_and_revoke(cx: TestContext) {
    let (owner, _) = owner_with_org(&cx.store).await;
    let sessions = cx.store.sessions();
    let later = Timestamp::now() + time::Duration::hours(1);
    let session = sessions.create(owner.id, "r1", later).await.unwrap();
    assert!(session.is_live_at(Timestamp::now()));
    assert_eq!(sessions.get(session.id).await.unwrap().unwrap().refresh_hash, "r1");

    let refreshed = sessions.refresh("r1", "r2", later).await.unwrap().expect("a live session refreshes");
    assert_eq!((refreshed.id, refreshed.refresh_hash.as_str()), (session.id, "r2"));
    assert!(sessions.refresh("r1", "r3", later).await.unwrap().is_none(), "the old refresh token is spent");

    assert!(sessions.revoke(session.id).await.unwrap());
    assert!(!sessions.revoke(session.id).await.unwrap(), "revoking twice is a no-op");
    assert!(!sessions.get(session.id).await.unwrap().unwrap().is_live_at(Timestamp::now()));
    assert!(sessions.refresh("r2", "r4", later).await.unwrap().is_none(), "a revoked session does not refresh");

    let expired = sessions.create(owner.id, "old", Timestamp::now() - time::Duration::seconds(1)).await.unwrap();
    assert!(!expired.is_live_at(Timestamp::now()));
    assert!(sessions.refresh("old", "new", later).await.unwrap().is_none(), "an expired session does not refresh");

    sessions.create(owner.id, "a", later).await.unwrap();
    sessions.create(owner.id, "b", later).await.unwrap();
    assert_eq!(sessions.revoke_all(owner.id).await.unwrap(), 3, "every live session of the user (not the revoked one)");
}

async fn drafts_are_org_scoped_and_audited(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let (_, other_org) = owner_with_org(&cx.store).await;
    let new = NewWorkflow { org_id: org.id, name: "wf".into(), description: String::new() };
    let wf = cx.store.workflows().create(&new, by(&owner)).await.unwrap();
    let drafts = cx.store.drafts();
    assert!(drafts.get(org.id, wf.id).await.unwrap().is_none(), "no draft yet");
    assert!(matches!(drafts.get(other_org.id, wf.id).await, Err(StoreError::NotFound { .. })));

    let graph = WorkflowGraph::new().with_node(Node::new("start", "trigger.manual"));
    let audit_before = cx.store.audit().verify(org.id).await.unwrap().rows_checked;
    drafts.put(org.id, wf.id, &graph, by(&owner)).await.unwrap();
    assert_eq!(drafts.get(org.id, wf.id).await.unwrap().unwrap().graph, graph);
    assert_eq!(cx.store.audit().verify(org.id).await.unwrap().rows_checked, audit_before + 1);

    let replaced = graph.clone().with_node(Node::new("shape", "data.transform"));
    drafts.put(org.id, wf.id, &replaced, by(&owner)).await.unwrap();
    assert_eq!(drafts.get(org.id, wf.id).await.unwrap().unwrap().graph.nodes.len(), 2);
    let foreign = drafts.put(other_org.id, wf.id, &graph, by(&owner)).await;
    assert!(matches!(foreign, Err(StoreError::NotFound { .. })), "another org cannot write it");
    assert_eq!(drafts.get(org.id, wf.id).await.unwrap().unwrap().graph.nodes.len(), 2);
}

aos_persistence::conformance_suite!(sessions_rotate_expire_and_revoke, drafts_are_org_scoped_and_audited);
