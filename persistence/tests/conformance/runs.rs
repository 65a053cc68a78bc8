//! Runs, step attempts, the run log and the dead-letter queue.

use aos_persistence::testing::TestContext;
use aos_persistence::{
    AttemptOutcome, NewAttempt, NewDlqEntry, NewRun, NewRunLog, NewWorkflow, Recorded, RunFilter, Store, StoreError,
};
use aos_persistence::{Org, User};
use aos_schema::{DlqStatus, RunStatus, StepStatus, WorkflowId};

use crate::fixtures::{by, owner_with_org};

async fn workflow(store: &Store) -> (User, Org, WorkflowId) {
    let (owner, org) = owner_with_org(store).await;
    let wf = store
        .workflows()
        .create(&NewWorkflow { org_id: org.id, name: "wf".into(), description: String::new() }, by(&owner))
        .await
        .unwrap();
    (owner, org, wf.id)
}

fn run(org: &Org, workflow: WorkflowId, key: Option<&str>) -> NewRun {
    NewRun {
        org_id: org.id,
        workflow_id: workflow,
        version: 1,
        trigger_kind: "webhook".into(),
        idempotency_key: key.map(str::to_owned),
        input: serde_json::json!({ "email": "a@example.test" }),
        replay_of: None,
        traceparent: None,
    }
}

