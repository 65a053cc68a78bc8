//! What each n8n node type becomes: [`classify`] picks the kind (or a stand-in, or leaves the node
//! out), [`configure`] turns its parameters into the kind's config, [`output_ports`] says which
//! port each of its n8n outputs is. Triggers and the simpler logic nodes are here; IF, Switch and
//! Set in `logic.rs`, the integrations in `integrations.rs`.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::expr::{self, Resolve};
use super::integrations;
use super::logic::{self, switch_layout};
use super::schedule;
use super::scope::Scope;
use super::{Class, N8nNode};
use crate::catalog::kinds;
use crate::graph::DEFAULT_OUTPUT_PORT;

/// The reason a placeholder stands in for a node type with no equivalent.
fn no_equivalent(node: &N8nNode) -> String {
    format!("{} has no equivalent here; a placeholder that passes its input on stands in for it", node.n8n_type)
}

fn placeholder(reason: String) -> Class {
    Class::StandIn { kind: kinds::LOGIC_DELAY, reason }
}

/// An AI Agent or Basic LLM Chain node, whose model is a sub-node.
pub(super) fn is_agent(node: &N8nNode) -> bool {
    matches!(node.n8n_type.as_str(), "@n8n/n8n-nodes-langchain.agent" | "@n8n/n8n-nodes-langchain.chainLlm")
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
    if matches!(n8n_type, "@n8n/n8n-nodes-langchain.agent" | "@n8n/n8n-nodes-langchain.chainLlm") {
        // a chat step when its language model is OpenAI's (checked against its sub-nodes)
        return Class::Kind(kinds::OPENAI_CHAT);
    }
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
        "if" | "filter" => Class::Kind(kinds::LOGIC_CONDITION),
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
        "gmail" => {
            match (node.param_str("resource").unwrap_or("message"), node.param_str("operation").unwrap_or("send")) {
                ("message", "send") => Class::Kind(kinds::EMAIL_SEND),
                (resource, operation) => placeholder(format!(
                    "the Gmail {resource} {operation} operation has no equivalent (only sending does); a placeholder \
                 that passes its input on stands in for it"
                )),
            }
        }
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

/// The config of a node that maps to `kind`.
pub(super) fn configure(kind: &str, node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    match kind {
        kinds::TRIGGER_WEBHOOK => webhook(node, scope),
        kinds::TRIGGER_MANUAL => stand_in_config(kind, node, scope.pinned),
        kinds::TRIGGER_SCHEDULE => schedule_config(node, scope),
        kinds::LOGIC_CONDITION => logic::condition(node, scope),
        kinds::LOGIC_SWITCH => logic::switch(node, scope),
        kinds::LOGIC_MERGE => merge(node, scope),
        kinds::LOGIC_DELAY => delay(node, scope),
        kinds::LOGIC_FOR_EACH => for_each(node, scope),
        kinds::DATA_TRANSFORM => logic::transform(node, scope),
        kinds::WEBHOOK_RESPOND => respond(node, scope),
        kinds::HTTP_REQUEST => integrations::http(node, scope),
        kinds::SLACK_POST_MESSAGE => integrations::slack(node, scope),
        kinds::SHEETS_APPEND | kinds::SHEETS_READ => integrations::sheets(kind, node, scope),
        kinds::OPENAI_CHAT if is_agent(node) => integrations::agent(node, scope),
        kinds::OPENAI_CHAT => integrations::openai(node, scope),
        kinds::EMAIL_SEND if node.short_type() == "gmail" => integrations::gmail(node, scope),
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

fn merge(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mode = node.param_str("mode").unwrap_or("append");
    // n8n's items from both inputs become one value here: say so, whatever the mode
    let how = match mode {
        "append" => "appended the items of its inputs, so the nodes after it ran once per item".to_owned(),
        other => format!("merged in {other} mode"),
    };
    scope.warn(
        None,
        format!(
            "n8n {how}; here a merge waits for its branches and outputs one value, each branch's output by node id \
             (`input.<node id>` after it): check the expressions of the steps after it"
        ),
    );
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

/// A number as JSON, whole numbers without a fraction (`300`, not `300.0`).
pub(super) fn number(value: f64) -> Value {
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
