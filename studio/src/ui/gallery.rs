//! The template gallery (search, categories, a preview of the graph through the canvas renderer,
//! one-click install asking for the secrets the template needs) and creator profiles.

use aos_schema::Catalog;
use aos_ui_kit::canvas::{Scene, Viewport};
use aos_ui_kit::components::CanvasView;
use dioxus::prelude::*;

use super::app::Nav;
use crate::api::{self, Template};
use crate::route::Page;

#[component]
pub fn Gallery(org: String) -> Element {
    let nav = use_context::<Nav>();
    let mut search = use_signal(String::new);
    let mut category = use_signal(String::new);
    let list = use_resource(move || async move { api::gallery(&search(), &category()).await });
    let mut open = use_signal(|| None::<String>);
    rsx! {
        section { class: "gallery",
            div { class: "gallery__head",
                h1 { "Template gallery" }
                input { class: "gallery__search", "data-testid": "gallery-search", placeholder: "Search templates", value: "{search}", oninput: move |e| search.set(e.value()) }
                div { class: "gallery__categories",
                    button { class: if category().is_empty() { "chip is-active" } else { "chip" }, onclick: move |_| category.set(String::new()), "All" }
                    for c in aos_schema::GALLERY_CATEGORIES.iter() {
                        button { key: "{c}", "data-testid": "category-{c}", class: if category() == *c { "chip is-active" } else { "chip" },
                            onclick: move |_| category.set(c.to_string()), "{c}" }
                    }
                }
            }
            match &*list.read() {
                None => rsx! { p { class: "muted", "loading…" } },
                Some(Err(err)) => rsx! { p { class: "form-error", "{err}" } },
                Some(Ok(items)) if items.is_empty() => rsx! { p { class: "muted", "data-testid": "gallery-empty", "No template matches." } },
                Some(Ok(items)) => rsx! {
                    div { class: "gallery__grid",
                        for t in items.iter().cloned() {
                            TemplateCard { key: "{t.id}", template: t.clone(), on_open: move |id| open.set(Some(id)) }
                        }
                    }
                },
            }
            if let Some(id) = open() {
                TemplateDetailView { key: "{id}", org: org.clone(), template_id: id.clone(),
                    on_close: move |_| open.set(None),
                    on_installed: move |workflow: String| nav.go(Page::Workflow(workflow)) }
            }
        }
    }
}

#[component]
fn TemplateCard(template: Template, on_open: EventHandler<String>) -> Element {
    let id = template.id.to_string();
    rsx! {
        button { class: "template-card aos-surface", "data-testid": "template-{template.slug}", onclick: move |_| on_open.call(id.clone()),
            span { class: "template-card__category", "{template.category}" }
            span { class: "template-card__name", "{template.name}" }
            span { class: "template-card__description", "{template.description}" }
            span { class: "template-card__meta", "{template.install_count} installs · v{template.latest_version}" }
        }
    }
}

