//! Fixtures shared by the unit tests: small valid nodes of each kind and ready-made graphs.

use serde_json::json;

use crate::graph::{Edge, Node, WorkflowGraph};

/// A manual trigger.
pub(crate) fn manual(id: &str) -> Node {
    Node::new(id, "trigger.manual")
}

/// A delay: the simplest valid pass-through step.
pub(crate) fn delay(id: &str) -> Node {
    Node::new(id, "logic.delay").with_config("seconds", 1)
}

/// A condition on the input's `ok` field.
pub(crate) fn condition(id: &str) -> Node {
    Node::new(id, "logic.condition").with_config("condition", "{{ input.ok }}")
}

/// A valid HTTP request.
pub(crate) fn http(id: &str) -> Node {
    Node::new(id, "http.request").with_config("method", "GET").with_config("url", "https://example.com/items")
}

/// A valid Slack message relying on the catalog defaults for base url and token.
pub(crate) fn slack(id: &str) -> Node {
    Node::new(id, "slack.post_message").with_config("channel", "#ops").with_config("text", "hello {{ input.name }}")
}

/// A merge.
pub(crate) fn merge(id: &str) -> Node {
    Node::new(id, "logic.merge")
}

/// An edge `from.out -> to.in` named `from-to`.
pub(crate) fn link(from: &str, to: &str) -> Edge {
    Edge::new(format!("{from}-{to}"), from, to)
}

/// An edge `from.port -> to.in` named `from-port-to`.
pub(crate) fn link_port(from: &str, port: &str, to: &str) -> Edge {
    Edge::new(format!("{from}-{port}-{to}"), from, to).ports(port, "in")
}

/// `hook -> fetch -> check`, `check.true -> notify`, `check.false -> shape`, both into `join`.
pub(crate) fn branching() -> WorkflowGraph {
    WorkflowGraph::new()
        .with_node(Node::new("hook", "trigger.webhook").with_position(0.0, 0.0))
        .with_node(http("fetch").with_position(200.0, 0.0))
        .with_node(condition("check"))
        .with_node(slack("notify"))
        .with_node(
            Node::new("shape", "data.transform")
                .with_config("fields", json!({"id": "{{ steps.fetch.output.body.id }}"})),
        )
        .with_node(merge("join"))
        .with_edge(link("hook", "fetch"))
        .with_edge(link("fetch", "check"))
        .with_edge(link_port("check", "true", "notify"))
        .with_edge(link_port("check", "false", "shape"))
        .with_edge(link("notify", "join"))
        .with_edge(link("shape", "join"))
}
