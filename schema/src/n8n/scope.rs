//! What an n8n node's parameters are translated against ([`Scope`]): the other nodes (for
//! expressions that name them, and for the shape of the data a step receives), and where the
//! warnings and secrets of the import go. Also turns JSON written as text (`jsonBody`) into
//! JSON with its expressions translated in place.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::expr::{self, Base, Resolve};
use super::secrets::Secrets;
use super::{Class, ImportWarning, N8nNode};
use crate::catalog::kinds;
use crate::ids::NodeId;

/// Kinds whose output is their input, so data shapes pass through them.
const PASS_THROUGH: [&str; 4] =
    [kinds::LOGIC_CONDITION, kinds::LOGIC_SWITCH, kinds::LOGIC_DELAY, kinds::WEBHOOK_RESPOND];

/// What one node's parameters are translated against: the other nodes, and where warnings and
/// secrets go.
pub(super) struct Scope<'a> {
    /// The node being configured, by position.
    pub node: usize,
    pub ids: &'a [NodeId],
    pub classes: &'a [Class],
    pub predecessors: &'a [Vec<usize>],
    pub names: &'a [&'a str],
    pub by_name: &'a HashMap<&'a str, usize>,
    /// Each node's [`data_source`], computed once.
    pub sources: &'a [Option<&'static str>],
    pub timezone: Option<&'a str>,
    /// The sub-nodes feeding this node and their connection types (`ai_languageModel`, `ai_tool`).
    pub sub_nodes: Vec<(&'a str, &'a N8nNode)>,
    pub pinned: &'a HashMap<String, Value>,
    pub warnings: &'a mut Vec<ImportWarning>,
    pub secrets: &'a mut Secrets,
    /// Expressions translated so far (for the report).
    pub translated: &'a mut usize,
}

impl Resolve for Scope<'_> {
    fn input_base(&self) -> Base {
        let before = self.predecessors.get(self.node).map(Vec::as_slice).unwrap_or_default();
        let mut sources = before.iter().map(|at| self.sources.get(*at).copied().flatten());
        let first = sources.next().flatten();
        let common = if sources.all(|source| source == first) { first } else { None };
        shaped("input".to_owned(), common)
    }

    fn step_base(&self, n8n_name: &str) -> Option<Base> {
        let at = *self.by_name.get(n8n_name)?;
        self.classes.get(at)?.kind()?;
        let id = self.ids.get(at)?;
        Some(shaped(format!("steps.{id}.output"), self.sources.get(at).copied().flatten()))
    }

    fn timezone(&self) -> Option<&str> {
        self.timezone
    }
}

/// The base for data coming from a node of kind `source`.
fn shaped(text: String, source: Option<&str>) -> Base {
    match source {
        Some(kinds::HTTP_REQUEST) => Base::plain(format!("{text}.body")),
        Some(kinds::OPENAI_CHAT) => Base { text, aliases: expr::OPENAI_ALIASES },
        Some(kinds::TRIGGER_SCHEDULE) => Base { text, aliases: expr::SCHEDULE_ALIASES },
        _ => Base::plain(text),
    }
}

/// The kind of the node whose output the node at `at` passes on, when it is one kind: the
/// node's own kind, or, through conditions, delays and the like, the kind their inputs come from.
pub(super) fn data_source(at: usize, classes: &[Class], predecessors: &[Vec<usize>]) -> Option<&'static str> {
    let mut stack = vec![at];
    let mut seen = HashSet::new();
    let mut found = None;
    while let Some(at) = stack.pop() {
        if !seen.insert(at) {
            continue;
        }
        match classes.get(at) {
            Some(Class::Kind(kind)) if PASS_THROUGH.contains(kind) => {
                let before = predecessors.get(at).map(Vec::as_slice).unwrap_or_default();
                if before.is_empty() {
                    return None;
                }
                stack.extend(before);
            }
            Some(Class::Kind(kind)) if found.is_none_or(|found| found == *kind) => found = Some(*kind),
            _ => return None,
        }
    }
    found
}

