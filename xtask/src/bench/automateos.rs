//! AutomateOS under test: `automateos serve` (release build) on a scratch data dir, embedded or on
//! Postgres + Redis, and the public API calls that build the benchmark's webhook workflow and doc
//! rooms. An endpoint that answers 404 makes the section "not available" instead of failing the
//! whole benchmark (parts of the API may not be on the build being measured).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::process::{Server, free_port, output};

/// Where the server keeps its data.
#[derive(Debug, Clone)]
pub enum Backend {
    /// SQLite in the data dir, steps in-process (the embedded default).
    Embedded,
    /// Postgres (a fresh database on the admin URL's server) and Redis (a fresh step stream).
    PostgresRedis { admin_url: String, redis_url: String },
}

impl Backend {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Embedded => "embedded SQLite",
            Self::PostgresRedis { .. } => "Postgres + Redis",
        }
    }
}

/// A running `automateos serve`; dropping it stops the server and drops its database.
#[derive(Debug)]
pub struct Aos {
    pub server: Server,
    pub base: String,
    /// The Postgres database created for this run, dropped afterwards.
    database: Option<(String, String)>,
    /// Postgres + Redis: what another node of the same cluster is started with.
    cluster: Option<Vec<(String, String)>>,
}

/// The access-token signing secret of the benchmark's servers: every node of a cluster must
/// accept the tokens of the others.
const BENCH_JWT_SECRET: &str = "the benchmark cluster's shared token signing secret";

impl Drop for Aos {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.database.take() {
            // the server must be gone before its database can be dropped
            let _ = Command::new("kill").arg(self.server.pid().to_string()).status();
            std::thread::sleep(Duration::from_millis(500));
            let _ = Command::new("psql")
                .args([&admin_url, "-q", "-c", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")])
                .output();
        }
    }
}

/// Builds the release binary (a no-op when fresh) and returns its path.
pub fn build_binary(root: &Path) -> Result<PathBuf> {
    eprintln!("bench: building automateos (release)");
    crate::status(
        crate::cargo()
            .args(["build", "--release", "--package", "aos-gateway", "--bin", "automateos"])
            .current_dir(root),
        "cargo build --release automateos",
    )?;
    let target = crate::paths::layout().target.clone();
    Ok(target.join("release/automateos"))
}

/// Builds the release binary with frame pointers, in a target dir of its own (so the usual build
/// stays as it is), for CPU profiles whose stacks reach our functions; returns its path. The first
/// build takes as long as a release build.
pub fn build_profiling_binary(root: &Path) -> Result<PathBuf> {
    eprintln!("bench: building automateos (release with frame pointers, for the flame graph)");
    let target = crate::paths::layout().target.join("profiling");
    crate::status(
        crate::cargo()
            .args(["build", "--release", "--package", "aos-gateway", "--bin", "automateos"])
            .env("CARGO_TARGET_DIR", &target)
            .env("RUSTFLAGS", "-C force-frame-pointers=yes")
            .current_dir(root),
        "cargo build --release automateos (frame pointers)",
    )?;
    Ok(target.join("release/automateos"))
}

/// Starts `automateos serve` on `backend` with its data dir under `scratch`.
pub async fn start(client: &reqwest::Client, binary: &Path, backend: &Backend, scratch: &Path) -> Result<Aos> {
    let port = free_port()?;
    let data_dir = scratch.join(format!("aos-{port}"));
    std::fs::create_dir_all(&data_dir)?;
    let mut command = Command::new(binary);
    command.args(["serve", "--addr", &format!("127.0.0.1:{port}")]).arg("--data-dir").arg(&data_dir);
    // the harness polls every accepted run: the per-caller API limit is not what is measured
    command.env("AOS_RATE_LIMIT", "10000000");
    // nor is the credits gate: the account must not run dry mid-load ($1M of credits)
    command.env("AOS_SIGNUP_CREDITS", "1000000000000");
    command.env("AOS_JWT_SECRET", BENCH_JWT_SECRET);
    let mut database = None;
    let mut cluster = None;
    if let Backend::PostgresRedis { admin_url, redis_url } = backend {
        let suffix = format!("{}_{port}", std::process::id());
        let name = format!("aos_bench_{suffix}");
        output(Command::new("psql").args([admin_url, "-q", "-c", &format!("CREATE DATABASE {name}")]), "createdb")?;
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => bail!("cannot derive a database URL from {admin_url}"),
        };
        let shared = vec![
            ("DATABASE_URL".to_owned(), url),
            ("REDIS_URL".to_owned(), redis_url.clone()),
            ("AOS_STEP_STREAM".to_owned(), format!("aos:bench:{suffix}")),
        ];
        command.envs(shared.iter().map(|(k, v)| (k, v))).env("AOS_NODE_ID", format!("bench-{suffix}"));
        database = Some((admin_url.clone(), name));
        cluster = Some(shared);
    }
    let server =
        Server::start(&format!("automateos ({})", backend.label()), &mut command, &data_dir.join("serve.log"))?;
    let mut aos = Aos { server, base: format!("http://127.0.0.1:{port}"), database, cluster };
    aos.server.wait_ready(client, &format!("{}/healthz", aos.base), Duration::from_secs(60)).await?;
    Ok(aos)
}

