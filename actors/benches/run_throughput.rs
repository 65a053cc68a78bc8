//! End-to-end run throughput of the embedded platform: one run of a webhook-style 10-step no-op
//! workflow (trigger + 10 pass-through steps) through the `RunActor`, the embedded engine and the
//! store, every attempt, run-log row and usage record written. Reported per run; steps/s is
//! 11 / time. On SQLite (the embedded default) and Postgres. Run with
//! `cargo bench -p aos-actors --bench run_throughput` (Postgres at AOS_TEST_DATABASE_URL).

use std::sync::Arc;
use std::time::Duration;

use aos_actors::{ActorKind, Registry, RetryPolicy, RunActor, RunArgs, RunDeps};
use aos_engine_link::{EgressPolicy, EmbeddedEngine, EngineConfig};
use aos_persistence::Backend;
use aos_persistence::testing::{self, TestStore};
use aos_schema::{Edge, Node, WorkflowGraph};
use criterion::{Criterion, criterion_group, criterion_main};
use ractor::Actor;
use serde_json::json;

fn ten_step_workflow() -> WorkflowGraph {
    let mut graph = WorkflowGraph::new().with_node(Node::new("s0", "trigger.webhook"));
    for i in 1..=10 {
        graph = graph.with_node(Node::new(format!("s{i}"), "logic.merge")).with_edge(Edge::new(
            format!("e{i}"),
            format!("s{}", i - 1),
            format!("s{i}"),
        ));
    }
    graph
}

fn run_throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let fixture = runtime.block_on(TestStore::new(backend));
        let store = fixture.store.clone();
        let published = runtime.block_on(testing::published_workflow(&store, &ten_step_workflow()));
        let engine =
            Arc::new(EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::public_only() }).expect("engine"));
        let deps = RunDeps {
            store: store.clone(),
            engine,
            retry: RetryPolicy::default(),
            step_timeout: Duration::from_secs(30),
        };
        let registry = Registry::default();
        c.bench_function(&format!("ten_step_noop_run_{backend:?}").to_lowercase(), |b| {
            b.to_async(&runtime).iter(|| async {
                let run_id = testing::queued_run(&store, published, json!({ "body": { "n": 1 } })).await;
                let args =
                    RunArgs { run_id, deps: deps.clone(), stats: registry.register(ActorKind::Run, "run", None) };
                let (_actor, done) = Actor::spawn(None, RunActor, args).await.expect("spawn");
                done.await.expect("run ends");
            })
        });
        runtime.block_on(fixture.cleanup());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(10));
    targets = run_throughput
}
criterion_main!(benches);
