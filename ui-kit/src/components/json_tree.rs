//! A JSON value as a tree a person can read: objects and arrays fold open and shut (`<details>`,
//! so folding needs no state of ours), scalars show with their type (a string in quotes, a number,
//! a boolean, null), so `"1"` and `1` never look alike. Read-only; what it shows is the caller's
//! business (the API has already redacted secrets).

use std::collections::BTreeMap;

use dioxus::prelude::*;
use serde_json::Value;

/// The tree of `value`: the top level open, everything below folded. `labels` names top-level
/// keys for a person (a merge's input is keyed by node id: the key shows as the node's label).
/// Every entry carries `data-path` (`person.name`, `items[0]`) for tests and tooltips.
#[component]
pub fn JsonTree(value: Value, testid: String, #[props(default)] labels: BTreeMap<String, String>) -> Element {
    rsx! {
        div { class: "json-tree", "data-testid": "{testid}",
            JsonEntry { name: None, path: String::new(), value, depth: 0, labels }
        }
    }
}

/// One key (or array index) and its value.
#[component]
fn JsonEntry(
    name: Option<String>,
    path: String,
    value: Value,
    depth: usize,
    labels: BTreeMap<String, String>,
) -> Element {
    let shown_name =
        name.as_ref().map(|n| if depth == 1 { labels.get(n).cloned().unwrap_or_else(|| n.clone()) } else { n.clone() });
    let title = name.clone().unwrap_or_default();
    let key_el = rsx! {
        if let Some(n) = shown_name {
            span { class: "json-tree__key", title: "{title}", "{n}" }
        }
    };
    match &value {
        Value::Object(_) | Value::Array(_) => {
            let children = children(&path, &value);
            rsx! {
                details { class: "json-tree__branch", "data-path": "{path}", open: depth == 0,
                    summary { {key_el} span { class: "json-tree__count", {branch_summary(&value)} } }
                    ul { class: "json-tree__children",
                        for (child_name, child_path, child) in children {
                            li { key: "{child_path}",
                                JsonEntry { name: Some(child_name), path: child_path, value: child, depth: depth + 1, labels: labels.clone() }
                            }
                        }
                    }
                }
            }
        }
        scalar => {
            let (kind, text) = scalar_text(scalar);
            rsx! {
                div { class: "json-tree__leaf", "data-path": "{path}",
                    {key_el}
                    span { class: "json-tree__value json-tree__value--{kind}", "data-testid": "json-value", "data-type": "{kind}", "{text}" }
                }
            }
        }
    }
}

/// A branch's children: name, path and value each, in the value's order.
fn children(path: &str, value: &Value) -> Vec<(String, String, Value)> {
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), child_path(path, k), v.clone())).collect(),
        Value::Array(items) => {
            items.iter().enumerate().map(|(i, v)| (format!("{i}"), format!("{path}[{i}]"), v.clone())).collect()
        }
        _ => Vec::new(),
    }
}

/// The path of key `key` below `path`: `a.b`, or the bare key at the top.
pub fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// What a folded branch says about itself: `{} 2 keys`, `[] 1 item`.
pub fn branch_summary(value: &Value) -> String {
    let plural = |n: usize, one: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
    match value {
        Value::Object(map) => format!("{{}} {}", plural(map.len(), "key")),
        Value::Array(items) => format!("[] {}", plural(items.len(), "item")),
        _ => String::new(),
    }
}

/// A scalar's type (`string`, `number`, `boolean`, `null`) and how it reads: strings in quotes,
/// escaped as JSON writes them.
pub fn scalar_text(value: &Value) -> (&'static str, String) {
    match value {
        Value::String(_) => ("string", value.to_string()),
        Value::Number(n) => ("number", n.to_string()),
        Value::Bool(b) => ("boolean", b.to_string()),
        Value::Null => ("null", "null".to_owned()),
        Value::Object(_) | Value::Array(_) => ("branch", String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_keep_their_type() {
        assert_eq!(scalar_text(&json!("1")), ("string", "\"1\"".to_owned()));
        assert_eq!(scalar_text(&json!(1)), ("number", "1".to_owned()));
        assert_eq!(scalar_text(&json!(false)), ("boolean", "false".to_owned()));
        assert_eq!(scalar_text(&Value::Null), ("null", "null".to_owned()));
        assert_eq!(scalar_text(&json!("say \"hi\"")).1, r#""say \"hi\"""#);
    }

    #[test]
    fn branches_count_and_paths_nest() {
        assert_eq!(branch_summary(&json!({"a": 1})), "{} 1 key");
        assert_eq!(branch_summary(&json!([1, 2, 3])), "[] 3 items");
        assert_eq!(child_path("", "person"), "person");
        assert_eq!(child_path("person", "name"), "person.name");
        let kids = children("tags", &json!(["x", "y"]));
        assert_eq!(kids[1], ("1".to_owned(), "tags[1]".to_owned(), json!("y")));
    }
}