#[component]
fn TemplateDetailView(
    org: String,
    template_id: String,
    on_close: EventHandler<()>,
    on_installed: EventHandler<String>,
) -> Element {
    let nav = use_context::<Nav>();
    let id = template_id.clone();
    let detail = use_resource(move || {
        let id = id.clone();
        async move { api::template(&id).await }
    });
    let mut secret_values = use_signal(std::collections::BTreeMap::<String, String>::new);
    let mut error = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    // installed, with secrets the org still lacks: (the new workflow, the secrets to set)
    let mut unset = use_signal(|| None::<(String, Vec<String>)>);
    let catalog = use_hook(Catalog::builtin);
    let body = match &*detail.read() {
        None => rsx! { p { class: "muted", "loading…" } },
        Some(Err(err)) => rsx! { p { class: "form-error", "{err}" } },
        Some(Ok(detail)) => {
            let required = detail.latest.as_ref().map(|l| l.required_secrets.clone()).unwrap_or_default();
            let preview = detail.latest.as_ref().and_then(|l| l.graph.clone());
            let org = org.clone();
            let template = detail.template.id.to_string();
            rsx! {
                h2 { "{detail.template.name}" }
                p { class: "muted", "{detail.template.description}" }
                match preview {
                    Some(graph) => {
                        let scene = Scene::build(&graph, &catalog);
                        let viewport = scene.bounds().map(|b| Viewport::fit(b, 560.0, 260.0, 20.0)).unwrap_or_default();
                        rsx! { div { class: "template-preview", CanvasView { scene, viewport, testid: "template-preview", captures_wheel: false } } }
                    }
                    None => rsx! { p { class: "muted template-preview template-preview--none", "Preview arrives with the next gallery update." } },
                }
                if !required.is_empty() {
                    h3 { "Secrets this template needs" }
                    for name in required.iter().cloned() {
                        {
                            let value = secret_values.read().get(&name).cloned().unwrap_or_default();
                            let key = name.clone();
                            rsx! {
                                label { class: "field", key: "{name}",
                                    span { class: "field__label", "{name}" }
                                    input { r#type: "password", "data-testid": "install-secret-{name}", value: "{value}", autocomplete: "off",
                                        oninput: move |e| { secret_values.write().insert(key.clone(), e.value()); } }
                                }
                            }
                        }
                    }
                    p { class: "field__help", "Leave empty to set them later; values are stored encrypted and never shown again." }
                }
                if let Some((workflow, missing)) = unset() {
                    div { class: "form-error", role: "alert", "data-testid": "install-missing",
                        "Installed, but it will fail until these secrets are set (Secrets, in the dashboard): {missing.join(\", \")}"
                    }
                    button { class: "aos-button aos-button--primary", "data-testid": "install-open",
                        onclick: move |_| on_installed.call(workflow.clone()), "Open the workflow" }
                } else {
                    button { class: "aos-button aos-button--primary", "data-testid": "install", disabled: busy(),
                        onclick: move |_| {
                            let org = org.clone();
                            let template = template.clone();
                            let values: Vec<(String, String)> = secret_values().into_iter().collect();
                            busy.set(true);
                            spawn(async move {
                                let result = api::install(&org, &template, &values).await;
                                busy.set(false);
                                match result {
                                    Ok(installed) if !installed.missing_secrets.is_empty() => {
                                        unset.set(Some((installed.workflow_id.to_string(), installed.missing_secrets)));
                                    }
                                    Ok(installed) => on_installed.call(installed.workflow_id.to_string()),
                                    Err(err) => {
                                        nav.check(&err);
                                        error.set(Some(err.to_string()));
                                    }
                                }
                            });
                        },
                        "Install"
                    }
                }
            }
        }
    };
    rsx! {
        div { class: "modal", "data-testid": "template-detail",
            div { class: "modal__card aos-surface",
                button { class: "modal__close", onclick: move |_| on_close.call(()), "×" }
                {body}
                if let Some(message) = error() {
                    p { class: "form-error", "{message}" }
                }
            }
        }
    }
}

/// A creator's public page: who they are and their published templates.
#[component]
pub fn CreatorPage(handle: String) -> Element {
    let h = handle.clone();
    let profile = use_resource(move || {
        let h = h.clone();
        async move { api::profile(&h).await }
    });
    rsx! {
        section { class: "creator",
            match &*profile.read() {
                None => rsx! { p { class: "muted", "loading…" } },
                Some(Err(err)) => rsx! { p { class: "form-error", "{err}" } },
                Some(Ok(p)) => rsx! {
                    div { class: "creator__head aos-surface",
                        div { class: "avatar avatar--large", {initials(&p.profile.display_name)} }
                        div {
                            h1 { "data-testid": "creator-name", "{p.profile.display_name}" }
                            p { class: "muted", "@{p.profile.handle}" }
                            p { "{p.profile.bio}" }
                        }
                    }
                    h2 { "Templates" }
                    div { class: "gallery__grid",
                        for t in p.templates.iter().cloned() {
                            div { key: "{t.id}", class: "template-card aos-surface",
                                span { class: "template-card__category", "{t.category}" }
                                span { class: "template-card__name", "{t.name}" }
                                span { class: "template-card__description", "{t.description}" }
                            }
                        }
                    }
                },
            }
        }
    }
}

/// Up to two initials of a name.
pub fn initials(name: &str) -> String {
    let letters: String = name.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect();
    if letters.is_empty() { "?".into() } else { letters.to_uppercase() }
}
