//! The logic nodes whose parameters need the most translating: IF (v1 and the filter of v2)
//! becomes a `logic.condition` expression, Switch a `logic.switch` with one port per case, and
//! Edit Fields (Set, v1 `values`, v3 `fields` and `assignments`, raw JSON) a `data.transform`.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::expr;
use super::nodes::number;
use super::scope::Scope;
use super::{N8nNode, slug};

pub(super) fn condition(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
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
    // the Filter node has written its conditions as IF's version 2 does from its first version
    if node.type_version >= 2.0 || node.short_type() == "filter" {
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
        (format!("{}|lower", expr::group(&left)), format!("{}|lower", expr::group(&right)))
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

pub(super) fn switch(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
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

pub(super) fn transform(node: &N8nNode, scope: &mut Scope<'_>) -> Map<String, Value> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
