//! Browser scenarios against the real server: starts `automateos serve` (embedded SQLite, the
//! built apps from `AOS_TEST_WEB_DIR`, which `cargo xtask test` sets) and runs every scenario script
//! in `tests/browser/*.mjs` with node and playwright-core driving Debian's headless Chromium. Each
//! script is one test; arguments filter them by name, as libtest does (`cargo test --test browser --
//! studio`). `AOS_SCREENSHOTS=<dir>` makes the scenarios save their screenshots there
//! (`cargo xtask screenshots`). Scripts whose names start with `_` or `lib` are helpers.

// a test harness reports on stdout, as libtest does
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// The platform admin every scenario may sign up as (the supervision tree needs one).
const ADMIN_EMAIL: &str = "admin@automateos.test";
/// A scenario that runs longer than this is stopped and fails.
const SCENARIO_LIMIT: Duration = Duration::from_secs(240);

fn main() -> ExitCode {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let scenarios = scenarios(&dir, &filters);
    if scenarios.is_empty() {
        println!("running 0 browser scenarios");
        return ExitCode::SUCCESS;
    }
    let Some(web_dir) = std::env::var_os("AOS_TEST_WEB_DIR").map(PathBuf::from) else {
        eprintln!(
            "browser scenarios need the built web apps: run them with `cargo xtask test`, or \
             `cargo xtask web` and set AOS_TEST_WEB_DIR to the dir it prints"
        );
        return ExitCode::FAILURE;
    };
    if let Err(err) = npm_ci(&dir) {
        eprintln!("{err}");
        return ExitCode::FAILURE;
    }
    let server = match Server::start(&web_dir) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    println!("running {} browser scenarios against {}", scenarios.len(), server.base);
    let mut failed = Vec::new();
    for script in &scenarios {
        let name = script.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let started = Instant::now();
        let outcome = run_scenario(&dir, script, &server.base);
        match outcome {
            Ok(()) => println!("test {name} ... ok ({:.1}s)", started.elapsed().as_secs_f64()),
            Err(output) => {
                println!("test {name} ... FAILED\n{output}");
                failed.push(name);
            }
        }
    }
    drop(server);
    if failed.is_empty() {
        println!("browser scenarios: all {} passed", scenarios.len());
        ExitCode::SUCCESS
    } else {
        println!("browser scenarios failed: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}

/// The scenario scripts, sorted, that match any filter (all without filters).
fn scenarios(dir: &Path, filters: &[String]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut scripts: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "mjs"))
        .filter(|p| {
            let name = p.file_stem().unwrap_or_default().to_string_lossy();
            !name.starts_with('_') && !name.starts_with("lib")
        })
        .filter(|p| {
            let name = p.file_stem().unwrap_or_default().to_string_lossy();
            filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
        })
        .collect();
    scripts.sort();
    scripts
}

/// Installs playwright-core from the lock file when missing (it never downloads a browser).
fn npm_ci(dir: &Path) -> Result<(), String> {
    if dir.join("node_modules/playwright-core").exists() {
        return Ok(());
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .current_dir(dir)
        .status()
        .map_err(|e| format!("npm does not run: {e}"))?;
    status.success().then_some(()).ok_or_else(|| format!("npm ci failed in {}", dir.display()))
}

fn run_scenario(dir: &Path, script: &Path, base: &str) -> Result<(), String> {
    let mut child = Command::new("node")
        .arg(script)
        .current_dir(dir)
        .env("AOS_BASE_URL", base)
        .env("AOS_ADMIN_EMAIL", ADMIN_EMAIL)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("node does not run: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > SCENARIO_LIMIT => {
                let _ = child.kill();
                let output = child.wait_with_output().map_err(|e| e.to_string())?;
                return Err(format!("timed out after {SCENARIO_LIMIT:?}\n{}", transcript(&output)));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(transcript(&output));
    }
    // what a passing scenario measured (lines other than its "<name>: ok")
    for line in String::from_utf8_lossy(&output.stdout).lines().filter(|l| !l.ends_with(": ok")) {
        println!("    {line}");
    }
    Ok(())
}

fn transcript(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// `automateos serve` on a free port with a fresh data dir; killed on drop.
struct Server {
    child: Child,
    base: String,
    data_dir: PathBuf,
}

impl Server {
    fn start(web_dir: &Path) -> Result<Self, String> {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let data_dir = std::env::temp_dir().join(format!("aos-browser-{}", uuid::Uuid::new_v4().simple()));
        let child = Command::new(env!("CARGO_BIN_EXE_automateos"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(&data_dir)
            .arg("--web-dir")
            .arg(web_dir)
            .env("AOS_ADMIN_EMAILS", ADMIN_EMAIL)
            .env("AOS_EGRESS_ALLOW", "127.0.0.1")
            .env("AOS_RATE_LIMIT", "100000")
            // every scenario signs its own users up from this one address
            .env("AOS_SIGNUP_RATE", "100000")
            .env("AOS_LOGIN_RATE", "100000")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("AOS_MASTER_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("automateos does not start: {e}"))?;
        let server = Self { child, base: format!("http://127.0.0.1:{port}"), data_dir };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("automateos did not listen within 60 s".to_owned())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
