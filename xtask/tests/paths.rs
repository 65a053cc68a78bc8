//! The paths `cargo xtask` hands to builds and tests are absolute however a newcomer starts it:
//! the real xtask binary is run the way cargo runs it (`cargo xtask paths`) with `CARGO_TARGET_DIR`
//! unset, relative and absolute, from the workspace root and from a crate's folder (where cargo
//! runs that crate's tests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

/// `cargo xtask paths` started in `cwd` with `CARGO_TARGET_DIR` set to `target` (or unset).
fn paths(cwd: &Path, target: Option<&str>) -> BTreeMap<String, PathBuf> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.arg("paths").current_dir(cwd).env_remove("CARGO_TARGET_DIR");
    if let Some(target) = target {
        command.env("CARGO_TARGET_DIR", target);
    }
    let output = command.output().expect("the xtask binary runs");
    assert!(output.status.success(), "xtask paths failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let found: BTreeMap<String, PathBuf> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, path)| (name.to_owned(), PathBuf::from(path)))
        .collect();
    for name in ["CARGO_TARGET_DIR", "AOS_TEST_WEB_DIR", "AOS_WASM_TARGET_DIR", "AOS_TOOLS_DIR", "AOS_SCREENSHOTS"] {
        let path = found.get(name).unwrap_or_else(|| panic!("xtask paths prints {name}:\n{text}"));
        assert!(
            path.is_absolute(),
            "{name} = {} is not absolute (cwd {}, target {target:?})",
            path.display(),
            cwd.display()
        );
    }
    found
}

#[test]
fn a_fresh_clone_with_nothing_set_gets_absolute_paths_inside_it() {
    let root = workspace_root();
    for cwd in [root.clone(), root.join("gateway")] {
        let found = paths(&cwd, None);
        assert_eq!(found["CARGO_TARGET_DIR"], root.join("target"));
        assert_eq!(found["AOS_TEST_WEB_DIR"], root.join("target/wasm/dist"));
        assert_eq!(found["AOS_TOOLS_DIR"], root.join("target/tools"));
        assert_eq!(found["AOS_SCREENSHOTS"], root.join("docs/screenshots"));
    }
}

#[test]
fn a_relative_target_dir_is_read_from_where_cargo_was_started() {
    let root = workspace_root();
    let found = paths(&root, Some("build-out"));
    assert_eq!(found["CARGO_TARGET_DIR"], root.join("build-out"));
    assert_eq!(found["AOS_TEST_WEB_DIR"], root.join("build-out/wasm/dist"));
    let from_crate = paths(&root.join("gateway"), Some("../build-out"));
    assert_eq!(from_crate, found);
}

#[test]
fn an_absolute_target_dir_is_kept() {
    let found = paths(&workspace_root().join("gateway"), Some("/var/cache/automateos/target"));
    assert_eq!(found["CARGO_TARGET_DIR"], Path::new("/var/cache/automateos/target"));
    assert_eq!(found["AOS_TEST_WEB_DIR"], Path::new("/var/cache/automateos/target/wasm/dist"));
}

/// Under `cargo xtask test` the browser scenarios get the bundles' dir: absolute, and there.
#[test]
fn the_web_dir_this_run_was_given_is_absolute() {
    if let Some(dir) = std::env::var_os("AOS_TEST_WEB_DIR").map(PathBuf::from) {
        assert!(dir.is_absolute(), "AOS_TEST_WEB_DIR = {} is not absolute", dir.display());
        assert!(dir.join("studio/index.html").exists(), "{} holds the studio bundle", dir.display());
    }
}
