//! `cargo xtask <command>`: the project's own commands, so the README needs only two lines.
//!
//! - `run`: builds the web apps and a release build of the server, and serves the platform on the
//!   embedded default at http://127.0.0.1:8080 (the studio at `/studio/`, the dashboard at `/app/`).
//! - `test`: makes sure Postgres and Redis answer on 127.0.0.1 (starting them where installed,
//!   installing them with apt where missing), checks formatting, builds the web apps (the browser
//!   scenarios load them), then runs every test of the workspace.
//! - `web`: builds the web apps only and prints where they are (see `web.rs`).
//! - `screenshots`: runs the browser scenarios saving their screenshots to `docs/screenshots/`.
//! - `lint`: rustfmt and clippy with warnings denied.
//! - `bench`: AutomateOS side by side with n8n, Hocuspocus and y-websocket; writes
//!   `docs/benchmarks.md` (see `bench/mod.rs`).
//! - `soak`: ten minutes of webhook traffic and co-editing on one server, memory and latency
//!   sampled; writes `docs/soak.md` (see `bench/soak.rs`).
//! - `fuzz`: the cargo-fuzz targets of `fuzz/`, each for a fixed time (see `fuzz.rs`).
//! - `paths`: the absolute paths handed to builds and tests (see `paths.rs`).

mod bench;
mod fuzz;
mod paths;
mod services;
mod wasm;
mod web;

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("lint") => lint(),
        Some("bench") => bench::run(&args[1..]),
        Some("web") => web(),
        Some("paths") => print_paths(),
        Some("screenshots") => screenshots(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("soak") => bench::soak::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <run|test|lint|bench|soak|web|screenshots|fuzz> [args]");
            eprintln!("  run   serve the platform on http://127.0.0.1:8080 (embedded: SQLite, in-process)");
            eprintln!("  test  start or install Postgres and Redis if needed, then run every test");
            eprintln!("  lint  cargo fmt --check and cargo clippy -D warnings");
            eprintln!("  bench compare with n8n, Hocuspocus and y-websocket; writes docs/benchmarks.md");
            eprintln!("  web   build the studio and dashboard bundles and print their dir");
            eprintln!("  screenshots  refresh docs/screenshots/ from the browser scenarios");
            eprintln!("  paths print the absolute paths xtask hands to builds and tests");
            eprintln!("  fuzz  [target] [--seconds N]: the cargo-fuzz targets of fuzz/ (600 s each by default)");
            eprintln!(
                "  soak  [--minutes M] [--postgres]: webhooks and co-editing for 10 minutes; writes docs/soak.md"
            );
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask run [serve args]`: the platform on the embedded default.
fn run(extra: &[String]) -> Result<()> {
    let web_dir = web::build_all(&workspace_root()?)?;
    progress("building automateos (release: people judge the speed by what they run first) and starting it");
    let mut command = cargo();
    command.args(["run", "--release", "--package", "aos-gateway", "--bin", "automateos", "--", "serve"]);
    if !extra.iter().any(|a| a == "--addr") {
        command.args(["--addr", "127.0.0.1:8080"]);
    }
    if !extra.iter().any(|a| a == "--data-dir") {
        command.args(["--data-dir", "./data"]);
    }
    if !extra.iter().any(|a| a == "--web-dir") {
        command.arg("--web-dir").arg(&web_dir);
    }
    command.args(extra);
    status(&mut command, "automateos serve")
}

/// `cargo xtask test [cargo test args]`: services up, then the whole suite.
fn test(extra: &[String]) -> Result<()> {
    let database_url = services::ensure_postgres()?;
    let redis_url = services::ensure_redis()?;
    services::ensure_docker_compose()?;
    services::ensure_chromium()?;
    status(cargo().args(["fmt", "--all", "--check"]), "cargo fmt --check")?;
    // the browser scenarios load the real bundles
    let web_dir = web::build_all(&workspace_root()?)?;
    progress("building and running every test (the first build takes 10 minutes or more)");
    let mut command = cargo();
    command
        .args(["test", "--workspace", "--all-features", "--no-fail-fast"])
        .args(extra)
        .env("AOS_TEST_DATABASE_URL", database_url)
        .env("AOS_TEST_REDIS_URL", redis_url)
        .env("AOS_TEST_WEB_DIR", web_dir);
    status(&mut command, "cargo test")
}

/// `cargo xtask web`: the bundles only; prints their dir (what `--web-dir` takes).
fn web() -> Result<()> {
    let dir = web::build_all(&workspace_root()?)?;
    #[allow(clippy::print_stdout)]
    {
        println!("{}", dir.display());
    }
    Ok(())
}

/// `cargo xtask screenshots`: the browser scenarios, saving what they show to `docs/screenshots/`.
fn screenshots() -> Result<()> {
    let root = workspace_root()?;
    services::ensure_chromium()?;
    let web_dir = web::build_all(&root)?;
    status(
        cargo()
            .args(["test", "-p", "aos-gateway", "--test", "browser"])
            .env("AOS_TEST_WEB_DIR", web_dir)
            .env("AOS_SCREENSHOTS", &paths::layout().screenshots),
        "browser scenarios",
    )
}

/// `cargo xtask paths`: `NAME=path` for every path handed to children (all absolute).
fn print_paths() -> Result<()> {
    #[allow(clippy::print_stdout)]
    for (name, path) in paths::layout().exported() {
        println!("{name}={}", path.display());
    }
    Ok(())
}

/// The workspace's root folder (xtask's parent), absolute.
pub(crate) fn workspace_root() -> Result<std::path::PathBuf> {
    Ok(paths::layout().root.clone())
}

/// A line saying what a long step is doing, so a first run never looks hung.
pub(crate) fn progress(what: &str) {
    eprintln!("xtask: {what}");
}

fn lint() -> Result<()> {
    status(cargo().args(["fmt", "--all", "--check"]), "cargo fmt --check")?;
    status(
        cargo().args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]),
        "cargo clippy",
    )
}

/// The cargo that runs this xtask (rustup's), never Debian's `/usr/bin/cargo`, started in the
/// workspace root with the absolute native target dir.
pub(crate) fn cargo() -> Command {
    let layout = paths::layout();
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(&layout.root).env("CARGO_TARGET_DIR", &layout.target);
    command
}

/// Runs `command`, failing with `what` if it exits non-zero.
pub(crate) fn status(command: &mut Command, what: &str) -> Result<()> {
    let status = command.status().with_context(|| format!("could not start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// reqwest here uses rustls without a built-in provider: install ring's once per process.
pub(crate) fn install_crypto_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}
