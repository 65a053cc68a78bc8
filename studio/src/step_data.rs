//! What the side panel says about the selected node in the run being watched: the step row of its
//! latest attempt (from `GET /api/runs/{id}`) once it ended, or plainly why there is none (no run
//! yet, not reached, still running, skipped). The canvas's run overlay says what happened; the
//! step rows say with what data.

use std::collections::BTreeMap;

use aos_api::{RunDetail, StepView};
use aos_schema::{NodeId, StepStatus, WorkflowGraph};
use aos_ui_kit::components::NodeRunState;

use crate::run_view::RunWatch;

/// The selected node's step in the watched run.
#[derive(Debug, Clone, PartialEq)]
pub enum StepShown<'a> {
    /// No run is being watched on this canvas.
    NoRun,
    /// The run has not reached this node; `run_over` once it never will.
    NotRun { run_over: bool },
    /// It runs, or waits for its next attempt.
    Running,
    /// On a branch the run did not take.
    Skipped,
    /// It ended; its row is being read.
    Loading,
    /// Its latest attempt. `item` names the for-each item the row is for (the last one that ran).
    Ended { step: &'a StepView, item: Option<&'a str> },
}

impl StepShown<'_> {
    /// A stable word for the panel's `data-state`.
    pub fn state(&self) -> &'static str {
        match self {
            StepShown::NoRun => "no-run",
            StepShown::NotRun { .. } => "not-run",
            StepShown::Running => "running",
            StepShown::Skipped => "skipped",
            StepShown::Loading => "loading",
            StepShown::Ended { step, .. } => step.status.as_str(),
        }
    }
}

/// The step of `node` in the run `watch` follows; `detail` is the latest read of that run's rows
/// (a read of an earlier run is not used).
pub fn step_shown<'a>(watch: &RunWatch, detail: Option<&'a RunDetail>, node: &NodeId) -> StepShown<'a> {
    let Some(run_id) = watch.run_id.as_deref() else { return StepShown::NoRun };
    let detail = detail.filter(|d| d.run.id.to_string() == run_id);
    let row = detail.and_then(|d| latest_row(&d.steps, node));
    let state = watch.overlay.nodes.get(node).map(|r| r.state);
    if row.is_some_and(|(step, _)| step.status == StepStatus::Skipped) || state == Some(NodeRunState::Skipped) {
        return StepShown::Skipped;
    }
    match (row, state) {
        // a retry waiting: the failed attempt's row is there, the next attempt's is not yet
        (_, Some(NodeRunState::Running | NodeRunState::Queued)) => StepShown::Running,
        (Some((step, item)), _) if ended(step.status) => StepShown::Ended { step, item },
        (Some(_), _) => StepShown::Running,
        (None, Some(_)) => StepShown::Loading,
        (None, None) => StepShown::NotRun { run_over: watch.finished() },
    }
}

fn ended(status: StepStatus) -> bool {
    matches!(status, StepStatus::Succeeded | StepStatus::Failed | StepStatus::Cancelled)
}

/// The row of `node`: its own, or for a node inside a for-each (`node[3]`) the last item's, with
/// the item's index.
fn latest_row<'a>(steps: &'a [StepView], node: &NodeId) -> Option<(&'a StepView, Option<&'a str>)> {
    if let Some(own) = steps.iter().find(|s| s.node_id == node.as_str()) {
        return Some((own, None));
    }
    steps.iter().rev().find_map(|s| {
        let item = s.node_id.strip_prefix(node.as_str())?.strip_prefix('[')?.strip_suffix(']')?;
        Some((s, Some(item)))
    })
}

/// The node labels a person reads in place of ids (a merge's input is keyed by node id); nodes
/// whose label is their id are left out.
pub fn node_labels(graph: &WorkflowGraph) -> BTreeMap<String, String> {
    graph
        .nodes
        .iter()
        .filter(|n| !n.label.trim().is_empty() && n.label != n.id.as_str())
        .map(|n| (n.id.to_string(), n.label.clone()))
        .collect()
}

