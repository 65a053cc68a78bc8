//! The webhook trigger's URL, under the trigger's form: the production URL with copy, a ready
//! `curl` line and rotate (the old URL stops working at once), and "Listen for a test event":
//! waits for the next delivery to the test URL, shows its body, headers and query, and offers it
//! as the Run panel's test input. Publishing a webhook-triggered workflow gives it its URL; until
//! then the panel says so. Viewers are told that only editors see the URL (whoever holds it can
//! start runs).

use aos_schema::WorkflowGraph;
use aos_ui_kit::components::JsonTree;
use dioxus::prelude::*;

use crate::api::{self, SourceView, TestEvent};
use aos_web_client::platform;

/// The URLs of `workflow_id`'s webhook sources, read again after every publish; `on_use` takes a
/// caught test event as the test input.
#[component]
pub fn WebhookUrl(
    workflow_id: String,
    published: Signal<Option<WorkflowGraph>>,
    on_use: EventHandler<TestEvent>,
) -> Element {
    let mut rotations = use_signal(|| 0u32);
    let id = workflow_id.clone();
    let sources = use_resource(move || {
        let id = id.clone();
        // read again when a publish made the first source, or a rotation changed one
        let _ = (published.read().is_some(), rotations());
        async move { api::webhooks(&id).await }
    });
    let body = match &*sources.read() {
        None => rsx! { p { class: "muted", "loading the URL…" } },
        Some(Err(err)) => rsx! { p { class: "form-error", "{err}" } },
        Some(Ok(list)) if list.is_empty() => rsx! {
            p { class: "muted", "data-testid": "webhook-unpublished", "Publish the workflow to get its URL." }
        },
        Some(Ok(list)) => rsx! {
            for source in list.iter().cloned() {
                SourceRow { key: "{source.id}", source, on_rotated: move |_| rotations += 1, on_use }
            }
        },
    };
    rsx! {
        section { class: "webhook", "data-testid": "webhook-panel",
            h3 { class: "webhook__title", "Webhook URL" }
            {body}
        }
    }
}

