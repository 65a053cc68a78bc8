//! Idle WebSocket connections: N clients open doc-room sockets spread over R rooms, each does the
//! y-websocket handshake (sync step 1 with an empty state vector) and waits for the server's first
//! answer, then stays idle, reading (so pings are answered) until released. The figure is the
//! server's resident growth from before the first connection to after all are held, per connection.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;

use super::process;

/// y-sync "sync step 1" with an empty state vector: message type sync (0), step 1 (0), then the
/// state vector as a length-prefixed byte array holding one varint 0 (no clients).
const SYNC_STEP_1_EMPTY: [u8; 4] = [0, 0, 1, 0];
/// Handshakes in flight at once (a burst larger than the accept backlog only measures the backlog).
const CONNECTING_AT_ONCE: usize = 200;

/// How many connections, and how long to hold them once all are open.
#[derive(Debug, Clone, Copy)]
pub struct IdleSpec {
    pub connections: usize,
    pub rooms: usize,
    pub hold: Duration,
}

/// What holding the connections cost the server.
#[derive(Debug, Clone)]
pub struct IdleResult {
    pub connected: usize,
    pub failed: usize,
    pub connect_time: Duration,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    /// Connections still open at the end of the hold (the server closed none as a zombie).
    pub still_open: usize,
}

impl IdleResult {
    pub fn bytes_per_connection(&self) -> f64 {
        (self.rss_after_kib.saturating_sub(self.rss_before_kib) * 1024) as f64 / self.connected.max(1) as f64
    }
}

/// Opens one connection per URL (`urls[i % urls.len()]` for connection i), holds them, measures.
pub async fn hold(room_urls: &[String], server_pid: u32, spec: IdleSpec) -> Result<IdleResult> {
    if room_urls.is_empty() {
        bail!("no rooms to connect to");
    }
    let rss_before_kib = process::rss_kib(server_pid).unwrap_or(0);
    let (release, released) = watch::channel(false);
    let gate = std::sync::Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(spec.connections);
    let mut handshakes = Vec::with_capacity(spec.connections);
    for i in 0..spec.connections {
        let url = room_urls[i % room_urls.len()].clone();
        let (done, handshake) = tokio::sync::oneshot::channel::<bool>();
        let gate = std::sync::Arc::clone(&gate);
        let mut released = released.clone();
        handshakes.push(handshake);
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.ok();
            let opened = open(&url).await;
            drop(permit);
            let Some(mut socket) = opened else {
                let _ = done.send(false);
                return false;
            };
            let _ = done.send(true);
            // idle: keep reading so pings get their pongs, until released or closed by the server
            loop {
                tokio::select! {
                    _ = released.changed() => return true,
                    frame = socket.next() => match frame {
                        Some(Ok(_)) => continue,
                        _ => return false,
                    },
                }
            }
        }));
    }
    let mut connected = 0;
    for handshake in handshakes {
        if handshake.await.unwrap_or(false) {
            connected += 1;
        }
    }
    let connect_time = started.elapsed();
    tokio::time::sleep(spec.hold).await;
    let rss_after_kib = process::rss_kib(server_pid).unwrap_or(0);
    let _ = release.send(true);
    let mut still_open = 0;
    for task in tasks {
        if task.await.unwrap_or(false) {
            still_open += 1;
        }
    }
    Ok(IdleResult {
        connected,
        failed: spec.connections - connected,
        connect_time,
        rss_before_kib,
        rss_after_kib,
        still_open,
    })
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects, sends sync step 1 and waits (bounded) for the server's first binary frame.
async fn open(url: &str) -> Option<Socket> {
    let connect = tokio_tungstenite::connect_async(url);
    let (mut socket, _) = tokio::time::timeout(Duration::from_secs(30), connect).await.ok()?.ok()?;
    socket.send(Message::Binary(SYNC_STEP_1_EMPTY.to_vec().into())).await.ok()?;
    let answered = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(frame)) = socket.next().await {
            if matches!(frame, Message::Binary(_)) {
                return true;
            }
        }
        false
    })
    .await;
    answered.unwrap_or(false).then_some(socket)
}
