//! Faults injected while webhook deliveries keep arriving, each against real processes and bounded
//! in time: the remote engine killed and restarted, Redis (append-only, as production runs it)
//! restarted, and the SQLite data dir filling up. After each the service recovers by itself: every
//! delivery it accepted ends as one succeeded run with every step recorded exactly once, and a
//! delivery it could not take was refused with a clear answer (the sender retries those).
//! `docs/reliability.md` tabulates the outcomes.

#[path = "support/http.rs"]
mod support_http;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support_http::{call, http, wait_until};

/// Steps after the trigger in the workflow every delivery runs.
const STEPS: usize = 3;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aos-fault-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `automateos <args> --addr 127.0.0.1:<port>` with `env`; killed on drop.
fn automateos(args: &[&str], port: u16, env: &[(&str, &str)]) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_automateos"));
    command.args(args).args(["--addr", &format!("127.0.0.1:{port}")]);
    for inherited in ["DATABASE_URL", "REDIS_URL", "AOS_MASTER_KEY", "OTEL_EXPORTER_OTLP_ENDPOINT"] {
        command.env_remove(inherited);
    }
    command
        .envs(env.iter().copied())
        .env("AOS_RATE_LIMIT", "1000000")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log_path(port)).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Where the process on `port` writes its log lines (outside any disk the test fills).
fn log_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("aos-fault-{port}.log"))
}

