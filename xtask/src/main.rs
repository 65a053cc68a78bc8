//! `cargo xtask <command>`: the project's own commands, so the README needs only two lines.
//!
//! - `run`: builds and serves the platform on the embedded default at http://127.0.0.1:8080.
//! - `test`: makes sure Postgres and Redis answer on 127.0.0.1 (starting them where installed,
//!   installing them with apt where missing), checks formatting and the wasm32 build of the
//!   shared schema, then runs every test of the workspace.
//! - `lint`: rustfmt and clippy with warnings denied.
//! - `bench`: AutomateOS side by side with n8n, Hocuspocus and y-websocket; writes
//!   `docs/benchmarks.md` (see `bench/mod.rs`).

mod bench;
mod fuzz;
mod services;
mod wasm;

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("lint") => lint(),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <run|test|lint|bench> [args]");
            eprintln!("  run   serve the platform on http://127.0.0.1:8080 (embedded: SQLite, in-process)");
            eprintln!("  test  start or install Postgres and Redis if needed, then run every test");
            eprintln!("  lint  cargo fmt --check and cargo clippy -D warnings");
            eprintln!("  bench compare with n8n, Hocuspocus and y-websocket; writes docs/benchmarks.md");
            eprintln!("  fuzz  [target] [--seconds N]: the cargo-fuzz targets of fuzz/ (600 s each by default)");
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
    let mut command = cargo();
    command.args(["run", "--package", "aos-gateway", "--bin", "automateos", "--", "serve"]);
    if !extra.iter().any(|a| a == "--addr") {
        command.args(["--addr", "127.0.0.1:8080"]);
    }
    if !extra.iter().any(|a| a == "--data-dir") {
        command.args(["--data-dir", "./data"]);
    }
    command.args(extra);
    status(&mut command, "automateos serve")
}

/// `cargo xtask test [cargo test args]`: services up, then the whole suite.
fn test(extra: &[String]) -> Result<()> {
    let database_url = services::ensure_postgres()?;
    let redis_url = services::ensure_redis()?;
    services::ensure_docker_compose()?;
    status(cargo().args(["fmt", "--all", "--check"]), "cargo fmt --check")?;
    // the schema is shared with the browser apps: prove it still builds for wasm32
    wasm::check("aos-schema")?;
    let mut command = cargo();
    command
        .args(["test", "--workspace", "--all-features", "--no-fail-fast"])
        .args(extra)
        .env("AOS_TEST_DATABASE_URL", database_url)
        .env("AOS_TEST_REDIS_URL", redis_url);
    status(&mut command, "cargo test")
}

fn lint() -> Result<()> {
    status(cargo().args(["fmt", "--all", "--check"]), "cargo fmt --check")?;
    status(
        cargo().args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]),
        "cargo clippy",
    )
}

/// The cargo that runs this xtask (rustup's), never Debian's `/usr/bin/cargo`.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
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
