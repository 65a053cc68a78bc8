//! What the run pages compute from the API's rows: run-log merging (the REST page and the live
//! stream overlap, so rows are kept once, in sequence order), each step's timeline and attempts,
//! the live state of each node for the run graph, list filters, and per-workflow statistics.

use std::collections::HashMap;

use aos_schema::{RunStatus, StepStatus, WorkflowGraph, WorkflowId};

/// What the run graph shows on a node: the canvas's own run state.
pub use aos_ui_kit::components::NodeRunState as NodeState;

use crate::clock;
use aos_api::{Run, RunLog, StepView};

/// Adds `incoming` rows to `logs` (kept sorted by `seq`, each row once). Returns how many were new.
pub fn merge_logs(logs: &mut Vec<RunLog>, incoming: impl IntoIterator<Item = RunLog>) -> usize {
    let mut added = 0;
    for row in incoming {
        match logs.binary_search_by_key(&row.seq, |r| r.seq) {
            Ok(_) => {}
            Err(at) => {
                logs.insert(at, row);
                added += 1;
            }
        }
    }
    added
}

/// The sequence number to resume the live stream after.
pub fn last_seq(logs: &[RunLog]) -> i64 {
    logs.last().map_or(0, |r| r.seq)
}

/// Whether the stream has told of the run's end.
pub fn finished(logs: &[RunLog]) -> bool {
    logs.iter().any(|r| r.event == "run_finished")
}

/// The graph node a step key belongs to: `fetch[3]` (an item of a for-each body) is `fetch`.
pub fn base_node(step_key: &str) -> &str {
    step_key.split('[').next().unwrap_or(step_key)
}

/// One attempt of one step, as the log tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub number: i64,
    pub status: StepStatus,
    pub duration_ms: Option<i64>,
    /// The failure's message (from the log row).
    pub error: Option<String>,
    /// The failure's stable code, when the log row carries one.
    pub code: Option<String>,
    /// When a retry was scheduled after it.
    pub retry_in_ms: Option<i64>,
}

/// One step's line on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineStep {
    pub key: String,
    pub status: StepStatus,
    pub attempts: Vec<Attempt>,
    /// Where the bar starts and how wide it is, as fractions of the run's span (0..=1).
    pub offset: f64,
    pub width: f64,
    /// From the first start to the last finish (or to now while it runs).
    pub elapsed_ms: Option<i64>,
    /// The latest attempt's input and output (redacted by the server) and error, from the run
    /// detail.
    pub input: Option<serde_json::Value>,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
}

fn attempt_of(row: &RunLog) -> Option<i64> {
    row.data.get("attempt").and_then(serde_json::Value::as_i64)
}

