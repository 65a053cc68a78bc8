//! The n8n integration nodes that have a kind here: HTTP Request, Slack, Google Sheets, OpenAI and
//! Send Email. Credentials become secret references (the catalog's names for the services:
//! `SLACK_TOKEN`, `GOOGLE_SHEETS_TOKEN`, `OPENAI_API_KEY`, `SMTP_PASSWORD`; an HTTP credential is
//! named after the n8n credential).

use serde_json::{Map, Value, json};

use super::scope::Scope;
use super::{Class, N8nNode, slug};
use crate::catalog::kinds;

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

fn placeholder(reason: String) -> Class {
    Class::StandIn {
        kind: kinds::LOGIC_DELAY,
        reason: format!("{reason}; a placeholder that passes its input on stands in for it"),
    }
}

pub(super) fn classify_slack(node: &N8nNode) -> Class {
    let resource = node.param_str("resource").unwrap_or("message");
    let operation = node.param_str("operation").unwrap_or("post");
    if resource == "message" && operation == "post" {
        Class::Kind(kinds::SLACK_POST_MESSAGE)
    } else {
        placeholder(format!("the Slack {resource} {operation} operation has no equivalent (only posting a message)"))
    }
}

pub(super) fn classify_sheets(node: &N8nNode) -> Class {
    match node.param_str("operation").unwrap_or("read") {
        "append" | "appendOrUpdate" => Class::Kind(kinds::SHEETS_APPEND),
        "read" | "lookup" => Class::Kind(kinds::SHEETS_READ),
        other => placeholder(format!("the Google Sheets {other} operation has no equivalent (only append and read)")),
    }
}

pub(super) fn classify_openai(node: &N8nNode) -> Class {
    let langchain = node.n8n_type.starts_with("@n8n/");
    let resource = node.param_str("resource").unwrap_or("text");
    let operation = node.param_str("operation");
    let chat = if langchain {
        resource == "text" && operation.unwrap_or("message") == "message"
    } else {
        matches!(resource, "chat" | "text") && operation.unwrap_or("complete") == "complete"
    };
    if chat {
        Class::Kind(kinds::OPENAI_CHAT)
    } else {
        let operation = operation.unwrap_or_default();
        placeholder(format!("the OpenAI {resource} {operation} operation has no equivalent (only chat)"))
    }
}

/// `[{name, value}, …]` of a key-value list parameter, translated, as an object.
fn pairs(scope: &mut Scope<'_>, list: Option<&Value>, field: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for pair in list.and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = pair.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) else { continue };
        let value = pair.get("value").cloned().unwrap_or(Value::Null);
        let value = scope.value(&format!("{field}.{name}"), &value);
        out.insert(name.to_owned(), value);
    }
    out
}

/// A JSON-text parameter that should hold an object (`jsonHeaders`), translated.
fn json_object(scope: &mut Scope<'_>, value: Option<&Value>, field: &str) -> Map<String, Value> {
    let Some(value) = value else { return Map::new() };
    match scope.json_template(field, value) {
        Value::Object(map) => map,
        _ => {
            scope.warn(Some(field), "not a JSON object; left empty");
            Map::new()
        }
    }
}

fn nested<'v>(value: Option<&'v Value>, key: &str) -> Option<&'v Value> {
    value.and_then(|value| value.get(key))
}

