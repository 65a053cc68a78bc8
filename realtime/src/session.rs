//! One WebSocket connection to a doc room (`/ws/docs/{workflow_id}`): the caller (the gateway)
//! authenticates and decides the [`Access`]; the session joins the room, relays binary y-websocket
//! frames both ways, pings the client and closes it when it goes silent (a zombie), and leaves the
//! room when the socket ends. It serves an axum `WebSocket` ([`Session::serve_axum`]) or any
//! stream/sink of [`WsFrame`]s ([`Session::serve`]).

use std::time::Duration;

use aos_schema::WorkflowId;
use axum::body::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use crate::actor::Outbound;
use crate::room::{Access, RoomLimits};
use crate::rooms::DocRooms;

/// A WebSocket frame, independent of the WebSocket library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsFrame {
    /// Shared bytes: a frame broadcast to a room is encoded once and the same bytes go to each.
    Binary(Bytes),
    Text(String),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close frame: code and reason, if given.
    Close(Option<(u16, String)>),
}

/// Close codes the session uses (RFC 6455 §7.4.1).
pub mod close_code {
    /// The client went silent (no frame, not even a pong) for too long.
    pub const GOING_AWAY: u16 = 1001;
    /// A text frame: y-websocket speaks binary only.
    pub const UNSUPPORTED: u16 = 1003;
    /// A frame over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The room restarted or is unavailable: reconnect.
    pub const SERVICE_RESTART: u16 = 1012;
    /// The room could not be reached at all.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// How a session behaves.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// How often the server pings.
    pub ping_every: Duration,
    /// A client heard nothing from for this long is closed.
    pub zombie_after: Duration,
    /// Frames queued for this connection before the room drops it as too slow.
    pub outbox_capacity: usize,
    /// Frames above this size close the connection (checked before they reach the room).
    pub limits: RoomLimits,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            ping_every: Duration::from_secs(15),
            zombie_after: Duration::from_secs(45),
            outbox_capacity: 1024,
            limits: RoomLimits::default(),
        }
    }
}

/// One connection's parameters.
#[derive(Debug, Clone)]
pub struct Session {
    pub rooms: DocRooms,
    pub workflow: WorkflowId,
    pub access: Access,
    /// The client asked to be told which of its frames are durable (`?acks=1`, see
    /// [`MSG_SAVED`](crate::MSG_SAVED)).
    pub acks: bool,
    pub config: SessionConfig,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// The client closed or the socket broke.
    ClientGone,
    /// The server closed the socket with this code.
    Closed { code: u16, reason: String },
}

impl Session {
    /// Serves an axum WebSocket (the gateway's `/ws/docs/{workflow_id}` upgrade handler calls this).
    pub async fn serve_axum(self, socket: axum::extract::ws::WebSocket) -> SessionEnd {
        self.serve(axum_transport(socket)).await
    }

