//! End-to-end run throughput: one run of a webhook-style 10-step no-op workflow (trigger + 10
//! pass-through steps) started through an `ActorSystem`, every attempt, run-log row and usage
//! record written, one run at a time. Reported per run; steps/s is 11 / time, the per-step
//! overhead time / 11. Three setups: SQLite with in-process dispatch (the embedded default),
//! Postgres with in-process dispatch, and Postgres with steps through the Redis step queue to two
//! step workers. Run with `cargo bench -p aos-actors --bench run_throughput` (Postgres at
//! AOS_TEST_DATABASE_URL, Redis at AOS_TEST_REDIS_URL).

use std::sync::Arc;
use std::time::Duration;

use aos_actors::{ActorSystem, Dispatch, RunDeps, SystemConfig};
use aos_engine_link::{EgressPolicy, EmbeddedEngine, EngineConfig};
use aos_persistence::testing::{self, TestStore};
use aos_persistence::{Backend, RedisLink, RedisQueueConfig, RedisStepQueue};
use aos_schema::{Edge, Node, WorkflowGraph};
use criterion::{Criterion, criterion_group, criterion_main};
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

/// How a bench configuration dispatches steps.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Steps as tasks of the run actor (the embedded default).
    Local,
    /// Steps through the Redis step queue to two step workers of the same node.
    RedisQueue,
}

fn run_throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let redis_url = std::env::var("AOS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    for (backend, mode) in
        [(Backend::Sqlite, Mode::Local), (Backend::Postgres, Mode::Local), (Backend::Postgres, Mode::RedisQueue)]
    {
        let fixture = runtime.block_on(TestStore::new(backend));
        let store = fixture.store.clone();
        let published = runtime.block_on(testing::published_workflow(&store, &ten_step_workflow()));
        let engine =
            Arc::new(EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::public_only() }).expect("engine"));
        let mut deps = RunDeps { step_timeout: Duration::from_secs(30), ..RunDeps::new(store.clone(), engine) };
        let mut redis = None;
        if let Mode::RedisQueue = mode {
            let link = runtime.block_on(RedisLink::connect(&redis_url)).expect("redis");
            let stream = format!("aos:bench:steps:{}", uuid::Uuid::new_v4().simple());
            let queue = runtime
                .block_on(RedisStepQueue::open(link.clone(), RedisQueueConfig::on_stream(stream)))
                .expect("queue");
            deps.dispatch = Dispatch::Queue(Arc::new(queue));
            redis = Some(link);
        }
        let mut config = SystemConfig::new(deps);
        config.workers = 2;
        config.redis = redis;
        let system = runtime.block_on(ActorSystem::start_with(config)).expect("actor tree");
        let name = format!("ten_step_noop_run_{backend:?}_{mode:?}").to_lowercase();
        c.bench_function(&name, |b| {
            b.to_async(&runtime).iter(|| async {
                let run_id = testing::queued_run(&store, published, json!({ "body": { "n": 1 } })).await;
                system.start_run(run_id).await.expect("start");
                if let Ok(Some(actor)) = system.runs().find(&run_id.to_string()).await {
                    actor.cell.wait(Some(Duration::from_secs(30))).await.expect("run ends");
                }
            })
        });
        system.stop();
        runtime.block_on(fixture.cleanup());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(10));
    targets = run_throughput
}
criterion_main!(benches);
