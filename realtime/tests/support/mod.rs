//! Test fixtures: a real axum server on 127.0.0.1:0 routing `/ws/docs/{id}?token=…` to doc
//! sessions (the token table stands in for the gateway's authentication), a small actor tree with
//! the `doc-rooms` kind, and a Rust y-websocket client (yrs over tokio-tungstenite).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aos_actors::{ActorKind, Registry, RestartPolicy, Supervisor, SupervisorArgs, SupervisorFactory, SupervisorHandle};
use aos_persistence::Store;
use aos_realtime::{Access, DocRoomFactory, DocRooms, RoomConfig, RoomLimits, Session, SessionConfig};
use aos_schema::doc as wfdoc;
use aos_schema::{UserId, WorkflowGraph, WorkflowId};
use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use ractor::{Actor, ActorRef};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::sync::{Awareness, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, Transact, Update};

/// Awaits a condition (for up to 10 s); panics with `what` when it never holds.
pub async fn eventually<F: FnMut() -> bool>(what: &str, mut condition: F) {
    let held = aos_persistence::testing::wait_until(Duration::from_secs(10), || std::future::ready(condition())).await;
    assert!(held, "never happened within 10 s: {what}");
}

/// The server's knobs for a test.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub room: RoomConfig,
    pub session: SessionConfig,
}

impl Default for ServerOptions {
    fn default() -> Self {
        let limits = RoomLimits { max_frame_bytes: 64 * 1024 };
        Self {
            room: RoomConfig { limits, tick: Duration::from_millis(200), ..RoomConfig::default() },
            session: SessionConfig { limits, ..SessionConfig::default() },
        }
    }
}

#[derive(Clone)]
struct AppState {
    rooms: DocRooms,
    tokens: Arc<HashMap<String, Access>>,
    session: SessionConfig,
}

/// A running server with its actor tree.
pub struct TestServer {
    pub addr: SocketAddr,
    pub rooms: DocRooms,
    pub registry: Arc<Registry>,
    root: ActorRef<aos_actors::SupervisorMsg>,
    server: tokio::task::JoinHandle<()>,
}

/// The tokens every test server knows: two editors and a viewer.
pub fn tokens() -> HashMap<String, Access> {
    let access = |name: &str, can_write| Access { user_id: UserId::new(), name: name.to_owned(), can_write };
    HashMap::from([
        ("alice".to_owned(), access("Alice", true)),
        ("bob".to_owned(), access("Bob", true)),
        ("carol".to_owned(), access("Carol", true)),
        ("viewer".to_owned(), access("Vera", false)),
    ])
}

impl TestServer {
    pub async fn start(store: Store) -> Self {
        Self::start_with(store, ServerOptions::default()).await
    }

    pub async fn start_with(store: Store, options: ServerOptions) -> Self {
        let registry = Arc::new(Registry::default());
        let factory = Arc::new(DocRoomFactory { store, config: options.room.clone() });
        let kinds = SupervisorFactory::new(Arc::clone(&registry)).with_kind(
            aos_realtime::DOC_ROOMS_KIND,
            RestartPolicy::default(),
            factory,
        );
        let root_stats = registry.register(ActorKind::Root, "root", None);
        let args = SupervisorArgs {
            name: "root".to_owned(),
            policy: RestartPolicy::default(),
            factory: Arc::new(kinds),
            registry: Arc::clone(&registry),
            stats: Arc::clone(&root_stats),
        };
        let (root, _) = Actor::spawn(None, Supervisor, args).await.expect("root supervisor");
        let root_handle = SupervisorHandle::new(root.clone(), root_stats);
        let kind = root_handle.start(aos_realtime::DOC_ROOMS_KIND).await.expect("doc-rooms supervisor");
        let rooms = DocRooms::new(SupervisorHandle::child_of(&root_handle, aos_realtime::DOC_ROOMS_KIND, kind));

        let state = AppState { rooms: rooms.clone(), tokens: Arc::new(tokens()), session: options.session };
        let app = axum::Router::new().route("/ws/docs/{id}", axum::routing::get(ws_docs)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _stopped = axum::serve(listener, app).await;
        });
        Self { addr, rooms, registry, root, server }
    }

    pub fn url(&self, workflow: WorkflowId, token: &str) -> String {
        format!("ws://{}/ws/docs/{workflow}?token={token}&acks=true", self.addr)
    }

    /// Stops the server and the actor tree (rooms compact on the way out).
    pub async fn stop(self) {
        self.server.abort();
        let _ = self.root.stop_and_wait(Some("test over".to_owned()), Some(Duration::from_secs(5))).await;
    }
}

