//! The browser behind a few functions: local storage, `fetch`, WebSockets, timers, randomness,
//! the address bar, file downloads, focus and the clipboard. In the wasm build they are the
//! browser's (`web.rs`); natively they are inert stand-ins (`native.rs`: storage in memory, no
//! network) so the apps check and their logic unit-tests without a browser.

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
pub use web::*;

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub use native::*;

/// A failure below HTTP: the request never got an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error("not available outside the browser")]
    Unavailable,
    #[error("the network request failed: {0}")]
    Network(String),
}

/// An HTTP answer: status and body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// What a socket reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    Open,
    Binary(Vec<u8>),
    Text(String),
    /// The socket closed (or never opened); 1006 when the browser gives no code.
    Closed {
        code: u16,
    },
}
