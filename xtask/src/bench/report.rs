//! The benchmark report: what was measured, on which machine, rendered as `docs/benchmarks.md`.

use std::process::Command;

use serde_json::Value;

use super::criterion::{Figures, human_ns};
use super::load::LoadResult;

/// One row of the webhook ingress table.
#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub name: String,
    /// The load's result, or why there is none ("not available: …", "failed: …").
    pub outcome: Result<LoadResult, String>,
    /// Whole workflows per second, end to end.
    pub runs_per_s: Option<f64>,
    /// Workflow steps per second, end to end.
    pub steps_per_s: Option<f64>,
    /// The server's resident memory after the load.
    pub rss_kib: Option<u64>,
    /// AutomateOS's run-engine figures (half-rate latency, step gaps, event latency).
    pub engine: Option<super::runs::RunFigures>,
    pub note: Option<String>,
}

/// One fan-out measurement: a server driven by one client.
#[derive(Debug)]
pub struct FanoutRow {
    pub server: String,
    /// `Node` (the Yjs driver) or `Rust` (the yrs client).
    pub client: &'static str,
    /// The driver's JSON result, or why there is none.
    pub outcome: Result<Value, String>,
}

impl FanoutRow {
    pub fn of(server: &str, client: &'static str, outcome: anyhow::Result<Value>) -> Self {
        Self { server: server.to_owned(), client, outcome: outcome.map_err(|err| format!("failed: {err:#}")) }
    }

    pub fn failed(server: &str, client: &'static str, err: &anyhow::Error) -> Self {
        Self::of(server, client, Err(anyhow::anyhow!("{err:#}")))
    }

    fn render(&self, md: &mut String) {
        let (server, client) = (&self.server, self.client);
        match &self.outcome {
            Ok(result) => {
                let number = |key: &str| result.get(key).and_then(Value::as_f64);
                let ms = |key: &str| number(key).map(|v| format!("{v:.1} ms")).unwrap_or_else(|| "–".into());
                md.push_str(&format!(
                    "| {server} | {client} | {} ({} × {}) | {} | {} / {} | {} | {} | {} | {} |\n",
                    number("connections").unwrap_or_default(),
                    number("rooms").unwrap_or_default(),
                    number("editors").unwrap_or_default(),
                    opt(number("updates_per_s")),
                    number("deliveries").unwrap_or_default(),
                    number("expected_deliveries").unwrap_or_default(),
                    ms("p50_ms"),
                    ms("p99_ms"),
                    ms("max_ms"),
                    number("server_rss_per_connection_kb").map(|v| format!("{v:.0} KiB")).unwrap_or_else(|| "–".into()),
                ));
            }
            Err(reason) => md.push_str(&format!("| {server} | {client} | {} | | | | | | |\n", one_line(reason))),
        }
    }
}

/// Everything the report says.
#[derive(Debug)]
pub struct Report {
    /// The command that produced it.
    pub command: String,
    pub machine: Vec<(String, String)>,
    pub peer_versions: Vec<(String, String)>,
    pub criterion: Option<Figures>,
    pub webhooks: Vec<WebhookRow>,
    /// Rooms × editors, each server by each client.
    pub fanout: Vec<FanoutRow>,
    /// One room with many editors.
    pub hot_room: Vec<FanoutRow>,
    /// (server, idle-connection figures or why there are none).
    pub idle: Vec<(String, Result<super::idle::IdleResult, String>)>,
    /// With `--skip-criterion`: the criterion section of the report being replaced, kept as it was.
    pub previous_criterion: Option<String>,
    /// With `--flamegraph`: the embedded server's profile at its peak (SVG path, top frames).
    pub flamegraph: Option<super::flame::Drawn>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(command: String, machine: Vec<(String, String)>) -> Self {
        Self {
            command,
            machine,
            peer_versions: Vec::new(),
            criterion: None,
            webhooks: Vec::new(),
            fanout: Vec::new(),
            hot_room: Vec::new(),
            idle: Vec::new(),
            previous_criterion: None,
            flamegraph: None,
            notes: Vec::new(),
        }
    }

