//! The run progress state machine on compiled plans: order, inputs, skipped branches, fan-in,
//! for-each iterations with a concurrency cap, failure.

use std::sync::Arc;

use aos_actors::{ProgressError, RunOutcome, RunProgress, StepKey};
use aos_engine_link::StepOutput;
use aos_schema::{Catalog, Edge, Node, WorkflowGraph, compile};
use serde_json::{Value, json};

fn step(id: &str) -> Node {
    Node::new(id, "data.transform").with_config("fields", json!({ "from": id }))
}

fn plan(nodes: Vec<Node>, edges: &[(&str, &str, &str)]) -> Arc<aos_schema::ExecutionPlan> {
    let mut graph = WorkflowGraph::new().with_node(Node::new("start", "trigger.manual"));
    for node in nodes {
        graph = graph.with_node(node);
    }
    for (i, (from, port, to)) in edges.iter().enumerate() {
        graph = graph.with_edge(Edge::new(format!("e{i}"), *from, *to).ports(*port, "in"));
    }
    Arc::new(compile(&graph, &Catalog::builtin()).expect("valid graph"))
}

fn keys(ready: &[aos_actors::ReadyStep]) -> Vec<String> {
    ready.iter().map(|r| r.key.to_string()).collect()
}

fn done(value: Value) -> StepOutput {
    StepOutput::value(value)
}

#[test]
fn a_line_runs_in_order_and_each_step_reads_the_one_before() {
    let a = Node::new("a", "data.transform").with_config("fields", json!({ "n": "{{ trigger.body.n }}" }));
    let b = Node::new("b", "data.transform")
        .with_config("fields", json!({ "a": "{{ steps.a.output }}", "n": "{{ steps.start.output.body.n }}" }));
    let plan = plan(vec![a, b], &[("start", "out", "a"), ("a", "out", "b")]);
    let mut run = RunProgress::new(plan, json!({ "body": { "n": 1 } }));
    let ready = run.ready();
    assert_eq!(keys(&ready), ["start"]);
    run.complete(&StepKey::top("start"), &done(json!({ "body": { "n": 1 } }))).unwrap();
    let ready = run.ready();
    assert_eq!(keys(&ready), ["a"]);
    assert_eq!(ready[0].context.input, json!({ "body": { "n": 1 } }));
    assert_eq!(ready[0].context.trigger, json!({ "body": { "n": 1 } }));
    run.complete(&StepKey::top("a"), &done(json!({ "a": true }))).unwrap();
    let ready = run.ready();
    assert_eq!(keys(&ready), ["b"]);
    assert_eq!(ready[0].context.steps["a"]["output"], json!({ "a": true }));
    assert_eq!(ready[0].context.steps["start"]["output"]["body"]["n"], 1);
    assert_eq!(run.outcome(), RunOutcome::Running);
    run.complete(&StepKey::top("b"), &done(json!(2))).unwrap();
    assert!(run.ready().is_empty());
    assert_eq!(run.outcome(), RunOutcome::Succeeded);
    assert_eq!(run.output("b"), Some(&json!(2)));
}

#[test]
fn a_step_is_handed_only_the_context_its_config_reads() {
    let constant = step("constant");
    let named =
        Node::new("named", "data.transform").with_config("fields", json!({ "x": "{{ steps.constant.output.from }}" }));
    let every = Node::new("every", "data.transform").with_config("fields", json!({ "all": "{{ steps | length }}" }));
    let plan = plan(
        vec![constant, named, every],
        &[("start", "out", "constant"), ("constant", "out", "named"), ("named", "out", "every")],
    );
    let mut run = RunProgress::new(plan, json!({ "body": "a large payload" }));
    let ready = run.ready();
    assert_eq!(ready[0].context.trigger, json!({ "body": "a large payload" }), "a trigger outputs its payload");
    run.complete(&StepKey::top("start"), &done(json!({ "body": "a large payload" }))).unwrap();
    let ready = run.ready();
    assert_eq!(ready[0].context.trigger, Value::Null, "a constant config reads no trigger");
    assert!(ready[0].context.steps.is_empty(), "nor any earlier output");
    assert_eq!(ready[0].context.input, json!({ "body": "a large payload" }), "but always its input");
    run.complete(&StepKey::top("constant"), &done(json!({ "from": "constant" }))).unwrap();
    let ready = run.ready();
    let names: Vec<&String> = ready[0].context.steps.keys().collect();
    assert_eq!(names, ["constant"], "only the step its expression names");
    run.complete(&StepKey::top("named"), &done(json!({ "x": "constant" }))).unwrap();
    let ready = run.ready();
    let names: Vec<&String> = ready[0].context.steps.keys().collect();
    assert_eq!(names, ["constant", "named", "start"], "`steps` read as a whole gets every output");
}

