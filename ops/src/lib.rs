//! Telemetry for every process: structured logs through `tracing`. Logs are JSON lines (one object
//! per event with level, target, message and fields) unless a human asked for pretty text.
//! OpenTelemetry export and Prometheus metrics join with the ops issue.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, for machines and log shippers.
    Json,
    /// Human-readable lines, for a terminal.
    Pretty,
}

/// Installs the global subscriber once. The filter comes from `RUST_LOG`, defaulting to `info`.
/// Calling it twice is harmless: the second call leaves the first subscriber in place.
pub fn init_telemetry(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _already_set = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
