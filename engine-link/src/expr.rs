//! Expressions: data mapping between steps with minijinja. A config string that is exactly one
//! `{{ expression }}` evaluates to a JSON value of any type (a list stays a list); any other string
//! is rendered as a template to text. Expressions read `trigger`, `steps.<id>.output`, `input`,
//! `item`/`index` inside a for-each, `secrets.<NAME>` and `now` (ISO 8601, UTC); the engine's own
//! filters (JSON text, numbers, dates) are in `filters`. Evaluation is bounded (fuel), so a
//! hostile template cannot spin forever. Errors name the field and the position in it.

use std::collections::BTreeMap;

use aos_schema::expression::{holds_expression, lone_expression};
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value};

use crate::protocol::{StepContext, StepError, WireSecret};

/// Upper bound on template work per evaluation (minijinja "fuel" units).
const FUEL: u64 = 100_000;

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expression in `{field}` at line {line}, column {column}: {reason}")]
pub struct ExpressionError {
    /// The config path of the string (`fields.email`, `headers.Authorization`).
    pub field: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

impl ExpressionError {
    /// As a step error, naming the node as well.
    pub fn into_step_error(self, node: &str) -> StepError {
        StepError::permanent("bad_expression", format!("node `{node}`: {self}"))
    }
}

/// The evaluator, configured once and shared.
#[derive(Debug)]
pub struct Expressions {
    env: Environment<'static>,
}

impl Default for Expressions {
    fn default() -> Self {
        Self::new()
    }
}

/// What expressions of one step can read. Built into template values the first time an
/// expression needs it: a step whose config has none (a constant field, a fixed URL) never pays
/// for converting the run's context.
#[derive(Debug)]
pub struct Scope<'a> {
    context: &'a StepContext,
    secrets: &'a BTreeMap<String, WireSecret>,
    value: std::sync::OnceLock<minijinja::Value>,
}

impl<'a> Scope<'a> {
    /// The scope of a step: its context plus the secrets it was sent.
    pub fn new(context: &'a StepContext, secrets: &'a BTreeMap<String, WireSecret>) -> Self {
        Self { context, secrets, value: std::sync::OnceLock::new() }
    }

    fn value(&self) -> minijinja::Value {
        self.value
            .get_or_init(|| {
                let context = self.context;
                let mut root = Map::new();
                root.insert("trigger".into(), context.trigger.clone());
                root.insert("steps".into(), Value::Object(context.steps.clone()));
                root.insert("input".into(), context.input.clone());
                root.insert("now".into(), Value::String(crate::filters::now_text()));
                if let Some(item) = &context.item {
                    root.insert("item".into(), item.value.clone());
                    root.insert("index".into(), Value::from(item.index));
                }
                let secret_values: BTreeMap<&str, &str> =
                    self.secrets.iter().map(|(k, v)| (k.as_str(), v.0.expose())).collect();
                let value = minijinja::Value::from(Serde(&root));
                minijinja::context! { secrets => Serde(&secret_values), ..value }
            })
            .clone()
    }
}

impl Expressions {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_fuel(Some(FUEL));
        env.set_debug(true);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        crate::filters::register(&mut env);
        Self { env }
    }

    /// Resolves every string in `config` (recursively) against `scope`.
    pub fn resolve_config(
        &self,
        config: &Map<String, Value>,
        scope: &Scope<'_>,
    ) -> Result<Map<String, Value>, ExpressionError> {
        config.iter().map(|(key, value)| Ok((key.clone(), self.resolve_value(value, key, scope)?))).collect()
    }

    fn resolve_value(&self, value: &Value, path: &str, scope: &Scope<'_>) -> Result<Value, ExpressionError> {
        Ok(match value {
            Value::String(text) => self.eval_str(text, path, scope)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.resolve_value(item, &format!("{path}[{i}]"), scope))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve_value(v, &format!("{path}.{k}"), scope)?)))
                    .collect::<Result<_, ExpressionError>>()?,
            ),
            other => other.clone(),
        })
    }

    /// Evaluates one string: a lone `{{ expr }}` to its value, anything else rendered to text.
    pub fn eval_str(&self, text: &str, field: &str, scope: &Scope<'_>) -> Result<Value, ExpressionError> {
        if !holds_expression(text) {
            return Ok(Value::String(text.to_owned()));
        }
        if let Some((inner, offset)) = lone_expression(text) {
            let expression = self.env.compile_expression(inner).map_err(|err| position(&err, text, offset, field))?;
            let value = expression.eval(scope.value()).map_err(|err| position(&err, text, offset, field))?;
            if value.is_undefined() || value.is_none() {
                return Ok(Value::Null);
            }
            return serde_json::to_value(&value).map_err(|err| ExpressionError {
                field: field.to_owned(),
                line: 1,
                column: offset + 1,
                reason: format!("value cannot be used as data: {err}"),
            });
        }
        self.env.render_str(text, scope.value()).map(Value::String).map_err(|err| position(&err, text, 0, field))
    }

    /// Evaluates a string for its truth (a condition): an empty, false, zero or null result is
    /// false.
    pub fn truthy(&self, text: &str, field: &str, scope: &Scope<'_>) -> Result<bool, ExpressionError> {
        Ok(is_truthy(&self.eval_str(text, field, scope)?))
    }
}

