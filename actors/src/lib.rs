//! The supervision tree: every workflow, run, webhook source and schedule is a supervised ractor
//! actor that talks to stores only through `aos-persistence`. Today this crate holds the sans-IO
//! cores the actors will drive: the run's progress state machine ([`progress`]) and the restart and
//! retry policies ([`policy`]) and the introspection registry ([`registry`]); the actors
//! themselves arrive with the actors issue.

pub mod policy;
pub mod progress;
pub mod registry;
pub mod replay;
pub mod run;
pub mod schedule;
pub mod supervisor;
pub mod system;
pub mod webhook;

pub use policy::{Backoff, RestartDecision, RestartHistory, RestartPolicy, RetryPolicy};
pub use progress::{ProgressError, ReadyStep, RunOutcome, RunProgress, StepKey};
pub use registry::{ActorKind, ActorNode, ActorStats, ActorStatus, Registry};
pub use replay::{ReplayFrom, replay_run};
pub use run::{RunActor, RunArgs, RunDeps, RunFactory, RunMsg};
pub use schedule::{CronSchedule, ScheduleActor, ScheduleArgs, ScheduleError, ScheduleFactory, ScheduleMsg, due_ticks};
pub use supervisor::{
    ChildFactory, StartedChild, Supervisor, SupervisorArgs, SupervisorError, SupervisorFactory, SupervisorHandle,
    SupervisorMsg,
};
pub use system::{ActorSystem, SystemError};
pub use webhook::{Accepted, Delivery, DeliveryError, WebhookArgs, WebhookFactory, WebhookMsg, WebhookSourceActor};
