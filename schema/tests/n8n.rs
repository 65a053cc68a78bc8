//! Imports hand-written n8n export files (`tests/fixtures/n8n/`) and checks the mapped workflows
//! exactly: kinds, edges and ports, configs, what is reported, and that each result validates,
//! compiles and roundtrips through the canonical export. Then bad input, and random input that
//! must never panic.

use std::collections::BTreeSet;

use aos_schema::{
    Catalog, MAX_EXPORT_BYTES, MAX_NODES, N8nError, N8nImport, ValidationError, WorkflowGraph, compile, from_n8n,
    from_n8n_value, import, looks_like_n8n, validate,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const FIXTURES: [&str; 6] =
    ["order-alerts", "weekly-digest", "tier-routing", "code-and-community", "legacy-cron", "loop-over-rows"];

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/n8n/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn fixture(name: &str) -> N8nImport {
    from_n8n(&fixture_bytes(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// `(id, kind)` of every node, sorted.
fn kinds(graph: &WorkflowGraph) -> Vec<(String, String)> {
    let mut kinds: Vec<_> = graph.nodes.iter().map(|n| (n.id.to_string(), n.kind.clone())).collect();
    kinds.sort();
    kinds
}

/// Every edge as `from:port->to:port`, sorted.
fn edges(graph: &WorkflowGraph) -> Vec<String> {
    let mut edges: Vec<_> =
        graph.edges.iter().map(|e| format!("{}:{}->{}:{}", e.from, e.from_port, e.to, e.to_port)).collect();
    edges.sort();
    edges
}

fn config(graph: &WorkflowGraph, id: &str) -> Value {
    let node = graph.node(id).unwrap_or_else(|| panic!("no node {id}"));
    Value::Object(node.config.clone())
}

fn owned(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

/// `(n8n name, placeholder)` of every unmapped node.
fn unmapped(result: &N8nImport) -> Vec<(String, Option<String>)> {
    result.unmapped.iter().map(|u| (u.node.clone(), u.placeholder.as_ref().map(ToString::to_string))).collect()
}

/// `(n8n name, field, message start)` checks: each listed warning is there.
fn has_warning(result: &N8nImport, node: &str, field: Option<&str>, starts: &str) -> bool {
    result
        .warnings
        .iter()
        .any(|w| w.node.as_deref() == Some(node) && w.field.as_deref() == field && w.message.starts_with(starts))
}

fn secret_names(result: &N8nImport) -> Vec<String> {
    result.secrets.iter().map(|s| s.name.clone()).collect()
}

#[test]
fn every_fixture_validates_compiles_and_roundtrips() {
    let catalog = Catalog::builtin();
    for name in FIXTURES {
        let result = fixture(name);
        assert!(looks_like_n8n(&serde_json::from_slice(&fixture_bytes(name)).unwrap()), "{name}");
        // what does not validate is exactly an expression the importer kept as written and said
        // so, on the same node and field: the studio shows it and publishing refuses it
        if let Err(errors) = validate(&result.file.graph, &catalog) {
            for error in errors.iter() {
                let ValidationError::BadExpression { node, field, .. } = error else {
                    panic!("{name}: {error}");
                };
                let n8n_name = &result.file.graph.node(node.as_str()).unwrap().label;
                assert!(
                    has_warning(&result, n8n_name, Some(field), "expression kept as written"),
                    "{name}: {error} without a warning"
                );
            }
            assert!(compile(&result.file.graph, &catalog).is_err(), "{name}: compile agrees");
        } else {
            compile(&result.file.graph, &catalog).unwrap_or_else(|errors| panic!("{name}: {errors:?}"));
        }
        let text = result.file.to_canonical_string().unwrap();
        let back = import(text.as_bytes()).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(back.graph.clone().sorted(), result.file.graph.clone().sorted(), "{name}");
        assert_eq!(back.to_canonical_string().unwrap(), text, "{name}");
        // the secrets listed are exactly the ones the workflow reads
        assert_eq!(result.file.required_secrets(), secret_names(&result), "{name}");
        // the same bytes always give the same result
        assert_eq!(fixture(name), result, "{name}");
    }
}

/// Every string holding `{{ … }}` in the configs, with the node id.
fn templates(result: &N8nImport) -> Vec<(String, String)> {
    fn walk(value: &Value, id: &str, out: &mut Vec<(String, String)>) {
        match value {
            Value::String(text) if text.contains("{{") => out.push((id.to_owned(), text.clone())),
            Value::Array(items) => items.iter().for_each(|item| walk(item, id, out)),
            Value::Object(map) => map.values().for_each(|item| walk(item, id, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for node in &result.file.graph.nodes {
        node.config.values().for_each(|value| walk(value, node.id.as_str(), &mut out));
    }
    out
}

/// Every translated expression parses as the engine reads it (`aos_schema::expression`); the ones
/// that do not are exactly those reported as kept verbatim (and validation refuses them).
fn assert_templates_parse(result: &N8nImport) {
    for (id, text) in templates(result) {
        let kept = result.warnings.iter().any(|w| {
            w.message.starts_with("expression kept as written")
                && text.contains(w.message.rsplit_once(": ").map_or("", |(_, block)| block))
        });
        if kept {
            continue;
        }
        if let Err(error) = aos_schema::expression::check_syntax(&text) {
            panic!("{id}: {text:?} does not parse: {error:?}");
        }
    }
}

/// The ids of the nodes with a path to `id`.
fn upstream(graph: &WorkflowGraph, id: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![id.to_owned()];
    while let Some(at) = stack.pop() {
        for edge in graph.incoming(&at) {
            if seen.insert(edge.from.to_string()) {
                stack.push(edge.from.to_string());
            }
        }
    }
    seen
}

#[test]
fn every_translated_expression_parses_and_reads_steps_before_it() {
    for name in FIXTURES {
        let result = fixture(name);
        assert_templates_parse(&result);
        for (id, text) in templates(&result) {
            let before = upstream(&result.file.graph, &id);
            for after in text.split("steps.").skip(1) {
                let step: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                assert!(before.contains(&step), "{name}: {id} reads steps.{step}, which is not before it");
            }
        }
    }
}

#[test]
fn every_condition_operation_translates_to_an_expression_that_parses() {
    let operations: [(&str, &[&str]); 4] = [
        (
            "string",
            &[
                "equals",
                "notEquals",
                "contains",
                "notContains",
                "startsWith",
                "notStartsWith",
                "endsWith",
                "notEndsWith",
                "exists",
                "notExists",
                "empty",
                "notEmpty",
            ],
        ),
        ("number", &["equals", "notEquals", "gt", "gte", "lt", "lte", "empty", "notEmpty"]),
        ("boolean", &["true", "false", "equals", "notEquals"]),
        (
            "array",
            &[
                "contains",
                "notContains",
                "lengthEquals",
                "lengthNotEquals",
                "lengthGt",
                "lengthLt",
                "lengthGte",
                "lengthLte",
                "empty",
                "notEmpty",
            ],
        ),
    ];
    let mut nodes = vec![node("Go", "manualTrigger", json!({}))];
    let mut connections = serde_json::Map::new();
    for (data_type, names) in operations {
        for operation in names {
            let name = format!("{data_type} {operation}");
            let mut condition = node(
                &name,
                "if",
                json!({"conditions": {
                    "options": {"caseSensitive": false},
                    "conditions": [{"leftValue": "={{ $json.left }}", "rightValue": "=x{{ $json.right }}",
                                    "operator": {"type": data_type, "operation": operation}}]}}),
            );
            condition["typeVersion"] = json!(2.2);
            nodes.push(condition);
            let outputs = connections.entry("Go").or_insert_with(|| json!({"main": [[]]}));
            outputs["main"][0].as_array_mut().unwrap().push(json!({"node": name, "type": "main", "index": 0}));
        }
    }
    for (data_type, operation) in [("string", "startsWith"), ("number", "smallerEqual"), ("boolean", "notEqual")] {
        let name = format!("v1 {data_type} {operation}");
        nodes.push(node(
            &name,
            "if",
            json!({"conditions": {data_type: [{"value1": "={{ $json.a }}", "operation": operation, "value2": "5"}]},
                   "combineOperation": "any"}),
        ));
        let outputs = connections.entry("Go").or_insert_with(|| json!({"main": [[]]}));
        outputs["main"][0].as_array_mut().unwrap().push(json!({"node": name, "type": "main", "index": 0}));
    }
    let result = from_n8n(&workflow(json!(nodes), Value::Object(connections))).unwrap();
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    validate(&result.file.graph, &Catalog::builtin()).unwrap();
    assert_templates_parse(&result);
    assert_eq!(
        config(&result.file.graph, "string_startswith"),
        json!({"condition": "{{ input.left|lower is startingwith((\"x\" ~ input.right)|lower) }}"})
    );
    assert_eq!(config(&result.file.graph, "v1_number_smallerequal"), json!({"condition": "{{ input.a <= 5 }}"}));
}

#[test]
fn webhook_condition_slack_and_sheets() {
    let result = fixture("order-alerts");
    let graph = &result.file.graph;
    assert_eq!(result.file.name, "Big orders to Slack, others to Sheets");
    assert_eq!(result.file.tags, vec!["sales"]);
    assert_eq!(
        kinds(graph),
        owned(&[
            ("is_it_big", "logic.condition"),
            ("log_order", "sheets.append"),
            ("order_webhook", "trigger.webhook"),
            ("respond", "webhook.respond"),
            ("tell_sales", "slack.post_message"),
        ])
    );
    assert_eq!(
        edges(graph),
        vec![
            "is_it_big:false->log_order:in",
            "is_it_big:true->tell_sales:in",
            "log_order:out->respond:in",
            "order_webhook:out->is_it_big:in",
            "tell_sales:out->respond:in",
        ]
    );
    let webhook = graph.node("order_webhook").unwrap();
    assert_eq!(webhook.label, "Order Webhook");
    // n8n's layout, spread for our wider nodes
    assert_eq!((webhook.position.x, webhook.position.y), (360.0, 375.0));
    assert_eq!(
        config(graph, "order_webhook"),
        json!({"sample": {"id": "A-1041", "total": 250, "currency": "EUR",
                          "customer": {"name": "Sam", "email": "sam@example.com"}}})
    );
    assert_eq!(
        config(graph, "is_it_big"),
        json!({"condition": "{{ (input.body.total > 100) and (input.body.currency == \"EUR\") }}"})
    );
    assert_eq!(
        config(graph, "tell_sales"),
        json!({
            "channel": "#sales",
            "text": concat!(
                ":tada: Big order {{ input.body.id }} from {{ input.body.customer.name }}: ",
                "{{ input.body.total }} EUR"
            ),
            "token": "{{ secrets.SLACK_TOKEN }}"
        })
    );
    assert_eq!(
        config(graph, "log_order"),
        json!({
            "range": "Orders",
            "spreadsheet_id": "1q2w3e4r5t6y7u8i9o0p",
            "token": "{{ secrets.GOOGLE_SHEETS_TOKEN }}",
            "values": {
                "Customer": "{{ steps.order_webhook.output.body.customer.email }}",
                "Order": "{{ input.body.id }}",
                "Total": "{{ input.body.total }}"
            }
        })
    );
    assert_eq!(
        config(graph, "respond"),
        json!({"body": {"order": "{{ steps.order_webhook.output.body.id }}", "received": true}, "status": 200})
    );
    assert!(result.unmapped.is_empty());
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    assert_eq!(secret_names(&result), vec!["GOOGLE_SHEETS_TOKEN", "SLACK_TOKEN"]);
    let slack = &result.secrets[1];
    assert_eq!(slack.n8n_credential_type.as_deref(), Some("slackApi"));
    assert_eq!(slack.n8n_credential_name.as_deref(), Some("Acme Slack bot"));
    assert_eq!(slack.nodes, vec!["tell_sales".into()]);
}

#[test]
fn schedule_http_transform_openai_email() {
    let result = fixture("weekly-digest");
    let graph = &result.file.graph;
    assert_eq!(
        kinds(graph),
        owned(&[
            ("email_team", "email.send"),
            ("every_monday", "trigger.schedule"),
            ("fetch_metrics", "http.request"),
            ("pick_fields", "data.transform"),
            ("summarize", "openai.chat"),
        ])
    );
    assert_eq!(
        edges(graph),
        vec![
            "every_monday:out->fetch_metrics:in",
            "fetch_metrics:out->pick_fields:in",
            "pick_fields:out->summarize:in",
            "summarize:out->email_team:in",
        ]
    );
    assert_eq!(config(graph, "every_monday"), json!({"cron": "0 8 * * MON", "timezone": "Europe/Berlin"}));
    // n8n's schedule `timestamp` is our `fired_at`; query values go through urlencode
    assert_eq!(
        config(graph, "fetch_metrics"),
        json!({
            "headers": {"Accept": "application/json", "Authorization": "{{ secrets.METRICS_API_KEY }}"},
            "method": "GET",
            "timeout_seconds": 10.0,
            "url": "https://metrics.example.com/api/weekly?since={{ (input.fired_at)|urlencode }}&team=growth"
        })
    );
    // behind an HTTP request n8n's item is the body; ours is {status, headers, body}
    assert_eq!(
        config(graph, "pick_fields"),
        json!({"fields": {
            "signups": "{{ input.body.data.signups }}",
            "target": 120,
            "team": "growth",
            "week": "Week of {{ input.body.data.week_start }}"
        }})
    );
    assert_eq!(
        config(graph, "summarize"),
        json!({
            "api_key": "{{ secrets.OPENAI_API_KEY }}",
            "model": "gpt-4o-mini",
            "prompt": concat!(
                "Summarize: {{ input.week }}, {{ input.signups }} signups against a target of ",
                "{{ input.target }}."
            ),
            "system": "You write short, friendly weekly summaries.",
            "temperature": 0.3
        })
    );
    // n8n's `message.content` of an OpenAI reply is our `content`; `$now` has no translation
    assert_eq!(
        config(graph, "email_team"),
        json!({
            "base_url": "smtp://smtp.example.com:587",
            "body": "{{ input.content }}\n\nSent {{ now|format_date(\"%Y-%m-%d\", \"Europe/Berlin\") }}",
            "from": "reports@example.com",
            "password": "{{ secrets.SMTP_PASSWORD }}",
            "subject": "{{ steps.pick_fields.output.week }}: weekly digest",
            "to": "growth@example.com"
        })
    );
    assert!(result.unmapped.is_empty());
    // Luxon's formatting in the workflow's time zone is translated, not kept
    assert!(!has_warning(&result, "Email Team", Some("body"), "expression kept as written"));
    assert!(has_warning(&result, "Email Team", Some("base_url"), "n8n keeps the SMTP server"));
    assert!(has_warning(&result, "Fetch Metrics", Some("headers.Authorization"), "from the n8n httpHeaderAuth"));
    assert_eq!(result.warnings.len(), 2, "{:?}", result.warnings);
    assert_eq!(secret_names(&result), vec!["METRICS_API_KEY", "OPENAI_API_KEY", "SMTP_PASSWORD"]);
    assert_eq!(result.secrets[0].n8n_credential_name.as_deref(), Some("Metrics API key"));
}

#[test]
fn switch_with_three_cases_a_fallback_and_a_merge() {
    let result = fixture("tier-routing");
    let graph = &result.file.graph;
    assert_eq!(
        kinds(graph),
        owned(&[
            ("bronze_offer", "data.transform"),
            ("by_tier", "logic.switch"),
            ("gold_offer", "data.transform"),
            ("merge", "logic.merge"),
            ("save_offers", "http.request"),
            ("silver_offer", "data.transform"),
            ("unknown_tier", "slack.post_message"),
            ("when_clicking_test_workflow", "trigger.manual"),
        ])
    );
    // output 0 was renamed VIP in n8n; the others take their value's name; the extra output is
    // the fallback; Merge's inputs 0, 1 and 2 are all `in`
    assert_eq!(
        edges(graph),
        vec![
            "bronze_offer:out->merge:in",
            "by_tier:bronze->bronze_offer:in",
            "by_tier:default->unknown_tier:in",
            "by_tier:silver->silver_offer:in",
            "by_tier:vip->gold_offer:in",
            "gold_offer:out->merge:in",
            "merge:out->save_offers:in",
            "silver_offer:out->merge:in",
            "when_clicking_test_workflow:out->by_tier:in",
        ]
    );
    assert_eq!(
        config(graph, "by_tier"),
        json!({"cases": {"bronze": "bronze", "silver": "silver", "vip": "gold"}, "value": "{{ input.tier }}"})
    );
    assert_eq!(config(graph, "gold_offer"), json!({"fields": {"customer": "{{ input.email }}", "discount": 20}}));
    assert_eq!(
        config(graph, "save_offers"),
        json!({"body": {"offers": "{{ input }}", "source": "n8n"}, "headers": {}, "method": "POST",
               "url": "https://crm.example.com/api/offers"})
    );
    assert_eq!(
        config(graph, "when_clicking_test_workflow"),
        json!({"sample_input": {"email": "ana@example.com", "tier": "gold"}})
    );
    assert_eq!(graph.node("when_clicking_test_workflow").unwrap().label, "When clicking ‘Test workflow’");
    assert!(result.unmapped.is_empty());
    assert!(has_warning(&result, "Bronze Offer", Some("fields"), "n8n kept the input's other fields"));
    // n8n's append mode ran the nodes after the merge once per item; here they get one value
    let merge = result.warnings.iter().find(|w| w.node.as_deref() != Some("Bronze Offer")).expect("the merge's");
    assert!(merge.message.starts_with("n8n appended the items of its inputs"), "{merge:?}");
    assert_eq!(result.warnings.len(), 2);
    // a Slack node without a credential still needs a token
    assert_eq!(secret_names(&result), vec!["SLACK_TOKEN"]);
}

#[test]
fn code_function_and_community_nodes_become_placeholders() {
    let result = fixture("code-and-community");
    let graph = &result.file.graph;
    assert_eq!(
        kinds(graph),
        owned(&[
            ("acme_crm", "logic.delay"),
            ("clean_email", "logic.delay"),
            ("domain", "logic.delay"),
            ("save_signup", "http.request"),
            ("signup", "trigger.webhook"),
        ])
    );
    // the second trigger's edge now leaves the kept one (and is the same edge)
    assert_eq!(
        edges(graph),
        vec![
            "acme_crm:out->save_signup:in",
            "clean_email:out->domain:in",
            "domain:out->acme_crm:in",
            "signup:out->clean_email:in",
        ]
    );
    for placeholder in ["acme_crm", "clean_email", "domain"] {
        assert_eq!(config(graph, placeholder), json!({"seconds": 0}), "{placeholder}");
    }
    assert_eq!(graph.node("clean_email").unwrap().label, "Clean Email");
    assert_eq!(
        unmapped(&result),
        vec![
            ("Sticky Note".to_owned(), None),
            ("Test by hand".to_owned(), None),
            ("Clean Email".to_owned(), Some("clean_email".to_owned())),
            ("Domain".to_owned(), Some("domain".to_owned())),
            ("Acme CRM".to_owned(), Some("acme_crm".to_owned())),
            ("Alert Ops".to_owned(), None),
        ]
    );
    let types: Vec<&str> = result.unmapped.iter().map(|u| u.n8n_type.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "n8n-nodes-base.stickyNote",
            "n8n-nodes-base.manualTrigger",
            "n8n-nodes-base.code",
            "n8n-nodes-base.function",
            "n8n-nodes-acme-crm.acmeCrm",
            "n8n-nodes-base.slack",
        ]
    );
    assert!(result.unmapped[2].reason.starts_with("it runs code (code)"));
    assert!(result.unmapped[1].reason.contains("now follow \"Signup\""));
    assert!(result.unmapped[5].reason.starts_with("no step leads to it"));
    assert_eq!(
        config(graph, "save_signup"),
        json!({
            "body": {"company": "{{ input.company.name }}", "seen_at": "{{ now }}"},
            "headers": {},
            "method": "POST",
            "url": "https://api.example.com/signups/{{ steps.clean_email.output.email }}"
        })
    );
    assert!(!has_warning(&result, "Save Signup", Some("body.seen_at"), "expression kept as written"));
    assert!(has_warning(&result, "Save Signup", None, "output 1 has no equivalent here"));
    // the Slack node that was left out needs no token
    assert!(result.secrets.is_empty());
}

#[test]
fn old_format_with_cron_set_v1_if_v1_switch_v1_and_wait() {
    let result = fixture("legacy-cron");
    let graph = &result.file.graph;
    assert_eq!(
        kinds(graph),
        owned(&[
            ("cron", "trigger.schedule"),
            ("http_request", "http.request"),
            ("if", "logic.condition"),
            ("noop", "logic.delay"),
            ("send_email", "email.send"),
            ("set", "data.transform"),
            ("switch", "logic.switch"),
            ("wait", "logic.delay"),
        ])
    );
    assert_eq!(
        edges(graph),
        vec![
            "cron:out->http_request:in",
            "http_request:out->set:in",
            "if:false->wait:in",
            "if:true->switch:in",
            "set:out->if:in",
            "switch:critical->send_email:in",
            "switch:default->noop:in",
            "switch:warning->send_email:in",
            "wait:out->noop:in",
        ]
    );
    assert_eq!(config(graph, "cron"), json!({"cron": "30 9 * * MON"}));
    assert_eq!(
        config(graph, "http_request"),
        json!({"headers": {"Accept": "application/json"}, "method": "GET",
               "url": "https://billing.example.com/api/invoices/overdue"})
    );
    assert_eq!(
        config(graph, "set"),
        json!({"fields": {
            "checked": true,
            "count": "{{ input.body.invoices|length }}",
            "oldest": "{{ input.body.invoices[0].id }}",
            "status": "{{ steps.http_request.output.body.status }}"
        }})
    );
    assert_eq!(config(graph, "if"), json!({"condition": "{{ input.count > 0 }}"}));
    assert_eq!(
        config(graph, "switch"),
        json!({"cases": {"critical": "critical", "warning": "warning"}, "value": "{{ input.status }}"})
    );
    assert_eq!(config(graph, "wait"), json!({"seconds": 300}));
    assert_eq!(config(graph, "noop"), json!({"seconds": 0}));
    assert_eq!(
        config(graph, "send_email"),
        json!({
            "base_url": "smtp://smtp.example.com:587",
            "body": "Oldest overdue invoice: {{ steps.set.output.oldest }}",
            "from": "billing@example.com",
            "password": "{{ secrets.SMTP_PASSWORD }}",
            "subject": "Overdue invoices: {{ steps.set.output.count }}",
            "to": "finance@example.com"
        })
    );
    assert!(result.unmapped.is_empty());
    assert_eq!(result.warnings.len(), 1);
    assert_eq!(result.file.tags, vec!["n8n"]);
}

#[test]
fn loop_over_items_becomes_a_for_each_without_its_back_edge() {
    let result = fixture("loop-over-rows");
    let graph = &result.file.graph;
    assert_eq!(
        kinds(graph),
        owned(&[
            ("ask_manager", "logic.delay"),
            ("every_2_hours", "trigger.schedule"),
            ("loop_over_items", "logic.for_each"),
            ("post_lead", "slack.post_message"),
            ("read_leads", "sheets.read"),
        ])
    );
    // Loop Over Items v3: output 0 is "done", output 1 is "loop"
    assert_eq!(
        edges(graph),
        vec![
            "every_2_hours:out->read_leads:in",
            "loop_over_items:done->ask_manager:in",
            "loop_over_items:item->post_lead:in",
            "read_leads:out->loop_over_items:in",
        ]
    );
    assert_eq!(config(graph, "every_2_hours"), json!({"cron": "15 */2 * * *"}));
    assert_eq!(
        config(graph, "read_leads"),
        json!({"range": "Leads", "spreadsheet_id": "1LeadsSheetId", "token": "{{ secrets.GOOGLE_SHEETS_TOKEN }}"})
    );
    assert_eq!(config(graph, "loop_over_items"), json!({"items": "{{ input }}"}));
    assert_eq!(
        config(graph, "post_lead"),
        json!({"channel": "C0LEADS42", "text": "New lead: {{ input.Name }} ({{ input.Company }})",
               "token": "{{ secrets.SLACK_TOKEN }}"})
    );
    assert_eq!(unmapped(&result), vec![("Ask Manager".to_owned(), Some("ask_manager".to_owned()))]);
    assert!(result.unmapped[0].reason.contains("sendAndWait"));
    assert!(has_warning(&result, "Post Lead", None, "the connection to \"Loop Over Items\" loops back"));
    assert_eq!(result.secrets[1].n8n_credential_type.as_deref(), Some("slackOAuth2Api"));
}

/// A minimal n8n file of these nodes and connections.
fn workflow(nodes: Value, connections: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"name": "Test", "nodes": nodes, "connections": connections})).unwrap()
}

fn node(name: &str, kind: &str, parameters: Value) -> Value {
    json!({"name": name, "type": format!("n8n-nodes-base.{kind}"), "typeVersion": 1, "position": [0, 0],
           "parameters": parameters})
}

fn main_to(target: &str) -> Value {
    json!({"main": [[{"node": target, "type": "main", "index": 0}]]})
}

#[test]
fn a_condition_without_translation_is_left_empty_so_the_workflow_cannot_publish() {
    let mut regex = node(
        "Match",
        "if",
        json!({"conditions": {"conditions": [{"leftValue": "={{ $json.a }}", "rightValue": "^x",
                                             "operator": {"type": "string", "operation": "regex"}}]}}),
    );
    regex["typeVersion"] = json!(2);
    let bytes = workflow(json!([node("Go", "manualTrigger", json!({})), regex]), json!({"Go": main_to("Match")}));
    let result = from_n8n(&bytes).unwrap();
    assert_eq!(config(&result.file.graph, "match"), json!({"condition": ""}));
    assert!(has_warning(&result, "Match", Some("condition"), "the condition has no translation"));
    let errors = validate(&result.file.graph, &Catalog::builtin()).unwrap_err();
    assert_eq!(
        errors.into_errors(),
        vec![ValidationError::MissingRequiredField { node: "match".into(), field: "condition".into() }]
    );
    import(result.file.to_canonical_string().unwrap().as_bytes()).unwrap();
}

/// The corpus (`fixtures/n8n/corpus/`, run end to end against n8n's recorded outputs by the
/// gateway's `n8n_corpus` test) imports here with every node mapped and every expression
/// translated, and validates.
#[test]
fn the_corpus_maps_every_node_and_expression() {
    let dir = format!("{}/tests/fixtures/n8n/corpus", env!("CARGO_MANIFEST_DIR"));
    let catalog = Catalog::builtin();
    for name in ["order-router", "lead-enrichment", "dates-and-data", "ai-support", "order-lines"] {
        let result = from_n8n(&std::fs::read(format!("{dir}/{name}.json")).unwrap()).unwrap();
        assert!(result.unmapped.iter().all(|u| u.placeholder.is_none()), "{name}: {:?}", result.unmapped);
        assert!(
            !result.warnings.iter().any(|w| w.message.starts_with("expression kept")),
            "{name}: {:?}",
            result.warnings
        );
        // the report's numbers: every node is mapped but notes and the chat model folded into its
        // agent, which are listed as left out
        assert_eq!(result.mapped, result.nodes - result.unmapped.len(), "{name}");
        assert!(result.translated >= 4, "{name}: {} translated", result.translated);
        // what is left is what the report asks for: Gmail's sender, which n8n kept in its credential
        if let Err(errors) = validate(&result.file.graph, &catalog) {
            for error in errors.iter() {
                let ValidationError::MissingRequiredField { field, .. } = error else { panic!("{name}: {error}") };
                assert_eq!(field, "from", "{name}: {error}");
            }
            assert!(result.warnings.iter().any(|w| w.message.contains("the from address")), "{name}");
        }
    }
}

/// AI agents map to a chat step when their model is OpenAI's; tools and memory are reported, and
/// another model's agent is a placeholder. Gmail's send is an email step; its other operations are
/// placeholders.
#[test]
fn agents_gmail_and_filters() {
    let workflow = |model: &str| {
        json!({ "name": "Agent", "nodes": [
            { "name": "Hook", "type": "n8n-nodes-base.webhook", "typeVersion": 2, "position": [0, 0], "parameters": { "path": "a" } },
            { "name": "Agent", "type": "@n8n/n8n-nodes-langchain.agent", "typeVersion": 1.7, "position": [200, 0],
              "parameters": { "promptType": "auto", "options": { "systemMessage": "Be brief." } } },
            { "name": "Model", "type": model, "typeVersion": 1, "position": [200, 200],
              "parameters": { "model": "gpt-4o" }, "credentials": { "openAiApi": { "id": "1", "name": "Key" } } },
            { "name": "Search", "type": "@n8n/n8n-nodes-langchain.toolSerpApi", "typeVersion": 1, "position": [300, 200], "parameters": {} },
            { "name": "Only VIPs", "type": "n8n-nodes-base.filter", "typeVersion": 1, "position": [400, 0],
              "parameters": { "conditions": { "conditions": [ { "leftValue": "={{ $json.output }}", "rightValue": "vip",
                "operator": { "type": "string", "operation": "contains" } } ], "combinator": "and" } } },
            { "name": "Mail", "type": "n8n-nodes-base.gmail", "typeVersion": 2.1, "position": [600, 0],
              "parameters": { "sendTo": "a@example.com", "subject": "Hi", "message": "={{ $('Agent').item.json.output }}" } },
            { "name": "Label", "type": "n8n-nodes-base.gmail", "typeVersion": 2.1, "position": [800, 0],
              "parameters": { "operation": "addLabels" } }
        ], "connections": {
            "Hook": { "main": [[ { "node": "Agent", "type": "main", "index": 0 } ]] },
            "Model": { "ai_languageModel": [[ { "node": "Agent", "type": "ai_languageModel", "index": 0 } ]] },
            "Search": { "ai_tool": [[ { "node": "Agent", "type": "ai_tool", "index": 0 } ]] },
            "Agent": { "main": [[ { "node": "Only VIPs", "type": "main", "index": 0 } ]] },
            "Only VIPs": { "main": [[ { "node": "Mail", "type": "main", "index": 0 } ]] },
            "Mail": { "main": [[ { "node": "Label", "type": "main", "index": 0 } ]] }
        } })
    };
    let result = from_n8n_value(&workflow("@n8n/n8n-nodes-langchain.lmChatOpenAi")).unwrap();
    let graph = &result.file.graph;
    assert_eq!(graph.node("agent").unwrap().kind, "openai.chat");
    assert_eq!(config(graph, "agent")["prompt"], "{{ input.chatInput }}");
    assert_eq!(config(graph, "agent")["model"], "gpt-4o");
    assert_eq!(config(graph, "agent")["system"], "Be brief.");
    assert!(has_warning(&result, "Agent", None, "tools are not imported"));
    assert_eq!(graph.node("only_vips").unwrap().kind, "logic.condition");
    assert_eq!(config(graph, "only_vips")["condition"], "{{ \"vip\" in input.content }}");
    assert_eq!(config(graph, "mail")["body"], "{{ steps.agent.output.content }}");
    assert_eq!(config(graph, "mail")["base_url"], "smtp://smtp.gmail.com:587");
    assert!(has_warning(&result, "Mail", Some("username"), "n8n signs in to Gmail with OAuth"));
    assert!(unmapped(&result).contains(&("Label".to_owned(), Some("label".to_owned()))), "{:?}", result.unmapped);
    assert!(secret_names(&result).contains(&"OPENAI_API_KEY".to_owned()));

    let other = from_n8n_value(&workflow("@n8n/n8n-nodes-langchain.lmChatAnthropic")).unwrap();
    let agent = other.unmapped.iter().find(|u| u.node == "Agent").expect("the agent is reported");
    assert!(agent.placeholder.is_some() && agent.reason.contains("lmChatAnthropic"), "{agent:?}");
}

#[test]
fn a_workflow_without_a_trigger_gets_a_manual_one() {
    let bytes = workflow(
        json!([
            node("Fetch", "httpRequest", json!({"url": "https://example.com/a"})),
            node("Later", "noOp", json!({}))
        ]),
        json!({"Fetch": main_to("Later")}),
    );
    let result = from_n8n(&bytes).unwrap();
    assert_eq!(edges(&result.file.graph), vec!["fetch:out->later:in", "manual_start:out->fetch:in"]);
    assert_eq!(result.file.graph.node("manual_start").unwrap().kind, "trigger.manual");
    assert!(result.warnings.iter().any(|w| w.node.is_none() && w.message.contains("no trigger")));
    compile(&result.file.graph, &Catalog::builtin()).unwrap();
}

#[test]
fn schedules_without_a_cron_equivalent_and_service_triggers_stand_in() {
    let every_3_days = node("Every 3 days", "scheduleTrigger", json!({"rule": {"interval": [{"daysInterval": 3}]}}));
    let bytes =
        workflow(json!([every_3_days, node("Log", "noOp", json!({}))]), json!({"Every 3 days": main_to("Log")}));
    let result = from_n8n(&bytes).unwrap();
    assert_eq!(result.file.graph.node("every_3_days").unwrap().kind, "trigger.manual");
    assert_eq!(unmapped(&result), vec![("Every 3 days".to_owned(), Some("every_3_days".to_owned()))]);
    assert!(result.unmapped[0].reason.contains("every 3 days has no exact cron expression"));
    validate(&result.file.graph, &Catalog::builtin()).unwrap();

    let bytes = workflow(
        json!([node("On push", "githubTrigger", json!({"events": ["push"]})), node("Log", "noOp", json!({}))]),
        json!({"On push": main_to("Log")}),
    );
    let result = from_n8n(&bytes).unwrap();
    assert_eq!(result.file.graph.node("on_push").unwrap().kind, "trigger.webhook");
    assert_eq!(result.unmapped[0].n8n_type, "n8n-nodes-base.githubTrigger");
    validate(&result.file.graph, &Catalog::builtin()).unwrap();
}

#[test]
fn duplicate_names_make_distinct_ids_and_expressions_follow_them() {
    let bytes = workflow(
        json!([
            node("Go", "manualTrigger", json!({})),
            node("Step", "set", json!({"keepOnlySet": true, "values": {"string": [{"name": "a", "value": "1"}]}})),
            node(
                "step",
                "set",
                json!({"keepOnlySet": true,
                                      "values": {"string": [{"name": "b", "value": "={{ $('Step').item.json.a }}"}]}})
            ),
        ]),
        json!({"Go": main_to("Step"), "Step": main_to("step")}),
    );
    let result = from_n8n(&bytes).unwrap();
    assert_eq!(edges(&result.file.graph), vec!["go:out->step:in", "step:out->step_2:in"]);
    assert_eq!(config(&result.file.graph, "step_2"), json!({"fields": {"b": "{{ steps.step.output.a }}"}}));
}

#[test]
fn bad_input_is_a_typed_error() {
    let error = |bytes: &[u8]| from_n8n(bytes).unwrap_err();
    assert!(matches!(error(b"{\"nodes\": ["), N8nError::Malformed { line: 1, .. }));
    assert!(matches!(error(b"[1, 2]"), N8nError::NotN8n { .. }));
    assert!(matches!(error(b"{\"connections\": {}}"), N8nError::NotN8n { .. }));
    let ours = br#"{"format": "automateos.workflow/v1", "name": "x", "nodes": [], "connections": {}}"#;
    assert!(matches!(error(ours), N8nError::NotN8n { .. }));
    let foreign = workflow(json!([{"name": "A", "type": "acme.thing"}]), json!({}));
    assert!(matches!(error(&foreign), N8nError::NotN8n { .. }));

    let unknown = workflow(json!([node("A", "manualTrigger", json!({}))]), json!({"A": main_to("Ghost")}));
    assert_eq!(error(&unknown), N8nError::UnknownNode { node: "Ghost".into(), from: "A".into() });
    let unknown_source = workflow(json!([node("A", "manualTrigger", json!({}))]), json!({"Ghost": main_to("A")}));
    assert!(matches!(error(&unknown_source), N8nError::UnknownNode { .. }));

    let twice = workflow(json!([node("A", "noOp", json!({})), node("A", "noOp", json!({}))]), json!({}));
    assert_eq!(error(&twice), N8nError::DuplicateNodeName { name: "A".into() });

    let mut bad_position = node("A", "noOp", json!({}));
    bad_position["position"] = json!("left");
    let wrong = error(&workflow(json!([bad_position]), json!({})));
    assert_eq!(wrong, N8nError::WrongShape { path: "nodes[0].position".into(), reason: "expected [x, y]".into() });
    assert!(matches!(
        error(&workflow(json!([{"name": 3, "type": "n8n-nodes-base.noOp"}]), json!({}))),
        N8nError::WrongShape { .. }
    ));
    let bad_connections = workflow(json!([node("A", "noOp", json!({}))]), json!({"A": {"main": [[{"index": 0}]]}}));
    assert!(matches!(error(&bad_connections), N8nError::WrongShape { .. }));
    let connections_list = serde_json::to_vec(&json!({"nodes": [node("A", "noOp", json!({}))], "connections": []}));
    assert!(matches!(error(&connections_list.unwrap()), N8nError::WrongShape { .. }));

    let big = vec![b' '; MAX_EXPORT_BYTES + 1];
    assert_eq!(error(&big), N8nError::TooLarge { size: MAX_EXPORT_BYTES + 1, limit: MAX_EXPORT_BYTES });
    let many: Vec<Value> = (0..=MAX_NODES).map(|i| node(&format!("N{i}"), "noOp", json!({}))).collect();
    assert!(matches!(error(&workflow(json!(many), json!({}))), N8nError::TooManyNodes { .. }));
    assert_eq!(error(&unknown).code(), "unknown_node");
}

#[test]
fn a_workflow_at_the_size_limits_imports() {
    let fields: Vec<Value> = (0..30)
        .map(|f| {
            json!({"name": format!("f{f}"), "value": format!("={{{{ $json.f{f} }}}} {{{{ $('Node 0').item.json.x }}}}"),
                        "type": "string"})
        })
        .collect();
    let mut nodes = vec![node("Node 0", "manualTrigger", json!({}))];
    let mut connections = serde_json::Map::new();
    for i in 1..MAX_NODES {
        let mut set = node(&format!("Node {i}"), if i % 2 == 0 { "if" } else { "set" }, json!({}));
        set["typeVersion"] = json!(3.4);
        set["parameters"] = json!({"assignments": {"assignments": fields}});
        nodes.push(set);
        connections.insert(format!("Node {}", i - 1), main_to(&format!("Node {i}")));
    }
    let bytes = workflow(json!(nodes), Value::Object(connections));
    assert!(bytes.len() <= MAX_EXPORT_BYTES, "{}", bytes.len());
    let result = from_n8n(&bytes).unwrap();
    assert_eq!(result.file.graph.nodes.len(), MAX_NODES);
    assert_eq!(result.file.graph.edges.len(), MAX_NODES - 1);
    import(result.file.to_canonical_string().unwrap().as_bytes()).unwrap();
}

#[test]
fn templates_are_not_taken_for_n8n_files() {
    let dir = format!("{}/../templates", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "json") {
            let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert!(!looks_like_n8n(&value), "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen > 0);
}

const KEYS: [&str; 37] = [
    "conditions",
    "leftValue",
    "rightValue",
    "operator",
    "operation",
    "type",
    "rules",
    "values",
    "value1",
    "value2",
    "output",
    "mode",
    "assignments",
    "name",
    "value",
    "url",
    "method",
    "jsonBody",
    "sendBody",
    "sendHeaders",
    "headerParameters",
    "parameters",
    "interval",
    "field",
    "channelId",
    "__rl",
    "text",
    "amount",
    "unit",
    "fieldToSplitOut",
    "respondWith",
    "responseBody",
    "triggerTimes",
    "item",
    "combinator",
    "fallbackOutput",
    "options",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "={{ $json.a }}",
            "={{ $('A').item.json.x }}",
            "={{ $node[\"B\"].json.y.length > 2 }}",
            "=Hi {{ $json.name }} {{ $now }}",
            "={{ (((",
            "={ \"a\": {{ $json.a }} }",
            "main",
            "equals",
            "gt",
            "regex",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array), object_of(inner),]
    })
}

fn object_of(values: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned), values, 0..6)
        .prop_map(|map| Value::Object(map.into_iter().collect()))
}

const TYPES: [&str; 26] = [
    "webhook",
    "scheduleTrigger",
    "cron",
    "manualTrigger",
    "httpRequest",
    "if",
    "switch",
    "set",
    "merge",
    "slack",
    "googleSheets",
    "openAi",
    "emailSend",
    "wait",
    "splitInBatches",
    "itemLists",
    "splitOut",
    "respondToWebhook",
    "code",
    "function",
    "noOp",
    "stickyNote",
    "githubTrigger",
    "executeWorkflowTrigger",
    "acmeThing",
    "start",
];

/// A random n8n-shaped workflow: known node types with random parameters and versions, random
/// connections between them (loops, error outputs and input indexes included).
fn n8n_workflow() -> impl Strategy<Value = Value> {
    let node = (
        prop::sample::select(TYPES.to_vec()),
        prop::sample::select(vec![1.0, 2.0, 3.0, 3.4, 4.2]),
        object_of(json_value()),
        any::<bool>(),
    );
    (prop::collection::vec(node, 1..8), prop::collection::vec((0usize..8, 0usize..4, 0usize..8, 0usize..3), 0..14))
        .prop_map(|(nodes, links)| {
            let nodes: Vec<Value> = nodes
                .into_iter()
                .enumerate()
                .map(|(i, (kind, version, parameters, disabled))| {
                    json!({"name": format!("Node {i}"), "type": format!("n8n-nodes-base.{kind}"),
                           "typeVersion": version, "position": [i * 100, 0], "parameters": parameters,
                           "disabled": disabled && i % 3 == 0})
                })
                .collect();
            let count = nodes.len();
            let mut connections = serde_json::Map::new();
            for (from, output, to, input) in links {
                let (from, to) = (format!("Node {}", from % count), format!("Node {}", to % count));
                let entry = connections.entry(from).or_insert_with(|| json!({"main": []}));
                let outputs = entry["main"].as_array_mut().unwrap();
                while outputs.len() <= output {
                    outputs.push(json!([]));
                }
                outputs[output].as_array_mut().unwrap().push(json!({"node": to, "type": "main", "index": input}));
            }
            json!({"name": "Random", "nodes": nodes, "connections": connections})
        })
}

/// Pieces of the JavaScript n8n expressions are written in.
const JS_PIECES: [&str; 60] = [
    "$json",
    ".",
    "a",
    "b",
    "$('Webhook')",
    ".item",
    ".json",
    "(",
    ")",
    "[",
    "]",
    "0",
    "'x'",
    "\"y z\"",
    "`t ${",
    "}`",
    "+",
    "-",
    "*",
    "/",
    "?",
    ":",
    "??",
    "?.",
    "||",
    "&&",
    "!",
    "===",
    ">",
    ",",
    "=>",
    "i",
    "{",
    "}",
    "days",
    "Math.round",
    "Math.max",
    "JSON.stringify",
    ".toFixed",
    ".split",
    ".map",
    ".filter",
    "$now",
    ".toFormat",
    ".plus",
    "'yyyy-MM-dd'",
    "DateTime.fromISO",
    "$input.all()",
    ".length",
    "2",
    "1.5",
    "true",
    "null",
    ".toUpperCase()",
    ".join",
    "i => i.a",
    "$node[\"Fetch\"]",
    ".first()",
    "'}}'",
    "parseInt",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// JavaScript-like token soup through the expression translator: refused or translated into
    /// an expression that parses and reads only the scope's names (the fuzz entry point checks).
    #[test]
    fn translated_expressions_always_parse(picks in proptest::collection::vec(0..JS_PIECES.len(), 1..24), spaced in any::<bool>()) {
        let js = picks.iter().map(|&at| JS_PIECES[at]).collect::<Vec<_>>().join(if spaced { " " } else { "" });
        aos_schema::fuzzing::n8n_expression(js.as_bytes());
    }

    /// Any JSON at all: an error or a result, never a panic.
    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        let _ = from_n8n_value(&value);
        let _ = from_n8n(value.to_string().as_bytes());
        let _ = looks_like_n8n(&value);
    }

    /// Any n8n-shaped workflow imports into a file that reads back, has unique ids and no loops.
    #[test]
    fn random_workflows_import_into_readable_files(value in n8n_workflow()) {
        let result = from_n8n_value(&value).unwrap();
        let text = result.file.to_canonical_string().unwrap();
        let back = import(text.as_bytes()).unwrap();
        prop_assert_eq!(back.to_canonical_string().unwrap(), text);
        let problems = match validate(&result.file.graph, &Catalog::builtin()) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.into_errors(),
        };
        let empty = result.file.graph.nodes.is_empty();
        let kept = result.warnings.iter().any(|w| w.message.starts_with("expression kept as written"));
        for problem in problems {
            // an expression the importer said it kept as written is named, never silently passed
            if kept && matches!(problem, ValidationError::BadExpression { .. }) {
                continue;
            }
            // only values the user must fill in; never a broken structure
            let user_must_fill_in = matches!(
                problem,
                ValidationError::MissingRequiredField { .. }
                    | ValidationError::InvalidFieldValue { .. }
                    | ValidationError::PlaintextSecret { .. }
                    | ValidationError::PortTypeMismatch { .. }
            );
            prop_assert!(
                user_must_fill_in || (empty && problem == ValidationError::NoTrigger),
                "{:?}", problem
            );
        }
    }
}