impl Scope<'_> {
    pub(super) fn warn(&mut self, field: Option<&str>, message: impl Into<String>) {
        let node = self.names.get(self.node).map(|name| (*name).to_owned());
        self.warnings.push(ImportWarning { node, field: field.map(str::to_owned), message: message.into() });
    }

    pub(super) fn kept_verbatim(&mut self, field: &str, text: &str) {
        self.warn(Some(field), format!("expression kept as written, it has no translation here: {text}"));
    }

    /// Translates a template (`=` stripped), reporting the blocks kept as written.
    fn template(&mut self, field: &str, template: &str) -> Option<String> {
        let (converted, kept) = expr::convert_template(template, &*self)?;
        *self.translated += template.matches("{{").count().saturating_sub(kept.len());
        for block in kept {
            self.kept_verbatim(field, &block);
        }
        Some(converted)
    }

    /// A parameter value translated for our config: expression strings (`=…`) converted, other
    /// values as they are, at any depth.
    pub(super) fn value(&mut self, field: &str, value: &Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.text(field, text)),
            Value::Array(items) => Value::Array(
                items.iter().enumerate().map(|(i, item)| self.value(&format!("{field}[{i}]"), item)).collect(),
            ),
            Value::Object(map) => {
                if map.get("__rl").is_some() {
                    return map.get("value").map_or(Value::Null, |inner| self.value(field, inner));
                }
                Value::Object(
                    map.iter().map(|(key, item)| (key.clone(), self.value(&format!("{field}.{key}"), item))).collect(),
                )
            }
            other => other.clone(),
        }
    }

    /// A string parameter translated: an expression (`=…`) converted, or kept verbatim and reported.
    pub(super) fn text(&mut self, field: &str, text: &str) -> String {
        let Some(template) = text.strip_prefix('=') else {
            return text.to_owned();
        };
        match self.template(field, template) {
            Some(converted) => converted,
            None => {
                self.kept_verbatim(field, text);
                text.to_owned()
            }
        }
    }

    /// The parameter as a translated value, if present and not null.
    pub(super) fn param(&mut self, node: &N8nNode, key: &str, field: &str) -> Option<Value> {
        node.param(key).filter(|value| !value.is_null()).map(|value| self.value(field, value))
    }

    /// A parameter value as a minijinja operand: an expression (`={{ … }}`, or text mixing text
    /// and expressions, joined with `~`) or a literal; `None` when it cannot be translated.
    pub(super) fn operand(&mut self, value: &Value, numeric: bool) -> Option<String> {
        match value {
            Value::String(text) => match text.strip_prefix('=') {
                Some(template) => {
                    let operand = self.template_operand(template)?;
                    *self.translated += template.matches("{{").count();
                    Some(operand)
                }
                None if numeric && text.trim().parse::<f64>().is_ok() => Some(text.trim().to_owned()),
                None => Some(expr::string_literal(text)),
            },
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            Value::Null => Some("none".to_owned()),
            Value::Array(_) | Value::Object(_) => None,
        }
    }

    fn template_operand(&self, template: &str) -> Option<String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(expr::string_literal(&rest[..open]));
            }
            let inner = &rest[open + 2..];
            let close = inner.find("}}")?;
            parts.push(expr::group(&expr::convert_expression(&inner[..close], self)?));
            rest = &inner[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(expr::string_literal(rest));
        }
        match parts.as_slice() {
            [] => Some("\"\"".to_owned()),
            [one] => Some(one.clone()),
            many => Some(format!("({})", many.join(" ~ "))),
        }
    }

    /// A `{{ secrets.NAME }}` reference for the node's credential.
    pub(super) fn secret(&mut self, node: &N8nNode, types: &[&str], default: &str) -> String {
        let id = self.ids[self.node].clone();
        self.secrets.reference(node, &id, types, default)
    }

    /// A JSON body written as text (`jsonBody`, `responseBody`, a raw Set): parsed into JSON with
    /// its expressions translated in place. Text that is not JSON stays text.
    pub(super) fn json_template(&mut self, field: &str, value: &Value) -> Value {
        let Value::String(text) = value else { return self.value(field, value) };
        let (template, expressions) = match text.strip_prefix('=') {
            Some(template) => (template, true),
            None => (text.as_str(), false),
        };
        let Some((skeleton, blocks)) = json_skeleton(template) else {
            return Value::String(self.text(field, text));
        };
        let parsed = match serde_json::from_str::<Value>(&skeleton) {
            Ok(parsed) if expressions || blocks.is_empty() => parsed,
            _ => {
                if !blocks.is_empty() {
                    self.warn(Some(field), "not JSON once its expressions are set aside; kept as text");
                }
                return Value::String(self.text(field, text));
            }
        };
        let mut converted = Vec::with_capacity(blocks.len());
        for block in &blocks {
            match expr::convert_expression(block, &*self) {
                Some(expression) => {
                    *self.translated += 1;
                    converted.push(format!("{{{{ {expression} }}}}"));
                }
                None => {
                    let written = format!("{{{{{block}}}}}");
                    self.kept_verbatim(field, &written);
                    converted.push(written);
                }
            }
        }
        fill_sentinels(parsed, &converted)
    }
}

