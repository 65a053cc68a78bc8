//! Copy and paste of canvas fragments: the selected nodes and the edges between them. Pasting
//! gives every node a fresh id (and every edge a fresh id and its remapped ends), shifts the
//! fragment so it does not land on the original, and rewrites `steps.<old id>` references inside
//! the pasted configs to the new ids, so a pasted pair keeps talking to itself.

use std::collections::BTreeMap;

use aos_schema::{Edge, Node, NodeId, WorkflowGraph};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::{fresh_edge_id, fresh_node_id};
use super::selection::Selection;

/// A copied fragment; serializable so it can travel through the system clipboard as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Clipboard {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Clipboard {
    /// The selected nodes of `graph` and the edges whose both ends are selected.
    pub fn copy(graph: &WorkflowGraph, selection: &Selection) -> Clipboard {
        let nodes: Vec<Node> = graph.nodes.iter().filter(|n| selection.nodes.contains(&n.id)).cloned().collect();
        let edges = graph
            .edges
            .iter()
            .filter(|e| selection.nodes.contains(&e.from) && selection.nodes.contains(&e.to))
            .cloned()
            .collect();
        Clipboard { nodes, edges }
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Adds the fragment to `graph` moved by `offset`, with fresh ids drawn with `salt` (called
    /// once per id). Returns the selection of what was pasted.
    pub fn paste_into(
        &self,
        graph: &mut WorkflowGraph,
        offset: (f64, f64),
        salt: &mut dyn FnMut() -> u64,
    ) -> Selection {
        let mut renamed: BTreeMap<NodeId, NodeId> = BTreeMap::new();
        let mut pasted = Selection::default();
        for node in &self.nodes {
            let id = fresh_node_id(graph, &node.kind, salt());
            renamed.insert(node.id.clone(), id.clone());
            let mut copy = node.clone();
            copy.id = id.clone();
            copy.position.x += offset.0;
            copy.position.y += offset.1;
            graph.nodes.push(copy);
            pasted.nodes.insert(id);
        }
        // references between pasted nodes follow the renames
        for node in graph.nodes.iter_mut().filter(|n| pasted.nodes.contains(&n.id)) {
            for value in node.config.values_mut() {
                rename_references(value, &renamed);
            }
        }
        for edge in &self.edges {
            let (Some(from), Some(to)) = (renamed.get(&edge.from), renamed.get(&edge.to)) else { continue };
            let id = fresh_edge_id(graph, salt());
            graph.edges.push(Edge::new(id.clone(), from.clone(), to.clone()).ports(&edge.from_port, &edge.to_port));
            pasted.edges.insert(id);
        }
        pasted
    }
}

/// Rewrites `steps.<old>` to `steps.<new>` in every string inside `value`.
fn rename_references(value: &mut Value, renamed: &BTreeMap<NodeId, NodeId>) {
    match value {
        Value::String(text) if text.contains("steps.") => {
            for (old, new) in renamed {
                *text = replace_step_ref(text, old.as_str(), new.as_str());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_references(v, renamed)),
        Value::Object(map) => map.values_mut().for_each(|v| rename_references(v, renamed)),
        _ => {}
    }
}

/// Replaces `steps.<old>` where the id ends at a non-id character (so `steps.a` does not touch
/// `steps.ab`).
fn replace_step_ref(text: &str, old: &str, new: &str) -> String {
    let needle = format!("steps.{old}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let end = at + needle.len();
        let boundary = rest[end..].chars().next().is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        out.push_str(&rest[..at]);
        if boundary {
            out.push_str("steps.");
            out.push_str(new);
        } else {
            out.push_str(&needle);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::{Catalog, kinds, validate};

    fn graph() -> WorkflowGraph {
        WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(
                Node::new("fetch", kinds::HTTP_REQUEST)
                    .with_config("url", "https://example.com")
                    .with_position(300.0, 0.0),
            )
            .with_node(
                Node::new("shape", kinds::DATA_TRANSFORM)
                    .with_config(
                        "fields",
                        serde_json::json!({"s": "{{ steps.fetch.output.status }}", "x": "{{ steps.fetchy }}"}),
                    )
                    .with_position(600.0, 0.0),
            )
            .with_edge(Edge::new("e1", "t", "fetch"))
            .with_edge(Edge::new("e2", "fetch", "shape"))
    }

    #[test]
    fn paste_makes_fresh_ids_and_keeps_inner_edges_and_references() {
        let mut g = graph();
        let mut sel = Selection::node("fetch".into());
        sel.nodes.insert("shape".into());
        let clip = Clipboard::copy(&g, &sel);
        assert_eq!((clip.nodes.len(), clip.edges.len()), (2, 1), "the edge from the trigger stays behind");
        let mut n = 100;
        let pasted = clip.paste_into(&mut g, (40.0, 40.0), &mut || {
            n += 1;
            n
        });
        assert_eq!(g.nodes.len(), 5);
        assert_eq!(g.edges.len(), 3);
        assert_eq!((pasted.nodes.len(), pasted.edges.len()), (2, 1));
        assert!(pasted.nodes.iter().all(|id| !["fetch", "shape"].contains(&id.as_str())));
        let new_fetch = pasted.nodes.iter().find(|id| id.as_str().starts_with("http_request")).unwrap();
        let new_shape =
            g.nodes.iter().find(|n| pasted.nodes.contains(&n.id) && n.kind == kinds::DATA_TRANSFORM).unwrap();
        assert_eq!(new_shape.position.x, 640.0);
        let fields = &new_shape.config["fields"];
        assert_eq!(fields["s"], format!("{{{{ steps.{new_fetch}.output.status }}}}"));
        assert_eq!(fields["x"], "{{ steps.fetchy }}");
        let edge = g.edges.iter().find(|e| pasted.edges.contains(&e.id)).unwrap();
        assert_eq!((&edge.from, &edge.to), (new_fetch, &new_shape.id));
        // the pasted graph has no structural problem (ids unique and valid)
        let problems = validate(&g, &Catalog::builtin()).err().map(|e| e.into_errors()).unwrap_or_default();
        assert!(problems.iter().all(|p| !["duplicate_node_id", "duplicate_edge_id", "invalid_id"].contains(&p.code())));
    }

    #[test]
    fn clipboard_round_trips_as_json() {
        let g = graph();
        let clip = Clipboard::copy(&g, &Selection::node("t".into()));
        let text = serde_json::to_string(&clip).unwrap();
        assert_eq!(serde_json::from_str::<Clipboard>(&text).unwrap(), clip);
        assert!(Clipboard::copy(&g, &Selection::default()).is_empty());
    }
}
