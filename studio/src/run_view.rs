//! Run events (`/ws/events` frames: run-log rows as JSON) folded into the canvas's run overlay:
//! which node runs, which finished how and in how long, and which edges the data took (an edge is
//! active once its target started after its source succeeded).

use aos_api::RunLog;
use aos_schema::{NodeId, WorkflowGraph};
use aos_ui_kit::components::{NodeRun, NodeRunState, RunOverlay};
use serde_json::Value;

/// The run being watched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunWatch {
    pub run_id: Option<String>,
    pub overlay: RunOverlay,
    /// The last sequence number applied (for `after=` on reconnect).
    pub last_seq: i64,
    /// `running`, then the status `run_finished` names.
    pub status: Option<String>,
    /// The newest messages, newest last (at most 50).
    pub log: Vec<String>,
    /// How many step ends (and the run's end) were applied: each one changed a step row on the
    /// server, so the step data is read again when this moves.
    pub step_ends: u32,
    /// This editor started it from its Run panel, which reports on it; a run started elsewhere
    /// shows on the canvas and in the step data, and the panel keeps out of it.
    pub mine: bool,
}

impl RunWatch {
    /// Starts watching `run_id` from scratch.
    pub fn start(run_id: &str) -> Self {
        RunWatch { run_id: Some(run_id.to_owned()), status: Some("queued".into()), ..RunWatch::default() }
    }

    /// Applies one frame's text; returns whether anything changed. Rows of other runs, repeated
    /// rows and frames that are not rows are ignored.
    pub fn apply_text(&mut self, text: &str, graph: &WorkflowGraph) -> bool {
        match serde_json::from_str::<RunLog>(text) {
            Ok(event) => self.apply(&event, graph),
            Err(_) => false,
        }
    }

    /// A row of the workflow's stream (`/ws/events?workflow=`): a run that starts becomes the one
    /// watched, whoever started it (this editor, a co-editor, a webhook); rows of the other runs
    /// are ignored. Returns whether anything changed.
    pub fn follow(&mut self, event: &RunLog, graph: &WorkflowGraph) -> bool {
        if !self.takes(event) {
            return false;
        }
        let run_id = event.run_id.to_string();
        if self.run_id.as_deref() != Some(run_id.as_str()) {
            *self = RunWatch::start(&run_id);
        }
        self.apply(event, graph)
    }

    /// Whether [`RunWatch::follow`] takes `event`: a row of the watched run, or a run's start.
    pub fn takes(&self, event: &RunLog) -> bool {
        event.event == "run_started" || self.run_id.as_deref().is_some_and(|id| *id == *event.run_id.to_string())
    }

    pub fn apply(&mut self, event: &RunLog, graph: &WorkflowGraph) -> bool {
        if self.run_id.as_deref().is_some_and(|id| id != event.run_id.to_string()) || event.seq <= self.last_seq {
            return false;
        }
        self.last_seq = event.seq;
        if !event.message.is_empty() {
            self.log.push(event.message.clone());
            if self.log.len() > 50 {
                self.log.remove(0);
            }
        }
        let node = event.node_id.as_deref().map(step_node);
        let duration = event.data.get("duration_ms").and_then(Value::as_u64);
        match (event.event.as_str(), node) {
            ("run_started", _) => self.status = Some("running".into()),
            ("run_finished", _) => {
                self.step_ends += 1;
                let status = event.data.get("status").and_then(Value::as_str).unwrap_or("finished").to_owned();
                // a delay still waiting when the run ends is over too
                if status == "succeeded" {
                    let waiting: Vec<NodeId> = self
                        .overlay
                        .nodes
                        .iter()
                        .filter(|(_, r)| r.state == NodeRunState::Running)
                        .map(|(id, _)| id.clone())
                        .collect();
                    for node in waiting {
                        self.waited(&node, graph);
                    }
                }
                self.status = Some(status);
                self.overlay.settled = true;
            }
            ("step_started", Some(node)) => {
                self.status = Some("running".into());
                self.arrive(&node, graph);
            }
            // a delay's step returns at once and the run then waits: it keeps pulsing meanwhile
            ("step_succeeded", Some(node)) if is_delay(graph, &node) => {
                self.arrive_unless_running(&node, graph);
                self.set(&node, NodeRunState::Running, duration)
            }
            ("step_succeeded", Some(node)) => {
                self.arrive_unless_running(&node, graph);
                self.set(&node, NodeRunState::Succeeded, duration)
            }
            ("step_failed", Some(node)) => {
                self.arrive_unless_running(&node, graph);
                self.set(&node, NodeRunState::Failed, duration)
            }
            ("step_retrying", Some(node)) => self.set(&node, NodeRunState::Queued, None),
            ("step_skipped", Some(node)) => self.set(&node, NodeRunState::Skipped, None),
            _ => {}
        }
        if matches!(event.event.as_str(), "step_succeeded" | "step_failed" | "step_retrying" | "step_skipped") {
            self.step_ends += 1;
        }
        true
    }