/// The steps of a run in the order they first appeared, with their attempts and timeline bars.
/// `detail` (the run detail's latest attempts) wins on status, output and error; `now` closes the
/// bar of a step still running.
pub fn timeline(logs: &[RunLog], detail: &[StepView], now: i64) -> Vec<TimelineStep> {
    struct Acc {
        first: Option<i64>,
        last: Option<i64>,
        running: bool,
        status: StepStatus,
        attempts: Vec<Attempt>,
    }
    let mut order: Vec<String> = Vec::new();
    let mut steps: HashMap<String, Acc> = HashMap::new();
    let mut run_start: Option<i64> = None;
    let mut run_end: Option<i64> = None;
    for row in logs {
        let at = clock::parse_rfc3339(&row.created_at);
        if let Some(at) = at {
            run_start = Some(run_start.map_or(at, |s| s.min(at)));
            if row.event == "run_finished" {
                run_end = Some(at);
            }
        }
        let Some(key) = &row.node_id else { continue };
        let acc = steps.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Acc { first: None, last: None, running: false, status: StepStatus::Queued, attempts: Vec::new() }
        });
        let number = attempt_of(row).unwrap_or(acc.attempts.len() as i64 + 1);
        let touch = |acc: &mut Acc, status: StepStatus| {
            match acc.attempts.iter_mut().find(|a| a.number == number) {
                Some(attempt) => attempt.status = status,
                None => acc.attempts.push(Attempt {
                    number,
                    status,
                    duration_ms: None,
                    error: None,
                    code: None,
                    retry_in_ms: None,
                }),
            }
            acc.status = status;
        };
        match row.event.as_str() {
            "step_queued" => acc.status = StepStatus::Queued,
            "step_started" => {
                touch(acc, StepStatus::Running);
                acc.running = true;
                if acc.first.is_none() {
                    acc.first = at;
                }
            }
            "step_succeeded" | "step_failed" => {
                let ok = row.event == "step_succeeded";
                let duration_ms = row.data.get("duration_ms").and_then(serde_json::Value::as_i64);
                touch(acc, if ok { StepStatus::Succeeded } else { StepStatus::Failed });
                acc.running = false;
                acc.last = at.or(acc.last);
                // a step that ran in line logs only its end: it started its duration before
                if acc.first.is_none() {
                    acc.first = at.map(|end| end - duration_ms.unwrap_or(0).max(0));
                }
                if let Some(attempt) = acc.attempts.iter_mut().find(|a| a.number == number) {
                    attempt.duration_ms = duration_ms;
                    if !ok {
                        attempt.error = Some(row.message.clone());
                        attempt.code = row.data.get("code").and_then(|c| c.as_str()).map(str::to_owned);
                    }
                }
            }
            "step_retrying" => {
                let delay = row.data.get("delay_ms").and_then(serde_json::Value::as_i64);
                let retried = number - 1;
                if let Some(attempt) = acc.attempts.iter_mut().find(|a| a.number == retried) {
                    attempt.retry_in_ms = delay;
                }
                acc.status = StepStatus::Queued;
            }
            "step_skipped" => acc.status = StepStatus::Skipped,
            _ => {}
        }
    }
    let start = run_start.unwrap_or(now);
    let end = run_end.unwrap_or(now).max(start);
    let span = (end - start).max(1) as f64;
    let mut out: Vec<TimelineStep> = order
        .into_iter()
        .filter_map(|key| {
            let acc = steps.remove(&key)?;
            let view = detail.iter().find(|s| s.node_id == key);
            let finish = if acc.running { Some(now) } else { acc.last };
            let elapsed_ms = match (acc.first, finish) {
                (Some(first), Some(finish)) => Some((finish - first).max(0)),
                _ => None,
            };
            let offset = acc.first.map_or(0.0, |f| ((f - start) as f64 / span).clamp(0.0, 1.0));
            let width = elapsed_ms.map_or(0.0, |e| (e as f64 / span).clamp(0.0, 1.0 - offset));
            Some(TimelineStep {
                status: view.map_or(acc.status, |v| v.status),
                attempts: acc.attempts,
                offset,
                width,
                elapsed_ms,
                input: view.and_then(|v| v.input.clone()),
                output: view.and_then(|v| v.output.clone()),
                error: view.and_then(|v| v.error.clone()),
                key,
            })
        })
        .collect();
    // steps the detail knows but the log page does not (an older page) still show
    for view in detail {
        if !out.iter().any(|s| s.key == view.node_id) {
            out.push(TimelineStep {
                key: view.node_id.clone(),
                status: view.status,
                attempts: Vec::new(),
                offset: 0.0,
                width: 0.0,
                elapsed_ms: None,
                input: view.input.clone(),
                output: view.output.clone(),
                error: view.error.clone(),
            });
        }
    }
    out
}

/// A delay's configured wait, in milliseconds.
pub fn delay_wait_ms(node: &aos_schema::Node) -> Option<i64> {
    let seconds = node.config.get("seconds").and_then(serde_json::Value::as_f64)?;
    (seconds > 0.0 && seconds.is_finite()).then(|| (seconds * 1000.0).round() as i64)
}

