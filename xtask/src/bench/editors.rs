//! Doc update fan-out driven by a Rust client, so the figure is what the server sustains rather
//! than what one Node process can decode: every editor is a yrs doc behind its own WebSocket,
//! speaking the y-websocket sync protocol (Hocuspocus: the same messages, each headed by the
//! document's name, after an authentication message). An editor syncs the room's doc, then writes
//! once per interval (editors spread evenly over the interval, as people are not in step): one
//! transaction setting its own entry to a marker with the write's time, encoded by yrs and sent
//! as a sync update. Receiving editors do not integrate what they hear (that would measure yrs on
//! the client): they read the frame, take every marker in its update and count a delivery per
//! marker from another editor, once. Latency is from the write to that arrival, on one clock.
//! The result is the same JSON shape as the Node driver's (`fanout.mjs`), with `"client": "rust"`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, Map, MapRef, Out, ReadTxn, StateVector, Transact, Update};

use super::fanout::FanoutSpec;
use super::process;

/// Handshakes in flight at once.
const CONNECTING_AT_ONCE: usize = 100;
/// How long the last deliveries may take after the last write.
const DRAIN: Duration = Duration::from_secs(30);
/// The text every marker starts with; the rest is `editor,tick,micros}`.
const MARKER: &[u8] = b"{\"bench\":";

/// y-sync message types (y-protocols): sync, and its three steps.
const MSG_SYNC: u32 = 0;
const STEP_1: u32 = 0;
const STEP_2: u32 = 1;
const UPDATE: u32 = 2;
/// Hocuspocus: an authentication message (token) and the reply type of a sync.
const MSG_AUTH: u32 = 2;
const MSG_SYNC_REPLY: u32 = 4;

/// Which server, which decides the frames and where an editor writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// y-websocket's protocol, the room in the URL path; entries of the `bench` map.
    YWebsocket,
    /// Hocuspocus: the room's name heads every message; entries of the `bench` map.
    Hocuspocus,
    /// AutomateOS: y-websocket's protocol at `/ws/docs/{workflow id}?token=`; editor `i` moves
    /// node `e{i}` of the workflow doc (its `x`, `y` and `label`).
    AutomateOs,
}

/// Where the editors connect.
#[derive(Debug, Clone)]
pub struct Target {
    pub protocol: Protocol,
    /// `ws://host:port` (AutomateOS: `ws://host:port/ws/docs`).
    pub url: String,
    /// Another node of the same cluster: every second editor of a room connects there instead.
    pub second_url: Option<String>,
    pub server_pid: u32,
    /// The rooms' names (AutomateOS: workflow ids); `spec.rooms` generated names when empty.
    pub rooms: Vec<String>,
    pub token: Option<String>,
}

impl Target {
    fn room_url(&self, room: &str, editor: usize) -> String {
        let base = match &self.second_url {
            Some(second) if editor % 2 == 1 => second,
            _ => &self.url,
        };
        match (self.protocol, &self.token) {
            (Protocol::Hocuspocus, _) => base.clone(),
            (_, Some(token)) => format!("{base}/{room}?token={token}"),
            (_, None) => format!("{base}/{room}"),
        }
    }
}

/// What one editor saw.
#[derive(Debug, Default)]
struct Seen {
    /// Latency of each delivery, in microseconds.
    latencies: Vec<u64>,
    written: usize,
    /// When the last delivery arrived (µs on the shared clock).
    last_arrival: u64,
}