pub(super) fn http(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    let modern = node.type_version >= 3.0;
    let method_key = if modern { "method" } else { "requestMethod" };
    let method = scope.param(node, method_key, "method").unwrap_or(json!("GET"));
    let method = match method {
        Value::String(text) if METHODS.contains(&text.to_ascii_uppercase().as_str()) => {
            json!(text.to_ascii_uppercase())
        }
        Value::String(text) if text.contains("{{") => json!(text),
        other => {
            scope.warn(Some("method"), format!("the method {other} is not supported; GET instead"));
            json!("GET")
        }
    };
    config.insert("method".into(), method);

    let (headers, query, body) = if modern {
        let headers = if node.param("sendHeaders").and_then(Value::as_bool).unwrap_or(false) {
            match node.param_str("specifyHeaders").unwrap_or("keypair") {
                "json" => json_object(scope, node.param("jsonHeaders"), "headers"),
                _ => pairs(scope, nested(node.param("headerParameters"), "parameters"), "headers"),
            }
        } else {
            Map::new()
        };
        let query = if node.param("sendQuery").and_then(Value::as_bool).unwrap_or(false) {
            match node.param_str("specifyQuery").unwrap_or("keypair") {
                "json" => json_object(scope, node.param("jsonQuery"), "url"),
                _ => pairs(scope, nested(node.param("queryParameters"), "parameters"), "url"),
            }
        } else {
            Map::new()
        };
        let body = if node.param("sendBody").and_then(Value::as_bool).unwrap_or(false) {
            modern_body(node, scope)
        } else {
            None
        };
        (headers, query, body)
    } else {
        let json_parameters = node.param("jsonParameters").and_then(Value::as_bool).unwrap_or(false);
        if json_parameters {
            let headers = json_object(scope, node.param("headerParametersJson"), "headers");
            let query = json_object(scope, node.param("queryParametersJson"), "url");
            let body = node.param("bodyParametersJson").map(|body| scope.json_template("body", body));
            (headers, query, body)
        } else {
            let headers = pairs(scope, nested(node.param("headerParametersUi"), "parameter"), "headers");
            let query = pairs(scope, nested(node.param("queryParametersUi"), "parameter"), "url");
            let body = pairs(scope, nested(node.param("bodyParametersUi"), "parameter"), "body");
            (headers, query, (!body.is_empty()).then_some(Value::Object(body)))
        }
    };

    let url = scope.param(node, "url", "url").unwrap_or(Value::String(String::new()));
    let url = match url {
        Value::String(url) if !query.is_empty() => Value::String(with_query(&url, &query)),
        other => other,
    };
    config.insert("url".into(), url);
    let mut headers = headers;
    authentication(node, scope, &mut headers);
    // a form body is sent as n8n sends it: urlencoded text with its content type
    let body = match body {
        Some(body) if modern && node.param_str("contentType") == Some("form-urlencoded") => {
            if !headers.keys().any(|name| name.eq_ignore_ascii_case("content-type")) {
                headers.insert("Content-Type".into(), json!("application/x-www-form-urlencoded"));
            }
            match body {
                Value::Object(pairs) => Some(Value::String(encoded_pairs(&pairs))),
                other => Some(other),
            }
        }
        other => other,
    };
    config.insert("headers".into(), Value::Object(headers));
    if let Some(body) = body {
        config.insert("body".into(), body);
    }
    if let Some(timeout) = nested(node.param("options"), "timeout").and_then(Value::as_f64) {
        config.insert("timeout_seconds".into(), json!((timeout / 1000.0).clamp(0.1, 86_400.0)));
    }
    config
}

fn modern_body(node: &N8nNode, scope: &mut Scope<'_>) -> Option<Value> {
    let content_type = node.param_str("contentType").unwrap_or("json");
    match content_type {
        "json" | "form-urlencoded" | "multipart-form-data" => {
            if content_type == "multipart-form-data" {
                scope.warn(Some("body"), format!("n8n sent the body as {content_type}; here it is sent as JSON"));
            }
            match node.param_str("specifyBody").unwrap_or("keypair") {
                "json" => node.param("jsonBody").map(|body| scope.json_template("body", body)),
                "string" => scope.param(node, "body", "body"),
                _ => Some(Value::Object(pairs(scope, nested(node.param("bodyParameters"), "parameters"), "body"))),
            }
        }
        "raw" => {
            scope.warn(Some("body"), "n8n sent a raw body; here the body is sent as JSON");
            scope.param(node, "body", "body")
        }
        other => {
            scope.warn(Some("body"), format!("a {other} body has no equivalent; left out"));
            None
        }
    }
}

