//! The side panel's form for the selected node, generated from the catalog: one control per
//! field (text and expressions with autocomplete, numbers, selects, toggles, key-value rows,
//! secret pickers). Every change is handed up as the whole node; nothing here is raw JSON.

use aos_schema::{Catalog, FieldDescriptor, Node};
use dioxus::prelude::*;
use serde_json::Value;

use crate::forms::{
    Control, accept_suggestion, control_for, display_text, kv_rows, kv_value, parse_number, referenced_secret,
    secret_reference, set_field, suggestions,
};

/// The form of one node.
#[component]
pub fn NodeForm(
    node: Node,
    catalog: Catalog,
    candidates: Vec<String>,
    secrets: Vec<String>,
    problems: Vec<String>,
    on_change: EventHandler<Node>,
) -> Element {
    let descriptor = catalog.get(&node.kind).cloned();
    let label_node = node.clone();
    rsx! {
        div { class: "node-form", "data-testid": "node-form", "data-node": "{node.id}",
            div { class: "node-form__head",
                h2 { {descriptor.as_ref().map_or(node.kind.clone(), |d| d.title.clone())} }
                code { class: "node-form__id", "data-testid": "node-form-id", "{node.id}" }
            }
            if let Some(d) = &descriptor {
                p { class: "muted", "{d.description}" }
            }
            label { class: "field", "data-testid": "field-label",
                span { class: "field__label", "Label" }
                input { value: "{node.label}",
                    oninput: move |e| {
                        let mut next = label_node.clone();
                        next.label = e.value();
                        on_change.call(next);
                    }
                }
            }
            for problem in problems.iter() {
                p { class: "form-error", "data-testid": "node-problem", "{problem}" }
            }
            match descriptor.clone() {
                None => rsx! { p { class: "form-error", "this kind is not in the catalog; delete the node or import its definition" } },
                Some(d) => rsx! {
                    for field in d.fields.iter().cloned() {
                        FieldRow {
                            key: "{node.id}-{field.name}",
                            value: node.config.get(&field.name).cloned(),
                            field: field.clone(),
                            candidates: candidates.clone(),
                            secrets: secrets.clone(),
                            on_change: {
                                let node = node.clone();
                                let name = field.name.clone();
                                move |value: Option<Value>| {
                                    let mut next = node.clone();
                                    set_field(&mut next.config, &name, value);
                                    on_change.call(next);
                                }
                            },
                        }
                    }
                },
            }
        }
    }
}

/// One field.
#[component]
fn FieldRow(
    field: FieldDescriptor,
    value: Option<Value>,
    candidates: Vec<String>,
    secrets: Vec<String>,
    on_change: EventHandler<Option<Value>>,
) -> Element {
    let control = control_for(&field);
    let required = if field.required { " *" } else { "" };
    let placeholder = field.placeholder.clone().unwrap_or_default();
    // each control is named by its field's label (the label text sits beside it, not around it)
    let name = field.label.clone();
    rsx! {
        div { class: "field", "data-testid": "field-{field.name}",
            span { class: "field__label", "{field.label}{required}" }
            match control {
                Control::Text | Control::Expression => rsx! {
                    ExpressionInput { multiline: false, text: display_text(value.as_ref()), label: name.clone(), placeholder, candidates, on_change }
                },
                Control::Multiline => rsx! {
                    ExpressionInput { multiline: true, text: display_text(value.as_ref()), label: name.clone(), placeholder, candidates, on_change }
                },
                Control::Number { min, max } => rsx! {
                    NumberInput { text: display_text(value.as_ref().or(field.default.as_ref())), min, max, label: name.clone(), placeholder, on_change }
                },
                Control::Toggle => {
                    let checked = value.as_ref().or(field.default.as_ref()).and_then(Value::as_bool).unwrap_or(false);
                    rsx! {
                        input { r#type: "checkbox", class: "toggle", checked, "aria-label": "{name}",
                            onchange: move |e| on_change.call(Some(Value::Bool(e.checked()))) }
                    }
                }
                Control::Select(options) => {
                    let current = display_text(value.as_ref().or(field.default.as_ref()));
                    rsx! {
                        select { "aria-label": "{name}",
                            onchange: move |e| on_change.call(Some(Value::String(e.value()))),
                            if current.is_empty() { option { value: "", selected: true, disabled: true, "choose…" } }
                            for option in options.iter() {
                                option { key: "{option.value}", value: "{option.value}", selected: option.value == current, "{option.label}" }
                            }
                        }
                    }
                }
                Control::KeyValue => rsx! { KeyValueInput { rows: kv_rows(value.as_ref()), keep_empty: false, on_change } },
                Control::Json => match value.as_ref().or(field.default.as_ref()) {
                    Some(Value::Object(_)) => rsx! {
                        KeyValueInput { rows: kv_rows(value.as_ref().or(field.default.as_ref())), keep_empty: true, on_change }
                    },
                    other => rsx! {
                        ExpressionInput { multiline: false, text: display_text(other), label: name.clone(), placeholder, candidates, on_change }
                        button { r#type: "button", class: "aos-button field__switch", "data-testid": "use-rows",
                            onclick: move |_| on_change.call(Some(Value::Object(Default::default()))),
                            "Use fields instead"
                        }
                    },
                },
                Control::Secret => {
                    let current = referenced_secret(value.as_ref()).unwrap_or_default();
                    rsx! {
                        select { "data-testid": "secret-picker", "aria-label": "{name}",
                            onchange: move |e| {
                                let name = e.value();
                                on_change.call(if name.is_empty() { None } else { Some(secret_reference(&name)) });
                            },
                            option { value: "", selected: current.is_empty(), "no secret" }
                            if !current.is_empty() && !secrets.contains(&current) {
                                option { value: "{current}", selected: true, "{current} (not set yet)" }
                            }
                            for name in secrets.iter() {
                                option { key: "{name}", value: "{name}", selected: *name == current, "{name}" }
                            }
                        }
                    }
                }
            }
            if let Some(help) = &field.help {
                span { class: "field__help", "{help}" }
            }
        }
    }
}