/// One source: its URL with copy and `curl`, rotate behind a confirmation, and its test events.
#[component]
fn SourceRow(source: SourceView, on_rotated: EventHandler<()>, on_use: EventHandler<TestEvent>) -> Element {
    let mut note = use_signal(|| None::<String>);
    let mut confirming = use_signal(|| false);
    let Some(url) = source.url.clone() else {
        return rsx! {
            p { class: "muted", "data-testid": "webhook-hidden",
                "Only editors see this URL ({source.token_prefix}…): whoever holds it can start runs."
            }
        };
    };
    let copy_url = url.clone();
    let curl = format!("curl -X POST '{url}' -H 'content-type: application/json' -d '{{\"hello\":\"world\"}}'");
    let source_id = source.id.to_string();
    rsx! {
        div { class: "webhook__source",
            div { class: "webhook__row",
                input { class: "webhook__url", readonly: true, value: "{url}", "data-testid": "webhook-url",
                    "aria-label": "Webhook URL",
                    onfocus: move |_| note.set(None) }
                button { r#type: "button", class: "aos-button", "data-testid": "webhook-copy",
                    onclick: move |_| {
                        let url = copy_url.clone();
                        spawn(async move {
                            let copied = platform::copy_text(&url).await;
                            note.set(Some(if copied { "copied".into() } else { "select the URL and press Ctrl+C".into() }));
                        });
                    },
                    "Copy"
                }
            }
            p { class: "field__help", "POST JSON here to start a run: the step sees it as trigger.body, with trigger.headers and trigger.query. An Idempotency-Key header makes retries safe." }
            code { class: "webhook__curl", "data-testid": "webhook-curl", "{curl}" }
            if confirming() {
                div { class: "webhook__confirm",
                    span { "The current URL stops working at once." }
                    button { r#type: "button", class: "aos-button aos-button--primary", "data-testid": "webhook-rotate-confirm",
                        onclick: move |_| {
                            let id = source_id.clone();
                            spawn(async move {
                                match api::rotate_webhook(&id).await {
                                    Ok(_) => {
                                        confirming.set(false);
                                        note.set(Some("new URL made; the old one no longer works".into()));
                                        on_rotated.call(());
                                    }
                                    Err(err) => note.set(Some(err.to_string())),
                                }
                            });
                        },
                        "Rotate now"
                    }
                    button { r#type: "button", class: "aos-button", onclick: move |_| confirming.set(false), "Keep it" }
                }
            } else {
                button { r#type: "button", class: "aos-button webhook__rotate", "data-testid": "webhook-rotate",
                    onclick: move |_| confirming.set(true),
                    "Rotate URL"
                }
            }
            if let Some(text) = note() {
                p { class: "muted", "data-testid": "webhook-note", role: "status", "{text}" }
            }
            if let Some(test_url) = source.test_url.clone() {
                TestEvents { source_id: source.id.to_string(), test_url, on_use }
            }
        }
    }
}

/// How long one wait for a test event lasts before the studio asks again.
const TEST_WAIT_SECS: u32 = 25;

/// "Listen for a test event": while listening, the test URL and a `curl` line for it; once a
/// delivery arrives, its body, headers and query as trees, with "Use as test input".
#[component]
fn TestEvents(source_id: String, test_url: String, on_use: EventHandler<TestEvent>) -> Element {
    let mut listening = use_signal(|| false);
    let mut heard = use_signal(|| None::<TestEvent>);
    let mut error = use_signal(|| None::<String>);
    // each Listen starts a new wait; an older one still in flight after Stop then ends unheard
    let mut generation = use_signal(|| 0u32);
    let listen = move |_| {
        let source = source_id.clone();
        generation += 1;
        let mine = generation();
        listening.set(true);
        heard.set(None);
        error.set(None);
        let current = move || *listening.peek() && *generation.peek() == mine;
        spawn(async move {
            while current() {
                match api::next_test_event(&source, TEST_WAIT_SECS).await {
                    Ok(Some(event)) if current() => {
                        heard.set(Some(event));
                        listening.set(false);
                    }
                    Err(err) if current() => {
                        error.set(Some(err.to_string()));
                        listening.set(false);
                    }
                    _ => {}
                }
            }
        });
    };
    let curl = format!(
        "curl -X POST '{test_url}?source=test' -H 'content-type: application/json' -d '{{\"hello\":\"world\"}}'"
    );
    rsx! {
        div { class: "webhook__test", "data-testid": "webhook-test",
            if listening() {
                p { role: "status", "data-testid": "webhook-listening",
                    "Listening for a test event: send a request to the test URL. It starts no run."
                }
                input { class: "webhook__url", readonly: true, value: "{test_url}", "data-testid": "webhook-test-url",
                    "aria-label": "Test URL" }
                code { class: "webhook__curl", "data-testid": "webhook-test-curl", "{curl}" }
                button { r#type: "button", class: "aos-button", "data-testid": "webhook-listen-stop",
                    onclick: move |_| listening.set(false), "Stop listening" }
            } else {
                button { r#type: "button", class: "aos-button", "data-testid": "webhook-listen", onclick: listen,
                    if heard.read().is_some() { "Listen again" } else { "Listen for a test event" }
                }
            }
            if let Some(message) = error() {
                p { class: "form-error", "data-testid": "webhook-listen-error", "{message}" }
            }
            if let Some(event) = heard() {
                div { class: "webhook__event", "data-testid": "webhook-test-event",
                    p { class: "muted", "Test event received {event.received_at}" }
                    h4 { "Body" }
                    JsonTree { value: event.body.clone(), testid: "test-event-body" }
                    h4 { "Headers" }
                    JsonTree { value: serde_json::Value::Object(event.headers.clone()), testid: "test-event-headers" }
                    h4 { "Query" }
                    JsonTree { value: serde_json::Value::Object(event.query.clone()), testid: "test-event-query" }
                    button { r#type: "button", class: "aos-button aos-button--primary", "data-testid": "webhook-test-use",
                        onclick: move |_| on_use.call(event.clone()), "Use as test input" }
                }
            }
        }
    }
}
