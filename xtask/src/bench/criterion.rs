//! The workspace's own benches: runs them with `cargo bench` and reads criterion's estimates from
//! `<target>/criterion/<id>/new/estimates.json` (and `benchmark.json` for the full id); the memory
//! bench is a plain binary whose output lines are kept as printed.

use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde_json::Value;

/// One criterion benchmark's mean and its 95% confidence interval.
#[derive(Debug, Clone)]
pub struct Estimate {
    pub id: String,
    pub mean_ns: f64,
    pub low_ns: f64,
    pub high_ns: f64,
}

/// What the workspace benches reported.
#[derive(Debug, Default)]
pub struct Figures {
    pub estimates: Vec<Estimate>,
    /// Lines printed by `actor_memory`.
    pub actor_memory: Vec<String>,
    /// Benches that failed, with the reason.
    pub failures: Vec<String>,
}

/// The `cargo bench` invocations, with what they measure.
const CRITERION_BENCHES: &[(&str, &str)] = &[("aos-actors", "run_throughput"), ("aos-engine-link", "step_overhead")];

pub fn run(root: &Path, database_url: &str, redis_url: &str) -> Result<Figures> {
    let started = SystemTime::now();
    let mut figures = Figures::default();
    for (package, bench) in CRITERION_BENCHES {
        eprintln!("bench: cargo bench -p {package} --bench {bench}");
        let status = crate::cargo()
            .args(["bench", "-p", package, "--bench", bench])
            .env("AOS_TEST_DATABASE_URL", database_url)
            .env("AOS_TEST_REDIS_URL", redis_url)
            .current_dir(root)
            .status()
            .context("cargo bench")?;
        if !status.success() {
            figures.failures.push(format!("`cargo bench -p {package} --bench {bench}` failed ({status})"));
        }
    }
    eprintln!("bench: cargo bench -p aos-actors --bench actor_memory");
    let memory = crate::cargo()
        .args(["bench", "-p", "aos-actors", "--bench", "actor_memory"])
        .current_dir(root)
        .output()
        .context("cargo bench actor_memory")?;
    if memory.status.success() {
        figures.actor_memory =
            String::from_utf8_lossy(&memory.stdout).lines().filter(|l| l.contains(':')).map(str::to_owned).collect();
    } else {
        figures.failures.push(format!("`cargo bench -p aos-actors --bench actor_memory` failed ({})", memory.status));
    }
    let target = crate::paths::layout().target.clone();
    figures.estimates = read_estimates(&target.join("criterion"), Some(started))?;
    Ok(figures)
}

/// Every `new/estimates.json` under `dir` written after `since` (all of them without `since`).
pub fn read_estimates(dir: &Path, since: Option<SystemTime>) -> Result<Vec<Estimate>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "new") {
                    if let Some(estimate) = read_one(&path, since)? {
                        found.push(estimate);
                    }
                } else if path.file_name().is_none_or(|n| n != "report") {
                    stack.push(path);
                }
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

fn read_one(new_dir: &Path, since: Option<SystemTime>) -> Result<Option<Estimate>> {
    let estimates_path = new_dir.join("estimates.json");
    let Ok(meta) = std::fs::metadata(&estimates_path) else { return Ok(None) };
    if since.is_some_and(|since| meta.modified().is_ok_and(|m| m < since)) {
        return Ok(None);
    }
    let estimates: Value = serde_json::from_str(&std::fs::read_to_string(&estimates_path)?)?;
    let id = std::fs::read_to_string(new_dir.join("benchmark.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|b| b.get("full_id").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| new_dir.parent().map(|p| p.display().to_string()).unwrap_or_default());
    let mean = &estimates["mean"];
    let number = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    Ok(Some(Estimate {
        id,
        mean_ns: number(&mean["point_estimate"]),
        low_ns: number(&mean["confidence_interval"]["lower_bound"]),
        high_ns: number(&mean["confidence_interval"]["upper_bound"]),
    }))
}

/// A duration in nanoseconds, in the unit that reads best.
pub fn human_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}
