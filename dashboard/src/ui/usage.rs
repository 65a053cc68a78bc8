//! Usage and cost: totals and SVG charts of runs, steps and cost per day and per workflow over a
//! chosen range, the price table, the credits balance with a top-up through the payment provider,
//! and the ledger — every amount to the micro.

use std::collections::HashMap;

use dioxus::prelude::*;
use serde_json::json;

use crate::api::{self, ApiError};
use crate::chart::{self, Frame, Metric, Point};
use crate::route::Route;
use crate::ui::common::{Ctx, ErrorNote, Link, Loading, PageHead, When};
use crate::{clock, money};
use aos_api::{Balance, LedgerEntry, PricePlan, UsageSummary, Workflow};
use aos_web_client::platform;

/// The test provider's payment method that always succeeds.
const TEST_CARD: &str = "tok_test_visa";

#[component]
pub fn UsagePage() -> Element {
    let ctx = use_context::<Ctx>();
    let mut days = use_signal(|| 30_i64);
    let summary = use_resource(move || async move {
        let org = (ctx.org)();
        let now = platform::now_ms();
        let from = clock::day_start(now) - (days() - 1) * clock::DAY_MS;
        let to = now + 1_000;
        let path = format!(
            "/api/orgs/{org}/usage?from={}&to={}",
            api::encode(&clock::to_rfc3339(from)),
            api::encode(&clock::to_rfc3339(to))
        );
        let usage = api::get::<UsageSummary>(&path).await?;
        let workflows = api::get::<Vec<Workflow>>(&format!("/api/orgs/{org}/workflows")).await?;
        Ok::<_, ApiError>((usage, workflows, from, now))
    });
    let body = match &*summary.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        Some(Ok((usage, workflows, from, now))) => {
            let day_keys = clock::days_between(*from, *now, 400);
            let names: HashMap<_, _> = workflows.iter().map(|w| (w.id, w.name.clone())).collect();
            let totals = usage.totals;
            rsx! {
                div { class: "stats", "data-testid": "usage-totals",
                    div { class: "stat glass", span { class: "stat__value", "data-testid": "total-runs", "data-value": "{totals.runs}", {Metric::Runs.format(totals.runs)} } span { class: "stat__label", "runs" } }
                    div { class: "stat glass", span { class: "stat__value", "data-testid": "total-steps", "data-value": "{totals.steps}", {Metric::Steps.format(totals.steps)} } span { class: "stat__label", "steps" } }
                    div { class: "stat glass", span { class: "stat__value", "data-testid": "total-compute", "data-value": "{totals.compute_ms}", {clock::format_duration(totals.compute_ms)} } span { class: "stat__label", "compute" } }
                    div { class: "stat glass", span { class: "stat__value", "data-testid": "total-cost", "data-micros": "{totals.cost_micros}", {money::format_micros(totals.cost_micros)} } span { class: "stat__label", "cost" } }
                }
                div { class: "charts",
                    for metric in Metric::ALL {
                        DayChart { key: "{metric.key()}", metric, points: chart::daily_series(&usage.by_day, &day_keys, metric) }
                    }
                    for metric in Metric::ALL {
                        WorkflowChart { key: "wf-{metric.key()}", metric, points: chart::workflow_series(&usage.by_workflow, &names, metric, 8) }
                    }
                }
            }
        }
    };
    rsx! {
        section { class: "page", "data-testid": "usage-page",
            PageHead { title: "Usage & cost",
                select {
                    class: "select",
                    "aria-label": "Range",
                    "data-testid": "usage-range",
                    value: "{days}",
                    onchange: move |e| days.set(e.value().parse().unwrap_or(30)),
                    option { value: "7", "Last 7 days" }
                    option { value: "30", selected: true, "Last 30 days" }
                    option { value: "90", "Last 90 days" }
                }
            }
            {body}
            div { class: "columns",
                PriceTable {}
                Credits {}
            }
        }
    }
}

/// The room above a day chart's plot, so its top tick's label is not cut off.
const TOP_ROOM: f64 = 12.0;

