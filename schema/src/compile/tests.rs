//! Tests of the compiler: layers, links, fan-out and fan-in points, branches and determinism.

use serde_json::json;

use super::*;
use crate::graph::Node;
use crate::testing::{branching, delay, link, link_port, manual, merge};

fn plan(graph: &WorkflowGraph) -> ExecutionPlan {
    compile(graph, &Catalog::builtin()).unwrap()
}

fn names(ids: &[NodeId]) -> Vec<&str> {
    ids.iter().map(NodeId::as_str).collect()
}

#[test]
fn layers_follow_the_longest_path() {
    let plan = plan(&branching());
    let layers: Vec<Vec<&str>> = plan.layers.iter().map(|l| names(l)).collect();
    assert_eq!(layers, [vec!["hook"], vec!["fetch"], vec!["check"], vec!["notify", "shape"], vec!["join"]]);
    assert_eq!(plan.trigger.as_str(), "hook");
    let ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["check", "fetch", "hook", "join", "notify", "shape"]);
    assert_eq!(plan.step("join").map(|s| s.layer), Some(4));
}

#[test]
fn steps_know_their_links_and_flow() {
    let plan = plan(&branching());
    let check = plan.step("check").unwrap();
    assert_eq!(check.flow, Flow::Branch);
    assert_eq!(check.kind, "logic.condition");
    assert_eq!(
        check.predecessors,
        [Inbound { from: "fetch".into(), from_port: "out".into(), to_port: "in".into(), edge: "fetch-check".into() }]
    );
    assert_eq!(check.successors.keys().collect::<Vec<_>>(), ["false", "true"]);
    assert_eq!(check.targets("true").collect::<Vec<_>>(), [&NodeId::from("notify")]);
    assert_eq!(check.targets("nope").count(), 0);

    let join = plan.step("join").unwrap();
    let from: Vec<&str> = join.predecessors.iter().map(|p| p.from.as_str()).collect();
    assert_eq!(from, ["notify", "shape"]);
    assert_eq!(join.successors.get("out"), Some(&Vec::new()));
}

#[test]
fn fan_out_and_fan_in_points() {
    let plan = plan(&branching());
    assert_eq!(plan.fan_out_points(), [&NodeId::from("check")]);
    assert_eq!(plan.fan_in_points(), [&NodeId::from("join")]);
}

#[test]
fn a_condition_owns_the_nodes_only_its_port_reaches() {
    let plan = plan(&branching());
    let check = plan.step("check").unwrap();
    assert_eq!(names(&check.branches["true"]), ["notify"]);
    assert_eq!(names(&check.branches["false"]), ["shape"]);
    assert!(plan.step("fetch").unwrap().branches.is_empty());
}

#[test]
fn switch_cases_are_ports_and_shared_nodes_belong_to_no_branch() {
    let graph = WorkflowGraph::new()
        .with_node(manual("t"))
        .with_node(
            Node::new("route", "logic.switch")
                .with_config("value", "{{ input.tier }}")
                .with_config("cases", json!({"gold": "gold", "silver": "silver"})),
        )
        .with_node(delay("g"))
        .with_node(delay("g2"))
        .with_node(delay("s"))
        .with_node(delay("d"))
        .with_node(delay("shared"))
        .with_node(delay("direct"))
        .with_edge(link("t", "route"))
        .with_edge(link("t", "direct"))
        .with_edge(link_port("route", "gold", "g"))
        .with_edge(link_port("route", "silver", "s"))
        .with_edge(link_port("route", "default", "d"))
        .with_edge(link("g", "g2"))
        .with_edge(link("g2", "shared"))
        .with_edge(link("d", "shared"))
        .with_edge(link_port("route", "gold", "direct"));
    let plan = plan(&graph);
    let route = plan.step("route").unwrap();
    assert_eq!(route.successors.keys().collect::<Vec<_>>(), ["default", "gold", "silver"]);
    assert_eq!(names(&route.branches["gold"]), ["g", "g2"]);
    assert_eq!(names(&route.branches["silver"]), ["s"]);
    assert_eq!(names(&route.branches["default"]), ["d"]);
    assert!(plan.step("direct").unwrap().fan_in);
    assert!(plan.step("shared").unwrap().fan_in);
}