    pub fn render(&self, load_shape: &str) -> String {
        let mut md = String::new();
        md.push_str("# Benchmarks\n\n");
        md.push_str(&format!(
            "Produced by `{}` on {}. Every server ran on this one machine, side by side with the load \
             generator (a Rust client inside xtask) and the Yjs client driver (`xtask/bench-js/fanout.mjs`), \
             so the figures compare servers under the same conditions; they are not capacity figures of a \
             dedicated host.\n\n",
            self.command,
            sh("date -u '+%Y-%m-%d %H:%M UTC'")
        ));
        md.push_str("## Machine\n\n| | |\n|---|---|\n");
        for (key, value) in self.machine.iter().chain(self.peer_versions.iter()) {
            md.push_str(&format!("| {key} | {value} |\n"));
        }
        md.push('\n');

        md.push_str("## Workspace benches (criterion)\n\n");
        match &self.criterion {
            None => match &self.previous_criterion {
                Some(previous) => {
                    md.push_str(
                        "Not run this time (`--skip-criterion`); the figures below are the previous report's.\n\n",
                    );
                    md.push_str(previous);
                }
                None => md.push_str("Not run (`--skip-criterion`).\n\n"),
            },
            Some(figures) => {
                md.push_str(
                    "`cargo bench -p aos-actors --bench run_throughput`, `-p aos-engine-link --bench step_overhead` \
                     (criterion's mean with its 95% confidence interval, from `target/criterion/*/new/estimates.json`) \
                     and `-p aos-actors --bench actor_memory`. A `run_throughput` iteration is one whole run of a \
                     trigger + 10 pass-through steps, one run at a time, so steps/s = 11 / mean.\n\n",
                );
                md.push_str("| bench | mean | 95% CI | derived |\n|---|---|---|---|\n");
                for estimate in &figures.estimates {
                    // a run bench's iteration is 11 steps, a step bench's one step
                    let steps = if estimate.id.contains("_run_") { 11.0 } else { 1.0 };
                    let derived = format!("{:.0} steps/s", steps * 1e9 / estimate.mean_ns);
                    md.push_str(&format!(
                        "| `{}` | {} | {} – {} | {} |\n",
                        estimate.id,
                        human_ns(estimate.mean_ns),
                        human_ns(estimate.low_ns),
                        human_ns(estimate.high_ns),
                        derived
                    ));
                }
                if !figures.actor_memory.is_empty() {
                    md.push_str("\n`actor_memory`:\n\n```text\n");
                    for line in &figures.actor_memory {
                        md.push_str(line);
                        md.push('\n');
                    }
                    md.push_str("```\n");
                }
                for failure in &figures.failures {
                    md.push_str(&format!("\n- {failure}\n"));
                }
                md.push('\n');
            }
        }

        md.push_str("## Webhook ingress\n\n");
        md.push_str(&format!(
            "{load_shape}. Requests/s and latency count 2xx answers in the measured window. For the 10-step \
             workflows, runs/s and steps/s are end to end: n8n's webhook (response mode \"lastNode\") answers \
             after the workflow ran, so its rate is its run rate; AutomateOS answers `202 {{run_id}}` on intake \
             and the harness reads the server's `aos_runs_finished_total` from `/metrics` until every run \
             accepted over the whole load has finished (runs/s = those runs ÷ the time from the first delivery \
             to the last run's end; steps/s = runs/s × steps).\n\n"
        ));
        md.push_str(
            "| server | requests/s | p50 | p99 | errors | runs/s | steps/s | server RSS after |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        let mut row_notes = Vec::new();
        for row in &self.webhooks {
            match &row.outcome {
                Ok(result) => md.push_str(&format!(
                    "| {} | {:.0} | {} | {} | {}{} | {} | {} | {} |\n",
                    row.name,
                    result.requests_per_s,
                    ms(result.p50),
                    ms(result.p99),
                    result.errors,
                    result.first_error.as_ref().map(|e| format!(" (first: {})", one_line(e))).unwrap_or_default(),
                    opt(row.runs_per_s),
                    opt(row.steps_per_s),
                    row.rss_kib.map(|k| format!("{:.0} MiB", k as f64 / 1024.0)).unwrap_or_else(|| "–".into())
                )),
                Err(reason) => md.push_str(&format!("| {} | {} | | | | | | |\n", row.name, one_line(reason))),
            }
            if let Some(note) = &row.note {
                row_notes.push(format!("- {}: {note}", row.name));
            }
        }
        if !row_notes.is_empty() {
            md.push('\n');
            md.push_str(&row_notes.join("\n"));
            md.push('\n');
        }
        md.push('\n');
        self.render_engine(&mut md);

        md.push_str("## Doc update fan-out\n\n");
        md.push_str(
            "Each room has its editors (Yjs clients over one WebSocket each); every editor writes one small map \
             entry per round and every other editor of the room must receive it (AutomateOS: editor i moves node \
             e{i} of the workflow, its x, y and label). Latency is from the write to its arrival at each other \
             editor, on one clock. RSS per connection is the server's resident growth from before the clients \
             connected to after the run, divided by the connections. Two clients drive each server: **Node** is \
             `xtask/bench-js/fanout.mjs`, real Yjs providers (`@hocuspocus/provider` for Hocuspocus, \
             `y-websocket`'s for the others) in one Node process, which applies every update it receives to each \
             editor's doc and writes all editors' rounds in one burst; **Rust** is `xtask/src/bench/editors.rs`, \
             a yrs doc per editor that syncs, then writes with the editors spread evenly over the round, and \
             reads each update it receives for the writes it carries without applying it, so its figure is \
             nearer what the server sustains. Both share the machine's two cores with the server. AutomateOS logs every change (its rooms share the store's group-commit writer) and relays it \
             without waiting for the commit; the loads do not ask for its save acknowledgements. The two-node \
             rows put every second editor of each room on a second node of the same Postgres + Redis \
             cluster; their RSS per connection is the first node's growth over all connections.\n\n",
        );
        let header = "| server | client | connections | updates/s | deliveries | p50 | p99 | max | server RSS per connection |\n\
             |---|---|---|---|---|---|---|---|---|\n";
        md.push_str(header);
        for row in &self.fanout {
            row.render(&mut md);
        }
        md.push_str(
            "\nOne hot room: every editor of one workflow moves its node (writes its entry) 10 times a second; \
             the Rust client only.\n\n",
        );
        md.push_str(header);
        for row in &self.hot_room {
            row.render(&mut md);
        }
        md.push('\n');
        self.render_idle(&mut md);
        md.push_str(
            "## Reading the figures\n\n\
             - Peers run with their defaults: n8n 1.x in its regular mode on SQLite, which stores every \
             production execution; Hocuspocus without extensions (no persistence); y-websocket's reference \
             server without persistence. AutomateOS records every run, step attempt and log row, and \
             persists doc updates.\n\
             - The machine is shared (see the load average above): compare rows of one run, not runs of \
             different days.\n\
             - Rows marked \"not available\" are AutomateOS endpoints of the public contract that this build \
             does not serve yet; rerun the command once they land.\n\n",
        );
        if !self.notes.is_empty() {
            md.push_str("## Notes\n\n");
            for note in &self.notes {
                md.push_str(&format!("- {}\n", one_line(note)));
            }
            md.push('\n');
        }
        md
    }
}

/// The body of the criterion section of an earlier report (between its heading and the next).
pub fn criterion_section(report: &str) -> Option<String> {
    let heading = "## Workspace benches (criterion)\n\n";
    let start = report.find(heading)? + heading.len();
    let body = &report[start..];
    let end = body.find("\n## ").map_or(body.len(), |i| i + 1);
    let body = body[..end]
        .trim_start_matches("Not run this time (`--skip-criterion`); the figures below are the previous report's.\n\n");
    (!body.starts_with("Not run")).then(|| body.to_owned())
}

impl Report {
    fn render_engine(&self, md: &mut String) {
        let rows: Vec<(&str, &super::runs::RunFigures)> =
            self.webhooks.iter().filter_map(|row| Some((row.name.as_str(), row.engine.as_ref()?))).collect();
        if rows.is_empty() {
            return;
        }
        md.push_str(
            "### The run engine under that load

",
        );
        md.push_str(
            "Runs/s is every run accepted over the whole load (warm-up included) divided by the time from the \
             first delivery to the last run's end, read from the server's own `aos_runs_finished_total`. \
             Intake p99 at half rate: deliveries sent on a fixed schedule at half the peak's request rate \
             (open loop, latency from when each was due). Step gap: a step's end to the next step's start, as \
             `GET /api/runs/{id}` gives each step's latest attempt, over 20 runs. Event lag: a `step_succeeded` row's time to its \
             arrival at a `/ws/events?workflow=` subscriber during the peak. Writer: the group-commit writer's \
             batches over the same window as runs/s, from its `aos_write_batch_*` histograms, by kind of batch \
             (admissions of runs, and runs' records); busy: the share of the window it spent committing.\n\n",
        );
        md.push_str(
            "| server | runs/s end to end | CPU per run: server / load generator | intake p99 at half rate | step gap p50 / p99 | event lag p50 / p99 | writer: batches/s × jobs in ms per batch, by kind; busy |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for (name, figures) in rows {
            let pair = |a: Option<std::time::Duration>, b: Option<std::time::Duration>| match (a, b) {
                (Some(a), Some(b)) => format!("{} / {}", ms(a), ms(b)),
                _ => "–".to_owned(),
            };
            let cpu = |d: Option<std::time::Duration>| {
                d.map_or("–".to_owned(), |d| format!("{:.0} µs", d.as_secs_f64() * 1e6))
            };
            let writer = figures.writer.as_ref().map_or("–".to_owned(), |w| {
                let window = w.window.as_secs_f64().max(1e-9);
                let mut kinds: Vec<String> = w
                    .kinds
                    .iter()
                    .map(|(kind, b)| {
                        let kind = if kind.is_empty() { "all" } else { kind.as_str() };
                        format!(
                            "{kind} {:.0}/s × {:.1} in {:.2} ms",
                            b.batches / window,
                            b.jobs / b.batches.max(1.0),
                            b.busy * 1e3 / b.batches.max(1.0)
                        )
                    })
                    .collect();
                let busy: f64 = w.kinds.iter().map(|(_, b)| b.busy).sum();
                kinds.push(format!("busy {:.0} %", 100.0 * busy / window));
                kinds.join("; ")
            });
            md.push_str(&format!(
                "| {name} | {:.0} | {} / {} | {} | {} | {} | {writer} |\n",
                figures.runs_per_s,
                cpu(figures.server_cpu_per_run),
                cpu(figures.client_cpu_per_run),
                figures
                    .half
                    .as_ref()
                    .map(|h| format!("{} (at {:.0} req/s)", ms(h.p99), h.requests_per_s))
                    .unwrap_or_else(|| "–".into()),
                pair(figures.step_gap_p50, figures.step_gap_p99),
                pair(figures.event_p50, figures.event_p99),
            ));
        }
        md.push('\n');
        if let Some(drawn) = &self.flamegraph {
            md.push_str(&format!(
                "Where the embedded server's CPU went during the same load in a pass of its own (`perf record -g` on \
                 a build with frame pointers over the measured window; [flame graph]({})), \
                 by the innermost frame's crate or library, and by the innermost AutomateOS function on the stack \
                 (what the time was spent for, libraries and allocations included):\n\n",
                drawn.svg_name
            ));
            md.push_str("| innermost frame | share | | our function on the stack | share |\n|---|---|---|---|---|\n");
            for i in 0..drawn.top.len().max(drawn.callers.len()) {
                let cell = |row: Option<&(String, f64)>| {
                    row.map_or(("".to_owned(), "".to_owned()), |(name, share)| {
                        (format!("`{name}`"), format!("{:.1} %", share * 100.0))
                    })
                };
                let (a, a_share) = cell(drawn.top.get(i));
                let (b, b_share) = cell(drawn.callers.get(i));
                md.push_str(&format!("| {a} | {a_share} | | {b} | {b_share} |\n"));
            }
            md.push('\n');
        }
    }