async fn the_same_idempotency_key_never_makes_a_second_run(cx: TestContext) {
    let (_owner, org, wf) = workflow(&cx.store).await;
    let runs = cx.store.runs();
    let Recorded::New(first) = runs.create(&run(&org, wf, Some("k1"))).await.unwrap() else { panic!("new run") };
    assert_eq!(first.status, RunStatus::Queued);
    let Recorded::Duplicate(again) = runs.create(&run(&org, wf, Some("k1"))).await.unwrap() else {
        panic!("duplicate")
    };
    assert_eq!(again.id, first.id);
    // no key: every call is a new run
    assert!(runs.create(&run(&org, wf, None)).await.unwrap().is_new());
    assert!(runs.create(&run(&org, wf, None)).await.unwrap().is_new());
    // concurrent duplicates: one run
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = cx.store.clone();
        let new = run(&org, wf, Some("k2"));
        tasks.push(tokio::spawn(async move { store.runs().create(&new).await.unwrap().into_inner().id }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(runs.list(org.id, &RunFilter::default()).await.unwrap().len(), 4);
}

async fn runs_move_forward_only_and_filter(cx: TestContext) {
    let (_owner, org, wf) = workflow(&cx.store).await;
    let (_o2, other_org, _) = workflow(&cx.store).await;
    let runs = cx.store.runs();
    let a = runs.create(&run(&org, wf, None)).await.unwrap().into_inner();
    let b = runs.create(&run(&org, wf, None)).await.unwrap().into_inner();
    assert_eq!(runs.unfinished(100).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [a.id, b.id]);
    assert!(runs.transition(a.id, RunStatus::Running, None).await.unwrap());
    assert!(runs.transition(a.id, RunStatus::Succeeded, None).await.unwrap());
    assert!(!runs.transition(a.id, RunStatus::Running, None).await.unwrap(), "a finished run stays finished");
    assert!(runs.transition(b.id, RunStatus::Cancelled, Some("cancelled by user")).await.unwrap());
    assert!(runs.unfinished(100).await.unwrap().is_empty(), "both finished");
    assert_eq!(runs.status(a.id).await.unwrap(), RunStatus::Succeeded);
    assert_eq!(runs.status(b.id).await.unwrap(), RunStatus::Cancelled);
    assert!(matches!(runs.status(aos_schema::RunId::new()).await, Err(StoreError::NotFound { .. })));
    let a = runs.get(a.id).await.unwrap();
    assert_eq!(a.status, RunStatus::Succeeded);
    assert!(a.started_at.is_some() && a.finished_at.is_some());
    let succeeded =
        runs.list(org.id, &RunFilter { status: Some(RunStatus::Succeeded), ..Default::default() }).await.unwrap();
    assert_eq!(succeeded.iter().map(|r| r.id).collect::<Vec<_>>(), [a.id]);
    let by_workflow = runs.list(org.id, &RunFilter { workflow_id: Some(wf), ..Default::default() }).await.unwrap();
    assert_eq!(by_workflow.len(), 2);
    assert_eq!(by_workflow[0].id, b.id, "newest first");
    let later =
        runs.list(org.id, &RunFilter { created_after: Some(a.created_at), ..Default::default() }).await.unwrap();
    assert_eq!(later.iter().map(|r| r.id).collect::<Vec<_>>(), [b.id]);
    assert!(runs.list(other_org.id, &RunFilter::default()).await.unwrap().is_empty());
    assert!(matches!(runs.get(aos_schema::RunId::new()).await, Err(StoreError::NotFound { .. })));
}

async fn step_attempts_are_recorded_once_per_key(cx: TestContext) {
    let (_owner, org, wf) = workflow(&cx.store).await;
    let runs = cx.store.runs();
    let r = runs.create(&run(&org, wf, None)).await.unwrap().into_inner();
    let attempt = |n| NewAttempt {
        run_id: r.id,
        org_id: org.id,
        node_id: "fetch".into(),
        attempt: n,
        status: StepStatus::Running,
        input: Some(serde_json::json!({ "url": "http://example.test" })),
    };
    assert!(runs.start_attempt(&attempt(1)).await.unwrap().is_new());
    assert!(!runs.start_attempt(&attempt(1)).await.unwrap().is_new(), "a redelivered step is not recorded twice");
    let failed = AttemptOutcome {
        status: StepStatus::Failed,
        output: None,
        error: Some("timeout".into()),
        duration_ms: Some(30),
    };
    assert!(runs.finish_attempt(r.id, "fetch", 1, &failed).await.unwrap());
    let ok = AttemptOutcome {
        status: StepStatus::Succeeded,
        output: Some(serde_json::json!({ "status": 200 })),
        error: None,
        duration_ms: Some(12),
    };
    assert!(!runs.finish_attempt(r.id, "fetch", 1, &ok).await.unwrap(), "a finished attempt is never finished twice");
    assert!(runs.start_attempt(&attempt(2)).await.unwrap().is_new());
    assert!(runs.finish_attempt(r.id, "fetch", 2, &ok).await.unwrap());
    let steps = runs.steps(r.id).await.unwrap();
    assert_eq!(
        steps.iter().map(|s| (s.attempt, s.status)).collect::<Vec<_>>(),
        [(1, StepStatus::Failed), (2, StepStatus::Succeeded)]
    );
    assert_eq!(steps[0].error.as_deref(), Some("timeout"));
    assert_eq!(steps[1].output, Some(serde_json::json!({ "status": 200 })));
    assert_eq!(steps[1].duration_ms, Some(12));
}

async fn run_logs_resume_after_a_sequence(cx: TestContext) {
    let (_owner, org, wf) = workflow(&cx.store).await;
    let runs = cx.store.runs();
    let r = runs.create(&run(&org, wf, None)).await.unwrap().into_inner();
    let log = |event: &'static str, node: Option<&str>| NewRunLog {
        run_id: r.id,
        org_id: org.id,
        workflow_id: wf,
        node_id: node.map(str::to_owned),
        level: "info",
        event,
        message: format!("{event} happened"),
        data: serde_json::json!({ "event": event }),
    };
    let first = runs.append_log(&log("run_started", None)).await.unwrap();
    let second = runs.append_log(&log("step_started", Some("fetch"))).await.unwrap();
    runs.append_log(&log("step_succeeded", Some("fetch"))).await.unwrap();
    assert!(second.seq > first.seq);
    let all = runs.logs(r.id, 0, None).await.unwrap();
    assert_eq!(
        all.iter().map(|l| l.event.as_str()).collect::<Vec<_>>(),
        ["run_started", "step_started", "step_succeeded"]
    );
    let rest = runs.logs(r.id, second.seq, None).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].node_id.as_deref(), Some("fetch"));
    assert_eq!(runs.workflow_logs(wf, first.seq, Some(1)).await.unwrap()[0].seq, second.seq);
}

