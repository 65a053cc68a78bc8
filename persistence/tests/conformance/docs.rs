//! The doc update log and snapshots.

use aos_persistence::testing::TestContext;
use aos_persistence::{DocAppend, NewDocUpdate};
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

/// Several rooms append through the group-commit writer at once: each gets its changes' numbers in
/// its order, and the log holds every change once, in that order.
async fn rooms_append_through_the_writer_together(cx: TestContext) {
    let rooms: Vec<WorkflowId> = (0..4).map(|_| WorkflowId::new()).collect();
    let appends = rooms.iter().map(|room| {
        let writer = cx.store.writer().clone();
        let updates: Vec<NewDocUpdate> =
            (0..50u8).map(|i| NewDocUpdate { update: vec![i, i], origin: format!("conn:{i}") }).collect();
        let append = DocAppend { workflow: *room, updates };
        async move { writer.append_doc_updates(append).await }
    });
    for (room, appended) in rooms.iter().zip(futures_util::future::join_all(appends).await) {
        let (seqs, append) = appended.unwrap();
        assert_eq!(append.workflow, *room, "the changes come back to their room");
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "numbered in order: {seqs:?}");
        let logged = cx.store.docs().updates_after(*room, 0).await.unwrap();
        assert_eq!(logged.iter().map(|u| u.seq).collect::<Vec<_>>(), seqs);
        let bytes: Vec<Vec<u8>> = logged.iter().map(|u| u.update_bytes.clone()).collect();
        assert_eq!(bytes, (0..50u8).map(|i| vec![i, i]).collect::<Vec<_>>());
        assert_eq!(logged[7].origin, "conn:7");
    }
    let (seqs, _) =
        cx.store.writer().append_doc_updates(DocAppend { workflow: rooms[0], updates: Vec::new() }).await.unwrap();
    assert!(seqs.is_empty(), "nothing to append commits nothing");
}

aos_persistence::conformance_suite!(
    updates_append_in_order_and_read_after_a_sequence,
    snapshots_only_move_forward,
    rooms_append_through_the_writer_together
);
