//! The Creator Studio web app (Dioxus, wasm): the live co-editing canvas, side-panel forms, the
//! template gallery, creator profiles and import/export. It talks to the server only over HTTP and
//! WebSocket. The app arrives with the studio issue; today this crate only states its place.
