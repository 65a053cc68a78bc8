//! The Prometheus metrics of AutomateOS: every metric's name, labels and help text in one catalog
//! ([`CATALOG`]), and the process-wide recorder that the `metrics` macros write to and `/metrics`
//! renders. Producers write `metrics::counter!(aos_ops::metrics::RUNS_STARTED_TOTAL, ...)`.
//!
//! Label values must have bounded cardinality: route templates, never raw paths; node kinds, never
//! node or run ids.

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use ::metrics::{KeyName, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::TelemetryError;

/// HTTP requests answered, by `method`, `route` and `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "aos_http_requests_total";
/// Time from a request's arrival to its response head, by `method`, `route` and `status`.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "aos_http_request_duration_seconds";
/// Runs created, by `trigger` (`webhook`, `schedule`, `manual`, `replay`).
pub const RUNS_STARTED_TOTAL: &str = "aos_runs_started_total";
/// Runs that reached a final status, by `status` (`succeeded`, `failed`, `dead_lettered`, `cancelled`).
pub const RUNS_FINISHED_TOTAL: &str = "aos_runs_finished_total";
/// Runs in progress on this process (their run actors are alive).
pub const RUNS_ACTIVE: &str = "aos_runs_active";
/// Admitted runs waiting on this process for a start slot (read once a heartbeat).
pub const RUNS_WAITING: &str = "aos_runs_waiting";
/// Step attempts finished, by node `kind` and `outcome` (`succeeded`, `retryable`, `permanent`).
pub const STEPS_TOTAL: &str = "aos_steps_total";
/// Time one step attempt took in the engine, by node `kind`.
pub const STEP_DURATION_SECONDS: &str = "aos_step_duration_seconds";
/// Step attempts scheduled again after a retryable failure, by node `kind`.
pub const STEP_RETRIES_TOTAL: &str = "aos_step_retries_total";
/// Dead-letter entries waiting for a replay or a dismissal.
pub const DLQ_ENTRIES: &str = "aos_dlq_entries";
/// Ready steps waiting in the work queue for a worker.
pub const QUEUE_PENDING_STEPS: &str = "aos_queue_pending_steps";
/// Time a ready step waited in the work queue before a worker took it (the queue lag).
pub const QUEUE_LAG_SECONDS: &str = "aos_queue_lag_seconds";
/// Live document rooms (co-edited workflows with at least one editor) on this process.
pub const DOC_ROOMS_ACTIVE: &str = "aos_doc_rooms_active";
/// Open WebSocket connections, by `channel` (`docs`, `events`).
pub const WS_CONNECTIONS_ACTIVE: &str = "aos_ws_connections_active";
/// Actor restarts by their supervisor, by actor `kind`.
pub const ACTOR_RESTARTS_TOTAL: &str = "aos_actor_restarts_total";
/// Jobs (admissions and run checkpoints) the group-commit writer committed in one transaction.
pub const WRITE_BATCH_JOBS: &str = "aos_write_batch_jobs";
/// Time the group-commit writer spent on one batch, to its durable commit (a failed batch written again job by job counts whole).
pub const WRITE_BATCH_SECONDS: &str = "aos_write_batch_seconds";

pub mod label {
    //! The label keys used by the metrics in [`super::CATALOG`], so producers and dashboards
    //! spell them alike.

    /// The HTTP method (`GET`, ..., or `_OTHER` for non-standard ones).
    pub const METHOD: &str = "method";
    /// The matched route template (`/api/runs/{id}`), or [`UNMATCHED_ROUTE`].
    pub const ROUTE: &str = "route";
    /// The HTTP status code, or a run's final status.
    pub const STATUS: &str = "status";
    /// What started a run.
    pub const TRIGGER: &str = "trigger";
    /// A node kind (`http.request`), an actor kind (`run`) or a write batch's kind (`admissions`).
    pub const KIND: &str = "kind";
    /// How a step attempt ended.
    pub const OUTCOME: &str = "outcome";
    /// Which WebSocket endpoint a connection is on.
    pub const CHANNEL: &str = "channel";
    /// The `route` value of a request that matched no route (raw paths would carry ids and tokens).
    pub const UNMATCHED_ROUTE: &str = "unmatched";
}

/// What kind of Prometheus metric a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct MetricDesc {
    pub name: &'static str,
    pub kind: MetricKind,
    /// The unit, for histograms of durations.
    pub unit: Option<Unit>,
    /// The `# HELP` text.
    pub help: &'static str,
    /// The label keys producers attach.
    pub labels: &'static [&'static str],
}

