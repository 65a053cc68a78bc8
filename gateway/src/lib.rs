//! The gateway: the HTTP face of AutomateOS (the public API with auth and RBAC, webhook ingress,
//! health and metrics) and the `automateos` binary's commands. The only crate that knows HTTP
//! status codes.

pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod extract;
pub mod graph_writer;
pub mod limits;
pub mod observe;
pub mod openapi;
pub mod payments;
mod routes;
pub mod seed;
pub mod server;
pub mod state;
pub mod test_hooks;
pub mod views;

pub use config::{Cli, Command};
pub use error::ApiError;
pub use server::{BoundServer, StartError};
pub use state::AppState;
