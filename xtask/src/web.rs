//! The browser apps' bundles: each web app crate (`studio`, `dashboard`) is built to wasm32 in
//! release, passed through `wasm-bindgen --target web` (the CLI, pinned to the crate's version in
//! `Cargo.lock`, is installed once into a cache outside the clone), shrunk with `wasm-opt` when
//! npm's binaryen is at hand, and laid out with the crate's `web/` folder:
//!
//! ```text
//! <dist>/<app>/index.html, style.css, …   copied from <crate>/web/
//! <dist>/<app>/ui-kit.css                  ui-kit/style/ui-kit.css, the shared components' styles
//! <dist>/<app>/app.js, app_bg.wasm         wasm-bindgen output
//! <dist>/<app>/boot.js                     `import init from './app.js'; init();` (no inline script: strict CSP)
//! ```
//!
//! The gateway serves `<dist>/studio` at `/studio/` and `<dist>/dashboard` at `/app/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{status, wasm};

/// A browser app: its crate folder and package name.
#[derive(Debug, Clone, Copy)]
pub struct WebApp {
    pub dir: &'static str,
    pub package: &'static str,
}

/// Every browser app of the workspace.
pub const APPS: [WebApp; 2] =
    [WebApp { dir: "studio", package: "aos-studio" }, WebApp { dir: "dashboard", package: "aos-dashboard" }];

const BOOT_JS: &str = "import init from './app.js';\ninit();\n";

/// Builds every app that has a `web/index.html` into `dist_dir()`; returns that dir.
pub fn build_all(root: &Path) -> Result<PathBuf> {
    let dist = dist_dir();
    let apps: Vec<WebApp> = APPS
        .into_iter()
        .filter(|app| {
            let has_page = root.join(app.dir).join("web/index.html").exists();
            if !has_page {
                eprintln!("xtask: {} has no web/index.html yet; not bundled", app.dir);
            }
            has_page
        })
        .collect();
    if apps.is_empty() {
        bail!("no web app to bundle");
    }
    // the tools first, then every app in one cargo run: their shared dependencies build once,
    // and the two apps' own crates build side by side
    let bindgen = ensure_wasm_bindgen(root)?;
    crate::progress("building the web apps to wasm32 (the first build takes several minutes)");
    let packages: Vec<&str> = apps.iter().map(|app| app.package).collect();
    wasm::build_release(&packages)?;
    for app in apps {
        bundle(root, app, &bindgen, &dist.join(app.dir))?;
    }
    Ok(dist)
}

/// The folder the bundles land in, inside the wasm target dir (outside the clone in CI).
pub fn dist_dir() -> PathBuf {
    crate::paths::layout().dist.clone()
}

/// Builds `app` into a fresh folder beside `dist`, then swaps it in by renames, so a server
/// serving the old bundle (a test run sharing the cache) never finds the folder half-written.
fn bundle(root: &Path, app: WebApp, bindgen: &Path, dist: &Path) -> Result<()> {
    let fresh = dist.with_extension("new");
    let old = dist.with_extension("old");
    for stale in [&fresh, &old] {
        if stale.exists() {
            std::fs::remove_dir_all(stale).with_context(|| format!("clearing {}", stale.display()))?;
        }
    }
    std::fs::create_dir_all(&fresh)?;
    build_into(root, app, bindgen, &fresh)?;
    if dist.exists() {
        std::fs::rename(dist, &old)?;
    }
    std::fs::rename(&fresh, dist)?;
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    let size = std::fs::metadata(dist.join("app_bg.wasm")).map(|m| m.len()).unwrap_or(0);
    eprintln!("xtask: bundled {} into {} ({} KiB wasm)", app.dir, dist.display(), size / 1024);
    Ok(())
}

fn build_into(root: &Path, app: WebApp, bindgen: &Path, out: &Path) -> Result<()> {
    let wasm_file = wasm::release_artifact(app.package);
    status(
        Command::new(bindgen)
            .args(["--target", "web", "--no-typescript", "--out-name", "app", "--out-dir"])
            .arg(out)
            .arg(&wasm_file),
        "wasm-bindgen",
    )?;
    shrink(&out.join("app_bg.wasm"))?;
    copy_dir(&root.join(app.dir).join("web"), out)?;
    // the shared components' stylesheet, one source for every app
    std::fs::copy(root.join("ui-kit/style/ui-kit.css"), out.join("ui-kit.css")).context("copying ui-kit.css")?;
    std::fs::write(out.join("boot.js"), BOOT_JS)?;
    Ok(())
}

/// The wasm-bindgen CLI matching the `wasm-bindgen` crate in `Cargo.lock`, installed once.
fn ensure_wasm_bindgen(root: &Path) -> Result<PathBuf> {
    let version = locked_version(root, "wasm-bindgen")?;
    let tools = tools_dir().join(format!("wasm-bindgen-{version}"));
    let binary = tools.join("bin/wasm-bindgen");
    if binary.exists() {
        return Ok(binary);
    }
    crate::progress(&format!(
        "installing wasm-bindgen-cli {version} into {} (once per target dir, about 4 minutes)",
        tools.display()
    ));
    // not --locked: one of its locked dependencies is missing from the registry mirror
    status(
        crate::cargo().args(["install", "wasm-bindgen-cli", "--version", &version, "--root"]).arg(&tools),
        "cargo install wasm-bindgen-cli",
    )?;
    Ok(binary)
}

/// `wasm-opt -Oz` from npm's binaryen (Debian's is too old for these features), when it installs;
/// without it the bundle is larger but works.
fn shrink(wasm_file: &Path) -> Result<()> {
    let dir = tools_dir().join("binaryen");
    let wasm_opt = dir.join("node_modules/.bin/wasm-opt");
    if !wasm_opt.exists() {
        std::fs::create_dir_all(&dir)?;
        let installed = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("binaryen@132.0.0")
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            eprintln!("xtask: binaryen did not install; the wasm is not shrunk");
            return Ok(());
        }
    }
    status(
        Command::new(&wasm_opt)
            .arg("-Oz")
            .args([
                "--enable-bulk-memory",
                "--enable-reference-types",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-multivalue",
                "--enable-mutable-globals",
            ])
            .arg(wasm_file)
            .arg("-o")
            .arg(wasm_file),
        "wasm-opt",
    )
}

/// Where built tools live: in the target dir, so CI's fresh clones (whose target dir is a cache
/// outside the clone) reuse them.
fn tools_dir() -> PathBuf {
    crate::paths::layout().tools.clone()
}

/// The version of `package` recorded in `Cargo.lock`.
fn locked_version(root: &Path, package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&needle).with_context(|| format!("{package} is not in Cargo.lock"))? + needle.len();
    let end = lock[start..].find('"').context("Cargo.lock is malformed")?;
    Ok(lock[start..start + end].to_owned())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
