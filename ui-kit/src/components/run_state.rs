//! What the canvas shows of a run: each node's state (and duration once finished) and the edges
//! the data took. Built from `/ws/events` run-log rows by the apps; plain data here.

use std::collections::{BTreeMap, BTreeSet};

use aos_schema::{EdgeId, NodeId};

/// A node's state in the run being watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRunState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Skipped,
}

impl NodeRunState {
    /// The class on the node: `node--running` glows and pulses, finished states show a duration.
    pub fn class(self) -> &'static str {
        match self {
            NodeRunState::Queued => "node--queued",
            NodeRunState::Running => "node--running",
            NodeRunState::Succeeded => "node--succeeded",
            NodeRunState::Failed => "node--failed",
            NodeRunState::Skipped => "node--skipped",
        }
    }
}

/// One node in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeRun {
    pub state: NodeRunState,
    /// How long the step took, once it finished.
    pub duration_ms: Option<u64>,
}

/// The run overlay of the canvas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOverlay {
    pub nodes: BTreeMap<NodeId, NodeRun>,
    /// Edges whose data travelled in this run: flowing (`edge--active`) while the run goes on,
    /// settled (`edge--carried`) once it has ended.
    pub active_edges: BTreeSet<EdgeId>,
    /// The run has ended: nothing flows any more.
    pub settled: bool,
}

impl RunOverlay {
    /// The class an edge takes from the run: flowing, carried, or none.
    pub fn edge_class(&self, edge: &EdgeId) -> &'static str {
        match (self.active_edges.contains(edge), self.settled) {
            (false, _) => "",
            (true, false) => "edge--active",
            (true, true) => "edge--carried",
        }
    }
}

/// A duration as the node's label shows it: `840 ms`, `2.4 s`, `3 min 5 s`.
pub fn format_duration(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(840), "840 ms");
        assert_eq!(format_duration(2_400), "2.4 s");
        assert_eq!(format_duration(185_000), "3 min 5 s");
        assert_eq!(NodeRunState::Running.class(), "node--running");
    }

    #[test]
    fn edges_flow_while_the_run_goes_and_settle_after() {
        let mut overlay = RunOverlay::default();
        overlay.active_edges.insert(EdgeId::from("e1"));
        assert_eq!(overlay.edge_class(&EdgeId::from("e1")), "edge--active");
        assert_eq!(overlay.edge_class(&EdgeId::from("e2")), "");
        overlay.settled = true;
        assert_eq!(overlay.edge_class(&EdgeId::from("e1")), "edge--carried");
        assert_eq!(overlay.edge_class(&EdgeId::from("e2")), "");
    }
}