#[component]
fn DayChart(metric: Metric, points: Vec<Point>) -> Element {
    let frame = Frame::USAGE;
    let bars = chart::bar_chart(&points, frame, 4);
    let line = chart::line_path(&points, frame, bars.max);
    let label_every = (points.len() / 8).max(1);
    // days are labelled counting back from the last, so the range's last day always has its label
    let labelled = |i: usize| (points.len() - 1 - i).is_multiple_of(label_every);
    let plot_bottom = frame.height - frame.bottom;
    // room above the plot for the top tick's label
    let (top, tall) = (-TOP_ROOM, frame.height + TOP_ROOM);
    rsx! {
        figure { class: "chart glass", "data-testid": "chart-day-{metric.key()}",
            figcaption { "{metric.label()} per day" }
            svg { view_box: "0 {top} {frame.width} {tall}", role: "img", "aria-label": "{metric.label()} per day",
                for tick in bars.ticks.iter() {
                    g { key: "{tick.value}",
                        line { class: "chart__grid", x1: "{frame.left}", x2: "{frame.width}", y1: "{tick.y:.1}", y2: "{tick.y:.1}" }
                        text { class: "chart__axis", x: "{frame.left - 6.0}", y: "{tick.y + 4.0:.1}", text_anchor: "end", {metric.format(tick.value)} }
                    }
                }
                for (i, bar) in bars.bars.iter().enumerate() {
                    g { key: "{bar.label}",
                        rect {
                            class: "chart__bar",
                            x: "{bar.x:.1}", y: "{bar.y:.1}", width: "{bar.width:.1}", height: "{bar.height:.1}", rx: "3",
                            "data-day": "{bar.label}", "data-value": "{bar.value}",
                            title { "{bar.label}: {metric.format(bar.value)}" }
                        }
                        if labelled(i) {
                            text { class: "chart__axis", x: "{bar.x + bar.width / 2.0:.1}", y: "{plot_bottom + 16.0}", text_anchor: "middle", {chart::short_day(&bar.label).to_string()} }
                        }
                    }
                }
                path { class: "chart__line", d: "{line}" }
            }
        }
    }
}

