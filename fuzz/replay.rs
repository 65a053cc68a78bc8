//! Replays the committed fuzz inputs (`fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`)
//! through a target's entry function; shared by the owning crates' `fuzz_regressions` tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository's `fuzz/` directory, from a crate's manifest directory.
fn fuzz_dir(manifest_dir: &str) -> PathBuf {
    Path::new(manifest_dir).join("..").join("fuzz")
}

/// Runs every corpus and regression file of `target` through `entry`; returns how many ran.
/// A target with no committed files is an error: the seeds are part of the repository.
pub fn replay(manifest_dir: &str, target: &str, entry: fn(&[u8])) -> usize {
    let fuzz = fuzz_dir(manifest_dir);
    let mut ran = 0;
    for dir in [fuzz.join("corpus").join(target), fuzz.join("regressions").join(target)] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<PathBuf> =
            entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            eprintln!("replaying {}", path.display());
            entry(&bytes);
            ran += 1;
        }
    }
    assert!(ran > 0, "no committed inputs for fuzz target {target} under {}", fuzz.display());
    ran
}