/// Every metric AutomateOS produces; [`install_metrics`] describes them all.
pub const CATALOG: &[MetricDesc] = &[
    MetricDesc {
        name: HTTP_REQUESTS_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "HTTP requests answered, by method, route template and status",
        labels: &[label::METHOD, label::ROUTE, label::STATUS],
    },
    MetricDesc {
        name: HTTP_REQUEST_DURATION_SECONDS,
        kind: MetricKind::Histogram,
        unit: Some(Unit::Seconds),
        help: "Time from a request's arrival to its response, by method, route template and status",
        labels: &[label::METHOD, label::ROUTE, label::STATUS],
    },
    MetricDesc {
        name: RUNS_STARTED_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "Runs created, by trigger",
        labels: &[label::TRIGGER],
    },
    MetricDesc {
        name: RUNS_FINISHED_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "Runs that reached a final status, by status",
        labels: &[label::STATUS],
    },
    MetricDesc { name: RUNS_ACTIVE, kind: MetricKind::Gauge, unit: None, help: "Runs in progress", labels: &[] },
    MetricDesc {
        name: RUNS_WAITING,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Admitted runs waiting for a start slot",
        labels: &[],
    },
    MetricDesc {
        name: STEPS_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "Step attempts finished, by node kind and outcome",
        labels: &[label::KIND, label::OUTCOME],
    },
    MetricDesc {
        name: STEP_DURATION_SECONDS,
        kind: MetricKind::Histogram,
        unit: Some(Unit::Seconds),
        help: "Time one step attempt took in the engine, by node kind",
        labels: &[label::KIND],
    },
    MetricDesc {
        name: STEP_RETRIES_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "Step attempts scheduled again after a retryable failure, by node kind",
        labels: &[label::KIND],
    },
    MetricDesc {
        name: DLQ_ENTRIES,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Dead-letter entries waiting for a replay or a dismissal",
        labels: &[],
    },
    MetricDesc {
        name: QUEUE_PENDING_STEPS,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Ready steps waiting in the work queue for a worker",
        labels: &[],
    },
    MetricDesc {
        name: QUEUE_LAG_SECONDS,
        kind: MetricKind::Histogram,
        unit: Some(Unit::Seconds),
        help: "Time a ready step waited in the work queue before a worker took it",
        labels: &[],
    },
    MetricDesc {
        name: DOC_ROOMS_ACTIVE,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Live document rooms on this process",
        labels: &[],
    },
    MetricDesc {
        name: WS_CONNECTIONS_ACTIVE,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Open WebSocket connections, by channel",
        labels: &[label::CHANNEL],
    },
    MetricDesc {
        name: ACTOR_RESTARTS_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "Actor restarts by their supervisor, by actor kind",
        labels: &[label::KIND],
    },
    MetricDesc {
        name: WRITE_BATCH_JOBS,
        kind: MetricKind::Histogram,
        unit: Some(Unit::Count),
        help: "Jobs the group-commit writer committed in one transaction, by kind of batch (admissions, records)",
        labels: &[label::KIND],
    },
    MetricDesc {
        name: WRITE_BATCH_SECONDS,
        kind: MetricKind::Histogram,
        unit: Some(Unit::Seconds),
        help: "Time the group-commit writer spent on one batch, to its durable commit, by kind of batch",
        labels: &[label::KIND],
    },
];

/// Bucket bounds (seconds) of every `*_seconds` histogram: 1 ms to 1 min.
const SECONDS_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Bucket bounds of every `*_jobs` histogram (how many things one batch carried): 1 to 512.
const JOBS_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The installed recorder's handle; set once per process.
static INSTALLED: OnceLock<MetricsHandle> = OnceLock::new();
/// Serialises installation, so two racing callers cannot both try to set the global recorder.
static INSTALLING: Mutex<()> = Mutex::new(());

/// Reads the process's metrics in the Prometheus text format. Cheap to clone.
#[derive(Clone)]
pub struct MetricsHandle(PrometheusHandle);

impl MetricsHandle {
    /// The Prometheus text exposition format (version 0.0.4) of every metric recorded so far.
    pub fn render(&self) -> String {
        self.0.render()
    }
}

impl std::fmt::Debug for MetricsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsHandle")
    }
}

/// The media type of [`MetricsHandle::render`]'s output.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Installs the Prometheus recorder as the process's global `metrics` recorder, describes every
/// metric of [`CATALOG`] and starts the upkeep thread; later calls return the same handle.
/// Fails only when some other global recorder was installed first.
pub fn install_metrics() -> Result<MetricsHandle, TelemetryError> {
    if let Some(handle) = INSTALLED.get() {
        return Ok(handle.clone());
    }
    let _installing = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(handle) = INSTALLED.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)?
        .set_buckets_for_metric(Matcher::Suffix("_jobs".to_owned()), JOBS_BUCKETS)?
        .install_recorder()?;
    describe_all();
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new().name("aos-metrics-upkeep".to_owned()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP_INTERVAL);
            upkeep.run_upkeep();
        }
    });
    if let Err(err) = spawned {
        // Scrapes fold samples too; without the thread only unscraped histograms grow.
        tracing::warn!(error = %err, "cannot start the metrics upkeep thread");
    }
    Ok(INSTALLED.get_or_init(|| MetricsHandle(handle)).clone())
}

/// Registers the help text and unit of every metric in [`CATALOG`] with the global recorder.
fn describe_all() {
    ::metrics::with_recorder(|recorder| {
        for metric in CATALOG {
            let key = KeyName::from_const_str(metric.name);
            let help = SharedString::const_str(metric.help);
            match metric.kind {
                MetricKind::Counter => recorder.describe_counter(key, metric.unit, help),
                MetricKind::Gauge => recorder.describe_gauge(key, metric.unit, help),
                MetricKind::Histogram => recorder.describe_histogram(key, metric.unit, help),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_follows_prometheus_naming() {
        let mut names: Vec<_> = CATALOG.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOG.len(), "names are unique");
        for metric in CATALOG {
            assert!(metric.name.starts_with("aos_"), "{}", metric.name);
            assert!(metric.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", metric.name);
            match metric.kind {
                MetricKind::Counter => assert!(metric.name.ends_with("_total"), "{}", metric.name),
                MetricKind::Histogram if metric.name.ends_with("_jobs") => {
                    assert_eq!(metric.unit, Some(Unit::Count), "{}", metric.name);
                }
                MetricKind::Histogram => {
                    assert!(metric.name.ends_with("_seconds"), "{}: gets the seconds or jobs buckets", metric.name);
                    assert_eq!(metric.unit, Some(Unit::Seconds));
                }
                MetricKind::Gauge => assert!(!metric.name.ends_with("_total"), "{}", metric.name),
            }
            assert!(!metric.help.is_empty());
        }
    }
}
