//! The workflows page: each workflow with its state, last run, success rate and cost this month;
//! its triggers switched on and off; links to its runs and to the studio.

use std::collections::HashMap;

use dioxus::prelude::*;
use serde_json::json;

use crate::api::{self, ApiError};
use crate::route::{Route, studio_path};
use crate::ui::common::{Badge, Ctx, ErrorNote, Link, Loading, PageHead, When};
use crate::{clock, money, runs};
use aos_api::{Run, UsageSummary, Workflow};
use aos_web_client::platform;

#[component]
pub fn WorkflowsPage() -> Element {
    let ctx = use_context::<Ctx>();
    let mut data = use_resource(move || async move {
        let org = (ctx.org)();
        let month = clock::to_rfc3339(clock::month_start(platform::now_ms()));
        let workflows = api::get::<Vec<Workflow>>(&format!("/api/orgs/{org}/workflows")).await?;
        let recent = api::get::<Vec<Run>>(&format!("/api/orgs/{org}/runs?limit=500")).await?;
        let usage = api::get::<UsageSummary>(&format!("/api/orgs/{org}/usage?from={}", api::encode(&month))).await?;
        Ok::<_, ApiError>((workflows, recent, usage))
    });
    let mut problem = use_signal(|| None::<ApiError>);
    let body = match &*data.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        Some(Ok((workflows, recent, usage))) => {
            let stats = runs::workflow_stats(recent);
            let cost: HashMap<_, _> = usage.by_workflow.iter().map(|w| (w.workflow_id, w.totals.cost_micros)).collect();
            let can_edit = ctx.can_edit();
            if workflows.is_empty() {
                rsx! {
                    div { class: "empty glass", "data-testid": "workflows-empty",
                        p { "No workflows yet." }
                        a { class: "button button--primary", href: "/studio/", "Build one in the studio" }
                    }
                }
            } else {
                rsx! {
                    div { class: "cards",
                        for w in workflows.iter().cloned() {
                            {
                                let stat = stats.get(&w.id).cloned().unwrap_or_default();
                                let rate = stat.success_percent().map_or("—".to_string(), |p| format!("{p}%"));
                                let spent = money::format_micros(cost.get(&w.id).copied().unwrap_or(0));
                                let id = w.id;
                                let enabled = w.enabled;
                                let state = match (w.current_version, enabled) {
                                    (None, _) => "draft".to_string(),
                                    (Some(_), true) => "enabled".to_string(),
                                    (Some(_), false) => "disabled".to_string(),
                                };
                                rsx! {
                                    article { class: "card glass", key: "{id}", "data-testid": "workflow-card", "data-workflow-id": "{id}",
                                        header { class: "card__head",
                                            h2 { class: "card__title", "data-testid": "workflow-name", "{w.name}" }
                                            Badge { word: state }
                                        }
                                        if !w.description.is_empty() {
                                            p { class: "muted card__desc", "{w.description}" }
                                        }
                                        dl { class: "facts",
                                            div {
                                                dt { "Version" }
                                                dd { {w.current_version.map_or("unpublished".to_string(), |v| format!("v{v}"))} }
                                            }
                                            div {
                                                dt { "Last run" }
                                                dd { "data-testid": "workflow-last-run",
                                                    match stat.last.clone() {
                                                        Some((status, at)) => rsx! { Badge { word: status.to_string() } " " When { at } },
                                                        None => rsx! { "never" },
                                                    }
                                                }
                                            }
                                            div {
                                                dt { "Success rate" }
                                                dd { "data-testid": "workflow-success", "{rate}" }
                                            }
                                            div {
                                                dt { "Cost this month" }
                                                dd { "data-testid": "workflow-cost", "{spent}" }
                                            }
                                        }
                                        footer { class: "card__actions",
                                            Link { to: Route::WorkflowRuns(id), class: "button".to_string(), testid: "workflow-runs".to_string(), "Runs" }
                                            a { class: "button", href: studio_path(id), "data-testid": "open-in-studio", "Open in studio" }
                                            if can_edit && w.current_version.is_some() {
                                                button {
                                                    class: "button button--ghost",
                                                    role: "switch",
                                                    "aria-checked": "{enabled}",
                                                    "data-testid": "toggle-triggers",
                                                    onclick: move |_| async move {
                                                        let body = json!({ "enabled": !enabled });
                                                        match api::call("PATCH", &format!("/api/workflows/{id}"), Some(&body)).await {
                                                            Ok(()) => problem.set(None),
                                                            Err(err) => problem.set(Some(err)),
                                                        }
                                                        data.restart();
                                                    },
                                                    if enabled { "Disable triggers" } else { "Enable triggers" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    rsx! {
        section { class: "page", "data-testid": "workflows-page",
            PageHead { title: "Workflows",
                button { class: "button button--ghost", onclick: move |_| data.restart(), "Refresh" }
            }
            if let Some(err) = problem() {
                ErrorNote { error: err }
            }
            {body}
        }
    }
}