    fn render_idle(&self, md: &mut String) {
        if self.idle.is_empty() {
            return;
        }
        md.push_str("## Idle WebSocket connections\n\n");
        md.push_str(
            "Connections opened by a Rust client (200 handshakes in flight at a time), each completing the \
             y-websocket handshake (sync step 1, the server's answer) on a doc room and then idling, answering \
             pings. Memory is the server's resident growth from before the first connection to after all were \
             held for the hold time, divided by the connections; \"still open\" counts those the server kept \
             through the hold (none closed as zombies).\n\n",
        );
        md.push_str(
            "| server | connections (rooms) | connected | still open | time to connect all | server RSS before → after | per connection |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for (name, outcome) in &self.idle {
            match outcome {
                Ok(result) => md.push_str(&format!(
                    "| {name} | {} | {} | {} | {:.1} s | {} MiB → {} MiB | {:.1} KiB |\n",
                    result.connected + result.failed,
                    result.connected,
                    result.still_open,
                    result.connect_time.as_secs_f64(),
                    result.rss_before_kib / 1024,
                    result.rss_after_kib / 1024,
                    result.bytes_per_connection() / 1024.0,
                )),
                Err(reason) => md.push_str(&format!("| {name} | {} | | | | | |\n", one_line(reason))),
            }
        }
        md.push('\n');
    }
}

fn ms(duration: std::time::Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}

fn opt(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.0}")).unwrap_or_else(|| "–".into())
}

