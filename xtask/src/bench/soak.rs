//! `cargo xtask soak`: a bounded soak of one `automateos serve` (release build) — webhook traffic
//! at a steady rate and creators co-editing doc rooms, together for a fixed time — sampling the
//! server's resident memory and the webhook latency every interval. At the end every accepted run
//! must finish and every doc write must reach every other editor of its room; the report says
//! whether memory levelled off (the last third of the samples grew less than a tenth over the
//! second third's peak). Written to `docs/soak.md`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::automateos::{self, Backend, NotAvailable};
use super::fanout::{self, FanoutSpec};
use super::load::percentile;
use super::process;
use super::report;

/// The steps of the soak's webhook workflow (after the trigger).
const STEPS: usize = 3;

#[derive(Debug, Clone)]
struct Options {
    duration: Duration,
    /// Webhook deliveries per second (open loop: sent on the clock whatever the answers do).
    rate: u32,
    rooms: usize,
    editors: usize,
    interval_ms: u64,
    sample: Duration,
    postgres: bool,
    out: PathBuf,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self {
            duration: Duration::from_secs(600),
            rate: 20,
            rooms: 4,
            editors: 4,
            interval_ms: 250,
            sample: Duration::from_secs(30),
            postgres: false,
            out: PathBuf::from("docs/soak.md"),
        };
        let mut rest = args.iter();
        while let Some(flag) = rest.next() {
            let mut value = || rest.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--minutes" => options.duration = Duration::from_secs_f64(value()?.parse::<f64>()? * 60.0),
                "--rate" => options.rate = value()?.parse()?,
                "--rooms" => options.rooms = value()?.parse()?,
                "--editors" => options.editors = value()?.parse()?,
                "--interval-ms" => options.interval_ms = value()?.parse()?,
                "--sample-seconds" => options.sample = Duration::from_secs(value()?.parse()?),
                "--postgres" => options.postgres = true,
                "--out" => options.out = PathBuf::from(value()?),
                other => bail!(
                    "unknown option {other}; options: --minutes M --rate N --rooms N --editors N --interval-ms MS \
                     --sample-seconds S --postgres --out FILE"
                ),
            }
        }
        if options.rate == 0 || options.editors < 2 || options.rooms == 0 || options.sample.is_zero() {
            bail!("--rate, --rooms and --sample-seconds must be positive and --editors at least 2");
        }
        Ok(options)
    }
}

/// One sampling interval.
#[derive(Debug, Clone)]
struct Sample {
    at: Duration,
    rss_kib: Option<u64>,
    ok: usize,
    errors: usize,
    p50: Duration,
    p99: Duration,
}

/// What the webhook senders recorded since the last sample.
#[derive(Debug, Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    run_ids: Vec<String>,
}

