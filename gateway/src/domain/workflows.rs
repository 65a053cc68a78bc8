//! Workflow files and drafts: reading an upload (our export format, or an n8n workflow converted),
//! the checks a draft must pass, and the canonical export of a workflow.

use aos_api::{ErrorCode, N8nReport};
use aos_persistence::Workflow;
use aos_schema::{Catalog, ExportFile, ImportError, N8nError, ValidationError, WorkflowGraph};
use serde_json::Value;

use super::DomainError;

/// An upload read as an export file, with what an n8n conversion had to say.
#[derive(Debug)]
pub struct ParsedImport {
    pub file: ExportFile,
    /// For an n8n file: the nodes that did not map, the warnings and the secrets to set.
    pub n8n: Option<N8nReport>,
}

/// Reads an upload: an AutomateOS export file, or an n8n workflow file (a top-level `nodes` array
/// and `connections` object, no `format`) converted by `aos_schema::n8n`.
pub fn parse_import(body: &[u8]) -> Result<ParsedImport, DomainError> {
    if body.len() > aos_schema::MAX_EXPORT_BYTES {
        return Err(DomainError::new(
            ErrorCode::PayloadTooLarge,
            format!("the file is larger than {} bytes", aos_schema::MAX_EXPORT_BYTES),
        ));
    }
    let value = serde_json::from_slice::<Value>(body).ok();
    if value.as_ref().is_some_and(aos_schema::looks_like_n8n) {
        let converted = aos_schema::from_n8n(body).map_err(|err| DomainError::new(n8n_code(&err), err.to_string()))?;
        let report = N8nReport {
            unmapped: converted.unmapped,
            warnings: converted.warnings,
            secrets: converted.secrets,
            nodes: converted.nodes,
            mapped: converted.mapped,
            translated: converted.translated,
        };
        return Ok(ParsedImport { file: converted.file, n8n: Some(report) });
    }
    let file = aos_schema::import(body).map_err(|err| DomainError::new(import_code(&err), err.to_string()))?;
    Ok(ParsedImport { file, n8n: None })
}

fn import_code(err: &ImportError) -> ErrorCode {
    match err {
        ImportError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
        ImportError::Malformed { .. } => ErrorCode::MalformedJson,
        ImportError::NotAnObject { .. } => ErrorCode::NotAnObject,
        ImportError::MissingFormat { .. } => ErrorCode::MissingFormat,
        ImportError::UnsupportedFormat { .. } => ErrorCode::UnsupportedFormat,
        ImportError::TooManyNodes { .. } => ErrorCode::TooManyNodes,
        ImportError::TooManyEdges { .. } => ErrorCode::TooManyEdges,
        ImportError::WrongShape { .. } => ErrorCode::WrongShape,
        ImportError::DuplicateNodeId { .. } => ErrorCode::DuplicateNodeId,
        ImportError::DuplicateEdgeId { .. } => ErrorCode::DuplicateEdgeId,
    }
}

fn n8n_code(err: &N8nError) -> ErrorCode {
    match err {
        N8nError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
        N8nError::Malformed { .. } => ErrorCode::MalformedJson,
        N8nError::NotN8n { .. } => ErrorCode::NotAnN8nWorkflow,
        N8nError::WrongShape { .. } => ErrorCode::WrongShape,
        N8nError::DuplicateNodeName { .. } => ErrorCode::DuplicateNodeName,
        N8nError::UnknownNode { .. } => ErrorCode::UnknownNode,
        N8nError::TooManyNodes { .. } => ErrorCode::TooManyNodes,
        N8nError::TooManyEdges { .. } => ErrorCode::TooManyEdges,
    }
}

/// The validation problems a draft may not have: the live doc keys nodes and edges by id, and the
/// size limits bound every later step. Everything else (an unknown kind, a dangling edge, a missing
/// field) is allowed in a draft and refused at publish time.
fn structural_code(problem: &ValidationError) -> Option<ErrorCode> {
    match problem.code() {
        "too_many_nodes" => Some(ErrorCode::TooManyNodes),
        "too_many_edges" => Some(ErrorCode::TooManyEdges),
        "invalid_id" => Some(ErrorCode::InvalidId),
        "duplicate_node_id" => Some(ErrorCode::DuplicateNodeId),
        "duplicate_edge_id" => Some(ErrorCode::DuplicateEdgeId),
        _ => None,
    }
}