/// The url with the query appended.
fn with_query(url: &str, query: &Map<String, Value>) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{}", encoded_pairs(query))
}

/// `name=value&…` as a query string or a form body: literal parts percent-encoded, expressions
/// through `urlencode`.
fn encoded_pairs(pairs: &Map<String, Value>) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&percent_encode(name));
        out.push('=');
        let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
        out.push_str(&encoded_template(&text));
    }
    out
}

/// Text that may hold expressions, encoded for a query string or a form: the literal parts
/// percent-encoded, each `{{ … }}` through `urlencode`.
fn encoded_template(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else { break };
        out.push_str(&percent_encode(&rest[..open]));
        out.push_str(&format!("{{{{ ({})|urlencode }}}}", rest[open + 2..open + 2 + close].trim()));
        rest = &rest[open + 2 + close + 2..];
    }
    out.push_str(&percent_encode(rest));
    out
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A header carrying the node's credential, named after the n8n credential.
fn authentication(node: &N8nNode, scope: &mut Scope<'_>, headers: &mut Map<String, Value>) {
    let authentication = node.param_str("authentication").unwrap_or("none");
    let auth_type = match authentication {
        "none" => return,
        "genericCredentialType" => node.param_str("genericAuthType").unwrap_or("httpHeaderAuth"),
        "predefinedCredentialType" => node.param_str("nodeCredentialType").unwrap_or("oAuth2Api"),
        other => other,
    };
    let credential_name = node
        .credentials
        .get(auth_type)
        .or_else(|| node.credentials.values().next())
        .and_then(|credential| credential.get("name"))
        .and_then(Value::as_str);
    let default = credential_name.map(|name| slug(name).to_uppercase()).unwrap_or_else(|| "HTTP_API_KEY".into());
    let types = [auth_type];
    let (value, note) = match auth_type {
        "httpHeaderAuth" | "headerAuth" => {
            let secret = scope.secret(node, &types, &default);
            (secret, "n8n keeps the header's name in the credential; rename the header if it is not Authorization")
        }
        "httpBasicAuth" | "basicAuth" => {
            let secret = scope.secret(node, &types, &default);
            (format!("Basic {secret}"), "the secret must hold base64 of user:password")
        }
        "httpQueryAuth" | "httpDigestAuth" | "oAuth1Api" | "oAuth1" | "httpCustomAuth" => {
            scope.warn(Some("headers"), format!("{auth_type} authentication has no equivalent; add it to the request"));
            return;
        }
        _ => {
            let secret = scope.secret(node, &types, &default);
            (format!("Bearer {secret}"), "the secret must hold an access token")
        }
    };
    headers.insert("Authorization".into(), Value::String(value));
    scope.warn(Some("headers.Authorization"), format!("from the n8n {auth_type} credential: {note}"));
}

pub(super) fn slack(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    let token = scope.secret(node, &["slackApi", "slackOAuth2Api"], "SLACK_TOKEN");
    config.insert("token".into(), Value::String(token));
    let channel = if node.type_version >= 2.0 {
        let locator = if node.param_str("select") == Some("user") {
            scope.warn(Some("channel"), "n8n messaged a user; the channel is that user's id");
            node.param("user")
        } else {
            node.param("channelId")
        };
        match locator {
            Some(Value::Object(rl)) => {
                let mode = rl.get("mode").and_then(Value::as_str).unwrap_or("id");
                let value = rl.get("value").cloned().unwrap_or(Value::Null);
                match (mode, value) {
                    ("name", Value::String(name)) if !name.starts_with('=') && !name.starts_with('#') => {
                        json!(format!("#{name}"))
                    }
                    (_, value) => scope.value("channel", &value),
                }
            }
            Some(other) => scope.value("channel", other),
            None => Value::Null,
        }
    } else {
        scope.param(node, "channel", "channel").unwrap_or(Value::Null)
    };
    if channel.as_str().is_none_or(|text| text.trim().is_empty()) {
        scope.warn(Some("channel"), "no channel; set one");
    }
    config.insert("channel".into(), channel);
    let text = scope.param(node, "text", "text").unwrap_or(Value::String(String::new()));
    if text.as_str().is_none_or(|text| text.trim().is_empty()) {
        scope.warn(Some("text"), "no message text (n8n blocks and attachments are not imported); write one");
    }
    config.insert("text".into(), text);
    let has_extras = ["attachments", "blocksUi"].iter().any(|key| {
        node.param(key).is_some_and(|value| !matches!(value, Value::Null) && value != &json!([]) && value != &json!(""))
    });
    if has_extras {
        scope.warn(Some("text"), "blocks and attachments are not imported; only the text is posted");
    }
    config
}

