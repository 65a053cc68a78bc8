//! Secrets (names and dates only: values are write-only — set or replaced here, never shown) and
//! the templates installed into the org.

use dioxus::prelude::*;

use crate::api::{self, ApiError};
use crate::filters::secret_name_problem;
use crate::route::Route;
use crate::ui::common::{Confirm, ConfirmDialog, Ctx, ErrorNote, Link, Loading, PageHead, When};
use aos_api::{Installation, NewSecret, SecretMeta, SecretValue, Workflow};

#[component]
pub fn SecretsPage() -> Element {
    let ctx = use_context::<Ctx>();
    let mut secrets = use_resource(move || async move {
        let org = (ctx.org)();
        api::get::<Vec<SecretMeta>>(&format!("/api/orgs/{org}/secrets")).await
    });
    let admin = ctx.is_org_admin();
    let mut name = use_signal(String::new);
    let mut value = use_signal(String::new);
    let mut problem = use_signal(|| None::<String>);
    let mut saved = use_signal(|| None::<String>);
    let mut deleting = use_signal(|| None::<String>);

    let save = move |event: FormEvent| async move {
        event.prevent_default();
        let chosen = name.read().trim().to_string();
        if let Some(why) = secret_name_problem(&chosen) {
            problem.set(Some(why.into()));
            return;
        }
        let org = (ctx.org)();
        let exists = matches!(&*secrets.peek(), Some(Ok(list)) if list.iter().any(|s| s.name == chosen));
        let secret = value.read().clone();
        let result = if exists {
            let path = format!("/api/orgs/{org}/secrets/{}", api::encode(&chosen));
            api::send::<SecretMeta>("PUT", &path, &SecretValue { value: secret }).await
        } else {
            let path = format!("/api/orgs/{org}/secrets");
            api::send::<SecretMeta>("POST", &path, &NewSecret { name: chosen.clone(), value: secret }).await
        };
        // the value leaves the page as soon as it is sent
        value.set(String::new());
        match result {
            Ok(_) => {
                problem.set(None);
                saved.set(Some(format!("{chosen} {}", if exists { "replaced" } else { "saved" })));
                name.set(String::new());
            }
            Err(err) => problem.set(Some(err.message)),
        }
        secrets.restart();
    };
    let answer_delete = move |yes: bool| async move {
        let Some(target) = deleting() else { return };
        deleting.set(None);
        if yes {
            let org = (ctx.org)();
            if let Err(err) =
                api::call("DELETE", &format!("/api/orgs/{org}/secrets/{}", api::encode(&target)), None).await
            {
                problem.set(Some(err.message));
            }
            secrets.restart();
        }
    };

    let list = match &*secrets.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        Some(Ok(rows)) if rows.is_empty() => {
            rsx! { p { class: "empty glass", "data-testid": "secrets-empty", "No secrets yet." } }
        }
        Some(Ok(rows)) => rsx! {
            SecretsTable {
                rows: rows.clone(),
                admin,
                on_replace: move |n: String| name.set(n),
                on_delete: move |n: String| deleting.set(Some(n)),
            }
        },
    };
    rsx! {
        section { class: "page", "data-testid": "secrets-page",
            PageHead { title: "Secrets" }
            p { class: "muted", "Workflows read these as " code { "{{{{ secrets.NAME }}}}" } ". Values are encrypted and never shown again." }
            if admin {
                form { class: "secret-form glass", "data-testid": "secret-form", autocomplete: "off", onsubmit: save,
                    label { r#for: "secret-name", "Name" }
                    input { id: "secret-name", "data-testid": "secret-name", value: "{name}", oninput: move |e| name.set(e.value()) }
                    label { r#for: "secret-value", "Value" }
                    input {
                        id: "secret-value",
                        r#type: "password",
                        autocomplete: "new-password",
                        "data-testid": "secret-value",
                        value: "{value}",
                        oninput: move |e| value.set(e.value()),
                    }
                    button { class: "button button--primary", r#type: "submit", "data-testid": "secret-save", "Save" }
                }
            } else {
                p { class: "muted", "Org admins set and replace secrets." }
            }
            if let Some(text) = problem() {
                div { class: "note note--error", role: "alert", "data-testid": "secret-error", "{text}" }
            }
            if let Some(text) = saved() {
                div { class: "note", role: "status", "data-testid": "secret-saved", "{text}" }
            }
            {list}
            h2 { "Installed templates" }
            Installations {}
            if let Some(target) = deleting() {
                ConfirmDialog {
                    confirm: Confirm {
                        title: format!("Delete {target}?"),
                        body: "Workflows that use it will fail until it is set again.".into(),
                        action: "Delete".into(),
                    },
                    on_answer: answer_delete,
                }
            }
        }
    }
}

/// The org's secrets: names and bookkeeping, never values; replace and delete for admins.
#[component]
fn SecretsTable(
    rows: Vec<SecretMeta>,
    admin: bool,
    on_replace: EventHandler<String>,
    on_delete: EventHandler<String>,
) -> Element {
    rsx! {
        table { class: "table glass", "data-testid": "secrets-table",
            thead { tr { th { "Name" } th { "Created" } th { "Updated" } th { "Last used" } th { "Key" } th {} } }
            tbody {
                for s in rows {
                    tr { key: "{s.name}", "data-testid": "secret-row", "data-name": "{s.name}",
                        td { code { "{s.name}" } }
                        td { When { at: s.created_at.clone() } }
                        td { When { at: s.updated_at.clone() } }
                        td {
                            match s.last_used_at.clone() {
                                Some(at) => rsx! { When { at } },
                                None => rsx! { span { class: "muted", "never" } },
                            }
                        }
                        td { span { class: "muted", "{s.key_id}" } }
                        td {
                            if admin {
                                button {
                                    class: "button button--ghost",
                                    "data-testid": "secret-replace",
                                    onclick: { let n = s.name.clone(); move |_| on_replace.call(n.clone()) },
                                    "Replace"
                                }
                                button {
                                    class: "button button--ghost",
                                    "data-testid": "secret-delete",
                                    onclick: { let n = s.name.clone(); move |_| on_delete.call(n.clone()) },
                                    "Delete"
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The templates installed into the org, each linking to the workflow it made.
#[component]
fn Installations() -> Element {
    let ctx = use_context::<Ctx>();
    let installs = use_resource(move || async move {
        let org = (ctx.org)();
        let installs = api::get::<Vec<Installation>>(&format!("/api/orgs/{org}/installations")).await?;
        let workflows = api::get::<Vec<Workflow>>(&format!("/api/orgs/{org}/workflows")).await?;
        Ok::<_, ApiError>((installs, workflows))
    });
    match &*installs.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        Some(Ok((rows, _))) if rows.is_empty() => {
            rsx! { p { class: "muted", "No templates installed. Browse the gallery in the studio." } }
        }
        Some(Ok((rows, workflows))) => rsx! {
            ul { class: "installs", "data-testid": "installations",
                for i in rows.iter().cloned() {
                    li { key: "{i.workflow_id}",
                        Link { to: Route::WorkflowRuns(i.workflow_id),
                            {workflows.iter().find(|w| w.id == i.workflow_id).map_or_else(|| "deleted workflow".to_string(), |w| w.name.clone())}
                        }
                        span { class: "muted", " template v{i.template_version}, installed " }
                        When { at: i.created_at.clone() }
                    }
                }
            }
        },
    }
}
