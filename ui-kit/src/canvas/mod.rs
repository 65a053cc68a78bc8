//! The canvas logic, free of IO and of Dioxus so native unit tests cover it: geometry, viewport,
//! hit testing, connecting and snapping, auto-layout, selection and minimap, copy/paste and the
//! visual diff. The renderer component and the studio's editor are thin layers over it.

pub mod clipboard;
pub mod connect;
pub mod diff;
pub mod geometry;
pub mod hit;
pub mod ids;
pub mod layout;
pub mod selection;
pub mod viewport;

pub use clipboard::Clipboard;
pub use connect::{ConnectRefusal, check_connection, connect, orient, snap_target};
pub use diff::{DiffStatus, DiffView};
pub use geometry::{EdgeShape, NodeShape, Point, PortShape, Rect, Scene, edge_path};
pub use hit::{Hit, PortRef, hit_test};
pub use ids::{fresh_edge_id, fresh_node_id};
pub use layout::{apply_layout, auto_layout};
pub use selection::{Minimap, Selection};
pub use viewport::Viewport;
