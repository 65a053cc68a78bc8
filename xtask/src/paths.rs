//! Where xtask's builds and tools live. Every path xtask hands to a child process comes from here
//! and is absolute, whatever `CARGO_TARGET_DIR` is (unset, relative or absolute) and whatever
//! folder `cargo xtask` was started from: cargo runs each test binary from its own crate's folder,
//! so a relative path would point somewhere else there.
//!
//! ```text
//! <target>/                 the native target dir: CARGO_TARGET_DIR (relative to the folder cargo
//!                           was started from, as cargo reads it), else <workspace>/target
//! <target>/wasm/            the wasm32 target dir (Debian's toolchain must not share artifacts)
//! <target>/wasm/dist/       the web bundles (what `--web-dir` and AOS_TEST_WEB_DIR take)
//! <target>/tools/           tools built once: wasm-bindgen-cli, binaryen
//! ```
//!
//! `run`, `test`, `web` and `screenshots` therefore share one wasm target dir and one
//! wasm-bindgen-cli per target dir.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// The folders of one workspace's builds, all absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The workspace root.
    pub root: PathBuf,
    /// The native target dir (exported to every cargo xtask starts).
    pub target: PathBuf,
    /// The wasm32 target dir.
    pub wasm_target: PathBuf,
    /// The web bundles.
    pub dist: PathBuf,
    /// Tools installed once.
    pub tools: PathBuf,
    /// Where `cargo xtask screenshots` saves the browser scenarios' screenshots.
    pub screenshots: PathBuf,
}

impl Layout {
    /// The layout for `root`, given the folder xtask was started from and `CARGO_TARGET_DIR`.
    pub fn resolve(root: &Path, cwd: &Path, target_dir: Option<&OsStr>) -> Layout {
        let root = normalize(&cwd.join(root));
        let target = match target_dir.filter(|dir| !dir.is_empty()) {
            Some(dir) => normalize(&cwd.join(dir)),
            None => root.join("target"),
        };
        let wasm_target = target.join("wasm");
        Layout {
            dist: wasm_target.join("dist"),
            wasm_target,
            tools: target.join("tools"),
            screenshots: root.join("docs/screenshots"),
            target,
            root,
        }
    }

    /// The paths handed to children, by the name they are handed under (`cargo xtask paths`).
    pub fn exported(&self) -> [(&'static str, &Path); 5] {
        [
            ("CARGO_TARGET_DIR", &self.target),
            ("AOS_TEST_WEB_DIR", &self.dist),
            ("AOS_WASM_TARGET_DIR", &self.wasm_target),
            ("AOS_TOOLS_DIR", &self.tools),
            ("AOS_SCREENSHOTS", &self.screenshots),
        ]
    }
}

/// This process's layout, resolved once from its environment.
pub fn layout() -> &'static Layout {
    static LAYOUT: OnceLock<Layout> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        Layout::resolve(&workspace_root(), &cwd, std::env::var_os("CARGO_TARGET_DIR").as_deref())
    })
}

/// The workspace's root folder (xtask's parent).
fn workspace_root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let xtask = manifest.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    xtask.parent().map_or_else(|| xtask.clone(), Path::to_owned)
}

/// `a/./b/../c` → `a/c`, without touching the disk (the folders may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "/src/automateos";

    fn resolve(cwd: &str, target: Option<&str>) -> Layout {
        Layout::resolve(Path::new(ROOT), Path::new(cwd), target.map(OsStr::new))
    }

    fn assert_absolute(layout: &Layout) {
        for (name, path) in layout.exported() {
            assert!(path.is_absolute(), "{name} = {} is not absolute", path.display());
        }
    }

    #[test]
    fn unset_target_dir_lands_in_the_workspace() {
        let layout = resolve("/src/automateos/gateway", None);
        assert_absolute(&layout);
        assert_eq!(layout.target, Path::new("/src/automateos/target"));
        assert_eq!(layout.dist, Path::new("/src/automateos/target/wasm/dist"));
        assert_eq!(layout.tools, Path::new("/src/automateos/target/tools"));
        // an empty value means unset, as cargo reads it
        assert_eq!(resolve("/elsewhere", Some("")), layout);
    }

    #[test]
    fn relative_target_dir_is_read_from_where_cargo_started() {
        let layout = resolve("/src/automateos", Some("build/./out/"));
        assert_absolute(&layout);
        assert_eq!(layout.target, Path::new("/src/automateos/build/out"));
        assert_eq!(layout.wasm_target, Path::new("/src/automateos/build/out/wasm"));
        let from_subdir = resolve("/src/automateos/gateway", Some("../cache"));
        assert_eq!(from_subdir.target, Path::new("/src/automateos/cache"));
        assert_eq!(from_subdir.dist, Path::new("/src/automateos/cache/wasm/dist"));
    }

    #[test]
    fn absolute_target_dir_is_kept() {
        let layout = resolve("/anywhere", Some("/var/cache/automateos/target/"));
        assert_absolute(&layout);
        assert_eq!(layout.target, Path::new("/var/cache/automateos/target"));
        assert_eq!(layout.tools, Path::new("/var/cache/automateos/target/tools"));
        assert_eq!(layout.screenshots, Path::new("/src/automateos/docs/screenshots"));
    }
}