async fn ws_docs(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Ok(workflow) = id.parse::<WorkflowId>() else {
        return (axum::http::StatusCode::NOT_FOUND, "no such doc").into_response();
    };
    let Some(access) = query.get("token").and_then(|t| state.tokens.get(t)).cloned() else {
        return (axum::http::StatusCode::UNAUTHORIZED, "bad token").into_response();
    };
    let acks = query.get("acks").is_some_and(|a| a == "true");
    let session = Session { rooms: state.rooms.clone(), workflow, access, acks, config: state.session };
    // the transport allows more than the room so the room's own limit is what is tested
    upgrade.max_message_size(16 * 1024 * 1024).on_upgrade(move |socket| async move {
        let _end = session.serve_axum(socket).await;
    })
}

/// What a client has seen.
#[derive(Debug, Default)]
pub struct Seen {
    /// `Auth` permission-denied reasons received.
    pub denied: Vec<String>,
    /// The close frame, once the server closed the connection.
    pub closed: Option<(u16, String)>,
    /// Whether the reader ended (socket gone).
    pub ended: bool,
    /// Sync step 2 from the server arrived.
    pub synced: bool,
    /// How many of the frames this client sent the server said are durable (`?acks=true`).
    pub saved: u64,
    /// Presence (awareness) messages received.
    pub presence_frames: usize,
}

/// The client's outgoing frames, numbered in the order they go out (the order the server counts
/// them in for its acknowledgements).
#[derive(Debug, Clone)]
pub struct Outgoing {
    queue: mpsc::UnboundedSender<WsMessage>,
    sent: Arc<Mutex<u64>>,
}

impl Outgoing {
    /// Queues a frame; returns its number (1 for the first).
    pub fn push(&self, message: WsMessage) -> u64 {
        let mut sent = self.sent.lock().unwrap();
        if self.queue.send(message).is_ok() {
            *sent += 1;
        }
        *sent
    }
}

/// A y-websocket client: a yrs doc kept in sync over a real WebSocket.
pub struct YClient {
    pub doc: Doc,
    pub awareness: Arc<Mutex<Awareness>>,
    pub seen: Arc<Mutex<Seen>>,
    out: Outgoing,
    reader: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
}

impl YClient {
    /// Connects with a fresh doc.
    pub async fn connect(url: &str) -> Self {
        Self::connect_with(url, Doc::new()).await
    }

