//! The User Dashboard web app (Dioxus, wasm): workflows, live runs, logs, usage and cost, the
//! dead-letter queue, secrets and, for admins, the live supervision tree. It talks to the server only
//! over HTTP and WebSocket. The app arrives with the dashboard issue; today this crate only states
//! its place.