/// JSON truthiness as people expect it from a condition.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty() && s != "false" && s != "0",
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A minijinja error as an [`ExpressionError`] with a line and column within the field's text.
fn position(err: &minijinja::Error, text: &str, offset: usize, field: &str) -> ExpressionError {
    let at = aos_schema::expression::locate(err, text, offset);
    ExpressionError { field: field.to_owned(), line: at.line, column: at.column, reason: at.reason }
}

/// Replaces secret values with `[redacted]` wherever they appear in text or JSON.
#[derive(Debug, Default)]
pub struct Redactor {
    values: Vec<String>,
}

/// Secrets shorter than this are not searched for: replacing one or two characters everywhere
/// would garble every output while protecting nothing.
const MIN_REDACTED_LEN: usize = 3;

impl Redactor {
    pub fn new(secrets: &BTreeMap<String, WireSecret>) -> Self {
        let mut values: Vec<String> = secrets
            .values()
            .map(|s| s.0.expose().to_owned())
            .filter(|v| v.chars().count() >= MIN_REDACTED_LEN)
            .collect();
        // longest first, so a secret containing another is replaced whole
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Self { values }
    }

    pub fn text(&self, text: &str) -> String {
        self.values.iter().fold(text.to_owned(), |acc, secret| acc.replace(secret.as_str(), "[redacted]"))
    }

    pub fn json(&self, value: &mut Value) {
        if self.values.is_empty() {
            return;
        }
        match value {
            Value::String(text) if self.values.iter().any(|s| text.contains(s.as_str())) => {
                *text = self.text(text);
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            // keys too: an expression can build a map keyed by a secret (`{{ {secrets.X: 1} }}`)
            Value::Object(map) if map.keys().any(|k| self.values.iter().any(|s| k.contains(s.as_str()))) => {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    self.json(&mut item);
                    map.insert(self.text(&key), item);
                }
            }
            Value::Object(map) => map.values_mut().for_each(|v| self.json(v)),
            _ => {}
        }
    }

    pub fn error(&self, error: &mut StepError) {
        error.message = self.text(&error.message);
    }
}

#[cfg(test)]
mod tests {
    use aos_schema::SecretString;
    use serde_json::json;

    use super::*;