    /// Serves any transport of WebSocket frames.
    pub async fn serve<T, E, S>(self, mut transport: T) -> SessionEnd
    where
        T: Stream<Item = Result<WsFrame, E>> + Sink<WsFrame, Error = S> + Unpin,
    {
        let (outbox, mut inbox) = mpsc::channel(self.config.outbox_capacity.max(1));
        let (room, joined) = match self.rooms.join(self.workflow, self.access.clone(), self.acks, outbox).await {
            Ok(joined) => joined,
            Err(err) => {
                tracing::warn!(workflow = %self.workflow, error = %err, "doc room unavailable");
                return close(&mut transport, close_code::TRY_AGAIN_LATER, "doc room unavailable").await;
            }
        };
        let conn = joined.conn;
        tracing::debug!(workflow = %self.workflow, conn, user = %self.access.user_id, "doc client joined");
        let mut end = SessionEnd::ClientGone;
        for frame in joined.frames {
            if transport.feed(WsFrame::Binary(frame.into())).await.is_err() {
                room.tell(crate::actor::DocRoomMsg::Leave { conn });
                return end;
            }
        }
        if transport.flush().await.is_err() {
            room.tell(crate::actor::DocRoomMsg::Leave { conn });
            return end;
        }
        let mut ping = tokio::time::interval_at(Instant::now() + self.config.ping_every, self.config.ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let limit = self.config.limits.max_frame_bytes;
        // grown on first use: an idle connection holds no buffer
        let mut outgoing = Vec::new();
        loop {
            tokio::select! {
                incoming = transport.next() => {
                    let Some(Ok(frame)) = incoming else { break };
                    last_heard = Instant::now();
                    match frame {
                        WsFrame::Binary(bytes) if bytes.len() > limit => {
                            let reason = format!("frame of {} bytes exceeds the limit of {limit} bytes", bytes.len());
                            end = close(&mut transport, close_code::TOO_BIG, &reason).await;
                            break;
                        }
                        WsFrame::Binary(bytes) => {
                            if !room.frame(conn, bytes) {
                                end = close(&mut transport, close_code::SERVICE_RESTART, "doc room restarting").await;
                                break;
                            }
                        }
                        WsFrame::Text(_) => {
                            end = close(&mut transport, close_code::UNSUPPORTED, "binary frames only").await;
                            break;
                        }
                        WsFrame::Ping(_) | WsFrame::Pong(_) => {}
                        WsFrame::Close(_) => break,
                    }
                }
                taken = inbox.recv_many(&mut outgoing, OUTGOING_AT_ONCE) => {
                    if taken == 0 {
                        end = close(&mut transport, close_code::SERVICE_RESTART, "doc room restarting").await;
                        break;
                    }
                    // every frame queued meanwhile goes out in one write; a client that takes
                    // nothing for as long as a silent one is given is dropped (the room already
                    // dropped it once its outbox filled, so it never held the room up)
                    let written = tokio::time::timeout(self.config.zombie_after, write_all(&mut transport, &mut outgoing));
                    match written.await {
                        Ok(Ok(None)) => {}
                        Ok(Ok(Some((code, reason)))) => {
                            end = close(&mut transport, code, &reason).await;
                            break;
                        }
                        Ok(Err(())) => break,
                        Err(_) => {
                            tracing::info!(workflow = %self.workflow, conn, "doc client takes no frames, dropping it");
                            end = SessionEnd::Closed { code: close_code::GOING_AWAY, reason: "not reading".to_owned() };
                            break;
                        }
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() >= self.config.zombie_after {
                        tracing::info!(workflow = %self.workflow, conn, "doc client silent, closing");
                        end = close(&mut transport, close_code::GOING_AWAY, "no answer to ping").await;
                        break;
                    }
                    if transport.send(WsFrame::Ping(Vec::new())).await.is_err() {
                        break;
                    }
                }
            }
        }
        room.tell(crate::actor::DocRoomMsg::Leave { conn });
        tracing::debug!(workflow = %self.workflow, conn, ?end, "doc client left");
        end
    }
}

/// The most queued frames a session writes out with one flush.
const OUTGOING_AT_ONCE: usize = 64;

/// Writes `outgoing` (emptying it) and flushes once; a close among them ends the writing and is
/// returned. `Err` when the socket is gone.
async fn write_all<T, S>(transport: &mut T, outgoing: &mut Vec<Outbound>) -> Result<Option<(u16, String)>, ()>
where
    T: Sink<WsFrame, Error = S> + Unpin,
{
    let mut closing = None;
    for message in outgoing.drain(..) {
        match message {
            Outbound::Frame(bytes) => transport.feed(WsFrame::Binary(bytes)).await.map_err(|_| ())?,
            Outbound::Close { code, reason } => {
                closing = Some((code, reason));
                break;
            }
        }
    }
    outgoing.clear();
    transport.flush().await.map_err(|_| ())?;
    Ok(closing)
}

pub(crate) async fn close<T, S>(transport: &mut T, code: u16, reason: &str) -> SessionEnd
where
    T: Sink<WsFrame, Error = S> + Unpin,
{
    let _gone = transport.send(WsFrame::Close(Some((code, reason.to_owned())))).await;
    let _gone = transport.close().await;
    SessionEnd::Closed { code, reason: reason.to_owned() }
}

/// An axum WebSocket as a transport of frames (what both kinds of session serve).
pub(crate) fn axum_transport(
    socket: axum::extract::ws::WebSocket,
) -> std::pin::Pin<Box<impl Stream<Item = Result<WsFrame, axum::Error>> + Sink<WsFrame, Error = axum::Error> + Send>> {
    Box::pin(
        socket
            .map(|message| message.map(from_axum))
            .with(|frame: WsFrame| futures_util::future::ready(Ok::<_, axum::Error>(to_axum(frame)))),
    )
}

pub(crate) fn from_axum(message: axum::extract::ws::Message) -> WsFrame {
    use axum::extract::ws::Message;
    match message {
        Message::Binary(bytes) => WsFrame::Binary(bytes),
        Message::Text(text) => WsFrame::Text(text.to_string()),
        Message::Ping(bytes) => WsFrame::Ping(bytes.to_vec()),
        Message::Pong(bytes) => WsFrame::Pong(bytes.to_vec()),
        Message::Close(frame) => WsFrame::Close(frame.map(|f| (f.code, f.reason.to_string()))),
    }
}

pub(crate) fn to_axum(frame: WsFrame) -> axum::extract::ws::Message {
    use axum::extract::ws::{CloseFrame, Message};
    match frame {
        WsFrame::Binary(bytes) => Message::Binary(bytes),
        WsFrame::Text(text) => Message::Text(text.into()),
        WsFrame::Ping(bytes) => Message::Ping(bytes.into()),
        WsFrame::Pong(bytes) => Message::Pong(bytes.into()),
        WsFrame::Close(frame) => Message::Close(frame.map(|(code, reason)| CloseFrame { code, reason: reason.into() })),
    }
}
