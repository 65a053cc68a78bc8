//! The Creator Studio web app (Dioxus, wasm): the live co-editing canvas, side-panel forms, the
//! template gallery, creator profiles and import/export. It talks to the server only over HTTP and
//! WebSocket. Logic lives in plain functions that native unit tests cover; components render it.

use dioxus::prelude::*;

/// The studio's root component.
#[component]
pub fn App() -> Element {
    rsx! {
        main { class: "studio",
            h1 { "AutomateOS Studio" }
        }
    }
}
