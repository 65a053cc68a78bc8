//! The gateway: the HTTP face of AutomateOS (health and metrics today; the API, webhook ingress,
//! OpenAPI and the web apps with later issues) and the `automateos` binary's commands. The only
//! crate that knows HTTP status codes.

pub mod config;
pub mod error;
pub mod observe;
mod routes;
pub mod server;
pub mod state;

pub use config::{Cli, Command};
pub use error::ApiError;
pub use server::{BoundServer, StartError};
pub use state::AppState;
