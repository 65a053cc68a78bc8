//! A run's progress through its execution plan, as a plain state machine (no IO, no clock): which
//! steps are ready, what each reads, which branches were not taken, when the run is done. The run
//! actor feeds it step results and dispatches what it says is ready; a restarted actor rebuilds it
//! by feeding the recorded results again, so the same plan and results always give the same state.
//!
//! Rules (see `aos_schema::compile` for the plan):
//! - The trigger is ready at once; its output is the trigger payload.
//! - A step is ready when every predecessor is resolved (done or skipped) and at least one incoming
//!   edge is *active*: it leaves a done predecessor on a port that predecessor emitted on (a plain
//!   step emits on every port, a branch on the one it names). With no active edge the step is
//!   skipped, which is how an untaken branch is skipped, all the way down.
//! - A step's input is its one active predecessor's output; with several, or for a merge, an object
//!   of the active predecessors' outputs by node id.
//! - A for-each step, once done, runs the nodes of its `item` branch once per item (at most its
//!   `concurrency` items at a time), each iteration a scope of its own keyed by the item index. When
//!   every iteration is resolved it emits on `done` the list of each iteration's result (the output
//!   of the branch's last step, or an object of them by id when there are several).
//! - Any failure (after the actor's retries) fails the run; nothing more becomes ready.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use aos_engine_link::{ItemContext, StepContext, StepOutput};
use aos_schema::{ExecutionPlan, Flow, NodeId, Step};
use serde_json::{Map, Value};

/// Which execution of a node: the node, and the item index of each enclosing for-each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StepKey {
    pub node: NodeId,
    pub items: Vec<u64>,
}

impl StepKey {
    /// The key of a step outside any for-each.
    pub fn top(node: impl Into<NodeId>) -> Self {
        Self { node: node.into(), items: Vec::new() }
    }
}

impl StepKey {
    /// The key whose `Display` is `text`: a step row's id read back (a queued job names its step
    /// this way). Trailing `[n]` groups are the for-each indexes; a group that `Display` would not
    /// write (`[01]`, `[x]`) stays part of the node id, so any text reads back as itself.
    pub fn parse(text: &str) -> Self {
        let mut node = text;
        let mut items = Vec::new();
        while let Some(open) = node.strip_suffix(']').and_then(|rest| rest.rfind('[')) {
            let digits = &node[open + 1..node.len() - 1];
            let canonical = !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'));
            let Some(index) = digits.parse::<u64>().ok().filter(|_| canonical) else { break };
            items.push(index);
            node = &node[..open];
        }
        items.reverse();
        Self { node: NodeId::from(node.to_owned()), items }
    }
}

impl fmt::Display for StepKey {
    /// `notify`, or `notify[2]` inside a for-each (`[2][0]` when nested): the id step rows use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.node.as_str())?;
        self.items.iter().try_for_each(|i| write!(f, "[{i}]"))
    }
}

/// A step the run may dispatch now.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyStep {
    pub key: StepKey,
    pub kind: String,
    pub config: Map<String, Value>,
    pub context: StepContext,
}

/// Where the whole run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    Running,
    Succeeded,
    Failed,
}

/// A result the state machine cannot accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgressError {
    #[error("step {key} is not running")]
    NotRunning { key: String },
}

#[derive(Debug, Clone, PartialEq)]
enum NodeState {
    Waiting,
    Dispatched,
    /// A for-each whose items are running.
    Looping,
    Done {
        output: Value,
        ports: Option<Vec<String>>,
    },
    Skipped,
}

impl NodeState {
    fn resolved(&self) -> bool {
        matches!(self, NodeState::Done { .. } | NodeState::Skipped)
    }
}

