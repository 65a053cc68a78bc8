//! Tests of validation: one per kind of problem, each checking the variant and its message.

use serde_json::json;

use super::*;
use crate::catalog::PortType;
use crate::graph::{Edge, Node, WorkflowGraph};
use crate::ids::NodeId;
use crate::testing::{branching, delay, http, link, link_port, manual, slack};

/// The problems of a graph that must be invalid.
fn problems_of(graph: &WorkflowGraph) -> Vec<ValidationError> {
    match validate(graph, &Catalog::builtin()) {
        Ok(()) => panic!("expected the graph to be invalid"),
        Err(errors) => errors.into_errors(),
    }
}

/// The only problem of a graph that must have exactly one, with its message.
fn single_problem(graph: &WorkflowGraph) -> (ValidationError, String) {
    let problems = problems_of(graph);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let message = problems[0].to_string();
    (problems[0].clone(), message)
}

fn ids(names: &[&str]) -> Vec<NodeId> {
    names.iter().map(|n| NodeId::from(*n)).collect()
}

/// `t -> a`, plus whatever the test adds.
fn start() -> WorkflowGraph {
    WorkflowGraph::new().with_node(manual("t")).with_node(delay("a")).with_edge(link("t", "a"))
}

#[test]
fn a_good_graph_is_valid() {
    assert_eq!(validate(&branching(), &Catalog::builtin()), Ok(()));
}

#[test]
fn cycle_names_its_path() {
    let graph = start()
        .with_node(delay("b"))
        .with_node(delay("c"))
        .with_edge(link("a", "b"))
        .with_edge(link("b", "c"))
        .with_edge(link("c", "a"));
    let (problem, message) = single_problem(&graph);
    assert_eq!(problem, ValidationError::Cycle { path: ids(&["a", "b", "c", "a"]) });
    assert_eq!(message, "cycle: a -> b -> c -> a");
    assert_eq!(problem.code(), "cycle");
}

#[test]
fn a_self_loop_is_a_cycle() {
    let (problem, message) = single_problem(&start().with_edge(link("a", "a")));
    assert_eq!(problem, ValidationError::Cycle { path: ids(&["a", "a"]) });
    assert_eq!(message, "cycle: a -> a");
}

#[test]
fn each_looping_component_is_reported_with_a_shortest_cycle() {
    // Two separate loops, one with a chord; the chord makes `x -> z -> x` the shortest.
    let graph = start()
        .with_node(delay("b"))
        .with_node(delay("x"))
        .with_node(delay("y"))
        .with_node(delay("z"))
        .with_edge(link("a", "b"))
        .with_edge(link("b", "a"))
        .with_edge(link("a", "x"))
        .with_edge(link("x", "y"))
        .with_edge(link("y", "z"))
        .with_edge(link("z", "x"))
        .with_edge(link("x", "z"));
    let messages: Vec<String> = problems_of(&graph).iter().map(|p| p.to_string()).collect();
    assert_eq!(messages, ["cycle: a -> b -> a", "cycle: x -> z -> x"]);
}

#[test]
fn an_oversize_graph_is_refused_with_only_that() {
    let mut graph = start();
    for at in 0..MAX_NODES {
        graph.nodes.push(delay(&format!("n{at}")));
    }
    let (problem, message) = single_problem(&graph);
    assert_eq!(problem, ValidationError::TooManyNodes { count: MAX_NODES + 2, limit: MAX_NODES });
    assert_eq!(message, "graph too large: 1002 nodes, at most 1000 allowed");

    let mut graph = start();
    for at in 0..=MAX_EDGES {
        graph.edges.push(Edge::new(format!("e{at}"), "t", "a"));
    }
    let (_, message) = single_problem(&graph);
    assert_eq!(message, "graph too large: 4002 edges, at most 4000 allowed");
}

#[test]
fn dangling_edge_names_the_missing_node() {
    let (problem, message) = single_problem(&start().with_edge(Edge::new("e9", "a", "ghost")));
    assert_eq!(
        problem,
        ValidationError::DanglingEdge { edge: "e9".into(), end: EdgeEnd::Target, node: "ghost".into() }
    );
    assert_eq!(message, "dangling edge e9: its target node ghost does not exist");
    assert_eq!(problem.code(), "dangling_edge");
}

#[test]
fn unknown_kind() {
    let graph = start().with_node(Node::new("x", "ftp.upload")).with_edge(link("a", "x"));
    let (problem, message) = single_problem(&graph);
    assert_eq!(problem, ValidationError::UnknownKind { node: "x".into(), kind: "ftp.upload".into() });
    assert_eq!(message, "node x has unknown kind \"ftp.upload\"");
}

