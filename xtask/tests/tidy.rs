//! Repository-wide checks that keep the code readable: every Rust module says what it is for in a
//! leading `//!` line, and every crate listed in ARCHITECTURE.md's code map exists.

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_starts_with_a_doc_comment() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 20, "found the sources");
    let missing: Vec<String> = files
        .iter()
        .filter(|file| {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
            !first.starts_with("//!")
        })
        .map(|file| file.strip_prefix(&root).unwrap_or(file).display().to_string())
        .collect();
    assert!(missing.is_empty(), "modules without a leading //! line: {missing:#?}");
}

#[test]
fn architecture_md_names_every_crate_folder() {
    let root = workspace_root();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    for folder in [
        "schema",
        "persistence",
        "engine-link",
        "actors",
        "realtime",
        "gateway",
        "ui-kit",
        "studio",
        "dashboard",
        "ops",
        "xtask",
    ] {
        assert!(root.join(folder).join("Cargo.toml").exists(), "{folder}/Cargo.toml exists");
        assert!(architecture.contains(&format!("`{folder}`")), "ARCHITECTURE.md describes `{folder}`");
    }
    let invariants = architecture.matches("**Invariant:**").count();
    assert!(invariants >= 11, "one invariant per crate, found {invariants}");
}
