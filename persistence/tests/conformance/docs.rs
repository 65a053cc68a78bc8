//! The doc update log and snapshots.

use aos_persistence::testing::TestContext;
use aos_schema::WorkflowId;

async fn updates_append_in_order_and_read_after_a_sequence(cx: TestContext) {
    let docs = cx.store.docs();
    let wf = WorkflowId::new();
    let other = WorkflowId::new();
    let s1 = docs.append_update(wf, &[1, 2, 3], "client-a").await.unwrap();
    let _ = docs.append_update(other, &[9], "client-b").await.unwrap();
    let s2 = docs.append_update(wf, &[4, 5], "client-b").await.unwrap();
    assert!(s2 > s1);
    let all = docs.updates_after(wf, 0).await.unwrap();
    assert_eq!(all.iter().map(|u| u.update_bytes.clone()).collect::<Vec<_>>(), [vec![1, 2, 3], vec![4, 5]]);
    let later = docs.updates_after(wf, s1).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].origin, "client-b");
    assert_eq!(docs.log_size_after(wf, 0).await.unwrap(), (2, 5));
    assert_eq!(docs.log_size_after(WorkflowId::new(), 0).await.unwrap(), (0, 0));
}

async fn snapshots_only_move_forward(cx: TestContext) {
    let docs = cx.store.docs();
    let wf = WorkflowId::new();
    assert!(docs.snapshot(wf).await.unwrap().is_none());
    assert!(docs.save_snapshot(wf, 10, b"state-10").await.unwrap());
    assert!(!docs.save_snapshot(wf, 5, b"older").await.unwrap(), "an older snapshot never replaces a newer one");
    assert!(docs.save_snapshot(wf, 12, b"state-12").await.unwrap());
    let snapshot = docs.snapshot(wf).await.unwrap().unwrap();
    assert_eq!((snapshot.upto_seq, snapshot.state.as_slice()), (12, &b"state-12"[..]));
}

aos_persistence::conformance_suite!(updates_append_in_order_and_read_after_a_sequence, snapshots_only_move_forward);
