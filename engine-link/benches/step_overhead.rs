//! Step overhead of the embedded engine: the cost of one `execute` for a node that does no work
//! (`logic.merge`, a pass-through) and for a one-field `data.transform` (one expression), i.e. the
//! protocol checks, catalog defaults, expression scope, redaction and dispatch every step pays.
//! Run with `cargo bench -p aos-engine-link`.

use std::collections::BTreeMap;

use aos_engine_link::{
    EgressPolicy, EmbeddedEngine, Engine, EngineConfig, PROTOCOL_VERSION, StepContext, StepMeta, StepRequest,
};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn request(kind: &str, config: serde_json::Value) -> StepRequest {
    StepRequest {
        protocol: PROTOCOL_VERSION.to_owned(),
        meta: StepMeta { node_id: "n".into(), attempt: 1, ..StepMeta::default() },
        kind: kind.to_owned(),
        config: config.as_object().cloned().unwrap_or_default(),
        context: StepContext {
            trigger: json!({ "body": { "email": "ada@example.test" } }),
            input: json!({ "n": 1 }),
            ..StepContext::default()
        },
        secrets: BTreeMap::new(),
    }
}

fn step_overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let engine = EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::public_only() }).expect("engine");
    let noop = request("logic.merge", json!({}));
    let transform = request("data.transform", json!({ "fields": { "email": "{{ trigger.body.email }}" } }));
    c.bench_function("embedded_noop_step", |b| {
        b.to_async(&runtime).iter(|| async { engine.execute(noop.clone()).await.expect("no-op step") })
    });
    c.bench_function("embedded_transform_one_field", |b| {
        b.to_async(&runtime).iter(|| async { engine.execute(transform.clone()).await.expect("transform step") })
    });
}

criterion_group!(benches, step_overhead);
criterion_main!(benches);
