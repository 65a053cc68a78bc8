//! The doc room's CPU cost per edit, without sockets or a database: one editor's field update
//! through `Room::receive` (decode, apply, encode the delta and the broadcast frame), and a whole
//! 200-node graph written over a doc that already holds it (the diff `PUT .../graph` pays). Run
//! with `cargo bench -p aos-realtime`.

use aos_realtime::{Access, Room, RoomLimits};
use aos_schema::doc as wfdoc;
use aos_schema::{Node, UserId, WorkflowGraph};
use criterion::{Criterion, criterion_group, criterion_main};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Map, Out, ReadTxn, StateVector, Transact, Update};

fn graph(nodes: usize) -> WorkflowGraph {
    (0..nodes).fold(WorkflowGraph::new(), |g, i| {
        g.with_node(
            Node::new(format!("n{i:04}"), "http.request").with_position(i as f64, 0.0).with_config("url", "https://x"),
        )
    })
}

fn room(c: &mut Criterion) {
    let mut room = Room::new(RoomLimits::default(), aos_realtime::room::system_clock());
    let _ = room.ensure_skeleton();
    let _ = room.apply_graph(&graph(200));
    let (conn, _) = room.join(Access { user_id: UserId::new(), name: "bench".into(), can_write: true });
    let editor = yrs::Doc::new();
    let state = room.encode_state();
    editor.transact_mut().apply_update(Update::decode_v1(&state).unwrap()).unwrap();
    let mut x = 0.0;
    c.bench_function("room_receive_one_field_update_200_node_doc", |b| {
        b.iter(|| {
            x += 1.0;
            let update = {
                let mut txn = editor.transact_mut();
                let root = txn.get_map(wfdoc::ROOT).unwrap();
                let Some(Out::YMap(nodes)) = root.get(&txn, wfdoc::NODES) else { unreachable!() };
                let Some(Out::YMap(node)) = nodes.get(&txn, "n0100") else { unreachable!() };
                node.insert(&mut txn, "x", x);
                txn.encode_update_v1()
            };
            room.receive(conn, &Message::Sync(SyncMessage::Update(update)).encode_v1())
        })
    });
    let same = graph(200);
    c.bench_function("apply_unchanged_200_node_graph", |b| b.iter(|| room.apply_graph(&same)));
    c.bench_function("sync_step_2_for_a_new_client_200_node_doc", |b| {
        b.iter(|| room.doc().transact().encode_state_as_update_v1(&StateVector::default()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = room
}
criterion_main!(benches);
