//! Starting the server: open the stores named by the configuration, bind, serve until a shutdown
//! signal. Also the store-only commands (`migrate`, `keys rotate`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aos_actors::{ActorSystem, Dispatch, NodeIdentity, RunDeps, SystemConfig};

use aos_persistence::{DatabaseTarget, Keyring, RedisLink, Store, StoreError, VaultError};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::auth::{AuthSettings, JwtSecret, load_or_create_jwt_secret};
use crate::config::{EngineArgs, Role, ServeArgs, StoreArgs};
use crate::routes;
use crate::state::AppState;

/// Why the server could not start or a command failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create data dir {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("server stopped: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Egress(#[from] aos_engine_link::egress::EgressPolicyError),
    #[error(transparent)]
    Engine(#[from] aos_engine_link::embedded::EngineBuildError),
    #[error("remote engine: {reason}")]
    RemoteEngine { reason: String },
    #[error(transparent)]
    Actors(#[from] aos_actors::SystemError),
    #[error(transparent)]
    Telemetry(#[from] aos_ops::TelemetryError),
    /// Split roles share their work through Redis; without it only `all` can run.
    #[error("role {role} needs REDIS_URL: split roles hand steps to each other through Redis")]
    RoleNeedsRedis { role: String },
    #[error("token signing key: {reason}")]
    JwtSecret { reason: String },
    #[error(transparent)]
    Seed(#[from] crate::seed::SeedError),
}

/// `automateos engine`: the embedded engine served over the step protocol until `shutdown`, with
/// `/metrics` and the same request spans as the server (so a step call continues the caller's
/// trace).
pub async fn serve_engine(
    args: &EngineArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let egress = aos_engine_link::EgressPolicy::parse(&args.egress_allow)?;
    let engine = aos_engine_link::EmbeddedEngine::new(aos_engine_link::EngineConfig { egress })?;
    let metrics = aos_ops::install_metrics()?;
    let app = aos_engine_link::server::router(std::sync::Arc::new(engine), args.token())
        .merge(routes::metrics::routes().with_state(metrics))
        .layer(axum::middleware::from_fn(crate::observe::observe));
    let listener = TcpListener::bind(args.addr).await.map_err(|source| StartError::Bind { addr: args.addr, source })?;
    tracing::info!(addr = %args.addr, authenticated = args.token.is_some(), "engine serving");
    axum::serve(listener.tap_io(no_delay), app).with_graceful_shutdown(shutdown).await.map_err(StartError::Serve)
}

/// Sends each write at once (`TCP_NODELAY`): with Nagle's algorithm a small frame waits for the
/// peer's acknowledgement of the previous one, which a delayed ACK holds back up to 40 ms; a live
/// editor's frames and a webhook's answer are small.
fn no_delay(stream: &mut tokio::net::TcpStream) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(error = %err, "TCP_NODELAY not set on a connection");
    }
}

/// The longest one call to a remote engine may take before the step fails as retryable.
const REMOTE_ENGINE_CALL_LIMIT: Duration = Duration::from_secs(15 * 60);

/// A server bound to its address, not yet serving (tests bind `127.0.0.1:0` and read the port).
#[derive(Debug)]
pub struct BoundServer {
    listener: TcpListener,
    state: AppState,
}

impl BoundServer {
    /// Opens the stores and binds the listener.
    pub async fn bind(args: &ServeArgs) -> Result<Self, StartError> {
        let store = open_store(&args.store).await?;
        let redis = match &args.redis_url {
            Some(url) if !url.trim().is_empty() => Some(RedisLink::connect(url).await?),
            _ => None,
        };
        let metrics = aos_ops::install_metrics()?;
        let seeded = crate::seed::seed_starter_templates(&store).await?;
        tracing::info!(published = seeded.published, unchanged = seeded.unchanged, "starter templates in the gallery");
        if args.role != Role::All && redis.is_none() {
            return Err(StartError::RoleNeedsRedis { role: format!("{:?}", args.role).to_lowercase() });
        }
        let actors = Some(Arc::new(start_actors(&store, redis.as_ref(), args).await?));
        let secret = match args.auth.jwt_secret() {
            Some(text) => JwtSecret::from_configured(&text)?,
            None => load_or_create_jwt_secret(&args.store.jwt_key_file())?,
        };
        let auth = AuthSettings::new(
            &secret,
            Duration::from_secs(args.auth.access_ttl_secs.max(1)),
            Duration::from_secs(args.auth.refresh_ttl_secs.max(1)),
            args.auth.admin_emails.clone(),
        );
        let mut state = AppState::new(store, metrics);
        if let Some(rooms) = actors.as_deref().and_then(doc_rooms) {
            state = state.with_rooms(rooms);
        }
        if let Some(redis) = &redis {
            // live run events cross nodes over Redis (one publish per committed batch)
            let node = actors.as_deref().map(|a| a.node_id().to_owned()).unwrap_or_default();
            state.events = aos_realtime::EventHub::with_redis(
                state.store.clone(),
                aos_realtime::EventsConfig::default(),
                Some(redis.clone()),
                node,
            );
        }
        state.redis = redis;
        state.actors = actors;
        state.auth = Arc::new(auth);
        state.public_url = args.public_url.clone().filter(|url| !url.trim().is_empty());
        state.signup_credits_micros = args.signup_credits_micros;
        state.web_dir = args.web_dir.clone();
        let nonzero = |n: u32| std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN);
        state.auth_limits = Arc::new(crate::auth::AuthLimits::new(&crate::auth::AuthLimitSettings {
            signups_per_hour_per_ip: nonzero(args.signups_per_hour_per_ip),
            logins_per_minute_per_ip: nonzero(args.logins_per_minute_per_ip),
            ..crate::auth::AuthLimitSettings::default()
        }));
        state.limits = crate::limits::Limits {
            per_minute: std::num::NonZeroU32::new(args.rate_per_minute).unwrap_or(std::num::NonZeroU32::MIN),
            request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
            cors_origins: args.cors_origins.clone(),
            ..crate::limits::Limits::default()
        };
        Self::bind_with(args.addr, state).await
    }

    /// Binds a listener for already-open state.
    pub async fn bind_with(addr: SocketAddr, state: AppState) -> Result<Self, StartError> {
        let listener = TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
        Ok(Self { listener, state })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, StartError> {
        self.listener.local_addr().map_err(StartError::Serve)
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), StartError> {
        let actors = self.state.actors.clone();
        let app = routes::router(self.state);
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener.tap_io(no_delay), app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(StartError::Serve);
        if let Some(actors) = actors {
            actors.stop();
        }
        served
    }
}

/// Starts the actor tree with the embedded engine and resumes the unfinished runs this node may
/// drive. With Redis, steps travel through the Redis step queue to the step workers of every node
/// with role `all` or `worker` (a `gateway` node runs none: it takes requests, webhooks and
/// schedules and drives runs); without Redis they run in-process. Steps run on the embedded engine,
/// or on a remote one with `--engine-url`.
async fn start_actors(store: &Store, redis: Option<&RedisLink>, args: &ServeArgs) -> Result<ActorSystem, StartError> {
    let engine: Arc<dyn aos_engine_link::Engine> = match args.engine_url.as_deref().map(str::trim) {
        Some(url) if !url.is_empty() => {
            let token = args.engine_token.as_deref().filter(|t| !t.trim().is_empty());
            let token = token.map(|t| aos_schema::SecretString::new(t.to_owned()));
            // the engine enforces each node's own timeout; this only bounds a call that hangs
            let remote = aos_engine_link::RemoteEngine::new(url, token, REMOTE_ENGINE_CALL_LIMIT)
                .map_err(|err| StartError::RemoteEngine { reason: err.to_string() })?;
            tracing::info!(engine = %url, "steps run on a remote engine");
            Arc::new(remote)
        }
        _ => {
            let egress = aos_engine_link::EgressPolicy::parse(&args.egress_allow)?;
            Arc::new(aos_engine_link::EmbeddedEngine::new(aos_engine_link::EngineConfig { egress })?)
        }
    };
    let cluster = &args.cluster;
    let dispatch = match redis {
        Some(link) => {
            let config = aos_persistence::RedisQueueConfig::on_stream(cluster.step_stream.clone());
            let queue = aos_persistence::RedisStepQueue::open(link.clone(), config).await?;
            Dispatch::Queue(Arc::new(queue))
        }
        None => Dispatch::Local,
    };
    let node = NodeIdentity {
        id: cluster.node_id(args.addr),
        stale_after: Duration::from_millis(cluster.node_stale_after_ms.max(100)),
    };
    let deps = RunDeps { dispatch, node, ..RunDeps::new(store.clone(), engine) };
    let mut config = SystemConfig::new(deps);
    config.redis = redis.cloned();
    config.claim_timeout = Duration::from_millis(cluster.step_claim_timeout_ms.max(100));
    config.start_slots = cluster.start_slots.filter(|slots| *slots > 0);
    config.workers = if args.role == Role::Gateway { 0 } else { cluster.step_workers };
    let fanout = match &args.redis_url {
        Some(url) if redis.is_some() => {
            Some(aos_persistence::DocFanout::connect(url, cluster.node_id(args.addr)).await?)
        }
        _ => None,
    };
    config.extra_kinds.push(doc_rooms_kind(store, fanout));
    let actors = ActorSystem::start_with(config).await?;
    let resumed = actors.resume_unfinished().await?;
    let scheduled = actors.sync_schedules().await?;
    tracing::info!(node = %actors.node_id(), resumed, scheduled, "actor tree started, unfinished runs resumed, schedules running");
    Ok(actors)
}

/// The doc-rooms kind of the actor tree: one `DocRoom` per open workflow doc, fanning out to
/// other nodes' rooms through Redis when `fanout` is given.
pub fn doc_rooms_kind(store: &Store, fanout: Option<aos_persistence::DocFanout>) -> aos_actors::ExtraKind {
    let config = aos_realtime::RoomConfig { fanout, ..aos_realtime::RoomConfig::default() };
    aos_actors::ExtraKind {
        name: aos_realtime::DOC_ROOMS_KIND.to_owned(),
        policy: aos_actors::RestartPolicy::default(),
        factory: Arc::new(aos_realtime::DocRoomFactory { store: store.clone(), config }),
    }
}

/// The doc rooms of a tree started with [`doc_rooms_kind`].
pub fn doc_rooms(actors: &ActorSystem) -> Option<aos_realtime::DocRooms> {
    actors.kind(aos_realtime::DOC_ROOMS_KIND).cloned().map(aos_realtime::DocRooms::new)
}

/// Creates the data dir, loads the keyring and opens (migrating) the configured database.
pub async fn open_store(args: &StoreArgs) -> Result<Store, StartError> {
    let keyring = load_keyring(args)?;
    let target = args.database_target();
    let store = Store::open(&target, keyring).await?;
    let backend = match target {
        DatabaseTarget::SqliteFile(path) => format!("sqlite {}", path.display()),
        DatabaseTarget::Postgres(_) => "postgres".to_owned(),
    };
    tracing::info!(%backend, "store open, migrations applied");
    Ok(store)
}

/// The keyring from `AOS_MASTER_KEY`, else from the key file in the data dir (created on first use).
fn load_keyring(args: &StoreArgs) -> Result<Keyring, StartError> {
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|source| StartError::DataDir { path: args.data_dir.display().to_string(), source })?;
    Ok(match args.master_key() {
        Some(spec) => Keyring::parse(spec.expose())?,
        None => Keyring::load_or_create(&args.key_file())?,
    })
}

/// `automateos keys rotate`: a fresh key seals every secret (and webhook token) from now on. With a key file the new
/// ring is saved before re-sealing, so a crash halfway loses no key. With `AOS_MASTER_KEY` the
/// operator must store the printed ring in their secret manager. Returns the re-sealed count and,
/// for the environment case, the new key spec to store.
pub async fn rotate_keys(args: &StoreArgs, prune: bool) -> Result<(u64, Option<aos_schema::SecretString>), StartError> {
    let store = open_store(args).await?;
    let rotated = store.keyring().clone().rotated();
    let from_env = args.master_key().is_some();
    if !from_env {
        rotated.save(&args.key_file())?;
    }
    let count = store.secrets().reseal_all(&rotated).await? + store.webhooks().reseal_all(&rotated).await?;
    let ring = if prune { rotated.pruned() } else { rotated };
    if from_env {
        return Ok((count, Some(ring.export_spec())));
    }
    ring.save(&args.key_file())?;
    Ok((count, None))
}
