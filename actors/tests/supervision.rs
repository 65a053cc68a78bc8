//! The restart strategy on real ractor actors: a panicking child restarts one-for-one after its
//! backoff and reloads its state; past the restart intensity its supervisor escalates, and a parent
//! supervisor restarts that supervisor under its own policy. Introspection sees it all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aos_actors::supervisor::BoxFuture;
use aos_actors::{
    ActorKind, ActorStats, ActorStatus, Backoff, ChildFactory, Registry, RestartPolicy, Supervisor, SupervisorArgs,
    SupervisorFactory, SupervisorHandle,
};
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SpawnErr};

/// Stands in for the database a real child reloads from: how many times children started.
#[derive(Debug, Default)]
struct Store {
    starts: AtomicU32,
}

/// A child that panics on demand.
struct Flaky {
    store: Arc<Store>,
}

enum FlakyMsg {
    Boom,
    /// Answers how many starts the child saw when it loaded its state.
    Loaded(RpcReplyPort<u32>),
}

struct FlakyState {
    loaded: u32,
    stats: Arc<ActorStats>,
}

impl Actor for Flaky {
    type Msg = FlakyMsg;
    type State = FlakyState;
    type Arguments = Arc<ActorStats>;

    async fn pre_start(&self, _: ActorRef<FlakyMsg>, stats: Arc<ActorStats>) -> Result<FlakyState, ActorProcessingErr> {
        let loaded = self.store.starts.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(FlakyState { loaded, stats })
    }

    async fn handle(
        &self,
        _: ActorRef<FlakyMsg>,
        msg: FlakyMsg,
        state: &mut FlakyState,
    ) -> Result<(), ActorProcessingErr> {
        state.stats.dequeued();
        match msg {
            FlakyMsg::Boom => panic!("step executor exploded"),
            FlakyMsg::Loaded(reply) => {
                let _ = reply.send(state.loaded);
            }
        }
        Ok(())
    }
}

struct FlakyFactory {
    store: Arc<Store>,
}

impl ChildFactory for FlakyFactory {
    fn kind(&self) -> ActorKind {
        ActorKind::StepWorker
    }

    fn start(
        &self,
        key: String,
        supervisor: ActorCell,
        stats: Arc<ActorStats>,
    ) -> BoxFuture<Result<ActorCell, SpawnErr>> {
        let flaky = Flaky { store: Arc::clone(&self.store) };
        Box::pin(async move {
            let (actor, _) = Actor::spawn_linked(Some(key), flaky, stats, supervisor).await?;
            Ok(actor.get_cell())
        })
    }
}

fn policy(max_restarts: u32) -> RestartPolicy {
    RestartPolicy {
        max_restarts,
        within: Duration::from_secs(30),
        backoff: Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(50), multiplier: 2.0 },
    }
}

async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    aos_persistence::testing::wait_until(Duration::from_secs(4), || std::future::ready(check())).await
}

fn find(registry: &Registry, name: &str) -> Option<aos_actors::ActorNode> {
    fn walk(nodes: &[aos_actors::ActorNode], name: &str) -> Option<aos_actors::ActorNode> {
        nodes.iter().find_map(|n| if n.name == name { Some(n.clone()) } else { walk(&n.children, name) })
    }
    walk(&registry.snapshot(), name)
}

async fn loaded(cell: &ActorCell) -> u32 {
    let actor: ActorRef<FlakyMsg> = cell.clone().into();
    ractor::call!(actor, FlakyMsg::Loaded).expect("child answers")
}

async fn boom(cell: &ActorCell) {
    let actor: ActorRef<FlakyMsg> = cell.clone().into();
    actor.send_message(FlakyMsg::Boom).expect("child alive");
}