#[component]
fn WorkflowChart(metric: Metric, points: Vec<Point>) -> Element {
    let max = chart::nice_max(points.iter().map(|p| p.value).max().unwrap_or(0));
    let row = 26.0;
    let label_width = 150.0;
    let width = 640.0;
    let height = (points.len().max(1) as f64) * row + 8.0;
    rsx! {
        figure { class: "chart glass", "data-testid": "chart-workflow-{metric.key()}",
            figcaption { "{metric.label()} per workflow" }
            if points.is_empty() {
                p { class: "muted", "No usage in this range." }
            } else {
                svg { view_box: "0 0 {width} {height}", role: "img", "aria-label": "{metric.label()} per workflow",
                    for (i, p) in points.iter().enumerate() {
                        {
                            let y = i as f64 * row + 4.0;
                            let w = (p.value.max(0) as f64 / max as f64) * (width - label_width - 90.0);
                            rsx! {
                                g { key: "{p.label}",
                                    text { class: "chart__axis", x: "{label_width - 8.0}", y: "{y + 16.0:.1}", text_anchor: "end", "{p.label}" }
                                    rect { class: "chart__bar", x: "{label_width}", y: "{y:.1}", width: "{w.max(1.0):.1}", height: "{row - 8.0}", rx: "3", "data-value": "{p.value}" }
                                    text { class: "chart__value", x: "{label_width + w + 6.0:.1}", y: "{y + 16.0:.1}", {metric.format(p.value)} }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[component]
fn PriceTable() -> Element {
    let plan = use_resource(|| async { api::get::<PricePlan>("/api/billing/plan").await });
    let body = match &*plan.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        Some(Ok(plan)) => rsx! {
            p { class: "muted", "{plan.name}" }
            table { class: "table", "data-testid": "price-table",
                tbody {
                    tr { th { scope: "row", "Per run" } td { "data-testid": "price-run", {money::format_micros(plan.run_micros)} } }
                    tr { th { scope: "row", "Per step" } td { "data-testid": "price-step", {money::format_micros(plan.step_micros)} } }
                    tr { th { scope: "row", "Per compute second" } td { {money::format_micros(plan.compute_second_micros)} } }
                    tr { th { scope: "row", "Per GB moved" } td { {money::format_micros(plan.gigabyte_micros)} } }
                }
            }
        },
    };
    rsx! {
        section { class: "panel glass", "data-testid": "prices",
            h2 { "Prices" }
            {body}
        }
    }
}

#[component]
fn Credits() -> Element {
    let ctx = use_context::<Ctx>();
    let mut balance = use_resource(move || async move {
        let org = (ctx.org)();
        api::get::<Balance>(&format!("/api/orgs/{org}/billing")).await
    });
    let admin = ctx.is_org_admin();
    let mut ledger = use_resource(move || async move {
        let org = (ctx.org)();
        if !admin {
            return Ok(Vec::new());
        }
        api::get::<Vec<LedgerEntry>>(&format!("/api/orgs/{org}/billing/ledger?limit=50")).await
    });
    let mut amount = use_signal(|| "10.00".to_string());
    let mut problem = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    let top_up = move |event: FormEvent| async move {
        event.prevent_default();
        let micros = match money::parse_amount(&amount.read()) {
            Ok(micros) => micros,
            Err(err) => {
                problem.set(Some(err.to_string()));
                return;
            }
        };
        busy.set(true);
        let org = (ctx.org)();
        let body = json!({ "amount_micros": micros, "payment_token": TEST_CARD });
        match api::call("POST", &format!("/api/orgs/{org}/billing/top-up"), Some(&body)).await {
            Ok(()) => problem.set(None),
            Err(err) => problem.set(Some(err.message)),
        }
        busy.set(false);
        balance.restart();
        ledger.restart();
    };
    let shown_balance = match &*balance.read() {
        Some(Ok(b)) => rsx! {
            span {
                class: "balance",
                "data-testid": "balance",
                "data-micros": "{b.balance_micros}",
                {money::format_micros(b.balance_micros)}
            }
        },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        None => rsx! { Loading {} },
    };
    rsx! {
        section { class: "panel glass", "data-testid": "credits",
            h2 { "Credits" }
            {shown_balance}
            if admin {
                form { class: "topup", "data-testid": "topup-form", onsubmit: top_up,
                    label { r#for: "topup-amount", "Top up (test card)" }
                    input {
                        id: "topup-amount",
                        inputmode: "decimal",
                        "data-testid": "topup-amount",
                        value: "{amount}",
                        oninput: move |e| amount.set(e.value()),
                    }
                    button { class: "button button--primary", r#type: "submit", disabled: busy(), "data-testid": "topup-submit", "Add credits" }
                }
                if let Some(text) = problem() {
                    div { class: "note note--error", role: "alert", "data-testid": "topup-error", "{text}" }
                }
                h3 { "Ledger" }
                match &*ledger.read() {
                    Some(Ok(rows)) => rsx! {
                        table { class: "table", "data-testid": "ledger",
                            thead { tr { th { "When" } th { "What" } th { class: "num", "Amount" } } }
                            tbody {
                                for row in rows.iter().cloned() {
                                    tr { key: "{row.seq}", "data-testid": "ledger-row",
                                        td { When { at: row.created_at.clone() } }
                                        td {
                                            if let Some(run) = row.run_id {
                                                Link { to: Route::Run(run), testid: "ledger-run".to_string(),
                                                    {row.workflow_name.as_ref().map_or_else(|| "Run".to_owned(), |name| format!("{name} run"))}
                                                }
                                                " · "
                                            }
                                            "{row.memo}" span { class: "muted", " {row.kind}" }
                                        }
                                        td {
                                            class: if row.amount_micros < 0 { "num num--neg" } else { "num" },
                                            "data-micros": "{row.amount_micros}",
                                            {money::format_micros(row.amount_micros)}
                                        }
                                    }
                                }
                            }
                        }
                    },
                    Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
                    None => rsx! { Loading {} },
                }
            } else {
                p { class: "muted", "Org admins top up credits and see the ledger." }
            }
        }
    }
}
