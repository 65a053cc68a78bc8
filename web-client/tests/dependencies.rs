//! The client stays framework-free: the API's shapes, serde, futures and (in the wasm build) the
//! browser bindings, so either app can use it with whatever UI it has.

#[test]
fn depends_on_no_ui_framework() {
    let manifest = include_str!("../Cargo.toml");
    let mut section = "";
    let mut found = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == "[dependencies]" && !line.is_empty() && !line.starts_with('#') {
            found.push(line.split(['.', '=', ' ']).next().unwrap_or(line).to_owned());
        }
    }
    assert_eq!(
        found,
        ["aos-api", "serde", "serde_json", "thiserror", "futures-channel", "futures-util"],
        "aos-web-client's dependencies"
    );
}
