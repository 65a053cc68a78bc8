//! The doc ⇄ graph mapping under concurrent editing: two docs edit apart, exchange updates both
//! ways (as two editors behind a server do) and must converge to the documented outcome.

use aos_schema::doc::{self, ApplyStats, EDGES, NODES, ROOT, node_field};
use aos_schema::{Catalog, Edge, Node, ValidationError, WorkflowGraph, validate};
use serde_json::json;
use yrs::updates::decoder::Decode;
use yrs::{Any, Doc, Map, MapRef, Out, ReadTxn, Transact, Update};

fn editor() -> Doc {
    doc::new_doc().expect("skeleton applies")
}

/// Sends each doc what the other lacks, both ways.
fn exchange(a: &Doc, b: &Doc) {
    let to_b = a.transact().encode_state_as_update_v1(&b.transact().state_vector());
    let to_a = b.transact().encode_state_as_update_v1(&a.transact().state_vector());
    b.transact_mut().apply_update(Update::decode_v1(&to_b).unwrap()).unwrap();
    a.transact_mut().apply_update(Update::decode_v1(&to_a).unwrap()).unwrap();
}

fn apply(doc: &Doc, graph: &WorkflowGraph) -> ApplyStats {
    doc::apply_graph(&mut doc.transact_mut(), graph).unwrap()
}

fn node_map(doc: &Doc, id: &str) -> MapRef {
    let txn = doc.transact();
    let root = txn.get_map(ROOT).unwrap();
    let Some(Out::YMap(nodes)) = root.get(&txn, NODES) else { panic!("no nodes map") };
    let Some(Out::YMap(node)) = nodes.get(&txn, id) else { panic!("no node {id}") };
    node
}

fn sample() -> WorkflowGraph {
    WorkflowGraph::new()
        .with_node(Node::new("hook", "trigger.webhook").with_label("Hook").with_position(10.0, 20.5))
        .with_node(
            Node::new("fetch", "http.request")
                .with_label("Fetch")
                .with_position(200.0, 20.0)
                .with_config("method", "GET")
                .with_config("url", "https://example.com/items")
                .with_config("headers", json!({"accept": "application/json"}))
                .with_config("timeout_seconds", 30)
                .with_config("ratio", 0.25),
        )
        .with_node(Node::new("shape", "data.transform").with_config("fields", json!({"id": "{{ x }}"})))
        .with_edge(Edge::new("e1", "hook", "fetch"))
        .with_edge(Edge::new("e2", "fetch", "shape"))
}