    /// Connects with an existing doc (a client coming back online with edits made offline).
    pub async fn connect_with(url: &str, doc: Doc) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        let (mut sink, mut stream) = socket.split();
        let (queue, mut outgoing) = mpsc::unbounded_channel::<WsMessage>();
        let out = Outgoing { queue, sent: Arc::new(Mutex::new(0)) };
        let writer = tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let awareness = Arc::new(Mutex::new(Awareness::new(doc.clone())));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let reader = {
            let (doc, awareness, seen, out) = (doc.clone(), Arc::clone(&awareness), Arc::clone(&seen), out.clone());
            tokio::spawn(async move {
                while let Some(Ok(message)) = stream.next().await {
                    match message {
                        WsMessage::Binary(bytes) => {
                            let Ok(messages) = aos_realtime::room::decode_messages(&bytes) else { continue };
                            for message in messages {
                                handle(&doc, &awareness, &seen, &out, message);
                            }
                        }
                        WsMessage::Close(frame) => {
                            seen.lock().unwrap().closed = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                            break;
                        }
                        _ => {}
                    }
                }
                seen.lock().unwrap().ended = true;
            })
        };
        let client = Self { doc, awareness, seen, out, reader, writer };
        let sv = client.doc.transact().state_vector();
        client.send(Message::Sync(SyncMessage::SyncStep1(sv)));
        client
    }

    /// Sends a message as one frame; returns the frame's number.
    pub fn send(&self, message: Message) -> u64 {
        self.out.push(WsMessage::Binary(message.encode_v1().into()))
    }

    /// Sends raw bytes as one binary frame.
    pub fn send_raw(&self, bytes: Vec<u8>) {
        self.out.push(WsMessage::Binary(bytes.into()));
    }

    /// How many of this client's frames the server acknowledged as durable.
    pub fn saved(&self) -> u64 {
        self.seen.lock().unwrap().saved
    }

    /// Writes a whole graph locally and sends the change.
    pub fn write_graph(&self, graph: &WorkflowGraph) -> u64 {
        let update = {
            let mut txn = self.doc.transact_mut();
            wfdoc::apply_graph(&mut txn, graph).expect("the doc has its skeleton");
            txn.encode_update_v1()
        };
        self.send(Message::Sync(SyncMessage::Update(update)))
    }

    /// Adds one node (only that key: a concurrent edit elsewhere is never undone by it).
    pub fn add_node(&self, node: &aos_schema::Node) -> u64 {
        use yrs::{Any, In, Map, MapPrelim, Out};
        self.edit(|txn| {
            let root = txn.get_map(wfdoc::ROOT).expect("skeleton");
            let Some(Out::YMap(nodes)) = root.get(txn, wfdoc::NODES) else { panic!("no nodes map") };
            let config: MapPrelim =
                node.config.iter().map(|(k, v)| (k.as_str(), In::Any(wfdoc::json_to_any(v)))).collect();
            let prelim = MapPrelim::from([
                ("kind", In::Any(Any::from(node.kind.as_str()))),
                ("label", In::Any(Any::from(node.label.as_str()))),
                ("x", In::Any(Any::from(node.position.x))),
                ("y", In::Any(Any::from(node.position.y))),
                ("config", In::Map(config)),
            ]);
            nodes.insert(txn, node.id.as_str(), prelim);
        })
    }

    /// Changes the doc locally and sends the change; returns the frame's number.
    pub fn edit(&self, change: impl FnOnce(&mut yrs::TransactionMut)) -> u64 {
        let update = {
            let mut txn = self.doc.transact_mut();
            change(&mut txn);
            txn.encode_update_v1()
        };
        self.send(Message::Sync(SyncMessage::Update(update)))
    }

    /// Announces presence.
    pub fn set_presence(&self, state: serde_json::Value) {
        let update = {
            let mut awareness = self.awareness.lock().unwrap();
            awareness.set_local_state(state).unwrap();
            awareness.update().unwrap()
        };
        self.send(Message::Awareness(update));
    }

    pub fn graph(&self) -> WorkflowGraph {
        wfdoc::graph_from_doc(&self.doc)
    }

    pub fn has_skeleton(&self) -> bool {
        wfdoc::has_skeleton(&self.doc.transact())
    }

    pub fn synced(&self) -> bool {
        self.seen.lock().unwrap().synced && self.has_skeleton()
    }

    pub fn closed(&self) -> Option<(u16, String)> {
        self.seen.lock().unwrap().closed.clone()
    }

    pub fn ended(&self) -> bool {
        self.seen.lock().unwrap().ended
    }

    pub fn denied(&self) -> usize {
        self.seen.lock().unwrap().denied.len()
    }

    /// Drops the connection and keeps the doc (going offline).
    pub fn disconnect(self) -> Doc {
        self.out.push(WsMessage::Close(None));
        self.reader.abort();
        self.writer.abort();
        self.doc
    }
}

fn handle(doc: &Doc, awareness: &Arc<Mutex<Awareness>>, seen: &Arc<Mutex<Seen>>, out: &Outgoing, message: Message) {
    let reply = |message: Message| {
        out.push(WsMessage::Binary(message.encode_v1().into()));
    };
    match message {
        Message::Sync(SyncMessage::SyncStep1(sv)) => {
            let update = doc.transact().encode_state_as_update_v1(&sv);
            reply(Message::Sync(SyncMessage::SyncStep2(update)));
        }
        Message::Sync(SyncMessage::SyncStep2(update)) => {
            if let Ok(update) = Update::decode_v1(&update) {
                let _ = doc.transact_mut().apply_update(update);
            }
            seen.lock().unwrap().synced = true;
        }
        Message::Sync(SyncMessage::Update(update)) => {
            if let Ok(update) = Update::decode_v1(&update) {
                let _ = doc.transact_mut().apply_update(update);
            }
        }
        Message::Auth(Some(reason)) => seen.lock().unwrap().denied.push(reason),
        Message::Custom(aos_realtime::MSG_SAVED, payload) => {
            use yrs::encoding::read::{Cursor, Read};
            if let Ok(frames) = Cursor::new(&payload).read_var::<u64>() {
                let mut seen = seen.lock().unwrap();
                seen.saved = seen.saved.max(frames);
            }
        }
        Message::Awareness(update) => {
            seen.lock().unwrap().presence_frames += 1;
            let _ = awareness.lock().unwrap().apply_update(update);
        }
        _ => {}
    }
}
