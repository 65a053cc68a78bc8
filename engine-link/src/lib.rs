//! The link between orchestration and step execution: one step in, one result out. It knows
//! nothing of runs or actors. The [`Engine`] trait has two implementations: the
//! [`EmbeddedEngine`] (the built-in nodes, in this process) and the [`RemoteEngine`] client (another
//! process speaking the same [`protocol`] over HTTP, served by [`server`]).

pub mod egress;
pub mod embedded;
pub mod engine;
pub mod expr;
mod filters;
pub mod fuzzing;
mod nodes;
pub mod protocol;
pub mod remote;
pub mod server;
#[cfg(feature = "testing")]
pub mod testing;

pub use aos_schema::referenced_secrets;
pub use egress::{EgressPolicy, GuardedClient};
pub use embedded::{EmbeddedEngine, EngineConfig};
pub use engine::{Engine, StepFuture};
pub use expr::{ExpressionError, Expressions};
pub use protocol::*;
pub use remote::RemoteEngine;
