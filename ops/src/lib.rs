//! Telemetry for every process, installed once by [`init_telemetry`]: JSON log lines (Pino-like)
//! or pretty text through `tracing`; every `tracing` span an OpenTelemetry span, exported over
//! OTLP/HTTP when an endpoint is configured; a Prometheus recorder for the `metrics` macros.
//! Other crates only emit `tracing` events and spans and `metrics` values (names in [`metrics`]).

mod logs;
pub mod metrics;
mod traces;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use metrics::{MetricsHandle, PROMETHEUS_CONTENT_TYPE, install_metrics};
pub use traces::{current_traceparent, exporting, set_parent_from_headers, set_parent_from_traceparent, traceparent};

/// The filter when `RUST_LOG` is unset: our `info`, and only warnings from the exporter's own
/// machinery.
const DEFAULT_FILTER: &str = "info,opentelemetry=warn,opentelemetry_sdk=warn,opentelemetry_otlp=warn";

/// Targets whose spans never become OpenTelemetry spans: the exporter and its HTTP client, which
/// would otherwise trace their own exports.
const NOT_TRACED_TARGETS: &[&str] = &["opentelemetry", "reqwest", "hyper", "h2", "tower"];

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One Pino-like JSON object per line, for machines and log shippers.
    #[default]
    Json,
    /// Human-readable lines, for a terminal.
    Pretty,
}

/// What [`init_telemetry`] installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    /// The OTLP/HTTP collector's base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`, say
    /// `http://127.0.0.1:4318`); traces go to `{base}/v1/traces`. `None` exports no traces.
    pub otlp_endpoint: Option<String>,
    /// The resource's `service.name`, which names this process in trace views.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self { log_format: LogFormat::Json, otlp_endpoint: None, service_name: "automateos".to_owned() }
    }
}

/// Why telemetry could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot set up the OTLP trace exporter")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("cannot install the Prometheus recorder")]
    Metrics(#[from] metrics_exporter_prometheus::BuildError),
}

/// Keeps the trace pipeline alive; dropping it exports the spans still queued and shuts the
/// exporter down (blocking up to the export timeout). Drop it outside any async runtime, last.
#[must_use = "dropping the guard shuts the trace exporter down"]
#[derive(Debug)]
pub struct Telemetry {
    /// `None` when an earlier call installed the process's subscriber (that call's guard owns it).
    tracer_provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.tracer_provider.take()
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "trace exporter did not shut down cleanly");
        }
    }
}

/// Installs the global `tracing` subscriber (filter from `RUST_LOG`, default `info`), the
/// OpenTelemetry bridge with its exporter, and the Prometheus recorder ([`install_metrics`]).
/// Logs go to stderr. A second call leaves the first subscriber in place and returns an inert
/// guard. With an `https` endpoint, install the process's rustls crypto provider first.
pub fn init_telemetry(config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let provider = traces::tracer_provider(config)?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let most_verbose = filter.max_level_hint();
    let installed = subscriber(config, &provider, filter, std::io::stderr).try_init().is_ok();
    if installed && let Some(level) = most_verbose {
        // libraries that log through `log` (tungstenite logs every frame at trace) stop at the
        // filter's most verbose level in one comparison; the per-layer filter of the trace export
        // would otherwise leave `log` at trace, turning each such call into a subscriber lookup
        use tracing_log::AsLog;
        tracing_log::log::set_max_level(level.as_log());
    }
    install_metrics()?;
    if !installed {
        // Another subscriber is in place, so nothing reaches this provider: stop its exporter.
        let _unused = provider.shutdown();
        return Ok(Telemetry { tracer_provider: None });
    }
    if config.otlp_endpoint.is_some() {
        tracing::info!(service_name = %config.service_name, "exporting traces over OTLP/HTTP");
    }
    Ok(Telemetry { tracer_provider: Some(provider) })
}

/// The subscriber [`init_telemetry`] installs, writing lines to `writer` (tests scope it with
/// `tracing::subscriber::with_default`).
fn subscriber<W>(
    config: &TelemetryConfig,
    provider: &SdkTracerProvider,
    filter: EnvFilter,
    writer: W,
) -> impl Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let tracer = provider.tracer("automateos");
    let otel = tracing_opentelemetry::layer().with_tracer(tracer).with_threads(false).with_filter(
        tracing_subscriber::filter::filter_fn(|meta| {
            !NOT_TRACED_TARGETS.iter().any(|target| meta.target().starts_with(target))
        }),
    );
    let dispatch = logs::DispatchSlot::default();
    let lines = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(logs::PinoJson::new(dispatch.clone()))
            .with_writer(writer)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().with_writer(writer).boxed(),
    };
    tracing_subscriber::registry().with(filter).with(otel).with(lines).with(logs::CaptureDispatch::new(dispatch))
}

#[cfg(test)]
mod tests;