/// A delay's bar covers its wait: its step returns at once and the run holds the output until
/// the steps after it start, so the bar runs to the first of those to start (while none has and
/// the run goes on, to now, drawn running), and it took at least its configured wait.
pub fn stretch_delays(graph: &WorkflowGraph, steps: &mut [TimelineStep], finished: bool) {
    for node in graph.nodes.iter().filter(|n| n.kind == aos_schema::kinds::LOGIC_DELAY) {
        let id = node.id.as_str();
        let Some(at) = steps.iter().position(|s| s.key == id) else { continue };
        if steps[at].status != StepStatus::Succeeded {
            continue;
        }
        let next_start = graph
            .edges
            .iter()
            .filter(|e| e.from.as_str() == id)
            .filter_map(|e| steps.iter().find(|s| s.key == e.to.as_str() && s.elapsed_ms.is_some()))
            .map(|s| s.offset)
            .reduce(f64::min);
        let step = &mut steps[at];
        match next_start {
            None if !finished => {
                step.status = StepStatus::Running;
                step.width = 1.0 - step.offset;
                step.elapsed_ms = None;
            }
            _ => {
                if let Some(next) = next_start {
                    step.width = step.width.max(next - step.offset);
                }
                if let Some(wait) = delay_wait_ms(node) {
                    step.elapsed_ms = Some(step.elapsed_ms.unwrap_or(0).max(wait));
                }
            }
        }
    }
}

/// Each graph node's state after the log rows so far (the last word wins; any running item of a
/// for-each keeps its node running), with the duration of its last finished attempt.
pub fn node_states(logs: &[RunLog]) -> HashMap<String, (NodeState, Option<i64>)> {
    let mut states: HashMap<String, (NodeState, Option<i64>)> = HashMap::new();
    let mut running_items: HashMap<String, i64> = HashMap::new();
    for row in logs {
        let Some(key) = &row.node_id else { continue };
        let node = base_node(key).to_owned();
        let duration = row.data.get("duration_ms").and_then(serde_json::Value::as_i64);
        let state = match row.event.as_str() {
            "step_queued" | "step_retrying" => NodeState::Queued,
            "step_started" => {
                *running_items.entry(node.clone()).or_default() += 1;
                NodeState::Running
            }
            "step_succeeded" | "step_failed" => {
                let left = running_items.entry(node.clone()).or_default();
                *left = (*left - 1).max(0);
                if *left > 0 {
                    NodeState::Running
                } else if row.event == "step_succeeded" {
                    NodeState::Succeeded
                } else {
                    NodeState::Failed
                }
            }
            "step_skipped" => NodeState::Skipped,
            _ => continue,
        };
        let entry = states.entry(node).or_insert((state, None));
        entry.0 = state;
        if duration.is_some() {
            entry.1 = duration;
        }
    }
    states
}

/// The time window of the runs list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Hour,
    Day,
    Week,
    All,
}

impl Window {
    pub const ALL: [Window; 4] = [Window::Hour, Window::Day, Window::Week, Window::All];

    pub fn key(self) -> &'static str {
        match self {
            Window::Hour => "1h",
            Window::Day => "24h",
            Window::Week => "7d",
            Window::All => "all",
        }
    }

    pub fn from_key(key: &str) -> Window {
        Window::ALL.into_iter().find(|w| w.key() == key).unwrap_or(Window::All)
    }

    fn span_ms(self) -> Option<i64> {
        match self {
            Window::Hour => Some(3_600_000),
            Window::Day => Some(clock::DAY_MS),
            Window::Week => Some(7 * clock::DAY_MS),
            Window::All => None,
        }
    }

    /// Where the window ending `now` starts, as the API's `since=` takes it (none: any time).
    pub fn since(self, now: i64) -> Option<String> {
        self.span_ms().map(|span| clock::to_rfc3339(now - span))
    }

    /// Whether a run created at `created_at` falls in the window ending `now`.
    pub fn admits(self, created_at: &str, now: i64) -> bool {
        match (self.span_ms(), clock::parse_rfc3339(created_at)) {
            (None, _) => true,
            (Some(span), Some(at)) => at >= now - span,
            (Some(_), None) => false,
        }
    }
}

/// A workflow's runs added up, for the workflows list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowStats {
    pub runs: usize,
    pub succeeded: usize,
    /// Failed or dead-lettered.
    pub failed: usize,
    /// The newest run's status and creation time.
    pub last: Option<(RunStatus, String)>,
}

impl WorkflowStats {
    /// Succeeded over finished runs (cancelled ones count for neither), in whole percent.
    pub fn success_percent(&self) -> Option<u32> {
        let finished = self.succeeded + self.failed;
        (finished > 0).then(|| ((self.succeeded * 100 + finished / 2) / finished) as u32)
    }
}

