//! The audit log (org admins): searchable, with the hash chain's verification status on top.

use dioxus::prelude::*;

use crate::api;
use crate::filters::audit_matches;
use crate::ui::common::{Ctx, ErrorNote, Loading, PageHead, When};
use aos_api::{AuditRecord, ChainVerification};

#[component]
pub fn AuditPage() -> Element {
    let ctx = use_context::<Ctx>();
    let mut prefix = use_signal(String::new);
    let mut search = use_signal(String::new);
    let mut rows = use_resource(move || async move {
        let org = (ctx.org)();
        if !ctx.is_org_admin() {
            return Ok(Vec::new());
        }
        let mut path = format!("/api/orgs/{org}/audit?order=newest&limit=500");
        let prefix = prefix();
        if !prefix.is_empty() {
            path.push_str(&format!("&action={}", api::encode(&prefix)));
        }
        api::get::<Vec<AuditRecord>>(&path).await
    });
    let mut verify = use_resource(move || async move {
        let org = (ctx.org)();
        if !ctx.is_org_admin() {
            return Ok(ChainVerification { rows_checked: 0, broken_at: None });
        }
        api::get::<ChainVerification>(&format!("/api/orgs/{org}/audit/verify")).await
    });
    if !ctx.is_org_admin() {
        return rsx! {
            section { class: "page", "data-testid": "audit-page",
                PageHead { title: "Audit log" }
                p { class: "muted", "Org admins read the audit log." }
            }
        };
    }
    let chain = match &*verify.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        Some(Ok(v)) => match &v.broken_at {
            None => rsx! {
                div { class: "chain chain--ok glass", "data-testid": "chain-status", "data-intact": "true",
                    "Chain intact: {v.rows_checked} rows verified"
                }
            },
            Some(b) => rsx! {
                div { class: "chain chain--broken glass", role: "alert", "data-testid": "chain-status", "data-intact": "false",
                    "Chain broken at row {b.chain_seq}: {b.reason}"
                }
            },
        },
    };
    let list = match &*rows.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        Some(Ok(all)) => {
            let query = search();
            // newest first on screen
            let shown: Vec<AuditRecord> = all.iter().rev().filter(|r| audit_matches(r, &query)).cloned().collect();
            rsx! {
                p { class: "muted", "data-testid": "audit-count", "{shown.len()} of {all.len()} rows" }
                table { class: "table glass", "data-testid": "audit-table",
                    thead { tr { th { "#" } th { "When" } th { "Who" } th { "Action" } th { "Target" } th { "Detail" } } }
                    tbody {
                        for r in shown {
                            tr { key: "{r.chain_seq}", "data-testid": "audit-row",
                                td { "{r.chain_seq}" }
                                td { When { at: r.created_at.clone() } }
                                td { "{r.actor}" }
                                td { code { "{r.action}" } }
                                td { "{r.target_kind} " span { class: "muted", "{r.target_id}" } }
                                td { code { class: "detail", title: "hash {r.hash}", "{r.detail}" } }
                            }
                        }
                    }
                }
            }
        }
    };
    rsx! {
        section { class: "page", "data-testid": "audit-page",
            PageHead { title: "Audit log",
                button {
                    class: "button button--ghost",
                    "data-testid": "audit-verify",
                    onclick: move |_| {
                        verify.restart();
                        rows.restart();
                    },
                    "Verify again"
                }
            }
            {chain}
            div { class: "filters glass",
                label { r#for: "audit-search", "Search" }
                input {
                    id: "audit-search",
                    r#type: "search",
                    placeholder: "secret SLACK user:…",
                    "data-testid": "audit-search",
                    value: "{search}",
                    oninput: move |e| search.set(e.value()),
                }
                label { r#for: "audit-prefix", "Action" }
                select {
                    id: "audit-prefix",
                    class: "select",
                    "data-testid": "audit-action",
                    onchange: move |e| prefix.set(e.value()),
                    option { value: "", "Any" }
                    for p in ["workflow.", "run.", "secret.", "webhook.", "credits.", "member.", "org.", "template.", "admin."] {
                        option { value: "{p}", "{p}*" }
                    }
                }
            }
            {list}
        }
    }
}
