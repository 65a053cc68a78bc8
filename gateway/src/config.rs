//! The typed configuration of the `automateos` binary, parsed once by clap with environment
//! fallbacks (`DATABASE_URL`, `REDIS_URL`, `AOS_MASTER_KEY`, `OTEL_EXPORTER_OTLP_ENDPOINT`, ...).
//! Nothing else reads the environment (the OpenTelemetry SDK itself still honours the standard
//! `OTEL_*` tuning variables, such as `OTEL_BSP_SCHEDULE_DELAY`).

use std::net::SocketAddr;
use std::path::PathBuf;

use aos_persistence::DatabaseTarget;
use aos_schema::{OrgId, SecretString, WorkflowId};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The AutomateOS server.
#[derive(Debug, Parser)]
#[command(name = "automateos", version, about = "AutomateOS: live co-edited workflow automation")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines are written.
    #[arg(long, env = "AOS_LOG_FORMAT", value_enum, default_value_t = LogFormatArg::Json, global = true)]
    pub log_format: LogFormatArg,
    /// Base URL of an OTLP/HTTP collector (traces go to `<url>/v1/traces`); without it no traces
    /// are exported. Hidden in help: a URL may carry credentials.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", hide_env_values = true, global = true)]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` this process's traces carry.
    #[arg(long, env = "AOS_SERVICE_NAME", default_value = "automateos", global = true)]
    pub service_name: String,
}

