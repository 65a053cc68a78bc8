//! The breathing infinity-wave logo: one SVG path drawn twice (a soft trail and the line), animated
//! by `ui-kit.css` (`.aos-logo` breathes, `.aos-logo__flow` runs along the wave).

use dioxus::prelude::*;

/// The wave: an infinity loop drawn as two smooth lobes.
pub const LOGO_PATH: &str = "M 60 30 C 48 14, 24 10, 14 22 C 6 32, 14 48, 30 46 C 42 44, 50 36, 60 30 \
                             C 70 24, 78 16, 90 14 C 106 12, 114 28, 106 38 C 96 50, 72 46, 60 30 Z";

/// The logo; `size` is its width in pixels (the height is half of it).
#[component]
pub fn Logo(#[props(default = 48.0)] size: f64, #[props(default = false)] with_name: bool) -> Element {
    let height = size / 2.0;
    rsx! {
        span { class: "aos-brand", "data-testid": "logo",
            svg {
                class: "aos-logo",
                width: "{size}",
                height: "{height}",
                view_box: "0 0 120 60",
                role: "img",
                "aria-label": "AutomateOS",
                path { class: "aos-logo__trail", d: LOGO_PATH }
                path { class: "aos-logo__line", d: LOGO_PATH }
                path { class: "aos-logo__flow", d: LOGO_PATH }
            }
            if with_name {
                span { class: "aos-brand__name", "AutomateOS" }
            }
        }
    }
}
