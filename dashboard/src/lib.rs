//! The User Dashboard web app (Dioxus, wasm): workflows, live runs and their logs, usage and cost,
//! the dead-letter queue, secrets, the audit log and, for platform admins, the live supervision
//! tree. It talks to the server only over HTTP and WebSocket (`api`, and `aos-web-client` underneath). The logic —
//! money to the cent, chart scales, log merging, the run timeline, tree flattening — lives in plain
//! modules that native unit tests cover; `ui` only draws what they return.

pub mod api;
pub mod chart;
pub mod clock;
pub mod filters;
pub mod invite;
pub mod money;
pub mod route;
pub mod runs;
pub mod tree;
pub mod ui;

pub use ui::shell::App;
