//! The side-panel form, as plain logic: which control edits each catalog field, how a control's
//! text becomes a config value (numbers, key-value rows, secret references) and back, and the
//! expression autocomplete (`trigger.*`, `steps.<id>.output`, `input`, `secrets.*`). The creator
//! never edits raw JSON: objects are key-value rows whose values are typed as they read.

use std::collections::{BTreeSet, HashSet};

use aos_schema::validate::{is_expression, secret_reference_name};
use aos_schema::{Catalog, FieldDescriptor, FieldType, NodeId, SelectOption, WorkflowGraph, kinds};
use serde_json::{Map, Value};

/// The control a field gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    Text,
    Multiline,
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Toggle,
    Select(Vec<SelectOption>),
    /// Rows of name → value (objects: headers, fields, cases).
    KeyValue,
    /// Any value: rows when it is an object, otherwise text that may be an expression
    /// (`{{ input }}`), with a switch to rows (sample payloads, request bodies).
    Json,
    /// One expression, with autocomplete.
    Expression,
    /// A picker of the org's secret names.
    Secret,
}

/// The control for a field.
pub fn control_for(field: &FieldDescriptor) -> Control {
    if field.secret {
        return Control::Secret;
    }
    match &field.field_type {
        FieldType::Text | FieldType::Cron | FieldType::Url => Control::Text,
        FieldType::MultilineText => Control::Multiline,
        FieldType::Number { min, max } => Control::Number { min: *min, max: *max },
        FieldType::Toggle => Control::Toggle,
        FieldType::Select { options } => Control::Select(options.clone()),
        FieldType::KeyValue => Control::KeyValue,
        FieldType::Json => Control::Json,
        FieldType::Expression => Control::Expression,
        FieldType::SecretRef => Control::Secret,
    }
}

/// A value as an input shows it: strings as they are, numbers and booleans as text, nothing as "".
pub fn display_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The config value of a number input: a number, an expression kept as text, or nothing (empty).
pub fn parse_number(text: &str, min: Option<f64>, max: Option<f64>) -> Result<Option<Value>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if is_expression(text) {
        return Ok(Some(Value::String(text.to_owned())));
    }
    let number: f64 = text.parse().map_err(|_| "enter a number or an expression".to_owned())?;
    if !number.is_finite() {
        return Err("enter a finite number".into());
    }
    if min.is_some_and(|m| number < m) || max.is_some_and(|m| number > m) {
        let bounds = match (min, max) {
            (Some(a), Some(b)) => format!("between {a} and {b}"),
            (Some(a), None) => format!("at least {a}"),
            (None, Some(b)) => format!("at most {b}"),
            (None, None) => String::new(),
        };
        return Err(format!("enter a number {bounds}"));
    }
    let value = if number.fract() == 0.0 && number.abs() < 9.0e15 {
        Value::from(number as i64)
    } else {
        serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
    };
    Ok(Some(value))
}

/// A key-value value as rows (`name`, value text), sorted by name as the config stores them.
pub fn kv_rows(value: Option<&Value>) -> Vec<(String, String)> {
    match value {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), display_text(Some(v)))).collect(),
        _ => Vec::new(),
    }
}

/// Rows back to an object. Values read as what they look like (`42`, `true`, `null`, and JSON
/// objects and arrays such as `{"name": "Ada"}` stay typed, everything else is text); rows with an
/// empty name are dropped, a repeated name keeps the last.
pub fn kv_value(rows: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (name, text) in rows {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        map.insert(name.to_owned(), typed(text));
    }
    Value::Object(map)
}