#[tokio::test]
async fn a_panicking_child_restarts_reloading_its_state_then_escalates() {
    let registry = Arc::new(Registry::default());
    let store = Arc::new(Store::default());
    let stats = registry.register(ActorKind::Supervisor, "step-workers", None);
    let args = SupervisorArgs {
        name: "step-workers".into(),
        policy: policy(2),
        factory: Arc::new(FlakyFactory { store: Arc::clone(&store) }),
        registry: Arc::clone(&registry),
        stats: Arc::clone(&stats),
    };
    let (actor, supervisor_done) = Actor::spawn(None, Supervisor, args).await.unwrap();
    let supervisor = SupervisorHandle::new(actor, stats);
    let cell = supervisor.start("worker-1").await.unwrap().cell;
    assert_eq!(loaded(&cell).await, 1);
    assert_eq!(supervisor.children().await.unwrap(), ["worker-1"]);

    for restarts in 1..=2u64 {
        let before = store.starts.load(Ordering::SeqCst);
        boom(&supervisor.start("worker-1").await.unwrap().cell).await;
        assert!(
            eventually(|| find(&registry, "worker-1")
                .is_some_and(|n| n.restarts == restarts && n.status == ActorStatus::Running))
            .await,
            "restart {restarts} seen in the tree"
        );
        let cell = supervisor.start("worker-1").await.unwrap().cell;
        assert_eq!(loaded(&cell).await, before + 1, "the restarted child reloaded its state");
    }
    let node = find(&registry, "worker-1").unwrap();
    assert_eq!((node.kind, node.restarts), (ActorKind::StepWorker, 2));

    // a third failure within the window is past the intensity: the supervisor escalates
    boom(&supervisor.start("worker-1").await.unwrap().cell).await;
    tokio::time::timeout(Duration::from_secs(5), supervisor_done).await.expect("supervisor stopped").unwrap();
    assert!(find(&registry, "worker-1").is_none(), "the failed child left the tree");
}

#[tokio::test]
async fn an_escalating_supervisor_is_restarted_by_its_parent() {
    let registry = Arc::new(Registry::default());
    let store = Arc::new(Store::default());
    let root_stats = registry.register(ActorKind::Root, "root", None);
    let kind_supervisors = SupervisorFactory::new(Arc::clone(&registry)).with_kind(
        "step-workers",
        policy(1),
        Arc::new(FlakyFactory { store: Arc::clone(&store) }),
    );
    let args = SupervisorArgs {
        name: "root".into(),
        policy: policy(3),
        factory: Arc::new(kind_supervisors),
        registry: Arc::clone(&registry),
        stats: Arc::clone(&root_stats),
    };
    let (root_actor, _) = Actor::spawn(None, Supervisor, args).await.unwrap();
    let root = SupervisorHandle::new(root_actor.clone(), root_stats);
    let workers = root.start("step-workers").await.unwrap();
    let workers = SupervisorHandle::child_of(&root, "step-workers", workers);
    // one restart allowed, the second failure escalates to the root
    boom(&workers.start("w").await.unwrap().cell).await;
    assert!(eventually(|| find(&registry, "w").is_some_and(|n| n.restarts == 1)).await);
    boom(&workers.start("w").await.unwrap().cell).await;
    assert!(
        eventually(
            || find(&registry, "step-workers").is_some_and(|n| n.restarts == 1 && n.status == ActorStatus::Running)
        )
        .await,
        "the root restarted the kind supervisor: {:?}",
        registry.snapshot()
    );
    let tree = registry.snapshot();
    assert_eq!(tree.len(), 1, "one root");
    assert_eq!(tree[0].children.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["step-workers"]);
    assert!(tree[0].children[0].children.is_empty(), "the escalated subtree was stopped");
    assert_eq!(root_actor.get_status(), ractor::ActorStatus::Running, "the root itself stays up");
    // the restarted supervisor takes new children again, through the handle made for the old one
    assert_eq!(loaded(&workers.start("w").await.unwrap().cell).await, store.starts.load(Ordering::SeqCst));
}
