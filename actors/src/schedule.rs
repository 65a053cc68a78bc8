//! Schedules: cron triggers that fire once per tick however many nodes run them. Each node runs a
//! [`ScheduleActor`] per scheduled workflow; at a tick every one of them tries to create the run
//! under the idempotency key `schedule:<tick>`, and the database's unique (workflow, key) lets
//! exactly one succeed — that node starts the run. After downtime, missed ticks are skipped or run
//! (at most [`MAX_CATCH_UP`]) as the trigger's `missed` field says.
//!
//! The time arithmetic ([`CronSchedule`], [`due_ticks`]) is plain functions; the actor only sleeps
//! by timer message between ticks.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use aos_persistence::{NewRun, Recorded, ScheduledWorkflow, Store, Timestamp};
use chrono::{DateTime, TimeZone, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde_json::json;

use crate::registry::ActorStats;
use crate::supervisor::{SupervisorHandle, runs_ready, spawn_child, startup_failed};

/// Missed ticks run after downtime, at most.
pub const MAX_CATCH_UP: usize = 10;

/// A cron expression in a time zone.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    schedule: cron::Schedule,
    zone: chrono_tz::Tz,
}

/// A schedule that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("cron expression {expression:?} is invalid: {reason}")]
    Cron { expression: String, reason: String },
    #[error("time zone {0:?} is unknown")]
    Zone(String),
}

impl CronSchedule {
    /// Parses a standard 5-field expression (`0 9 * * MON-FRI`), a 6-field one with seconds, or a
    /// shorthand (`@hourly`), in an IANA time zone (`Europe/Paris`; `UTC` by default).
    pub fn parse(expression: &str, zone: &str) -> Result<Self, ScheduleError> {
        let trimmed = expression.trim();
        let fields = trimmed.split_whitespace().count();
        let full = if fields == 5 { format!("0 {trimmed}") } else { trimmed.to_owned() };
        let schedule = cron::Schedule::from_str(&full)
            .map_err(|err| ScheduleError::Cron { expression: expression.to_owned(), reason: err.to_string() })?;
        let zone = if zone.trim().is_empty() { "UTC" } else { zone.trim() };
        let zone = chrono_tz::Tz::from_str(zone).map_err(|_| ScheduleError::Zone(zone.to_owned()))?;
        Ok(Self { schedule, zone })
    }

    /// The first tick strictly after `at`.
    pub fn next_after(&self, at: Timestamp) -> Option<Timestamp> {
        let local = self.zone.from_utc_datetime(&to_chrono(at).naive_utc());
        self.schedule.after(&local).next().map(|t| from_chrono(t.with_timezone(&Utc)))
    }
}

/// What to do with ticks that passed while no node ran the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    Skip,
    CatchUp,
}

/// The ticks to fire now: those after `last_fired` up to `now` (all of them up to
/// [`MAX_CATCH_UP`] when catching up, only the latest when skipping). A schedule that never
/// fired starts from `now` (nothing is due yet).
pub fn due_ticks(
    schedule: &CronSchedule,
    last_fired: Option<Timestamp>,
    now: Timestamp,
    missed: Missed,
) -> Vec<Timestamp> {
    let Some(mut cursor) = last_fired else { return Vec::new() };
    let mut due = Vec::new();
    while let Some(tick) = schedule.next_after(cursor) {
        if tick > now {
            break;
        }
        due.push(tick);
        cursor = tick;
        if due.len() > 10_000 {
            break;
        }
    }
    match missed {
        Missed::CatchUp => {
            let skip = due.len().saturating_sub(MAX_CATCH_UP);
            due.drain(..skip);
            due
        }
        Missed::Skip => due.pop().into_iter().collect(),
    }
}

fn to_chrono(at: Timestamp) -> DateTime<Utc> {
    let nanos = at.unix_nanos();
    Utc.timestamp_nanos(i64::try_from(nanos).unwrap_or(i64::MAX))
}

fn from_chrono(at: DateTime<Utc>) -> Timestamp {
    let nanos = at.timestamp_nanos_opt().unwrap_or_default();
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .map(Timestamp::from)
        .unwrap_or_else(|_| Timestamp::now())
}