fn typed(text: &str) -> Value {
    let trimmed = text.trim();
    let bracketed =
        (trimmed.starts_with('{') && trimmed.ends_with('}')) || (trimmed.starts_with('[') && trimmed.ends_with(']'));
    // an expression (`{{ trigger.body }}`) is not JSON and stays text
    if bracketed && let Ok(structured @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(trimmed) {
        return structured;
    }
    match trimmed {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => match trimmed.parse::<f64>() {
            Ok(n)
                if n.is_finite()
                    && !trimmed.is_empty()
                    && (trimmed == n.to_string() || trimmed.parse::<i64>().is_ok()) =>
            {
                serde_json::from_str(trimmed).unwrap_or_else(|_| Value::String(text.to_owned()))
            }
            _ => Value::String(text.to_owned()),
        },
    }
}

/// The Run panel's first test input, shaped like what the workflow's trigger delivers: a webhook's
/// `body`, `headers` and `query` (empty JSON objects to fill in), a schedule's `scheduled_for` and
/// `fired_at` (times to fill in), a manual trigger's sample input.
pub fn test_input_rows(graph: &WorkflowGraph) -> Vec<(String, String)> {
    let trigger = graph.nodes.iter().find(|n| n.kind.starts_with("trigger."));
    let row = |name: &str, text: &str| (name.to_owned(), text.to_owned());
    match trigger.map(|n| n.kind.as_str()) {
        Some(kinds::TRIGGER_WEBHOOK) => vec![row("body", "{}"), row("headers", "{}"), row("query", "{}")],
        Some(kinds::TRIGGER_SCHEDULE) => vec![row("scheduled_for", ""), row("fired_at", "")],
        _ => kv_rows(trigger.and_then(|n| n.config.get("sample_input"))),
    }
}

/// A webhook delivery (a caught test event, or the last one recorded) as the Run panel's test
/// input: its `body`, `headers` and `query` shown as JSON, so the run reads them as that
/// delivery's run did.
pub fn delivery_rows(body: &Value, headers: &Value, query: &Value) -> Vec<(String, String)> {
    let shown = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    vec![("body".into(), shown(body)), ("headers".into(), shown(headers)), ("query".into(), shown(query))]
}

/// The config value that references a stored secret.
pub fn secret_reference(name: &str) -> Value {
    Value::String(format!("{{{{ secrets.{name} }}}}"))
}

/// The secret a field's value references, if it is a reference.
pub fn referenced_secret(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).and_then(secret_reference_name).map(str::to_owned)
}

/// Writes one field into a config: `None` removes it.
pub fn set_field(config: &mut Map<String, Value>, name: &str, value: Option<Value>) {
    match value {
        Some(value) => {
            config.insert(name.to_owned(), value);
        }
        None => {
            config.remove(name);
        }
    }
}

/// Everything an expression in `node` may read: `trigger` and the fields of the trigger's sample,
/// `input`, `steps.<id>.output` of every node upstream of it, and the org's secrets.
pub fn expression_candidates(
    graph: &WorkflowGraph,
    catalog: &Catalog,
    node: &NodeId,
    secrets: &[String],
) -> Vec<String> {
    let mut out: Vec<String> = vec!["input".into(), "trigger".into()];
    if let Some(trigger) = graph.nodes.iter().find(|n| catalog.is_trigger(&n.kind)) {
        for sample_field in ["sample", "sample_input"] {
            if let Some(Value::Object(sample)) = trigger.config.get(sample_field) {
                let prefix =
                    if trigger.kind == aos_schema::kinds::TRIGGER_WEBHOOK { "trigger.body" } else { "trigger" };
                if prefix != "trigger" {
                    out.push(prefix.into());
                }
                out.extend(sample.keys().map(|k| format!("{prefix}.{k}")));
            }
        }
        if trigger.kind == aos_schema::kinds::TRIGGER_WEBHOOK {
            out.extend(["trigger.body", "trigger.headers", "trigger.query"].map(String::from));
        }
    }
    for id in upstream(graph, node) {
        out.push(format!("steps.{id}.output"));
    }
    out.extend(secrets.iter().map(|s| format!("secrets.{s}")));
    let mut seen = HashSet::new();
    out.retain(|c| seen.insert(c.clone()));
    out
}

/// The nodes with a path into `node`, sorted by id.
fn upstream(graph: &WorkflowGraph, node: &NodeId) -> BTreeSet<NodeId> {
    let mut found = BTreeSet::new();
    let mut stack = vec![node.clone()];
    while let Some(current) = stack.pop() {
        for edge in graph.incoming(current.as_str()) {
            if found.insert(edge.from.clone()) {
                stack.push(edge.from.clone());
            }
        }
    }
    found.remove(node);
    found
}

