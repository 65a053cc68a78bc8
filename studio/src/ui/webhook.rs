//! The webhook trigger's URL, under the trigger's form: the production URL with copy, a ready
//! `curl` line and rotate (the old URL stops working at once). Publishing a webhook-triggered
//! workflow gives it its URL; until then the panel says so. Viewers are told that only editors see
//! the URL (whoever holds it can start runs).

use aos_schema::WorkflowGraph;
use dioxus::prelude::*;

use crate::api::{self, SourceView};
use aos_web_client::platform;

/// The URLs of `workflow_id`'s webhook sources, read again after every publish.
#[component]
pub fn WebhookUrl(workflow_id: String, published: Signal<Option<WorkflowGraph>>) -> Element {
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
                SourceRow { key: "{source.id}", source, on_rotated: move |_| rotations += 1 }
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

/// One source: its URL with copy and `curl`, and rotate behind a confirmation.
#[component]
fn SourceRow(source: SourceView, on_rotated: EventHandler<()>) -> Element {
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
        }
    }
}