pub(super) fn sheets(kind: &str, node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    let token = scope.secret(node, &["googleSheetsOAuth2Api", "googleApi"], "GOOGLE_SHEETS_TOKEN");
    config.insert("token".into(), Value::String(token));
    let modern = node.type_version >= 3.0;
    let spreadsheet = if modern {
        match node.param("documentId") {
            Some(Value::Object(rl)) => {
                let value = rl.get("value").cloned().unwrap_or(Value::Null);
                match (rl.get("mode").and_then(Value::as_str), &value) {
                    (Some("url"), Value::String(url)) if !url.starts_with('=') => {
                        json!(spreadsheet_id_from_url(url).unwrap_or(url))
                    }
                    _ => scope.value("spreadsheet_id", &value),
                }
            }
            Some(other) => scope.value("spreadsheet_id", other),
            None => Value::Null,
        }
    } else {
        scope.param(node, "sheetId", "spreadsheet_id").unwrap_or(Value::Null)
    };
    if spreadsheet.as_str().is_none_or(|text| text.trim().is_empty()) {
        scope.warn(Some("spreadsheet_id"), "no spreadsheet; set its id");
    }
    config.insert("spreadsheet_id".into(), spreadsheet);
    let range = if modern {
        match node.param("sheetName") {
            Some(Value::Object(rl)) => {
                let cached = rl.get("cachedResultName").and_then(Value::as_str);
                let mode = rl.get("mode").and_then(Value::as_str).unwrap_or("list");
                match (cached, mode, rl.get("value")) {
                    (Some(name), _, _) => Some(json!(name)),
                    (None, "name", Some(value)) => Some(scope.value("range", value)),
                    _ => {
                        scope.warn(Some("range"), "the sheet is known only by its number; set its name");
                        None
                    }
                }
            }
            Some(other) => Some(scope.value("range", other)),
            None => None,
        }
    } else {
        scope.param(node, "range", "range")
    };
    if let Some(range) = range {
        config.insert("range".into(), range);
    }
    let operation = node.param_str("operation").unwrap_or("read");
    match operation {
        "appendOrUpdate" => scope.warn(None, "n8n appended or updated rows; here rows are only appended"),
        "lookup" => scope.warn(None, "n8n looked rows up; here every row is read (filter them after)"),
        _ => {}
    }
    if kind == kinds::SHEETS_READ && nested(node.param("filtersUI"), "values").is_some() {
        scope.warn(None, "filters are not imported; every row is read");
    }
    if kind == kinds::SHEETS_APPEND {
        let columns = node.param("columns");
        let mode = nested(columns, "mappingMode").and_then(Value::as_str).unwrap_or("autoMapInputData");
        if mode == "defineBelow"
            && let Some(Value::Object(values)) = nested(columns, "value")
        {
            let values: Map<String, Value> = values
                .iter()
                .map(|(column, value)| (column.clone(), scope.value(&format!("values.{column}"), value)))
                .collect();
            config.insert("values".into(), Value::Object(values));
        }
    }
    config
}