    /// The run reached `node`: it runs, a delay waiting before it is done waiting, and the data
    /// came along every edge from a finished predecessor.
    fn arrive(&mut self, node: &NodeId, graph: &WorkflowGraph) {
        for edge in graph.incoming(node.as_str()) {
            let waiting = self.overlay.nodes.get(&edge.from).is_some_and(|r| r.state == NodeRunState::Running);
            if waiting && is_delay(graph, &edge.from) {
                self.waited(&edge.from, graph);
            }
        }
        self.set(node, NodeRunState::Running, None);
        for edge in graph.incoming(node.as_str()) {
            let from_done = self.overlay.nodes.get(&edge.from).is_some_and(|r| r.state == NodeRunState::Succeeded);
            if from_done {
                self.overlay.active_edges.insert(edge.id.clone());
            }
        }
    }

    /// A step that ran in line has no `step_started` row: its end is also where the run reached it.
    fn arrive_unless_running(&mut self, node: &NodeId, graph: &WorkflowGraph) {
        if self.overlay.nodes.get(node).is_none_or(|r| r.state != NodeRunState::Running) {
            self.arrive(node, graph);
        }
    }

    /// A node still running is done: a delay's wait is over, and it took at least that wait (its
    /// step returned at once, so the step's own duration is about 0 ms).
    fn waited(&mut self, node: &NodeId, graph: &WorkflowGraph) {
        let wait = wait_ms(graph, node);
        if let Some(run) = self.overlay.nodes.get_mut(node) {
            run.state = NodeRunState::Succeeded;
            if let Some(wait) = wait {
                run.duration_ms = Some(run.duration_ms.unwrap_or(0).max(wait));
            }
        }
    }

    fn set(&mut self, node: &NodeId, state: NodeRunState, duration_ms: Option<u64>) {
        self.overlay.nodes.insert(node.clone(), NodeRun { state, duration_ms });
    }

    pub fn finished(&self) -> bool {
        self.status.as_deref().is_some_and(|s| !matches!(s, "queued" | "running"))
    }
}

/// Whether the node is a delay with a wait (its step returns before the wait is over).
fn is_delay(graph: &WorkflowGraph, node: &NodeId) -> bool {
    wait_ms(graph, node).is_some()
}

/// A delay node's wait, in milliseconds (none for other nodes, or a delay without a wait).
fn wait_ms(graph: &WorkflowGraph, node: &NodeId) -> Option<u64> {
    let node = graph.node(node.as_str()).filter(|n| n.kind == aos_schema::kinds::LOGIC_DELAY)?;
    let seconds = node.config.get("seconds").and_then(Value::as_f64).filter(|s| *s > 0.0 && s.is_finite())?;
    Some((seconds * 1000.0).round() as u64)
}

