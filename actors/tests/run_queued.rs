//! The run-actor suite with queue dispatch: steps travel through the in-process step queue to step
//! workers, which execute and record them. Plus what only queue dispatch has: a run actor that
//! restarts while a worker holds one of its steps waits for that worker's result.

use std::sync::atomic::Ordering;
use std::time::Duration;

use aos_actors::{ActorKind, Registry, RunActor, RunArgs};
use aos_persistence::testing::TestContext;
use aos_persistence::testing::wait_until;
use aos_schema::{RunStatus, StepStatus};
use ractor::Actor;
use serde_json::json;

const QUEUED: bool = true;

#[path = "support/run_suite.rs"]
mod suite;

async fn a_restarted_run_actor_waits_for_the_step_a_worker_holds(cx: TestContext) {
    let (base, calls) = suite::service().await;
    let g = suite::graph(vec![suite::http_get("slow", format!("{base}/slow"))], &[("start", "out", "slow")]);
    let (_, run) = suite::queued_run(&cx.store, g, json!({})).await;
    let deps = suite::deps(&cx.store, 3);
    let registry = Registry::default();
    let args = || RunArgs {
        run_id: run,
        deps: deps.clone(),
        stats: registry.register(ActorKind::Run, "run", None),
        seed: None,
        slot: None,
    };
    let (first, _) = Actor::spawn(None, RunActor, args()).await.unwrap();
    let running = wait_until(Duration::from_secs(4), || async {
        let steps = cx.store.runs().steps(run).await.unwrap();
        steps.iter().any(|s| s.node_id == "slow" && s.status == StepStatus::Running)
    })
    .await;
    assert!(running, "a worker started the slow step");
    first.kill();
    let (_second, done) = Actor::spawn(None, RunActor, args()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), done).await.expect("run ends").unwrap();
    assert_eq!(cx.store.runs().get(run).await.unwrap().status, RunStatus::Succeeded);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the step the worker held was not dispatched again");
    let slow: Vec<_> = cx
        .store
        .runs()
        .steps(run)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.node_id == "slow")
        .map(|s| (s.attempt, s.status))
        .collect();
    assert_eq!(slow, [(1, StepStatus::Succeeded)]);
}

aos_persistence::conformance_suite!(a_restarted_run_actor_waits_for_the_step_a_worker_holds);
