//! Checks a node's config against its kind's fields: required fields are present, values have the
//! shape their form control produces, and credentials are secret references, not literals.
//!
//! A string holding an expression (`{{ … }}`) is accepted wherever a value is, because it is only
//! rendered at run time; so `{{ secrets.X }}` satisfies a required field like any other string.

use serde_json::{Map, Value};

use super::ValidationError;
use crate::catalog::{FieldDescriptor, FieldType, NodeDescriptor};
use crate::graph::Node;

/// The longest node id, edge id or port name.
pub const MAX_ID_LEN: usize = 128;

/// Whether `id` is 1 to [`MAX_ID_LEN`] ASCII letters, digits, `_` or `-`: safe in expressions
/// (`steps.<id>.output`), URLs and log lines.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether the text contains a `{{ … }}` expression.
pub fn is_expression(text: &str) -> bool {
    text.find("{{").is_some_and(|open| text[open + 2..].contains("}}"))
}

/// Whether the text is exactly one secret reference, `{{ secrets.NAME }}` (spaces optional), with
/// a name of letters, digits and `_`.
pub fn is_secret_reference(text: &str) -> bool {
    secret_reference_name(text).is_some()
}

/// The NAME of a `{{ secrets.NAME }}` reference.
pub fn secret_reference_name(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim().strip_prefix("secrets.")?;
    let valid = !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then_some(inner)
}

/// Pushes a problem for every config field of `node` that breaks its descriptor.
pub(super) fn check_config(node: &Node, descriptor: &NodeDescriptor, errors: &mut Vec<ValidationError>) {
    for field in &descriptor.fields {
        let value = node.config.get(&field.name);
        if is_missing(value) {
            if field.required && field.default.is_none() {
                errors.push(ValidationError::MissingRequiredField { node: node.id.clone(), field: field.name.clone() });
            }
            continue;
        }
        let Some(value) = value else { continue };
        if field.secret {
            if value.as_str().is_none_or(|text| !is_secret_reference(text)) {
                errors.push(ValidationError::PlaintextSecret { node: node.id.clone(), field: field.name.clone() });
            }
            continue;
        }
        if let Some(expected) = shape_problem(field, value) {
            errors.push(ValidationError::InvalidFieldValue {
                node: node.id.clone(),
                field: field.name.clone(),
                expected,
            });
        }
    }
    if let Some(dynamic) = &descriptor.dynamic_outputs
        && let Some(Value::Object(cases)) = node.config.get(&dynamic.field)
    {
        check_case_names(node, &dynamic.field, cases, descriptor, errors);
    }
    for (name, value) in &node.config {
        check_expressions(node, value, name, errors);
    }
}

/// Pushes a problem for every text under `value` (at config path `path`, nested through objects
/// and lists as the engine walks them) whose expression does not parse: it would fail every run.
fn check_expressions(node: &Node, value: &Value, path: &str, errors: &mut Vec<ValidationError>) {
    match value {
        Value::String(text) => {
            if let Err(at) = crate::expression::check_syntax(text) {
                errors.push(ValidationError::BadExpression {
                    node: node.id.clone(),
                    field: path.to_owned(),
                    line: at.line,
                    column: at.column,
                    reason: at.reason,
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_expressions(node, item, &format!("{path}[{i}]"), errors);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                check_expressions(node, item, &format!("{path}.{key}"), errors);
            }
        }
        _ => {}
    }
}

/// Absent, null, or text with nothing but whitespace.
fn is_missing(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(text)) => text.trim().is_empty(),
        Some(_) => false,
    }
}

