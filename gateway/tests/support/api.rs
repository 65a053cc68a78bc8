//! An API test harness: a real server on 127.0.0.1:0 over a fresh store (SQLite or Postgres),
//! optionally with the actor tree and the embedded engine, a JSON client, and signup helpers.
//! `both_backends!` turns `async fn name(backend)` tests into one test per backend.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aos_actors::{ActorSystem, RunDeps};
use aos_gateway::auth::{AuthSettings, JwtSecret};
use aos_gateway::{AppState, BoundServer};
use aos_persistence::testing::TestStore;
use aos_persistence::{Backend, Store};
use reqwest::Method;
use serde_json::{Value, json};

/// The signing secret the harness servers use, so tests can mint expired or forged tokens.
pub const TEST_JWT_SECRET: &str = "a-test-signing-secret-of-at-least-32-bytes";

/// Emails the harness treats as platform admins.
pub const PLATFORM_ADMIN: &str = "root@platform.test";

/// Generates `sqlite` and `postgres` test modules calling each `async fn(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(aos_persistence::Backend::Sqlite).await; })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(aos_persistence::Backend::Postgres).await; })+
        }
    };
}

/// A running server and its store.
pub struct Api {
    pub addr: SocketAddr,
    pub store: Store,
    pub client: reqwest::Client,
    fixture: Option<TestStore>,
    actors: Option<Arc<ActorSystem>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A signed-up account.
#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub token: String,
    pub refresh_token: String,
    pub user_id: String,
    pub org_id: String,
}

/// A response: status and JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The body as the web apps decode it (an `aos-api` type), checked to say exactly what the
    /// server sent: written out again it is the same JSON, no field dropped or invented.
    pub fn decoded<T: serde::de::DeserializeOwned + serde::Serialize>(&self) -> T {
        let typed: T = serde_json::from_str(&self.text)
            .unwrap_or_else(|err| panic!("{} does not decode: {err}: {}", std::any::type_name::<T>(), self.text));
        assert_eq!(serde_json::to_value(&typed).unwrap(), self.body, "{} drops or invents", std::any::type_name::<T>());
        typed
    }
}