/// The node of a step name: `node[3]` (one item of a for-each) is `node`.
fn step_node(step: &str) -> NodeId {
    NodeId::from(step.split_once('[').map_or(step, |(node, _)| node))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_schema::{Edge, EdgeId, Node, kinds};
    use serde_json::json;

    const R1: &str = "0193a0a0-0000-7000-8000-000000000001";
    const R2: &str = "0193a0a0-0000-7000-8000-000000000002";
    const R3: &str = "0193a0a0-0000-7000-8000-000000000003";

    fn row(seq: i64, event: &str, node: Option<&str>, data: Value) -> String {
        json!({"seq": seq, "run_id": R1, "node_id": node, "event": event, "message": format!("{event}"), "data": data,
               "level": "info", "org_id": R2, "workflow_id": R2, "created_at": "2026-12-04T12:00:00Z"})
        .to_string()
    }

    #[test]
    fn the_workflow_stream_moves_to_the_run_that_starts() {
        let graph = WorkflowGraph::new().with_node(Node::new("a", kinds::DATA_TRANSFORM));
        let parse = |text: String| serde_json::from_str::<RunLog>(&text).unwrap();
        let of = |run: &str, text: String| parse(text.replacen(R1, run, 1));
        let mut watch = RunWatch::default();
        // rows of a run already under way when the editor connected are not followed
        assert!(!watch.follow(&of(R3, row(1, "step_succeeded", Some("a"), json!({}))), &graph));
        assert!(watch.follow(&parse(row(2, "run_started", None, json!({}))), &graph));
        assert_eq!(watch.run_id.as_deref(), Some(R1));
        watch.follow(&parse(row(3, "step_succeeded", Some("a"), json!({}))), &graph);
        assert!(!watch.follow(&of(R3, row(4, "step_failed", Some("a"), json!({}))), &graph), "another run's row");
        assert_eq!(watch.overlay.nodes[&NodeId::from("a")].state, NodeRunState::Succeeded);
        // a run started elsewhere replaces it, from scratch (and is not this editor's)
        watch.mine = true;
        assert!(watch.follow(&of(R3, row(5, "run_started", None, json!({}))), &graph));
        assert_eq!((watch.run_id.as_deref(), watch.overlay.nodes.len(), watch.step_ends), (Some(R3), 0, 0));
        assert!(!watch.mine);
        // the run this editor started and already watches is not restarted by its first row
        let mut mine = RunWatch::start(R1);
        mine.follow(&parse(row(1, "run_started", None, json!({}))), &graph);
        mine.follow(&parse(row(2, "step_succeeded", Some("a"), json!({}))), &graph);
        assert!(!mine.follow(&parse(row(1, "run_started", None, json!({}))), &graph), "a repeat changes nothing");
        assert_eq!(mine.step_ends, 1);
    }

    #[test]
    fn a_waiting_delay_keeps_pulsing_until_what_follows_starts() {
        let graph = WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("wait", kinds::LOGIC_DELAY).with_config("seconds", 2))
            .with_node(Node::new("after", kinds::DATA_TRANSFORM))
            .with_edge(Edge::new("e1", "t", "wait"))
            .with_edge(Edge::new("e2", "wait", "after"));
        let mut watch = RunWatch::start(R1);
        watch.apply_text(&row(1, "step_started", Some("wait"), json!({})), &graph);
        watch.apply_text(&row(2, "step_succeeded", Some("wait"), json!({"duration_ms": 1})), &graph);
        assert_eq!(watch.overlay.nodes[&NodeId::from("wait")].state, NodeRunState::Running);
        watch.apply_text(&row(3, "step_started", Some("after"), json!({})), &graph);
        assert_eq!(watch.overlay.nodes[&NodeId::from("wait")].state, NodeRunState::Succeeded);
        // at the end of the graph, the run's end settles it
        let mut last = RunWatch::start(R1);
        last.apply_text(&row(1, "step_succeeded", Some("wait"), json!({})), &graph);
        last.apply_text(&row(2, "run_finished", None, json!({"status": "succeeded"})), &graph);
        assert_eq!(last.overlay.nodes[&NodeId::from("wait")].state, NodeRunState::Succeeded);
    }

    #[test]
    fn pulses_follow_the_run() {
        let graph = WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("d", kinds::LOGIC_DELAY))
            .with_node(Node::new("x", kinds::LOGIC_DELAY))
            .with_edge(Edge::new("e1", "t", "d"))
            .with_edge(Edge::new("e2", "x", "d"));
        let mut watch = RunWatch::start(R1);
        assert!(watch.apply_text(&row(1, "run_started", None, json!({})), &graph));
        watch.apply_text(&row(2, "step_started", Some("t"), json!({})), &graph);
        assert_eq!(watch.overlay.nodes[&NodeId::from("t")].state, NodeRunState::Running);
        watch.apply_text(&row(3, "step_succeeded", Some("t"), json!({"duration_ms": 12})), &graph);
        watch.apply_text(&row(4, "step_started", Some("d[0]"), json!({})), &graph);
        assert_eq!(
            watch.overlay.nodes[&NodeId::from("t")],
            NodeRun { state: NodeRunState::Succeeded, duration_ms: Some(12) }
        );
        assert_eq!(watch.overlay.nodes[&NodeId::from("d")].state, NodeRunState::Running);
        assert_eq!(watch.overlay.active_edges.iter().collect::<Vec<_>>(), [&EdgeId::from("e1")]);
        watch.apply_text(&row(5, "step_failed", Some("d[0]"), json!({"duration_ms": 1500})), &graph);
        assert!(!watch.finished());
        watch.apply_text(&row(6, "run_finished", None, json!({"status": "failed"})), &graph);
        assert!(watch.finished());
        assert_eq!(watch.status.as_deref(), Some("failed"));
        assert_eq!(watch.last_seq, 6);
        // repeats, other runs and junk change nothing
        assert!(!watch.apply_text(&row(6, "step_started", Some("x"), json!({})), &graph));
        assert!(!watch.apply_text(
            &row(7, "step_started", Some("x"), json!({})).replacen(R1, "0193a0a0-0000-7000-8000-000000000003", 1),
            &graph
        ));
        assert!(!watch.apply_text("not json", &graph));
        assert_eq!(watch.log.len(), 6);
        assert_eq!(watch.step_ends, 3, "two step ends and the run's end ask for the step rows again");
    }

    #[test]
    fn steps_that_ran_in_line_report_only_their_end() {
        let graph = WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("wait", kinds::LOGIC_DELAY).with_config("seconds", 2))
            .with_node(Node::new("a", kinds::DATA_TRANSFORM))
            .with_edge(Edge::new("e1", "t", "wait"))
            .with_edge(Edge::new("e2", "wait", "a"));
        let mut watch = RunWatch::start(R1);
        watch.apply_text(&row(1, "step_succeeded", Some("t"), json!({"duration_ms": 0})), &graph);
        watch.apply_text(&row(2, "step_succeeded", Some("wait"), json!({"duration_ms": 1})), &graph);
        assert_eq!(watch.overlay.nodes[&NodeId::from("t")].state, NodeRunState::Succeeded);
        assert_eq!(watch.overlay.nodes[&NodeId::from("wait")].state, NodeRunState::Running);
        assert!(watch.overlay.active_edges.contains(&EdgeId::from("e1")));
        watch.apply_text(&row(3, "step_failed", Some("a"), json!({"duration_ms": 2})), &graph);
        assert_eq!(
            watch.overlay.nodes[&NodeId::from("wait")],
            NodeRun { state: NodeRunState::Succeeded, duration_ms: Some(2_000) },
            "a 2 s delay took its wait, not the 1 ms of its step"
        );
        assert_eq!(
            watch.overlay.nodes[&NodeId::from("a")],
            NodeRun { state: NodeRunState::Failed, duration_ms: Some(2) }
        );
        assert!(watch.overlay.active_edges.contains(&EdgeId::from("e2")));
    }
}
