//! The cost of one introspection snapshot with 100k live actors (the admin page polls it every
//! second) and of the mailbox counting every message pays. Run with `cargo bench -p aos-actors`.

use aos_actors::{ActorKind, Registry};
use criterion::{Criterion, criterion_group, criterion_main};

fn introspection(c: &mut Criterion) {
    let registry = Registry::default();
    let root = registry.register(ActorKind::Root, "root", None);
    let runs = registry.register(ActorKind::Supervisor, "runs", Some(root.id));
    let actors: Vec<_> =
        (0..100_000).map(|i| registry.register(ActorKind::Run, format!("run {i}"), Some(runs.id))).collect();
    c.bench_function("snapshot_100k_actors", |b| b.iter(|| registry.snapshot()));
    c.bench_function("top_10_by_mailbox_100k_actors", |b| b.iter(|| registry.top_by_mailbox(10)));
    c.bench_function("mailbox_enqueue_dequeue", |b| {
        b.iter(|| {
            actors[7].enqueued();
            actors[7].dequeued();
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = introspection
}
criterion_main!(benches);
