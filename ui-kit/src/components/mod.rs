//! The Dioxus components both apps use: the logo, the canvas renderer (props in, events out,
//! no editing state of its own) and the JSON tree that shows what a step received and produced.

pub mod canvas_view;
pub mod json_tree;
pub mod logo;
pub mod run_state;

pub use canvas_view::{CanvasPointer, CanvasView, CanvasWheel, MinimapView, PointerPhase, RemoteCursor};
pub use json_tree::JsonTree;
pub use logo::Logo;
pub use run_state::{NodeRun, NodeRunState, RunOverlay, format_duration};
