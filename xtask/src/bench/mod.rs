//! `cargo xtask bench`: AutomateOS side by side with its peers on this machine, written to
//! `docs/benchmarks.md`. Sections: the workspace's criterion benches; webhook ingress (a bare axum
//! server as the HTTP ceiling, n8n, AutomateOS embedded and on Postgres + Redis) measured by the
//! load generator in [`load`]; doc update fan-out (Hocuspocus, y-websocket, AutomateOS) measured
//! by the node driver in `xtask/bench-js`; idle WebSocket connections (y-websocket's server and
//! AutomateOS) held by the Rust client in [`idle`]. A section that cannot run (an endpoint missing on this
//! build, a peer that fails) is reported as such and the rest goes on.

mod automateos;
mod criterion;
mod editors;
mod fanout;
mod flame;
mod hello;
mod idle;
mod load;
mod peers;
mod process;
mod report;
mod runs;
pub mod soak;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use self::automateos::{Backend, NotAvailable};
use self::fanout::FanoutSpec;
use self::idle::IdleSpec;
use self::load::{LoadResult, LoadSpec};
use self::report::{FanoutRow, Report, WebhookRow};

/// The steps of the webhook workflows (after the trigger).
const WORKFLOW_STEPS: usize = 10;

/// Command-line options.
#[derive(Debug, Clone)]
struct Options {
    connections: usize,
    warmup: Duration,
    duration: Duration,
    fanout: FanoutSpec,
    /// One room with many editors (the Rust client only).
    hot_room: FanoutSpec,
    /// Idle connections to hold (0 skips the section).
    idle: IdleSpec,
    criterion: bool,
    n8n: bool,
    /// Measure the Yjs peers too (n8n is `n8n`).
    yjs_peers: bool,
    /// Sections to run (`webhooks`, `fanout`, `idle`); all when empty.
    only: Vec<String>,
    /// Record a CPU profile of the embedded server at its peak and draw it as a flame graph.
    flamegraph: bool,
    /// Only AutomateOS's embedded rows (no Postgres + Redis).
    embedded_only: bool,
    /// A server binary built before (an earlier commit's, to compare two builds in turn) instead
    /// of this checkout's release build.
    binary: Option<PathBuf>,
    out: PathBuf,
}

impl Options {
    fn runs(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }

    /// Whether a section serves the plain release build.
    fn serves_release_build(&self) -> bool {
        self.runs("webhooks") || self.runs("fanout") || (self.idle.connections > 0 && self.runs("idle"))
    }
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self {
            connections: 32,
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(10),
            fanout: FanoutSpec { rooms: 20, editors: 25, ticks: 40, interval_ms: 100 },
            hot_room: FanoutSpec { rooms: 1, editors: 100, ticks: 100, interval_ms: 100 },
            idle: IdleSpec { connections: 10_000, rooms: 100, hold: Duration::from_secs(10) },
            criterion: true,
            n8n: true,
            yjs_peers: true,
            only: Vec::new(),
            flamegraph: false,
            embedded_only: false,
            binary: None,
            out: PathBuf::from("docs/benchmarks.md"),
        };
        let mut rest = args.iter();
        while let Some(flag) = rest.next() {
            let mut value = || rest.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--connections" => options.connections = value()?.parse()?,
                "--warmup" => options.warmup = Duration::from_secs(value()?.parse()?),
                "--duration" => options.duration = Duration::from_secs(value()?.parse()?),
                "--rooms" => options.fanout.rooms = value()?.parse()?,
                "--editors" => options.fanout.editors = value()?.parse()?,
                "--ticks" => options.fanout.ticks = value()?.parse()?,
                "--hot-editors" => options.hot_room.editors = value()?.parse()?,
                "--idle" => options.idle.connections = value()?.parse()?,
                "--out" => options.out = PathBuf::from(value()?),
                "--skip-criterion" => options.criterion = false,
                "--skip-n8n" => options.n8n = false,
                "--skip-yjs-peers" => options.yjs_peers = false,
                "--only" => options.only.push(value()?.clone()),
                "--flamegraph" => options.flamegraph = true,
                "--embedded-only" => options.embedded_only = true,
                "--binary" => options.binary = Some(PathBuf::from(value()?)),
                other => bail!(
                    "unknown option {other}; options: --connections N --warmup S --duration S --rooms N --editors N \
                     --ticks N --hot-editors N --idle N --out FILE --skip-criterion --skip-n8n --skip-yjs-peers --only webhooks|fanout|idle \
                     --flamegraph --embedded-only --binary PATH"
                ),
            }
        }
        Ok(options)
    }
}

