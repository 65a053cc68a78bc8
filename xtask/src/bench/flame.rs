//! A CPU profile of a server under load, drawn as a flame graph: `perf record -g` on the server's
//! process for the measured window (after the warm-up), folded and drawn by inferno (installed
//! once into the tools dir from crates.io), and summed by crate for the report: the share of
//! samples whose innermost frame belongs to each.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// What the report shows of a profile.
#[derive(Debug, Clone)]
pub struct Drawn {
    /// The SVG's file name, beside the report.
    pub svg_name: String,
    /// (crate or library of the innermost frame, share of CPU time), largest first.
    pub top: Vec<(String, f64)>,
    /// (the innermost AutomateOS function on the stack, share of CPU time spent in it and in
    /// everything it called), largest first: which of our code paths the time was spent for.
    pub callers: Vec<(String, f64)>,
}

/// A `perf record` under way on another thread.
#[derive(Debug)]
pub struct Recording {
    data: PathBuf,
    thread: std::thread::JoinHandle<Result<()>>,
}

impl Recording {
    /// Records `pid` for `duration`, starting after `delay`.
    pub fn start(pid: u32, delay: Duration, duration: Duration) -> Result<Self> {
        let data = std::env::temp_dir().join(format!("aos-perf-{pid}.data"));
        let out = data.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(delay);
            let status = Command::new("perf")
                .args(["record", "-F", "499", "-g", "-p", &pid.to_string(), "-o"])
                .arg(&out)
                .args(["--", "sleep", &duration.as_secs_f64().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .context("perf does not run (Debian's linux-perf)")?;
            if !status.success() {
                bail!("perf record failed ({status})");
            }
            Ok(())
        });
        Ok(Self { data, thread })
    }

    /// Waits for the recording, draws `docs/flamegraph-embedded.svg` under `root` and sums it.
    pub fn finish(self, root: &Path) -> Result<Drawn> {
        self.thread.join().map_err(|_| anyhow::anyhow!("the perf thread panicked"))??;
        let tools = ensure_inferno()?;
        let script = Command::new("perf").arg("script").arg("-i").arg(&self.data).output().context("perf script")?;
        if !script.status.success() {
            bail!("perf script failed: {}", String::from_utf8_lossy(&script.stderr));
        }
        let folded = pipe(&tools.join("inferno-collapse-perf"), &[], &script.stdout)?;
        let svg_name = "flamegraph-embedded.svg".to_owned();
        let svg = pipe(
            &tools.join("inferno-flamegraph"),
            &["--title", "automateos serve (embedded) at its webhook peak"],
            &folded,
        )?;
        std::fs::write(root.join("docs").join(&svg_name), svg)?;
        // the folded stacks stay beside the tools, for a closer look than the report gives
        std::fs::write(crate::paths::layout().tools.join("last-profile.folded"), &folded)?;
        let _ = std::fs::remove_file(&self.data);
        let folded = String::from_utf8_lossy(&folded);
        Ok(Drawn { svg_name, top: by_crate(&folded), callers: by_caller(&folded) })
    }
}

/// Runs `program` with `input` on stdin; returns its stdout.
fn pipe(program: &Path, args: &[&str], input: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    if !out.status.success() {
        bail!("{} failed: {}", program.display(), String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.stdout)
}

/// inferno's binaries in the tools dir, installed from crates.io when missing.
fn ensure_inferno() -> Result<PathBuf> {
    let root = crate::paths::layout().tools.join("inferno");
    let bin = root.join("bin");
    if !bin.join("inferno-flamegraph").exists() {
        crate::progress(&format!("installing inferno (flame graphs) into {} (once)", root.display()));
        crate::status(
            crate::cargo().args(["install", "inferno", "--locked", "--root"]).arg(&root),
            "cargo install inferno",
        )?;
    }
    Ok(bin)
}

/// Folded stacks (`frame;frame;leaf weight`) summed by the crate (or library) of each leaf frame.
pub fn by_crate(folded: &str) -> Vec<(String, f64)> {
    shares(folded, |stack| {
        let leaf = stack.rsplit(';').next().unwrap_or(stack);
        owner(leaf)
    })
}

/// Folded stacks summed by the innermost frame of an AutomateOS crate on each (its function,
/// without closures), or by the leaf's owner when there is none.
pub fn by_caller(folded: &str) -> Vec<(String, f64)> {
    shares(folded, |stack| {
        let ours = stack.rsplit(';').find(|frame| frame.trim_start_matches('<').starts_with("aos_"));
        match ours {
            Some(frame) => frame.split("::{{closure}}").next().unwrap_or(frame).to_owned(),
            None => format!("(outside our code) {}", owner(stack.rsplit(';').next().unwrap_or(stack))),
        }
    })
}

/// Each key's share of the total weight, the 15 largest first.
fn shares(folded: &str, key: impl Fn(&str) -> String) -> Vec<(String, f64)> {
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0u64;
    for line in folded.lines() {
        let Some((stack, weight)) = line.rsplit_once(' ') else { continue };
        let Ok(weight) = weight.parse::<u64>() else { continue };
        *sums.entry(key(stack)).or_default() += weight;
        total += weight;
    }
    let mut top: Vec<(String, f64)> =
        sums.into_iter().map(|(name, n)| (name, n as f64 / total.max(1) as f64)).collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    top.truncate(15);
    top
}

/// Who a frame belongs to: the first path segment of a Rust symbol (`sqlx_core::…` → `sqlx_core`),
/// the kernel, or the C function itself (SQLite's, libc's).
fn owner(frame: &str) -> String {
    let frame = frame.trim_start_matches('<').trim_start_matches('&');
    if frame.ends_with("_[k]") || frame.starts_with("[k]") {
        return "kernel".to_owned();
    }
    match frame.split_once("::") {
        Some((first, _)) => first.trim_start_matches("impl ").to_owned(),
        None if frame.starts_with("sqlite3") => "sqlite (C)".to_owned(),
        None => frame.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_summed_by_the_crate_of_their_leaf() {
        let folded = "main;tokio::run;sqlx_sqlite::exec 30\nmain;aos_actors::run::advance 10\nmain;sqlite3VdbeExec 50\nmain;do_syscall_64_[k] 10\n";
        let top = by_crate(folded);
        assert_eq!(top[0], ("sqlite (C)".to_owned(), 0.5));
        assert!(top.contains(&("sqlx_sqlite".to_owned(), 0.3)));
        assert!(top.contains(&("kernel".to_owned(), 0.1)));
        let callers = by_caller(
            "main;aos_actors::run::advance::{{closure}};malloc 30\nmain;aos_actors::run::advance 10\nmain;epoll 60\n",
        );
        assert_eq!(callers[0], ("(outside our code) epoll".to_owned(), 0.6));
        assert_eq!(callers[1], ("aos_actors::run::advance".to_owned(), 0.4));
    }
}