/// Starts a second node of `first`'s cluster (Postgres + Redis only): the same database, Redis
/// and token secret, a node id and data dir of its own. Dropping it stops it; the database stays
/// `first`'s to drop.
pub async fn start_second_node(client: &reqwest::Client, binary: &Path, first: &Aos, scratch: &Path) -> Result<Aos> {
    let Some(shared) = &first.cluster else { bail!("only a Postgres + Redis server has a cluster to join") };
    let port = free_port()?;
    let data_dir = scratch.join(format!("aos-{port}"));
    std::fs::create_dir_all(&data_dir)?;
    let mut command = Command::new(binary);
    command.args(["serve", "--addr", &format!("127.0.0.1:{port}")]).arg("--data-dir").arg(&data_dir);
    command
        .env("AOS_RATE_LIMIT", "10000000")
        .env("AOS_JWT_SECRET", BENCH_JWT_SECRET)
        .envs(shared.iter().map(|(k, v)| (k, v)))
        .env("AOS_NODE_ID", format!("bench-second-{port}"));
    let server = Server::start("automateos (second node)", &mut command, &data_dir.join("serve.log"))?;
    let mut aos = Aos { server, base: format!("http://127.0.0.1:{port}"), database: None, cluster: None };
    aos.server.wait_ready(client, &format!("{}/healthz", aos.base), Duration::from_secs(60)).await?;
    Ok(aos)
}

/// Why a section cannot be measured on this build.
#[derive(Debug)]
pub struct NotAvailable(pub String);

/// A call's outcome: a JSON body, or "this build does not have that endpoint".
pub enum Answer {
    Json(Value),
    Missing(NotAvailable),
}