/// One scope: the whole run, or one iteration of a for-each.
#[derive(Debug, Clone)]
struct Scope {
    /// The item indexes that lead here (empty for the run itself).
    path: Vec<u64>,
    /// The for-each feeding this scope and the item, for iterations.
    source: Option<(NodeId, ItemContext)>,
    /// The nodes this scope runs (nested for-each bodies excluded), with their state.
    states: BTreeMap<NodeId, NodeState>,
    /// The for-each steps of this scope whose iterations are running.
    loops: BTreeMap<NodeId, Loop>,
}

#[derive(Debug, Clone)]
struct Loop {
    items: Vec<Value>,
    concurrency: usize,
    /// Iterations started so far, in item order.
    iterations: Vec<Scope>,
}

/// A run's progress.
#[derive(Debug, Clone)]
pub struct RunProgress {
    plan: Arc<ExecutionPlan>,
    trigger: Value,
    root: Scope,
    failed: bool,
    /// Keys skipped since the caller last asked, for the run log.
    newly_skipped: Vec<StepKey>,
}

impl RunProgress {
    /// The plan the run follows.
    pub fn plan(&self) -> &ExecutionPlan {
        &self.plan
    }

    /// A fresh run of `plan` with `trigger` as the trigger's payload.
    pub fn new(plan: Arc<ExecutionPlan>, trigger: Value) -> Self {
        let universe: BTreeSet<NodeId> = plan.steps.iter().map(|s| s.id.clone()).collect();
        let root = Scope::new(&plan, &universe, Vec::new(), None);
        Self { plan, trigger, root, failed: false, newly_skipped: Vec::new() }
    }

    /// Every step that can run now, marked dispatched. Call again after each result.
    pub fn ready(&mut self) -> Vec<ReadyStep> {
        if self.failed {
            return Vec::new();
        }
        let mut out = Vec::new();
        let ancestors = BTreeMap::new();
        let plan = Arc::clone(&self.plan);
        self.root.advance(&plan, &self.trigger, &ancestors, &mut out, &mut self.newly_skipped);
        out
    }

    /// Records a step's successful result.
    pub fn complete(&mut self, key: &StepKey, output: &StepOutput) -> Result<(), ProgressError> {
        let plan = Arc::clone(&self.plan);
        let scope = self.root.scope_mut(&key.items).ok_or_else(|| not_running(key))?;
        let state = scope.states.get_mut(&key.node).ok_or_else(|| not_running(key))?;
        if *state != NodeState::Dispatched {
            return Err(not_running(key));
        }
        let step = plan.step(key.node.as_str()).ok_or_else(|| not_running(key))?;
        if step.flow == Flow::ForEach {
            let items = output.items.clone().unwrap_or_default();
            let concurrency = step.config.get("concurrency").and_then(Value::as_u64).unwrap_or(1).clamp(1, 64) as usize;
            *state = NodeState::Looping;
            scope.loops.insert(key.node.clone(), Loop { items, concurrency, iterations: Vec::new() });
        } else {
            *state = NodeState::Done { output: output.output.clone(), ports: output.ports.clone() };
        }
        Ok(())
    }

    /// Records that a step failed for good: the run fails.
    pub fn fail(&mut self, key: &StepKey) -> Result<(), ProgressError> {
        let scope = self.root.scope_mut(&key.items).ok_or_else(|| not_running(key))?;
        match scope.states.get(&key.node) {
            Some(NodeState::Dispatched) => {
                self.failed = true;
                Ok(())
            }
            _ => Err(not_running(key)),
        }
    }

    /// Where the run stands.
    pub fn outcome(&self) -> RunOutcome {
        if self.failed {
            RunOutcome::Failed
        } else if self.root.finished() {
            RunOutcome::Succeeded
        } else {
            RunOutcome::Running
        }
    }

    /// The steps skipped since the last call (untaken branches), in the order they were skipped.
    pub fn take_skipped(&mut self) -> Vec<StepKey> {
        std::mem::take(&mut self.newly_skipped)
    }