/// Text fit for a table cell: one line, no pipes, bounded length.
fn one_line(text: &str) -> String {
    let flat: String = text.replace('|', "/").split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 { format!("{}…", flat.chars().take(300).collect::<String>()) } else { flat }
}

/// The trimmed stdout of a shell command, or `unknown`.
fn sh(command: &str) -> String {
    Command::new("sh")
        .args(["-c", command])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The machine and the versions of what runs on it.
pub fn machine(database_url: &str, redis_url: &str) -> Vec<(String, String)> {
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?.to_owned();
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.1} GiB", kib / (1024.0 * 1024.0)))
        })
        .unwrap_or_else(|| "unknown".into());
    vec![
        ("cores (`nproc`)".into(), sh("nproc")),
        ("CPU".into(), sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")),
        ("memory".into(), memory),
        ("OS".into(), sh(". /etc/os-release && echo \"$PRETTY_NAME\"") + &format!(", kernel {}", sh("uname -r"))),
        ("load average when the run started".into(), sh("cut -d' ' -f1-3 /proc/loadavg")),
        ("rustc".into(), sh("rustc --version")),
        ("node".into(), sh("node --version")),
        ("PostgreSQL".into(), sh(&format!("psql '{database_url}' -tAc 'show server_version'"))),
        ("Redis".into(), sh(&format!("redis-cli -u '{redis_url}' info server | grep redis_version | cut -d: -f2"))),
    ]
}
