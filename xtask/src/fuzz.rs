//! `cargo xtask fuzz [target] [--seconds N] [--sanitizer address|none]`: runs the cargo-fuzz
//! (libFuzzer) targets of `fuzz/`, each for N seconds (default 600), installing cargo-fuzz from
//! crates.io into the tools dir when missing. The stable toolchain runs it with `RUSTC_BOOTSTRAP=1`.
//! New inputs go to a scratch corpus under the target dir; the committed seeds
//! (`fuzz/corpus/<target>/`) and reproducers (`fuzz/regressions/<target>/`) are read, not grown. A
//! crash is copied to `fuzz/regressions/<target>/` and fails the command; a summary of runs and
//! exec/s per target ends the output.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// Every target of `fuzz/Cargo.toml`.
pub const TARGETS: [&str; 8] = [
    "room_frames",
    "import_export",
    "import_n8n",
    "n8n_expression",
    "webhook_delivery",
    "expression",
    "cron",
    "graph_compile",
];

const DEFAULT_SECONDS: u64 = 600;

/// One target's figures, read from libFuzzer's final stats.
#[derive(Debug, Default)]
struct Outcome {
    target: String,
    seconds: u64,
    runs: Option<u64>,
    exec_per_sec: Option<u64>,
    crashed: Vec<PathBuf>,
}

pub fn run(args: &[String]) -> Result<()> {
    let mut seconds = DEFAULT_SECONDS;
    let mut sanitizer = "address".to_owned();
    let mut chosen = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = rest.next().context("--seconds needs a number")?;
                seconds = value.parse().with_context(|| format!("--seconds {value} is not a number"))?;
            }
            "--sanitizer" => sanitizer = rest.next().context("--sanitizer needs address or none")?.clone(),
            target if TARGETS.contains(&target) => chosen.push(target.to_owned()),
            other => bail!("unknown fuzz target or option {other:?}; targets: {}", TARGETS.join(", ")),
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    let layout = crate::paths::layout();
    let root = layout.root.clone();
    let cargo_fuzz = ensure_cargo_fuzz()?;
    let target_dir = layout.target.clone();
    let mut outcomes = Vec::new();
    for target in &chosen {
        outcomes.push(run_target(&RunSpec {
            root: &root,
            cargo_fuzz: &cargo_fuzz,
            target_dir: &target_dir,
            target,
            seconds,
            sanitizer: &sanitizer,
        })?);
    }
    eprintln!("\nfuzz summary ({seconds} s per target, sanitizer {sanitizer}):");
    for outcome in &outcomes {
        let show = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
        eprintln!(
            "  {:<18} {:>6} s  runs {:>12}  exec/s {:>8}  {}",
            outcome.target,
            outcome.seconds,
            show(outcome.runs),
            show(outcome.exec_per_sec),
            if outcome.crashed.is_empty() { "ok".to_owned() } else { format!("CRASH {:?}", outcome.crashed) }
        );
    }
    if outcomes.iter().any(|o| !o.crashed.is_empty()) {
        bail!("a fuzz target crashed: the reproducers are in fuzz/regressions/<target>/; fix the owning crate");
    }
    Ok(())
}

struct RunSpec<'a> {
    root: &'a Path,
    cargo_fuzz: &'a Path,
    target_dir: &'a Path,
    target: &'a str,
    seconds: u64,
    sanitizer: &'a str,
}

fn run_target(spec: &RunSpec<'_>) -> Result<Outcome> {
    let fuzz = spec.root.join("fuzz");
    let scratch = spec.target_dir.join("fuzz-corpus").join(spec.target);
    let artifacts = spec.target_dir.join("fuzz-artifacts").join(spec.target);
    let regressions = fuzz.join("regressions").join(spec.target);
    for dir in [&scratch, &artifacts, &regressions] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let before: Vec<PathBuf> = files(&artifacts);
    eprintln!("fuzzing {} for {} s", spec.target, spec.seconds);
    let mut command = Command::new(spec.cargo_fuzz);
    command
        .current_dir(spec.root)
        .env("RUSTC_BOOTSTRAP", "1")
        // a fallible reservation (`try_reserve`) that cannot be met fails as it would in
        // production instead of aborting; real memory use is still bounded by -rss_limit_mb
        .env("ASAN_OPTIONS", "allocator_may_return_null=1")
        .env("CARGO_TARGET_DIR", spec.target_dir)
        .args(["fuzz", "run", "--sanitizer", spec.sanitizer, "--target-dir"])
        .arg(spec.target_dir)
        .arg(spec.target)
        .arg(&scratch)
        .arg(fuzz.join("corpus").join(spec.target))
        .arg(&regressions)
        .arg("--")
        .arg(format!("-max_total_time={}", spec.seconds))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .args(["-print_final_stats=1", "-rss_limit_mb=2048", "-malloc_limit_mb=1048576", "-timeout=20"])
        .stderr(Stdio::piped());
    let mut child = command.spawn().context("could not start cargo fuzz")?;
    let mut outcome = Outcome { target: spec.target.to_owned(), seconds: spec.seconds, ..Outcome::default() };
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            if let Some(value) = stat(&line, "stat::number_of_executed_units:") {
                outcome.runs = Some(value);
            }
            if let Some(value) = stat(&line, "stat::average_exec_per_sec:") {
                outcome.exec_per_sec = Some(value);
            }
        }
    }
    let status = child.wait().context("waiting for cargo fuzz")?;
    for artifact in files(&artifacts).into_iter().filter(|a| !before.contains(a)) {
        let name = artifact.file_name().map(|n| n.to_owned()).unwrap_or_default();
        let kept = regressions.join(name);
        std::fs::copy(&artifact, &kept).with_context(|| format!("copying {}", artifact.display()))?;
        outcome.crashed.push(kept);
    }
    if !status.success() && outcome.crashed.is_empty() {
        bail!("cargo fuzz run {} failed ({status}) without a reproducer", spec.target);
    }
    Ok(outcome)
}

fn stat(line: &str, key: &str) -> Option<u64> {
    line.trim().strip_prefix(key).and_then(|v| v.trim().parse().ok())
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect()
}

/// The cargo-fuzz binary: on PATH, else in the tools dir (see `paths.rs`), installed there from
/// crates.io when missing.
fn ensure_cargo_fuzz() -> Result<PathBuf> {
    let on_path = Command::new("cargo-fuzz").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if on_path.is_ok_and(|s| s.success()) {
        return Ok(PathBuf::from("cargo-fuzz"));
    }
    let tools = crate::paths::layout().tools.clone();
    let binary = tools.join("bin").join("cargo-fuzz");
    if !binary.exists() {
        eprintln!("installing cargo-fuzz into {}", tools.display());
        crate::status(
            crate::cargo().args(["install", "cargo-fuzz", "--locked", "--root"]).arg(&tools),
            "cargo install cargo-fuzz",
        )?;
    }
    Ok(binary)
}
