//! JSON log lines in the shape Pino writes (with its ISO `time` and label `level` options): one
//! flat object per event, `{"time", "level", "msg", "target", ...}`, then the fields of every span
//! the event is in (outermost first, inner spans win) and the event's own fields, plus `span` (the
//! innermost span's name) and `trace_id`/`span_id` when the event is inside a traced span.
//!
//! Fields named like the fixed keys are dropped rather than allowed to overwrite them, and the
//! `otel.*` fields that steer the OpenTelemetry bridge are left out.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TraceContextExt;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::format_description;
use tracing::dispatcher::WeakDispatch;
use tracing::field::{Field, Visit};
use tracing::{Dispatch, Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The keys every line has (or may have); fields with these names are dropped.
const FIXED_KEYS: &[&str] = &["time", "level", "msg", "target", "span", "trace_id", "span_id"];

/// Where the formatter finds the subscriber it runs in, to read span trace ids from the
/// OpenTelemetry layer. Weak, because the subscriber owns the formatter.
pub(crate) type DispatchSlot = Arc<OnceLock<WeakDispatch>>;

/// Formats events as Pino-like JSON lines. Pair it with [`JsonFields`] for span fields and with
/// [`CaptureDispatch`] sharing the same slot.
///
/// [`JsonFields`]: tracing_subscriber::fmt::format::JsonFields
#[derive(Debug, Clone, Default)]
pub(crate) struct PinoJson {
    dispatch: DispatchSlot,
}

impl PinoJson {
    pub(crate) fn new(dispatch: DispatchSlot) -> Self {
        Self { dispatch }
    }

    /// The trace and span id of span `id`, when the OpenTelemetry layer traces it.
    fn trace_ids(&self, id: &tracing::span::Id) -> Option<(String, String)> {
        let dispatch = self.dispatch.get()?.upgrade()?;
        let context = tracing_opentelemetry::get_otel_context(id, &dispatch)?;
        let span = context.span();
        let span_context = span.span_context();
        span_context.is_valid().then(|| (span_context.trace_id().to_string(), span_context.span_id().to_string()))
    }
}

impl<S, N> FormatEvent<S, N> for PinoJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut fields = BTreeMap::new();
        let mut innermost = None;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(formatted) = extensions.get::<FormattedFields<N>>()
                    && let Ok(Value::Object(span_fields)) = serde_json::from_str::<Value>(formatted.as_str())
                {
                    fields.extend(span_fields.into_iter().filter(|(key, _)| keep(key)));
                }
                innermost = Some((span.id(), span.name()));
            }
        }
        let mut visitor = EventFields { msg: None, fields: &mut fields };
        event.record(&mut visitor);
        let msg = visitor.msg.unwrap_or_default();

        write!(writer, "{{\"time\":{},\"level\":{}", json(&now()), json(level(meta.level())))?;
        write!(writer, ",\"msg\":{},\"target\":{}", json(&msg), json(meta.target()))?;
        if let Some((id, name)) = innermost {
            write!(writer, ",\"span\":{}", json(name))?;
            if let Some((trace_id, span_id)) = self.trace_ids(&id) {
                write!(writer, ",\"trace_id\":{},\"span_id\":{}", json(&trace_id), json(&span_id))?;
            }
        }
        for (key, value) in &fields {
            write!(writer, ",{}:{}", json(key), value)?;
        }
        writeln!(writer, "}}")
    }
}

/// Remembers the dispatcher it is registered with, for [`PinoJson`].
#[derive(Debug, Clone, Default)]
pub(crate) struct CaptureDispatch {
    dispatch: DispatchSlot,
}

impl CaptureDispatch {
    pub(crate) fn new(dispatch: DispatchSlot) -> Self {
        Self { dispatch }
    }
}

impl<S: Subscriber> Layer<S> for CaptureDispatch {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _first_wins = self.dispatch.set(subscriber.downgrade());
    }
}

/// Whether a span or event field goes into the line.
fn keep(key: &str) -> bool {
    !FIXED_KEYS.contains(&key) && !key.starts_with("otel.") && !key.starts_with("log.")
}

/// A string as a JSON string literal.
fn json(text: &str) -> Value {
    Value::String(text.to_owned())
}

/// Pino's level labels.
fn level(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// The current UTC time, ISO 8601 with milliseconds (`2026-11-25T09:30:12.345Z`).
fn now() -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::now_utc().format(&format).unwrap_or_default()
}

/// Collects an event's fields: `message` becomes `msg`, the rest keep their names.
struct EventFields<'a> {
    msg: Option<String>,
    fields: &'a mut BTreeMap<String, Value>,
}

impl EventFields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.msg = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else if keep(field.name()) {
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for EventFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, serde_json::json!(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, json(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}
