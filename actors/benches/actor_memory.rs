//! Memory for many live run actors: spawns N idle ractor actors (default 100,000; `AOS_ACTORS` to
//! change) registered for introspection, each holding the in-memory state a run actor keeps for a
//! 10-step run (its `RunProgress` over a shared plan, its registry counters), and reports the
//! resident-set growth per actor. Run with `cargo bench -p aos-actors --bench actor_memory`.
//! Linux only (reads /proc/self/statm).

use std::sync::Arc;

use aos_actors::{ActorKind, ActorStats, Registry, RunProgress};
use aos_schema::{Catalog, Edge, ExecutionPlan, Node, WorkflowGraph, compile};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde_json::json;

/// An idle actor holding what a run actor holds between messages.
struct Idle;

struct IdleState {
    _progress: RunProgress,
    _stats: Arc<ActorStats>,
}

impl Actor for Idle {
    type Msg = ();
    type State = IdleState;
    type Arguments = (Arc<ExecutionPlan>, Arc<ActorStats>);

    async fn pre_start(
        &self,
        _: ActorRef<()>,
        (plan, stats): Self::Arguments,
    ) -> Result<IdleState, ActorProcessingErr> {
        let mut progress = RunProgress::new(plan, json!({ "body": { "n": 1 } }));
        let _dispatched = progress.ready();
        Ok(IdleState { _progress: progress, _stats: stats })
    }
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn plan() -> Arc<ExecutionPlan> {
    let mut graph = WorkflowGraph::new().with_node(Node::new("s0", "trigger.webhook"));
    for i in 1..=10 {
        graph = graph.with_node(Node::new(format!("s{i}"), "logic.merge")).with_edge(Edge::new(
            format!("e{i}"),
            format!("s{}", i - 1),
            format!("s{i}"),
        ));
    }
    Arc::new(compile(&graph, &Catalog::builtin()).expect("plan"))
}

#[allow(clippy::print_stdout)]
fn main() {
    let count: usize = std::env::var("AOS_ACTORS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let plan = plan();
        let registry = Registry::default();
        let before = resident_bytes();
        let mut actors = Vec::with_capacity(count);
        for i in 0..count {
            let stats = registry.register(ActorKind::Run, format!("run {i}"), None);
            let (actor, handle) = Actor::spawn(None, Idle, (Arc::clone(&plan), stats)).await.expect("spawn");
            actors.push((actor, handle));
        }
        let after = resident_bytes();
        let per_actor = after.saturating_sub(before) as f64 / count as f64;
        println!("live actors: {count}");
        println!("resident growth: {:.1} MiB", after.saturating_sub(before) as f64 / (1024.0 * 1024.0));
        println!("per actor: {per_actor:.0} bytes");
        let started = std::time::Instant::now();
        let tree = registry.snapshot();
        println!("snapshot of {} actors: {:?}", tree.len(), started.elapsed());
        for (actor, _) in &actors {
            actor.stop(None);
        }
        for (_, handle) in actors {
            let _ = handle.await;
        }
    });
}
