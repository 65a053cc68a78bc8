//! Checks of the deployment files in `ops/deploy`: the compose file is valid for `docker-compose`
//! (installed by `cargo xtask test`), and the Grafana dashboard queries only metrics that
//! `ops/src/metrics.rs` defines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

#[test]
fn the_compose_file_is_valid() {
    let root = workspace_root();
    let compose = root.join("ops/deploy/docker-compose.yml");
    let output = Command::new("docker-compose")
        .arg("-f")
        .arg(&compose)
        .args(["config", "-q"])
        // the one variable the file requires; any value passes validation
        .env("AOS_MASTER_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .output()
        .expect("docker-compose runs (cargo xtask test installs it where missing)");
    assert!(
        output.status.success(),
        "docker-compose config rejected {}:\n{}",
        compose.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_compose_file_requires_a_master_key() {
    let compose = workspace_root().join("ops/deploy/docker-compose.yml");
    let output = Command::new("docker-compose")
        .arg("-f")
        .arg(&compose)
        .args(["config", "-q"])
        .env_remove("AOS_MASTER_KEY")
        .output()
        .expect("docker-compose runs (cargo xtask test installs it where missing)");
    assert!(!output.status.success(), "nodes sharing one database must be given the same master key");
    assert!(String::from_utf8_lossy(&output.stderr).contains("AOS_MASTER_KEY"));
}

/// The metric names `ops/src/metrics.rs` declares as `pub const NAME: &str = "aos_…";`.
fn declared_metrics(source: &str) -> BTreeSet<String> {
    source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub const "))
        .filter_map(|rest| rest.split_once("= \"").map(|(_, value)| value))
        .filter_map(|value| value.strip_suffix("\";"))
        .filter(|name| name.starts_with("aos_"))
        .map(str::to_owned)
        .collect()
}

/// Every `aos_…` identifier in a PromQL expression, with the histogram series suffixes removed.
fn queried_metrics(expr: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(offset) = expr[i..].find("aos_") {
        let start = i + offset;
        let preceded_by_ident = start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = expr[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(expr.len(), |len| start + len);
        if !preceded_by_ident {
            let name = &expr[start..end];
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    name.strip_suffix(suffix).filter(|b| b.ends_with("_seconds") || b.ends_with("_jobs"))
                })
                .unwrap_or(name);
            found.push(base.to_owned());
        }
        i = end;
    }
    found
}

fn collect_exprs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                match child {
                    serde_json::Value::String(expr) if key == "expr" => out.push(expr.clone()),
                    _ => collect_exprs(child, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_exprs(item, out)),
        _ => {}
    }
}

#[test]
fn the_dashboard_queries_only_defined_metrics() {
    let root = workspace_root();
    let declared = declared_metrics(&std::fs::read_to_string(root.join("ops/src/metrics.rs")).expect("metrics.rs"));
    assert!(declared.len() >= 10, "read the metric catalog: {declared:?}");
    let text = std::fs::read_to_string(root.join("ops/deploy/grafana/dashboards/automateos.json")).expect("dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(!exprs.is_empty(), "the dashboard has queries");
    let mut queried = BTreeSet::new();
    for expr in &exprs {
        let names = queried_metrics(expr);
        assert!(!names.is_empty(), "query without an AutomateOS metric: {expr}");
        queried.extend(names);
    }
    let unknown: Vec<_> = queried.difference(&declared).collect();
    assert!(unknown.is_empty(), "the dashboard queries metrics ops/src/metrics.rs does not define: {unknown:?}");
    let unshown: Vec<_> = declared.difference(&queried).collect();
    assert!(unshown.is_empty(), "metrics without a dashboard panel: {unshown:?}");
}

#[test]
fn the_metric_name_scanner_strips_histogram_suffixes_only() {
    assert_eq!(
        queried_metrics(
            "histogram_quantile(0.9, sum by (le) (rate(aos_queue_lag_seconds_bucket[5m]))) + aos_runs_active"
        ),
        ["aos_queue_lag_seconds", "aos_runs_active"]
    );
    assert_eq!(queried_metrics("rate(aos_steps_total[1m])"), ["aos_steps_total"]);
    assert_eq!(queried_metrics("my_aos_thing"), Vec::<String>::new());
}