    /// The output of a finished step of the run itself (not inside a for-each).
    pub fn output(&self, node: &str) -> Option<&Value> {
        match self.root.states.get(node) {
            Some(NodeState::Done { output, .. }) => Some(output),
            _ => None,
        }
    }
}

fn not_running(key: &StepKey) -> ProgressError {
    ProgressError::NotRunning { key: key.to_string() }
}

impl Scope {
    /// A scope over `universe` minus the bodies of the for-each steps inside it.
    fn new(
        plan: &ExecutionPlan,
        universe: &BTreeSet<NodeId>,
        path: Vec<u64>,
        source: Option<(NodeId, ItemContext)>,
    ) -> Self {
        let nested: BTreeSet<&NodeId> = universe
            .iter()
            .filter_map(|id| plan.step(id.as_str()))
            .filter(|s| s.flow == Flow::ForEach)
            .flat_map(|s| body(s).iter())
            .collect();
        let states =
            universe.iter().filter(|id| !nested.contains(id)).map(|id| (id.clone(), NodeState::Waiting)).collect();
        Self { path, source, states, loops: BTreeMap::new() }
    }

    fn scope_mut(&mut self, path: &[u64]) -> Option<&mut Scope> {
        let Some((first, rest)) = path.split_first() else { return Some(self) };
        // the iteration at this depth lives in whichever loop of this scope started it
        let index = usize::try_from(*first).ok()?;
        for lp in self.loops.values_mut() {
            if let Some(iteration) = lp.iterations.get_mut(index)
                && iteration.path.len() == self.path.len() + 1
            {
                let found = iteration.scope_mut(rest);
                if found.is_some() {
                    return found;
                }
            }
        }
        None
    }

    fn finished(&self) -> bool {
        self.states.values().all(NodeState::resolved)
    }

    /// Makes every step that can move move: dispatches the ready ones into `out`, skips those with
    /// no active input, starts and collects for-each iterations. Repeats until nothing changes.
    fn advance(
        &mut self,
        plan: &ExecutionPlan,
        trigger: &Value,
        ancestors: &BTreeMap<NodeId, Value>,
        out: &mut Vec<ReadyStep>,
        skipped: &mut Vec<StepKey>,
    ) {
        loop {
            let mut changed = false;
            // loops first: start iterations, advance them, collect finished ones
            let looping: Vec<NodeId> = self.loops.keys().cloned().collect();
            for node in looping {
                let visible = self.visible_outputs(ancestors);
                changed |= self.advance_loop(plan, &node, trigger, &visible, out, skipped);
            }
            let waiting: Vec<NodeId> =
                self.states.iter().filter(|(_, s)| **s == NodeState::Waiting).map(|(id, _)| id.clone()).collect();
            for node in waiting {
                let Some(step) = plan.step(node.as_str()) else { continue };
                match self.readiness(step, ancestors) {
                    Readiness::NotYet => {}
                    Readiness::Skip => {
                        self.states.insert(node.clone(), NodeState::Skipped);
                        skipped.push(self.key(&node));
                        changed = true;
                    }
                    Readiness::Ready(input) => {
                        self.states.insert(node.clone(), NodeState::Dispatched);
                        out.push(self.ready_step(step, input, trigger, ancestors));
                        changed = true;
                    }
                }
            }
            if !changed {
                return;
            }
        }
    }