fn spreadsheet_id_from_url(url: &str) -> Option<&str> {
    let after = url.split_once("/d/")?.1;
    let id = after.split(['/', '?', '#']).next()?;
    (!id.is_empty()).then_some(id)
}

pub(super) fn openai(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    let key = scope.secret(node, &["openAiApi"], "OPENAI_API_KEY");
    config.insert("api_key".into(), Value::String(key));
    let langchain = node.n8n_type.starts_with("@n8n/");
    let model = scope.param(node, if langchain { "modelId" } else { "model" }, "model");
    if let Some(model) = model.filter(|m| m.as_str().is_some_and(|t| !t.is_empty())) {
        config.insert("model".into(), model);
    }
    let messages = if langchain {
        nested(node.param("messages"), "values").and_then(Value::as_array).cloned()
    } else if node.param_str("resource") == Some("chat") {
        nested(node.param("prompt"), "messages").and_then(Value::as_array).cloned()
    } else {
        node.param("prompt").filter(|p| p.is_string()).map(|p| vec![json!({"role": "user", "content": p})])
    };
    let mut system = Vec::new();
    let mut prompt = Vec::new();
    for (i, message) in messages.into_iter().flatten().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("user");
        let content = message.get("content").cloned().unwrap_or(Value::Null);
        let field = if role == "system" { "system" } else { "prompt" };
        let text = match scope.value(&format!("{field}[{i}]"), &content) {
            Value::String(text) => text,
            Value::Null => continue,
            other => other.to_string(),
        };
        if role == "assistant" {
            scope.warn(Some("prompt"), "an assistant message became part of the prompt");
        }
        if role == "system" { system.push(text) } else { prompt.push(text) }
    }
    if !system.is_empty() {
        config.insert("system".into(), Value::String(system.join("\n\n")));
    }
    if prompt.is_empty() {
        scope.warn(Some("prompt"), "no prompt; write one");
    }
    config.insert("prompt".into(), Value::String(prompt.join("\n\n")));
    if let Some(temperature) = nested(node.param("options"), "temperature").filter(|t| t.is_number()) {
        config.insert("temperature".into(), temperature.clone());
    }
    config
}

/// An AI Agent or Basic LLM Chain whose language model is OpenAI's chat model: one chat call with
/// the agent's prompt and system message and the model's name and temperature. Tools, memory and
/// output parsers have no equivalent and are reported.
pub(super) fn agent(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    let sub_nodes = scope.sub_nodes.clone();
    let model = sub_nodes.iter().find(|(kind, _)| *kind == "ai_languageModel").map(|(_, model)| *model);
    let key = match model {
        Some(model) => scope.secret(model, &["openAiApi"], "OPENAI_API_KEY"),
        None => scope.secret(node, &["openAiApi"], "OPENAI_API_KEY"),
    };
    config.insert("api_key".into(), Value::String(key));
    // the model is a name, or a resource locator `{ "__rl": true, "value": "gpt-4o-mini" }`
    let name = model.and_then(|model| model.param("model")).and_then(|m| m.get("value").or(Some(m)).cloned());
    if let Some(name) = name.filter(|m| m.as_str().is_some_and(|t| !t.is_empty())) {
        config.insert("model".into(), scope.value("model", &name));
    }
    let prompt = match node.param_str("promptType").unwrap_or("auto") {
        // "auto": the chat trigger's message, which a webhook sends as `chatInput`
        "auto" => Value::String("={{ $json.chatInput }}".into()),
        _ => node.param("text").cloned().unwrap_or(Value::String(String::new())),
    };
    config.insert("prompt".into(), scope.value("prompt", &prompt));
    if let Some(system) = nested(node.param("options"), "systemMessage").filter(|s| s.is_string()) {
        let system = scope.value("system", system);
        config.insert("system".into(), system);
    }
    if let Some(temperature) = model.and_then(|m| nested(m.param("options"), "temperature")).filter(|t| t.is_number()) {
        config.insert("temperature".into(), temperature.clone());
    }
    for (connection, what) in [
        ("ai_tool", "tools are not imported: the chat step answers without calling them"),
        ("ai_memory", "memory is not imported: each run is a new conversation"),
        ("ai_outputParser", "output parsers are not imported: the reply is text (content)"),
    ] {
        if sub_nodes.iter().any(|(kind, _)| *kind == connection) {
            scope.warn(None, what);
        }
    }
    config
}

