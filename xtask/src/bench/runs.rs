//! The run engine's figures on one AutomateOS server, the way a user meets them: webhook deliveries
//! to a published workflow's URL at the highest rate the load generator gets answered (closed
//! loop), then at half that rate on a fixed schedule (open loop, for the latency a steady sender
//! sees). Runs end to end come from the server's own `aos_runs_finished_total` (scraped from
//! `/metrics` until every accepted run has finished), the time between one step's end and the next
//! one's start from run logs, and how late step events reach a `/ws/events` subscriber during the
//! load from that subscriber's clock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use serde_json::Value;

use super::automateos::{Account, Answer, call};
use super::load::{self, LoadResult, LoadSpec, percentile};

/// What one server measured.
#[derive(Debug, Clone, Default)]
pub struct RunFigures {
    /// The closed-loop load (the highest intake rate).
    pub peak: LoadResult,
    /// The open-loop load at half the peak's rate.
    pub half: Option<LoadResult>,
    /// Runs accepted over the whole peak load (warm-up included) and how they ended.
    pub accepted: u64,
    pub succeeded: u64,
    pub unfinished: u64,
    /// Accepted runs ÷ time from the first delivery to the last run's end.
    pub runs_per_s: f64,
    /// Time from a step's end to the next step's start, over sampled runs.
    pub step_gap_p50: Option<Duration>,
    pub step_gap_p99: Option<Duration>,
    /// Time from a step's end (its log row's time) to its event at a subscriber, during the peak.
    pub event_p50: Option<Duration>,
    pub event_p99: Option<Duration>,
    pub events_seen: usize,
    /// CPU time the server used per accepted run, from the first delivery to the last run's end.
    pub server_cpu_per_run: Option<Duration>,
    /// CPU time the load generator (this process) used meanwhile, per run.
    pub client_cpu_per_run: Option<Duration>,
    /// The group-commit writer meanwhile, from its `aos_write_batch_*` histograms.
    pub writer: Option<WriterFigures>,
}

/// What the group-commit writer did from the first delivery to the last run's end, by kind of
/// batch (`admissions`, `records`; a server that does not label its batches gives one kind, "").
#[derive(Debug, Clone, Default)]
pub struct WriterFigures {
    pub kinds: Vec<(String, Batches)>,
    /// The whole window.
    pub window: Duration,
}

/// Batches of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Batches {
    pub batches: f64,
    pub jobs: f64,
    /// Time spent committing them.
    pub busy: f64,
}

/// The writer's histogram sums by kind of batch.
fn writer_sums(metrics: &str) -> std::collections::BTreeMap<String, Batches> {
    let mut kinds: std::collections::BTreeMap<String, Batches> = std::collections::BTreeMap::new();
    for line in metrics.lines() {
        let name = line.split([' ', '{']).next().unwrap_or_default();
        let Some(value) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else { continue };
        let kind = line
            .split_once("kind=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map_or(String::new(), |(kind, _)| kind.to_owned());
        let sums = match name {
            "aos_write_batch_jobs_count" | "aos_write_batch_jobs_sum" | "aos_write_batch_seconds_sum" => {
                kinds.entry(kind).or_default()
            }
            _ => continue,
        };
        match name {
            "aos_write_batch_jobs_count" => sums.batches += value,
            "aos_write_batch_jobs_sum" => sums.jobs += value,
            _ => sums.busy += value,
        }
    }
    kinds
}

async fn scrape(client: &reqwest::Client, base: &str) -> Result<String> {
    Ok(client.get(format!("{base}/metrics")).send().await?.text().await?)
}

/// The sum of `aos_runs_finished_total` samples, all statuses and succeeded only.
fn finished_runs(text: &str) -> (f64, f64) {
    let (mut all, mut succeeded) = (0.0, 0.0);
    for line in text.lines().filter(|l| l.starts_with("aos_runs_finished_total")) {
        let value: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        all += value;
        if line.contains("status=\"succeeded\"") {
            succeeded += value;
        }
    }
    (all, succeeded)
}

/// Step events as a subscriber of `/ws/events?workflow=` sees them: for each `step_succeeded` row,
/// how long after the row's time it arrived.
struct EventProbe {
    lags: Arc<Mutex<Vec<Duration>>>,
    task: tokio::task::JoinHandle<()>,
}

impl EventProbe {
    async fn start(base: &str, workflow: &str, token: &str) -> Result<Self> {
        let url = format!("{}/ws/events?workflow={workflow}&token={token}", base.replace("http://", "ws://"));
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.context("connecting to /ws/events")?;
        // only rows written from now on are measured (older ones arrive as catch-up)
        let from = SystemTime::now();
        let lags = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&lags);
        let task = tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let tokio_tungstenite::tungstenite::Message::Text(text) = message else { continue };
                let arrived = SystemTime::now();
                let Ok(row) = serde_json::from_str::<Value>(&text) else { continue };
                if row["event"] != "step_succeeded" {
                    continue;
                }
                if let Some(at) = row["created_at"].as_str().and_then(parse_rfc3339).filter(|at| *at >= from) {
                    let lag = arrived.duration_since(at).unwrap_or_default();
                    seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(lag);
                }
            }
        });
        Ok(Self { lags, task })
    }

    fn finish(self) -> Vec<Duration> {
        self.task.abort();
        let mut lags = self.lags.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        lags.sort_unstable();
        lags
    }
}