/// The template with each `{{ … }}` replaced by a sentinel (quoted when it stands outside a JSON
/// string), and the blocks' insides; `None` for an unclosed block.
fn json_skeleton(template: &str) -> Option<(String, Vec<String>)> {
    let mut skeleton = String::with_capacity(template.len());
    let mut blocks = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") {
            let close = rest[2..].find("}}")?;
            blocks.push(rest[2..2 + close].to_owned());
            let sentinel = sentinel(blocks.len() - 1);
            if in_string {
                skeleton.push_str(&sentinel);
            } else {
                skeleton.push('"');
                skeleton.push_str(&sentinel);
                skeleton.push('"');
            }
            rest = &rest[2 + close + 2..];
            escaped = false;
            continue;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        skeleton.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Some((skeleton, blocks))
}

fn sentinel(index: usize) -> String {
    format!("@@n8n_expression_{index}@@")
}

fn fill_sentinels(value: Value, expressions: &[String]) -> Value {
    match value {
        Value::String(text) => Value::String(fill_text(&text, expressions)),
        Value::Array(items) => Value::Array(items.into_iter().map(|item| fill_sentinels(item, expressions)).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, item)| (fill_text(&key, expressions), fill_sentinels(item, expressions)))
                .collect(),
        ),
        other => other,
    }
}

/// The text with each sentinel replaced by its expression, in one pass.
fn fill_text(text: &str, expressions: &[String]) -> String {
    const OPEN: &str = "@@n8n_expression_";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        let after = &rest[at + OPEN.len()..];
        let digits = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
        let expression = after[..digits].parse::<usize>().ok().and_then(|index| expressions.get(index));
        match (expression, after[digits..].strip_prefix("@@")) {
            (Some(expression), Some(tail)) => {
                out.push_str(expression);
                rest = tail;
            }
            _ => {
                out.push_str(OPEN);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_bodies_keep_their_structure() {
        let (skeleton, blocks) = json_skeleton(r#"{"id": {{ $json.id }}, "name": "Hi {{ $json.name }}"}"#).unwrap();
        assert_eq!(skeleton, r#"{"id": "@@n8n_expression_0@@", "name": "Hi @@n8n_expression_1@@"}"#);
        assert_eq!(blocks, vec![" $json.id ", " $json.name "]);
        let filled = fill_sentinels(
            serde_json::from_str(&skeleton).unwrap(),
            &["{{ input.id }}".to_owned(), "{{ input.name }}".to_owned()],
        );
        assert_eq!(filled, json!({"id": "{{ input.id }}", "name": "Hi {{ input.name }}"}));
        assert!(json_skeleton("{{ open").is_none());
        let (skeleton, _) = json_skeleton(r#"{"a": "quote \" {{ $json.x }}"}"#).unwrap();
        assert_eq!(skeleton, r#"{"a": "quote \" @@n8n_expression_0@@"}"#);
    }
}
