//! Child processes of the benchmark (servers under test): started in their own process group,
//! logged to a file, and stopped with their whole group when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A running server process; dropping it stops its process group (SIGTERM, then SIGKILL).
#[derive(Debug)]
pub struct Server {
    /// What it is, for messages.
    pub name: String,
    child: Child,
    /// Where its stdout and stderr go, shown when it fails to start.
    pub log: PathBuf,
}

impl Server {
    /// Starts `command` in a new process group with output into `log`.
    pub fn start(name: &str, command: &mut Command, log: &Path) -> Result<Self> {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Self { name: name.to_owned(), child, log: log.to_owned() })
    }

    /// The process id (for reading its resident memory).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `url` answers 2xx, failing with the log's tail if the process exits or `limit`
    /// passes first.
    pub async fn wait_ready(&mut self, client: &reqwest::Client, url: &str, limit: Duration) -> Result<()> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited ({status}) before answering:\n{}", self.name, tail(&self.log));
            }
            if client.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bail!("{} did not answer {url} within {limit:?}:\n{}", self.name, tail(&self.log))
    }

    /// Waits until something accepts TCP connections on `port`.
    pub async fn wait_port(&mut self, port: u16, limit: Duration) -> Result<()> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited ({status}) before listening:\n{}", self.name, tail(&self.log));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("{} did not listen on {port} within {limit:?}:\n{}", self.name, tail(&self.log))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let signal = |name: &str| {
            let _ = Command::new("kill").args([name, "--", &group]).stderr(Stdio::null()).status();
        };
        signal("-TERM");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // the leader may be gone while others of its group (npx's children) still run
        signal("-KILL");
        let _ = self.child.wait();
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The last lines of a log file.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Resident memory of a process in KiB, from `/proc/<pid>/status`.
/// CPU time (user + system) `pid` has used so far, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // fields after the command name (which may hold spaces) start after the last ')'
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // the kernel's USER_HZ is 100 on Linux
    Some(std::time::Duration::from_millis(ticks * 10))
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `command` to completion, returning its stdout, failing with its stderr.
pub fn output(command: &mut Command, what: &str) -> Result<String> {
    let out = command.stdin(Stdio::null()).output().with_context(|| format!("could not start {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