#[test]
fn catalog_defaults_read_nothing_but_the_input() {
    // `Reads` scans the plan's config, defaults included; a default naming the trigger or a step
    // would still be seen, but none should need to
    for descriptor in Catalog::builtin().descriptors() {
        for field in &descriptor.fields {
            let default = field.default.as_ref().map(Value::to_string).unwrap_or_default();
            assert!(!default.contains("trigger") && !default.contains("steps"), "{}.{}", descriptor.kind, field.name);
        }
    }
}

#[test]
fn the_untaken_branch_is_skipped_and_the_merge_gets_what_ran() {
    let cond = Node::new("check", "logic.condition").with_config("condition", "{{ input.ok }}");
    let plan = plan(
        vec![cond, step("yes"), step("no"), step("after_no"), Node::new("join", "logic.merge")],
        &[
            ("start", "out", "check"),
            ("check", "true", "yes"),
            ("check", "false", "no"),
            ("no", "out", "after_no"),
            ("yes", "out", "join"),
            ("after_no", "out", "join"),
        ],
    );
    let mut run = RunProgress::new(plan, json!({}));
    run.ready();
    run.complete(&StepKey::top("start"), &done(json!({ "ok": true }))).unwrap();
    assert_eq!(keys(&run.ready()), ["check"]);
    let taken = StepOutput { ports: Some(vec!["true".into()]), ..done(json!({ "ok": true })) };
    run.complete(&StepKey::top("check"), &taken).unwrap();
    assert_eq!(keys(&run.ready()), ["yes"]);
    let skipped: Vec<String> = run.take_skipped().iter().map(ToString::to_string).collect();
    assert_eq!(skipped, ["no", "after_no"]);
    run.complete(&StepKey::top("yes"), &done(json!("Y"))).unwrap();
    let ready = run.ready();
    assert_eq!(keys(&ready), ["join"]);
    assert_eq!(ready[0].context.input, json!({ "yes": "Y" }), "a merge gets the outputs of what ran, by id");
    run.complete(&StepKey::top("join"), &done(json!({ "yes": "Y" }))).unwrap();
    assert_eq!(run.outcome(), RunOutcome::Succeeded);
}

#[test]
fn fan_out_runs_in_parallel_and_fan_in_waits_for_both() {
    let plan = plan(
        vec![step("left"), step("right"), Node::new("join", "logic.merge")],
        &[("start", "out", "left"), ("start", "out", "right"), ("left", "out", "join"), ("right", "out", "join")],
    );
    let mut run = RunProgress::new(plan, json!({}));
    run.ready();
    run.complete(&StepKey::top("start"), &done(json!({}))).unwrap();
    assert_eq!(keys(&run.ready()), ["left", "right"]);
    run.complete(&StepKey::top("right"), &done(json!("R"))).unwrap();
    assert!(run.ready().is_empty(), "the merge waits for every branch");
    run.complete(&StepKey::top("left"), &done(json!("L"))).unwrap();
    let ready = run.ready();
    assert_eq!(ready[0].context.input, json!({ "left": "L", "right": "R" }));
}