#[test]
fn for_each_fans_out_and_owns_its_loop_body() {
    let graph = WorkflowGraph::new()
        .with_node(manual("t"))
        .with_node(Node::new("loop", "logic.for_each"))
        .with_node(delay("work"))
        .with_node(delay("report"))
        .with_edge(link("t", "loop"))
        .with_edge(link_port("loop", "item", "work"))
        .with_edge(link_port("loop", "done", "report"));
    let plan = plan(&graph);
    let each = plan.step("loop").unwrap();
    assert!(each.fan_out);
    assert_eq!(each.flow, Flow::ForEach);
    assert_eq!(names(&each.branches["item"]), ["work"]);
    assert_eq!(names(&each.branches["done"]), ["report"]);
    assert_eq!(each.config["items"], json!("{{ input }}"));
}

#[test]
fn configs_carry_the_catalog_defaults() {
    let plan = plan(&branching());
    let notify = plan.step("notify").unwrap();
    assert_eq!(notify.config["base_url"], json!("https://slack.com/api"));
    assert_eq!(notify.config["token"], json!("{{ secrets.SLACK_TOKEN }}"));
    assert_eq!(notify.config["channel"], json!("#ops"));
    assert_eq!(plan.step("fetch").unwrap().config["headers"], json!({}));
}

#[test]
fn an_invalid_graph_does_not_compile() {
    let graph = WorkflowGraph::new()
        .with_node(manual("t"))
        .with_node(delay("a"))
        .with_node(merge("m"))
        .with_edge(link("t", "a"))
        .with_edge(link("a", "m"))
        .with_edge(link("m", "a"));
    let errors = compile(&graph, &Catalog::builtin()).unwrap_err();
    assert_eq!(errors.to_string(), "cycle: a -> m -> a");
}

#[test]
fn the_plan_does_not_depend_on_input_order() {
    let graph = branching();
    let mut shuffled = graph.clone();
    shuffled.nodes.reverse();
    shuffled.edges.rotate_left(2);
    let (a, b) = (plan(&graph), plan(&shuffled));
    assert_eq!(a, b);
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
}

#[test]
fn the_plan_roundtrips_through_json() {
    let plan = plan(&branching());
    let value = serde_json::to_value(&plan).unwrap();
    assert_eq!(value["layers"][0], json!(["hook"]));
    assert_eq!(value["steps"][0]["branches"]["true"], json!(["notify"]));
    assert!(value["steps"][1].get("branches").is_none());
    let back: ExecutionPlan = serde_json::from_value(value).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn a_lone_trigger_compiles_to_one_layer() {
    let plan = plan(&WorkflowGraph::new().with_node(manual("only")));
    assert_eq!(plan.layers, [vec![NodeId::from("only")]]);
    assert!(!plan.steps[0].fan_out && !plan.steps[0].fan_in);
}

#[test]
fn the_largest_allowed_graphs_compile() {
    use crate::graph::{MAX_EDGES, MAX_NODES};
    use crate::testing::condition;

    // A chain as deep as allowed.
    let mut chain = WorkflowGraph::new().with_node(manual("n0"));
    for at in 1..MAX_NODES {
        chain = chain.with_node(delay(&format!("n{at}"))).with_edge(link(&format!("n{}", at - 1), &format!("n{at}")));
    }
    assert_eq!(plan(&chain).layers.len(), MAX_NODES);

    // As many nodes and edges as allowed, a third of them conditions.
    let mut wide = WorkflowGraph::new().with_node(manual("n0"));
    for at in 1..MAX_NODES {
        let id = format!("n{at}");
        wide.nodes.push(if at % 3 == 0 { condition(&id) } else { delay(&id) });
    }
    let out_port = |from: usize, salt: usize| match (from, from % 3) {
        (0, _) => "out",
        (_, 0) if salt.is_multiple_of(2) => "true",
        (_, 0) => "false",
        _ => "out",
    };
    let mut seen = std::collections::HashSet::new();
    let mut salt = 0usize;
    while wide.edges.len() < MAX_EDGES {
        salt += 1;
        let to = 1 + (salt * 7919) % (MAX_NODES - 1);
        let from = if wide.edges.len() < MAX_NODES - 1 { wide.edges.len() % to } else { (salt * 104_729) % to };
        let port = out_port(from, salt);
        if seen.insert((from, port, to)) {
            let id = format!("e{}", wide.edges.len());
            wide.edges.push(crate::graph::Edge::new(id, format!("n{from}"), format!("n{to}")).ports(port, "in"));
        }
    }
    let plan = plan(&wide);
    assert_eq!(plan.steps.len(), MAX_NODES);
    assert_eq!(plan.layers.iter().map(Vec::len).sum::<usize>(), MAX_NODES);
}
