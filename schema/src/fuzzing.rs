//! Fuzz entry points of the schema: each takes arbitrary bytes and must never panic. The cargo-fuzz
//! targets in `fuzz/` call them, and `tests/fuzz_regressions.rs` replays the committed corpus and
//! crash reproducers through the same functions, so a fixed crash stays fixed in the normal suite.
//! Besides "no panic", each checks an invariant the rest of the system relies on.

use serde_json::{Map, Value};

use crate::{Catalog, Edge, Node, NodeId, Position, WorkflowGraph, compile, import, validate};

/// The export-file importer: whatever imports exports canonically, and the canonical text imports
/// back to the same file and the same bytes (export → import → export is byte-identical).
pub fn import_export(data: &[u8]) {
    let Ok(file) = import(data) else { return };
    let Ok(text) = file.to_canonical_string() else { return };
    let again = match import(text.as_bytes()) {
        Ok(again) => again,
        Err(err) => panic!("the canonical export of an imported file does not import: {err}"),
    };
    let text_again = again.to_canonical_string().unwrap_or_default();
    assert_eq!(text, text_again, "export → import → export changed the bytes");
    let _ = file.required_secrets();
    let _ = file.checksum();
}

/// The n8n importer: any input is a clean error or an import whose export file imports back, and
/// the translator emits no expression that does not parse unless it reported keeping one as
/// written (validation then names it, and publishing refuses it).
pub fn import_n8n(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let _ = crate::looks_like_n8n(&value);
    }
    let Ok(imported) = crate::from_n8n(data) else { return };
    let Ok(text) = imported.file.to_canonical_string() else { return };
    if let Err(err) = import(text.as_bytes()) {
        panic!("an n8n import produced a file that does not import: {err}");
    }
    let Err(problems) = validate(&imported.file.graph, catalog()) else { return };
    let unparsed: Vec<_> =
        problems.iter().filter(|p| matches!(p, crate::ValidationError::BadExpression { .. })).collect();
    let reported = imported.warnings.iter().any(|w| w.message.starts_with("expression kept as written"));
    assert!(unparsed.is_empty() || reported, "the translator emitted expressions that do not parse: {unparsed:?}");
}

/// The n8n expression translator alone: any text is translated or refused without a panic, and
/// what it emits parses as the engine reads it and reads only the scope's names.
pub fn n8n_expression(data: &[u8]) {
    let Ok(js) = std::str::from_utf8(data) else { return };
    let zoned = data.len().is_multiple_of(2);
    let Some(translated) = crate::n8n::convert_for_fuzzing(js, zoned) else { return };
    if let Err(at) = crate::expression::check_syntax(&format!("{{{{ {translated} }}}}")) {
        panic!("`{js}` translated to `{translated}`, which does not parse: {at:?}");
    }
}

/// The validator and the compiler. Input starting with `{` is read as a JSON graph; anything else
/// builds a graph from the bytes (kinds from the built-in catalog, edges between their ports), so
/// most inputs reach the compiler instead of stopping at JSON syntax. A graph that validates must
/// compile, and one that does not must not.
pub fn graph_compile(data: &[u8]) {
    let catalog = catalog();
    let graph = if data.first() == Some(&b'{') {
        match serde_json::from_slice::<WorkflowGraph>(data) {
            Ok(graph) => graph,
            Err(_) => return,
        }
    } else {
        graph_from_bytes(data, catalog)
    };
    let validated = validate(&graph, catalog);
    let compiled = compile(&graph, catalog);
    assert_eq!(validated.is_ok(), compiled.is_ok(), "validate and compile disagree on {graph:?}");
    if let Ok(plan) = compiled {
        let _ = plan.fan_out_points();
        let _ = plan.fan_in_points();
    }
}

/// The built-in catalog, built once.
fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(Catalog::builtin)
}

/// A small graph read from bytes: the first byte is the node count, then one byte per node picks a
/// kind, then byte quadruples make edges (from, from port, to, to port; ports by index, and index
/// 255 an unknown port name).
fn graph_from_bytes(data: &[u8], catalog: &Catalog) -> WorkflowGraph {
    let mut bytes = data.iter().copied();
    let count = usize::from(bytes.next().unwrap_or(0) % 24);
    let kinds = catalog.descriptors();
    let mut graph = WorkflowGraph::default();
    for i in 0..count {
        let pick = usize::from(bytes.next().unwrap_or(0));
        let Some(descriptor) = kinds.get(pick % kinds.len().max(1)) else { break };
        let mut config = Map::new();
        for field in descriptor.fields.iter().filter(|f| f.required) {
            let value = field.default.clone().unwrap_or_else(|| Value::from("{{ input }}"));
            config.insert(field.name.clone(), value);
        }
        if let Some(dynamic) = &descriptor.dynamic_outputs {
            let cases = serde_json::json!({ "a": "1", "b": "2" });
            config.insert(dynamic.field.clone(), cases);
        }
        graph.nodes.push(Node {
            id: NodeId::from(format!("n{i}")),
            kind: descriptor.kind.clone(),
            label: String::new(),
            position: Position::default(),
            config,
        });
    }
    let mut edge = 0;
    while let (Some(from), Some(from_port), Some(to), Some(to_port)) =
        (bytes.next(), bytes.next(), bytes.next(), bytes.next())
    {
        if graph.nodes.is_empty() {
            break;
        }
        let from = &graph.nodes[usize::from(from) % graph.nodes.len()];
        let to = &graph.nodes[usize::from(to) % graph.nodes.len()];
        let port = |descriptor_ports: Vec<String>, index: u8, fallback: &str| {
            if index == 255 || descriptor_ports.is_empty() {
                fallback.to_owned()
            } else {
                descriptor_ports[usize::from(index) % descriptor_ports.len()].clone()
            }
        };
        let (from_ports, to_ports) = match (catalog.get(&from.kind), catalog.get(&to.kind)) {
            (Some(f), Some(t)) => (
                f.output_ports(&from.config).into_iter().map(|p| p.name).collect(),
                t.inputs.iter().map(|p| p.name.clone()).collect(),
            ),
            _ => (vec![], vec![]),
        };
        let new = Edge {
            id: format!("e{edge}").as_str().into(),
            from: from.id.clone(),
            from_port: port(from_ports, from_port, "nowhere"),
            to: to.id.clone(),
            to_port: port(to_ports, to_port, "nowhere"),
        };
        graph.edges.push(new);
        edge += 1;
    }
    graph
}
