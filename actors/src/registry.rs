//! Introspection: every live actor registers here with its kind, name and parent, and keeps its
//! counters in an [`ActorStats`] it shares with whoever sends to it. The mailbox depth is counted
//! (ractor does not expose one): senders call [`ActorStats::enqueued`] as they send, the actor calls
//! [`ActorStats::dequeued`] as it takes a message. A [`Registry::snapshot`] copies the counters
//! under a read lock and builds the tree outside it, so polling it every second with 100k live
//! actors stays cheap (see `benches/introspection.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use serde::Serialize;

/// What an actor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Root,
    Supervisor,
    Workflow,
    Run,
    WebhookSource,
    Schedule,
    DocRoom,
    StepWorker,
}

impl ActorKind {
    /// The stable spelling, as metrics label it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ActorKind::Root => "root",
            ActorKind::Supervisor => "supervisor",
            ActorKind::Workflow => "workflow",
            ActorKind::Run => "run",
            ActorKind::WebhookSource => "webhook_source",
            ActorKind::Schedule => "schedule",
            ActorKind::DocRoom => "doc_room",
            ActorKind::StepWorker => "step_worker",
        }
    }
}

/// Where an actor is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorStatus {
    Starting,
    Running,
    /// Failed and waiting out its backoff before starting again.
    Restarting,
    Stopping,
}

impl ActorStatus {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => ActorStatus::Starting,
            1 => ActorStatus::Running,
            2 => ActorStatus::Restarting,
            _ => ActorStatus::Stopping,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            ActorStatus::Starting => 0,
            ActorStatus::Running => 1,
            ActorStatus::Restarting => 2,
            ActorStatus::Stopping => 3,
        }
    }
}

/// The live counters of one actor, shared by the actor, its senders and the registry.
#[derive(Debug)]
pub struct ActorStats {
    pub id: u64,
    /// Messages sent but not yet taken.
    mailbox: AtomicI64,
    restarts: AtomicU64,
    status: AtomicU8,
    /// When it (re)started, in ms since the registry's epoch: uptime restarts with the actor.
    started_ms: AtomicU64,
    epoch: Instant,
}

impl ActorStats {
    /// A sender is about to send one message.
    pub fn enqueued(&self) {
        self.mailbox.fetch_add(1, Ordering::Relaxed);
    }

    /// The actor took one message.
    pub fn dequeued(&self) {
        self.mailbox.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn mailbox(&self) -> u64 {
        self.mailbox.load(Ordering::Relaxed).max(0) as u64
    }

    pub fn set_status(&self, status: ActorStatus) {
        self.status.store(status.as_u8(), Ordering::Relaxed);
    }

    pub fn status(&self) -> ActorStatus {
        ActorStatus::from_u8(self.status.load(Ordering::Relaxed))
    }

    /// The actor starts again after a failure: count it, restart its uptime, clear its mailbox
    /// count (a restarted ractor actor starts with a fresh mailbox).
    pub fn restarted(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
        self.mailbox.store(0, Ordering::Relaxed);
        self.started_ms.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    fn uptime_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.started_ms.load(Ordering::Relaxed))
    }
}

#[derive(Debug)]
struct Entry {
    kind: ActorKind,
    name: String,
    parent: Option<u64>,
    stats: Arc<ActorStats>,
}

/// One actor in a snapshot, with its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActorNode {
    pub id: u64,
    pub kind: ActorKind,
    pub name: String,
    pub status: ActorStatus,
    pub mailbox: u64,
    pub restarts: u64,
    pub uptime_ms: u64,
    pub children: Vec<ActorNode>,
}

/// Every live actor.
#[derive(Debug)]
pub struct Registry {
    epoch: Instant,
    next_id: AtomicU64,
    actors: RwLock<HashMap<u64, Entry>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self { epoch: Instant::now(), next_id: AtomicU64::new(1), actors: RwLock::new(HashMap::new()) }
    }
}

