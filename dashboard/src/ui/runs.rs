//! The runs pages: the list with its filters (status, workflow, time), and one run live — its
//! graph pulsing as steps run, the step timeline with attempts, inputs and outputs, the log
//! streaming from `/ws/events?run=…`, and cancel and replay.

use aos_schema::{RunId, RunStatus, WorkflowGraph, WorkflowId};
use dioxus::prelude::*;
use futures_util::StreamExt;
use serde_json::json;

use crate::api::{self, ApiError};
use crate::route::Route;
use crate::runs::{self as logic, Window};
use crate::ui::common::{Badge, Ctx, ErrorNote, JsonPane, Link, Loading, PageHead, When, navigate};
use crate::ui::graph::{RunGraph, drawn_states};
use crate::{clock, money};
use aos_api::{Run, RunCreated, RunDetail, RunLog, SourceView, UsageTotals, VersionDetail, Workflow};
use aos_web_client::platform;
use aos_web_client::socket::{self, Backoff};
use aos_web_client::{Socket, SocketEvent};

/// How many runs the list reads at a time.
const PAGE: i64 = 100;

#[component]
pub fn RunsPage(workflow: Option<WorkflowId>) -> Element {
    let ctx = use_context::<Ctx>();
    let mut status = use_signal(|| None::<RunStatus>);
    let mut chosen = use_signal(|| workflow);
    let mut window = use_signal(|| Window::All);
    let workflows = use_resource(move || async move {
        let org = (ctx.org)();
        api::get::<Vec<Workflow>>(&format!("/api/orgs/{org}/workflows")).await
    });
    // the newest `shown` runs of the window; "Show more" reads further back
    let mut shown_limit = use_signal(|| PAGE);
    let mut list = use_resource(move || async move {
        let org = (ctx.org)();
        let mut path = format!("/api/orgs/{org}/runs?limit={}", shown_limit());
        if let Some(since) = window().since(platform::now_ms()) {
            path.push_str(&format!("&since={}", api::encode(&since)));
        }
        if let Some(status) = status() {
            path.push_str(&format!("&status={status}"));
        }
        if let Some(workflow) = chosen() {
            path.push_str(&format!("&workflow={workflow}"));
        }
        api::get::<Vec<Run>>(&path).await
    });
    // a live list: unfinished runs change under our eyes
    use_future(move || async move {
        loop {
            platform::sleep_ms(3_000).await;
            list.restart();
        }
    });
    let names: Vec<(WorkflowId, String)> = match &*workflows.read() {
        Some(Ok(items)) => items.iter().map(|w| (w.id, w.name.clone())).collect(),
        _ => Vec::new(),
    };
    let name_of = {
        let names = names.clone();
        move |id: WorkflowId| names.iter().find(|(w, _)| *w == id).map_or_else(|| id.to_string(), |(_, n)| n.clone())
    };
    let now = platform::now_ms();
    let body = match &*list.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        Some(Ok(rows)) => {
            let more = rows.len() as i64 >= shown_limit();
            let shown: Vec<Run> = rows.iter().filter(|r| window().admits(&r.created_at, now)).cloned().collect();
            if shown.is_empty() {
                rsx! { p { class: "empty glass", "data-testid": "runs-empty", "No runs match." } }
            } else {
                rsx! {
                    table { class: "table glass", "data-testid": "runs-table",
                        thead {
                            tr {
                                th { scope: "col", "Run" }
                                th { scope: "col", "Workflow" }
                                th { scope: "col", "Status" }
                                th { scope: "col", "Trigger" }
                                th { scope: "col", "Started" }
                                th { scope: "col", "Took" }
                            }
                        }
                        tbody {
                            for run in shown {
                                {
                                    let took = match (run.started_at.as_deref().and_then(clock::parse_rfc3339), run.finished_at.as_deref().and_then(clock::parse_rfc3339)) {
                                        (Some(s), Some(f)) => clock::format_duration(f - s),
                                        (Some(s), None) => format!("{}…", clock::format_duration(now - s)),
                                        _ => "—".to_string(),
                                    };
                                    let short = run.id.to_string()[..8].to_string();
                                    rsx! {
                                        tr { key: "{run.id}", "data-testid": "run-row", "data-run-id": "{run.id}",
                                            td { Link { to: Route::Run(run.id), testid: "run-link".to_string(), "{short}" } }
                                            td { "{name_of(run.workflow_id)}" }
                                            td { Badge { word: run.status.to_string() } }
                                            td { "{run.trigger_kind}" }
                                            td { When { at: run.created_at.clone() } }
                                            td { "{took}" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    if more {
                        button { class: "button", "data-testid": "runs-more",
                            onclick: move |_| shown_limit += PAGE,
                            "Show more"
                        }
                    }
                }
            }
        }
    };
    let status_value = status().map_or(String::new(), |s| s.to_string());
    let workflow_value = chosen().map_or(String::new(), |w| w.to_string());
    rsx! {
        section { class: "page", "data-testid": "runs-page",
            PageHead { title: "Runs" }
            div { class: "filters glass", role: "group", "aria-label": "Filters",
                label { r#for: "filter-status", "Status" }
                select {
                    id: "filter-status",
                    class: "select",
                    "data-testid": "filter-status",
                    value: "{status_value}",
                    onchange: move |e| status.set(e.value().parse().ok()),
                    option { value: "", "Any" }
                    for s in RunStatus::ALL {
                        option { value: "{s}", selected: status() == Some(*s), "{s}" }
                    }
                }
                label { r#for: "filter-workflow", "Workflow" }
                select {
                    id: "filter-workflow",
                    class: "select",
                    "data-testid": "filter-workflow",
                    value: "{workflow_value}",
                    onchange: move |e| chosen.set(e.value().parse().ok()),
                    option { value: "", "All" }
                    for (id, name) in names.iter().cloned() {
                        option { value: "{id}", selected: chosen() == Some(id), "{name}" }
                    }
                }
                label { r#for: "filter-window", "Time" }
                select {
                    id: "filter-window",
                    class: "select",
                    "data-testid": "filter-window",
                    value: "{window().key()}",
                    onchange: move |e| window.set(Window::from_key(&e.value())),
                    for w in Window::ALL {
                        option { value: "{w.key()}", selected: window() == w,
                            {match w { Window::Hour => "Last hour", Window::Day => "Last 24 h", Window::Week => "Last 7 days", Window::All => "Any time" }}
                        }
                    }
                }
            }
            if let Some(workflow) = chosen() {
                WebhookUrls { key: "{workflow}", workflow }
            }
            {body}
        }
    }
}

/// The webhook URLs of the workflow whose runs are shown, with copy (editors see them; viewers
/// are told why they do not).
#[component]
fn WebhookUrls(workflow: WorkflowId) -> Element {
    let sources = use_resource(move || async move {
        api::get::<Vec<SourceView>>(&format!("/api/workflows/{workflow}/webhooks")).await
    });
    let mut note = use_signal(|| None::<String>);
    let Some(Ok(list)) = &*sources.read() else { return rsx! {} };
    if list.is_empty() {
        return rsx! {};
    }
    rsx! {
        div { class: "webhooks glass", "data-testid": "webhook-urls",
            for source in list.iter().cloned() {
                div { class: "webhooks__row", key: "{source.id}",
                    span { class: "webhooks__label", "Webhook URL" }
                    match source.url.clone() {
                        Some(url) => rsx! {
                            code { class: "webhooks__url", "data-testid": "webhook-url", "{url}" }
                            button { class: "button button--ghost", "data-testid": "webhook-copy",
                                onclick: move |_| {
                                    let url = url.clone();
                                    async move {
                                        let copied = platform::copy_text(&url).await;
                                        note.set(Some(if copied { "copied".into() } else { "select the URL and press Ctrl+C".into() }));
                                    }
                                },
                                "Copy"
                            }
                        },
                        None => rsx! {
                            span { class: "muted", "data-testid": "webhook-hidden", "{source.token_prefix}… (only editors see the URL)" }
                        },
                    }
                }
            }
            if let Some(text) = note() {
                p { class: "muted", role: "status", "{text}" }
            }
        }
    }
}

/// Reads the event stream of one run into `logs` until the run has finished, reconnecting with a
/// growing pause and resuming after the last row seen; refreshes the detail when the run ends.
async fn follow(id: RunId, mut logs: Signal<Vec<RunLog>>, mut detail: Resource<Result<RunDetail, ApiError>>) {
    let mut backoff = Backoff::default();
    loop {
        if let Ok(page) =
            api::get::<Vec<RunLog>>(&format!("/api/runs/{id}/logs?after={}", logic::last_seq(&logs.peek()))).await
        {
            logic::merge_logs(&mut logs.write(), page);
        }
        if logic::finished(&logs.peek()) {
            detail.restart();
            return;
        }
        let path = socket::run_events_path(&id.to_string(), logic::last_seq(&logs.peek()));
        if let Ok((_socket, mut events)) = Socket::channel(&path) {
            while let Some(event) = events.next().await {
                match event {
                    SocketEvent::Text(text) => {
                        if let Ok(row) = serde_json::from_str::<RunLog>(&text) {
                            let ends = row.event == "run_finished";
                            let step_done = matches!(row.event.as_str(), "step_succeeded" | "step_failed");
                            logic::merge_logs(&mut logs.write(), [row]);
                            backoff.reset();
                            if ends || step_done {
                                detail.restart();
                            }
                            if ends {
                                // the socket closes as it goes out of scope
                                return;
                            }
                        }
                    }
                    SocketEvent::Closed { .. } => break,
                    SocketEvent::Open | SocketEvent::Binary(_) => {}
                }
            }
        }
        backoff.wait().await;
    }
}

#[component]
pub fn RunPage(id: RunId) -> Element {
    let ctx = use_context::<Ctx>();
    let mut detail = use_resource(move || async move { api::get::<RunDetail>(&format!("/api/runs/{id}")).await });
    let logs = use_signal(Vec::<RunLog>::new);
    let mut tick = use_signal(platform::now_ms);
    let usage = use_resource(move || async move {
        // the detail's changes re-read the cost
        let _ = detail.read();
        api::get::<UsageTotals>(&format!("/api/runs/{id}/usage")).await
    });
    // the version's graph is read once, not at every refresh of the detail
    let version_of = use_memo(move || match &*detail.read() {
        Some(Ok(d)) => Some((d.run.workflow_id, d.run.version)),
        _ => None,
    });
    let graph = use_resource(move || async move {
        let (workflow, version) = version_of()?;
        api::get::<VersionDetail>(&format!("/api/workflows/{workflow}/versions/{version}")).await.ok()?.graph()
    });
    use_future(move || async move { follow(id, logs, detail).await });
    // running bars grow with the clock
    use_future(move || async move {
        loop {
            platform::sleep_ms(1_000).await;
            if !logic::finished(&logs.peek()) {
                tick.set(platform::now_ms());
            }
        }
    });
    let mut problem = use_signal(|| None::<ApiError>);
    let mut open_step = use_signal(|| None::<String>);
    let act = move |path: String, body: serde_json::Value| async move {
        match api::send::<serde_json::Value>("POST", &path, &body).await {
            Ok(answer) => {
                problem.set(None);
                if let Ok(created) = serde_json::from_value::<RunCreated>(answer) {
                    navigate(ctx.route, Route::Run(created.run_id));
                } else {
                    detail.restart();
                }
            }
            Err(err) => problem.set(Some(err)),
        }
    };
    let run_detail = detail.read().clone();
    let Some(run_detail) = run_detail else { return rsx! { Loading {} } };
    let run_detail = match run_detail {
        Ok(d) => d,
        Err(err) => return rsx! { section { class: "page", ErrorNote { error: err } } },
    };
    let run = run_detail.run.clone();
    let now = tick();
    let log_rows = logs.read().clone();
    let mut steps = logic::timeline(&log_rows, &run_detail.steps, now);
    let states = logic::node_states(&log_rows);
    let version_graph: Option<WorkflowGraph> = graph.read().clone().flatten();
    if let Some(graph) = &version_graph {
        logic::stretch_delays(graph, &mut steps, run.status.is_terminal());
    }
    let cost = match &*usage.read() {
        Some(Ok(totals)) => money::format_micros(totals.cost_micros),
        _ => "—".to_string(),
    };
    let can_edit = ctx.can_edit();
    let terminal = run.status.is_terminal();
    let failed = matches!(run.status, RunStatus::Failed | RunStatus::DeadLettered);
    rsx! {
        section { class: "page", "data-testid": "run-page", "data-run-id": "{id}", "data-status": "{run.status}",
            PageHead { title: format!("Run {}", &id.to_string()[..8]),
                Badge { word: run.status.to_string() }
                if can_edit && !terminal {
                    button {
                        class: "button button--danger",
                        "data-testid": "run-cancel",
                        onclick: move |_| act(format!("/api/runs/{id}/cancel"), json!({})),
                        "Cancel"
                    }
                }
                if can_edit && terminal {
                    button {
                        class: "button",
                        "data-testid": "replay-start",
                        onclick: move |_| act(format!("/api/runs/{id}/replay"), json!({ "from": "start" })),
                        "Replay from start"
                    }
                    if failed {
                        button {
                            class: "button button--primary",
                            "data-testid": "replay-failed",
                            onclick: move |_| act(format!("/api/runs/{id}/replay"), json!({ "from": "failed" })),
                            "Replay from failed step"
                        }
                    }
                }
            }
            if let Some(err) = problem() {
                ErrorNote { error: err }
            }
            dl { class: "facts facts--row glass",
                div { dt { "Version" } dd { Link { to: Route::WorkflowRuns(run.workflow_id), "v{run.version} · its runs" } } }
                div { dt { "Trigger" } dd { "{run.trigger_kind}" } }
                div { dt { "Created" } dd { When { at: run.created_at.clone() } } }
                div { dt { "Cost" } dd { "data-testid": "run-cost", "{cost}" } }
                if let Some(of) = run.replay_of {
                    div { dt { "Replay of" } dd { Link { to: Route::Run(of), {of.to_string()[..8].to_string()} } } }
                }
            }
            if let Some(error) = run.error.clone() {
                div { class: "note note--error", "data-testid": "run-error", "{error}" }
            }
            div { class: "run-graph glass", "data-testid": "run-graph",
                match &*graph.read() {
                    Some(Some(version_graph)) => rsx! {
                        RunGraph {
                            graph: version_graph.clone(),
                            states: drawn_states(version_graph, &states, terminal || logic::finished(&log_rows)),
                            settled: terminal || logic::finished(&log_rows),
                        }
                    },
                    _ => rsx! { p { class: "muted", "The graph appears once the version is loaded." } },
                }
            }
            h2 { "Steps" }
            ol { class: "timeline glass", "data-testid": "timeline",
                for step in steps {
                    {
                        let key = step.key.clone();
                        let open = open_step() == Some(key.clone());
                        let name = logic::step_name(&key, version_graph.as_ref());
                        rsx! {
                            StepLine { key: "{key}", step, name, open, on_toggle: move |_| open_step.set(if open { None } else { Some(key.clone()) }) }
                        }
                    }
                }
            }
            h2 { "Input" }
            JsonPane { value: run.input.clone(), testid: "run-input" }
            h2 { "Log" }
            LogRows { rows: log_rows, graph: version_graph }
        }
    }
}

/// One step on the run's timeline: its bar, and when open its attempts, error, input and output.
#[component]
fn StepLine(step: logic::TimelineStep, name: String, open: bool, on_toggle: EventHandler<()>) -> Element {
    let key = step.key.clone();
    let took = step.elapsed_ms.map(clock::format_duration).unwrap_or_default();
    let left = format!("{:.2}%", step.offset * 100.0);
    let width = format!("{:.2}%", (step.width * 100.0).max(0.8));
    rsx! {
        li { class: "timeline__step", "data-testid": "step", "data-step": "{key}", "data-status": "{step.status}",
            button { class: "timeline__head", "aria-expanded": "{open}", onclick: move |_| on_toggle.call(()),
                span { class: "timeline__name", title: "{key}", "{name}" }
                Badge { word: step.status.to_string() }
                span { class: "timeline__track",
                    span { class: "timeline__bar timeline__bar--{step.status}", style: "left: {left}; width: {width}" }
                }
                span { class: "timeline__took", "{took}" }
            }
            if open {
                div { class: "timeline__detail", "data-testid": "step-detail",
                    if !step.attempts.is_empty() {
                        h3 { "Attempts" }
                        ul { class: "attempts",
                            for attempt in step.attempts.iter().cloned() {
                                li { key: "{attempt.number}", "data-testid": "attempt",
                                    "#{attempt.number} "
                                    Badge { word: attempt.status.to_string() }
                                    if let Some(ms) = attempt.duration_ms { " {clock::format_duration(ms)}" }
                                    if let Some(code) = attempt.code.clone() { code { " {code}" } }
                                    if let Some(error) = attempt.error.clone() { span { class: "attempt__error", " {error}" } }
                                    if let Some(ms) = attempt.retry_in_ms { span { class: "muted", " — retried after {clock::format_duration(ms)}" } }
                                }
                            }
                        }
                    }
                    if let Some(error) = step.error.clone() {
                        h3 { "Error" }
                        div { class: "note note--error", "{error}" }
                    }
                    h3 { "Input" }
                    match step.input.clone() {
                        Some(value) => rsx! { JsonPane { value, testid: "step-input" } },
                        None => rsx! { p { class: "muted", "No input." } },
                    }
                    h3 { "Output" }
                    match step.output.clone() {
                        Some(value) => rsx! { JsonPane { value, testid: "step-output" } },
                        None => rsx! { p { class: "muted", "No output." } },
                    }
                }
            }
        }
    }
}

/// The run's log rows, oldest first, with their local times.
#[component]
fn LogRows(rows: Vec<RunLog>, graph: Option<WorkflowGraph>) -> Element {
    rsx! {
        ol { class: "log glass", "data-testid": "run-log", "aria-live": "polite",
            for row in rows {
                li { key: "{row.seq}", class: "log__row log__row--{row.level}", "data-event": "{row.event}",
                    span { class: "log__time",
                        {clock::parse_rfc3339(&row.created_at).map(clock::format_datetime).unwrap_or_default()}
                    }
                    span { class: "log__msg", {logic::labelled_message(&row, graph.as_ref())} }
                }
            }
        }
    }
}
