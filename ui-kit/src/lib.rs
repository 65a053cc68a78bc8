//! Components shared by the studio and the dashboard: brand tokens, the breathing logo, the canvas
//! renderer and run pulses. No server code. The components arrive with the studio issue; today
//! this crate holds the brand tokens both apps will use.

/// Coral red, the primary brand colour.
pub const CORAL: &str = "#E84B4B";
/// Cream, the calm background accent.
pub const CREAM: &str = "#FFF6EC";
/// Burgundy, the deep accent for text and emphasis.
pub const BURGUNDY: &str = "#6D1F2E";
