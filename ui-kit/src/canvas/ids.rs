//! Fresh node and edge ids. A node id reads as its kind plus a short random suffix
//! (`slack_post_message_k3f9`): readable in expressions (`steps.<id>.output`), and two editors
//! dropping the same kind at the same moment do not pick the same id (in the live doc the same id
//! created twice means one node is lost). The randomness is passed in, so tests are deterministic.

use aos_schema::{EdgeId, NodeId, WorkflowGraph};

/// Base-36 digits of `n`, at least `width` of them (the low ones).
fn base36(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(width);
    for _ in 0..width {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The readable part of a node id for a kind: the kind with every other character made `_`.
pub fn kind_slug(kind: &str) -> String {
    let slug: String =
        kind.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).take(40).collect();
    if slug.is_empty() { "node".to_owned() } else { slug }
}

/// A node id for `kind` that `graph` does not use. `salt` is a random number; when its id is
/// taken the next salts are tried.
pub fn fresh_node_id(graph: &WorkflowGraph, kind: &str, salt: u64) -> NodeId {
    let slug = kind_slug(kind);
    (0..)
        .map(|i| NodeId::from(format!("{slug}_{}", base36(salt.wrapping_add(i), 4))))
        .find(|id| graph.node(id.as_str()).is_none())
        .unwrap_or_else(|| NodeId::from(slug))
}

/// An edge id that `graph` does not use.
pub fn fresh_edge_id(graph: &WorkflowGraph, salt: u64) -> EdgeId {
    (0..)
        .map(|i| EdgeId::from(format!("e_{}", base36(salt.wrapping_add(i), 8))))
        .find(|id| graph.edge(id.as_str()).is_none())
        .unwrap_or_else(|| EdgeId::from("e"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::validate::is_valid_id;
    use aos_schema::{Edge, Node};

    #[test]
    fn ids_are_valid_readable_and_unused() {
        let graph = WorkflowGraph::new().with_node(Node::new("http_request_0001", "http.request"));
        let id = fresh_node_id(&graph, "http.request", 1);
        assert_eq!(id.as_str(), "http_request_0002");
        assert!(is_valid_id(id.as_str()));
        assert_eq!(kind_slug("Odd kind/ü"), "odd_kind__");
        assert_eq!(kind_slug(""), "node");
        let graph = graph.with_edge(Edge::new("e_0000000z", "a", "b"));
        assert_eq!(fresh_edge_id(&graph, 35).as_str(), "e_00000010");
        assert!(is_valid_id(fresh_edge_id(&graph, u64::MAX).as_str()));
    }
}