/// What the value should have been, when it is not of the field's shape.
fn shape_problem(field: &FieldDescriptor, value: &Value) -> Option<String> {
    let expression = value.as_str().is_some_and(is_expression);
    match &field.field_type {
        FieldType::Text | FieldType::MultilineText | FieldType::Expression | FieldType::SecretRef => {
            (!value.is_string()).then(|| "text".to_owned())
        }
        FieldType::Json => None,
        FieldType::KeyValue => (!value.is_object()).then(|| "an object of names to values".to_owned()),
        FieldType::Toggle => (!value.is_boolean() && !expression).then(|| "true or false".into()),
        FieldType::Number { min, max } => {
            if expression {
                return None;
            }
            let in_range = value
                .as_f64()
                .is_some_and(|number| min.is_none_or(|min| number >= min) && max.is_none_or(|max| number <= max));
            (!in_range).then(|| describe_number(*min, *max))
        }
        FieldType::Select { options } => {
            let chosen = value.as_str().is_some_and(|text| expression || options.iter().any(|o| o.value == text));
            let names: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
            (!chosen).then(|| format!("one of {}", names.join(", ")))
        }
        FieldType::Cron => {
            let valid = value.as_str().is_some_and(|text| expression || looks_like_cron(text));
            (!valid).then(|| "a cron expression of 5 or 6 fields, or an alias such as @daily".into())
        }
        FieldType::Url => {
            let valid = value.as_str().is_some_and(|text| expression || looks_like_url(text));
            (!valid).then(|| "an absolute url such as https://example.com".into())
        }
    }
}

fn describe_number(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("a number from {min} to {max}"),
        (Some(min), None) => format!("a number of at least {min}"),
        (None, Some(max)) => format!("a number of at most {max}"),
        (None, None) => "a number".to_owned(),
    }
}

/// A light check; the scheduler parses the expression for real. Five or six fields of digits,
/// names and `* / , - ? L W #`, or one of the `@` aliases.
fn looks_like_cron(text: &str) -> bool {
    const ALIASES: [&str; 7] = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
    let text = text.trim();
    if ALIASES.contains(&text) {
        return true;
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    (5..=6).contains(&fields.len())
        && fields.iter().all(|field| field.chars().all(|c| c.is_ascii_alphanumeric() || "*/,-?LW#".contains(c)))
}

/// `scheme://rest` with a letter-first scheme and something after it.
fn looks_like_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    scheme_ok && !rest.is_empty() && !text.chars().any(char::is_whitespace)
}

/// Case keys name output ports, so they follow the id rules and may not shadow a fixed port.
fn check_case_names(
    node: &Node,
    field: &str,
    cases: &Map<String, Value>,
    descriptor: &NodeDescriptor,
    errors: &mut Vec<ValidationError>,
) {
    let mut names: Vec<&String> = cases.keys().collect();
    names.sort();
    let clash = names.iter().any(|name| !is_valid_id(name) || descriptor.outputs.iter().any(|p| &p.name == *name));
    if clash {
        let fixed: Vec<&str> = descriptor.outputs.iter().map(|p| p.name.as_str()).collect();
        errors.push(ValidationError::InvalidFieldValue {
            node: node.id.clone(),
            field: field.to_owned(),
            expected: format!(
                "an object whose keys are port names of 1 to {MAX_ID_LEN} letters, digits, \
                 '_' or '-', other than {}",
                fixed.join(", ")
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_valid_id("fetch_1-a"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id(&"x".repeat(MAX_ID_LEN + 1)));
    }

    #[test]
    fn expressions_and_secret_references() {
        assert!(is_expression("hi {{ input.name }}"));
        assert!(!is_expression("}} {{"));
        assert_eq!(secret_reference_name("{{ secrets.SLACK_TOKEN }}"), Some("SLACK_TOKEN"));
        assert_eq!(secret_reference_name("{{secrets.A1}}"), Some("A1"));
        assert!(!is_secret_reference("xoxb-123"));
        assert!(!is_secret_reference("Bearer {{ secrets.X }}"));
        assert!(!is_secret_reference("{{ secrets. }}"));
        assert!(!is_secret_reference("{{ secrets.A-B }}"));
    }

    #[test]
    fn cron_and_url_shapes() {
        assert!(looks_like_cron("*/5 * * * *"));
        assert!(looks_like_cron("0 9 * * MON-FRI"));
        assert!(looks_like_cron("@daily"));
        assert!(!looks_like_cron("every day"));
        assert!(!looks_like_cron("* * *"));
        assert!(looks_like_url("https://slack.com/api"));
        assert!(looks_like_url("smtp://127.0.0.1:2525"));
        assert!(!looks_like_url("slack.com"));
        assert!(!looks_like_url("https://"));
        assert!(!looks_like_url("https://a b"));
    }
}
