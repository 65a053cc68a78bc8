//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use aos_actors::ActorSystem;
use aos_ops::MetricsHandle;
use aos_persistence::{RedisLink, Store};
use axum::extract::FromRef;

use crate::auth::{AuthLimits, AuthSettings, JwtSecret};
use crate::graph_writer::{GraphWriter, StoreGraphWriter};
use crate::limits::{Limits, RateLimiter};
use crate::payments::{PaymentProvider, TestPaymentProvider};

/// The default signup grant: 5 currency units.
pub const DEFAULT_SIGNUP_CREDITS_MICROS: i64 = 5_000_000;

/// The server's shared state: one reference count to clone (the router clones it for every
/// request, in each layer that holds it). Reads go through to [`SharedState`]; a change made
/// before the router is built (tests adjust fields) applies to this copy alone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<SharedState>);

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut SharedState {
        Arc::make_mut(&mut self.0)
    }
}

/// What [`AppState`] shares.
#[derive(Debug, Clone)]
pub struct SharedState {
    pub store: Store,
    /// Present when `REDIS_URL` is configured.
    pub redis: Option<RedisLink>,
    /// Renders `/metrics`; the process-wide recorder from `aos_ops::install_metrics`.
    pub metrics: MetricsHandle,
    /// The actor tree of this process, when it plays the worker role.
    pub actors: Option<Arc<ActorSystem>>,
    /// Token signing keys, lifetimes and the platform admins.
    pub auth: Arc<AuthSettings>,
    /// Where draft graphs written over the API go: the live doc room where this node runs them, else
    /// the stored draft.
    pub graphs: Arc<dyn GraphWriter>,
    /// The base URL webhook URLs are built on; without it, the request's `Host`.
    pub public_url: Option<String>,
    /// Takes payment for credit top-ups.
    pub payments: Arc<dyn PaymentProvider>,
    /// Credits (micros) every new org is granted at signup, so it can try things out.
    pub signup_credits_micros: i64,
    /// Rate, time and CORS limits.
    pub limits: Limits,
    /// Counts login attempts per email (built from `limits.logins_per_minute`).
    pub logins: RateLimiter,
    /// Login and signup limits per IP and per account, and the failed-login lockout.
    pub auth_limits: Arc<AuthLimits>,
    /// This node's doc rooms (`/ws/docs`, and the live draft every graph read and write goes
    /// through), when the actor tree runs them.
    pub rooms: Option<aos_realtime::DocRooms>,
    /// Run events for `/ws/events` subscribers.
    pub events: aos_realtime::EventHub,
    /// Studios listening for a webhook's test event (on this node; through Redis when there is one).
    pub test_hooks: Arc<crate::test_hooks::TestHooks>,
    /// The built browser apps (`studio/`, `dashboard/`), served at `/studio/` and `/app/`.
    pub web_dir: Option<std::path::PathBuf>,
}

impl AppState {
    /// Uses the actor tree's doc rooms: drafts are read from and written to the live docs.
    pub fn with_rooms(mut self, rooms: aos_realtime::DocRooms) -> Self {
        self.graphs =
            Arc::new(crate::graph_writer::RoomGraphWriter { store: self.store.clone(), rooms: rooms.clone() });
        self.rooms = Some(rooms);
        self
    }

    /// State with default auth settings (a fresh signing key, 15-minute access tokens, 30-day
    /// sessions, no platform admins) and no Redis or actors; tests adjust the fields they need.
    pub fn new(store: Store, metrics: MetricsHandle) -> Self {
        let auth = AuthSettings::new(
            &JwtSecret::generate(),
            Duration::from_secs(900),
            Duration::from_secs(30 * 86_400),
            vec![],
        );
        Self(Arc::new(SharedState {
            graphs: Arc::new(StoreGraphWriter { store: store.clone() }),
            events: aos_realtime::EventHub::new(store.clone(), aos_realtime::EventsConfig::default()),
            store,
            redis: None,
            metrics,
            actors: None,
            auth: Arc::new(auth),
            public_url: None,
            payments: Arc::new(TestPaymentProvider),
            signup_credits_micros: DEFAULT_SIGNUP_CREDITS_MICROS,
            limits: Limits::default(),
            logins: RateLimiter::new(Limits::default().logins_per_minute),
            auth_limits: Arc::new(AuthLimits::default()),
            rooms: None,
            test_hooks: Arc::default(),
            web_dir: None,
        }))
    }
}

impl FromRef<AppState> for MetricsHandle {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
