//! Live collaboration: one [`DocRoom`] per open workflow doc is that doc's only writer on a node. It
//! speaks the y-websocket protocol (sync step 1/2, update, awareness) with every editor, relays each
//! accepted change to the others at once and appends it to the durable update log through the
//! store's group-commit writer (acknowledging it as saved to an author who asks), compacts the log
//! into snapshots and unloads when idle. [`room`] is the sans-IO core, [`actor`] the ractor actor,
//! [`rooms`] the node's door to its rooms and [`session`] one WebSocket connection; [`events`]
//! streams run-log rows to `/ws/events` subscribers.

pub mod actor;
pub mod error;
pub mod events;
pub mod fuzzing;
pub mod room;
pub mod rooms;
pub mod seed;
pub mod session;

pub use actor::{DocRoom, DocRoomArgs, DocRoomFactory, DocRoomMsg, Joined, MSG_SAVED, Outbound, RoomConfig};
pub use error::{RealtimeError, RealtimeResult};
pub use events::{EventHub, EventScope, EventsConfig, EventsSession};
pub use room::{Access, ClientError, ConnId, Effects, READ_ONLY_REASON, Room, RoomLimits};
pub use rooms::{DocRooms, RoomRef};
pub use seed::{initial_state, seed_doc};
pub use session::{Session, SessionConfig, SessionEnd, WsFrame, close_code};

/// The supervisor kind name the doc rooms run under in the actor tree.
pub const DOC_ROOMS_KIND: &str = "doc-rooms";