    fn advance_loop(
        &mut self,
        plan: &ExecutionPlan,
        node: &NodeId,
        trigger: &Value,
        visible: &BTreeMap<NodeId, Value>,
        out: &mut Vec<ReadyStep>,
        skipped: &mut Vec<StepKey>,
    ) -> bool {
        let Some(step) = plan.step(node.as_str()) else { return false };
        let universe: BTreeSet<NodeId> = body(step).iter().cloned().collect();
        let path = self.path.clone();
        let Some(lp) = self.loops.get_mut(node) else { return false };
        let mut changed = false;
        // start iterations up to the concurrency cap
        while lp.iterations.len() < lp.items.len()
            && lp.iterations.iter().filter(|it| !it.finished()).count() < lp.concurrency
        {
            let index = lp.iterations.len();
            let item = ItemContext { value: lp.items[index].clone(), index: index as u64 };
            let mut iteration_path = path.clone();
            iteration_path.push(index as u64);
            lp.iterations.push(Scope::new(plan, &universe, iteration_path, Some((node.clone(), item))));
            changed = true;
        }
        for iteration in &mut lp.iterations {
            let before = out.len() + skipped.len();
            iteration.advance(plan, trigger, visible, out, skipped);
            changed |= out.len() + skipped.len() != before;
        }
        if lp.iterations.len() == lp.items.len() && lp.iterations.iter().all(Scope::finished) {
            let results: Vec<Value> = lp.iterations.iter().map(|it| it.result(plan, &universe)).collect();
            self.loops.remove(node);
            self.states.insert(
                node.clone(),
                NodeState::Done { output: Value::Array(results), ports: Some(vec!["done".into()]) },
            );
            changed = true;
        }
        changed
    }

    /// An iteration's result: the output of its last step(s).
    fn result(&self, plan: &ExecutionPlan, universe: &BTreeSet<NodeId>) -> Value {
        let sinks: Vec<&NodeId> = self
            .states
            .keys()
            .filter(|id| {
                plan.step(id.as_str())
                    .is_some_and(|s| s.successors.values().flatten().all(|o| !universe.contains(&o.to)))
            })
            .collect();
        let done: Vec<(&NodeId, &Value)> = sinks
            .into_iter()
            .filter_map(|id| match self.states.get(id) {
                Some(NodeState::Done { output, .. }) => Some((id, output)),
                _ => None,
            })
            .collect();
        match done.as_slice() {
            [] => self.source.as_ref().map(|(_, item)| item.value.clone()).unwrap_or(Value::Null),
            [(_, only)] => (*only).clone(),
            many => Value::Object(many.iter().map(|(id, v)| (id.to_string(), (*v).clone())).collect()),
        }
    }

    fn key(&self, node: &NodeId) -> StepKey {
        StepKey { node: node.clone(), items: self.path.clone() }
    }

    /// Outputs of done steps visible from inside this scope: the ancestors' and this scope's own.
    fn visible_outputs(&self, ancestors: &BTreeMap<NodeId, Value>) -> BTreeMap<NodeId, Value> {
        let mut visible = ancestors.clone();
        for (id, state) in &self.states {
            if let NodeState::Done { output, .. } = state {
                visible.insert(id.clone(), output.clone());
            }
        }
        visible
    }

    fn readiness(&self, step: &Step, ancestors: &BTreeMap<NodeId, Value>) -> Readiness {
        if step.flow == Flow::Trigger && self.path.is_empty() {
            return Readiness::Ready(Value::Null);
        }
        let mut active: Vec<(&NodeId, Value)> = Vec::new();
        for edge in &step.predecessors {
            match self.edge_state(&edge.from, &edge.from_port, ancestors) {
                EdgeState::Pending => return Readiness::NotYet,
                EdgeState::Inactive => {}
                EdgeState::Active(value) => active.push((&edge.from, value)),
            }
        }
        match (active.len(), step.flow) {
            (0, _) => Readiness::Skip,
            (1, flow) if flow != Flow::Merge => Readiness::Ready(active.remove(0).1),
            _ => Readiness::Ready(Value::Object(active.into_iter().map(|(id, v)| (id.to_string(), v)).collect())),
        }
    }