/// Gmail's send: an SMTP send through Gmail's server, signed in with an app password.
pub(super) fn gmail(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    config.insert("base_url".into(), json!("smtp://smtp.gmail.com:587"));
    scope.warn(
        Some("username"),
        "n8n signs in to Gmail with OAuth; here Gmail is reached over SMTP: set the username and the from address \
         to the Gmail address, and the secret to an app password",
    );
    let password = scope.secret(node, &["gmailOAuth2", "googleApi"], "GMAIL_APP_PASSWORD");
    config.insert("password".into(), Value::String(password));
    config.insert("from".into(), Value::String(String::new()));
    for (key, field) in [("sendTo", "to"), ("subject", "subject"), ("message", "body")] {
        let value = scope.param(node, key, field).unwrap_or(Value::String(String::new()));
        config.insert(field.into(), value);
    }
    if node.param_str("emailType").unwrap_or("html") == "html" {
        scope.warn(Some("body"), "the HTML body is sent as plain text");
    }
    let options = node.param("options");
    if ["ccList", "bccList", "attachmentsUi", "replyTo", "senderName"].iter().any(|key| nested(options, key).is_some())
    {
        scope.warn(None, "cc, bcc, reply-to, sender name and attachments are not imported");
    }
    config
}

pub(super) fn email(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
    let mut config = Map::new();
    config.insert("base_url".into(), json!("smtp://smtp.example.com:587"));
    scope.warn(Some("base_url"), "n8n keeps the SMTP server in the credential; set the server and the username");
    let password = scope.secret(node, &["smtp"], "SMTP_PASSWORD");
    config.insert("password".into(), Value::String(password));
    for (key, field) in [("fromEmail", "from"), ("toEmail", "to"), ("subject", "subject")] {
        let value = scope.param(node, key, field).unwrap_or(Value::String(String::new()));
        config.insert(field.into(), value);
    }
    let format = node.param_str("emailFormat").unwrap_or(if node.type_version >= 2.0 { "text" } else { "both" });
    let text = scope.param(node, "text", "body");
    let html = scope.param(node, "html", "body");
    let body = match (format, text, html) {
        ("html", _, Some(html)) | (_, None, Some(html)) => {
            scope.warn(Some("body"), "the HTML body is sent as plain text");
            html
        }
        (_, Some(text), _) => text,
        _ => Value::String(String::new()),
    };
    config.insert("body".into(), body);
    let options = node.param("options");
    if ["ccEmail", "bccEmail", "attachments", "replyTo"].iter().any(|key| nested(options, key).is_some()) {
        scope.warn(None, "cc, bcc, reply-to and attachments are not imported");
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_and_urls() {
        let mut query = Map::new();
        query.insert("q".into(), json!("a b&c"));
        query.insert("page".into(), json!("{{ input.page }}"));
        assert_eq!(
            with_query("https://api.example.com/search", &query),
            "https://api.example.com/search?page={{ (input.page)|urlencode }}&q=a%20b%26c"
        );
        assert_eq!(encoded_pairs(&query), "page={{ (input.page)|urlencode }}&q=a%20b%26c");
        assert_eq!(
            encoded_template("size {{ input.size }} & {{input.n}}"),
            "size%20{{ (input.size)|urlencode }}%20%26%20{{ (input.n)|urlencode }}"
        );
        assert_eq!(spreadsheet_id_from_url("https://docs.google.com/spreadsheets/d/1AbC_x/edit#gid=0"), Some("1AbC_x"));
        assert_eq!(spreadsheet_id_from_url("https://example.com"), None);
    }
}
