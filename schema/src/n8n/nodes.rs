//! What each n8n node type becomes: [`classify`] picks the kind (or a stand-in, or leaves the node
//! out), [`configure`] turns its parameters into the kind's config, [`output_ports`] says which
//! port each of its n8n outputs is. Triggers and logic are here, the integrations in
//! `integrations.rs`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::expr::{self, Base, Resolve};
use super::integrations;
use super::schedule;
use super::{Class, ImportWarning, N8nNode, Secrets, slug};
use crate::catalog::kinds;
use crate::graph::DEFAULT_OUTPUT_PORT;
use crate::ids::NodeId;

/// Kinds whose output is their input, so data shapes pass through them.
const PASS_THROUGH: [&str; 4] =
    [kinds::LOGIC_CONDITION, kinds::LOGIC_SWITCH, kinds::LOGIC_DELAY, kinds::WEBHOOK_RESPOND];

/// The reason a placeholder stands in for a node type with no equivalent.
fn no_equivalent(node: &N8nNode) -> String {
    format!("{} has no equivalent here; a placeholder that passes its input on stands in for it", node.n8n_type)
}

fn placeholder(reason: String) -> Class {
    Class::StandIn { kind: kinds::LOGIC_DELAY, reason }
}

/// What becomes of the node; see the module documentation of `n8n.rs`.
pub(super) fn classify(node: &N8nNode) -> Class {
    let n8n_type = node.n8n_type.as_str();
    let short = node.short_type();
    let base = n8n_type.starts_with("n8n-nodes-base.");
    let trigger_like = short.to_ascii_lowercase().ends_with("trigger") || (base && short == "webhook");
    if base && short == "stickyNote" {
        return Class::Omit { reason: "a canvas note; notes are not imported".into() };
    }
    if node.disabled {
        return if trigger_like {
            Class::Omit { reason: "disabled in n8n".into() }
        } else {
            placeholder("disabled in n8n; a placeholder that passes its input on stands in for it".into())
        };
    }
    let langchain_openai = n8n_type == "@n8n/n8n-nodes-langchain.openAi";
    if !base && !langchain_openai {
        if trigger_like {
            return service_trigger(node);
        }
        return placeholder(no_equivalent(node));
    }
    match short {
        "webhook" => Class::Kind(kinds::TRIGGER_WEBHOOK),
        "manualTrigger" | "start" => Class::Kind(kinds::TRIGGER_MANUAL),
        "scheduleTrigger" | "cron" => {
            let cron = if short == "cron" {
                schedule::cron_node_cron(&node.parameters)
            } else {
                schedule::schedule_trigger_cron(&node.parameters)
            };
            match cron {
                Ok(_) => Class::Kind(kinds::TRIGGER_SCHEDULE),
                Err(why) => Class::StandIn {
                    kind: kinds::TRIGGER_MANUAL,
                    reason: format!(
                        "its schedule cannot be written as a cron expression ({why}); a manual trigger stands \
                         in until a schedule trigger replaces it"
                    ),
                },
            }
        }
        "executeWorkflowTrigger" => Class::StandIn {
            kind: kinds::TRIGGER_MANUAL,
            reason: "in n8n another workflow starts it; here a manual trigger stands in, which the runs api \
                     starts with an input"
                .into(),
        },
        "httpRequest" => Class::Kind(kinds::HTTP_REQUEST),
        "if" => Class::Kind(kinds::LOGIC_CONDITION),
        "switch" => match switch_layout(node) {
            Ok(_) => Class::Kind(kinds::LOGIC_SWITCH),
            Err(why) => placeholder(format!("{why}; a placeholder that passes its input on stands in for it")),
        },
        "set" => Class::Kind(kinds::DATA_TRANSFORM),
        "merge" => Class::Kind(kinds::LOGIC_MERGE),
        "noOp" => Class::Kind(kinds::LOGIC_DELAY),
        "wait" => match node.param_str("resume").unwrap_or("timeInterval") {
            "timeInterval" => Class::Kind(kinds::LOGIC_DELAY),
            other => placeholder(format!(
                "a wait that resumes on {other} has no equivalent (only a fixed delay does); a placeholder \
                 that passes its input on stands in for it"
            )),
        },
        "splitInBatches" | "splitOut" => Class::Kind(kinds::LOGIC_FOR_EACH),
        "itemLists" => match node.param_str("operation").unwrap_or("splitOutItems") {
            "splitOutItems" => Class::Kind(kinds::LOGIC_FOR_EACH),
            other => placeholder(format!(
                "the item lists operation {other} has no equivalent; a placeholder that passes its input on \
                 stands in for it"
            )),
        },
        "respondToWebhook" => match node.param_str("respondWith").unwrap_or("firstIncomingItem") {
            "binary" => placeholder(
                "responding with binary data has no equivalent; a placeholder that passes its input on stands in \
                 for it"
                    .into(),
            ),
            _ => Class::Kind(kinds::WEBHOOK_RESPOND),
        },
        "code" | "function" | "functionItem" => placeholder(format!(
            "it runs code ({short}), which AutomateOS does not run: rebuild it with a transform's expressions or \
             an HTTP request; a placeholder that passes its input on stands in for it"
        )),
        "slack" => integrations::classify_slack(node),
        "googleSheets" => integrations::classify_sheets(node),
        "openAi" => integrations::classify_openai(node),
        "emailSend" => Class::Kind(kinds::EMAIL_SEND),
        _ if trigger_like => service_trigger(node),
        _ => placeholder(no_equivalent(node)),
    }
}