impl Api {
    /// A server without the actor tree (enough for everything but runs and webhook ingress).
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, false).await
    }

    /// A server with the actor tree and the embedded engine.
    pub async fn start_with_actors(backend: Backend) -> Self {
        Self::start_with(backend, true).await
    }

    /// A server with the actor tree and an engine that may reach loopback, where the tests' fake
    /// Slack, Sheets, OpenAI, SMTP and HTTP servers listen.
    pub async fn start_reaching_loopback(backend: Backend) -> Self {
        Self::start_full(backend, true, "127.0.0.1", |_| {}).await
    }

    /// A server without actors whose state `adjust` changes first (limits, credits, ...).
    pub async fn start_adjusted(backend: Backend, adjust: impl FnOnce(&mut AppState)) -> Self {
        Self::start_full(backend, false, "", adjust).await
    }

    async fn start_with(backend: Backend, with_actors: bool) -> Self {
        Self::start_full(backend, with_actors, "", |_| {}).await
    }

    async fn start_full(backend: Backend, with_actors: bool, egress: &str, adjust: impl FnOnce(&mut AppState)) -> Self {
        let fixture = TestStore::new(backend).await;
        let store = fixture.store.clone();
        let mut state = AppState::new(store.clone(), aos_ops::install_metrics().expect("metrics"));
        state.auth = Arc::new(AuthSettings::new(
            &JwtSecret::from_configured(&aos_schema::SecretString::new(TEST_JWT_SECRET)).expect("secret"),
            Duration::from_secs(900),
            Duration::from_secs(86_400),
            vec![PLATFORM_ADMIN.to_owned()],
        ));
        let actors = if with_actors {
            let engine = aos_engine_link::EmbeddedEngine::new(aos_engine_link::EngineConfig {
                egress: aos_engine_link::EgressPolicy::parse(egress).expect("egress"),
            })
            .expect("engine");
            let deps =
                RunDeps { step_timeout: Duration::from_secs(30), ..RunDeps::new(store.clone(), Arc::new(engine)) };
            let mut config = aos_actors::SystemConfig::new(deps);
            config.extra_kinds.push(aos_gateway::server::doc_rooms_kind(&store, None));
            Some(Arc::new(ActorSystem::start_with(config).await.expect("actors")))
        } else {
            None
        };
        if let Some(rooms) = actors.as_deref().and_then(aos_gateway::server::doc_rooms) {
            state = state.with_rooms(rooms);
        }
        state.actors = actors.clone();
        adjust(&mut state);
        let server = BoundServer::bind_with("127.0.0.1:0".parse().expect("addr"), state).await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.serve(async move {
            let _ = stopped.await;
        }));
        Self { addr, store, client: super::support_http::http(), fixture: Some(fixture), actors, _stop: stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends `body` as JSON (when given) with the bearer `token` (when given).
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(Method::from_bytes(method.as_bytes()).expect("method"), self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.expect("request")).await
    }

    /// Sends raw bytes as `application/json`.
    pub async fn raw(&self, method: &str, path: &str, token: Option<&str>, body: Vec<u8>) -> Reply {
        let mut request = self
            .client
            .request(Method::from_bytes(method.as_bytes()).expect("method"), self.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        reply(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// Signs up a fresh account with its own org.
    pub async fn signup(&self, name: &str) -> Account {
        let email = format!("{name}-{}@example.test", uuid::Uuid::new_v4().simple());
        let reply = self
            .call(
                "POST",
                "/api/auth/signup",
                None,
                Some(json!({ "email": email, "password": "correct horse battery", "name": name, "org_name": format!("{name} org") })),
            )
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        let signed_up = reply.decoded::<aos_api::SignedUp>();
        Account {
            email,
            token: signed_up.tokens.token,
            refresh_token: signed_up.tokens.refresh_token,
            user_id: signed_up.user_id.to_string(),
            org_id: signed_up.org_id.to_string(),
        }
    }

    /// Signs up a platform admin (the email the harness lists).
    pub async fn signup_platform_admin(&self) -> Account {
        let reply = self
            .call(
                "POST",
                "/api/auth/signup",
                None,
                Some(json!({ "email": PLATFORM_ADMIN, "password": "correct horse battery", "name": "Root", "org_name": "Platform" })),
            )
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        Account {
            email: PLATFORM_ADMIN.to_owned(),
            token: reply.body["token"].as_str().expect("token").to_owned(),
            refresh_token: reply.body["refresh_token"].as_str().expect("refresh").to_owned(),
            user_id: reply.body["user_id"].as_str().expect("user").to_owned(),
            org_id: reply.body["org_id"].as_str().expect("org").to_owned(),
        }
    }

    /// Adds `member` to `org` with `role`, as `owner`.
    pub async fn add_member(&self, owner: &Account, org: &str, member: &Account, role: &str) {
        let reply = self
            .post(&format!("/api/orgs/{org}/members"), &owner.token, json!({ "email": member.email, "role": role }))
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
    }

    /// How many audit rows `org` has (to check that refused requests wrote nothing).
    pub async fn audit_rows(&self, org: &str) -> usize {
        let org: aos_schema::OrgId = org.parse().expect("org id");
        let query = aos_persistence::AuditQuery { limit: Some(500), ..Default::default() };
        self.store.audit().list(org, &query).await.expect("audit").len()
    }

    /// Stops the actors and removes the database.
    pub async fn finish(mut self) {
        if let Some(actors) = self.actors.take() {
            actors.stop();
        }
        if let Some(fixture) = self.fixture.take() {
            fixture.cleanup().await;
        }
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, body, text }
}

/// A workflow graph that runs without the network: a trigger of `trigger_kind` and a transform
/// that reads `n` from the trigger (a webhook's payload is `{body, headers, query}`).
pub fn runnable_graph(trigger_kind: &str) -> Value {
    let n = if trigger_kind == "trigger.webhook" { "{{ trigger.body.n }}" } else { "{{ trigger.n }}" };
    json!({
        "nodes": [
            { "id": "start", "kind": trigger_kind, "label": "Start", "position": { "x": 0.0, "y": 0.0 }, "config": {} },
            { "id": "shape", "kind": "data.transform", "label": "Shape", "position": { "x": 200.0, "y": 0.0 },
              "config": { "fields": { "n": n } } }
        ],
        "edges": [ { "id": "e1", "from": "start", "from_port": "out", "to": "shape", "to_port": "in" } ]
    })
}