    /// A scope over a fixture context (leaked: a test's few bytes).
    fn scope() -> Scope<'static> {
        let context = StepContext {
            trigger: json!({ "body": { "email": "ada@example.test", "n": 3 } }),
            steps: serde_json::from_value(json!({ "fetch": { "output": { "items": [{ "id": 41 }, { "id": 42 }] } } }))
                .unwrap(),
            input: json!({ "tier": "gold" }),
            item: None,
        };
        let mut secrets = BTreeMap::new();
        secrets.insert("SLACK_TOKEN".to_owned(), WireSecret(SecretString::new("xoxb-123456")));
        Scope::new(Box::leak(Box::new(context)), Box::leak(Box::new(secrets)))
    }

    #[test]
    fn now_and_the_engine_filters_are_in_scope() {
        let e = Expressions::new();
        let s = scope();
        let now = e.eval_str("{{ now }}", "f", &s).unwrap();
        let now = now.as_str().unwrap();
        assert!(now.ends_with('Z') && now.len() == "2026-12-05T06:00:00.000Z".len(), "{now}");
        let year = e.eval_str("{{ now|format_date('%Y')|int }}", "f", &s).unwrap();
        assert_eq!(year, json!(now[..4].parse::<i64>().unwrap()));
        assert_eq!(
            e.eval_str("{{ trigger.body|json_stringify }}", "f", &s).unwrap(),
            json!(r#"{"email":"ada@example.test","n":3}"#)
        );
        assert_eq!(e.eval_str("{{ (trigger.body.n * 1.005)|fixed(2) }}", "f", &s).unwrap(), json!("3.01"));
    }

    #[test]
    fn lone_expressions_keep_their_type_and_templates_render_text() {
        let e = Expressions::new();
        let s = scope();
        assert_eq!(e.eval_str("{{ trigger.body.email }}", "f", &s).unwrap(), json!("ada@example.test"));
        assert_eq!(e.eval_str("{{ steps.fetch.output.items[0].id }}", "f", &s).unwrap(), json!(41));
        assert_eq!(
            e.eval_str(" {{ steps.fetch.output.items }} ", "f", &s).unwrap(),
            json!([{ "id": 41 }, { "id": 42 }])
        );
        assert_eq!(e.eval_str("hi {{ trigger.body.email }}!", "f", &s).unwrap(), json!("hi ada@example.test!"));
        assert_eq!(e.eval_str("Bearer {{ secrets.SLACK_TOKEN }}", "f", &s).unwrap(), json!("Bearer xoxb-123456"));
        assert_eq!(e.eval_str("{{ trigger.body.missing }}", "f", &s).unwrap(), Value::Null);
        assert_eq!(e.eval_str("plain", "f", &s).unwrap(), json!("plain"));
        assert!(e.truthy("{{ input.tier == 'gold' }}", "condition", &s).unwrap());
        assert!(!e.truthy("{{ trigger.body.n > 5 }}", "condition", &s).unwrap());
    }

    #[test]
    fn a_config_without_expressions_never_builds_the_scope() {
        let e = Expressions::new();
        let s = scope();
        let config = json!({ "fields": { "step": "3", "n": 4 }, "url": "https://example.test" });
        let resolved = e.resolve_config(config.as_object().unwrap(), &s).unwrap();
        assert_eq!(Value::Object(resolved), config);
        assert!(s.value.get().is_none(), "nothing asked for the context");
        e.eval_str("{{ input.tier }}", "f", &s).unwrap();
        assert!(s.value.get().is_some());
    }

    #[test]
    fn bad_expressions_name_field_and_position() {
        let e = Expressions::new();
        let err = e.eval_str("{{ trigger.body. }}", "fields.email", &scope()).unwrap_err();
        assert_eq!(err.field, "fields.email");
        assert_eq!(err.line, 1);
        assert!(err.column > 3, "{err}");
        assert!(err.to_string().starts_with("expression in `fields.email` at line 1, column"), "{err}");
        let err = e.eval_str("line one\n{{ 1 + }}", "text", &scope()).unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let err = e.eval_str("{{ trigger.body.missing.deeper }}", "f", &scope()).unwrap_err();
        assert!(err.reason.contains("undefined"), "{err}");
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let e = Expressions::new();
        let err = e.eval_str(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            "f",
            &scope(),
        );
        assert!(err.is_err());
    }

    #[test]
    fn config_resolves_recursively() {
        let e = Expressions::new();
        let config = json!({ "fields": { "email": "{{ trigger.body.email }}", "ids": ["{{ steps.fetch.output.items[1].id }}"] }, "n": 5 });
        let resolved = e.resolve_config(config.as_object().unwrap(), &scope()).unwrap();
        assert_eq!(Value::Object(resolved), json!({ "fields": { "email": "ada@example.test", "ids": [42] }, "n": 5 }));
    }

    #[test]
    fn secret_values_are_redacted() {
        let mut secrets = BTreeMap::new();
        secrets.insert("S".to_owned(), WireSecret(SecretString::new("xoxb-123456")));
        let redactor = Redactor::new(&secrets);
        let mut out = json!({ "echo": "token=xoxb-123456", "list": ["xoxb-123456"], "by": { "k-xoxb-123456": "v" } });
        redactor.json(&mut out);
        assert_eq!(out, json!({ "echo": "token=[redacted]", "list": ["[redacted]"], "by": { "k-[redacted]": "v" } }));
    }
}
