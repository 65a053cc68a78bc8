//! The canonical export format, `automateos.workflow/v1`: one JSON file per workflow, used by
//! `GET /api/workflows/{id}/export`, the import endpoint, the CLI and the template gallery.
//!
//! The canonical byte form is stable so files diff cleanly and checksums mean something: fields in
//! declaration order, nodes and edges sorted by id, every object key inside configs sorted at every
//! depth, two-space indentation and a trailing newline. Export → import → export gives the same
//! bytes. The top-level fields are written in this order, absent optional ones left out:
//! `format`, `name`, `description`, `category`, `tags`, `graph`.
//!
//! The starter templates in the repository's `templates/` folder are files of this format, and
//! `description`, `category` and `tags` are what the template gallery shows of them.

use std::collections::{BTreeSet, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::error::Category;
use serde_json::ser::PrettyFormatter;
use sha2::{Digest, Sha256};

use crate::graph::{MAX_EDGES, MAX_NODES, WorkflowGraph};
use crate::ids::{EdgeId, NodeId};

/// The format string of version 1 files.
pub const FORMAT_V1: &str = "automateos.workflow/v1";

/// Every format [`import`] reads.
pub const SUPPORTED_FORMATS: &[&str] = &[FORMAT_V1];

/// The largest file [`import`] reads: 4 MiB.
pub const MAX_EXPORT_BYTES: usize = 4 * 1024 * 1024;

/// The shelves of the template gallery, in the order it lists them: what a workflow mainly does.
/// [`ExportFile::category`] should hold one of these; [`import`] keeps any other text unchanged
/// (so a file from a newer version with a newer category still reads) and the gallery files it
/// nowhere.
///
/// - `messaging`: posts to chat (Slack).
/// - `email`: sends email.
/// - `spreadsheets`: reads or writes Google Sheets.
/// - `ai`: asks a language model (OpenAI).
/// - `http`: calls or serves HTTP APIs (requests, relays, webhook responses).
/// - `scheduling`: runs on a schedule (checks, digests, reminders).
/// - `logic`: is mostly routing (conditions, switches, fan-out and fan-in, delays).
pub const GALLERY_CATEGORIES: &[&str] = &["messaging", "email", "spreadsheets", "ai", "http", "scheduling", "logic"];

/// An export file. Unknown fields are refused when reading (at every level), so a typo is an error
/// rather than silently dropped data; a later format version may add fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    /// Always [`FORMAT_V1`] for files this version writes.
    pub format: String,
    /// The workflow's name.
    pub name: String,
    /// A sentence or two for the gallery; left out of the file when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The gallery shelf, one of [`GALLERY_CATEGORIES`]; left out of the file when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Gallery tags such as `slack` or `schedule`, in the author's order; left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub graph: WorkflowGraph,
}

/// Why an export file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// JSON has no NaN or infinity, so such a position could not be read back.
    #[error("node {node} has a position that is not a finite number")]
    NonFinitePosition { node: NodeId },

    #[error("could not encode the export file: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Why bytes are not an export file this version can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("file too large: {size} bytes, at most {limit} allowed")]
    TooLarge { size: usize, limit: usize },

    #[error("malformed json at line {line} column {column}: {reason}")]
    Malformed { line: usize, column: usize, reason: String },

    #[error("an export file is a json object, found {found}")]
    NotAnObject { found: &'static str },

    #[error("missing format field; supported: {}", .supported.join(", "))]
    MissingFormat { supported: Vec<String> },

    #[error("unsupported format {found}; supported: {}", .supported.join(", "))]
    UnsupportedFormat {
        /// What the file's `format` held, as JSON text (`"automateos.workflow/v9"`, `2`).
        found: String,
        supported: Vec<String>,
    },

    #[error("graph too large: {count} nodes, at most {limit} allowed")]
    TooManyNodes { count: usize, limit: usize },

    #[error("graph too large: {count} edges, at most {limit} allowed")]
    TooManyEdges { count: usize, limit: usize },

    #[error("wrong shape at line {line} column {column}: {reason}")]
    WrongShape { line: usize, column: usize, reason: String },

    #[error("duplicate node id {node}")]
    DuplicateNodeId { node: NodeId },

    #[error("duplicate edge id {edge}")]
    DuplicateEdgeId { edge: EdgeId },
}

