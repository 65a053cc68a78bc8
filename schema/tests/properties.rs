//! Property tests over random workflows built from the built-in catalog: every edge goes from a
//! lower node index to a higher one, so the graphs are DAGs, and every node is fed by an earlier
//! one through ports whose types fit, so they are valid.

use std::collections::{BTreeMap, HashSet};

use aos_schema::expression::holds_expression;
use aos_schema::{
    Catalog, Edge, ExportFile, FieldDescriptor, FieldType, Node, PortType, ValidationError, WorkflowGraph, compile,
    import, validate,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// How to build one random graph; every number is reduced modulo what it picks from.
#[derive(Debug, Clone)]
struct Recipe {
    trigger: usize,
    kinds: Vec<usize>,
    /// For node `i`, which compatible earlier output feeds it.
    feeds: Vec<u32>,
    /// Extra edges: (target, source, port) picks.
    extra: Vec<(u32, u32, u32)>,
    /// Extra config entries per node: plain values, stored and carried, never expressions.
    noise: Vec<Vec<(String, Value)>>,
    positions: Vec<(f64, f64)>,
}

fn finite_f64() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        finite_f64().prop_map(Value::from),
        // text, never expression syntax: an expression must parse, which validation checks
        "\\PC{0,10}".prop_filter("plain text", |t| !holds_expression(t)).prop_map(Value::from),
        "[\\x00-\\x1f\"\\\\/]{0,4}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn recipe() -> impl Strategy<Value = Recipe> {
    (1usize..14).prop_flat_map(|count| {
        (
            0usize..3,
            prop::collection::vec(0usize..64, count - 1),
            prop::collection::vec(any::<u32>(), count),
            prop::collection::vec((any::<u32>(), any::<u32>(), any::<u32>()), 0..16),
            prop::collection::vec(prop::collection::vec(("x_[a-z]{1,4}", json_value()), 0..3), count),
            prop::collection::vec((finite_f64(), finite_f64()), count),
        )
            .prop_map(|(trigger, kinds, feeds, extra, noise, positions)| Recipe {
                trigger,
                kinds,
                feeds,
                extra,
                noise,
                positions,
            })
    })
}

/// A value the field accepts.
fn valid_value(field: &FieldDescriptor) -> Value {
    match &field.field_type {
        FieldType::Text | FieldType::MultilineText => json!("hello {{ input.name }}"),
        FieldType::Number { min, .. } => json!(min.unwrap_or(1.0)),
        FieldType::Toggle => json!(true),
        FieldType::Select { options } => options.first().map_or(json!("{{ input }}"), |o| json!(o.value)),
        FieldType::KeyValue => json!({"a": "{{ input }}"}),
        FieldType::Expression => json!("{{ input }}"),
        FieldType::SecretRef => json!("{{ secrets.TOKEN }}"),
        FieldType::Cron => json!("*/5 * * * *"),
        FieldType::Url => json!("https://example.com/api"),
        FieldType::Json => json!({"k": [1, "{{ input }}"]}),
    }
}

/// The graph a recipe describes: `n0` is a trigger, `n1..` other kinds.
fn build(recipe: &Recipe, catalog: &Catalog) -> WorkflowGraph {
    let triggers: Vec<_> = catalog.descriptors().iter().filter(|d| d.is_trigger()).collect();
    let others: Vec<_> = catalog.descriptors().iter().filter(|d| !d.is_trigger()).collect();
    let mut descriptors = vec![triggers[recipe.trigger % triggers.len()]];
    descriptors.extend(recipe.kinds.iter().map(|k| others[k % others.len()]));

    let mut graph = WorkflowGraph::new();
    for (at, descriptor) in descriptors.iter().enumerate() {
        let (x, y) = recipe.positions[at];
        let mut node = Node::new(format!("n{at}"), descriptor.kind.clone()).with_position(x, y);
        for field in descriptor.fields.iter().filter(|f| f.required) {
            node.config.insert(field.name.clone(), valid_value(field));
        }
        for (key, value) in &recipe.noise[at] {
            node.config.insert(key.clone(), value.clone());
        }
        graph.nodes.push(node);
    }

    // Every earlier (node, output port) whose type fits the input of `to`.
    let sources = |graph: &WorkflowGraph, to: usize, below: usize| -> Vec<(usize, String)> {
        let Some(input) = descriptors[to].input("in") else {
            return Vec::new();
        };
        (0..below)
            .flat_map(|from| {
                descriptors[from]
                    .output_ports(&graph.nodes[from].config)
                    .into_iter()
                    .filter(|port| port.port_type.fits(input.port_type))
                    .map(move |port| (from, port.name))
            })
            .collect()
    };
    let mut seen = HashSet::new();
    let mut add = |graph: &mut WorkflowGraph, from: usize, port: String, to: usize| {
        if seen.insert((from, port.clone(), to)) {
            let id = format!("e{}", graph.edges.len());
            graph.edges.push(Edge::new(id, format!("n{from}"), format!("n{to}")).ports(port, "in"));
        }
    };
    for to in 1..descriptors.len() {
        let candidates = sources(&graph, to, to);
        let (from, port) = candidates[recipe.feeds[to] as usize % candidates.len()].clone();
        add(&mut graph, from, port, to);
    }
    if descriptors.len() > 1 {
        for &(to, from, port) in &recipe.extra {
            let to = 1 + to as usize % (descriptors.len() - 1);
            let candidates: Vec<_> =
                sources(&graph, to, to).into_iter().filter(|(source, _)| *source == from as usize % to).collect();
            if let Some((from, port)) = candidates.get(port as usize % candidates.len().max(1)) {
                add(&mut graph, *from, port.clone(), to);
            }
        }
    }
    graph
}

