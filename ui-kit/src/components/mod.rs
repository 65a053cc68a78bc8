//! The Dioxus components both apps use: the logo and the canvas renderer (props in, events out,
//! no editing state of its own).

pub mod canvas_view;
pub mod logo;
pub mod run_state;

pub use canvas_view::{CanvasPointer, CanvasView, CanvasWheel, MinimapView, PointerPhase, RemoteCursor};
pub use logo::Logo;
pub use run_state::{NodeRun, NodeRunState, RunOverlay, format_duration};