/// Refuses a draft with structural problems (every one listed in `details`, the first one's code).
pub fn checked_graph(graph: WorkflowGraph) -> Result<WorkflowGraph, DomainError> {
    let Err(errors) = aos_schema::validate(&graph, &Catalog::builtin()) else { return Ok(graph) };
    let structural: Vec<(ErrorCode, &ValidationError)> =
        errors.iter().filter_map(|e| structural_code(e).map(|code| (code, e))).collect();
    let Some((code, _)) = structural.first() else { return Ok(graph) };
    Err(DomainError {
        code: *code,
        message: structural.iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join("; "),
        details: structural.iter().map(|(_, e)| serde_json::to_value(e).unwrap_or(Value::Null)).collect(),
    })
}

/// `wanted`, or the first of `wanted (2)`, `wanted (3)`, … that no workflow in `taken` has, so
/// importing the same file twice gives two workflows a person can tell apart.
pub fn unused_name<'a>(wanted: &str, taken: impl IntoIterator<Item = &'a str>) -> String {
    let taken: std::collections::HashSet<&str> = taken.into_iter().collect();
    if !taken.contains(wanted) {
        return wanted.to_owned();
    }
    (2..).map(|n| format!("{wanted} ({n})")).find(|name| !taken.contains(name.as_str())).unwrap_or_default()
}

/// The export file of a workflow with this graph.
pub fn export_file(workflow: &Workflow, graph: WorkflowGraph) -> ExportFile {
    let file = ExportFile::new(workflow.name.clone(), graph);
    if workflow.description.is_empty() { file } else { file.with_description(workflow.description.clone()) }
}

#[cfg(test)]
mod tests {
    use aos_schema::{Node, WorkflowGraph, kinds};

    use super::*;

    #[test]
    fn a_taken_name_gets_the_next_free_number() {
        assert_eq!(unused_name("Orders", ["Billing"]), "Orders");
        assert_eq!(unused_name("Orders", ["Orders", "Billing"]), "Orders (2)");
        assert_eq!(unused_name("Orders", ["Orders", "Orders (2)", "Orders (4)"]), "Orders (3)");
    }

    #[test]
    fn uploads_that_do_not_read_say_why() {
        let code = |body: &[u8]| parse_import(body).unwrap_err().code;
        assert_eq!(code(b"{not json"), ErrorCode::MalformedJson);
        assert_eq!(code(b"[1, 2]"), ErrorCode::NotAnObject);
        assert_eq!(code(br#"{"name": "x"}"#), ErrorCode::MissingFormat);
        assert_eq!(
            code(br#"{"format": "other/v9", "name": "x", "graph": {"nodes": [], "edges": []}}"#),
            ErrorCode::UnsupportedFormat
        );
        assert_eq!(code(&vec![b' '; aos_schema::MAX_EXPORT_BYTES + 1]), ErrorCode::PayloadTooLarge);
        for code in [ErrorCode::MalformedJson, ErrorCode::NotAnObject, ErrorCode::PayloadTooLarge] {
            assert!(code.status() == 400 || code.status() == 413 || code.status() == 422);
        }
    }

    #[test]
    fn a_draft_may_be_unfinished_but_not_broken() {
        // an unknown kind is fine in a draft (refused at publish), two nodes with one id are not
        let unfinished = WorkflowGraph::new().with_node(Node::new("a", "no.such.kind"));
        assert!(checked_graph(unfinished).is_ok());
        let broken = WorkflowGraph::new()
            .with_node(Node::new("a", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("a", kinds::DATA_TRANSFORM));
        let refused = checked_graph(broken).unwrap_err();
        assert_eq!((refused.code, refused.details.len()), (ErrorCode::DuplicateNodeId, 1), "{refused}");
    }
}