#[test]
fn for_each_runs_its_branch_per_item_within_the_cap_and_collects_results() {
    let each =
        Node::new("each", "logic.for_each").with_config("items", "{{ input.list }}").with_config("concurrency", 2);
    let shape = Node::new("shape", "data.transform").with_config("fields", json!({ "f": "{{ steps.fetch.output }}" }));
    let plan = plan(
        vec![each, step("fetch"), shape, step("report")],
        &[("start", "out", "each"), ("each", "item", "fetch"), ("fetch", "out", "shape"), ("each", "done", "report")],
    );
    let mut run = RunProgress::new(plan, json!({}));
    run.ready();
    run.complete(&StepKey::top("start"), &done(json!({ "list": [10, 20, 30] }))).unwrap();
    assert_eq!(keys(&run.ready()), ["each"]);
    let items = StepOutput { items: Some(vec![json!(10), json!(20), json!(30)]), ..done(json!([10, 20, 30])) };
    run.complete(&StepKey::top("each"), &items).unwrap();
    let ready = run.ready();
    assert_eq!(keys(&ready), ["fetch[0]", "fetch[1]"], "two items at a time");
    assert_eq!(ready[1].context.item.as_ref().map(|i| (i.value.clone(), i.index)), Some((json!(20), 1)));
    assert_eq!(ready[1].context.input, json!(20));
    let key = |node: &str, i: u64| StepKey { node: node.into(), items: vec![i] };
    run.complete(&key("fetch", 0), &done(json!("f0"))).unwrap();
    assert_eq!(keys(&run.ready()), ["shape[0]"]);
    run.complete(&key("shape", 0), &done(json!("s0"))).unwrap();
    assert_eq!(keys(&run.ready()), ["fetch[2]"], "a finished item frees a slot");
    for i in [1, 2] {
        run.complete(&key("fetch", i), &done(json!(format!("f{i}")))).unwrap();
        let ready = run.ready();
        assert_eq!(ready[0].context.steps["fetch"]["output"], json!(format!("f{i}")), "each item sees its own steps");
        run.complete(&key("shape", i), &done(json!(format!("s{i}")))).unwrap();
    }
    let ready = run.ready();
    assert_eq!(keys(&ready), ["report"]);
    assert_eq!(ready[0].context.input, json!(["s0", "s1", "s2"]));
    run.complete(&StepKey::top("report"), &done(json!("ok"))).unwrap();
    assert_eq!(run.outcome(), RunOutcome::Succeeded);
}

#[test]
fn an_empty_for_each_goes_straight_to_done() {
    let each = Node::new("each", "logic.for_each").with_config("items", "{{ input }}");
    let plan = plan(
        vec![each, step("fetch"), step("report")],
        &[("start", "out", "each"), ("each", "item", "fetch"), ("each", "done", "report")],
    );
    let mut run = RunProgress::new(plan, json!({}));
    run.ready();
    run.complete(&StepKey::top("start"), &done(json!([]))).unwrap();
    run.ready();
    run.complete(&StepKey::top("each"), &StepOutput { items: Some(vec![]), ..done(json!([])) }).unwrap();
    let ready = run.ready();
    assert_eq!(keys(&ready), ["report"]);
    assert_eq!(ready[0].context.input, json!([]));
}

#[test]
fn a_failure_fails_the_run_and_results_are_accepted_once() {
    let plan = plan(vec![step("a"), step("b")], &[("start", "out", "a"), ("start", "out", "b")]);
    let mut run = RunProgress::new(plan, json!({}));
    run.ready();
    let start = StepKey::top("start");
    run.complete(&start, &done(json!({}))).unwrap();
    assert!(matches!(run.complete(&start, &done(json!({}))), Err(ProgressError::NotRunning { .. })));
    assert!(run.complete(&StepKey::top("nope"), &done(json!({}))).is_err());
    run.ready();
    run.fail(&StepKey::top("a")).unwrap();
    assert_eq!(run.outcome(), RunOutcome::Failed);
    assert!(run.ready().is_empty());
}

#[test]
fn a_step_key_reads_back_from_its_row_id() {
    let nested = StepKey { node: "fetch".into(), items: vec![2, 0] };
    assert_eq!(StepKey::parse("fetch[2][0]"), nested);
    assert_eq!(StepKey::parse("notify"), StepKey::top("notify"));
    // whatever the text, the key it reads as prints as that text again
    for text in ["fetch[2][0]", "a[01]", "a[x][3]", "a[]", "[7]", "a[18446744073709551616]", "b]", "c[", ""] {
        assert_eq!(StepKey::parse(text).to_string(), text, "{text}");
    }
    assert_eq!(StepKey::parse("a[x][3]"), StepKey { node: "a[x]".into(), items: vec![3] });
}