#[test]
fn the_skeleton_is_the_same_bytes_everywhere_and_merges_with_itself() {
    assert_eq!(doc::skeleton_update(), doc::skeleton_update());
    let a = editor();
    let b = editor();
    apply(&a, &WorkflowGraph::new().with_node(Node::new("a", "trigger.manual")));
    apply(&b, &WorkflowGraph::new().with_node(Node::new("b", "logic.delay")));
    exchange(&a, &b);
    // had each side created its own `nodes` map, one side's node would be lost here
    let ids: Vec<String> = doc::graph_from_doc(&a).nodes.into_iter().map(|n| n.id.to_string()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(doc::graph_from_doc(&a), doc::graph_from_doc(&b));
    assert!(!doc::ensure_skeleton(&mut a.transact_mut()).unwrap());
}

#[test]
fn a_graph_written_then_read_is_the_same_graph() {
    let a = editor();
    let graph = sample();
    apply(&a, &graph);
    assert_eq!(doc::graph_from_doc(&a), graph.clone().sorted());

    // and it reaches a replica intact
    let b = Doc::new();
    exchange(&a, &b);
    assert_eq!(doc::graph_from_doc(&b), graph.sorted());
}

#[test]
fn applying_the_same_graph_again_touches_nothing() {
    let a = editor();
    let mut graph = sample();
    assert!(!apply(&a, &graph).is_unchanged());
    let before = a.transact().state_vector();
    assert!(apply(&a, &graph).is_unchanged());
    assert_eq!(a.transact().state_vector(), before, "no item was written");

    graph.node_mut("fetch").unwrap().label = "Fetch items".into();
    assert_eq!(apply(&a, &graph), ApplyStats { written: 1, removed: 0 });
    graph.node_mut("fetch").unwrap().config.remove("ratio");
    graph.edges.retain(|e| e.id.as_str() != "e2");
    assert_eq!(apply(&a, &graph), ApplyStats { written: 0, removed: 2 });
    assert_eq!(doc::graph_from_doc(&a), graph.sorted());
}

#[test]
fn whole_graph_writes_on_both_sides_keep_each_sides_edit() {
    let a = editor();
    let b = Doc::new();
    apply(&a, &sample());
    exchange(&a, &b);

    // each side changes a different field of the same node through a whole-graph write
    let mut on_a = sample();
    on_a.node_mut("fetch").unwrap().label = "Renamed on A".into();
    let mut on_b = sample();
    on_b.node_mut("fetch").unwrap().position.x = 999.0;
    on_b.node_mut("fetch").unwrap().config.insert("method".into(), json!("POST"));
    apply(&a, &on_a);
    apply(&b, &on_b);
    exchange(&a, &b);

    let merged = doc::graph_from_doc(&a);
    assert_eq!(merged, doc::graph_from_doc(&b));
    let fetch = merged.node("fetch").unwrap();
    assert_eq!(fetch.label, "Renamed on A");
    assert_eq!(fetch.position.x, 999.0);
    assert_eq!(fetch.config_str("method"), Some("POST"));
    assert_eq!(fetch.config_str("url"), Some("https://example.com/items"));
}

#[test]
fn config_edits_to_the_same_field_converge_on_one_value() {
    let a = editor();
    let b = Doc::new();
    apply(&a, &sample());
    exchange(&a, &b);
    let mut on_a = sample();
    on_a.node_mut("fetch").unwrap().config.insert("url".into(), json!("https://a.example"));
    let mut on_b = sample();
    on_b.node_mut("fetch").unwrap().config.insert("url".into(), json!("https://b.example"));
    apply(&a, &on_a);
    apply(&b, &on_b);
    exchange(&a, &b);
    let url_a = doc::graph_from_doc(&a).node("fetch").unwrap().config_str("url").map(str::to_owned);
    let url_b = doc::graph_from_doc(&b).node("fetch").unwrap().config_str("url").map(str::to_owned);
    assert_eq!(url_a, url_b);
    assert!(matches!(url_a.as_deref(), Some("https://a.example" | "https://b.example")));
}

#[test]
fn a_node_moved_by_one_editor_and_deleted_by_another_stays_deleted() {
    let a = editor();
    let b = Doc::new();
    apply(&a, &sample());
    exchange(&a, &b);

    // A drags the node (a field write, as the canvas does it)
    let shape = node_map(&a, "shape");
    shape.insert(&mut a.transact_mut(), node_field::X, 512.0);
    // B deletes it (and its edge) through a whole-graph write
    let mut without = sample();
    without.remove_node("shape");
    apply(&b, &without);
    exchange(&a, &b);

    for replica in [&a, &b] {
        let graph = doc::graph_from_doc(replica);
        assert!(graph.node("shape").is_none());
        assert_eq!(graph, without.clone().sorted());
    }
}

#[test]
fn an_edge_to_a_concurrently_deleted_node_is_left_out_and_reported_at_validation() {
    let a = editor();
    let b = Doc::new();
    let base = WorkflowGraph::new()
        .with_node(Node::new("start", "trigger.manual"))
        .with_node(Node::new("wait", "logic.delay").with_config("seconds", 1));
    apply(&a, &base);
    exchange(&a, &b);

    let mut on_a = base.clone();
    on_a.remove_node("wait");
    apply(&a, &on_a);
    apply(&b, &base.clone().with_edge(Edge::new("late", "start", "wait")));
    exchange(&a, &b);

    let read = doc::read_graph(&a.transact());
    assert_eq!(read, doc::read_graph(&b.transact()));
    assert!(read.graph.edges.is_empty());
    assert_eq!(read.dangling, vec![Edge::new("late", "start", "wait")]);
    let errors = validate(&read.with_dangling(), &Catalog::builtin()).unwrap_err();
    assert!(errors.iter().any(|e| matches!(e, ValidationError::DanglingEdge { edge, .. } if edge.as_str() == "late")));
}

#[test]
fn two_edges_into_one_port_are_both_kept_for_validation_to_judge() {
    let a = editor();
    let b = Doc::new();
    let base = WorkflowGraph::new()
        .with_node(Node::new("one", "trigger.manual"))
        .with_node(Node::new("two", "trigger.webhook"))
        .with_node(Node::new("sink", "logic.delay"));
    apply(&a, &base);
    exchange(&a, &b);
    apply(&a, &base.clone().with_edge(Edge::new("from-one", "one", "sink")));
    apply(&b, &base.clone().with_edge(Edge::new("from-two", "two", "sink")));
    exchange(&a, &b);
    let graph = doc::graph_from_doc(&a);
    assert_eq!(graph, doc::graph_from_doc(&b));
    let into_sink: Vec<&str> = graph.incoming("sink").map(|e| e.id.as_str()).collect();
    assert_eq!(into_sink, ["from-one", "from-two"]);
}

#[test]
fn values_written_the_way_a_javascript_client_writes_them_read_back() {
    let a = editor();
    {
        let mut txn = a.transact_mut();
        let root = txn.get_map(ROOT).unwrap();
        let Some(Out::YMap(nodes)) = root.get(&txn, NODES) else { panic!() };
        let node = nodes.insert(
            &mut txn,
            "js",
            yrs::MapPrelim::from([
                ("kind", yrs::In::Any(Any::from("logic.delay"))),
                ("x", yrs::In::Any(Any::from(100_i64))),
                ("y", yrs::In::Any(Any::from(7.5))),
                ("config", yrs::In::Map(yrs::MapPrelim::from([("seconds", yrs::In::Any(Any::from(3_i64)))]))),
            ]),
        );
        node.insert(&mut txn, "label", "From JS");
        let Some(Out::YMap(edges)) = root.get(&txn, EDGES) else { panic!() };
        // an edge without ports takes the default ports; a non-map entry is reported, not read
        edges.insert(&mut txn, "bad", "not a map");
    }
    let read = doc::read_graph(&a.transact());
    let node = read.graph.node("js").unwrap();
    assert_eq!((node.position.x, node.position.y), (100.0, 7.5));
    assert_eq!(node.config.get("seconds"), Some(&json!(3)));
    assert_eq!(node.label, "From JS");
    assert_eq!(read.malformed, ["edges.bad"]);
    // writing the same graph back is no change: 100 and 100.0 are one position
    assert!(apply(&a, &read.graph).removed == 1 && apply(&a, &read.graph).is_unchanged());
}

#[test]
fn apply_graph_needs_the_skeleton() {
    let bare = Doc::new();
    let err = doc::apply_graph(&mut bare.transact_mut(), &sample()).unwrap_err();
    assert!(err.to_string().contains("nodes"), "{err}");
}
