//! The cost of one accepted change end to end inside a node: a one-field graph write goes through
//! the `DocRooms` handle to the room actor, is applied, appended to `doc_updates` (one INSERT) and
//! broadcast — on SQLite and on Postgres; and a burst of 100 changes sent at once, which the room's
//! log writer commits in a few transactions (group commit). Run with `cargo bench -p aos-realtime --bench room_log`
//! (Postgres from `AOS_TEST_DATABASE_URL`).

use std::sync::Arc;

use aos_actors::{ActorKind, Registry, RestartPolicy, Supervisor, SupervisorArgs, SupervisorFactory, SupervisorHandle};
use aos_persistence::Backend;
use aos_persistence::testing::TestStore;
use aos_realtime::{DocRoomFactory, DocRooms, RoomConfig};
use aos_schema::{Node, WorkflowGraph, WorkflowId};
use criterion::{Criterion, criterion_group, criterion_main};
use ractor::Actor;

async fn rooms(store: aos_persistence::Store) -> DocRooms {
    let registry = Arc::new(Registry::default());
    let factory = Arc::new(DocRoomFactory { store, config: RoomConfig::default() });
    let kinds = SupervisorFactory::new(Arc::clone(&registry)).with_kind(
        aos_realtime::DOC_ROOMS_KIND,
        RestartPolicy::default(),
        factory,
    );
    let stats = registry.register(ActorKind::Root, "root", None);
    let args = SupervisorArgs {
        name: "root".into(),
        policy: RestartPolicy::default(),
        factory: Arc::new(kinds),
        registry,
        stats: Arc::clone(&stats),
    };
    let (root, _) = Actor::spawn(None, Supervisor, args).await.expect("root");
    let root = SupervisorHandle::new(root, stats);
    let kind = root.start(aos_realtime::DOC_ROOMS_KIND).await.expect("kind");
    DocRooms::new(SupervisorHandle::child_of(&root, aos_realtime::DOC_ROOMS_KIND, kind))
}

fn room_log(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let fixture = runtime.block_on(TestStore::new(backend));
        let rooms = runtime.block_on(rooms(fixture.store.clone()));
        let workflow = WorkflowId::new();
        let mut x = 0.0;
        c.bench_function(&format!("accepted_change_logged_and_broadcast_{backend:?}").to_lowercase(), |b| {
            b.to_async(&runtime).iter(|| {
                x += 1.0;
                let graph = WorkflowGraph::new().with_node(Node::new("moving", "logic.delay").with_position(x, 0.0));
                let rooms = rooms.clone();
                async move { rooms.apply_graph(workflow, &graph, "bench").await.expect("applied") }
            })
        });
        c.bench_function(&format!("burst_of_100_changes_{backend:?}").to_lowercase(), |b| {
            b.to_async(&runtime).iter(|| {
                let rooms = rooms.clone();
                x += 1.0;
                let base = x * 1000.0;
                async move {
                    let writes = (0..100).map(|i| {
                        let rooms = rooms.clone();
                        let graph = WorkflowGraph::new()
                            .with_node(Node::new("moving", "logic.delay").with_position(base + f64::from(i), 0.0));
                        async move { rooms.apply_graph(workflow, &graph, "bench").await.expect("applied") }
                    });
                    futures_util::future::join_all(writes).await
                }
            })
        });
        runtime.block_on(fixture.cleanup());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = room_log
}
criterion_main!(benches);