/// A `trigger.schedule` node's cron, zone and missed-tick policy.
fn parse_trigger(config: &serde_json::Value) -> Result<(CronSchedule, Missed), ScheduleError> {
    let text = |field: &str| config.get(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let schedule = CronSchedule::parse(&text("cron"), &text("timezone"))?;
    let missed = if text("missed") == "catch_up" { Missed::CatchUp } else { Missed::Skip };
    Ok((schedule, missed))
}

/// A schedule actor's start arguments.
#[derive(Debug, Clone)]
pub struct ScheduleArgs {
    pub workflow: ScheduledWorkflow,
    pub store: Store,
    /// Where runs this node created are started.
    pub runs: SupervisorHandle,
    pub stats: Arc<ActorStats>,
}

/// What a schedule actor handles.
#[derive(Debug)]
pub enum ScheduleMsg {
    /// Fire whatever is due, then sleep until the next tick. Carries the timer's generation: a
    /// reload starts a new one, and ticks of an older generation are dropped.
    Tick(u64),
    /// The workflow changed (a new version, enabled or disabled): read the schedule again.
    Reload,
}

/// One workflow's schedule on this node.
#[derive(Debug, Default)]
pub struct ScheduleActor;

/// A running schedule.
#[derive(Debug)]
pub struct ScheduleState {
    args: ScheduleArgs,
    schedule: CronSchedule,
    missed: Missed,
    /// The newest tick fired (by any node), so ticks are neither repeated nor skipped.
    last_fired: Timestamp,
    /// The live timer chain's generation.
    generation: u64,
}

impl Actor for ScheduleActor {
    type Msg = ScheduleMsg;
    type State = ScheduleState;
    type Arguments = ScheduleArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<ScheduleMsg>,
        args: ScheduleArgs,
    ) -> Result<ScheduleState, ActorProcessingErr> {
        let (schedule, missed) = parse_trigger(&args.workflow.config)?;
        let last = args.store.runs().latest_by_trigger(args.workflow.workflow_id, "schedule").await?;
        let last_fired = last
            .and_then(|run| {
                run.input.get("scheduled_for").and_then(|v| serde_json::from_value::<Timestamp>(v.clone()).ok())
            })
            .unwrap_or_else(Timestamp::now);
        args.stats.enqueued();
        myself.send_message(ScheduleMsg::Tick(0))?;
        Ok(ScheduleState { args, schedule, missed, last_fired, generation: 0 })
    }

    async fn handle(
        &self,
        myself: ActorRef<ScheduleMsg>,
        msg: ScheduleMsg,
        state: &mut ScheduleState,
    ) -> Result<(), ActorProcessingErr> {
        state.args.stats.dequeued();
        match msg {
            ScheduleMsg::Tick(generation) if generation != state.generation => return Ok(()),
            ScheduleMsg::Tick(_) => {}
            ScheduleMsg::Reload => state.generation += 1,
        }
        // the current version's schedule, read at every wake: a new version or a disabled
        // workflow takes effect here (and a workflow no longer scheduled ends its actor)
        let Some(current) = state.args.store.workflows().scheduled_workflow(state.args.workflow.workflow_id).await?
        else {
            myself.stop(Some("no longer scheduled".into()));
            return Ok(());
        };
        if current.config != state.args.workflow.config {
            (state.schedule, state.missed) = parse_trigger(&current.config)?;
        }
        state.args.workflow = current;
        let now = Timestamp::now();
        for tick in due_ticks(&state.schedule, Some(state.last_fired), now, state.missed) {
            state.fire(tick, now).await?;
        }
        if let Some(next) = state.schedule.next_after(state.last_fired.max(now)) {
            let wait = Duration::try_from(next.as_offset() - Timestamp::now().as_offset()).unwrap_or_default();
            state.args.stats.enqueued();
            let generation = state.generation;
            myself.send_after(wait, move || ScheduleMsg::Tick(generation));
        }
        Ok(())
    }
}