/// The path being typed inside the last unclosed `{{` of `text`, if any.
pub fn open_expression(text: &str) -> Option<&str> {
    let open = text.rfind("{{")?;
    let inner = &text[open + 2..];
    if inner.contains("}}") {
        return None;
    }
    let start =
        inner.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')).map_or(0, |i| i + 1);
    Some(&inner[start..])
}

/// The candidates that complete what is being typed (none outside an open `{{`).
pub fn suggestions<'a>(text: &str, candidates: &'a [String]) -> Vec<&'a str> {
    let Some(partial) = open_expression(text) else { return Vec::new() };
    candidates.iter().map(String::as_str).filter(|c| c.starts_with(partial) && *c != partial).take(8).collect()
}

/// `text` with the path being typed replaced by `choice` and the expression closed.
pub fn accept_suggestion(text: &str, choice: &str) -> String {
    let Some(partial) = open_expression(text) else { return text.to_owned() };
    let keep = &text[..text.len() - partial.len()];
    let spacer = if keep.ends_with("{{") { " " } else { "" };
    format!("{keep}{spacer}{choice} }}}}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::{Edge, Node, kinds};
    use serde_json::json;

    #[test]
    fn every_catalog_field_gets_a_control_and_secrets_get_pickers() {
        let catalog = Catalog::builtin();
        for descriptor in catalog.descriptors() {
            for field in &descriptor.fields {
                let control = control_for(field);
                if field.secret {
                    assert_eq!(control, Control::Secret, "{}.{}", descriptor.kind, field.name);
                }
            }
        }
        let slack = catalog.get(kinds::SLACK_POST_MESSAGE).unwrap();
        assert!(slack.fields.iter().any(|f| control_for(f) == Control::Secret));
        let condition = catalog.get(kinds::LOGIC_CONDITION).unwrap();
        assert_eq!(control_for(condition.field("condition").unwrap()), Control::Expression);
    }

    #[test]
    fn numbers_parse_with_bounds_and_expressions() {
        assert_eq!(parse_number("12", None, None), Ok(Some(json!(12))));
        assert_eq!(parse_number(" 1.5 ", None, None), Ok(Some(json!(1.5))));
        assert_eq!(parse_number("", None, None), Ok(None));
        assert_eq!(parse_number("{{ input.n }}", Some(0.0), None), Ok(Some(json!("{{ input.n }}"))));
        assert!(parse_number("abc", None, None).is_err());
        assert!(parse_number("-1", Some(0.0), Some(10.0)).unwrap_err().contains("between 0 and 10"));
        assert!(parse_number("NaN", None, None).is_err());
    }

    #[test]
    fn key_value_rows_round_trip_with_types() {
        let rows = vec![
            ("Accept".to_owned(), "application/json".to_owned()),
            ("retries".to_owned(), "3".to_owned()),
            ("on".to_owned(), "true".to_owned()),
            ("".to_owned(), "dropped".to_owned()),
            ("zip".to_owned(), "007".to_owned()),
        ];
        let value = kv_value(&rows);
        assert_eq!(value, json!({"Accept": "application/json", "retries": 3, "on": true, "zip": "007"}));
        let back = kv_rows(Some(&value));
        assert_eq!(back.len(), 4);
        assert_eq!(kv_value(&back), value);
    }

    #[test]
    fn json_objects_and_arrays_stay_structured_and_expressions_stay_text() {
        let rows = vec![
            ("body".to_owned(), r#"{"name": "Ada", "tags": [1, 2]}"#.to_owned()),
            ("list".to_owned(), "[true, null]".to_owned()),
            ("expr".to_owned(), "{{ trigger.body.name }}".to_owned()),
            ("broken".to_owned(), r#"{"name": "#.to_owned()),
            ("empty".to_owned(), "{}".to_owned()),
        ];
        let value = kv_value(&rows);
        assert_eq!(
            value,
            json!({
                "body": {"name": "Ada", "tags": [1, 2]},
                "list": [true, null],
                "expr": "{{ trigger.body.name }}",
                "broken": r#"{"name": "#,
                "empty": {},
            })
        );
        assert_eq!(kv_value(&kv_rows(Some(&value))), value, "shown as JSON, read back the same");
    }

    #[test]
    fn test_input_is_shaped_like_the_trigger() {
        let hook = WorkflowGraph::new().with_node(Node::new("t", kinds::TRIGGER_WEBHOOK));
        let mut rows = test_input_rows(&hook);
        assert_eq!(kv_value(&rows), json!({"body": {}, "headers": {}, "query": {}}));
        rows[0].1 = r#"{"name": "Ada"}"#.into();
        assert_eq!(kv_value(&rows)["body"]["name"], "Ada", "trigger.body.name reads it");
        let manual = WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL).with_config("sample_input", json!({"n": 2})));
        assert_eq!(kv_value(&test_input_rows(&manual)), json!({"n": 2}));
        let scheduled = WorkflowGraph::new().with_node(Node::new("t", kinds::TRIGGER_SCHEDULE));
        let names: Vec<String> = test_input_rows(&scheduled).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["scheduled_for", "fired_at"]);
        assert!(test_input_rows(&WorkflowGraph::new()).is_empty());
    }

    #[test]
    fn a_delivery_as_test_input_reads_back_as_it_came() {
        let body = json!({ "name": "Ada", "tags": ["a", "b"], "n": 7, "ok": true, "none": null });
        let headers = json!({ "content-type": "application/json", "x-origin": "crm" });
        let query = json!({ "team": "a b" });
        let rows = delivery_rows(&body, &headers, &query);
        assert_eq!(kv_value(&rows), json!({ "body": body, "headers": headers, "query": query }));
        let scalar = delivery_rows(&json!(42), &json!({}), &json!({}));
        assert_eq!(kv_value(&scalar)["body"], 42, "a JSON number body stays a number");
        assert_eq!(kv_value(&delivery_rows(&Value::Null, &json!({}), &json!({})))["body"], Value::Null);
    }

    #[test]
    fn secret_references() {
        let value = secret_reference("SLACK_TOKEN");
        assert_eq!(value, json!("{{ secrets.SLACK_TOKEN }}"));
        assert_eq!(referenced_secret(Some(&value)).as_deref(), Some("SLACK_TOKEN"));
        assert_eq!(referenced_secret(Some(&json!("plain"))), None);
        let mut config = Map::new();
        set_field(&mut config, "token", Some(value));
        set_field(&mut config, "token", None);
        assert!(config.is_empty());
    }

    #[test]
    fn autocomplete_offers_upstream_steps_trigger_fields_and_secrets() {
        let catalog = Catalog::builtin();
        let graph = WorkflowGraph::new()
            .with_node(Node::new("hook", kinds::TRIGGER_WEBHOOK).with_config("sample", json!({"email": "a@b.c"})))
            .with_node(Node::new("fetch", kinds::HTTP_REQUEST))
            .with_node(Node::new("post", kinds::SLACK_POST_MESSAGE))
            .with_node(Node::new("later", kinds::LOGIC_DELAY))
            .with_edge(Edge::new("e1", "hook", "fetch"))
            .with_edge(Edge::new("e2", "fetch", "post"))
            .with_edge(Edge::new("e3", "post", "later"));
        let candidates = expression_candidates(&graph, &catalog, &"post".into(), &["SLACK".into()]);
        assert!(candidates.contains(&"steps.fetch.output".to_owned()));
        assert!(candidates.contains(&"steps.hook.output".to_owned()));
        assert!(!candidates.iter().any(|c| c.contains("later") || c.contains("steps.post")));
        assert!(candidates.contains(&"trigger.body.email".to_owned()));
        assert!(candidates.contains(&"secrets.SLACK".to_owned()));

        assert_eq!(suggestions("Hello {{ ste", &candidates), ["steps.fetch.output", "steps.hook.output"]);
        assert_eq!(suggestions("{{ trigger.body.em", &candidates), ["trigger.body.email"]);
        assert!(suggestions("done {{ x }} now", &candidates).is_empty());
        assert_eq!(accept_suggestion("Hi {{ ste", "steps.fetch.output"), "Hi {{ steps.fetch.output }}");
        assert_eq!(accept_suggestion("{{", "input"), "{{ input }}");
        assert_eq!(accept_suggestion("plain", "input"), "plain");
    }
}
