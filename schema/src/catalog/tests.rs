//! Tests of the catalog types and the built-in descriptors.

use serde_json::{Map, Value, json};

use super::*;

fn config(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[test]
fn every_contract_kind_is_in_the_builtin_catalog() {
    let catalog = Catalog::builtin();
    for kind in kinds::ALL {
        assert!(catalog.get(kind).is_some(), "{kind} missing");
    }
    assert_eq!(catalog.descriptors().len(), kinds::ALL.len());
    assert!(catalog.get("nope.nothing").is_none());
}

#[test]
fn triggers_have_no_inputs_and_everything_else_has_in() {
    let catalog = Catalog::builtin();
    for descriptor in catalog.descriptors() {
        if descriptor.is_trigger() {
            assert!(descriptor.inputs.is_empty(), "{}", descriptor.kind);
            assert_eq!(descriptor.category, NodeCategory::Trigger);
        } else {
            assert!(descriptor.input("in").is_some(), "{}", descriptor.kind);
        }
        assert!(!descriptor.outputs.is_empty(), "{}", descriptor.kind);
    }
    let triggers: Vec<&str> =
        catalog.descriptors().iter().filter(|d| d.is_trigger()).map(|d| d.kind.as_str()).collect();
    assert_eq!(triggers, ["trigger.manual", "trigger.schedule", "trigger.webhook"]);
}

#[test]
fn integrations_call_a_base_url_and_reference_a_secret() {
    let catalog = Catalog::builtin();
    let cases = [
        ("slack.post_message", "https://slack.com/api", "token", "SLACK_TOKEN"),
        ("sheets.append", "https://sheets.googleapis.com/v4", "token", "GOOGLE_SHEETS_TOKEN"),
        ("sheets.read", "https://sheets.googleapis.com/v4", "token", "GOOGLE_SHEETS_TOKEN"),
        ("openai.chat", "https://api.openai.com/v1", "api_key", "OPENAI_API_KEY"),
    ];
    for (kind, url, secret_field, secret_name) in cases {
        let descriptor = catalog.get(kind).unwrap();
        let base = descriptor.field("base_url").unwrap();
        assert_eq!(base.default, Some(json!(url)), "{kind}");
        let secret = descriptor.field(secret_field).unwrap();
        assert!(secret.secret && secret.field_type == FieldType::SecretRef);
        assert_eq!(secret.default, Some(json!(format!("{{{{ secrets.{secret_name} }}}}"))));
    }
    let email = catalog.get("email.send").unwrap();
    assert!(email.field("base_url").unwrap().required);
    assert!(email.field("password").unwrap().secret);
}

#[test]
fn the_contract_configs_of_transform_and_http_request() {
    let catalog = Catalog::builtin();
    let transform = catalog.get("data.transform").unwrap();
    assert_eq!(transform.field("fields").unwrap().field_type, FieldType::KeyValue);
    let http = catalog.get("http.request").unwrap();
    let names: Vec<&str> = http.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["method", "url", "headers", "body", "timeout_seconds", "max_attempts"]);
    assert!(http.fields[4..].iter().all(|f| !f.required && f.default.is_none()), "run settings are optional");
    assert_eq!(http.output_type("out", &Map::new()), Some(PortType::Object));
}

#[test]
fn condition_has_true_and_false_and_switch_has_its_cases_plus_default() {
    let catalog = Catalog::builtin();
    let condition = catalog.get("logic.condition").unwrap();
    let empty = Map::new();
    assert!(condition.output_type("true", &empty).is_some());
    assert!(condition.output_type("false", &empty).is_some());
    assert!(condition.output_type("out", &empty).is_none());

    let switch = catalog.get("logic.switch").unwrap();
    let cfg = config(json!({"value": "{{ input.tier }}", "cases": {"silver": "s", "gold": "g"}}));
    let names: Vec<String> = switch.output_ports(&cfg).into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["gold", "silver", "default"]);
    assert_eq!(switch.output_type("gold", &cfg), Some(PortType::Any));
    assert_eq!(switch.output_type("bronze", &cfg), None);
    assert_eq!(switch.output_type("default", &empty), Some(PortType::Any));
}

#[test]
fn for_each_emits_items_one_by_one_and_the_collected_list() {
    let for_each = Catalog::builtin().get("logic.for_each").cloned().unwrap();
    assert_eq!(for_each.flow, Flow::ForEach);
    assert_eq!(for_each.output_type("item", &Map::new()), Some(PortType::Any));
    assert_eq!(for_each.output_type("done", &Map::new()), Some(PortType::List));
}

#[test]
fn port_types_fit_any_and_themselves_only() {
    use PortType::*;
    for t in [Any, Object, List] {
        assert!(t.fits(Any) && Any.fits(t) && t.fits(t));
    }
    assert!(!List.fits(Object));
    assert!(!Object.fits(List));
    assert_eq!(List.to_string(), "list");
}

#[test]
fn defaults_fill_missing_and_null_fields_only() {
    let slack = Catalog::builtin().get("slack.post_message").cloned().unwrap();
    let cfg = config(json!({"channel": "#ops", "base_url": null, "token": "{{ secrets.MINE }}"}));
    let filled = slack.config_with_defaults(&cfg);
    assert_eq!(filled["base_url"], json!("https://slack.com/api"));
    assert_eq!(filled["token"], json!("{{ secrets.MINE }}"));
    assert!(!filled.contains_key("text"));
}

#[test]
fn the_catalog_roundtrips_through_json_and_reads_unsorted_input() {
    let catalog = Catalog::builtin();
    let value = serde_json::to_value(&catalog).unwrap();
    assert!(value["nodes"].is_array());
    let select = &value["nodes"].as_array().unwrap().iter().find(|n| n["kind"] == "http.request").unwrap()["fields"][0]
        ["field_type"];
    assert_eq!(select["type"], "select");
    assert_eq!(select["options"][0]["value"], "GET");

    let mut reversed = value.clone();
    reversed["nodes"].as_array_mut().unwrap().reverse();
    let back: Catalog = serde_json::from_value(reversed).unwrap();
    assert_eq!(back, catalog);
    assert!(back.is_trigger("trigger.webhook"));
}

#[test]
fn a_later_descriptor_replaces_an_earlier_one_of_the_same_kind() {
    let mut descriptors = Catalog::builtin().descriptors().to_vec();
    let mut custom = descriptors[0].clone();
    custom.title = "Custom".into();
    descriptors.push(custom.clone());
    let catalog = Catalog::new(descriptors);
    assert_eq!(catalog.get(&custom.kind).unwrap().title, "Custom");
    assert_eq!(catalog.kinds().count(), kinds::ALL.len());
}

#[test]
fn only_nodes_that_compute_from_their_input_are_pure() {
    use super::builtin::kinds;
    let pure: Vec<&str> = kinds::ALL.iter().copied().filter(|k| kinds::is_pure(k)).collect();
    assert!(pure.iter().all(|k| k.starts_with("trigger.") || k.starts_with("logic.") || *k == kinds::DATA_TRANSFORM));
    for effectful in [kinds::HTTP_REQUEST, kinds::SLACK_POST_MESSAGE, kinds::EMAIL_SEND, kinds::WEBHOOK_RESPOND] {
        assert!(!kinds::is_pure(effectful), "{effectful}");
    }
    assert!(!kinds::is_pure("custom.unknown"), "an unknown kind is not assumed pure");
}