/// Calls the API; 404 (or 405) becomes [`Answer::Missing`], other failures are errors.
pub async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Answer> {
    let mut request = client.request(method.clone(), url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.with_context(|| format!("{method} {url}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let path = url.split_once("//").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..])).unwrap_or(url);
    if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::METHOD_NOT_ALLOWED {
        return Ok(Answer::Missing(NotAvailable(format!("{method} {path} answered {status}"))));
    }
    if !status.is_success() {
        bail!("{method} {path} answered {status}: {}", &text[..text.len().min(300)]);
    }
    Ok(Answer::Json(if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? }))
}

/// Returns early with `Ok(Err(NotAvailable))` when the call meets a missing endpoint.
macro_rules! api {
    ($call:expr) => {
        match $call.await? {
            Answer::Json(value) => value,
            Answer::Missing(missing) => return Ok(Err(missing)),
        }
    };
}

/// A signed-up user of a fresh organisation.
#[derive(Debug, Clone)]
pub struct Account {
    pub token: String,
    pub org_id: String,
}

pub async fn signup(client: &reqwest::Client, base: &str) -> Result<Result<Account, NotAvailable>> {
    let unique = format!("{}-{}", std::process::id(), Instant::now().elapsed().as_nanos());
    let body = json!({
        "email": format!("bench-{unique}@example.com"),
        "password": "bench-password-1234",
        "name": "Bench",
        "org_name": format!("bench {unique}"),
    });
    let answer = api!(call(client, reqwest::Method::POST, &format!("{base}/api/auth/signup"), None, Some(&body)));
    let field = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(token), Some(org_id)) = (field("token"), field("org_id")) else {
        bail!("signup answered without token and org_id: {answer}");
    };
    Ok(Ok(Account { token, org_id }))
}

/// A graph in the export format: a webhook trigger, then `steps` `data.transform` nodes in a
/// chain, each rendering one constant field.
pub fn chain_graph(steps: usize) -> Value {
    let mut nodes = vec![json!({
        "id": "hook", "kind": "trigger.webhook", "label": "Webhook",
        "position": {"x": 0, "y": 0}, "config": {}
    })];
    let mut edges = Vec::new();
    let mut previous = "hook".to_owned();
    for i in 1..=steps {
        let id = format!("s{i}");
        nodes.push(json!({
            "id": id, "kind": "data.transform", "label": format!("Step {i}"),
            "position": {"x": i * 200, "y": 0}, "config": {"fields": {"step": i.to_string()}}
        }));
        edges.push(json!({"id": format!("e{i}"), "from": previous, "from_port": "out", "to": id, "to_port": "in"}));
        previous = id;
    }
    json!({"nodes": nodes, "edges": edges})
}

/// A valid graph with `editors` nodes `e0..` for the doc fan-out (each editor edits one): a manual
/// trigger `e0`, then `data.transform` nodes in a chain.
pub fn editors_graph(editors: usize) -> Value {
    let nodes: Vec<Value> = (0..editors)
        .map(|i| {
            let (kind, config) =
                if i == 0 { ("trigger.manual", json!({})) } else { ("data.transform", json!({"fields": {}})) };
            json!({
                "id": format!("e{i}"), "kind": kind, "label": format!("Editor {i}"),
                "position": {"x": i * 200, "y": 0}, "config": config
            })
        })
        .collect();
    let edges: Vec<Value> = (1..editors)
        .map(|i| json!({"id": format!("l{i}"), "from": format!("e{}", i - 1), "from_port": "out", "to": format!("e{i}"), "to_port": "in"}))
        .collect();
    json!({"nodes": nodes, "edges": edges})
}

/// Creates a workflow with `graph` as its draft; returns its id.
pub async fn create_workflow(
    client: &reqwest::Client,
    base: &str,
    account: &Account,
    name: &str,
    graph: &Value,
) -> Result<Result<String, NotAvailable>> {
    let token = Some(account.token.as_str());
    let created = api!(call(
        client,
        reqwest::Method::POST,
        &format!("{base}/api/orgs/{}/workflows", account.org_id),
        token,
        Some(&json!({"name": name})),
    ));
    let Some(id) = created.get("id").and_then(Value::as_str).map(str::to_owned) else {
        bail!("workflow creation answered without an id: {created}");
    };
    api!(call(client, reqwest::Method::PUT, &format!("{base}/api/workflows/{id}/graph"), token, Some(graph)));
    Ok(Ok(id))
}

/// A published webhook workflow: who owns it, its id and the URL deliveries go to.
#[derive(Debug, Clone)]
pub struct Hooked {
    pub account: Account,
    pub workflow: String,
    pub url: String,
}

/// Publishes a `steps`-step chain and adds a webhook source; returns it with its `/hooks/{token}` URL.
pub async fn webhook_workflow(
    client: &reqwest::Client,
    base: &str,
    steps: usize,
) -> Result<Result<Hooked, NotAvailable>> {
    let account = match signup(client, base).await? {
        Ok(account) => account,
        Err(missing) => return Ok(Err(missing)),
    };
    let id = match create_workflow(client, base, &account, "bench webhook chain", &chain_graph(steps)).await? {
        Ok(id) => id,
        Err(missing) => return Ok(Err(missing)),
    };
    let token = Some(account.token.as_str());
    // empty JSON objects rather than no body, so handlers that take an optional JSON body accept them
    let empty = json!({});
    api!(call(client, reqwest::Method::POST, &format!("{base}/api/workflows/{id}/publish"), token, Some(&empty)));
    // the source's own delivery limit (600 a minute by default) is not what is measured either
    let source = json!({"settings": {"rate_per_minute": 100_000_000}});
    let hook =
        api!(call(client, reqwest::Method::POST, &format!("{base}/api/workflows/{id}/webhooks"), token, Some(&source)));
    let Some(hook_token) = hook.get("token").and_then(Value::as_str) else {
        bail!("webhook creation answered without a token: {hook}");
    };
    Ok(Ok(Hooked { account, workflow: id, url: format!("{base}/hooks/{hook_token}") }))
}

/// Polls `GET /api/runs/{id}` for every run until each has a final status or `limit` passes;
/// returns (runs succeeded, runs finished otherwise, instant the last one was seen final).
pub async fn await_runs(
    client: &reqwest::Client,
    base: &str,
    account: &Account,
    run_ids: &[String],
    limit: Duration,
) -> Result<RunsOutcome> {
    let started = Instant::now();
    let mut pending: Vec<String> = run_ids.to_vec();
    let mut outcome = RunsOutcome { last_final: started, ..RunsOutcome::default() };
    while !pending.is_empty() && started.elapsed() < limit {
        let mut still = Vec::new();
        for chunk in pending.chunks(16) {
            let checks = chunk.iter().map(|id| async move {
                let answer =
                    call(client, reqwest::Method::GET, &format!("{base}/api/runs/{id}"), Some(&account.token), None)
                        .await;
                (id.clone(), answer)
            });
            for (id, answer) in futures_util::future::join_all(checks).await {
                let status = match answer? {
                    Answer::Json(run) => run.get("status").and_then(Value::as_str).unwrap_or("").to_owned(),
                    Answer::Missing(NotAvailable(reason)) => bail!("cannot read runs: {reason}"),
                };
                match status.as_str() {
                    "succeeded" => {
                        outcome.succeeded += 1;
                        outcome.last_final = Instant::now();
                    }
                    "failed" | "dead_lettered" | "cancelled" => {
                        outcome.other += 1;
                        outcome.last_final = Instant::now();
                        outcome.first_failure.get_or_insert(status);
                    }
                    _ => still.push(id),
                }
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    outcome.unfinished = pending.len();
    Ok(outcome)
}

/// How the runs of a load ended.
#[derive(Debug)]
pub struct RunsOutcome {
    pub succeeded: usize,
    pub other: usize,
    pub unfinished: usize,
    pub first_failure: Option<String>,
    pub last_final: Instant,
}

impl Default for RunsOutcome {
    fn default() -> Self {
        Self { succeeded: 0, other: 0, unfinished: 0, first_failure: None, last_final: Instant::now() }
    }
}