/// The nodes reachable from `start` along the graph's edges, `start` excluded.
fn descendants(graph: &WorkflowGraph, start: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut stack = vec![start.to_owned()];
    while let Some(at) = stack.pop() {
        for edge in graph.outgoing(&at) {
            if seen.insert(edge.to.to_string()) {
                stack.push(edge.to.to_string());
            }
        }
    }
    let mut found: Vec<String> = seen.into_iter().collect();
    found.sort();
    found
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn export_import_export_is_byte_identical(
        recipe in recipe(),
        name in "\\PC{0,20}",
        description in proptest::option::of("\\PC{0,20}"),
        tags in prop::collection::vec("[a-z]{1,8}", 0..3),
    ) {
        let catalog = Catalog::builtin();
        let mut file = ExportFile::new(name, build(&recipe, &catalog));
        file.description = description;
        file.tags = tags;
        let first = file.to_canonical_string().unwrap();
        let back = import(first.as_bytes()).unwrap();
        let second = back.to_canonical_string().unwrap();
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(file.checksum().unwrap(), back.checksum().unwrap());
    }

    #[test]
    fn every_random_dag_is_valid_and_compiles_into_sound_layers(recipe in recipe()) {
        let catalog = Catalog::builtin();
        let graph = build(&recipe, &catalog);
        prop_assert_eq!(validate(&graph, &catalog), Ok(()));
        let plan = compile(&graph, &catalog).unwrap();

        let mut layer_of = BTreeMap::new();
        for (at, layer) in plan.layers.iter().enumerate() {
            prop_assert!(!layer.is_empty());
            for id in layer {
                prop_assert!(layer_of.insert(id.clone(), at).is_none(), "{id} twice");
            }
        }
        prop_assert_eq!(layer_of.len(), graph.nodes.len());
        for node in &graph.nodes {
            prop_assert!(layer_of.contains_key(&node.id));
        }
        for edge in &graph.edges {
            prop_assert!(layer_of[&edge.from] < layer_of[&edge.to], "edge {}", edge.id);
        }
        prop_assert_eq!(plan.steps.len(), graph.nodes.len());
        for step in &plan.steps {
            prop_assert_eq!(layer_of[&step.id], step.layer);
        }
    }

    #[test]
    fn the_plan_is_the_same_whatever_the_input_order(recipe in recipe(), turn in 0usize..16) {
        let catalog = Catalog::builtin();
        let graph = build(&recipe, &catalog);
        let mut shuffled = graph.clone();
        shuffled.nodes.reverse();
        let len = shuffled.edges.len().max(1);
        shuffled.edges.rotate_left(turn % len);
        let (a, b) = (compile(&graph, &catalog).unwrap(), compile(&shuffled, &catalog).unwrap());
        prop_assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    }

    #[test]
    fn a_back_edge_makes_a_real_cycle(recipe in recipe(), pick in any::<u32>()) {
        let catalog = Catalog::builtin();
        let mut graph = build(&recipe, &catalog);
        // A non-trigger node with something downstream, and one of its descendants.
        let candidates: Vec<(String, Vec<String>)> = graph.nodes[1..]
            .iter()
            .map(|n| (n.id.to_string(), descendants(&graph, n.id.as_str())))
            .filter(|(_, below)| !below.is_empty())
            .collect();
        prop_assume!(!candidates.is_empty());
        let (top, below) = &candidates[pick as usize % candidates.len()];
        let bottom = &below[(pick as usize / 7) % below.len()];
        let bottom_node = graph.node(bottom).unwrap();
        let port = catalog
            .get(&bottom_node.kind)
            .unwrap()
            .output_ports(&bottom_node.config)
            .into_iter()
            .find(|p| p.port_type == PortType::Any || p.port_type == PortType::Object)
            .map_or_else(|| "out".to_owned(), |p| p.name);
        graph.edges.push(Edge::new("back", bottom.as_str(), top.as_str()).ports(port, "in"));

        let errors = validate(&graph, &catalog).unwrap_err();
        let cycles: Vec<_> = errors
            .iter()
            .filter_map(|e| match e {
                ValidationError::Cycle { path } => Some(path.clone()),
                _ => None,
            })
            .collect();
        prop_assert_eq!(cycles.len(), 1, "{}", errors);
        let path = &cycles[0];
        prop_assert!(path.len() >= 3);
        prop_assert_eq!(path.first(), path.last());
        for pair in path.windows(2) {
            prop_assert!(
                graph.edges.iter().any(|e| e.from == pair[0] && e.to == pair[1]),
                "no edge {} -> {}", pair[0], pair[1]
            );
        }
        let message = errors.to_string();
        prop_assert!(message.contains("cycle: "), "{}", message);
        prop_assert!(path.iter().any(|id| id.as_str() == top.as_str()));
    }
}
