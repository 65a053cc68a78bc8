//! Components shared by the studio and the dashboard: brand tokens, the breathing logo, the canvas
//! renderer and run pulses, and the canvas logic under them (`canvas`, plain Rust with no IO, unit
//! tested natively). No server code. The styles are `style/ui-kit.css`, which each app ships
//! beside its own (`ui_kit::CSS`, checked equal by the apps' tests).

pub mod brand;
pub mod canvas;
pub mod components;

pub use brand::{BURGUNDY, CORAL, CREAM};

/// The shared stylesheet; each app's `web/ui-kit.css` must hold exactly this text.
pub const CSS: &str = include_str!("../style/ui-kit.css");
