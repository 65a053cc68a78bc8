//! The supervision tree: every workflow, run, webhook source and schedule is a supervised ractor actor, and
//! step workers drain the step queue; all talk to stores only through `aos-persistence`. The
//! sans-IO cores they drive live beside them: the run's progress state machine ([`progress`]), the
//! restart and retry policies ([`policy`]) and the introspection registry ([`registry`]). The
//! actors' semantics are written down in `SEMANTICS.md`.

pub mod answers;
pub mod fuzzing;
pub mod notice;
pub mod policy;
pub mod progress;
pub mod recorded;
pub mod registry;
pub mod replay;
pub mod run;
pub mod schedule;
pub mod starts;
pub mod step;
pub mod supervisor;
pub mod system;
pub mod webhook;
pub mod worker;
pub mod workflow;

pub use notice::{Notifier, StepNotice};
pub use policy::{Backoff, RestartDecision, RestartHistory, RestartPolicy, RetryPolicy};
pub use progress::{ProgressError, ReadyStep, RunOutcome, RunProgress, StepKey};
pub use registry::{ActorKind, ActorNode, ActorStats, ActorStatus, Registry};
pub use replay::{ReplayFrom, replay_run};
pub use run::{Dispatch, NodeIdentity, RunActor, RunArgs, RunDeps, RunFactory, RunMsg, RunSeed};
pub use schedule::{CronSchedule, ScheduleActor, ScheduleArgs, ScheduleError, ScheduleFactory, ScheduleMsg, due_ticks};
pub use starts::{RunStart, RunStarts, StartSlot};
pub use supervisor::{
    ChildFactory, Seed, StartedChild, Supervisor, SupervisorArgs, SupervisorError, SupervisorFactory, SupervisorHandle,
    SupervisorMsg,
};
pub use system::{ActorSystem, Control, ControlError, Controlled, ExtraKind, RunPlacement, SystemConfig, SystemError};
pub use webhook::{
    Accepted, Delivery, DeliveryError, Gates, ParsedDelivery, RunTarget, SourceGate, WebhookArgs, WebhookFactory,
    WebhookMsg, WebhookSourceActor,
};
pub use worker::{JOBS_AT_ONCE, StepWorker, WorkerDeps, WorkerFactory, WorkerMsg};
pub use workflow::{
    PublishError, PublishRequest, Published, WorkflowActor, WorkflowFactory, WorkflowMsg, publish_version,
};