/// Text that may hold `{{ … }}` expressions, with completion of what is being typed.
#[component]
fn ExpressionInput(
    multiline: bool,
    text: String,
    /// The control's accessible name.
    label: String,
    placeholder: String,
    candidates: Vec<String>,
    on_change: EventHandler<Option<Value>>,
) -> Element {
    let mut focused = use_signal(|| false);
    let offered: Vec<String> =
        if focused() { suggestions(&text, &candidates).into_iter().map(str::to_owned).collect() } else { Vec::new() };
    let emit = move |value: String| on_change.call(if value.is_empty() { None } else { Some(Value::String(value)) });
    let text_for_pick = text.clone();
    rsx! {
        div { class: "expr",
            if multiline {
                textarea { value: "{text}", placeholder: "{placeholder}", rows: "4", "aria-label": "{label}",
                    onfocus: move |_| focused.set(true),
                    oninput: move |e| emit(e.value()) }
            } else {
                input { value: "{text}", placeholder: "{placeholder}", "aria-label": "{label}",
                    onfocus: move |_| focused.set(true),
                    oninput: move |e| emit(e.value()) }
            }
            if !offered.is_empty() {
                ul { class: "expr__suggestions aos-surface", "data-testid": "suggestions",
                    for (i, choice) in offered.into_iter().enumerate() {
                        li { key: "{choice}",
                            // a click or Enter picks; the press keeps the focus in the text
                            button { r#type: "button", "data-testid": "suggestion-{i}",
                                onmousedown: move |e: MouseEvent| e.prevent_default(),
                                onclick: {
                                    let text = text_for_pick.clone();
                                    let choice = choice.clone();
                                    move |_| emit(accept_suggestion(&text, &choice))
                                },
                                "{choice}"
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A number (or an expression); shows why a value is refused instead of writing it.
#[component]
fn NumberInput(
    text: String,
    min: Option<f64>,
    max: Option<f64>,
    /// The control's accessible name.
    label: String,
    placeholder: String,
    on_change: EventHandler<Option<Value>>,
) -> Element {
    let mut draft = use_signal(|| text.clone());
    let mut error = use_signal(|| None::<String>);
    rsx! {
        input { inputmode: "decimal", value: "{draft}", placeholder: "{placeholder}", "aria-label": "{label}",
            oninput: move |e| {
                let value = e.value();
                draft.set(value.clone());
                match parse_number(&value, min, max) {
                    Ok(parsed) => {
                        error.set(None);
                        on_change.call(parsed);
                    }
                    Err(message) => error.set(Some(message)),
                }
            }
        }
        if let Some(message) = error() {
            span { class: "form-error", "{message}" }
        }
    }
}

/// Name → value rows; `keep_empty` writes `{}` rather than removing the field when no row is left.
#[component]
fn KeyValueInput(rows: Vec<(String, String)>, keep_empty: bool, on_change: EventHandler<Option<Value>>) -> Element {
    let mut local = use_signal(|| rows.clone());
    let emit = move |rows: Vec<(String, String)>| {
        let value = kv_value(&rows);
        let empty = value.as_object().is_none_or(|m| m.is_empty());
        on_change.call(if empty && !keep_empty { None } else { Some(value) });
    };
    rsx! {
        div { class: "kv",
            for (i, (name, value)) in local().into_iter().enumerate() {
                div { class: "kv__row", key: "{i}",
                    input { class: "kv__name", "data-testid": "kv-name-{i}", placeholder: "name", value: "{name}",
                        oninput: move |e| {
                            let mut rows = local();
                            if let Some(row) = rows.get_mut(i) { row.0 = e.value(); }
                            local.set(rows.clone());
                            emit(rows);
                        }
                    }
                    input { class: "kv__value", "data-testid": "kv-value-{i}", placeholder: "value", value: "{value}",
                        oninput: move |e| {
                            let mut rows = local();
                            if let Some(row) = rows.get_mut(i) { row.1 = e.value(); }
                            local.set(rows.clone());
                            emit(rows);
                        }
                    }
                    button { r#type: "button", class: "kv__remove", title: "remove",
                        onclick: move |_| {
                            let mut rows = local();
                            if i < rows.len() { rows.remove(i); }
                            local.set(rows.clone());
                            emit(rows);
                        },
                        "×"
                    }
                }
            }
            button { r#type: "button", class: "aos-button kv__add", "data-testid": "kv-add",
                onclick: move |_| local.write().push((String::new(), String::new())),
                "Add row"
            }
        }
    }
}