async fn dead_lettering_moves_run_and_queue_together(cx: TestContext) {
    let (owner, org, wf) = workflow(&cx.store).await;
    let (_o2, other_org, _) = workflow(&cx.store).await;
    let runs = cx.store.runs();
    let r = runs.create(&run(&org, wf, None)).await.unwrap().into_inner();
    runs.transition(r.id, RunStatus::Running, None).await.unwrap();
    let dead = NewDlqEntry {
        run_id: r.id,
        node_id: "fetch".into(),
        error: "503 after 5 attempts".into(),
        input: serde_json::json!({ "n": 1 }),
    };
    let entry = runs.dead_letter(&dead).await.unwrap();
    assert_eq!(entry.status, DlqStatus::Pending);
    assert_eq!(runs.get(r.id).await.unwrap().status, RunStatus::DeadLettered);
    assert!(
        matches!(runs.dead_letter(&dead).await, Err(StoreError::NotFound { .. })),
        "a finished run cannot be dead-lettered again"
    );
    assert_eq!(runs.dlq(org.id, Some(DlqStatus::Pending), None).await.unwrap().len(), 1);
    assert!(runs.dlq(other_org.id, None, None).await.unwrap().is_empty());
    assert_eq!(runs.dlq_counts(org.id).await.unwrap(), [(DlqStatus::Pending, 1)]);
    assert!(matches!(
        runs.resolve_dlq(other_org.id, entry.id, DlqStatus::Replayed, by(&owner)).await,
        Err(StoreError::NotFound { .. })
    ));
    let resolved = runs.resolve_dlq(org.id, entry.id, DlqStatus::Replayed, by(&owner)).await.unwrap();
    assert_eq!(resolved.status, DlqStatus::Replayed);
    assert!(resolved.resolved_at.is_some());
    assert!(matches!(
        runs.resolve_dlq(org.id, entry.id, DlqStatus::Discarded, by(&owner)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(runs.dlq_counts(org.id).await.unwrap(), [(DlqStatus::Replayed, 1)]);
}

/// A page of runs names their workflows, for the org's own runs only.
async fn runs_name_their_workflows(cx: TestContext) {
    let (_owner, org, wf) = workflow(&cx.store).await;
    let runs = cx.store.runs();
    let Recorded::New(first) = runs.create(&run(&org, wf, Some("n1"))).await.unwrap() else { panic!("new run") };
    let Recorded::New(second) = runs.create(&run(&org, wf, Some("n2"))).await.unwrap() else { panic!("new run") };
    let (_, other_org, other_wf) = workflow(&cx.store).await;
    let Recorded::New(theirs) = runs.create(&run(&other_org, other_wf, None)).await.unwrap() else { panic!("new run") };
    let unknown = aos_schema::RunId::new();
    let names = runs.workflow_names(org.id, &[first.id, second.id, theirs.id, unknown]).await.unwrap();
    assert_eq!(names.len(), 2, "another org's run and an unknown id are left out: {names:?}");
    assert_eq!(names.get(&first.id).map(String::as_str), Some("wf"));
    assert_eq!(names.get(&second.id).map(String::as_str), Some("wf"));
    assert!(runs.workflow_names(org.id, &[]).await.unwrap().is_empty());
}

aos_persistence::conformance_suite!(
    runs_name_their_workflows,
    the_same_idempotency_key_never_makes_a_second_run,
    runs_move_forward_only_and_filter,
    step_attempts_are_recorded_once_per_key,
    run_logs_resume_after_a_sequence,
    dead_lettering_moves_run_and_queue_together,
);
