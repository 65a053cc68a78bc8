//! The wasm32 toolchain: rustup here has no wasm32 target, so the crates the browser runs are built
//! with Debian's `rustc-web` and `-Zbuild-std` (installed with apt where missing). Where rustup has
//! the target installed (a developer laptop), that route is used instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::status;

const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const WASM_LINKER: &str = "wasm-ld-22";

/// Builds `packages` for wasm32-unknown-unknown with the `web` profile (release, optimised for
/// size) in one cargo run; `release_artifact` names each one's `.wasm` file.
pub fn build_release(packages: &[&str]) -> Result<()> {
    status(&mut build_command(packages, &["--profile", "web"])?, "wasm32 release build")
}

/// The `.wasm` file `build_release` leaves for `package`.
pub fn release_artifact(package: &str) -> PathBuf {
    crate::paths::layout().wasm_target.join("wasm32-unknown-unknown/web").join(format!("{package}.wasm"))
}

/// `cargo build -p … --target wasm32-unknown-unknown`, by rustup's cargo where it has the
/// target, else by Debian's with `-Zbuild-std`.
fn build_command(packages: &[&str], extra: &[&str]) -> Result<Command> {
    let layout = crate::paths::layout();
    let target_dir = &layout.wasm_target;
    let package_args: Vec<&str> = packages.iter().flat_map(|p| ["-p", p]).collect();
    if rustup_has_wasm_target() {
        let mut command = crate::cargo();
        command
            .arg("build")
            .args(&package_args)
            .args(["--target", "wasm32-unknown-unknown"])
            .args(extra)
            .env("CARGO_TARGET_DIR", target_dir);
        return Ok(command);
    }
    ensure_debian_toolchain()?;
    let path = format!("/usr/bin:{}", std::env::var("PATH").unwrap_or_default());
    let mut command = Command::new(DEBIAN_CARGO);
    command
        .arg("build")
        .args(&package_args)
        .args(["--target", "wasm32-unknown-unknown", "-Zbuild-std=std,panic_abort"])
        .args(extra)
        .env("PATH", path)
        .env("RUSTC", DEBIAN_RUSTC)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", WASM_LINKER)
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(&layout.root)
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO");
    Ok(command)
}

fn rustup_has_wasm_target() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "wasm32-unknown-unknown"))
}

fn ensure_debian_toolchain() -> Result<()> {
    let have_linker = std::env::var_os("PATH")
        .and_then(|p| p.into_string().ok())
        .is_some_and(|p| p.split(':').any(|dir| Path::new(dir).join(WASM_LINKER).exists()));
    let have_std_sources = Path::new("/usr/lib/rustlib/src/rust/library").exists();
    if Path::new(DEBIAN_RUSTC).exists() && have_std_sources && have_linker {
        return Ok(());
    }
    crate::progress("the web apps need Debian's wasm32 toolchain: installing it (once, about a minute)");
    crate::services::apt_install(&["rustc-web", "cargo-web", "rust-web-src", "lld-22"])
}
