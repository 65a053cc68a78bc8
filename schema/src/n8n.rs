//! Imports an n8n workflow file (the JSON n8n's "Download" and its API export) as an AutomateOS
//! export file, and reports what did not carry over.
//!
//! **What maps.** Each n8n node becomes one node of the kind that does the same job (webhook,
//! schedule and manual triggers, HTTP Request, IF, Switch, Edit Fields (Set), Merge, Slack,
//! Google Sheets, OpenAI, Send Email, Wait, Split Out / Loop Over Items, Respond to Webhook; the
//! parameters read are in `n8n/nodes.rs`, `n8n/logic.rs` and `n8n/integrations.rs`). Its id is
//! its name made into an id (`Fetch orders` → `fetch_orders`, deduplicated), its label is the
//! name, its position is n8n's. n8n's connections become edges: the outer index of a `main` list
//! is the source's output (IF: 0 is `true`, 1 is `false`; Switch: output i is case i), the
//! target's input index is dropped because every kind here has one input (`logic.merge` takes
//! any number of edges). n8n expressions are translated where the translation means the same
//! thing (see `n8n/expr.rs`); the others are kept verbatim and reported as warnings. Credentials
//! become `{{ secrets.NAME }}` references, listed in [`N8nImport::secrets`] with the n8n
//! credential they stand for.
//!
//! **What does not.** A node with no equivalent here (Code, Function, community nodes, most
//! integrations, a disabled node...) is never dropped silently; it is listed in
//! [`N8nImport::unmapped`] and becomes a *placeholder*: a `logic.delay` of 0 seconds with the
//! node's name, which passes its input on unchanged, so the workflow keeps its shape and the user
//! sees where to rebuild the missing step. A node that could not be a step anyway is left out
//! with its edges, also listed: canvas notes, sub-nodes that only feed an AI node, nodes no path
//! from the trigger reaches (say, connected only from an error output, which has no
//! equivalent), and every trigger after the first (a workflow has one trigger here; the steps
//! behind a left-out trigger are connected to the kept one). A service trigger
//! (`githubTrigger`...) becomes a plain webhook trigger and a schedule without a cron equivalent
//! becomes a manual trigger, both listed. Connections that would close a loop (the back edge of
//! n8n's Loop Over Items) are left out and reported, because a workflow here is a DAG. A
//! workflow without any trigger gets a manual one in front of its first steps.
//!
//! The result always passes [`crate::import`] and roundtrips through the canonical export. It
//! validates unless a value needs the user: a condition with no translation, or a required value
//! the n8n node did not hold (a message text, a prompt), is left empty and reported, so the
//! workflow cannot be published on a guess.
//!
//! n8n runs each node once per item of its input, AutomateOS runs a step once per run; a list
//! travels as one value, and `logic.for_each` is how a workflow here runs steps per item.

mod dates;
mod expr;
mod importer;
mod integrations;
mod logic;
mod nodes;
mod read;
mod schedule;
mod scope;
mod secrets;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::export::{ExportFile, MAX_EXPORT_BYTES};
use crate::ids::NodeId;
use crate::validate::MAX_ID_LEN;

pub(crate) use expr::convert_for_fuzzing;
use importer::{Class, Importer};
use read::{N8nNode, Workflow};

/// An n8n workflow turned into an export file, with everything the user should know about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct N8nImport {
    /// The workflow, ready for [`crate::import`] (its canonical string) or the import endpoint.
    pub file: ExportFile,
    /// The n8n nodes that have no equivalent here, in n8n's node order.
    pub unmapped: Vec<Unmapped>,
    /// What was carried over only in part: expressions kept verbatim, options dropped, values to
    /// fill in. In n8n's node order.
    pub warnings: Vec<ImportWarning>,
    /// The secrets the imported workflow reads, sorted by name: set each before running it.
    pub secrets: Vec<RequiredSecret>,
    /// Nodes in the n8n file.
    pub nodes: usize,
    /// Of those, the ones imported as the step they were (not left out, not a placeholder).
    pub mapped: usize,
    /// Expressions translated into ours (those kept as written are warnings).
    pub translated: usize,
}

/// An n8n node that was not imported as the step it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmapped {
    /// The node's name in n8n (also the label of its placeholder).
    pub node: String,
    /// Its n8n type, such as `n8n-nodes-base.code`.
    pub n8n_type: String,
    /// Why, in a sentence the studio shows.
    pub reason: String,
    /// The node standing in for it in the imported graph (a pass-through placeholder or a
    /// simpler trigger), or none when it was left out with its edges.
    pub placeholder: Option<NodeId>,
}

/// Something of a node that was carried over only in part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportWarning {
    /// The n8n node's name; none for the workflow as a whole.
    pub node: Option<String>,
    /// The imported node's config field concerned (`headers.Authorization`, `condition`), if one.
    pub field: Option<String>,
    pub message: String,
}

/// A secret the imported workflow references, and the n8n credential it replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredSecret {
    /// The name to store it under (`POST /api/orgs/{org_id}/secrets`).
    pub name: String,
    /// The n8n credential type (`slackApi`), when the node named one.
    pub n8n_credential_type: Option<String>,
    /// The n8n credential's name (`Slack account`), when the node named one.
    pub n8n_credential_name: Option<String>,
    /// The imported nodes that read it, sorted.
    pub nodes: Vec<NodeId>,
}

