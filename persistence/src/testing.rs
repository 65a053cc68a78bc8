//! Test fixtures: a fresh store per test on either backend (a temporary SQLite file, or a freshly
//! created Postgres database with real migrations, dropped afterwards), the
//! [`conformance_suite!`](crate::conformance_suite) macro that runs one test body on both, and
//! [`wait_until`] and [`wait_for`], the one way the workspace's tests wait for something to
//! become true (or to turn up).
//!
//! Postgres is found through `AOS_TEST_DATABASE_URL` (default
//! `postgres://postgres:postgres@127.0.0.1:5432/postgres`); the role needs CREATEDB.

use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr;

use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

use crate::{Backend, DatabaseTarget, Keyring, Store};

/// Polls `check` (every 10 ms) until it holds or `limit` passes; whether it held. A synchronous
/// condition is `|| std::future::ready(cond())`.
pub async fn wait_until<F, Fut>(limit: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for(limit, || {
        let held = check();
        async move { held.await.then_some(()) }
    })
    .await
    .is_some()
}

/// Polls `check` (every 10 ms) until it finds something or `limit` passes; what it found.
pub async fn wait_for<T, F, Fut>(limit: std::time::Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The admin URL used to create and drop per-test Postgres databases.
pub fn postgres_admin_url() -> String {
    std::env::var("AOS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A store on a database that exists only for one test.
#[derive(Debug)]
pub struct TestStore {
    pub store: Store,
    /// The SQLite file or Postgres URL, so a test can open a second store on the same data.
    pub target: DatabaseTarget,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Dir(PathBuf),
    PostgresDatabase(String),
}

impl TestStore {
    /// A fresh store on `backend`, with a fresh keyring.
    pub async fn new(backend: Backend) -> Self {
        Self::with_keyring(backend, Keyring::generate()).await
    }

    /// A fresh store on `backend` sealing secrets with `keyring`.
    pub async fn with_keyring(backend: Backend, keyring: Keyring) -> Self {
        let (target, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("aos-test-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir).expect("create temp dir for test database");
                (DatabaseTarget::SqliteFile(dir.join("automateos.db")), Cleanup::Dir(dir))
            }
            Backend::Postgres => {
                let name = format!("aos_test_{}", uuid::Uuid::new_v4().simple());
                let admin = admin_options();
                let mut conn = admin.connect().await.expect("connect to postgres for tests (AOS_TEST_DATABASE_URL)");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let url = admin.database(&name).to_url_lossy().to_string();
                (DatabaseTarget::Postgres(url), Cleanup::PostgresDatabase(name))
            }
        };
        let store = Store::open(&target, keyring).await.expect("open test store");
        Self { store, target, cleanup }
    }

    /// Closes the store and removes its database.
    pub async fn cleanup(self) {
        self.store.db().close().await;
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ignored = std::fs::remove_dir_all(dir);
            }
            Cleanup::PostgresDatabase(name) => {
                if let Ok(mut conn) = admin_options().connect().await {
                    let _ignored =
                        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                            .execute(&mut conn)
                            .await;
                }
            }
        }
    }
}

fn admin_options() -> PgConnectOptions {
    PgConnectOptions::from_str(&postgres_admin_url()).expect("AOS_TEST_DATABASE_URL is a postgres url")
}

/// Runs one conformance test on a fresh store of `backend`, removing the database afterwards even
/// when the test panics (the panic is then re-raised).
pub async fn run_on<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestContext) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let fixture = TestStore::new(backend).await;
    let context = TestContext { store: fixture.store.clone(), target: fixture.target.clone(), backend };
    let outcome = tokio::spawn(test(context)).await;
    fixture.cleanup().await;
    if let Err(err) = outcome {
        if err.is_panic() {
            std::panic::resume_unwind(err.into_panic());
        }
        panic!("conformance test was cancelled: {err}");
    }
}

/// What a conformance test gets: the store, where its data lives, and which backend it is.
#[derive(Debug, Clone)]
pub struct TestContext {
    pub store: Store,
    pub target: DatabaseTarget,
    pub backend: Backend,
}

/// Generates, for each listed `async fn(TestContext)`, one test on SQLite and one on Postgres:
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! conformance_suite {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::testing::run_on($crate::Backend::Sqlite, super::$test).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::testing::run_on($crate::Backend::Postgres, super::$test).await;
                }
            )+
        }
    };
}

/// A workflow published by [`published_workflow`].
#[derive(Debug, Clone, Copy)]
pub struct PublishedWorkflow {
    pub org: aos_schema::OrgId,
    pub workflow: aos_schema::WorkflowId,
    pub version: i64,
}

/// Publishes `graph` (compiled against the built-in catalog) as the first version of a new
/// workflow of a fresh org.
pub async fn published_workflow(store: &Store, graph: &aos_schema::WorkflowGraph) -> PublishedWorkflow {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let user = crate::NewUser {
        email: format!("owner-{unique}@example.test"),
        name: "Owner".into(),
        password_hash: "x".into(),
    };
    let (_, org) = store.orgs().create_user_with_org(&user, "Org", &format!("org-{unique}")).await.expect("org");
    let new = crate::NewWorkflow { org_id: org.id, name: "workflow".into(), description: String::new() };
    let workflow = store.workflows().create(&new, crate::By::System).await.expect("workflow");
    let plan = aos_schema::compile(graph, &aos_schema::Catalog::builtin()).expect("a valid graph");
    let plan = serde_json::to_value(plan).expect("plan as json");
    let export = aos_schema::ExportFile::new("workflow", graph.clone());
    let text = export.to_canonical_string().expect("export");
    let checksum = export.checksum().expect("checksum");
    let version = crate::NewVersion {
        workflow_id: workflow.id,
        org_id: org.id,
        export: &text,
        checksum: &checksum,
        plan: &plan,
        graph,
    };
    let version = store.workflows().publish(&version, crate::By::System).await.expect("publish");
    PublishedWorkflow { org: org.id, workflow: workflow.id, version: version.version }
}

/// A queued manual run of a published workflow.
pub async fn queued_run(store: &Store, published: PublishedWorkflow, input: serde_json::Value) -> aos_schema::RunId {
    let run = crate::NewRun {
        org_id: published.org,
        workflow_id: published.workflow,
        version: published.version,
        trigger_kind: "manual".into(),
        idempotency_key: None,
        input,
        replay_of: None,
        traceparent: None,
    };
    store.runs().create(&run).await.expect("run").into_inner().id
}
