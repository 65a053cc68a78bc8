//! The server as a client sees it: a real listener on 127.0.0.1, real HTTP, real databases.

#[path = "support/http.rs"]
mod support_http;

use support_http::{http, http_get, wait_until};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use aos_gateway::config::{ServeArgs, StoreArgs};
use aos_gateway::{AppState, BoundServer};
use aos_persistence::testing::TestStore;
use aos_persistence::{Backend, RedisLink};
use serde_json::Value;

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aos-gw-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn redis_url() -> String {
    std::env::var("AOS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Serves `state` on an ephemeral port until the returned sender is dropped.
async fn serve(state: AppState) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let server = BoundServer::bind_with("127.0.0.1:0".parse().unwrap(), state).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve(async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let response = http_get(format!("http://{addr}{path}")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn embedded_default_is_healthy_and_ready() {
    let dir = temp_dir();
    let args = ServeArgs {
        addr: "127.0.0.1:0".parse().unwrap(),
        store: StoreArgs { data_dir: dir.join("data"), database_url: None, master_key: None },
        redis_url: None,
        role: aos_gateway::config::Role::All,
        egress_allow: String::new(),
        cluster: Default::default(),
        auth: aos_gateway::config::AuthArgs::default(),
        public_url: None,
        signup_credits_micros: 0,
        rate_per_minute: 1200,
        signups_per_hour_per_ip: 20,
        logins_per_minute_per_ip: 30,
        request_timeout_secs: 30,
        cors_origins: vec![],
        web_dir: None,
        engine_url: None,
        engine_token: None,
    };
    let server = BoundServer::bind(&args).await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.serve(std::future::pending()));
    let (status, body) = get(addr, "/healthz").await;
    let health: aos_api::Health = serde_json::from_value(body).unwrap();
    assert_eq!((status, health.status.as_str(), health.version.as_str()), (200, "ok", env!("CARGO_PKG_VERSION")));
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 200);
    let ready: aos_api::Readiness = serde_json::from_value(body).unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.database.as_str(), ready.redis.as_str()),
        ("ready", "sqlite", "not_configured")
    );
    assert!(dir.join("data/automateos.db").exists());
    assert!(dir.join("data/master.key").exists());
    let (status, body) = get(addr, "/no/such/thing").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["message"], "no route for GET /no/such/thing");
    let wrong = http().post(format!("http://{addr}/healthz")).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 405);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn ready_on_postgres_and_redis_and_not_ready_when_the_database_goes() {
    let fixture = TestStore::new(Backend::Postgres).await;
    let redis = RedisLink::connect(&redis_url()).await.expect("redis for tests (AOS_TEST_REDIS_URL)");
    let mut state = AppState::new(fixture.store.clone(), aos_ops::install_metrics().unwrap());
    state.redis = Some(redis);
    let (addr, _stop) = serve(state).await;
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!((status, body["database"].as_str(), body["redis"].as_str()), (200, Some("postgres"), Some("ok")));
    // the database disappears under the running server
    fixture.cleanup().await;
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["code"], "not_ready");
    assert_eq!(body["error"]["message"], "database is not ready");
    assert_eq!(get(addr, "/healthz").await.0, 200, "the process itself is still alive");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn the_binary_serves_the_embedded_default_and_stops_cleanly() {
    let dir = temp_dir();
    let port = free_port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_automateos"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.join("data"))
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("AOS_MASTER_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let up = wait_until(Duration::from_secs(30), || async move {
        matches!(http_get(format!("http://{addr}/readyz")).await, Ok(r) if r.status() == 200)
    })
    .await;
    assert!(up, "server became ready");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("data/master.key")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the key file is private");
        let mode = std::fs::metadata(dir.join("data/jwt.key")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "so is the token signing key");
    }
    // SIGTERM: graceful shutdown, exit 0
    let pid = child.id().unwrap();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
    // migrate on the same data dir is a no-op that succeeds
    let migrate = std::process::Command::new(env!("CARGO_BIN_EXE_automateos"))
        .args(["migrate", "--data-dir"])
        .arg(dir.join("data"))
        .env_remove("DATABASE_URL")
        .env_remove("AOS_MASTER_KEY")
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn keys_rotate_reencrypts_secrets_in_the_data_dir() {
    let dir = temp_dir();
    let store_args = StoreArgs { data_dir: dir.join("data"), database_url: None, master_key: None };
    let store = aos_gateway::server::open_store(&store_args).await.unwrap();
    let (_owner, org) = {
        let new =
            aos_persistence::NewUser { email: "o@example.test".into(), name: "O".into(), password_hash: "x".into() };
        store.orgs().create_user_with_org(&new, "Org", "org").await.unwrap()
    };
    let actor = aos_persistence::By::System;
    store.secrets().put(org.id, "TOKEN", &aos_schema::SecretString::new("s3cret-value"), actor).await.unwrap();
    let old_key = store.keyring().active_key_id().to_owned();
    store.db().close().await;
    let rotate = std::process::Command::new(env!("CARGO_BIN_EXE_automateos"))
        .args(["keys", "rotate", "--prune", "--data-dir"])
        .arg(dir.join("data"))
        .env_remove("DATABASE_URL")
        .env_remove("AOS_MASTER_KEY")
        .output()
        .unwrap();
    assert!(rotate.status.success(), "{}", String::from_utf8_lossy(&rotate.stderr));
    let logs = String::from_utf8_lossy(&rotate.stderr);
    assert!(!logs.contains("s3cret-value"));
    let store = aos_gateway::server::open_store(&store_args).await.unwrap();
    assert_ne!(store.keyring().active_key_id(), old_key);
    assert_eq!(store.keyring().key_ids().len(), 1, "pruned to the new key");
    let usage = aos_persistence::SecretUse { by: actor, purpose: "test".into() };
    assert_eq!(store.secrets().reveal(org.id, "TOKEN", &usage).await.unwrap().expose(), "s3cret-value");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn bad_configuration_is_a_clear_error_not_a_panic() {
    let dir = temp_dir();
    let run = |extra_env: (&str, &str)| {
        std::process::Command::new(env!("CARGO_BIN_EXE_automateos"))
            .args(["migrate", "--log-format", "pretty", "--data-dir"])
            .arg(dir.join("data"))
            .env_remove("DATABASE_URL")
            .env_remove("AOS_MASTER_KEY")
            .env(extra_env.0, extra_env.1)
            .output()
            .unwrap()
    };
    let bad_key = run(("AOS_MASTER_KEY", "not-a-key"));
    assert!(!bad_key.status.success());
    let stderr = String::from_utf8_lossy(&bad_key.stderr);
    assert!(stderr.contains("master key is invalid"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let bad_url = run(("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"));
    assert!(!bad_url.status.success());
    let stderr = String::from_utf8_lossy(&bad_url.stderr);
    assert!(stderr.contains("the database is unavailable"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn web_apps_are_served_below_their_prefix_with_a_strict_policy() {
    let fixture = TestStore::new(Backend::Sqlite).await;
    let web = temp_dir();
    std::fs::create_dir_all(web.join("studio")).unwrap();
    std::fs::write(web.join("studio/index.html"), "<!doctype html><div id=\"main\"></div>").unwrap();
    std::fs::write(web.join("studio/app.js"), "export default function init() {}").unwrap();
    let mut state = AppState::new(fixture.store.clone(), aos_ops::install_metrics().unwrap());
    state.web_dir = Some(web.clone());
    let (addr, _stop) = serve(state).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let fetch = |path: &str| client.get(format!("http://{addr}{path}")).send();

    let bare = fetch("/studio").await.unwrap();
    assert_eq!(bare.status().as_u16(), 308);
    assert_eq!(bare.headers()["location"], "/studio/");
    for path in ["/studio/", "/studio/w/some-workflow", "/studio/gallery"] {
        let page = fetch(path).await.unwrap();
        assert_eq!(page.status().as_u16(), 200, "{path}");
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(page.headers()["x-content-type-options"], "nosniff");
        assert!(page.text().await.unwrap().contains("id=\"main\""), "{path} answers the app's page");
    }
    let script = fetch("/studio/app.js").await.unwrap();
    assert_eq!(script.status().as_u16(), 200);
    assert!(script.headers()["content-type"].to_str().unwrap().contains("javascript"));
    let escape = fetch("/studio/..%2F..%2Fetc%2Fpasswd").await.unwrap();
    assert!(!escape.text().await.unwrap().contains("root:"), "no path escapes the web dir");
    // the dashboard is not built in this dir: a clear answer, not a blank page
    let missing = fetch("/app/").await.unwrap();
    assert_eq!(missing.status().as_u16(), 503);
    let body: Value = missing.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("cargo xtask run"), "{body}");
    assert_eq!(fetch("/").await.unwrap().headers()["location"], "/studio/");
    std::fs::remove_dir_all(web).unwrap();
}