fn service_trigger(node: &N8nNode) -> Class {
    Class::StandIn {
        kind: kinds::TRIGGER_WEBHOOK,
        reason: format!(
            "the {} trigger has no equivalent; a webhook trigger stands in: point the service's webhook at \
             this workflow's url",
            node.n8n_type
        ),
    }
}

/// The config of a stand-in node.
pub(super) fn stand_in_config(kind: &str, node: &N8nNode, pinned: &HashMap<String, Value>) -> Map<String, Value> {
    let mut config = Map::new();
    match kind {
        kinds::LOGIC_DELAY => {
            config.insert("seconds".into(), json!(0));
        }
        kinds::TRIGGER_WEBHOOK => {
            if let Some(sample) = pinned.get(&node.name) {
                config.insert("sample".into(), sample.get("body").unwrap_or(sample).clone());
            }
        }
        kinds::TRIGGER_MANUAL => {
            if let Some(sample) = pinned.get(&node.name) {
                config.insert("sample_input".into(), sample.clone());
            }
        }
        _ => {}
    }
    config
}

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
    pub pinned: &'a HashMap<String, Value>,
    pub warnings: &'a mut Vec<ImportWarning>,
    pub secrets: &'a mut Secrets,
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
    pub fn warn(&mut self, field: Option<&str>, message: impl Into<String>) {
        let node = self.names.get(self.node).map(|name| (*name).to_owned());
        self.warnings.push(ImportWarning { node, field: field.map(str::to_owned), message: message.into() });
    }

    fn kept_verbatim(&mut self, field: &str, text: &str) {
        self.warn(Some(field), format!("expression kept as written, it has no translation here: {text}"));
    }

    /// Translates a template (`=` stripped), reporting the blocks kept as written.
    fn template(&mut self, field: &str, template: &str) -> Option<String> {
        let (converted, kept) = expr::convert_template(template, &*self)?;
        for block in kept {
            self.kept_verbatim(field, &block);
        }
        Some(converted)
    }

    /// A parameter value translated for our config: expression strings (`=…`) converted, other
    /// values as they are, at any depth.
    pub fn value(&mut self, field: &str, value: &Value) -> Value {
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
    pub fn text(&mut self, field: &str, text: &str) -> String {
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
    pub fn param(&mut self, node: &N8nNode, key: &str, field: &str) -> Option<Value> {
        node.param(key).filter(|value| !value.is_null()).map(|value| self.value(field, value))
    }

    /// A parameter value as a minijinja operand: an expression (`={{ … }}`, or text mixing text
    /// and expressions, joined with `~`) or a literal; `None` when it cannot be translated.
    fn operand(&mut self, value: &Value, numeric: bool) -> Option<String> {
        match value {
            Value::String(text) => match text.strip_prefix('=') {
                Some(template) => self.template_operand(template),
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
            parts.push(expr::convert_expression(&inner[..close], self)?);
            rest = &inner[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(expr::string_literal(rest));
        }
        match parts.as_slice() {
            [] => Some("\"\"".to_owned()),
            [one] => Some(one.clone()),
            many => Some(format!("({})", many.iter().map(|p| format!("({p})")).collect::<Vec<_>>().join(" ~ "))),
        }
    }

    /// A `{{ secrets.NAME }}` reference for the node's credential.
    pub fn secret(&mut self, node: &N8nNode, types: &[&str], default: &str) -> String {
        let id = self.ids[self.node].clone();
        self.secrets.reference(node, &id, types, default)
    }

    /// A JSON body written as text (`jsonBody`, `responseBody`, a raw Set): parsed into JSON with
    /// its expressions translated in place. Text that is not JSON stays text.
    pub fn json_template(&mut self, field: &str, value: &Value) -> Value {
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
                Some(expression) => converted.push(format!("{{{{ {expression} }}}}")),
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

/// The config of a node that maps to `kind`.
pub(super) fn configure(kind: &str, node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    match kind {
        kinds::TRIGGER_WEBHOOK => webhook(node, scope),
        kinds::TRIGGER_MANUAL => stand_in_config(kind, node, scope.pinned),
        kinds::TRIGGER_SCHEDULE => schedule_config(node, scope),
        kinds::LOGIC_CONDITION => condition(node, scope),
        kinds::LOGIC_SWITCH => switch(node, scope),
        kinds::LOGIC_MERGE => merge(node, scope),
        kinds::LOGIC_DELAY => delay(node, scope),
        kinds::LOGIC_FOR_EACH => for_each(node, scope),
        kinds::DATA_TRANSFORM => transform(node, scope),
        kinds::WEBHOOK_RESPOND => respond(node, scope),
        kinds::HTTP_REQUEST => integrations::http(node, scope),
        kinds::SLACK_POST_MESSAGE => integrations::slack(node, scope),
        kinds::SHEETS_APPEND | kinds::SHEETS_READ => integrations::sheets(kind, node, scope),
        kinds::OPENAI_CHAT => integrations::openai(node, scope),
        kinds::EMAIL_SEND => integrations::email(node, scope),
        _ => Map::new(),
    }
}

/// The ports each n8n output of a node of `kind` leads from.
pub(super) fn output_ports(kind: &str, node: &N8nNode) -> Vec<Vec<String>> {
    let ports = |names: &[&str]| names.iter().map(|name| vec![(*name).to_owned()]).collect();
    match kind {
        kinds::LOGIC_CONDITION => ports(&["true", "false"]),
        kinds::LOGIC_SWITCH => switch_layout(node).map(|layout| layout.outputs).unwrap_or_default(),
        kinds::LOGIC_FOR_EACH if node.short_type() == "splitInBatches" && node.type_version >= 3.0 => {
            ports(&["done", "item"])
        }
        kinds::LOGIC_FOR_EACH => ports(&["item"]),
        _ => ports(&[DEFAULT_OUTPUT_PORT]),
    }
}

fn webhook(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    if node.param_str("responseMode") == Some("lastNode") {
        scope.warn(
            None,
            "n8n answered with the last node's output; here the webhook answers 202 with the run id unless a \
             respond-to-webhook step answers",
        );
    }
    stand_in_config(kinds::TRIGGER_WEBHOOK, node, scope.pinned)
}

fn schedule_config(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let cron = if node.short_type() == "cron" {
        schedule::cron_node_cron(&node.parameters)
    } else {
        schedule::schedule_trigger_cron(&node.parameters)
    };
    let mut config = Map::new();
    if let Ok(cron) = cron {
        config.insert("cron".into(), Value::String(cron));
    }
    if let Some(zone) = scope.timezone {
        config.insert("timezone".into(), Value::String(zone.to_owned()));
    }
    config
}

fn condition(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    match if_expression(node, scope) {
        Ok(expression) => {
            config.insert("condition".into(), Value::String(format!("{{{{ {expression} }}}}")));
        }
        Err(why) => {
            let written = node.param("conditions").map(Value::to_string).unwrap_or_default();
            scope.warn(
                Some("condition"),
                format!("the condition has no translation ({why}); write it before publishing. In n8n: {written}"),
            );
            config.insert("condition".into(), Value::String(String::new()));
        }
    }
    config
}

/// The IF node's conditions as one minijinja expression.
fn if_expression(node: &N8nNode, scope: &mut Scope<'_>) -> Result<String, String> {
    let empty = Map::new();
    let conditions = node.param("conditions").and_then(Value::as_object).unwrap_or(&empty);
    let mut parts = Vec::new();
    let joiner;
    if node.type_version >= 2.0 {
        joiner = match conditions.get("combinator").and_then(Value::as_str).unwrap_or("and") {
            "or" => " or ",
            _ => " and ",
        };
        let case_sensitive = conditions
            .get("options")
            .and_then(|options| options.get("caseSensitive"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        for condition in conditions.get("conditions").and_then(Value::as_array).into_iter().flatten() {
            parts.push(filter_condition(condition, case_sensitive, scope)?);
        }
    } else {
        joiner = match node.param_str("combineOperation").unwrap_or("all") {
            "any" => " or ",
            _ => " and ",
        };
        for (data_type, default_operation) in [("boolean", "equal"), ("number", "smaller"), ("string", "equal")] {
            for condition in conditions.get(data_type).and_then(Value::as_array).into_iter().flatten() {
                let operation = condition.get("operation").and_then(Value::as_str).unwrap_or(default_operation);
                let null = Value::Null;
                let left = scope.operand(condition.get("value1").unwrap_or(&null), data_type == "number");
                let right = scope.operand(condition.get("value2").unwrap_or(&null), data_type == "number");
                let left = left.ok_or("a value has no translation")?;
                let right = right.ok_or("a value has no translation")?;
                parts.push(compare(operation, data_type, &left, &right)?);
            }
        }
        if conditions.get("dateTime").and_then(Value::as_array).is_some_and(|list| !list.is_empty()) {
            return Err("date comparisons have no translation".into());
        }
    }
    match parts.as_slice() {
        [] => Err("it has no conditions".into()),
        [one] => Ok(one.clone()),
        many => Ok(many.iter().map(|part| format!("({part})")).collect::<Vec<_>>().join(joiner)),
    }
}

/// One condition of n8n's filter parameter (IF v2, Switch v3).
fn filter_condition(condition: &Value, case_sensitive: bool, scope: &mut Scope<'_>) -> Result<String, String> {
    let operator = condition.get("operator");
    let data_type = operator.and_then(|op| op.get("type")).and_then(Value::as_str).unwrap_or("string");
    let operation = operator.and_then(|op| op.get("operation")).and_then(Value::as_str).unwrap_or("equals");
    let numeric = data_type == "number";
    let null = Value::Null;
    let left =
        scope.operand(condition.get("leftValue").unwrap_or(&null), numeric).ok_or("a value has no translation")?;
    let right =
        scope.operand(condition.get("rightValue").unwrap_or(&null), numeric).ok_or("a value has no translation")?;
    let (left, right) = if data_type == "string" && !case_sensitive {
        (format!("({left})|lower"), format!("({right})|lower"))
    } else {
        (left, right)
    };
    compare(operation, data_type, &left, &right)
}

/// One comparison, for the operation names of both IF versions.
fn compare(operation: &str, data_type: &str, left: &str, right: &str) -> Result<String, String> {
    let scalar = matches!(data_type, "number" | "boolean");
    Ok(match operation {
        "equal" | "equals" => format!("{left} == {right}"),
        "notEqual" | "notEquals" => format!("{left} != {right}"),
        "contains" => format!("{right} in {left}"),
        "notContains" => format!("{right} not in {left}"),
        "startsWith" => format!("{left} is startingwith({right})"),
        "notStartsWith" => format!("{left} is not startingwith({right})"),
        "endsWith" => format!("{left} is endingwith({right})"),
        "notEndsWith" => format!("{left} is not endingwith({right})"),
        "larger" | "gt" | "after" if data_type != "dateTime" => format!("{left} > {right}"),
        "largerEqual" | "gte" => format!("{left} >= {right}"),
        "smaller" | "lt" => format!("{left} < {right}"),
        "smallerEqual" | "lte" => format!("{left} <= {right}"),
        "true" => format!("{left} == true"),
        "false" => format!("{left} == false"),
        "exists" => format!("({left} is defined and {left} is not none)"),
        "notExists" => format!("({left} is undefined or {left} is none)"),
        "isEmpty" | "empty" if scalar => format!("({left} is undefined or {left} is none)"),
        "isNotEmpty" | "notEmpty" if scalar => format!("({left} is defined and {left} is not none)"),
        "isEmpty" | "empty" => format!("(not {left})"),
        "isNotEmpty" | "notEmpty" => format!("(not (not {left}))"),
        "lengthEquals" => format!("{left}|length == {right}"),
        "lengthNotEquals" => format!("{left}|length != {right}"),
        "lengthGt" => format!("{left}|length > {right}"),
        "lengthLt" => format!("{left}|length < {right}"),
        "lengthGte" => format!("{left}|length >= {right}"),
        "lengthLte" => format!("{left}|length <= {right}"),
        other => return Err(format!("the {data_type} operation {other} has no translation")),
    })
}

/// How a Switch node's outputs become a `logic.switch`'s cases.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SwitchLayout {
    /// The n8n value every case is compared with.
    value: Value,
    /// Port name → the n8n value selecting it, in rule order.
    cases: Vec<(String, Value)>,
    /// The ports of each n8n output.
    pub outputs: Vec<Vec<String>>,
}

/// The layout of a Switch node, or why it has none: every rule must test one value for equality.
pub(super) fn switch_layout(node: &N8nNode) -> Result<SwitchLayout, String> {
    let mode = node.param_str("mode").unwrap_or("rules");
    if mode == "expression" {
        let count = node
            .param(if node.type_version >= 3.0 { "numberOutputs" } else { "outputsAmount" })
            .and_then(Value::as_u64)
            .unwrap_or(4)
            .min(64);
        let value = node.param("output").cloned().unwrap_or(Value::Null);
        let cases: Vec<(String, Value)> =
            (0..count).map(|i| (format!("output_{i}"), Value::String(i.to_string()))).collect();
        let outputs = cases.iter().map(|(port, _)| vec![port.clone()]).collect();
        return Ok(SwitchLayout { value, cases, outputs });
    }
    let mut rules: Vec<(Value, usize, Option<String>)> = Vec::new();
    let value;
    let fallback: Option<usize>;
    if node.type_version >= 3.0 {
        let mut left: Option<Value> = None;
        let list = node.param("rules").and_then(|rules| rules.get("values")).and_then(Value::as_array);
        for (i, rule) in list.into_iter().flatten().enumerate() {
            let conditions = rule.get("conditions").and_then(|c| c.get("conditions")).and_then(Value::as_array);
            let [condition] = conditions.map(Vec::as_slice).unwrap_or_default() else {
                return Err("a switch rule with other than one condition has no equivalent".into());
            };
            let operation = condition.get("operator").and_then(|op| op.get("operation")).and_then(Value::as_str);
            if operation.unwrap_or("equals") != "equals" {
                return Err("a switch rule other than an equality test has no equivalent".into());
            }
            let this_left = condition.get("leftValue").cloned().unwrap_or(Value::Null);
            if left.as_ref().is_some_and(|left| *left != this_left) {
                return Err("switch rules that test different values have no equivalent".into());
            }
            left = Some(this_left);
            let renamed = rule.get("renameOutput").and_then(Value::as_bool).unwrap_or(false);
            let key = rule.get("outputKey").and_then(Value::as_str).filter(|_| renamed).map(str::to_owned);
            rules.push((condition.get("rightValue").cloned().unwrap_or(Value::Null), i, key));
        }
        value = left.unwrap_or(Value::Null);
        fallback = match node.param("options").and_then(|options| options.get("fallbackOutput")) {
            Some(Value::String(text)) if text == "extra" => Some(rules.len()),
            Some(Value::String(text)) => text.parse().ok(),
            Some(Value::Number(number)) => number.as_u64().and_then(|n| usize::try_from(n).ok()),
            _ => None,
        };
    } else {
        value = node.param("value1").cloned().unwrap_or(Value::Null);
        let list = node.param("rules").and_then(|rules| rules.get("rules")).and_then(Value::as_array);
        for rule in list.into_iter().flatten() {
            if rule.get("operation").and_then(Value::as_str).unwrap_or("equal") != "equal" {
                return Err("a switch rule other than an equality test has no equivalent".into());
            }
            let output = rule.get("output").and_then(Value::as_u64).unwrap_or(0);
            let output = usize::try_from(output).map_err(|_| "an output number out of range".to_owned())?;
            rules.push((rule.get("value2").cloned().unwrap_or(Value::Null), output, None));
        }
        fallback = node.param("fallbackOutput").and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok());
    }
    if rules.is_empty() {
        return Err("a switch without rules has no equivalent".into());
    }
    let last = rules.iter().map(|(_, output, _)| *output).chain(fallback).max().unwrap_or(0);
    if last > 255 {
        return Err("a switch with more than 256 outputs has no equivalent".into());
    }
    let mut outputs = vec![Vec::new(); last + 1];
    let mut taken: HashSet<String> = HashSet::from(["default".to_owned()]);
    let mut cases = Vec::new();
    for (i, (case, output, key)) in rules.into_iter().enumerate() {
        let from_value = match &case {
            Value::String(text) if !text.starts_with('=') => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        };
        let base = key
            .or(from_value)
            .map(|text| slug(&text))
            .filter(|name| !name.starts_with("n_") && name != "node")
            .unwrap_or_else(|| format!("case_{i}"));
        let mut port = base.clone();
        let mut n = 1;
        while !taken.insert(port.clone()) {
            n += 1;
            port = format!("{base}_{n}");
        }
        outputs[output].push(port.clone());
        cases.push((port, case));
    }
    if let Some(fallback) = fallback {
        outputs[fallback].push("default".to_owned());
    }
    Ok(SwitchLayout { value, cases, outputs })
}

fn switch(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    let Ok(layout) = switch_layout(node) else { return config };
    let value = match scope.operand(&layout.value, false) {
        Some(expression) => format!("{{{{ {expression} }}}}"),
        None => {
            let written = layout.value.as_str().map_or_else(|| layout.value.to_string(), str::to_owned);
            scope.kept_verbatim("value", &written);
            written
        }
    };
    config.insert("value".into(), Value::String(value));
    let cases: Map<String, Value> =
        layout.cases.iter().map(|(port, case)| (port.clone(), scope.value(&format!("cases.{port}"), case))).collect();
    config.insert("cases".into(), Value::Object(cases));
    if node.param("options").and_then(|o| o.get("allMatchingOutputs")).and_then(Value::as_bool) == Some(true) {
        scope.warn(Some("cases"), "n8n sent items to every matching output; here only the first match is taken");
    }
    config
}

fn merge(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mode = node.param_str("mode").unwrap_or("append");
    if mode != "append" {
        scope.warn(
            None,
            format!(
                "n8n merged in {mode} mode; here a merge waits for its branches and outputs each one's output by \
                 node id"
            ),
        );
    }
    Map::new()
}

fn delay(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    if node.short_type() == "noOp" {
        config.insert("seconds".into(), json!(0));
        return config;
    }
    let unit = node.param_str("unit").unwrap_or("hours");
    let factor: u64 = match unit {
        "seconds" => 1,
        "minutes" => 60,
        "hours" => 3600,
        "days" => 86_400,
        _ => {
            scope.warn(Some("seconds"), format!("the unit {unit} is not known; set the delay"));
            1
        }
    };
    let seconds = match node.param("amount").cloned().unwrap_or(json!(1)) {
        Value::Number(amount) => {
            let seconds = amount.as_f64().unwrap_or(1.0) * factor as f64;
            let max = 604_800.0;
            if !(0.0..=max).contains(&seconds) {
                scope.warn(Some("seconds"), format!("{seconds} seconds is outside 0 to a week; set to {max}"));
            }
            number(seconds.clamp(0.0, max))
        }
        other => match scope.operand(&other, true) {
            Some(expression) => Value::String(format!("{{{{ ({expression}) * {factor} }}}}")),
            None => {
                let written = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
                scope.kept_verbatim("seconds", &written);
                Value::String(written)
            }
        },
    };
    config.insert("seconds".into(), seconds);
    config
}

fn for_each(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    let base = scope.input_base().text;
    let items = if node.short_type() == "splitInBatches" {
        if node.param("batchSize").and_then(Value::as_u64).is_some_and(|size| size > 1) {
            scope.warn(None, "n8n ran batches of several items; here each item runs on its own");
        }
        format!("{{{{ {base} }}}}")
    } else {
        let field = node.param_str("fieldToSplitOut").unwrap_or_default();
        if field.contains(',') || field.starts_with('=') {
            scope.warn(Some("items"), format!("the field to split out {field:?} has no translation; set the list"));
        }
        let path: String = field
            .split('.')
            .filter(|part| !part.trim().is_empty())
            .map(|part| {
                let part = part.trim();
                if part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && part.starts_with(|c: char| c.is_ascii_alphabetic())
                {
                    format!(".{part}")
                } else {
                    format!("[{}]", expr::string_literal(part))
                }
            })
            .collect();
        format!("{{{{ {base}{path} }}}}")
    };
    config.insert("items".into(), Value::String(items));
    config
}

fn transform(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut fields = Map::new();
    let version = node.type_version;
    let keeps_others = if version >= 3.0 {
        node.param("includeOtherFields").and_then(Value::as_bool).unwrap_or(false)
    } else {
        !node.param("keepOnlySet").and_then(Value::as_bool).unwrap_or(false)
    };
    if keeps_others {
        scope.warn(
            Some("fields"),
            "n8n kept the input's other fields too; a transform outputs only its fields (add the ones you need)",
        );
    }
    if node.param_str("mode") == Some("raw") {
        let raw = node.param("jsonOutput").cloned().unwrap_or(Value::Null);
        match scope.json_template("fields", &raw) {
            Value::Object(map) => fields = map,
            _ => scope.warn(Some("fields"), "the JSON output is not an object; add the fields"),
        }
    } else if version >= 3.3 || node.param("assignments").is_some() {
        let list = node.param("assignments").and_then(|a| a.get("assignments")).and_then(Value::as_array);
        for assignment in list.into_iter().flatten() {
            let Some(name) = assignment.get("name").and_then(Value::as_str) else { continue };
            let kind = assignment.get("type").and_then(Value::as_str).unwrap_or("string");
            let value = assignment.get("value").cloned().unwrap_or(Value::Null);
            let converted = typed_field(scope, name, kind, &value);
            fields.insert(name.to_owned(), converted);
        }
    } else if version >= 3.0 {
        let list = node.param("fields").and_then(|f| f.get("values")).and_then(Value::as_array);
        for field in list.into_iter().flatten() {
            let Some(name) = field.get("name").and_then(Value::as_str) else { continue };
            let kind = field.get("type").and_then(Value::as_str).unwrap_or("stringValue");
            let kind = kind.trim_end_matches("Value");
            let value = field.get(format!("{kind}Value").as_str()).cloned().unwrap_or(Value::Null);
            let converted = typed_field(scope, name, kind, &value);
            fields.insert(name.to_owned(), converted);
        }
    } else {
        let values = node.param("values");
        for data_type in ["boolean", "number", "string"] {
            let list = values.and_then(|v| v.get(data_type)).and_then(Value::as_array);
            for field in list.into_iter().flatten() {
                let Some(name) = field.get("name").and_then(Value::as_str) else { continue };
                let value = field.get("value").cloned().unwrap_or(Value::Null);
                let converted = typed_field(scope, name, data_type, &value);
                fields.insert(name.to_owned(), converted);
            }
        }
    }
    let mut config = Map::new();
    config.insert("fields".into(), Value::Object(fields));
    config
}

/// One Set field: expressions converted; a number, boolean, array or object written as text
/// becomes that value.
fn typed_field(scope: &mut Scope<'_>, name: &str, kind: &str, value: &Value) -> Value {
    let field = format!("fields.{name}");
    if let Value::String(text) = value
        && !text.starts_with('=')
    {
        let parsed = match kind {
            "number" => text.trim().parse::<f64>().ok().filter(|n| n.is_finite()).map(number),
            "boolean" => text.trim().parse::<bool>().ok().map(Value::Bool),
            "array" | "object" => serde_json::from_str::<Value>(text).ok(),
            _ => None,
        };
        if let Some(parsed) = parsed {
            return parsed;
        }
    }
    scope.value(&field, value)
}

/// A number as JSON, whole numbers without a fraction (`300`, not `300.0`).
fn number(value: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if value.fract() == 0.0 && value.abs() < EXACT {
        // exact: a whole number below 2^53
        json!(value as i64)
    } else {
        serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

fn respond(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    let options = node.param("options").cloned().unwrap_or(Value::Null);
    let respond_with = node.param_str("respondWith").unwrap_or("firstIncomingItem");
    let mut headers = Map::new();
    let mut status = options.get("responseCode").cloned();
    match respond_with {
        "json" => {
            let body = node.param("responseBody").cloned().unwrap_or(Value::Null);
            config.insert("body".into(), scope.json_template("body", &body));
        }
        "text" => {
            let body = scope.param(node, "responseBody", "body").unwrap_or(Value::String(String::new()));
            config.insert("body".into(), body);
        }
        "redirect" => {
            let url = scope.param(node, "redirectURL", "headers.Location").unwrap_or(Value::Null);
            headers.insert("Location".into(), url);
            status = status.or(Some(json!(307)));
            config.insert("body".into(), Value::String(String::new()));
        }
        "noData" => scope.warn(Some("body"), "n8n answered with no body; here the step's input is the body"),
        "allIncomingItems" => {
            config.insert("body".into(), Value::String("{{ input }}".into()));
            scope.warn(Some("body"), "n8n answered with every item; here the body is the step's input");
        }
        _ => {
            config.insert("body".into(), Value::String("{{ input }}".into()));
        }
    }
    let entries = options.get("responseHeaders").and_then(|h| h.get("entries")).and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        if let Some(name) = entry.get("name").and_then(Value::as_str) {
            let value = entry.get("value").cloned().unwrap_or(Value::Null);
            let value = scope.value(&format!("headers.{name}"), &value);
            headers.insert(name.to_owned(), value);
        }
    }
    if !headers.is_empty() {
        config.insert("headers".into(), Value::Object(headers));
    }
    if let Some(status) = status {
        config.insert("status".into(), status);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn comparisons() {
        assert_eq!(compare("equals", "string", "a", "\"b\"").unwrap(), "a == \"b\"");
        assert_eq!(compare("contains", "string", "a", "\"b\"").unwrap(), "\"b\" in a");
        assert_eq!(compare("gt", "number", "a", "3").unwrap(), "a > 3");
        assert_eq!(compare("isEmpty", "number", "a", "").unwrap(), "(a is undefined or a is none)");
        assert!(compare("regex", "string", "a", "\"b\"").is_err());
        assert!(compare("after", "dateTime", "a", "b").is_err());
    }
}
