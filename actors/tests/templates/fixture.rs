//! The fixture files, `templates/fixtures/<slug>.json`: what a template's runs need that its own
//! samples do not give (the format is described in `templates/README.md`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aos_engine_link::testing::Received;
use serde::Deserialize;
use serde_json::{Map, Value};

/// One template's fixture; a template without a file gets the default (one run of its samples).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The tabs of the user's spreadsheet: tab name → rows (the first row is the header row).
    #[serde(default)]
    pub sheets: BTreeMap<String, Value>,
    /// Canned answers of the "API world" that `http.request` nodes are re-homed onto.
    #[serde(default)]
    pub http: Vec<Route>,
    /// The runs to make, in order, on the one installation; none means one run of the samples.
    #[serde(default)]
    pub runs: Vec<RunFixture>,
}

/// One canned endpoint: requests with this method, path and (at least) these query parameters get
/// `replies` in turn, the last one repeating.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub method: String,
    /// The path as sent, without the query.
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    pub replies: Vec<Canned>,
}

/// One answer: a status (200 unless given) and a JSON body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Canned {
    #[serde(default = "ok_status")]
    pub status: u16,
    pub body: Value,
}

fn ok_status() -> u16 {
    200
}

/// One run of the installed workflow.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunFixture {
    /// What the run shows, for failure messages.
    #[serde(default)]
    pub about: String,
    /// Top-level fields replacing those of the default trigger payload (`body`, `query`, ...).
    #[serde(default)]
    pub trigger: Map<String, Value>,
    /// What the model answers, one per `openai.chat` call of this run, in order.
    #[serde(default)]
    pub openai: Vec<String>,
    /// Exactly the steps this run skips (untaken branches); none by default.
    #[serde(default)]
    pub skipped: BTreeSet<String>,
}

impl Fixture {
    /// The fixture of `slug`, or the default when it has no file.
    pub fn load(slug: &str) -> Self {
        let path = templates_dir().join("fixtures").join(format!("{slug}.json"));
        let mut fixture: Fixture = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Fixture::default(),
            Err(err) => panic!("{}: {err}", path.display()),
        };
        assert!(fixture.http.iter().all(|route| !route.replies.is_empty()), "{slug}: a route without replies");
        if fixture.runs.is_empty() {
            fixture.runs.push(RunFixture::default());
        }
        fixture
    }
}

impl Route {
    pub fn matches(&self, request: &Received) -> bool {
        request.method.as_str() == self.method
            && request.raw_path == self.path
            && self.query.iter().all(|(k, v)| request.query.get(k) == Some(v))
    }
}

/// The repository's `templates/` folder.
pub fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("templates")
}

/// The stems of the `*.json` files directly in `dir`.
pub fn slugs_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}
