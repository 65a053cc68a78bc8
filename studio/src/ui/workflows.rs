//! The org's workflows: open one, create one, or import a file (AutomateOS or n8n) as a new one.

use dioxus::prelude::*;

use super::app::Nav;
use crate::api;
use crate::route::Page;

#[component]
pub fn WorkflowList(org: String) -> Element {
    let nav = use_context::<Nav>();
    let org_for_list = org.clone();
    let list = use_resource(move || {
        let org = org_for_list.clone();
        async move { api::workflows(&org).await }
    });
    let mut name = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let mut import_text = use_signal(String::new);
    let org_create = org.clone();
    let create = move |evt: FormEvent| {
        evt.prevent_default();
        let org = org_create.clone();
        let wanted = name().trim().to_owned();
        let wanted = if wanted.is_empty() { "Untitled workflow".to_owned() } else { wanted };
        spawn(async move {
            match api::create_workflow(&org, &wanted).await {
                Ok(workflow) => nav.go(Page::Workflow(workflow.id.to_string())),
                Err(err) => {
                    nav.check(&err);
                    error.set(Some(err.to_string()));
                }
            }
        });
    };
    let org_import = org.clone();
    let import_new = move |_| {
        let org = org_import.clone();
        let text = import_text();
        spawn(async move {
            match api::import_new(&org, &text).await {
                Ok(imported) => nav.go(Page::Workflow(imported.workflow.id.to_string())),
                Err(err) => {
                    nav.check(&err);
                    error.set(Some(err.to_string()));
                }
            }
        });
    };
    rsx! {
        section { class: "workflows",
            div { class: "workflows__head",
                h1 { "Workflows" }
                form { class: "workflows__new", onsubmit: create,
                    input { "data-testid": "new-workflow-name", placeholder: "Name a new workflow", value: "{name}", oninput: move |e| name.set(e.value()) }
                    button { class: "aos-button aos-button--primary", "data-testid": "new-workflow", r#type: "submit", "New workflow" }
                }
            }
            if let Some(message) = error() {
                p { class: "form-error", "{message}" }
            }
            match &*list.read() {
                None => rsx! { p { class: "muted", "loading…" } },
                Some(Err(err)) => rsx! { p { class: "form-error", "{err}" } },
                Some(Ok(items)) if items.is_empty() => rsx! { p { class: "muted", "data-testid": "no-workflows", "No workflows yet: create one or start from the gallery." } },
                Some(Ok(items)) => rsx! {
                    ul { class: "workflows__list",
                        for workflow in items.iter().cloned() {
                            {
                                let id = workflow.id.to_string();
                                let status = match workflow.current_version {
                                    Some(v) => format!("published v{v}"),
                                    None => "draft".to_owned(),
                                };
                                rsx! {
                                    li { key: "{workflow.id}",
                                        button { class: "workflow-card aos-surface", "data-testid": "workflow-{workflow.id}",
                                            onclick: move |_| nav.go(Page::Workflow(id.clone())),
                                            span { class: "workflow-card__name", "{workflow.name}" }
                                            span { class: "workflow-card__meta", "{status}" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                },
            }
            details { class: "workflows__import aos-surface",
                summary { "data-testid": "import-new-toggle", "Import a workflow file (AutomateOS or n8n)" }
                textarea { "data-testid": "import-new-text", placeholder: "Paste the file here, or choose it below", value: "{import_text}", oninput: move |e| import_text.set(e.value()) }
                input { r#type: "file", accept: ".json,application/json", "data-testid": "import-new-file", "aria-label": "Workflow file",
                    onchange: move |evt: FormEvent| {
                        async move {
                            if let Some(file) = evt.files().into_iter().next()
                                && let Ok(text) = file.read_string().await
                            {
                                import_text.set(text);
                            }
                        }
                    }
                }
                button { class: "aos-button", "data-testid": "import-new", disabled: import_text().trim().is_empty(), onclick: import_new, "Import as a new workflow" }
            }
        }
    }
}