/// `cargo xtask bench [options]`.
pub fn run(args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    let root = crate::workspace_root()?;
    let database_url = crate::services::ensure_postgres()?;
    let redis_url = crate::services::ensure_redis()?;
    let scratch = std::env::temp_dir().join(format!("aos-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let command = std::iter::once("cargo xtask bench".to_owned()).chain(args.iter().cloned()).collect::<Vec<_>>();
    let mut report = Report::new(command.join(" "), report::machine(&database_url, &redis_url));

    if options.criterion {
        match criterion::run(&root, &database_url, &redis_url) {
            Ok(figures) => report.criterion = Some(figures),
            Err(err) => report.notes.push(format!("workspace benches failed: {err:#}")),
        }
    } else {
        let previous = std::fs::read_to_string(root.join(&options.out)).unwrap_or_default();
        report.previous_criterion = report::criterion_section(&previous);
    }
    let binary = match &options.binary {
        Some(binary) => binary.clone(),
        None if options.serves_release_build() => automateos::build_binary(&root)?,
        None => PathBuf::new(),
    };
    if let Err(err) = peers::ensure_yjs_servers() {
        report.notes.push(format!("Yjs servers could not be installed: {err:#}"));
    }
    if options.n8n
        && let Err(err) = peers::ensure_n8n()
    {
        report.notes.push(format!("n8n could not be installed: {err:#}"));
    }
    fanout::ensure_driver(&root)?;

    crate::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let bench = Bench { options: &options, root: &root, scratch: &scratch, binary: &binary };
    runtime.block_on(async {
        if options.runs("webhooks") {
            bench.webhooks(&mut report, &database_url, &redis_url).await;
        }
        if options.runs("fanout") {
            bench.fanout(&mut report, &database_url, &redis_url).await;
        }
        if options.idle.connections > 0 && options.runs("idle") {
            bench.idle(&mut report).await;
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(5));

    report.peer_versions = peers::versions();
    let out = root.join(&options.out);
    std::fs::write(&out, report.render(&options_summary(&options)))?;
    eprintln!("bench: wrote {}", out.display());
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

fn options_summary(options: &Options) -> String {
    format!(
        "webhook load: {} concurrent keep-alive connections, {} s warm-up then {} s measured, each POSTing a small \
         JSON body; fan-out: {} rooms × {} editors, every editor writing once every {} ms for {} rounds; hot room: {} editors \
         in one room, each writing every {} ms for {} rounds; idle: {} connections over {} rooms held {} s",
        options.connections,
        options.warmup.as_secs(),
        options.duration.as_secs(),
        options.fanout.rooms,
        options.fanout.editors,
        options.fanout.interval_ms,
        options.fanout.ticks,
        options.hot_room.editors,
        options.hot_room.interval_ms,
        options.hot_room.ticks,
        options.idle.connections,
        options.idle.rooms,
        options.idle.hold.as_secs()
    )
}

/// What every section needs.
struct Bench<'a> {
    options: &'a Options,
    root: &'a Path,
    scratch: &'a Path,
    binary: &'a Path,
}

impl Bench<'_> {
    fn client(&self) -> Result<reqwest::Client> {
        Ok(reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?)
    }

    fn load_spec(&self, url: String, keep_bodies: bool) -> LoadSpec {
        LoadSpec {
            url,
            body: serde_json::json!({"event": "bench", "value": 42}),
            connections: self.options.connections,
            warmup: self.options.warmup,
            duration: self.options.duration,
            keep_bodies,
            rate: None,
        }
    }

    async fn webhooks(&self, report: &mut Report, database_url: &str, redis_url: &str) {
        report.webhooks.push(self.hello().await.unwrap_or_else(|err| WebhookRow::failed("axum hello world", &err)));
        if self.options.n8n {
            let row = self.n8n().await.unwrap_or_else(|err| WebhookRow::failed("n8n 10 Set nodes", &err));
            report.webhooks.push(row);
        }
        let postgres = Backend::PostgresRedis { admin_url: database_url.to_owned(), redis_url: redis_url.to_owned() };
        let mut rows = vec![(Backend::Embedded, WORKFLOW_STEPS)];
        if !self.options.embedded_only {
            rows.extend([(postgres.clone(), WORKFLOW_STEPS), (postgres, 1)]);
        }
        for (backend, steps) in rows {
            let name = format!("AutomateOS, {}", backend.label());
            let row = self
                .automateos_webhook(&name, &backend, steps, report)
                .await
                .unwrap_or_else(|err| WebhookRow::failed(&name, &err));
            report.webhooks.push(row);
        }
    }

    async fn hello(&self) -> Result<WebhookRow> {
        eprintln!("bench: webhook ingress, axum hello world");
        let hello = hello::Hello::start()?;
        let result = load::drive(&self.load_spec(format!("http://{}/hook", hello.addr), false)).await?;
        Ok(WebhookRow::measured("axum hello world (HTTP ceiling)", &result, None))
    }

    async fn n8n(&self) -> Result<WebhookRow> {
        eprintln!("bench: webhook ingress, n8n");
        let client = self.client()?;
        let n8n = peers::start_n8n(&client, self.scratch, WORKFLOW_STEPS).await?;
        let result = load::drive(&self.load_spec(n8n.webhook_url.clone(), false)).await?;
        // "lastNode" response mode: each answer came after the whole workflow ran
        let steps_per_s = result.requests_per_s * WORKFLOW_STEPS as f64;
        let mut row = WebhookRow::measured("n8n, webhook → 10 Set nodes (answers after the last node)", &result, None);
        row.steps_per_s = Some(steps_per_s);
        row.runs_per_s = Some(result.requests_per_s);
        row.rss_kib = process::rss_kib(n8n.server.pid());
        Ok(row)
    }

    async fn automateos_webhook(
        &self,
        name: &str,
        backend: &Backend,
        steps: usize,
        report: &mut Report,
    ) -> Result<WebhookRow> {
        let label =
            format!("{name}, webhook → {steps} step{} (answers 202 on intake)", if steps == 1 { "" } else { "s" });
        eprintln!("bench: webhook ingress, {label}");
        let client = self.client()?;
        let aos = automateos::start(&client, self.binary, backend, self.scratch).await?;
        let hooked = match automateos::webhook_workflow(&client, &aos.base, steps).await? {
            Ok(found) => found,
            Err(NotAvailable(reason)) => return Ok(WebhookRow::not_available(name, &reason)),
        };
        let spec = self.load_spec(hooked.url.clone(), false);
        let figures =
            runs::measure(&client, &aos.base, &hooked.account, &hooked.workflow, &spec, aos.server.pid()).await?;
        let rss_kib = process::rss_kib(aos.server.pid());
        drop(aos);
        if self.options.flamegraph && matches!(backend, Backend::Embedded) && steps == WORKFLOW_STEPS {
            // a pass of its own under perf, so perf's cost stays out of the figures above
            match self.profile_webhook(&client, backend, steps).await {
                Ok(drawn) => report.flamegraph = Some(drawn),
                Err(err) => report.notes.push(format!("flame graph not drawn: {err:#}")),
            }
        }
        let mut row = WebhookRow::measured(&label, &figures.peak, None);
        row.rss_kib = rss_kib;
        row.runs_per_s = Some(figures.runs_per_s);
        row.steps_per_s = Some(figures.runs_per_s * steps as f64);
        row.engine = Some(figures.clone());
        row.note = Some(format!(
            "{} runs accepted over the whole load (warm-up included): {} succeeded, {} ended otherwise, {} \
             unfinished after 300 s; {} step events seen by a `/ws/events` subscriber during the load",
            figures.accepted,
            figures.succeeded,
            figures.accepted.saturating_sub(figures.succeeded + figures.unfinished),
            figures.unfinished,
            figures.events_seen,
        ));
        Ok(row)
    }

    /// The same load on a build with frame pointers (they show our functions on the stacks), with
    /// `perf` recording the server through the measured window: the flame graph's profile.
    async fn profile_webhook(&self, client: &reqwest::Client, backend: &Backend, steps: usize) -> Result<flame::Drawn> {
        let binary = automateos::build_profiling_binary(self.root)?;
        let aos = automateos::start(client, &binary, backend, self.scratch).await?;
        let hooked = automateos::webhook_workflow(client, &aos.base, steps)
            .await?
            .map_err(|NotAvailable(reason)| anyhow::anyhow!("no webhook workflow: {reason}"))?;
        let spec = self.load_spec(hooked.url.clone(), false);
        let recording = flame::Recording::start(aos.server.pid(), self.options.warmup, self.options.duration);
        load::drive(&spec).await?;
        recording?.finish(self.root)
    }

    /// Each Yjs server in turn: the rooms × editors load from the Node driver and from the Rust
    /// client, then one hot room from the Rust client.
    async fn fanout(&self, report: &mut Report, database_url: &str, redis_url: &str) {
        let spec = self.options.fanout;
        let hot = self.options.hot_room;
        let peers = if self.options.yjs_peers {
            &[peers::YjsServer::Hocuspocus, peers::YjsServer::YWebsocket][..]
        } else {
            &[]
        };
        for &kind in peers {
            eprintln!("bench: doc fan-out, {}", kind.name());
            let started = peers::start_yjs_server(kind, self.scratch).await;
            let (server, port) = match started {
                Ok(started) => started,
                Err(err) => {
                    report.fanout.push(FanoutRow::failed(kind.name(), "–", &err));
                    continue;
                }
            };
            let url = format!("ws://127.0.0.1:{port}");
            let node = fanout::Target {
                kind: kind.name(),
                url: url.clone(),
                server_pid: server.pid(),
                room_ids: None,
                token: None,
            };
            report.fanout.push(FanoutRow::of(kind.name(), "Node", fanout::run(self.root, &node, spec)));
            let protocol = match kind {
                peers::YjsServer::Hocuspocus => editors::Protocol::Hocuspocus,
                peers::YjsServer::YWebsocket => editors::Protocol::YWebsocket,
            };
            let rust = editors::Target {
                protocol,
                url,
                second_url: None,
                server_pid: server.pid(),
                rooms: Vec::new(),
                token: None,
            };
            report.fanout.push(FanoutRow::of(kind.name(), "Rust", editors::drive(&rust, spec).await));
            report.hot_room.push(FanoutRow::of(kind.name(), "Rust", editors::drive(&rust, hot).await));
        }
        let mut backends = vec![Backend::Embedded];
        if !self.options.embedded_only {
            backends
                .push(Backend::PostgresRedis { admin_url: database_url.to_owned(), redis_url: redis_url.to_owned() });
        }
        for backend in backends {
            let name = format!("AutomateOS, {}", backend.label());
            eprintln!("bench: doc fan-out, {name}");
            if let Err(err) = self.automateos_fanout(&name, &backend, report).await {
                report.fanout.push(FanoutRow::failed(&name, "–", &err));
            }
        }
    }

    /// Creates the rooms (workflows whose nodes are the editors) and runs the three loads.
    async fn automateos_fanout(&self, name: &str, backend: &Backend, report: &mut Report) -> Result<()> {
        let (spec, hot) = (self.options.fanout, self.options.hot_room);
        let client = self.client()?;
        let aos = automateos::start(&client, self.binary, backend, self.scratch).await?;
        let account = match automateos::signup(&client, &aos.base).await? {
            Ok(account) => account,
            Err(NotAvailable(reason)) => bail!("not available: {reason}"),
        };
        let rooms = |count: usize, editors: usize, label: &'static str| {
            let (client, base, account) = (client.clone(), aos.base.clone(), account.clone());
            async move {
                let graph = automateos::editors_graph(editors);
                let mut ids = Vec::new();
                for i in 0..count {
                    match automateos::create_workflow(&client, &base, &account, &format!("{label} {i}"), &graph).await?
                    {
                        Ok(id) => ids.push(id),
                        Err(NotAvailable(reason)) => bail!("not available: {reason}"),
                    }
                }
                anyhow::Ok(ids)
            }
        };
        let room_ids = rooms(spec.rooms, spec.editors, "bench room").await?;
        let hot_ids = rooms(hot.rooms, hot.editors, "hot room").await?;
        let url = format!("{}/ws/docs", aos.base.replace("http://", "ws://"));
        let node = fanout::Target {
            kind: "automateos",
            url: url.clone(),
            server_pid: aos.server.pid(),
            room_ids: Some(room_ids.clone()),
            token: Some(account.token.clone()),
        };
        report.fanout.push(FanoutRow::of(name, "Node", fanout::run(self.root, &node, spec)));
        let mut rust = editors::Target {
            protocol: editors::Protocol::AutomateOs,
            url,
            second_url: None,
            server_pid: aos.server.pid(),
            rooms: room_ids.clone(),
            token: Some(account.token.clone()),
        };
        report.fanout.push(FanoutRow::of(name, "Rust", editors::drive(&rust, spec).await));
        rust.rooms = hot_ids.clone();
        report.hot_room.push(FanoutRow::of(name, "Rust", editors::drive(&rust, hot).await));
        if matches!(backend, Backend::PostgresRedis { .. }) {
            // every second editor of each room on another node of the cluster: each change reaches
            // half its room through the other node's room (Redis pub/sub)
            let two = format!("{name}, two nodes");
            eprintln!("bench: doc fan-out, {two}");
            let second = automateos::start_second_node(&client, self.binary, &aos, self.scratch).await?;
            rust.second_url = Some(format!("{}/ws/docs", second.base.replace("http://", "ws://")));
            rust.rooms = room_ids;
            report.fanout.push(FanoutRow::of(&two, "Rust", editors::drive(&rust, spec).await));
            rust.rooms = hot_ids;
            report.hot_room.push(FanoutRow::of(&two, "Rust", editors::drive(&rust, hot).await));
        }
        Ok(())
    }
}

impl Bench<'_> {
    async fn idle(&self, report: &mut Report) {
        let spec = self.options.idle;
        eprintln!("bench: {} idle connections, y-websocket", spec.connections);
        let peer = async {
            let (server, port) = peers::start_yjs_server(peers::YjsServer::YWebsocket, self.scratch).await?;
            let urls: Vec<String> = (0..spec.rooms).map(|i| format!("ws://127.0.0.1:{port}/idle-{i}")).collect();
            idle::hold(&urls, server.pid(), spec).await
        }
        .await;
        report.idle.push(("y-websocket".to_owned(), peer.map_err(|err| format!("failed: {err:#}"))));
        eprintln!("bench: {} idle connections, AutomateOS embedded", spec.connections);
        let ours = self.automateos_idle(spec).await;
        report.idle.push(("AutomateOS, embedded SQLite".to_owned(), ours));
    }

    async fn automateos_idle(&self, spec: IdleSpec) -> Result<idle::IdleResult, String> {
        let run = async {
            let client = self.client()?;
            let aos = automateos::start(&client, self.binary, &Backend::Embedded, self.scratch).await?;
            let account = match automateos::signup(&client, &aos.base).await? {
                Ok(account) => account,
                Err(NotAvailable(reason)) => bail!("not available: {reason}"),
            };
            let graph = automateos::editors_graph(1);
            let mut urls = Vec::new();
            for i in 0..spec.rooms {
                match automateos::create_workflow(&client, &aos.base, &account, &format!("idle {i}"), &graph).await? {
                    Ok(id) => urls.push(format!(
                        "{}/ws/docs/{id}?token={}",
                        aos.base.replace("http://", "ws://"),
                        account.token
                    )),
                    Err(NotAvailable(reason)) => bail!("not available: {reason}"),
                }
            }
            idle::hold(&urls, aos.server.pid(), spec).await
        };
        run.await.map_err(|err| format!("failed: {err:#}"))
    }
}

impl WebhookRow {
    fn measured(name: &str, result: &LoadResult, note: Option<String>) -> Self {
        Self {
            name: name.to_owned(),
            outcome: Ok(result.clone()),
            runs_per_s: None,
            steps_per_s: None,
            rss_kib: None,
            engine: None,
            note,
        }
    }

    fn not_available(name: &str, reason: &str) -> Self {
        Self::unmeasured(name, format!("not available: {reason}"))
    }

    fn failed(name: &str, err: &anyhow::Error) -> Self {
        Self::unmeasured(name, format!("failed: {err:#}"))
    }

    fn unmeasured(name: &str, reason: String) -> Self {
        Self {
            name: name.to_owned(),
            outcome: Err(reason),
            runs_per_s: None,
            steps_per_s: None,
            rss_kib: None,
            engine: None,
            note: None,
        }
    }
}