/// "1 attempt", "3 attempts".
pub fn attempts_text(attempts: i64) -> String {
    if attempts == 1 { "1 attempt".to_owned() } else { format!("{attempts} attempts") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_api::Run;
    use aos_schema::{Node, kinds};
    use serde_json::json;

    const R1: &str = "0193a0a0-0000-7000-8000-000000000001";
    const R2: &str = "0193a0a0-0000-7000-8000-000000000002";

    fn step(node: &str, status: StepStatus) -> StepView {
        StepView {
            node_id: node.to_owned(),
            status,
            attempts: 1,
            input: Some(json!({})),
            output: Some(json!({"greeting": "hi"})),
            error: None,
            duration_ms: Some(3),
            started_at: None,
            finished_at: None,
        }
    }

    fn detail(run: &str, steps: Vec<StepView>) -> RunDetail {
        let run: Run = serde_json::from_value(json!({
            "id": run, "org_id": R2, "workflow_id": R2, "version": 1, "status": "running",
            "trigger_kind": "manual", "idempotency_key": null, "input": {}, "replay_of": null,
            "error": null, "created_at": "2026-12-04T12:00:00Z", "started_at": null, "finished_at": null
        }))
        .unwrap();
        RunDetail { run, steps }
    }

    fn watching(events: &[(&str, &str)]) -> RunWatch {
        let graph = WorkflowGraph::new().with_node(Node::new("a", kinds::DATA_TRANSFORM));
        let mut watch = RunWatch::start(R1);
        for (seq, (event, node)) in events.iter().enumerate() {
            let row = json!({"seq": seq + 1, "run_id": R1, "node_id": node, "event": event, "message": "",
                "data": {}, "level": "info", "org_id": R2, "workflow_id": R2, "created_at": "2026-12-04T12:00:00Z"});
            watch.apply_text(&row.to_string(), &graph);
        }
        watch
    }

    #[test]
    fn each_moment_of_a_step_says_what_it_is() {
        let a = NodeId::from("a");
        assert_eq!(step_shown(&RunWatch::default(), None, &a), StepShown::NoRun);
        assert_eq!(step_shown(&watching(&[]), None, &a), StepShown::NotRun { run_over: false });
        assert_eq!(step_shown(&watching(&[("step_started", "a")]), None, &a), StepShown::Running);
        let ended = watching(&[("step_started", "a"), ("step_succeeded", "a")]);
        assert_eq!(step_shown(&ended, None, &a), StepShown::Loading);
        // a read of another run is not this run's
        let other = detail(R2, vec![step("a", StepStatus::Succeeded)]);
        assert_eq!(step_shown(&ended, Some(&other), &a), StepShown::Loading);
        let rows = detail(R1, vec![step("a", StepStatus::Succeeded)]);
        assert_eq!(step_shown(&ended, Some(&rows), &a), StepShown::Ended { step: &rows.steps[0], item: None });
        assert_eq!(step_shown(&ended, Some(&rows), &a).state(), "succeeded");
        // a retry waiting shows as running even though the failed attempt's row is there
        let retrying = watching(&[("step_failed", "a"), ("step_retrying", "a")]);
        let failed_once = detail(R1, vec![step("a", StepStatus::Running)]);
        assert_eq!(step_shown(&retrying, Some(&failed_once), &a), StepShown::Running);
        let skipped = watching(&[("step_skipped", "a")]);
        assert_eq!(step_shown(&skipped, None, &a), StepShown::Skipped);
        let over = watching(&[("run_finished", "")]);
        assert_eq!(step_shown(&over, None, &a), StepShown::NotRun { run_over: true });
    }

    #[test]
    fn a_for_each_body_shows_its_last_item() {
        let rows = detail(R1, vec![step("a[0]", StepStatus::Succeeded), step("a[1]", StepStatus::Failed)]);
        let watch = watching(&[("step_failed", "a[1]")]);
        assert_eq!(
            step_shown(&watch, Some(&rows), &NodeId::from("a")),
            StepShown::Ended { step: &rows.steps[1], item: Some("1") }
        );
        assert_eq!(step_shown(&watch, Some(&rows), &NodeId::from("ab")), StepShown::NotRun { run_over: false });
    }

    #[test]
    fn people_read_labels_and_counts() {
        let graph = WorkflowGraph::new()
            .with_node(Node::new("t1", kinds::TRIGGER_MANUAL).with_label("Start"))
            .with_node(Node::new("x", kinds::DATA_TRANSFORM));
        assert_eq!(node_labels(&graph), BTreeMap::from([("t1".to_owned(), "Start".to_owned())]));
        assert_eq!(attempts_text(1), "1 attempt");
        assert_eq!(attempts_text(3), "3 attempts");
    }
}
