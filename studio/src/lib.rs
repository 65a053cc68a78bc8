//! The Creator Studio web app (Dioxus, wasm): the live co-editing canvas, side-panel forms, runs
//! pulsing on the canvas, the template gallery, creator profiles and import/export. It talks to
//! the server only over HTTP and WebSocket (`api`, over `aos-web-client`). Logic lives in plain modules that
//! native unit tests cover (`editor`, `live`, `forms`, `run_view`, `step_data`,
//! `problems`, `changes`, `history`, `route`); the
//! components in `ui` render it.

pub mod api;
pub mod changes;
pub mod editor;
pub mod forms;
pub mod history;
pub mod live;
pub mod problems;
pub mod route;
pub mod run_view;
pub mod step_data;
pub mod ui;

pub use ui::app::App;

#[cfg(test)]
mod tests {
    /// The page the bundler serves: the mount point, both stylesheets and the boot module, and no
    /// inline script or style (the CSP forbids them).
    #[test]
    fn index_html_follows_the_bundle_contract() {
        let html = include_str!("../web/index.html");
        for needle in [
            r#"<div id="main"></div>"#,
            r#"href="./ui-kit.css""#,
            r#"href="./style.css""#,
            r#"<script type="module" src="./boot.js"></script>"#,
        ] {
            assert!(html.contains(needle), "index.html lacks {needle}");
        }
        assert_eq!(html.matches("<script").count(), 1);
        assert!(!html.contains("<style") && !html.contains("style="));
    }
}