/// Stats per workflow from a page of runs (newest first, as the API lists them).
pub fn workflow_stats(runs: &[Run]) -> HashMap<WorkflowId, WorkflowStats> {
    let mut stats: HashMap<WorkflowId, WorkflowStats> = HashMap::new();
    for run in runs {
        let entry = stats.entry(run.workflow_id).or_default();
        entry.runs += 1;
        match run.status {
            RunStatus::Succeeded => entry.succeeded += 1,
            RunStatus::Failed | RunStatus::DeadLettered => entry.failed += 1,
            _ => {}
        }
        let newer = entry.last.as_ref().is_none_or(|(_, at)| {
            clock::parse_rfc3339(&run.created_at).unwrap_or(i64::MIN) > clock::parse_rfc3339(at).unwrap_or(i64::MIN)
        });
        if newer {
            entry.last = Some((run.status, run.created_at.clone()));
        }
    }
    stats
}

/// How a person reads a step: its node's label, with the item a for-each step ran for
/// (`Notify[3]`), or the key itself when the graph has no label for it.
pub fn step_name(step_key: &str, graph: Option<&WorkflowGraph>) -> String {
    let base = base_node(step_key);
    let label = graph.and_then(|g| g.node(base)).map(|n| n.label.trim()).filter(|l| !l.is_empty());
    match label {
        Some(label) => format!("{label}{}", &step_key[base.len()..]),
        None => step_key.to_owned(),
    }
}

/// A log row's message with its step's id put as the step's label (the server writes
/// `<step id> started`, `<step id> failed: …`).
pub fn labelled_message(row: &RunLog, graph: Option<&WorkflowGraph>) -> String {
    match &row.node_id {
        Some(key) if row.message.starts_with(key.as_str()) => {
            format!("{}{}", step_name(key, graph), &row.message[key.len()..])
        }
        _ => row.message.clone(),
    }
}