/// The last lines the process on `port` logged, for failure messages.
fn log_tail(port: u16) -> String {
    let text = std::fs::read_to_string(log_path(port)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

async fn healthy(base: &str) -> bool {
    let url = format!("{base}/healthz");
    wait_until(Duration::from_secs(60), || {
        let url = url.clone();
        async move { http().get(&url).send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await
}

/// A fresh account with a published webhook → `STEPS` transforms workflow; returns (token, hook URL).
async fn hooked_workflow(base: &str) -> (String, String) {
    let email = format!("faults-{}@example.test", uuid::Uuid::new_v4().simple());
    let signup = json!({ "email": email, "password": "a long test passphrase", "name": "F", "org_name": "Faults" });
    let (status, session) = call(base, "POST", "/api/auth/signup", None, Some(signup)).await;
    assert_eq!(status, 201, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();
    let org = session["org_id"].as_str().unwrap();
    let (_, created) =
        call(base, "POST", &format!("/api/orgs/{org}/workflows"), Some(&token), Some(json!({ "name": "F" }))).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let mut nodes = vec![
        json!({ "id": "hook", "kind": "trigger.webhook", "label": "", "position": { "x": 0.0, "y": 0.0 }, "config": {} }),
    ];
    let mut edges = Vec::new();
    let mut previous = "hook".to_owned();
    for i in 0..STEPS {
        let node = format!("s{i}");
        nodes.push(json!({ "id": node, "kind": "data.transform", "label": "", "position": { "x": 200.0 * (i + 1) as f64, "y": 0.0 },
            "config": { "fields": { "n": "{{ trigger.body.n }}" } } }));
        edges.push(json!({ "id": format!("e{i}"), "from": previous, "from_port": "out", "to": node, "to_port": "in" }));
        previous = node;
    }
    let graph = json!({ "nodes": nodes, "edges": edges });
    let (status, _) = call(base, "PUT", &format!("/api/workflows/{id}/graph"), Some(&token), Some(graph)).await;
    assert!(status < 300);
    let (status, published) = call(base, "POST", &format!("/api/workflows/{id}/publish"), Some(&token), None).await;
    assert_eq!(status, 201, "{published}");
    let (status, source) =
        call(base, "POST", &format!("/api/workflows/{id}/webhooks"), Some(&token), Some(json!({}))).await;
    assert_eq!(status, 201, "{source}");
    (token, source["url"].as_str().unwrap().to_owned())
}

/// What the sender saw for each delivery: accepted with a run id, or refused with a status.
#[derive(Debug, Default)]
struct Sent {
    accepted: BTreeMap<String, String>,
    refused: Vec<(String, u16, String)>,
}

/// Sends the deliveries numbered `range` (key `k-<i>`, body `{"n": i}`), one every `every`.
async fn send(hook: &str, range: std::ops::Range<usize>, every: Duration, sent: &mut Sent) {
    send_padded(hook, range, every, 0, sent).await;
}

/// [`send`] with `pad` bytes of filler in each body (so every write needs fresh disk space).
async fn send_padded(hook: &str, range: std::ops::Range<usize>, every: Duration, pad: usize, sent: &mut Sent) {
    let client = http();
    for i in range {
        let key = format!("k-{i}");
        let response = client
            .post(hook)
            .header("idempotency-key", &key)
            .timeout(Duration::from_secs(10))
            .json(&json!({ "n": i, "pad": "x".repeat(pad) }))
            .send()
            .await;
        match response {
            Ok(response) if response.status().as_u16() == 202 || response.status().as_u16() == 200 => {
                let body: Value = response.json().await.unwrap();
                sent.accepted.insert(key, body["run_id"].as_str().unwrap().to_owned());
            }
            Ok(response) => {
                let status = response.status().as_u16();
                sent.refused.push((key, status, response.text().await.unwrap_or_default()));
            }
            Err(err) => sent.refused.push((key, 0, err.to_string())),
        }
        tokio::time::sleep(every).await;
    }
}

/// Sends every refused delivery again (same key and body): each now becomes its run (200 when the
/// first try had already recorded the delivery itself, 202 when it had recorded nothing), which
/// succeeds like the others.
async fn every_refused_delivery_resent_succeeds(base: &str, token: &str, hook: &str, sent: &Sent) {
    let mut resent = Sent::default();
    for (key, _, _) in &sent.refused {
        let i: usize = key.trim_start_matches("k-").parse().unwrap();
        send(hook, i..i + 1, Duration::ZERO, &mut resent).await;
    }
    assert!(resent.refused.is_empty(), "{:?}", resent.refused);
    every_accepted_run_succeeded_once(base, token, &resent).await;
}

/// Waits for every accepted run to finish; asserts each succeeded with every step recorded once.
async fn every_accepted_run_succeeded_once(base: &str, token: &str, sent: &Sent) {
    for (key, run) in &sent.accepted {
        let path = format!("/api/runs/{run}");
        let finished = wait_until(Duration::from_secs(90), || {
            let path = path.clone();
            async move {
                let status = call(base, "GET", &path, Some(token), None).await.1["status"].clone();
                status == "succeeded" || status == "failed" || status == "cancelled" || status == "dead_lettered"
            }
        })
        .await;
        let (_, detail) = call(base, "GET", &path, Some(token), None).await;
        assert!(finished, "the run of {key} finished: {detail}");
        assert_eq!(detail["status"], "succeeded", "the run of {key}: {detail}");
        let steps = detail["steps"].as_array().unwrap();
        assert_eq!(steps.len(), STEPS + 1, "{detail}");
        for step in steps {
            assert_eq!(step["status"], "succeeded", "{key}: {step}");
        }
        assert_eq!(detail["input"]["body"]["n"], key.trim_start_matches("k-").parse::<i64>().unwrap(), "{detail}");
    }
    eprintln!(
        "fault figures: {} deliveries sent, {} accepted, {} refused, {} accepted runs succeeded with every step recorded once",
        sent.accepted.len() + sent.refused.len(),
        sent.accepted.len(),
        sent.refused.len(),
        sent.accepted.len()
    );
    // one run per key: a key resent after the fault answers the first run
    let runs: std::collections::BTreeSet<&String> = sent.accepted.values().collect();
    assert_eq!(runs.len(), sent.accepted.len(), "no two keys share a run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_engine_killed_and_restarted_under_load_loses_nothing() {
    let token = "a fault-test engine token";
    let engine_port = free_port();
    let engine_env = [("AOS_ENGINE_TOKEN", token)];
    let mut engine = automateos(&["engine"], engine_port, &engine_env);
    let engine_url = format!("http://127.0.0.1:{engine_port}");
    assert!(healthy(&engine_url).await);
    let data = temp_dir("engine");
    let port = free_port();
    let data_dir = data.join("data");
    let env = [
        ("AOS_DATA_DIR", data_dir.to_str().unwrap()),
        ("AOS_ENGINE_URL", engine_url.as_str()),
        ("AOS_ENGINE_TOKEN", token),
    ];
    let _server = automateos(&["serve"], port, &env);
    let base = format!("http://127.0.0.1:{port}");
    assert!(healthy(&base).await);
    let (api_token, hook) = hooked_workflow(&base).await;

    let mut sent = Sent::default();
    let every = Duration::from_millis(25);
    send(&hook, 0..15, every, &mut sent).await;
    engine.start_kill().unwrap(); // SIGKILL, with steps in flight
    engine.wait().await.unwrap();
    send(&hook, 15..45, every, &mut sent).await;
    let _engine = automateos(&["engine"], engine_port, &engine_env);
    send(&hook, 45..60, every, &mut sent).await;
    assert!(sent.refused.is_empty(), "intake does not need the engine: {:?}", sent.refused);
    every_accepted_run_succeeded_once(&base, &api_token, &sent).await;
    let _ = std::fs::remove_dir_all(data);
}

/// Mounts a small tmpfs (root only: the test machine runs tests as root).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = temp_dir("disk");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount runs");
        assert!(status.success(), "the disk-full test mounts a tmpfs and needs root");
        Self(dir)
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.flush();
        let small = [0u8; 512];
        while file.write_all(&small).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn integrity_check(db: &Path) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])",
        ])
        .arg(db)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_dir_refuses_clearly_and_recovers_without_corruption() {
    let disk = SmallDisk::mount("24m");
    let port = free_port();
    let data_dir = disk.0.join("data");
    let env = [("AOS_DATA_DIR", data_dir.to_str().unwrap())];
    let mut server = automateos(&["serve"], port, &env);
    let base = format!("http://127.0.0.1:{port}");
    assert!(healthy(&base).await);
    let (api_token, hook) = hooked_workflow(&base).await;

    let mut sent = Sent::default();
    let every = Duration::from_millis(20);
    send(&hook, 0..10, every, &mut sent).await;
    let filler = disk.fill();
    send_padded(&hook, 10..40, every, 256 * 1024, &mut sent).await;
    std::fs::remove_file(filler).unwrap();
    send(&hook, 40..60, every, &mut sent).await;
    assert!(!sent.refused.is_empty(), "a full disk refuses some deliveries");
    for (key, status, body) in &sent.refused {
        assert_eq!(*status, 507, "{key}: a full disk is a clear 507, not a crash: {body}\n{}", log_tail(port));
        assert!(body.contains("storage_full"), "{key}: {body}");
    }
    assert!(server.try_wait().unwrap().is_none(), "the server lives through the full disk");
    let (status, _) = call(&base, "GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    every_accepted_run_succeeded_once(&base, &api_token, &sent).await;
    every_refused_delivery_resent_succeeds(&base, &api_token, &hook, &sent).await;
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    assert_eq!(integrity_check(&data_dir.join("automateos.db")), "ok", "the database survived intact");
}

/// A private `redis-server` on `port`, append-only with an fsync per write (how the step stream
/// must be run), its files in `dir`; killed on drop.
fn redis_server(port: u16, dir: &Path) -> std::process::Child {
    std::process::Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "yes"])
        .args(["--appendfsync", "always", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_under_load_loses_nothing() {
    let fixture = aos_persistence::testing::TestStore::new(aos_persistence::Backend::Postgres).await;
    let aos_persistence::DatabaseTarget::Postgres(database_url) = fixture.target.clone() else { unreachable!() };
    let redis_dir = temp_dir("redis");
    let redis_port = free_port();
    let mut redis = redis_server(redis_port, &redis_dir);
    let redis_url = format!("redis://127.0.0.1:{redis_port}");
    let up = wait_until(Duration::from_secs(10), || async {
        std::net::TcpStream::connect(("127.0.0.1", redis_port)).is_ok()
    })
    .await;
    assert!(up, "redis-server listens");
    let port = free_port();
    let data = temp_dir("redis-node");
    let data_dir = data.join("data");
    let env = [
        ("AOS_DATA_DIR", data_dir.to_str().unwrap()),
        ("DATABASE_URL", database_url.as_str()),
        ("REDIS_URL", redis_url.as_str()),
        ("AOS_NODE_ID", "redis-fault"),
    ];
    let _server = automateos(&["serve"], port, &env);
    let base = format!("http://127.0.0.1:{port}");
    assert!(healthy(&base).await);
    let (api_token, hook) = hooked_workflow(&base).await;

    let mut sent = Sent::default();
    let every = Duration::from_millis(25);
    send(&hook, 0..15, every, &mut sent).await;
    redis.kill().unwrap(); // SIGKILL: only what the append-only file holds survives
    redis.wait().unwrap();
    send(&hook, 15..30, every, &mut sent).await;
    let mut redis = redis_server(redis_port, &redis_dir);
    send(&hook, 30..60, every, &mut sent).await;
    every_accepted_run_succeeded_once(&base, &api_token, &sent).await;
    let _ = redis.kill();
    let _ = redis.wait();
    let _ = std::fs::remove_dir_all(redis_dir);
    let _ = std::fs::remove_dir_all(data);
    fixture.cleanup().await;
}

/// A private Postgres cluster (initdb as the `postgres` user in a temp dir, trust auth, its own
/// port), so the test may stop and start it without touching the shared server.
struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    const BIN: &'static str = "/usr/lib/postgresql/15/bin";

    fn as_postgres(args: &[&str]) -> std::process::Output {
        std::process::Command::new("runuser").args(["-u", "postgres", "--"]).args(args).output().expect("runuser runs")
    }

    fn init() -> Self {
        let dir = std::env::temp_dir().join(format!("aos-fault-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let chown = std::process::Command::new("chown").args(["postgres:postgres"]).arg(&dir).status().unwrap();
        assert!(chown.success(), "the Postgres fault test needs root and a postgres user");
        let data = dir.join("data");
        let initdb = format!("{}/initdb", Self::BIN);
        let out = Self::as_postgres(&[&initdb, "-D", data.to_str().unwrap(), "-A", "trust", "-U", "postgres"]);
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let cluster = Self { dir, port: free_port() };
        cluster.start();
        cluster
    }

    fn pg_ctl(&self, action: &str) -> std::process::Output {
        let pg_ctl = format!("{}/pg_ctl", Self::BIN);
        let data = self.dir.join("data");
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.display());
        let log = self.dir.join("postgres.log");
        Self::as_postgres(&[
            &pg_ctl,
            "-D",
            data.to_str().unwrap(),
            "-o",
            &options,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "-m",
            "fast",
            action,
        ])
    }

    fn start(&self) {
        let out = self.pg_ctl("start");
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn stop(&self) {
        let out = self.pg_ctl("stop");
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl("stop");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_refuses_clearly_and_loses_nothing() {
    let postgres = PrivatePostgres::init();
    let url = postgres.url();
    let port = free_port();
    let data = temp_dir("pg-node");
    let data_dir = data.join("data");
    let env = [("AOS_DATA_DIR", data_dir.to_str().unwrap()), ("DATABASE_URL", url.as_str())];
    let mut server = automateos(&["serve"], port, &env);
    let base = format!("http://127.0.0.1:{port}");
    assert!(healthy(&base).await);
    let (api_token, hook) = hooked_workflow(&base).await;

    let mut sent = Sent::default();
    let every = Duration::from_millis(25);
    send(&hook, 0..15, every, &mut sent).await;
    postgres.stop();
    send(&hook, 15..20, every, &mut sent).await;
    postgres.start();
    send(&hook, 20..60, every, &mut sent).await;
    assert!(server.try_wait().unwrap().is_none(), "the server lives through the outage");
    for (key, status, body) in &sent.refused {
        assert_eq!(*status, 503, "{key}: refused with {status}: {body}\n{}", log_tail(port));
    }
    every_accepted_run_succeeded_once(&base, &api_token, &sent).await;
    every_refused_delivery_resent_succeeds(&base, &api_token, &hook, &sent).await;
    let _ = std::fs::remove_dir_all(data);
}
