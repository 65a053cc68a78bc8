//! A visual diff in words, for the list beside the canvas (an import's preview, two versions
//! compared): one line per step added, removed or changed and per connection made or undone,
//! naming steps by their labels as the canvas does, never by their ids.

use aos_schema::{Catalog, Edge, NodeChange, NodeId, WorkflowGraph};
use aos_ui_kit::canvas::{DiffStatus, DiffView};

/// One change as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeLine {
    pub status: DiffStatus,
    pub text: String,
}

/// The lines of a diff: steps added, removed and changed, then connections made and undone.
pub fn describe(view: &DiffView, catalog: &Catalog) -> Vec<ChangeLine> {
    // the view's graph holds the `after` nodes and the removed ones, so every step the diff names
    let name = |id: &NodeId| step_name(&view.graph, catalog, id);
    let diff = &view.diff;
    let line = |status, text: String| ChangeLine { status, text };
    let mut lines = Vec::new();
    lines.extend(diff.nodes_added.iter().map(|n| line(DiffStatus::Added, format!("Added {}", name(&n.id)))));
    lines.extend(diff.nodes_removed.iter().map(|n| line(DiffStatus::Removed, format!("Removed {}", name(&n.id)))));
    lines.extend(diff.nodes_changed.iter().map(|c| {
        line(DiffStatus::Changed, format!("Changed {}: {}", name(&c.id), what_changed(&view.graph, c, catalog)))
    }));
    let ends = |e: &Edge| format!("{} → {}", name(&e.from), name(&e.to));
    lines.extend(diff.edges_added.iter().map(|e| line(DiffStatus::Added, format!("Connected {}", ends(e)))));
    lines.extend(diff.edges_removed.iter().map(|e| line(DiffStatus::Removed, format!("Disconnected {}", ends(e)))));
    lines
}

/// A step as the canvas names it: “its label”, or its kind's title when it has none.
fn step_name(graph: &WorkflowGraph, catalog: &Catalog, id: &NodeId) -> String {
    let Some(node) = graph.node(id.as_str()) else { return format!("“{id}”") };
    let label = node.label.trim();
    if !label.is_empty() {
        return format!("“{label}”");
    }
    let title = catalog.get(&node.kind).map_or(node.kind.as_str(), |d| d.title.as_str());
    format!("a {title} step")
}

/// What differs in a changed step: renamed, another kind, moved, settings by field label.
fn what_changed(graph: &WorkflowGraph, change: &NodeChange, catalog: &Catalog) -> String {
    let mut parts = Vec::new();
    if let Some(label) = &change.label {
        parts.push(format!("renamed from “{}”", label.before.trim()));
    }
    if let Some(kind) = &change.kind {
        let title = |kind: &str| catalog.get(kind).map_or(kind.to_owned(), |d| d.title.clone());
        parts.push(format!("now a {} step (was {})", title(&kind.after), title(&kind.before)));
    }
    if !change.config.is_empty() {
        let fields = graph.node(change.id.as_str()).and_then(|node| catalog.get(&node.kind));
        let field_label = |key: &str| {
            fields
                .and_then(|d| d.fields.iter().find(|f| f.name == key))
                .map_or(key.to_owned(), |f| f.label.to_lowercase())
        };
        let keys: Vec<String> = change.config.iter().map(|c| field_label(&c.key)).collect();
        parts.push(format!("settings ({})", keys.join(", ")));
    }
    if change.position.is_some() {
        parts.push("moved".to_owned());
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::{Node, kinds};

    fn lines(before: &WorkflowGraph, after: &WorkflowGraph) -> Vec<(DiffStatus, String)> {
        describe(&DiffView::new(before, after), &Catalog::builtin()).into_iter().map(|l| (l.status, l.text)).collect()
    }

    #[test]
    fn steps_are_named_by_label_never_by_id() {
        let before = WorkflowGraph::new()
            .with_node(Node::new("n1", kinds::TRIGGER_MANUAL).with_label("Start"))
            .with_node(Node::new("n2", kinds::LOGIC_DELAY).with_label("Old wait").with_config("seconds", 1))
            .with_edge(Edge::new("e1", "n1", "n2"));
        let after = WorkflowGraph::new()
            .with_node(Node::new("n1", kinds::TRIGGER_MANUAL).with_label("Start"))
            .with_node(Node::new("n3", kinds::LOGIC_DELAY).with_label("Notify team").with_config("seconds", 2))
            .with_edge(Edge::new("e2", "n1", "n3"));
        assert_eq!(
            lines(&before, &after),
            [
                (DiffStatus::Added, "Added “Notify team”".to_owned()),
                (DiffStatus::Removed, "Removed “Old wait”".to_owned()),
                (DiffStatus::Added, "Connected “Start” → “Notify team”".to_owned()),
                (DiffStatus::Removed, "Disconnected “Start” → “Old wait”".to_owned()),
            ]
        );
    }

    #[test]
    fn a_changed_step_says_what_changed() {
        let wait = Node::new("n2", kinds::LOGIC_DELAY).with_label("Wait").with_config("seconds", 1);
        let before = WorkflowGraph::new().with_node(wait.clone());
        let mut moved = wait.with_label("Wait longer").with_config("seconds", 9);
        moved.position.x = 300.0;
        let after = WorkflowGraph::new().with_node(moved);
        assert_eq!(
            lines(&before, &after),
            [(DiffStatus::Changed, "Changed “Wait longer”: renamed from “Wait”, settings (seconds), moved".to_owned())]
        );
    }

    #[test]
    fn a_step_without_a_label_is_named_by_its_kind() {
        let after = WorkflowGraph::new().with_node(Node::new("x7", kinds::LOGIC_DELAY).with_label(" "));
        assert_eq!(lines(&WorkflowGraph::new(), &after), [(DiffStatus::Added, "Added a Delay step".to_owned())]);
        assert!(lines(&after, &after).is_empty());
    }
}