impl Registry {
    /// Adds an actor (status `starting`) and returns its counters.
    pub fn register(&self, kind: ActorKind, name: impl Into<String>, parent: Option<u64>) -> Arc<ActorStats> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let stats = Arc::new(ActorStats {
            id,
            mailbox: AtomicI64::new(0),
            restarts: AtomicU64::new(0),
            status: AtomicU8::new(ActorStatus::Starting.as_u8()),
            started_ms: AtomicU64::new(self.epoch.elapsed().as_millis() as u64),
            epoch: self.epoch,
        });
        let entry = Entry { kind, name: name.into(), parent, stats: Arc::clone(&stats) };
        self.actors.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(id, entry);
        stats
    }

    /// Removes a stopped actor.
    pub fn deregister(&self, id: u64) {
        self.actors.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&id);
    }

    /// How many actors are alive.
    pub fn len(&self) -> usize {
        self.actors.read().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live tree: each actor without a (live) parent is a root, children sorted by id.
    pub fn snapshot(&self) -> Vec<ActorNode> {
        let now_ms = self.epoch.elapsed().as_millis() as u64;
        let flat: Vec<(Option<u64>, ActorNode)> = {
            let actors = self.actors.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            actors
                .values()
                .map(|entry| {
                    let parent = entry.parent.filter(|p| actors.contains_key(p));
                    (parent, node(entry, now_ms))
                })
                .collect()
        };
        build_tree(flat)
    }

    /// The `n` actors with the deepest mailboxes, deepest first (children left out).
    pub fn top_by_mailbox(&self, n: usize) -> Vec<ActorNode> {
        let now_ms = self.epoch.elapsed().as_millis() as u64;
        let mut all: Vec<ActorNode> = {
            let actors = self.actors.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            actors.values().filter(|e| e.stats.mailbox() > 0).map(|e| node(e, now_ms)).collect()
        };
        all.sort_by(|a, b| b.mailbox.cmp(&a.mailbox).then_with(|| a.id.cmp(&b.id)));
        all.truncate(n);
        all
    }
}

fn node(entry: &Entry, now_ms: u64) -> ActorNode {
    ActorNode {
        id: entry.stats.id,
        kind: entry.kind,
        name: entry.name.clone(),
        status: entry.stats.status(),
        mailbox: entry.stats.mailbox(),
        restarts: entry.stats.restarts(),
        uptime_ms: entry.stats.uptime_ms(now_ms),
        children: Vec::new(),
    }
}

/// Nests nodes under their parents. A parent always registers before its children, so parents
/// have smaller ids and the tree has no cycles; children are sorted by id.
fn build_tree(flat: Vec<(Option<u64>, ActorNode)>) -> Vec<ActorNode> {
    let mut by_parent: HashMap<Option<u64>, Vec<ActorNode>> = HashMap::new();
    for (parent, node) in flat {
        by_parent.entry(parent).or_default().push(node);
    }
    let mut roots = by_parent.remove(&None).unwrap_or_default();
    roots.iter_mut().for_each(|root| attach(root, &mut by_parent));
    roots.sort_unstable_by_key(|r| r.id);
    roots
}

fn attach(node: &mut ActorNode, by_parent: &mut HashMap<Option<u64>, Vec<ActorNode>>) {
    let mut children = by_parent.remove(&Some(node.id)).unwrap_or_default();
    children.sort_unstable_by_key(|c| c.id);
    for child in &mut children {
        attach(child, by_parent);
    }
    node.children = children;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_is_a_tree_with_live_counters() {
        let registry = Registry::default();
        let root = registry.register(ActorKind::Root, "root", None);
        let runs = registry.register(ActorKind::Supervisor, "runs", Some(root.id));
        let run = registry.register(ActorKind::Run, "run 1", Some(runs.id));
        let hooks = registry.register(ActorKind::Supervisor, "webhooks", Some(root.id));
        run.set_status(ActorStatus::Running);
        run.enqueued();
        run.enqueued();
        run.dequeued();
        run.restarted();
        run.enqueued();
        let tree = registry.snapshot();
        assert_eq!(tree.len(), 1);
        assert_eq!(tree[0].kind, ActorKind::Root);
        let names: Vec<&str> = tree[0].children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["runs", "webhooks"]);
        let run_node = &tree[0].children[0].children[0];
        assert_eq!(
            (run_node.kind, run_node.status, run_node.mailbox, run_node.restarts),
            (ActorKind::Run, ActorStatus::Running, 1, 1)
        );
        assert_eq!(registry.top_by_mailbox(5).iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["run 1"]);
        registry.deregister(run.id);
        assert!(registry.snapshot()[0].children[0].children.is_empty());
        registry.deregister(root.id);
        // orphans surface as roots rather than vanish
        let roots: Vec<String> = registry.snapshot().into_iter().map(|n| n.name).collect();
        assert_eq!(roots, ["runs", "webhooks"]);
        let _ = hooks;
    }

    #[test]
    fn a_snapshot_of_a_hundred_thousand_actors_holds_them_all() {
        let registry = Registry::default();
        let root = registry.register(ActorKind::Root, "root", None);
        let runs = registry.register(ActorKind::Supervisor, "runs", Some(root.id));
        for i in 0..100_000 {
            registry.register(ActorKind::Run, format!("run {i}"), Some(runs.id));
        }
        let tree = registry.snapshot();
        assert_eq!(tree[0].children[0].children.len(), 100_000);
    }
}