/// `cargo xtask soak [options]`.
pub fn run(args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    let root = crate::workspace_root()?;
    let (database_url, redis_url) = if options.postgres {
        (crate::services::ensure_postgres()?, crate::services::ensure_redis()?)
    } else {
        (String::new(), String::new())
    };
    let scratch = std::env::temp_dir().join(format!("aos-soak-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let binary = automateos::build_binary(&root)?;
    fanout::ensure_driver(&root)?;
    let command = std::iter::once("cargo xtask soak".to_owned()).chain(args.iter().cloned()).collect::<Vec<_>>();
    let machine = report::machine(&database_url, &redis_url);
    crate::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let backend = if options.postgres {
        Backend::PostgresRedis { admin_url: database_url.clone(), redis_url: redis_url.clone() }
    } else {
        Backend::Embedded
    };
    let outcome = runtime.block_on(soak(&options, &root, &scratch, &binary, &backend));
    runtime.shutdown_timeout(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&scratch);
    let outcome = outcome?;
    let text = render(&command.join(" "), &machine, &options, backend.label(), &outcome);
    let out = root.join(&options.out);
    std::fs::write(&out, &text)?;
    eprintln!("soak: wrote {}", out.display());
    eprintln!("{}", outcome.verdict_line());
    if !outcome.passed() {
        bail!("the soak found a problem: {}", outcome.verdict_line());
    }
    Ok(())
}

struct Outcome {
    samples: Vec<Sample>,
    accepted: usize,
    send_errors: usize,
    first_error: Option<String>,
    runs: automateos::RunsOutcome,
    fanout: Result<Value, String>,
    rss_end_kib: Option<u64>,
}

impl Outcome {
    /// Growth of the last third's peak over the second third's peak, as a fraction.
    fn late_growth(&self) -> Option<f64> {
        let rss: Vec<u64> = self.samples.iter().filter_map(|s| s.rss_kib).collect();
        if rss.len() < 3 {
            return None;
        }
        let third = rss.len() / 3;
        let middle = *rss[third..rss.len() - third].iter().max()?;
        let last = *rss[rss.len() - third..].iter().max()?;
        Some((last as f64 - middle as f64) / middle.max(1) as f64)
    }

    fn levels_off(&self) -> bool {
        self.late_growth().is_some_and(|g| g < 0.10)
    }

    fn deliveries(&self) -> Option<(u64, u64)> {
        let result = self.fanout.as_ref().ok()?;
        Some((result.get("deliveries")?.as_u64()?, result.get("expected_deliveries")?.as_u64()?))
    }

    fn passed(&self) -> bool {
        self.levels_off()
            && self.runs.succeeded == self.accepted
            && self.deliveries().is_some_and(|(got, expected)| got == expected)
    }

    fn verdict_line(&self) -> String {
        let growth = self.late_growth().map_or("n/a".to_owned(), |g| format!("{:+.1}%", g * 100.0));
        let deliveries =
            self.deliveries().map_or_else(|| "fan-out failed".to_owned(), |(g, e)| format!("{g}/{e} doc deliveries"));
        format!(
            "soak: {} webhooks accepted, {} runs succeeded, {} ended otherwise, {} unfinished; {deliveries}; \
             resident memory late growth {growth} ({})",
            self.accepted,
            self.runs.succeeded,
            self.runs.other,
            self.runs.unfinished,
            if self.levels_off() { "levels off" } else { "does not level off" }
        )
    }
}

async fn soak(
    options: &Options,
    root: &std::path::Path,
    scratch: &std::path::Path,
    binary: &std::path::Path,
    backend: &Backend,
) -> Result<Outcome> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let aos = automateos::start(&client, binary, backend, scratch).await?;
    let (account, hook_url) = match automateos::webhook_workflow(&client, &aos.base, STEPS).await? {
        Ok(hooked) => (hooked.account, hooked.url),
        Err(NotAvailable(reason)) => bail!("webhooks not available: {reason}"),
    };
    let graph = automateos::editors_graph(options.editors);
    let mut room_ids = Vec::new();
    for i in 0..options.rooms {
        match automateos::create_workflow(&client, &aos.base, &account, &format!("soak room {i}"), &graph).await? {
            Ok(id) => room_ids.push(id),
            Err(NotAvailable(reason)) => bail!("doc rooms not available: {reason}"),
        }
    }
    let pid = aos.server.pid();
    eprintln!(
        "soak: {:?} of {} webhooks/s and {} rooms × {} editors every {} ms; sampling every {:?}",
        options.duration, options.rate, options.rooms, options.editors, options.interval_ms, options.sample
    );

    // the co-editing: the fan-out driver, writing for the soak's whole length
    let ticks = (options.duration.as_millis() as u64 / options.interval_ms.max(1)).max(1) as usize;
    let target = fanout::Target {
        kind: "automateos",
        url: format!("{}/ws/docs", aos.base.replace("http://", "ws://")),
        server_pid: pid,
        room_ids: Some(room_ids),
        token: Some(account.token.clone()),
    };
    let spec = FanoutSpec { rooms: options.rooms, editors: options.editors, ticks, interval_ms: options.interval_ms };
    let driver_root = root.to_owned();
    let driver = tokio::task::spawn_blocking(move || fanout::run(&driver_root, &target, spec));

    // the webhook traffic, open loop, and the sampler
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(options.rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut next_sample = started + options.sample;
    let mut samples = Vec::new();
    let mut sent: u64 = 0;
    let mut senders = tokio::task::JoinSet::new();
    while started.elapsed() < options.duration {
        ticker.tick().await;
        sent += 1;
        let (client, url, shared) = (client.clone(), hook_url.clone(), Arc::clone(&tally));
        senders.spawn(async move {
            let begun = Instant::now();
            let answer = client
                .post(&url)
                .header("idempotency-key", format!("soak-{sent}"))
                .json(&json!({ "n": sent }))
                .send()
                .await;
            let outcome = match answer {
                Ok(response) if response.status().is_success() => {
                    let body: Value = response.json().await.unwrap_or_default();
                    Ok(body.get("run_id").and_then(Value::as_str).map(str::to_owned))
                }
                Ok(response) => Err(format!("{}", response.status())),
                Err(err) => Err(err.to_string()),
            };
            let mut tally = shared.lock().expect("tally lock");
            match outcome {
                Ok(run) => {
                    tally.latencies.push(begun.elapsed());
                    tally.run_ids.extend(run);
                }
                Err(err) => {
                    tally.errors += 1;
                    tally.first_error.get_or_insert(err);
                }
            }
        });
        while senders.try_join_next().is_some() {}
        if Instant::now() >= next_sample {
            next_sample += options.sample;
            samples.push(take_sample(&tally, started, pid));
            let last = samples.last().expect("just pushed");
            eprintln!(
                "soak: {:>4} s  rss {:>7} KiB  webhooks {} ok {} failed  p50 {:?} p99 {:?}",
                last.at.as_secs(),
                last.rss_kib.unwrap_or(0),
                last.ok,
                last.errors,
                last.p50,
                last.p99
            );
        }
    }
    while senders.join_next().await.is_some() {}
    samples.push(take_sample(&tally, started, pid));

    let (run_ids, send_errors, first_error) = {
        let tally = tally.lock().expect("tally lock");
        (tally.run_ids.clone(), samples.iter().map(|s| s.errors).sum(), tally.first_error.clone())
    };
    eprintln!("soak: waiting for {} runs to finish and the editors to drain", run_ids.len());
    let runs = automateos::await_runs(&client, &aos.base, &account, &run_ids, Duration::from_secs(300)).await?;
    let fanout = match driver.await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(err)) => Err(format!("{err:#}")),
        Err(err) => Err(format!("the driver task failed: {err}")),
    };
    Ok(Outcome {
        samples,
        accepted: run_ids.len(),
        send_errors,
        first_error,
        runs,
        fanout,
        rss_end_kib: process::rss_kib(pid),
    })
}

