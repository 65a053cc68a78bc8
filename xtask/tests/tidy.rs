//! Repository-wide checks that keep the code readable: every Rust module says what it is for in a
//! leading `//!` line, every crate listed in ARCHITECTURE.md's code map exists, and the manifests
//! keep the crate layering its "Layering" table states.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

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
        "api",
        "persistence",
        "engine-link",
        "actors",
        "realtime",
        "gateway",
        "ui-kit",
        "web-client",
        "studio",
        "dashboard",
        "ops",
        "xtask",
    ] {
        assert!(root.join(folder).join("Cargo.toml").exists(), "{folder}/Cargo.toml exists");
        assert!(architecture.contains(&format!("`{folder}`")), "ARCHITECTURE.md describes `{folder}`");
    }
    let invariants = architecture.matches("**Invariant:**").count();
    assert!(invariants >= 13, "one invariant per crate, found {invariants}");
}

/// The table: crate → the workspace crates it may use.
fn allowed(architecture: &str) -> BTreeMap<String, BTreeSet<String>> {
    let section = architecture.split("\n## Layering").nth(1).expect("ARCHITECTURE.md has a Layering section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut table = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [name, uses] = cells[..] else { panic!("a layering row has two cells: {line}") };
        let names = |cell: &str| -> BTreeSet<String> {
            cell.split(',')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .filter(|c| !c.is_empty() && c != "–")
                .collect()
        };
        let name = names(name).into_iter().next().expect("a crate name");
        table.insert(name, names(uses));
    }
    table
}

/// The workspace's packages as `cargo metadata` describes them (without resolving dependencies).
fn workspace_packages() -> Vec<Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    metadata["packages"].as_array().expect("packages").clone()
}

/// The normal dependencies of one package, on every target.
fn normal_dependencies(packages: &[Value], name: &str) -> BTreeSet<String> {
    let package = packages.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name} is a workspace crate"));
    let deps = package["dependencies"].as_array().into_iter().flatten();
    deps.filter(|d| d["kind"].is_null()).filter_map(|d| d["name"].as_str()).map(str::to_owned).collect()
}

/// The crates both web apps build for the browser stay small: the wire types use only the schema
/// and serde, the browser client no UI framework (the apps bring theirs).
#[test]
fn the_shared_browser_crates_keep_their_few_dependencies() {
    let packages = workspace_packages();
    let api = normal_dependencies(&packages, "aos-api");
    assert_eq!(api, BTreeSet::from(["aos-schema", "serde", "serde_json"].map(String::from)), "aos-api's dependencies");
    let client = normal_dependencies(&packages, "aos-web-client");
    let browser = ["wasm-bindgen", "wasm-bindgen-futures", "js-sys", "web-sys"];
    let allowed =
        ["aos-api", "serde", "serde_json", "thiserror", "futures-channel", "futures-util", "percent-encoding"];
    let extra: Vec<&String> =
        client.iter().filter(|d| !allowed.contains(&d.as_str()) && !browser.contains(&d.as_str())).collect();
    assert!(extra.is_empty(), "aos-web-client depends on {extra:?}");
}

#[test]
fn manifests_keep_the_stated_layering() {
    let root = workspace_root();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let table = allowed(&architecture);
    let packages = workspace_packages();
    let members: BTreeSet<String> = packages.iter().filter_map(|p| p["name"].as_str()).map(str::to_owned).collect();
    let mut wrong = Vec::new();
    for package in &packages {
        let name = package["name"].as_str().expect("a package name");
        let Some(may) = table.get(name) else {
            wrong.push(format!("{name} has no row in ARCHITECTURE.md's Layering table"));
            continue;
        };
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            let normal = dep["kind"].is_null();
            if normal && dep_name != name && members.contains(dep_name) && !may.contains(dep_name) {
                wrong.push(format!("{name} depends on {dep_name}, which its layer may not use"));
            }
        }
    }
    for listed in table.keys().filter(|n| !members.contains(*n)) {
        wrong.push(format!("the Layering table lists {listed}, which is no workspace crate"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_table_reads() {
    let table = allowed(
        "x\n## Layering\n\n| crate | may |\n|---|---|\n| `a` | – |\n| `b` | `a`, `c` |\n\n## Next\n| `z` | – |",
    );
    assert_eq!(table.len(), 2);
    assert!(table["a"].is_empty());
    assert_eq!(table["b"].iter().map(String::as_str).collect::<Vec<_>>(), ["a", "c"]);
}