#[test]
fn missing_required_field_names_node_and_field() {
    let mut node = slack("say");
    node.config.remove("channel");
    let graph = start().with_node(node).with_edge(link("a", "say"));
    let (problem, message) = single_problem(&graph);
    assert_eq!(problem, ValidationError::MissingRequiredField { node: "say".into(), field: "channel".into() });
    assert_eq!(message, "node say is missing required field channel");
}

#[test]
fn empty_text_and_null_are_missing_but_an_expression_is_a_value() {
    let graph = start()
        .with_node(slack("say").with_config("channel", "  ").with_config("text", json!(null)))
        .with_edge(link("a", "say"));
    let fields: Vec<String> = problems_of(&graph)
        .into_iter()
        .map(|p| match p {
            ValidationError::MissingRequiredField { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(fields, ["channel", "text"]);

    let graph =
        start().with_node(slack("say").with_config("text", "{{ secrets.GREETING }}")).with_edge(link("a", "say"));
    assert_eq!(validate(&graph, &Catalog::builtin()), Ok(()));
}

#[test]
fn port_type_mismatch_names_the_edge_and_both_types() {
    let graph = start()
        .with_node(Node::new("rows", "sheets.read").with_config("spreadsheet_id", "abc").with_config("range", "Sheet1"))
        .with_node(Node::new("append", "sheets.append").with_config("spreadsheet_id", "abc"))
        .with_edge(link("a", "rows"))
        .with_edge(link("rows", "append"));
    let (problem, message) = single_problem(&graph);
    assert_eq!(
        problem,
        ValidationError::PortTypeMismatch {
            edge: "rows-append".into(),
            from: "rows".into(),
            from_port: "out".into(),
            from_type: PortType::List,
            to: "append".into(),
            to_port: "in".into(),
            to_type: PortType::Object,
        }
    );
    assert_eq!(message, "port type mismatch on edge rows-append: rows.out emits list but append.in takes object");
}

#[test]
fn two_triggers_where_one_is_allowed() {
    let graph = start().with_node(Node::new("hook", "trigger.webhook")).with_edge(link("hook", "a"));
    let (problem, message) = single_problem(&graph);
    assert_eq!(problem, ValidationError::TooManyTriggers { nodes: ids(&["t", "hook"]) });
    assert_eq!(message, "more than one trigger where one is allowed: t, hook");
}

#[test]
fn no_trigger() {
    let graph = WorkflowGraph::new().with_node(delay("a"));
    let (problem, message) = single_problem(&graph);
    assert_eq!(problem, ValidationError::NoTrigger);
    assert_eq!(message, "workflow has no trigger; exactly one is required");
}

#[test]
fn edge_into_a_trigger() {
    let (problem, message) = single_problem(&start().with_edge(link("a", "t")));
    assert_eq!(problem, ValidationError::EdgeIntoTrigger { edge: "a-t".into(), node: "t".into() });
    assert_eq!(message, "edge a-t leads into trigger t; triggers have no inputs");
}

#[test]
fn unknown_ports_in_both_directions() {
    let graph = start()
        .with_node(crate::testing::condition("c"))
        .with_node(delay("d"))
        .with_edge(link("a", "c"))
        .with_edge(link("c", "d"))
        .with_edge(Edge::new("e2", "c", "d").ports("true", "side"));
    let messages: Vec<String> = problems_of(&graph).iter().map(|p| p.to_string()).collect();
    assert_eq!(
        messages,
        [
            "edge c-d: node c (logic.condition) has no output port \"out\"",
            "edge e2: node d (logic.delay) has no input port \"side\"",
        ]
    );
}

#[test]
fn duplicate_ids_and_duplicate_connections() {
    let graph = start().with_node(delay("a")).with_edge(link("t", "a")).with_edge(Edge::new("again", "t", "a"));
    let problems = problems_of(&graph);
    assert_eq!(
        problems,
        [
            ValidationError::DuplicateNodeId { node: "a".into() },
            ValidationError::DuplicateEdgeId { edge: "t-a".into() },
            ValidationError::DuplicateEdge { edge: "again".into(), duplicate_of: "t-a".into() },
        ]
    );
    assert_eq!(problems[0].to_string(), "duplicate node id a");
    assert_eq!(problems[2].to_string(), "edge again duplicates edge t-a");
}

#[test]
fn invalid_ids() {
    let graph = WorkflowGraph::new().with_node(manual("my trigger")).with_node(delay("")).with_edge(Edge::new(
        "",
        "my trigger",
        "",
    ));
    let codes: Vec<&str> = problems_of(&graph).iter().map(ValidationError::code).collect();
    assert_eq!(codes, ["invalid_id", "invalid_id", "invalid_id"]);
    let graph =
        WorkflowGraph::new().with_node(manual("x y")).with_node(delay("a")).with_edge(Edge::new("e", "x y", "a"));
    let (_, message) = single_problem(&graph);
    assert!(message.contains("invalid node id \"x y\""), "{message}");
}

#[test]
fn a_literal_credential_is_refused() {
    let graph = start().with_node(slack("say").with_config("token", "xoxb-123")).with_edge(link("a", "say"));
    let (problem, message) = single_problem(&graph);
    assert_eq!(problem, ValidationError::PlaintextSecret { node: "say".into(), field: "token".into() });
    assert_eq!(
        message,
        "node say field token must reference a stored secret such as {{ secrets.NAME }}, \
         not hold a literal value"
    );
}

#[test]
fn field_values_of_the_wrong_shape() {
    let graph = start()
        .with_node(http("get").with_config("method", "FETCH").with_config("url", "example.com"))
        .with_node(delay("wait").with_config("seconds", -1))
        .with_node(Node::new("cron", "trigger.schedule").with_config("cron", "daily"))
        .with_edge(link("a", "get"))
        .with_edge(link("a", "wait"));
    let messages: Vec<String> = problems_of(&graph).iter().map(|p| p.to_string()).collect();
    assert_eq!(
        messages,
        [
            "node get field method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
            "node get field url must be an absolute url such as https://example.com",
            "node wait field seconds must be a number from 0 to 604800",
            "node cron field cron must be a cron expression of 5 or 6 fields, or an alias such as \
             @daily",
            "more than one trigger where one is allowed: t, cron",
        ]
    );
    let graph = start()
        .with_node(http("get").with_config("url", "{{ input.next_page }}"))
        .with_node(delay("wait").with_config("seconds", "{{ input.wait }}"))
        .with_edge(link("a", "get"))
        .with_edge(link("a", "wait"));
    assert_eq!(validate(&graph, &Catalog::builtin()), Ok(()));
}

#[test]
fn switch_case_names_are_port_names() {
    let switch = |cases| {
        start()
            .with_node(
                Node::new("route", "logic.switch").with_config("value", "{{ input.tier }}").with_config("cases", cases),
            )
            .with_node(delay("gold"))
            .with_edge(link("a", "route"))
            .with_edge(link_port("route", "gold", "gold"))
    };
    assert_eq!(validate(&switch(json!({"gold": "g"})), &Catalog::builtin()), Ok(()));
    let (problem, _) = single_problem(&switch(json!({"gold": "g", "default": "d"})));
    assert_eq!(problem.code(), "invalid_field_value");
    let (problem, message) = single_problem(&switch(json!({"silver": "s"})));
    assert_eq!(problem.code(), "unknown_port");
    assert_eq!(message, "edge route-gold-gold: node route (logic.switch) has no output port \"gold\"");
}

#[test]
fn unreachable_nodes() {
    let (problem, message) = single_problem(&start().with_node(delay("island")));
    assert_eq!(problem, ValidationError::Unreachable { node: "island".into() });
    assert_eq!(message, "node island is not reachable from the trigger");
}

#[test]
fn non_finite_positions() {
    let graph = start().with_node(delay("b").with_position(f64::NAN, 0.0)).with_edge(link("a", "b"));
    let (problem, message) = single_problem(&graph);
    assert_eq!(problem.code(), "non_finite_position");
    assert_eq!(message, "node b has a position that is not a finite number");
}

#[test]
fn every_problem_is_collected_and_displayed_together() {
    let graph = WorkflowGraph::new()
        .with_node(Node::new("x", "nope"))
        .with_node(slack("say").with_config("channel", ""))
        .with_edge(Edge::new("e1", "x", "gone"));
    let errors = validate(&graph, &Catalog::builtin()).unwrap_err();
    assert_eq!(errors.len(), 4);
    assert_eq!(
        errors.to_string(),
        "node x has unknown kind \"nope\"; node say is missing required field channel; \
         workflow has no trigger; exactly one is required; \
         dangling edge e1: its target node gone does not exist"
    );
}

#[test]
fn problems_serialize_with_their_code() {
    let problem = ValidationError::Cycle { path: ids(&["a", "b", "a"]) };
    let value = serde_json::to_value(&problem).unwrap();
    assert_eq!(value, json!({"code": "cycle", "path": ["a", "b", "a"]}));
    let back: ValidationError = serde_json::from_value(value).unwrap();
    assert_eq!(back, problem);
    for problem in [
        ValidationError::NoTrigger,
        ValidationError::Unreachable { node: "n".into() },
        ValidationError::TooManyEdges { count: 1, limit: 0 },
    ] {
        let value = serde_json::to_value(&problem).unwrap();
        assert_eq!(value["code"], problem.code());
    }
}