fn take_sample(tally: &Mutex<Tally>, started: Instant, pid: u32) -> Sample {
    let mut tally = tally.lock().expect("tally lock");
    let mut latencies = std::mem::take(&mut tally.latencies);
    let errors = std::mem::take(&mut tally.errors);
    latencies.sort_unstable();
    Sample {
        at: started.elapsed(),
        rss_kib: process::rss_kib(pid),
        ok: latencies.len(),
        errors,
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn render(command: &str, machine: &[(String, String)], options: &Options, backend: &str, o: &Outcome) -> String {
    let mut text = String::new();
    text.push_str("# Soak\n\n");
    text.push_str(&format!(
        "Produced by `{command}` on {}. One `automateos serve` (release build, {backend}) took {} webhook \
         deliveries a second (each a run of a trigger and {STEPS} steps) while {} rooms × {} editors co-edited \
         their workflow docs, every editor writing every {} ms, for {} s; the server's resident memory and \
         the webhook answer latency were sampled every {} s.\n\n",
        time_now(),
        options.rate,
        options.rooms,
        options.editors,
        options.interval_ms,
        options.duration.as_secs(),
        options.sample.as_secs()
    ));
    text.push_str(&format!("**Verdict:** {}\n\n", o.verdict_line().trim_start_matches("soak: ")));
    text.push_str("| t (s) | resident (MiB) | webhooks ok | failed | p50 (ms) | p99 (ms) |\n");
    text.push_str("|---:|---:|---:|---:|---:|---:|\n");
    for s in &o.samples {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            s.at.as_secs(),
            s.rss_kib.map_or("—".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
            s.ok,
            s.errors,
            ms(s.p50),
            ms(s.p99)
        ));
    }
    text.push_str(&format!(
        "\nAfter the load: resident {}; {} webhooks accepted, {} refused or failed{}; runs: {} succeeded, {} \
         ended otherwise{}, {} unfinished after 300 s.\n\n",
        o.rss_end_kib.map_or("—".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        o.accepted,
        o.send_errors,
        o.first_error.as_deref().map(|e| format!(" (first: {e})")).unwrap_or_default(),
        o.runs.succeeded,
        o.runs.other,
        o.runs.first_failure.as_deref().map(|s| format!(" (first: {s})")).unwrap_or_default(),
        o.runs.unfinished
    ));
    match &o.fanout {
        Ok(result) => text.push_str(&format!(
            "Co-editing: {} updates, {} of {} expected deliveries to the other editors, latency p50 {} ms, p99 {} \
             ms, max {} ms.\n\n",
            result["updates"],
            result["deliveries"],
            result["expected_deliveries"],
            fmt_ms(&result["p50_ms"]),
            fmt_ms(&result["p99_ms"]),
            fmt_ms(&result["max_ms"])
        )),
        Err(err) => text.push_str(&format!("Co-editing: the driver failed: {err}\n\n")),
    }
    text.push_str("## Machine\n\n");
    for (name, value) in machine {
        if !value.is_empty() && value != "unknown" {
            text.push_str(&format!("- {name}: {value}\n"));
        }
    }
    text
}

fn fmt_ms(value: &Value) -> String {
    value.as_f64().map_or("—".to_owned(), |v| format!("{v:.1}"))
}

fn time_now() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(rss: &[u64]) -> Outcome {
        Outcome {
            samples: rss
                .iter()
                .map(|&k| Sample {
                    at: Duration::ZERO,
                    rss_kib: Some(k),
                    ok: 1,
                    errors: 0,
                    p50: Duration::ZERO,
                    p99: Duration::ZERO,
                })
                .collect(),
            accepted: 1,
            send_errors: 0,
            first_error: None,
            runs: automateos::RunsOutcome { succeeded: 1, ..Default::default() },
            fanout: Ok(json!({"deliveries": 6, "expected_deliveries": 6})),
            rss_end_kib: None,
        }
    }

    #[test]
    fn memory_that_levels_off_passes_and_growth_that_goes_on_does_not() {
        let flat = outcome(&[100, 200, 250, 260, 262, 265]);
        assert!(flat.levels_off(), "{:?}", flat.late_growth());
        assert!(flat.passed());
        let climbing = outcome(&[100, 200, 300, 400, 500, 600]);
        assert!(!climbing.levels_off(), "{:?}", climbing.late_growth());
        assert!(!outcome(&[100, 200]).levels_off(), "too few samples to tell");
        let mut lost = outcome(&[100, 100, 100]);
        lost.accepted = 2;
        assert!(!lost.passed(), "an accepted run that did not succeed fails the soak");
    }
}
