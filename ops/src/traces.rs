//! OpenTelemetry traces: the tracer provider behind the `tracing` → OpenTelemetry bridge (batch
//! export over OTLP/HTTP protobuf when an endpoint is configured), and W3C trace-context helpers
//! that continue a caller's trace (`traceparent` in) and hand ours on (`traceparent` out).
//!
//! The provider exists even without an endpoint: spans then get trace ids (for log correlation
//! and propagation to the engine) but go nowhere.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::{TelemetryConfig, TelemetryError};

/// The OTLP/HTTP path of traces under the collector's base URL.
const TRACES_PATH: &str = "/v1/traces";

/// Whether this process exports its traces (an OTLP endpoint is configured).
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether spans of this process reach a collector. Hot paths that would open a span only for
/// the trace (one per step of a run) skip it when nobody receives traces.
pub fn exporting() -> bool {
    EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
}

/// The provider for `config`: resource `service.name`, the SDK's default sampler (parent-based,
/// always on; `OTEL_TRACES_SAMPLER` may change it) and, with an endpoint, a batch exporter.
pub(crate) fn tracer_provider(config: &TelemetryConfig) -> Result<SdkTracerProvider, TelemetryError> {
    let resource = Resource::builder().with_service_name(config.service_name.clone()).build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = config.otlp_endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces_endpoint(endpoint))
            .build()?;
        builder = builder.with_batch_exporter(exporter);
        EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(builder.build())
}

/// The traces URL under an `OTEL_EXPORTER_OTLP_ENDPOINT`-style base URL, as the OTLP spec derives
/// it (`http://collector:4318` → `http://collector:4318/v1/traces`).
pub(crate) fn traces_endpoint(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with(TRACES_PATH) { base.to_owned() } else { format!("{base}{TRACES_PATH}") }
}

/// Reads W3C trace-context headers out of an HTTP header map.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Makes the caller's span (a valid `traceparent`, with its `tracestate`, in `headers`) the parent
/// of `span`, so `span` continues the caller's trace. Call it before `span` is first entered.
/// Returns whether a parent was set: `false` when the headers carry no valid trace context, the
/// span is disabled, or no OpenTelemetry layer is installed.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &http::HeaderMap) -> bool {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if !parent.span().span_context().is_valid() {
        return false;
    }
    span.set_parent(parent).is_ok()
}

/// Makes the span named by a stored W3C `traceparent` the parent of `span` (a run's steps continue
/// the trace of the request that started the run). Returns whether a parent was set.
pub fn set_parent_from_traceparent(span: &tracing::Span, traceparent: &str) -> bool {
    let Ok(value) = http::HeaderValue::from_str(traceparent) else { return false };
    let mut headers = http::HeaderMap::new();
    headers.insert("traceparent", value);
    set_parent_from_headers(span, &headers)
}

/// The W3C `traceparent` of `span` (`00-<trace id>-<span id>-<flags>`), for a call that should
/// continue this trace elsewhere (the remote engine's `StepMeta::traceparent`). `None` when the
/// span has no trace context (disabled, or no OpenTelemetry layer installed).
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// The W3C `traceparent` of the current span; see [`traceparent`].
pub fn current_traceparent() -> Option<String> {
    traceparent(&tracing::Span::current())
}

#[cfg(test)]
mod tests {
    use super::traces_endpoint;

    #[test]
    fn the_traces_path_is_appended_to_the_base_url_once() {
        assert_eq!(traces_endpoint("http://127.0.0.1:4318"), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(traces_endpoint("http://collector:4318/"), "http://collector:4318/v1/traces");
        assert_eq!(traces_endpoint("https://otel.example/otlp"), "https://otel.example/otlp/v1/traces");
        assert_eq!(traces_endpoint("http://c:4318/v1/traces"), "http://c:4318/v1/traces");
    }
}