    fn edge_state(&self, from: &NodeId, port: &str, ancestors: &BTreeMap<NodeId, Value>) -> EdgeState {
        if let Some((source, item)) = &self.source
            && source == from
        {
            return if port == "item" { EdgeState::Active(item.value.clone()) } else { EdgeState::Inactive };
        }
        match self.states.get(from) {
            Some(NodeState::Done { output, ports }) => {
                if ports.as_ref().is_none_or(|p| p.iter().any(|name| name == port)) {
                    EdgeState::Active(output.clone())
                } else {
                    EdgeState::Inactive
                }
            }
            Some(NodeState::Skipped) => EdgeState::Inactive,
            Some(_) => EdgeState::Pending,
            // an ancestor scope's step (always done before this scope started), or a step inside
            // a for-each body seen from outside it (its results travel through `done` instead)
            None => match ancestors.get(from) {
                Some(output) => EdgeState::Active(output.clone()),
                None => EdgeState::Inactive,
            },
        }
    }

    fn ready_step(&self, step: &Step, input: Value, trigger: &Value, ancestors: &BTreeMap<NodeId, Value>) -> ReadyStep {
        let reads = Reads::of(step);
        let wanted = |id: &NodeId| reads.steps.as_ref().is_none_or(|ids| ids.contains(id.as_str()));
        let mut steps = Map::new();
        for (id, output) in ancestors.iter().filter(|(id, _)| wanted(id)) {
            steps.insert(id.to_string(), serde_json::json!({ "output": output }));
        }
        for (id, state) in self.states.iter().filter(|(id, _)| wanted(id)) {
            if let NodeState::Done { output, .. } = state {
                steps.insert(id.to_string(), serde_json::json!({ "output": output }));
            }
        }
        ReadyStep {
            key: self.key(&step.id),
            kind: step.kind.clone(),
            config: step.config.clone(),
            context: StepContext {
                trigger: if reads.trigger { trigger.clone() } else { Value::Null },
                steps,
                input,
                item: self.source.as_ref().map(|(_, item)| item.clone()),
            },
        }
    }
}

/// What of the run's context a step can read: its input always; the trigger's payload when it is a
/// trigger or an expression of its config (catalog defaults included) names `trigger`; the outputs
/// of the steps its expressions name as `steps.<id>`, or all of them when one reaches into `steps`
/// any other way. A step is handed only that: copying the whole context (a webhook's body, every
/// earlier output) into each step made a run's cost grow with the square of its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reads {
    pub trigger: bool,
    /// `None`: every step's output.
    pub steps: Option<BTreeSet<String>>,
}

impl Reads {
    pub fn of(step: &Step) -> Self {
        let mut reads = Self { trigger: step.flow == Flow::Trigger, steps: Some(BTreeSet::new()) };
        step.config.values().for_each(|value| reads.scan(value));
        reads
    }

    fn scan(&mut self, value: &Value) {
        match value {
            Value::String(text) if text.contains("{{") || text.contains("{%") => self.scan_text(text),
            Value::Array(items) => items.iter().for_each(|item| self.scan(item)),
            Value::Object(map) => map.values().for_each(|item| self.scan(item)),
            _ => {}
        }
    }

    fn scan_text(&mut self, text: &str) {
        if text.contains("trigger") {
            self.trigger = true;
        }
        let mut rest = text;
        while let Some(at) = rest.find("steps") {
            let after = &rest[at + "steps".len()..];
            let id: String = after
                .strip_prefix('.')
                .map(|tail| tail.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect())
                .unwrap_or_default();
            match (&mut self.steps, id.is_empty()) {
                // `steps[...]`, `steps | ...`, `steps` alone: any output may be read
                (steps, true) => *steps = None,
                (Some(ids), false) => {
                    ids.insert(id);
                }
                (None, false) => {}
            }
            rest = after;
        }
    }
}

enum Readiness {
    NotYet,
    Skip,
    Ready(Value),
}

enum EdgeState {
    Pending,
    Inactive,
    Active(Value),
}

/// The nodes a for-each runs per item.
fn body(step: &Step) -> &[NodeId] {
    step.branches.get("item").map(Vec::as_slice).unwrap_or_default()
}
