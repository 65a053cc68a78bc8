//! Components shared by the studio and the dashboard: brand tokens, the breathing logo, the canvas
//! renderer and run pulses, and the canvas logic under them (`canvas`, plain Rust with no IO, unit
//! tested natively). No server code. The styles are `style/ui-kit.css`, which the bundler
//! (`cargo xtask web`) ships into every app as `ui-kit.css`, beside the app's own.

pub mod brand;
pub mod canvas;
pub mod components;

pub use brand::{BURGUNDY, CORAL, CREAM};

/// The shared stylesheet (every app's bundle carries it as `ui-kit.css`).
pub const CSS: &str = include_str!("../style/ui-kit.css");
