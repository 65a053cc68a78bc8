//! Brand tokens: the colours both apps use, mirrored as CSS custom properties in `style/ui-kit.css`.

/// Coral red, the primary brand colour.
pub const CORAL: &str = "#E84B4B";
/// Cream, the calm background accent.
pub const CREAM: &str = "#FFF6EC";
/// Burgundy, the deep accent for text and emphasis.
pub const BURGUNDY: &str = "#6D1F2E";

/// Colours given to co-editors' cursors and selections, picked by their awareness client id.
pub const PRESENCE_COLOURS: [&str; 8] =
    ["#E84B4B", "#2F80ED", "#27AE60", "#9B51E0", "#F2994A", "#00A3A3", "#C2185B", "#6D1F2E"];

/// The presence colour of a co-editor.
pub fn presence_colour(client_id: u64) -> &'static str {
    PRESENCE_COLOURS[(client_id % PRESENCE_COLOURS.len() as u64) as usize]
}