/// Why bytes are not an n8n workflow this importer can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum N8nError {
    #[error("file too large: {size} bytes, at most {limit} allowed")]
    TooLarge { size: usize, limit: usize },

    #[error("malformed json at line {line} column {column}: {reason}")]
    Malformed { line: usize, column: usize, reason: String },

    #[error("not an n8n workflow: {reason}")]
    NotN8n { reason: String },

    #[error("wrong shape at {path}: {reason}")]
    WrongShape { path: String, reason: String },

    #[error("two nodes are named {name:?}")]
    DuplicateNodeName { name: String },

    #[error("the connections of {from:?} name an unknown node {node:?}")]
    UnknownNode { node: String, from: String },

    #[error("workflow too large: {count} nodes, at most {limit} allowed")]
    TooManyNodes { count: usize, limit: usize },

    #[error("workflow too large: {count} connections, at most {limit} allowed")]
    TooManyEdges { count: usize, limit: usize },
}

impl N8nError {
    /// The stable snake_case code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            N8nError::TooLarge { .. } => "file_too_large",
            N8nError::Malformed { .. } => "malformed_json",
            N8nError::NotN8n { .. } => "not_an_n8n_workflow",
            N8nError::WrongShape { .. } => "wrong_shape",
            N8nError::DuplicateNodeName { .. } => "duplicate_node_name",
            N8nError::UnknownNode { .. } => "unknown_node",
            N8nError::TooManyNodes { .. } => "too_many_nodes",
            N8nError::TooManyEdges { .. } => "too_many_edges",
        }
    }
}

/// Whether the value is shaped like an n8n workflow: an object without an AutomateOS `format`,
/// with a `nodes` array of objects that have a string `name` and `type` (at least one from an
/// n8n package, `n8n-nodes-base.*`, `@n8n/…` or a community `n8n-nodes-*`) and a `connections`
/// object. Cheap; for telling the two import formats apart.
pub fn looks_like_n8n(value: &Value) -> bool {
    let Some(top) = value.as_object() else { return false };
    if top.contains_key("format") || !top.get("connections").is_some_and(Value::is_object) {
        return false;
    }
    let Some(nodes) = top.get("nodes").and_then(Value::as_array) else { return false };
    let well_formed = nodes
        .iter()
        .all(|node| node.get("name").is_some_and(Value::is_string) && node.get("type").is_some_and(Value::is_string));
    well_formed && nodes.iter().filter_map(|node| node.get("type").and_then(Value::as_str)).any(is_n8n_type)
}

pub(super) fn is_n8n_type(kind: &str) -> bool {
    kind.starts_with("n8n-nodes-base.") || kind.starts_with("@n8n/") || kind.contains("n8n-nodes-")
}

/// Reads an n8n workflow file and maps it; see the module documentation.
pub fn from_n8n(bytes: &[u8]) -> Result<N8nImport, N8nError> {
    if bytes.len() > MAX_EXPORT_BYTES {
        return Err(N8nError::TooLarge { size: bytes.len(), limit: MAX_EXPORT_BYTES });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        let text = error.to_string();
        let reason = text.rsplit_once(" at line ").map_or(text.clone(), |(reason, _)| reason.to_owned());
        N8nError::Malformed { line: error.line(), column: error.column(), reason }
    })?;
    from_n8n_value(&value)
}

/// [`from_n8n`] of an already parsed value.
pub fn from_n8n_value(value: &Value) -> Result<N8nImport, N8nError> {
    let workflow = Workflow::read(value)?;
    Ok(Importer::new(&workflow).run())
}

/// The longest id made from a name, leaving room for the edge ids built from two of them.
const MAX_SLUG_LEN: usize = 48;

/// An id made from a name: lowercase ASCII letters and digits joined by `_`, starting with a
/// letter (so `steps.<id>` reads in an expression), at most [`MAX_SLUG_LEN`] characters.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let mut out = out.trim_end_matches('_').to_owned();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, if out.is_empty() { "node" } else { "n_" });
    }
    out.truncate(MAX_SLUG_LEN);
    out.trim_end_matches('_').to_owned()
}

/// `base`, or `base_2`, `base_3`… when taken; recorded as taken. Always a valid id.
pub(super) fn unique_id(base: &str, taken: &mut HashSet<String>) -> String {
    let base = &base[..base.len().min(MAX_ID_LEN - 8)];
    let mut id = base.to_owned();
    let mut n = 1;
    while taken.contains(&id) {
        n += 1;
        id = format!("{base}_{n}");
    }
    taken.insert(id.clone());
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_valid_ids() {
        assert_eq!(slug("Fetch Orders"), "fetch_orders");
        assert_eq!(slug("  IF: total > 100?"), "if_total_100");
        assert_eq!(slug("1st step"), "n_1st_step");
        assert_eq!(slug("Überprüfung"), "berpr_fung");
        assert_eq!(slug("🚀"), "node");
        assert_eq!(slug(&"a".repeat(300)).len(), MAX_SLUG_LEN);
        let mut taken = HashSet::new();
        assert_eq!(unique_id("a", &mut taken), "a");
        assert_eq!(unique_id("a", &mut taken), "a_2");
        assert_eq!(unique_id("a", &mut taken), "a_3");
    }

    #[test]
    fn detection() {
        let n8n = serde_json::json!({"nodes": [{"name": "A", "type": "n8n-nodes-base.noOp"}], "connections": {}});
        assert!(looks_like_n8n(&n8n));
        assert!(!looks_like_n8n(&serde_json::json!({"format": "automateos.workflow/v1", "graph": {}})));
        assert!(!looks_like_n8n(&serde_json::json!({"nodes": [{"name": "A", "type": "x"}], "connections": {}})));
        assert!(!looks_like_n8n(&serde_json::json!([1])));
    }
}
