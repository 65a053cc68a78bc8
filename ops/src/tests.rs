//! The installed subscriber, scoped to one test at a time: log line shape, trace-context in and out.

use std::io::Write;
use std::sync::{Arc, Mutex};

use http::HeaderMap;
use serde_json::Value;

use super::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";

/// Log lines written to memory.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Lines {
    fn json(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}")))
            .collect()
    }
}

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `body` under the subscriber `init_telemetry` would install (no exporter), returning the
/// JSON lines it wrote.
fn with_telemetry(body: impl FnOnce()) -> Vec<Value> {
    let lines = Lines::default();
    let config = TelemetryConfig::default();
    let provider = traces::tracer_provider(&config).unwrap();
    let writer = lines.clone();
    let filter = EnvFilter::new(DEFAULT_FILTER); // not `RUST_LOG`: the tests expect `info`
    tracing::subscriber::with_default(subscriber(&config, &provider, filter, move || writer.clone()), body);
    lines.json()
}

fn caller_headers(flags: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN_ID}-{flags}").parse().unwrap());
    headers.insert("authorization", "Bearer do-not-log-me".parse().unwrap());
    headers
}

#[test]
fn a_span_continues_the_callers_trace_and_hands_it_on() {
    let mut seen = None;
    with_telemetry(|| {
        let span = tracing::info_span!("request");
        assert!(set_parent_from_headers(&span, &caller_headers("01")));
        let _entered = span.enter();
        seen = current_traceparent();
    });
    let traceparent = seen.expect("a traceparent for the current span");
    let parts: Vec<_> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!((parts[0], parts[1], parts[3]), ("00", TRACE_ID, "01"), "same trace, still sampled");
    assert_eq!(parts[2].len(), 16);
    assert_ne!(parts[2], CALLER_SPAN_ID, "our own span id, the caller's span is its parent");
}

#[test]
fn without_a_valid_caller_context_a_new_trace_starts() {
    let mut seen = None;
    with_telemetry(|| {
        let span = tracing::info_span!("request");
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01".parse().unwrap());
        assert!(!set_parent_from_headers(&span, &headers), "an all-zero trace id is invalid");
        assert!(!set_parent_from_headers(&span, &HeaderMap::new()));
        seen = traceparent(&span);
    });
    let traceparent = seen.expect("a fresh trace");
    assert!(!traceparent.contains(TRACE_ID));
    assert!(traceparent.starts_with("00-") && traceparent.ends_with("-01"), "{traceparent}");
}

#[test]
fn outside_any_span_there_is_no_traceparent() {
    with_telemetry(|| assert_eq!(current_traceparent(), None));
}

#[test]
fn json_lines_have_pino_fields_span_fields_and_trace_ids() {
    let lines = with_telemetry(|| {
        let outer = tracing::info_span!("request", route = "/readyz", otel.kind = "server");
        set_parent_from_headers(&outer, &caller_headers("01"));
        let _outer = outer.enter();
        let inner = tracing::info_span!("store.ping", db = "sqlite");
        let _inner = inner.enter();
        tracing::warn!(attempt = 2_u64, ok = false, "database slow");
        tracing::info!(msg = "clash", level = 3, "fixed keys win");
    });
    assert_eq!(lines.len(), 2, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["level"], "warn");
    assert_eq!(line["msg"], "database slow");
    assert_eq!(line["target"], "aos_ops::tests");
    assert_eq!(line["span"], "store.ping");
    assert_eq!(line["route"], "/readyz", "outer span fields");
    assert_eq!(line["db"], "sqlite", "inner span fields");
    assert_eq!((line["attempt"].as_u64(), line["ok"].as_bool()), (Some(2), Some(false)));
    assert_eq!(line["trace_id"], TRACE_ID);
    assert_eq!(line["span_id"].as_str().map(str::len), Some(16));
    assert!(line.get("otel.kind").is_none(), "bridge fields stay out of logs");
    let time = line["time"].as_str().unwrap();
    assert_eq!(time.len(), "2026-11-25T09:30:12.345Z".len(), "{time}");
    assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T' && time.as_bytes()[19] == b'.', "{time}");
    let clash = &lines[1];
    assert_eq!((clash["msg"].as_str(), clash["level"].as_str()), (Some("fixed keys win"), Some("info")));
}

#[test]
fn events_outside_spans_are_plain_lines() {
    let lines = with_telemetry(|| tracing::error!(error = %std::io::Error::other("boom"), "it broke"));
    let line = &lines[0];
    assert_eq!(
        (line["level"].as_str(), line["msg"].as_str(), line["error"].as_str()),
        (Some("error"), Some("it broke"), Some("boom"))
    );
    assert!(line.get("span").is_none() && line.get("trace_id").is_none());
}