impl ImportError {
    /// The stable snake_case code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::TooLarge { .. } => "file_too_large",
            ImportError::Malformed { .. } => "malformed_json",
            ImportError::NotAnObject { .. } => "not_an_object",
            ImportError::MissingFormat { .. } => "missing_format",
            ImportError::UnsupportedFormat { .. } => "unsupported_format",
            ImportError::TooManyNodes { .. } => "too_many_nodes",
            ImportError::TooManyEdges { .. } => "too_many_edges",
            ImportError::WrongShape { .. } => "wrong_shape",
            ImportError::DuplicateNodeId { .. } => "duplicate_node_id",
            ImportError::DuplicateEdgeId { .. } => "duplicate_edge_id",
        }
    }
}

impl ExportFile {
    /// A version 1 file of this workflow.
    pub fn new(name: impl Into<String>, graph: WorkflowGraph) -> Self {
        Self {
            format: FORMAT_V1.to_owned(),
            name: name.into(),
            description: None,
            category: None,
            tags: Vec::new(),
            graph,
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the gallery category, normally one of [`GALLERY_CATEGORIES`].
    pub fn with_category(mut self, category: impl Into<String>) -> Self {
        self.category = Some(category.into());
        self
    }

    /// Sets the gallery tags, in the order given.
    pub fn with_tags<T: Into<String>>(mut self, tags: impl IntoIterator<Item = T>) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// The names of the stored secrets the workflow reads, sorted and each once: every
    /// `{{ secrets.NAME }}` in any node's config, in nested values, inside longer text
    /// (`"Bearer {{ secrets.API_KEY }}"`) and inside longer expressions too. It reads only the
    /// file, so a credential field left empty for its catalog default (`{{ secrets.SLACK_TOKEN }}`)
    /// is not counted; the starter templates write every credential out for that reason.
    pub fn required_secrets(&self) -> Vec<String> {
        let mut names = BTreeSet::new();
        for node in &self.graph.nodes {
            for value in node.config.values() {
                collect_secret_names(value, &mut names);
            }
        }
        names.into_iter().map(str::to_owned).collect()
    }

    /// The canonical bytes, as text: see the module documentation.
    pub fn to_canonical_string(&self) -> Result<String, ExportError> {
        if let Some(node) =
            self.graph.nodes.iter().find(|node| !(node.position.x.is_finite() && node.position.y.is_finite()))
        {
            return Err(ExportError::NonFinitePosition { node: node.id.clone() });
        }
        let sorted = ExportFile { graph: self.graph.clone().sorted(), ..self.clone() };
        // Struct fields serialize in declaration order and configs with sorted keys (see
        // `Node::config`), so the bytes do not depend on serde_json's map ordering.
        let mut bytes = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, PrettyFormatter::with_indent(b"  "));
        sorted.serialize(&mut serializer)?;
        bytes.push(b'\n');
        // serde_json only ever writes UTF-8.
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The sha256 of the canonical bytes, lowercase hex: the checksum of a published version.
    pub fn checksum(&self) -> Result<String, ExportError> {
        let text = self.to_canonical_string()?;
        Ok(hex::encode(Sha256::digest(text.as_bytes())))
    }
}

/// Reads an export file, checking in order: size, JSON syntax, the format version, the graph
/// limits, the shape of every field, and that node and edge ids are unique (the live doc keys
/// nodes and edges by id). It does not validate the workflow: a draft may be incomplete.
pub fn import(bytes: &[u8]) -> Result<ExportFile, ImportError> {
    if bytes.len() > MAX_EXPORT_BYTES {
        return Err(ImportError::TooLarge { size: bytes.len(), limit: MAX_EXPORT_BYTES });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|error| malformed(&error))?;
    let Value::Object(top) = &value else {
        return Err(ImportError::NotAnObject { found: json_type(&value) });
    };
    let supported = || SUPPORTED_FORMATS.iter().map(|f| (*f).to_owned()).collect();
    match top.get("format") {
        None => {
            return Err(ImportError::MissingFormat { supported: supported() });
        }
        Some(Value::String(format)) if SUPPORTED_FORMATS.contains(&format.as_str()) => {}
        Some(other) => {
            return Err(ImportError::UnsupportedFormat { found: other.to_string(), supported: supported() });
        }
    }
    let graph = top.get("graph");
    let count = |list: &str| graph.and_then(|g| g.get(list)).and_then(Value::as_array).map(Vec::len);
    if let Some(count) = count("nodes").filter(|&n| n > MAX_NODES) {
        return Err(ImportError::TooManyNodes { count, limit: MAX_NODES });
    }
    if let Some(count) = count("edges").filter(|&n| n > MAX_EDGES) {
        return Err(ImportError::TooManyEdges { count, limit: MAX_EDGES });
    }
    // Parsed a second time, typed, so a shape error can say where it is.
    let file: ExportFile = serde_json::from_slice(bytes).map_err(|error| {
        let (line, column, reason) = located(&error);
        match error.classify() {
            Category::Data => ImportError::WrongShape { line, column, reason },
            Category::Io | Category::Syntax | Category::Eof => ImportError::Malformed { line, column, reason },
        }
    })?;
    check_unique_ids(&file.graph)?;
    Ok(file)
}

/// The names of every secret the expressions of a node config read (`{{ secrets.NAME }}`, also
/// inside longer expressions), sorted: what must be set for the node to run.
pub fn referenced_secrets(config: &serde_json::Map<String, Value>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    config.values().for_each(|value| collect_secret_names(value, &mut names));
    names.into_iter().map(str::to_owned).collect()
}

/// Adds the name of every secret the value's expressions read, at any depth (object keys are
/// names, not expressions, and are not read).
fn collect_secret_names<'a>(value: &'a Value, names: &mut BTreeSet<&'a str>) {
    match value {
        Value::String(text) => names.extend(secret_names_in(text)),
        Value::Array(items) => items.iter().for_each(|item| collect_secret_names(item, names)),
        Value::Object(map) => map.values().for_each(|item| collect_secret_names(item, names)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The NAME of every `secrets.NAME` inside the `{{ … }}` expressions and `{% … %}` statements of
/// the text: the plain `{{ secrets.NAME }}` as well as a secret inside a longer expression
/// (`{{ secrets.USER ~ ':' ~ secrets.PASSWORD }}`), which is what the engine resolves. A
/// `secrets.` that follows a name or a dot (`steps.x.output.secrets.y`) is a field, not a secret.
fn secret_names_in(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    for block in template_blocks(text) {
        let mut rest = block;
        while let Some(at) = rest.find(SECRETS_PREFIX) {
            let follows_name = rest[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || "_.".contains(c));
            let after = &rest[at + SECRETS_PREFIX.len()..];
            let length = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            if !follows_name && length > 0 {
                names.push(&after[..length]);
            }
            rest = &after[length..];
        }
    }
    names
}

const SECRETS_PREFIX: &str = "secrets.";

/// The inside of every `{{ … }}` and `{% … %}` of a template string, each closed by the first
/// matching closer after it; an unclosed block is not a block.
fn template_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let closer = match rest.as_bytes().get(open + 1) {
            Some(b'{') => "}}",
            Some(b'%') => "%}",
            _ => {
                rest = &rest[open + 1..];
                continue;
            }
        };
        let inner = &rest[open + 2..];
        let Some(close) = inner.find(closer) else { break };
        blocks.push(&inner[..close]);
        rest = &inner[close + 2..];
    }
    blocks
}

fn check_unique_ids(graph: &WorkflowGraph) -> Result<(), ImportError> {
    let mut nodes = HashSet::new();
    if let Some(node) = graph.nodes.iter().find(|n| !nodes.insert(n.id.as_str())) {
        return Err(ImportError::DuplicateNodeId { node: node.id.clone() });
    }
    let mut edges = HashSet::new();
    if let Some(edge) = graph.edges.iter().find(|e| !edges.insert(e.id.as_str())) {
        return Err(ImportError::DuplicateEdgeId { edge: edge.id.clone() });
    }
    Ok(())
}

fn malformed(error: &serde_json::Error) -> ImportError {
    let (line, column, reason) = located(error);
    ImportError::Malformed { line, column, reason }
}

/// The position and the message without serde_json's own " at line L column C" suffix.
fn located(error: &serde_json::Error) -> (usize, usize, String) {
    let text = error.to_string();
    let reason = match text.rsplit_once(" at line ") {
        Some((reason, _)) => reason.to_owned(),
        None => text,
    };
    (error.line(), error.column(), reason)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
