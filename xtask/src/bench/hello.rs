//! The HTTP ceiling: a bare axum server that answers every POST with a small JSON body, on its own
//! two-thread runtime (like a separate server process, without one to build).

use std::net::SocketAddr;

use anyhow::Result;
use axum::Router;
use axum::routing::post;

/// A running hello-world server; dropping it shuts the runtime down.
#[derive(Debug)]
pub struct Hello {
    pub addr: SocketAddr,
    /// Keeps the server's runtime alive; dropped (in the background) with `Hello`.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Hello {
    pub fn start() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bench-hello")
            .enable_all()
            .build()?;
        // bound here (callers may be inside another runtime, where `block_on` is not allowed)
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let app = Router::new().route("/hook", post(|| async { axum::Json(serde_json::json!({"ok": true})) }));
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, app).await
        });
        Ok(Self { addr, runtime: Some(runtime) })
    }
}

impl Drop for Hello {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