impl Cli {
    /// What telemetry to install (an empty endpoint counts as none).
    pub fn telemetry(&self) -> aos_ops::TelemetryConfig {
        aos_ops::TelemetryConfig {
            log_format: self.log_format.into(),
            otlp_endpoint: self.otlp_endpoint.clone().filter(|endpoint| !endpoint.trim().is_empty()),
            service_name: self.service_name.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves the API, the live sockets and the web apps on one address.
    Serve(Box<ServeArgs>),
    /// Serves the step engine on its own (the step protocol over HTTP), for remote execution.
    Engine(EngineArgs),
    /// Applies pending database migrations and exits.
    Migrate(StoreArgs),
    /// Manages accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Writes a workflow's canonical export file.
    Export(ExportArgs),
    /// Creates a workflow from an export file.
    Import(ImportArgs),
    /// Manages the master keys of the secrets vault.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Creates an account and an org it owns. The password is read from the first line of
    /// standard input (never from the command line, which other users can see).
    Create(UserCreateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct UserCreateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub org_name: String,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The workflow to export (its draft).
    #[arg(long)]
    pub workflow: WorkflowId,
    /// Where to write the file; standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The org the workflow is created in.
    #[arg(long)]
    pub org: OrgId,
    /// The export file.
    #[arg(long)]
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Adds a fresh master key and re-encrypts every secret with it.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
        /// Drop the old keys once every secret is re-encrypted (restart servers first).
        #[arg(long)]
        prune: bool,
    },
    /// Replaces the access-token signing key file (`<data-dir>/jwt.key`). Restart servers after:
    /// outstanding access tokens stop working and clients get new ones with their refresh token.
    RotateJwt {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AOS_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Redis for work queues and fan-out across nodes; without it everything stays in-process.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Which roles this process plays.
    #[arg(long, env = "AOS_ROLE", value_enum, default_value_t = Role::All)]
    pub role: Role,
    /// Hosts or CIDRs workflow steps may reach although they are loopback, private or link-local.
    #[arg(long, env = "AOS_EGRESS_ALLOW", default_value = "")]
    pub egress_allow: String,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The base URL clients reach this server on (webhook URLs are built on it); without it the
    /// request's `Host` header is used.
    #[arg(long, env = "AOS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Credits (micros) granted to every new org; 0 grants none.
    #[arg(long, env = "AOS_SIGNUP_CREDITS", default_value_t = crate::state::DEFAULT_SIGNUP_CREDITS_MICROS)]
    pub signup_credits_micros: i64,
    /// API requests per minute per caller (per token, else per IP).
    #[arg(long, env = "AOS_RATE_LIMIT", default_value_t = 1200)]
    pub rate_per_minute: u32,
    /// Signups per hour from one client IP.
    #[arg(long, env = "AOS_SIGNUP_RATE", default_value_t = 20)]
    pub signups_per_hour_per_ip: u32,
    /// Login attempts per minute from one client IP.
    #[arg(long, env = "AOS_LOGIN_RATE", default_value_t = 30)]
    pub logins_per_minute_per_ip: u32,
    /// The longest an API request may take, in seconds.
    #[arg(long, env = "AOS_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Origins allowed to call the API from browsers (comma-separated); none by default.
    #[arg(long, env = "AOS_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// The built browser apps (`cargo xtask run` builds them): `<dir>/studio` is served at
    /// `/studio/`, `<dir>/dashboard` at `/app/`.
    #[arg(long, env = "AOS_WEB_DIR")]
    pub web_dir: Option<std::path::PathBuf>,
    /// A remote step engine (`automateos engine`) to run steps on, instead of in this process.
    #[arg(long, env = "AOS_ENGINE_URL")]
    pub engine_url: Option<String>,
    /// The token the remote engine expects (`Authorization: Bearer …`).
    #[arg(long, env = "AOS_ENGINE_TOKEN", hide_env_values = true)]
    pub engine_token: Option<String>,
}

/// Token signing and lifetimes, and who administers the platform.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// The access-token signing secret (at least 32 bytes); without it a key file in the data dir
    /// is used (created on first start, mode 0600).
    #[arg(long, env = "AOS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// How long an access token is accepted, in seconds.
    #[arg(long, env = "AOS_ACCESS_TOKEN_TTL", default_value_t = 900)]
    pub access_ttl_secs: u64,
    /// How long a login session (its refresh token) lives without a refresh, in seconds.
    #[arg(long, env = "AOS_REFRESH_TOKEN_TTL", default_value_t = 30 * 86_400)]
    pub refresh_ttl_secs: u64,
    /// Emails of platform admins (comma-separated): they may see and steer the actor tree.
    #[arg(long, env = "AOS_ADMIN_EMAILS", value_delimiter = ',')]
    pub admin_emails: Vec<String>,
}

impl Default for AuthArgs {
    fn default() -> Self {
        Self { jwt_secret: None, access_ttl_secs: 900, refresh_ttl_secs: 30 * 86_400, admin_emails: Vec::new() }
    }
}

impl AuthArgs {
    /// The configured secret, moved into a redacting type.
    pub fn jwt_secret(&self) -> Option<SecretString> {
        self.jwt_secret.as_ref().filter(|s| !s.trim().is_empty()).map(|s| SecretString::new(s.clone()))
    }
}

/// How this process shares runs and steps with other nodes.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// This node's id, unique among live nodes and stable across its restarts (so it takes its own
    /// runs back at once); defaults to `<hostname>:<port>`.
    #[arg(long, env = "AOS_NODE_ID")]
    pub node_id: Option<String>,
    /// A node silent this long (milliseconds) is gone; its runs are adopted by others.
    #[arg(long, env = "AOS_NODE_STALE_AFTER_MS", default_value_t = 15_000)]
    pub node_stale_after_ms: u64,
    /// Step workers on this node (used with Redis, where steps travel through the step queue).
    #[arg(long, env = "AOS_STEP_WORKERS", default_value_t = 4)]
    pub step_workers: usize,
    /// A claimed step job unrenewed this long (milliseconds) is taken over by another worker.
    #[arg(long, env = "AOS_STEP_CLAIM_TIMEOUT_MS", default_value_t = 30_000)]
    pub step_claim_timeout_ms: u64,
    /// The Redis stream of ready steps.
    #[arg(long, env = "AOS_STEP_STREAM", default_value = "aos:steps")]
    pub step_stream: String,
    /// Runs that may execute at once on this node; admitted runs beyond wait in line, in order, as
    /// their rows. Unset (or 0): every admitted run starts at once. On SQLite, 32 admitted the
    /// webhook bench's burst of deliveries about 1.8 times as fast, with about a tenth fewer runs
    /// finished per second.
    #[arg(long, env = "AOS_START_SLOTS")]
    pub start_slots: Option<usize>,
}

impl Default for ClusterArgs {
    fn default() -> Self {
        Self {
            node_id: None,
            node_stale_after_ms: 15_000,
            step_workers: 4,
            step_claim_timeout_ms: 30_000,
            step_stream: "aos:steps".into(),
            start_slots: None,
        }
    }
}

impl ClusterArgs {
    /// The node id, or `<hostname>:<port>` when none is configured.
    pub fn node_id(&self, addr: SocketAddr) -> String {
        match &self.node_id {
            Some(id) if !id.trim().is_empty() => id.trim().to_owned(),
            _ => {
                let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
                let host = host.trim();
                format!("{}:{}", if host.is_empty() { "node" } else { host }, addr.port())
            }
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Address the engine listens on.
    #[arg(long, env = "AOS_ENGINE_ADDR", default_value = "127.0.0.1:8090")]
    pub addr: SocketAddr,
    /// Hosts or CIDRs nodes may reach although they are loopback, private or link-local.
    #[arg(long, env = "AOS_EGRESS_ALLOW", default_value = "")]
    pub egress_allow: String,
    /// A shared token callers must present (`Authorization: Bearer …`); requests carry secrets.
    #[arg(long, env = "AOS_ENGINE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl EngineArgs {
    /// The token, moved into a redacting type.
    pub fn token(&self) -> Option<SecretString> {
        self.token.as_ref().filter(|t| !t.trim().is_empty()).map(|t| SecretString::new(t.clone()))
    }
}

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Where the embedded database, the key file and other local state live.
    #[arg(long, env = "AOS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// A Postgres URL; without it the embedded SQLite file in the data dir is used.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Base64 master keys, comma-separated, the active one first; without it a key file in the
    /// data dir is used (created on first start).
    #[arg(long, env = "AOS_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
}

impl StoreArgs {
    /// Where the SQL data lives.
    pub fn database_target(&self) -> DatabaseTarget {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() && !url.starts_with("sqlite:") => DatabaseTarget::Postgres(url.clone()),
            Some(url) if url.starts_with("sqlite:") => DatabaseTarget::SqliteFile(PathBuf::from(
                url.trim_start_matches("sqlite://").trim_start_matches("sqlite:"),
            )),
            _ => DatabaseTarget::SqliteFile(self.data_dir.join("automateos.db")),
        }
    }

    /// The configured master keys, moved into a redacting type.
    pub fn master_key(&self) -> Option<SecretString> {
        self.master_key.as_ref().filter(|key| !key.trim().is_empty()).map(|key| SecretString::new(key.clone()))
    }

    /// The key file used when no master key is configured.
    pub fn key_file(&self) -> PathBuf {
        self.data_dir.join("master.key")
    }

    /// The token signing key file used when no JWT secret is configured.
    pub fn jwt_key_file(&self) -> PathBuf {
        self.data_dir.join("jwt.key")
    }
}

/// The roles a process can play; `all` is the embedded default. Split roles need Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Everything in one process.
    All,
    /// The API, webhooks, schedules and the run actors that drive runs; no step workers.
    Gateway,
    /// Step workers (and run actors for the runs it adopts); serves health and metrics too.
    Worker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    Json,
    Pretty,
}

impl From<LogFormatArg> for aos_ops::LogFormat {
    fn from(value: LogFormatArg) -> Self {
        match value {
            LogFormatArg::Json => aos_ops::LogFormat::Json,
            LogFormatArg::Pretty => aos_ops::LogFormat::Pretty,
        }
    }
}
