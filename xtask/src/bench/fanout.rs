//! Doc update fan-out: starts a Yjs server, runs the node driver `xtask/bench-js/fanout.mjs`
//! against it (N rooms × M editors) and reads the JSON line it prints.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::Value;

use super::process::output;

/// The fan-out load shape.
#[derive(Debug, Clone, Copy)]
pub struct FanoutSpec {
    pub rooms: usize,
    pub editors: usize,
    /// Rounds in which every editor writes once.
    pub ticks: usize,
    pub interval_ms: u64,
}

/// Installs the driver's node packages from its lock file when missing.
pub fn ensure_driver(root: &Path) -> Result<()> {
    let dir = root.join("xtask/bench-js");
    if !dir.join("node_modules/yjs").exists() {
        eprintln!("bench: npm ci in xtask/bench-js");
        output(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir), "npm ci (bench-js)")?;
    }
    Ok(())
}

/// Where and how the driver connects.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// `y-websocket`, `hocuspocus` or `automateos` (decides the client and the doc layout).
    pub kind: &'a str,
    pub url: String,
    pub server_pid: u32,
    /// AutomateOS: the workflow ids to use as rooms, and the token.
    pub room_ids: Option<Vec<String>>,
    pub token: Option<String>,
}

/// Runs the driver; returns its JSON result.
pub fn run(root: &Path, target: &Target<'_>, spec: FanoutSpec) -> Result<Value> {
    let mut command = Command::new("node");
    command.current_dir(root.join("xtask/bench-js")).arg("fanout.mjs").args([
        "--target",
        target.kind,
        "--url",
        &target.url,
        "--rooms",
        &spec.rooms.to_string(),
        "--editors",
        &spec.editors.to_string(),
        "--ticks",
        &spec.ticks.to_string(),
        "--interval-ms",
        &spec.interval_ms.to_string(),
        "--pid",
        &target.server_pid.to_string(),
    ]);
    if let Some(ids) = &target.room_ids {
        command.args(["--room-ids", &ids.join(",")]);
    }
    if let Some(token) = &target.token {
        command.args(["--token", token]);
    }
    let stdout = output(&mut command, &format!("fan-out driver against {}", target.kind))?;
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).context("the driver printed no result")?;
    Ok(serde_json::from_str(line)?)
}