/// `2026-12-03T15:31:07.473123Z` as a system time.
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let (date, rest) = text.split_once('T')?;
    let mut date = date.split('-').map(|p| p.parse::<i64>());
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let rest = rest.trim_end_matches('Z');
    let (hms, fraction) = rest.split_once('.').unwrap_or((rest, "0"));
    let mut hms = hms.split(':').map(|p| p.parse::<i64>());
    let (hour, minute, second) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    let micros: i64 = format!("{fraction:0<6}")[..6].parse().ok()?;
    // days from the civil date (proleptic Gregorian), Howard Hinnant's algorithm
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    let total = Duration::from_secs(u64::try_from(seconds).ok()?) + Duration::from_micros(u64::try_from(micros).ok()?);
    Some(SystemTime::UNIX_EPOCH + total)
}

/// The gaps between each step's end and the next step's start (in the order they started), as the
/// run detail gives each step's latest attempt, in up to `runs` recent runs of `workflow`.
async fn step_gaps(
    client: &reqwest::Client,
    base: &str,
    account: &Account,
    workflow: &str,
    runs: usize,
) -> Result<Vec<Duration>> {
    let token = Some(account.token.as_str());
    let list = format!("{base}/api/orgs/{}/runs?workflow={workflow}&status=succeeded&limit={runs}", account.org_id);
    let Answer::Json(listed) = call(client, reqwest::Method::GET, &list, token, None).await? else {
        bail!("cannot list runs");
    };
    let mut gaps = Vec::new();
    for run in listed.as_array().into_iter().flatten() {
        let Some(id) = run["id"].as_str() else { continue };
        let Answer::Json(detail) =
            call(client, reqwest::Method::GET, &format!("{base}/api/runs/{id}"), token, None).await?
        else {
            continue;
        };
        let time = |step: &serde_json::Value, field: &str| step[field].as_str().and_then(parse_rfc3339);
        let mut spans: Vec<(SystemTime, SystemTime)> = detail["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|step| Some((time(step, "started_at")?, time(step, "finished_at")?)))
            .collect();
        spans.sort_unstable();
        for pair in spans.windows(2) {
            gaps.push(pair[1].0.duration_since(pair[0].1).unwrap_or_default());
        }
    }
    gaps.sort_unstable();
    Ok(gaps)
}

/// The whole measurement on a server at `base` whose workflow `workflow` answers at `url`.
pub async fn measure(
    client: &reqwest::Client,
    base: &str,
    account: &Account,
    workflow: &str,
    spec: &LoadSpec,
    server_pid: u32,
) -> Result<RunFigures> {
    let probe = EventProbe::start(base, workflow, &account.token).await?;
    let metrics = scrape(client, base).await?;
    let ((before, before_ok), writer_before) = (finished_runs(&metrics), writer_sums(&metrics));
    let cpu = |pid| super::process::cpu_time(pid).unwrap_or_default();
    let (server_cpu, client_cpu) = (cpu(server_pid), cpu(std::process::id()));
    let started = Instant::now();
    let peak = load::drive(spec).await?;
    let events = probe.finish();
    let accepted = peak.total_ok;
    // every accepted run has ended once the server's finished counter moved by as many
    let mut finished = (before, before_ok);
    let mut writer_after = writer_before.clone();
    let mut done_at = Instant::now();
    let limit = Instant::now() + Duration::from_secs(300);
    while Instant::now() < limit {
        let metrics = scrape(client, base).await?;
        (finished, writer_after) = (finished_runs(&metrics), writer_sums(&metrics));
        done_at = Instant::now();
        if finished.0 - before >= accepted as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ended = (finished.0 - before).max(0.0) as u64;
    let per_run = |spent: Duration| (ended > 0).then(|| spent / u32::try_from(ended).unwrap_or(u32::MAX));
    let server_cpu_per_run = per_run(cpu(server_pid).saturating_sub(server_cpu));
    let client_cpu_per_run = per_run(cpu(std::process::id()).saturating_sub(client_cpu));
    let mut figures = RunFigures {
        accepted,
        succeeded: (finished.1 - before_ok).max(0.0) as u64,
        unfinished: accepted.saturating_sub(ended),
        runs_per_s: ended as f64 / done_at.duration_since(started).as_secs_f64(),
        events_seen: events.len(),
        event_p50: (!events.is_empty()).then(|| percentile(&events, 50.0)),
        event_p99: (!events.is_empty()).then(|| percentile(&events, 99.0)),
        server_cpu_per_run,
        client_cpu_per_run,
        writer: {
            let kinds: Vec<(String, Batches)> = writer_after
                .iter()
                .map(|(kind, after)| {
                    let before = writer_before.get(kind).copied().unwrap_or_default();
                    let batches = Batches {
                        batches: after.batches - before.batches,
                        jobs: after.jobs - before.jobs,
                        busy: (after.busy - before.busy).max(0.0),
                    };
                    (kind.clone(), batches)
                })
                .filter(|(_, b)| b.batches > 0.0)
                .collect();
            (!kinds.is_empty()).then(|| WriterFigures { kinds, window: done_at.duration_since(started) })
        },
        ..RunFigures::default()
    };
    let gaps = step_gaps(client, base, account, workflow, 20).await?;
    if !gaps.is_empty() {
        figures.step_gap_p50 = Some(percentile(&gaps, 50.0));
        figures.step_gap_p99 = Some(percentile(&gaps, 99.0));
    }
    // a steady sender at half the peak intake rate
    if peak.requests_per_s > 1.0 {
        let half = LoadSpec { rate: Some(peak.requests_per_s / 2.0), keep_bodies: false, ..spec.clone() };
        figures.half = Some(load::drive(&half).await?);
    }
    figures.peak = peak;
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_sums_add_up_each_histograms_series_by_kind() {
        let text = "# TYPE aos_write_batch_jobs histogram\naos_write_batch_jobs_bucket{kind=\"records\",le=\"1\"} 2\n\
                    aos_write_batch_jobs_sum{kind=\"records\"} 30\naos_write_batch_jobs_count{kind=\"records\"} 4\n\
                    aos_write_batch_jobs_sum{kind=\"admissions\"} 7\naos_write_batch_jobs_count{kind=\"admissions\"} 2\n\
                    aos_write_batch_seconds_sum{kind=\"records\",node=\"a\"} 0.5\n\
                    aos_write_batch_seconds_sum{node=\"b\",kind=\"records\"} 0.25\n\
                    aos_write_batch_seconds_sum{kind=\"admissions\"} 0.125\naos_write_batch_seconds_count 4\n";
        let sums = writer_sums(text);
        assert_eq!(sums["records"], Batches { batches: 4.0, jobs: 30.0, busy: 0.75 });
        assert_eq!(sums["admissions"], Batches { batches: 2.0, jobs: 7.0, busy: 0.125 });
        assert_eq!(sums.len(), 2, "{sums:?}");
        assert!(writer_sums("").is_empty());
        let unlabelled = writer_sums("aos_write_batch_jobs_count 3\naos_write_batch_seconds_sum 0.3\n");
        assert_eq!(unlabelled[""], Batches { batches: 3.0, jobs: 0.0, busy: 0.3 });
    }

    #[test]
    fn log_times_read_as_system_times() {
        let at = parse_rfc3339("2026-12-03T15:31:07.473123Z").unwrap();
        let since = at.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(since.as_secs(), 1_796_311_867);
        assert_eq!(since.subsec_micros(), 473_123);
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(SystemTime::UNIX_EPOCH));
        assert_eq!(parse_rfc3339("not a time"), None);
    }
}
