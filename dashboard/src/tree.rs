//! The supervision tree as the admin page draws it: flattened into indented rows with collapsed
//! branches hidden, filtered by actor kind (keeping the path from the root to each match), the
//! top N actors by mailbox depth, and a status colour for each row.

use std::collections::{BTreeSet, HashSet};

use aos_api::ActorView;

/// One visible row of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    pub depth: usize,
    pub kind: String,
    pub name: String,
    pub status: String,
    pub mailbox: u64,
    pub restarts: u64,
    pub uptime_ms: u64,
    pub children: usize,
    /// False when the row's children are hidden.
    pub expanded: bool,
}

impl Row {
    fn of(actor: &ActorView, depth: usize, expanded: bool) -> Self {
        Row {
            id: actor.id.clone(),
            depth,
            kind: actor.kind.clone(),
            name: actor.name.clone(),
            status: actor.status.clone(),
            mailbox: actor.mailbox,
            restarts: actor.restarts,
            uptime_ms: actor.uptime_ms,
            children: actor.children.len(),
            expanded,
        }
    }
}

/// The rows to show: depth-first, children of `collapsed` ids hidden. With a `kind` filter only
/// actors of that kind and their ancestors are shown, every branch leading to a match open.
pub fn flatten(roots: &[ActorView], collapsed: &HashSet<String>, kind: Option<&str>) -> Vec<Row> {
    let mut rows = Vec::new();
    for root in roots {
        walk(root, 0, collapsed, kind, &mut rows);
    }
    rows
}

fn walk(actor: &ActorView, depth: usize, collapsed: &HashSet<String>, kind: Option<&str>, rows: &mut Vec<Row>) {
    if let Some(kind) = kind
        && !contains_kind(actor, kind)
    {
        return;
    }
    let expanded = kind.is_some() || !collapsed.contains(&actor.id);
    rows.push(Row::of(actor, depth, expanded));
    if expanded {
        for child in &actor.children {
            walk(child, depth + 1, collapsed, kind, rows);
        }
    }
}

fn contains_kind(actor: &ActorView, kind: &str) -> bool {
    actor.kind == kind || actor.children.iter().any(|c| contains_kind(c, kind))
}

/// Every kind in the tree, sorted.
pub fn kinds(roots: &[ActorView]) -> Vec<String> {
    fn collect(actor: &ActorView, into: &mut BTreeSet<String>) {
        into.insert(actor.kind.clone());
        actor.children.iter().for_each(|c| collect(c, into));
    }
    let mut set = BTreeSet::new();
    roots.iter().for_each(|r| collect(r, &mut set));
    set.into_iter().collect()
}

/// How many actors the tree holds.
pub fn count(roots: &[ActorView]) -> usize {
    roots.iter().map(|r| 1 + count(&r.children)).sum()
}

/// The `n` actors with the deepest mailboxes (deepest first; ties by name, then id), skipping
/// empty mailboxes.
pub fn top_by_mailbox(roots: &[ActorView], n: usize) -> Vec<Row> {
    fn collect(actor: &ActorView, depth: usize, into: &mut Vec<Row>) {
        if actor.mailbox > 0 {
            into.push(Row::of(actor, depth, true));
        }
        actor.children.iter().for_each(|c| collect(c, depth + 1, into));
    }
    let mut rows = Vec::new();
    roots.iter().for_each(|r| collect(r, 0, &mut rows));
    rows.sort_by(|a, b| b.mailbox.cmp(&a.mailbox).then_with(|| a.name.cmp(&b.name)).then_with(|| a.id.cmp(&b.id)));
    rows.truncate(n);
    rows
}

/// The actor whose name is `name`, anywhere in the tree.
pub fn find_by_name<'a>(roots: &'a [ActorView], name: &str) -> Option<&'a ActorView> {
    roots.iter().find_map(|r| if r.name == name { Some(r) } else { find_by_name(&r.children, name) })
}

/// The colour class of a status: running is calm, starting and restarting warn, the rest alert.
pub fn status_class(status: &str) -> &'static str {
    match status {
        "running" => "status--ok",
        "starting" | "restarting" => "status--warn",
        _ => "status--bad",
    }
}

/// Whether admins may stop or restart this kind (the kind supervisors and the root are not).
pub fn controllable(kind: &str) -> bool {
    !matches!(kind, "root" | "supervisor")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: &str, kind: &str, mailbox: u64, children: Vec<ActorView>) -> ActorView {
        ActorView {
            id: id.into(),
            kind: kind.into(),
            name: format!("{kind}-{id}"),
            status: "running".into(),
            mailbox,
            restarts: 0,
            uptime_ms: 10,
            children,
        }
    }

    fn sample() -> Vec<ActorView> {
        vec![actor(
            "1",
            "root",
            0,
            vec![
                actor("2", "supervisor", 0, vec![actor("4", "run", 7, vec![]), actor("5", "run", 2, vec![])]),
                actor("3", "supervisor", 1, vec![actor("6", "webhook_source", 9, vec![])]),
            ],
        )]
    }

    fn ids(rows: &[Row]) -> Vec<&str> {
        rows.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn flattens_depth_first_and_hides_collapsed_branches() {
        let rows = flatten(&sample(), &HashSet::new(), None);
        assert_eq!(ids(&rows), vec!["1", "2", "4", "5", "3", "6"]);
        assert_eq!(rows.iter().map(|r| r.depth).collect::<Vec<_>>(), vec![0, 1, 2, 2, 1, 2]);
        let collapsed: HashSet<String> = ["2".to_string()].into();
        let rows = flatten(&sample(), &collapsed, None);
        assert_eq!(ids(&rows), vec!["1", "2", "3", "6"]);
        assert!(!rows[1].expanded);
        assert_eq!(rows[1].children, 2);
    }

    #[test]
    fn a_kind_filter_keeps_the_path_to_each_match() {
        let collapsed: HashSet<String> = ["3".to_string()].into();
        let rows = flatten(&sample(), &collapsed, Some("webhook_source"));
        assert_eq!(ids(&rows), vec!["1", "3", "6"], "the filter opens collapsed branches that lead to a match");
        assert!(flatten(&sample(), &HashSet::new(), Some("doc_room")).is_empty());
    }

    #[test]
    fn kinds_counts_and_lookup() {
        assert_eq!(kinds(&sample()), vec!["root", "run", "supervisor", "webhook_source"]);
        assert_eq!(count(&sample()), 6);
        assert_eq!(find_by_name(&sample(), "run-5").map(|a| a.id.as_str()), Some("5"));
        assert!(find_by_name(&sample(), "nope").is_none());
    }

    #[test]
    fn top_n_by_mailbox() {
        let top = top_by_mailbox(&sample(), 3);
        assert_eq!(ids(&top), vec!["6", "4", "5"]);
        assert_eq!(top_by_mailbox(&sample(), 10).len(), 4, "empty mailboxes are left out");
    }

    #[test]
    fn status_colours_and_control() {
        assert_eq!(status_class("running"), "status--ok");
        assert_eq!(status_class("restarting"), "status--warn");
        assert_eq!(status_class("stopping"), "status--bad");
        assert!(controllable("run"));
        assert!(!controllable("supervisor"));
    }
}