/// Runs the load; returns the driver's JSON result.
pub async fn drive(target: &Target, spec: FanoutSpec) -> Result<Value> {
    let rooms: Vec<String> = if target.rooms.is_empty() {
        (0..spec.rooms).map(|i| format!("bench-rust-{i}-{}", std::process::id())).collect()
    } else {
        target.rooms.clone()
    };
    let editors = spec.editors;
    let origin = Instant::now();
    let rss_before = process::rss_kib(target.server_pid);
    let (start, started) = watch::channel(None::<Instant>);
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let connect_start = Instant::now();
    let mut synced = Vec::new();
    let mut tasks = Vec::new();
    let total = rooms.len() * editors;
    let interval = Duration::from_millis(spec.interval_ms);
    for (r, room) in rooms.iter().enumerate() {
        for editor in 0..editors {
            let (ready, is_ready) = tokio::sync::oneshot::channel::<Result<()>>();
            synced.push(is_ready);
            let editor_spec = EditorSpec {
                url: target.room_url(room, editor),
                room: room.clone(),
                protocol: target.protocol,
                editor,
                editors,
                ticks: spec.ticks,
                interval,
                // spread over the interval: editor k of all N writes k/N of an interval in
                phase: interval.mul_f64((r * editors + editor) as f64 / total as f64),
                origin,
            };
            let (gate, started) = (Arc::clone(&gate), started.clone());
            tasks.push(tokio::spawn(async move { editor_spec.run(gate, ready, started).await }));
        }
    }
    for ready in synced {
        ready.await.context("an editor task ended before syncing")??;
    }
    let connect_ms = connect_start.elapsed().as_millis();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = process::rss_kib(target.server_pid);
    let write_start = Instant::now();
    start.send(Some(write_start)).ok().context("every editor is gone")?;
    let mut latencies = Vec::new();
    let mut written = 0;
    let mut last_arrival = 0;
    for task in tasks {
        let seen = task.await??;
        written += seen.written;
        last_arrival = last_arrival.max(seen.last_arrival);
        latencies.extend(seen.latencies);
    }
    let rss_after = process::rss_kib(target.server_pid);
    latencies.sort_unstable();
    // from the first write to the last delivery (not to the end of the wait for missing ones)
    let first_write = write_start.duration_since(origin).as_micros() as u64;
    let elapsed = Duration::from_micros(last_arrival.saturating_sub(first_write).max(1));
    let ms = |micros: Option<&u64>| micros.map(|m| *m as f64 / 1000.0);
    let percentile = |p: f64| ms(latencies.get(((p / 100.0) * latencies.len() as f64) as usize).or(latencies.last()));
    let connections = total;
    let per_connection = match (rss_before, rss_connected.max(rss_after)) {
        (Some(before), Some(after)) => Some((after as f64 - before as f64) / connections as f64),
        _ => None,
    };
    Ok(json!({
        "client": "rust",
        "target": format!("{:?}", target.protocol),
        "rooms": rooms.len(),
        "editors": editors,
        "connections": connections,
        "connect_ms": connect_ms,
        "updates": written,
        "updates_per_s": written as f64 / elapsed.as_secs_f64(),
        "deliveries": latencies.len(),
        "expected_deliveries": written * (editors - 1),
        "p50_ms": percentile(50.0),
        "p99_ms": percentile(99.0),
        "max_ms": ms(latencies.last()),
        "server_rss_before_kb": rss_before,
        "server_rss_connected_kb": rss_connected,
        "server_rss_after_kb": rss_after,
        "server_rss_per_connection_kb": per_connection,
    }))
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One editor's part of the load.
struct EditorSpec {
    url: String,
    room: String,
    protocol: Protocol,
    editor: usize,
    editors: usize,
    ticks: usize,
    interval: Duration,
    phase: Duration,
    origin: Instant,
}

impl EditorSpec {
    async fn run(
        self,
        gate: Arc<Semaphore>,
        ready: tokio::sync::oneshot::Sender<Result<()>>,
        mut started: watch::Receiver<Option<Instant>>,
    ) -> Result<Seen> {
        let permit = gate.acquire_owned().await?;
        let doc = Doc::new();
        let opened = self.open(&doc).await;
        drop(permit);
        let mut socket = match opened {
            Ok(socket) => socket,
            Err(err) => {
                let reason = format!("editor {} of {}: {err:#}", self.editor, self.room);
                let _ = ready.send(Err(anyhow::anyhow!(reason.clone())));
                bail!(reason);
            }
        };
        let write = self.writer(&doc);
        let _ = ready.send(Ok(()));
        let mut seen = Seen::default();
        let mut heard = HashSet::new();
        // wait for the start, reading (a write of an editor that started first may come before
        // this task hears of the start)
        let write_start = loop {
            if let Some(at) = *started.borrow_and_update() {
                break at;
            }
            tokio::select! {
                changed = started.changed() => changed?,
                frame = socket.next() => self.heard(frame, &mut heard, &mut seen)?,
            }
        };
        let expected = self.ticks * (self.editors - 1);
        let mut next = tokio::time::Instant::from_std(write_start + self.phase);
        let deadline = tokio::time::Instant::from_std(write_start + self.interval * self.ticks as u32 + DRAIN);
        while seen.latencies.len() < expected || seen.written < self.ticks {
            let writing = seen.written < self.ticks;
            tokio::select! {
                () = tokio::time::sleep_until(next), if writing => {
                    let t = self.origin.elapsed().as_micros() as u64;
                    let update = write(&doc, seen.written, t)?;
                    socket.send(Message::Binary(self.frame(MSG_SYNC, UPDATE, &update).into())).await?;
                    seen.written += 1;
                    next += self.interval;
                }
                frame = socket.next() => self.heard(frame, &mut heard, &mut seen)?,
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        if seen.latencies.len() < expected {
            let missing: Vec<(usize, usize)> = (0..self.editors)
                .filter(|e| *e != self.editor)
                .flat_map(|e| (0..self.ticks).map(move |t| (e, t)))
                .filter(|key| !heard.contains(key))
                .take(8)
                .collect();
            eprintln!(
                "bench: editor {} of {} missed {} deliveries, among them (editor, round) {missing:?}",
                self.editor,
                self.room,
                expected - seen.latencies.len()
            );
        }
        let _ = socket.close(None).await;
        Ok(seen)
    }

    /// Counts the writes of other editors a frame carries (each once).
    fn heard(
        &self,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        heard: &mut HashSet<(usize, usize)>,
        seen: &mut Seen,
    ) -> Result<()> {
        match frame {
            Some(Ok(Message::Binary(bytes))) => {
                let now = self.origin.elapsed().as_micros() as u64;
                if let Some(update) = self.update_in(&bytes) {
                    for (editor, tick, t) in markers(update) {
                        if editor != self.editor && heard.insert((editor, tick)) {
                            seen.latencies.push(now.saturating_sub(t));
                            seen.last_arrival = now;
                        }
                    }
                }
                Ok(())
            }
            Some(Ok(_)) => Ok(()),
            Some(Err(err)) => bail!("{}: {err}", self.room),
            None => bail!("{} closed during the load", self.room),
        }
    }

    /// Connects and syncs: sends its state vector, answers the server's, applies the server's
    /// state (sync step 2).
    async fn open(&self, doc: &Doc) -> Result<Socket> {
        // no Nagle, as browsers: each frame goes out when sent
        let connect = tokio_tungstenite::connect_async_with_config(self.url.as_str(), None, true);
        let (mut socket, _) = tokio::time::timeout(Duration::from_secs(30), connect).await??;
        if self.protocol == Protocol::Hocuspocus {
            let mut auth = self.head();
            auth.write_var(MSG_AUTH);
            auth.write_var(0u32); // a token follows
            auth.write_string("");
            socket.send(Message::Binary(auth.into())).await?;
        }
        let state = doc.transact().state_vector().encode_v1();
        socket.send(Message::Binary(self.frame(MSG_SYNC, STEP_1, &state).into())).await?;
        let synced = async {
            while let Some(frame) = socket.next().await {
                let Message::Binary(bytes) = frame? else { continue };
                let Some((step, payload)) = self.sync_in(&bytes) else { continue };
                match step {
                    STEP_1 => {
                        let theirs = StateVector::decode_v1(payload)?;
                        let diff = doc.transact().encode_state_as_update_v1(&theirs);
                        socket.send(Message::Binary(self.frame(MSG_SYNC, STEP_2, &diff).into())).await?;
                    }
                    STEP_2 => {
                        doc.transact_mut().apply_update(Update::decode_v1(payload)?)?;
                        return Ok(());
                    }
                    _ => {}
                }
            }
            bail!("closed before syncing")
        };
        tokio::time::timeout(Duration::from_secs(30), synced).await.context("no sync within 30 s")??;
        Ok(socket)
    }

    /// What one write does to the doc: sets this editor's entry to a marker; returns the update.
    fn writer(&self, doc: &Doc) -> impl Fn(&Doc, usize, u64) -> Result<Vec<u8>> + use<> {
        let editor = self.editor;
        let key = format!("e{editor}");
        let protocol = self.protocol;
        let root: MapRef = doc.get_or_insert_map(if protocol == Protocol::AutomateOs { "workflow" } else { "bench" });
        move |doc: &Doc, tick: usize, t: u64| {
            let marker = format!("{{\"bench\":{editor},{tick},{t}}}");
            let mut txn = doc.transact_mut();
            if protocol == Protocol::AutomateOs {
                let node = match root.get(&txn, "nodes") {
                    Some(Out::YMap(nodes)) => match nodes.get(&txn, &key) {
                        Some(Out::YMap(node)) => node,
                        _ => bail!("node {key} missing from the workflow doc"),
                    },
                    _ => bail!("the workflow doc has no nodes"),
                };
                node.insert(&mut txn, "x", (tick * 10) as f64);
                node.insert(&mut txn, "y", (editor * 10) as f64);
                node.insert(&mut txn, "label", marker);
            } else {
                root.insert(&mut txn, key.as_str(), marker);
            }
            Ok(txn.encode_update_v1())
        }
    }

    /// The document-name head of a Hocuspocus message (empty for the others).
    fn head(&self) -> Vec<u8> {
        let mut head = Vec::new();
        if self.protocol == Protocol::Hocuspocus {
            head.write_string(&self.room);
        }
        head
    }

    fn frame(&self, kind: u32, step: u32, payload: &[u8]) -> Vec<u8> {
        let mut frame = self.head();
        frame.write_var(kind);
        frame.write_var(step);
        frame.write_buf(payload);
        frame
    }

    /// A sync message's step and payload; `None` for anything else.
    fn sync_in<'a>(&self, bytes: &'a [u8]) -> Option<(u32, &'a [u8])> {
        let mut cursor = Cursor::new(bytes);
        if self.protocol == Protocol::Hocuspocus {
            cursor.read_string().ok()?;
        }
        let kind: u32 = cursor.read_var().ok()?;
        if kind != MSG_SYNC && !(self.protocol == Protocol::Hocuspocus && kind == MSG_SYNC_REPLY) {
            return None;
        }
        let step: u32 = cursor.read_var().ok()?;
        let len: usize = cursor.read_var().ok()?;
        let payload = bytes.get(cursor.next..cursor.next.checked_add(len)?)?;
        Some((step, payload))
    }

    /// The doc update a frame carries (sync step 2 or update).
    fn update_in<'a>(&self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        self.sync_in(bytes).and_then(|(step, payload)| (step != STEP_1).then_some(payload))
    }
}

/// Every marker in an update's bytes, as (editor, tick, written at µs). The marker is a string
/// value, which yrs writes as its UTF-8 bytes, so it is found where it stands.
fn markers(update: &[u8]) -> Vec<(usize, usize, u64)> {
    let mut found = Vec::new();
    let mut rest = update;
    while let Some(at) = rest.windows(MARKER.len()).position(|w| w == MARKER) {
        rest = &rest[at + MARKER.len()..];
        let end = rest.iter().position(|b| *b == b'}').unwrap_or(rest.len());
        let fields: Vec<u64> =
            std::str::from_utf8(&rest[..end]).unwrap_or_default().split(',').filter_map(|n| n.parse().ok()).collect();
        if let [editor, tick, t] = fields[..] {
            found.push((editor as usize, tick as usize, t));
        }
        rest = &rest[end..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_in_an_encoded_update() {
        let doc = Doc::new();
        let map = doc.get_or_insert_map("bench");
        let mut txn = doc.transact_mut();
        map.insert(&mut txn, "e1", "{\"bench\":1,7,123456}");
        map.insert(&mut txn, "e2", "{\"bench\":2,0,99}");
        let update = txn.encode_update_v1();
        let mut found = markers(&update);
        found.sort_unstable();
        assert_eq!(found, vec![(1, 7, 123_456), (2, 0, 99)]);
        assert!(markers(b"no marker here").is_empty());
    }
}
