//! The few browser facilities the app needs (storage, fetch, WebSocket, timers, history,
//! clipboard), behind
//! one small face. In the wasm build they are the browser's (`web.rs`); natively they are inert
//! stand-ins (`native.rs`) so the crate checks and its logic unit-tests without a browser.

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
pub use web::*;

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub use native::*;

/// What an event socket reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// One text frame.
    Text(String),
    /// The socket closed (or never opened).
    Closed,
}

/// A failure below HTTP: the request never got an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub struct PlatformError {
    pub what: String,
}

impl PlatformError {
    pub fn new(what: impl Into<String>) -> Self {
        Self { what: what.into() }
    }
}