/// Pretty JSON for the input/output panes (the server already redacted secrets).
pub fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use aos_schema::{OrgId, RunId};
    use serde_json::json;

    use super::*;

    fn log(seq: i64, node: Option<&str>, event: &str, at: &str, data: serde_json::Value) -> RunLog {
        RunLog {
            seq,
            run_id: RunId::from_uuid(Default::default()),
            org_id: OrgId::from_uuid(Default::default()),
            workflow_id: WorkflowId::from_uuid(Default::default()),
            node_id: node.map(str::to_owned),
            level: "info".into(),
            event: event.into(),
            message: format!("{} {event}", node.unwrap_or("run")),
            data,
            created_at: format!("2026-11-25T10:00:{at}Z"),
        }
    }

    fn sample() -> Vec<RunLog> {
        vec![
            log(1, None, "run_started", "00", json!({})),
            log(2, Some("a"), "step_queued", "00", json!({"attempt": 1})),
            log(3, Some("a"), "step_started", "00", json!({"attempt": 1})),
            log(4, Some("a"), "step_succeeded", "02", json!({"attempt": 1, "duration_ms": 2000})),
            log(5, Some("b"), "step_started", "02", json!({"attempt": 1})),
            log(6, Some("b"), "step_failed", "03", json!({"attempt": 1, "code": "http_503", "duration_ms": 900})),
            log(7, Some("b"), "step_retrying", "03", json!({"attempt": 2, "delay_ms": 500})),
            log(8, Some("b"), "step_started", "04", json!({"attempt": 2})),
            log(9, Some("b"), "step_succeeded", "06", json!({"attempt": 2, "duration_ms": 1500})),
            log(10, None, "run_finished", "10", json!({"status": "succeeded"})),
        ]
    }

    #[test]
    fn merging_keeps_each_row_once_in_order() {
        let rows = sample();
        let mut logs = vec![rows[0].clone(), rows[4].clone()];
        let added = merge_logs(&mut logs, vec![rows[2].clone(), rows[4].clone(), rows[1].clone(), rows[9].clone()]);
        assert_eq!(added, 3);
        assert_eq!(logs.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3, 5, 10]);
        assert_eq!(last_seq(&logs), 10);
        assert!(finished(&logs));
        assert_eq!(last_seq(&[]), 0);
    }

    #[test]
    fn a_delay_bar_covers_its_wait() {
        let graph: WorkflowGraph = serde_json::from_value(json!({
            "nodes": [
                {"id": "a", "kind": "logic.delay", "config": {"seconds": 2}},
                {"id": "b", "kind": "data.transform"}
            ],
            "edges": [{"id": "e", "from": "a", "to": "b"}]
        }))
        .unwrap();
        let rows = vec![
            log(1, None, "run_started", "00", json!({})),
            log(2, Some("a"), "step_succeeded", "00", json!({"attempt": 1, "duration_ms": 0})),
        ];
        let mut waiting = timeline(&rows, &[], clock::parse_rfc3339("2026-11-25T10:00:01Z").unwrap());
        stretch_delays(&graph, &mut waiting, false);
        assert_eq!(waiting[0].status, StepStatus::Running, "still waiting: drawn running");
        assert!((waiting[0].width - 1.0).abs() < 1e-9, "up to now: {}", waiting[0].width);
        let mut done = rows.clone();
        done.push(log(3, Some("b"), "step_started", "02", json!({"attempt": 1})));
        done.push(log(4, Some("b"), "step_succeeded", "02", json!({"attempt": 1, "duration_ms": 0})));
        done.push(log(5, None, "run_finished", "04", json!({"status": "succeeded"})));
        let mut steps = timeline(&done, &[], 0);
        stretch_delays(&graph, &mut steps, true);
        assert_eq!(steps[0].status, StepStatus::Succeeded);
        assert!((steps[0].width - 0.5).abs() < 1e-9, "to the next step's start, half the run: {}", steps[0].width);
        assert_eq!(steps[0].elapsed_ms, Some(2_000), "it took its wait, not its step's 0 ms");
        assert_eq!(steps[1].elapsed_ms, Some(0), "the other step is as it was");
    }

    #[test]
    fn the_timeline_has_attempts_and_bars() {
        let detail = vec![StepView {
            node_id: "b".into(),
            status: StepStatus::Succeeded,
            attempts: 2,
            input: Some(json!({"id": 4})),
            output: Some(json!({"token": "[redacted]"})),
            error: None,
            duration_ms: Some(4),
            started_at: None,
            finished_at: None,
        }];
        let steps = timeline(&sample(), &detail, 0);
        assert_eq!(steps.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
        let b = &steps[1];
        assert_eq!(b.attempts.len(), 2);
        assert_eq!(b.attempts[0].status, StepStatus::Failed);
        assert_eq!(b.attempts[0].code.as_deref(), Some("http_503"));
        assert_eq!(b.attempts[0].retry_in_ms, Some(500));
        assert_eq!(b.attempts[1].duration_ms, Some(1500));
        assert_eq!(b.output.as_ref().unwrap()["token"], "[redacted]");
        assert_eq!(b.input.as_ref().unwrap()["id"], 4);
        assert_eq!(b.elapsed_ms, Some(4_000));
        assert!((b.offset - 0.2).abs() < 1e-9, "{}", b.offset);
        assert!((b.width - 0.4).abs() < 1e-9, "{}", b.width);
        assert_eq!(steps[0].offset, 0.0);
    }

    #[test]
    fn a_running_step_reaches_now() {
        let logs = &sample()[..5];
        let now = clock::parse_rfc3339("2026-11-25T10:00:05Z").unwrap();
        let steps = timeline(logs, &[], now);
        assert_eq!(steps[1].status, StepStatus::Running);
        assert_eq!(steps[1].elapsed_ms, Some(3_000));
        assert!(steps[1].offset + steps[1].width <= 1.0 + 1e-9);
    }

    #[test]
    fn steps_that_ran_in_line_start_their_duration_before_their_end() {
        let logs = vec![
            log(1, None, "run_started", "00", json!({})),
            log(2, Some("a"), "step_succeeded", "02", json!({"attempt": 1, "duration_ms": 1000})),
            log(3, Some("b"), "step_succeeded", "04", json!({"attempt": 1, "duration_ms": 2000})),
            log(4, None, "run_finished", "10", json!({"status": "succeeded"})),
        ];
        let steps = timeline(&logs, &[], 0);
        assert_eq!(steps.iter().map(|s| s.status).collect::<Vec<_>>(), [StepStatus::Succeeded; 2]);
        assert_eq!(steps[0].elapsed_ms, Some(1_000));
        assert!((steps[0].offset - 0.1).abs() < 1e-9, "{}", steps[0].offset);
        assert!((steps[1].offset - 0.2).abs() < 1e-9, "{}", steps[1].offset);
        assert!((steps[1].width - 0.2).abs() < 1e-9, "{}", steps[1].width);
        assert_eq!(node_states(&logs)["b"], (NodeState::Succeeded, Some(2000)));
    }

    #[test]
    fn node_states_follow_the_log_and_items() {
        let states = node_states(&sample()[..8]);
        assert_eq!(states["a"], (NodeState::Succeeded, Some(2000)));
        assert_eq!(states["b"].0, NodeState::Running);
        let items = vec![
            log(1, Some("each[0]"), "step_started", "00", json!({})),
            log(2, Some("each[1]"), "step_started", "00", json!({})),
            log(3, Some("each[0]"), "step_succeeded", "01", json!({"duration_ms": 5})),
        ];
        assert_eq!(node_states(&items)["each"].0, NodeState::Running, "one item still runs");
        assert_eq!(NodeState::Running.class(), "node--running");
        assert_eq!(base_node("each[12]"), "each");
    }

    fn run(workflow: WorkflowId, status: RunStatus, at: &str) -> Run {
        Run {
            id: RunId::new(),
            org_id: OrgId::new(),
            workflow_id: workflow,
            version: 1,
            status,
            trigger_kind: "manual".into(),
            idempotency_key: None,
            input: json!(null),
            replay_of: None,
            error: None,
            created_at: at.into(),
            started_at: None,
            finished_at: None,
        }
    }

    #[test]
    fn workflow_stats_and_success_rate() {
        let (w1, w2) = (WorkflowId::new(), WorkflowId::new());
        let runs = vec![
            run(w1, RunStatus::Running, "2026-11-25T10:00:03Z"),
            run(w1, RunStatus::Succeeded, "2026-11-25T10:00:02Z"),
            run(w1, RunStatus::DeadLettered, "2026-11-25T10:00:01Z"),
            run(w1, RunStatus::Succeeded, "2026-11-25T10:00:00Z"),
            run(w2, RunStatus::Cancelled, "2026-11-25T09:00:00Z"),
        ];
        let stats = workflow_stats(&runs);
        assert_eq!(stats[&w1].runs, 4);
        assert_eq!(stats[&w1].success_percent(), Some(67));
        assert_eq!(stats[&w1].last.as_ref().unwrap().0, RunStatus::Running);
        assert_eq!(stats[&w2].success_percent(), None);
    }

    #[test]
    fn time_windows() {
        let now = clock::parse_rfc3339("2026-11-25T12:00:00Z").unwrap();
        assert!(Window::Hour.admits("2026-11-25T11:30:00Z", now));
        assert!(!Window::Hour.admits("2026-11-25T10:30:00Z", now));
        assert!(Window::Day.admits("2026-11-24T12:00:00Z", now));
        assert!(!Window::Week.admits("not a time", now));
        assert!(Window::All.admits("not a time", now));
        assert_eq!(Window::Hour.since(now).as_deref(), Some("2026-11-25T11:00:00Z"));
        assert_eq!(Window::All.since(now), None);
        assert_eq!(Window::from_key("7d"), Window::Week);
        assert_eq!(Window::from_key("bogus"), Window::All);
    }

    #[test]
    fn steps_read_as_their_labels() {
        use aos_schema::Node;
        let graph = WorkflowGraph::new()
            .with_node(Node::new("data_transform_m1k5", "data.transform").with_label("Shape the order"))
            .with_node(Node::new("blank", "data.transform").with_label("  "));
        let graph = Some(&graph);
        assert_eq!(step_name("data_transform_m1k5", graph), "Shape the order");
        assert_eq!(step_name("data_transform_m1k5[3]", graph), "Shape the order[3]");
        assert_eq!(step_name("blank", graph), "blank", "no label: the id");
        assert_eq!(step_name("gone", graph), "gone");
        assert_eq!(step_name("data_transform_m1k5", None), "data_transform_m1k5");
        let mut row = log(1, Some("data_transform_m1k5"), "step_failed", "01", serde_json::Value::Null);
        row.message = "data_transform_m1k5 failed: boom".into();
        assert_eq!(labelled_message(&row, graph), "Shape the order failed: boom");
        row.message = "something else".into();
        assert_eq!(labelled_message(&row, graph), "something else");
    }
}