impl ScheduleState {
    /// Creates the run of one tick; the node whose insert wins starts it.
    async fn fire(&mut self, tick: Timestamp, now: Timestamp) -> Result<(), ActorProcessingErr> {
        let workflow = &self.args.workflow;
        let run = NewRun {
            org_id: workflow.org_id,
            workflow_id: workflow.workflow_id,
            version: workflow.version,
            trigger_kind: "schedule".into(),
            idempotency_key: Some(format!("schedule:{tick}")),
            input: json!({ "scheduled_for": tick, "fired_at": now }),
            replay_of: None,
            traceparent: None,
        };
        if let Recorded::New(run) = self.args.store.runs().create(&run).await? {
            tracing::info!(workflow_id = %workflow.workflow_id, run_id = %run.id, %tick, "schedule fired");
            self.args.runs.start(&run.id.to_string()).await?;
        }
        self.last_fired = self.last_fired.max(tick);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        serde_json::from_value(json!(text)).unwrap()
    }

    #[test]
    fn five_field_expressions_and_zones() {
        let daily = CronSchedule::parse("0 9 * * *", "Europe/Paris").unwrap();
        // 09:00 in Paris is 08:00 UTC in winter
        assert_eq!(daily.next_after(at("2026-01-10T12:00:00Z")), Some(at("2026-01-11T08:00:00Z")));
        let hourly = CronSchedule::parse("@hourly", "").unwrap();
        assert_eq!(hourly.next_after(at("2026-01-10T12:30:00Z")), Some(at("2026-01-10T13:00:00Z")));
        assert!(matches!(CronSchedule::parse("every tuesday", "UTC"), Err(ScheduleError::Cron { .. })));
        assert_eq!(
            CronSchedule::parse("0 9 * * *", "Mars/Olympus").unwrap_err(),
            ScheduleError::Zone("Mars/Olympus".into())
        );
    }

    #[test]
    fn missed_ticks_are_skipped_or_caught_up() {
        let minutely = CronSchedule::parse("* * * * *", "UTC").unwrap();
        let last = at("2026-01-10T12:00:00Z");
        let now = at("2026-01-10T12:30:30Z");
        let skip = due_ticks(&minutely, Some(last), now, Missed::Skip);
        assert_eq!(skip, [at("2026-01-10T12:30:00Z")], "only the latest tick");
        let catch_up = due_ticks(&minutely, Some(last), now, Missed::CatchUp);
        assert_eq!(catch_up.len(), MAX_CATCH_UP);
        assert_eq!(catch_up.first(), Some(&at("2026-01-10T12:21:00Z")));
        assert!(due_ticks(&minutely, None, now, Missed::CatchUp).is_empty(), "a new schedule waits for its first tick");
        assert!(due_ticks(&minutely, Some(now), now, Missed::CatchUp).is_empty());
    }
}

/// Starts schedule actors under the schedules supervisor: the child key is the workflow id.
#[derive(Debug, Clone)]
pub struct ScheduleFactory {
    pub store: Store,
    /// The runs supervisor, known once the tree has started it.
    pub runs: Arc<std::sync::OnceLock<SupervisorHandle>>,
}

impl crate::supervisor::ChildFactory for ScheduleFactory {
    fn kind(&self) -> crate::registry::ActorKind {
        crate::registry::ActorKind::Schedule
    }

    fn start(
        &self,
        key: String,
        supervisor: ractor::ActorCell,
        stats: Arc<ActorStats>,
    ) -> crate::supervisor::BoxFuture<Result<ractor::ActorCell, ractor::SpawnErr>> {
        let store = self.store.clone();
        let runs = runs_ready(&self.runs);
        Box::pin(async move {
            let runs = runs?;
            let scheduled = store.workflows().scheduled().await.map_err(|err| startup_failed(err.to_string()))?;
            let workflow = scheduled
                .into_iter()
                .find(|w| w.workflow_id.to_string() == key)
                .ok_or_else(|| startup_failed(format!("workflow {key} has no schedule")))?;
            spawn_child(ScheduleActor, ScheduleArgs { workflow, store, runs, stats }, supervisor).await
        })
    }
}
