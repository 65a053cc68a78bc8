//! End-to-end run throughput of the embedded platform: one run of a webhook-style 10-step no-op
//! workflow (trigger + 10 pass-through steps) through the `RunActor`, the embedded engine and the
//! store, every attempt, run-log row and usage record written. Reported per run; steps/s is
//! 11 / time. On SQLite (the embedded default) and Postgres. Run with
//! `cargo bench -p aos-actors --bench run_throughput` (Postgres at AOS_TEST_DATABASE_URL).

use std::sync::Arc;
use std::time::Duration;

use aos_actors::{ActorKind, Registry, RetryPolicy, RunActor, RunArgs, RunDeps};
use aos_engine_link::{EgressPolicy, EmbeddedEngine, EngineConfig};
use aos_persistence::testing::TestStore;
use aos_persistence::{Actor as By, Backend, NewRun, NewUser, NewVersion, NewWorkflow, Store};
use aos_schema::{Catalog, Edge, ExportFile, Node, OrgId, WorkflowGraph, WorkflowId, compile};
use criterion::{Criterion, criterion_group, criterion_main};
use ractor::Actor;
use serde_json::json;

async fn ten_step_workflow(store: &Store) -> (OrgId, WorkflowId, i64) {
    let user = NewUser { email: "b@example.test".into(), name: "B".into(), password_hash: "x".into() };
    let (_, org) = store.orgs().create_user_with_org(&user, "Bench", "bench").await.expect("org");
    let wf = store
        .workflows()
        .create(&NewWorkflow { org_id: org.id, name: "noop".into(), description: String::new() }, By::System)
        .await
        .expect("workflow");
    let mut graph = WorkflowGraph::new().with_node(Node::new("s0", "trigger.webhook"));
    for i in 1..=10 {
        graph = graph.with_node(Node::new(format!("s{i}"), "logic.merge")).with_edge(Edge::new(
            format!("e{i}"),
            format!("s{}", i - 1),
            format!("s{i}"),
        ));
    }
    let plan = serde_json::to_value(compile(&graph, &Catalog::builtin()).expect("plan")).expect("json");
    let export = ExportFile::new("noop", graph.clone());
    let (text, checksum) = (export.to_canonical_string().expect("export"), export.checksum().expect("checksum"));
    let new = NewVersion {
        workflow_id: wf.id,
        org_id: org.id,
        export: &text,
        checksum: &checksum,
        plan: &plan,
        graph: &graph,
    };
    let version = store.workflows().publish(&new, By::System).await.expect("publish");
    (org.id, wf.id, version.version)
}

fn run_throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let fixture = runtime.block_on(TestStore::new(backend));
        let store = fixture.store.clone();
        let (org, workflow, version) = runtime.block_on(ten_step_workflow(&store));
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
                let run = NewRun {
                    org_id: org,
                    workflow_id: workflow,
                    version,
                    trigger_kind: "webhook".into(),
                    idempotency_key: None,
                    input: json!({ "body": { "n": 1 } }),
                    replay_of: None,
                };
                let run_id = store.runs().create(&run).await.expect("run").into_inner().id;
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
