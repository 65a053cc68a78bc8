//! The dashboard's entry point: in the browser it mounts the app; natively there is nothing to run.

fn main() {
    #[cfg(target_arch = "wasm32")]
    dioxus::launch(aos_dashboard::App);
}
