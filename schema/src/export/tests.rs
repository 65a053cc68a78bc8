//! Tests of the export format: the exact canonical bytes, the round trip, the checksum and every
//! import error.

use std::collections::HashSet;

use serde_json::json;

use super::*;
use crate::graph::{Edge, Node, WorkflowGraph};
use crate::testing::branching;

fn small() -> ExportFile {
    let graph = WorkflowGraph::new()
        .with_node(
            Node::new("b", "http.request")
                .with_label("Fetch")
                .with_position(10.5, -3.0)
                .with_config("url", "https://example.com")
                .with_config("method", "POST")
                .with_config("body", json!({"z": [{"y": 1, "x": 2}], "a": null})),
        )
        .with_node(Node::new("a", "trigger.manual").with_label("Start"))
        .with_edge(Edge::new("e1", "a", "b"));
    ExportFile::new("Demo", graph).with_description("a tiny workflow").with_category("http").with_tags(["demo", "api"])
}

const SMALL_CANONICAL: &str = r#"{
  "format": "automateos.workflow/v1",
  "name": "Demo",
  "description": "a tiny workflow",
  "category": "http",
  "tags": [
    "demo",
    "api"
  ],
  "graph": {
    "nodes": [
      {
        "id": "a",
        "kind": "trigger.manual",
        "label": "Start",
        "position": {
          "x": 0.0,
          "y": 0.0
        },
        "config": {}
      },
      {
        "id": "b",
        "kind": "http.request",
        "label": "Fetch",
        "position": {
          "x": 10.5,
          "y": -3.0
        },
        "config": {
          "body": {
            "a": null,
            "z": [
              {
                "x": 2,
                "y": 1
              }
            ]
          },
          "method": "POST",
          "url": "https://example.com"
        }
      }
    ],
    "edges": [
      {
        "id": "e1",
        "from": "a",
        "from_port": "out",
        "to": "b",
        "to_port": "in"
      }
    ]
  }
}
"#;

fn import_str(text: &str) -> Result<ExportFile, ImportError> {
    import(text.as_bytes())
}

#[test]
fn the_canonical_form_is_exactly_this() {
    assert_eq!(small().to_canonical_string().unwrap(), SMALL_CANONICAL);
}

#[test]
fn export_import_export_is_byte_identical() {
    for file in [small(), ExportFile::new("Branching", branching())] {
        let first = file.to_canonical_string().unwrap();
        let back = import(first.as_bytes()).unwrap();
        assert_eq!(back.to_canonical_string().unwrap(), first);
    }
}

#[test]
fn the_order_of_the_input_does_not_change_the_bytes() {
    let mut shuffled = small();
    shuffled.graph.nodes.reverse();
    let reordered = import_str(
        r#"{"graph": {"edges": [{"to_port": "in", "to": "b", "from_port": "out", "from": "a",
            "id": "e1"}], "nodes": [{"config": {"url": "https://example.com", "method": "POST",
            "body": {"a": null, "z": [{"x": 2, "y": 1}]}}, "position": {"y": -3, "x": 10.5},
            "label": "Fetch", "kind": "http.request", "id": "b"}, {"id": "a", "kind":
            "trigger.manual", "label": "Start"}]}, "tags": ["demo", "api"], "category": "http",
            "description": "a tiny workflow", "name": "Demo", "format": "automateos.workflow/v1"}"#,
    )
    .unwrap();
    assert_eq!(shuffled.to_canonical_string().unwrap(), SMALL_CANONICAL);
    assert_eq!(reordered.to_canonical_string().unwrap(), SMALL_CANONICAL);
}

#[test]
fn absent_gallery_fields_are_left_out_and_any_category_roundtrips() {
    let mut file = small();
    file.category = None;
    file.tags.clear();
    let text = file.to_canonical_string().unwrap();
    assert!(!text.contains("\"category\"") && !text.contains("\"tags\""), "{text}");
    let back = import_str(&text).unwrap();
    assert_eq!((back.category, back.tags), (None, Vec::new()));

    // A category this version does not list is kept as it is, byte for byte.
    let newer = small().with_category("robotics");
    let text = newer.to_canonical_string().unwrap();
    assert!(text.contains("  \"category\": \"robotics\",\n  \"tags\""), "{text}");
    assert_eq!(import_str(&text).unwrap().to_canonical_string().unwrap(), text);
    assert_eq!(import_str(&text).unwrap().category.as_deref(), Some("robotics"));
}

#[test]
fn gallery_categories_are_distinct_lowercase_words() {
    let unique: HashSet<&str> = GALLERY_CATEGORIES.iter().copied().collect();
    assert_eq!(unique.len(), GALLERY_CATEGORIES.len());
    assert!(GALLERY_CATEGORIES.iter().all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase())));
    for named in ["messaging", "email", "spreadsheets", "ai", "http", "scheduling", "logic"] {
        assert!(GALLERY_CATEGORIES.contains(&named), "{named}");
    }
}

#[test]
fn required_secrets_finds_every_reference_sorted_and_once() {
    let graph = WorkflowGraph::new()
        .with_node(Node::new("start", "trigger.manual"))
        .with_node(
            Node::new("notify", "slack.post_message")
                .with_config("token", "{{ secrets.SLACK_TOKEN }}")
                .with_config("text", "{{ input.text }}"),
        )
        .with_node(
            Node::new("call", "http.request")
                .with_config("url", "https://api.example.com/{{secrets.TENANT}}/items")
                .with_config("headers", json!({"Authorization": "Bearer {{ secrets.API_KEY }}"}))
                .with_config("body", json!({"keys": ["{{ secrets.SLACK_TOKEN }}", {"deep": "{{ secrets.DEEP_1 }}"}]})),
        )
        .with_node(Node::new("noise", "data.transform").with_config(
            "fields",
            json!({
                "{{ secrets.KEY_NAME_IS_NOT_READ }}": "x",
                "a_field_named_secrets": "{{ steps.call.output.secrets.X }}",
                "another_variable": "{{ mysecrets.Y ~ secrets_old.Z }}",
                "unclosed": "{{ secrets.UNCLOSED }",
                "stray": "{{ {{ secrets.STRAY }} }}",
                "plain_text_is_not_evaluated": "secrets.PLAIN",
                "two_in_one": "Basic {{ (secrets.USER ~ ':' ~ secrets.PASSWORD) | b64encode }}",
                "statement": "{% if secrets.FLAG %}on{% endif %}",
                "number": 3,
            }),
        ));
    let file = ExportFile::new("Secrets", graph);
    assert_eq!(
        file.required_secrets(),
        ["API_KEY", "DEEP_1", "FLAG", "PASSWORD", "SLACK_TOKEN", "STRAY", "TENANT", "USER"]
    );
    assert!(ExportFile::new("none", branching()).required_secrets().is_empty());
}

#[test]
fn checksum_is_the_sha256_of_the_canonical_bytes() {
    let sum = small().checksum().unwrap();
    assert_eq!(sum.len(), 64);
    assert_eq!(sum, hex::encode(Sha256::digest(SMALL_CANONICAL.as_bytes())));
    let mut renamed = small();
    renamed.name = "Other".into();
    assert_ne!(renamed.checksum().unwrap(), sum);
}

#[test]
fn a_non_finite_position_cannot_be_exported() {
    let mut file = small();
    file.graph.nodes[0].position.x = f64::INFINITY;
    let error = file.to_canonical_string().unwrap_err();
    assert!(matches!(&error, ExportError::NonFinitePosition { node } if node.as_str() == "b"));
    assert_eq!(error.to_string(), "node b has a position that is not a finite number");
}

#[test]
fn too_large() {
    let bytes = vec![b' '; MAX_EXPORT_BYTES + 1];
    let error = import(&bytes).unwrap_err();
    assert_eq!(error, ImportError::TooLarge { size: MAX_EXPORT_BYTES + 1, limit: MAX_EXPORT_BYTES });
    assert_eq!(error.to_string(), "file too large: 4194305 bytes, at most 4194304 allowed");
    assert_eq!(error.code(), "file_too_large");
}

#[test]
fn corrupt_json_says_where() {
    let error = import_str("{\n  \"format\": \"automateos.workflow/v1\",\n  \"name\": oops\n}").unwrap_err();
    assert_eq!(error, ImportError::Malformed { line: 3, column: 11, reason: "expected value".into() });
    assert_eq!(error.to_string(), "malformed json at line 3 column 11: expected value");

    let truncated = &SMALL_CANONICAL[..SMALL_CANONICAL.len() / 2];
    assert_eq!(import_str(truncated).unwrap_err().code(), "malformed_json");
    assert_eq!(import(&[0xff, 0xfe]).unwrap_err().code(), "malformed_json");
    assert_eq!(import(b"").unwrap_err().code(), "malformed_json");
}

#[test]
fn not_an_object() {
    let error = import_str("[1, 2]").unwrap_err();
    assert_eq!(error, ImportError::NotAnObject { found: "an array" });
    assert_eq!(error.to_string(), "an export file is a json object, found an array");
}

#[test]
fn unknown_or_missing_format_version() {
    let error = import_str(r#"{"format": "automateos.workflow/v9", "name": "x", "graph": {}}"#).unwrap_err();
    assert_eq!(
        error,
        ImportError::UnsupportedFormat {
            found: "\"automateos.workflow/v9\"".into(),
            supported: vec![FORMAT_V1.into()]
        }
    );
    assert_eq!(error.to_string(), "unsupported format \"automateos.workflow/v9\"; supported: automateos.workflow/v1");
    let error = import_str(r#"{"format": 1}"#).unwrap_err();
    assert_eq!(error.to_string(), "unsupported format 1; supported: automateos.workflow/v1");

    // An n8n file has nodes and connections but no format.
    let error = import_str(r#"{"name": "n8n", "nodes": [], "connections": {}}"#).unwrap_err();
    assert_eq!(error.code(), "missing_format");
    assert_eq!(error.to_string(), "missing format field; supported: automateos.workflow/v1");
}

#[test]
fn oversize_graphs() {
    let node = json!({"id": "n", "kind": "logic.delay"});
    let nodes = vec![node; MAX_NODES + 1];
    let text = json!({"format": FORMAT_V1, "name": "big", "graph": {"nodes": nodes}}).to_string();
    let error = import_str(&text).unwrap_err();
    assert_eq!(error, ImportError::TooManyNodes { count: 1001, limit: 1000 });
    assert_eq!(error.to_string(), "graph too large: 1001 nodes, at most 1000 allowed");

    let edge = json!({"id": "e", "from": "a", "to": "b"});
    let edges = vec![edge; MAX_EDGES + 1];
    let text = json!({"format": FORMAT_V1, "name": "big", "graph": {"edges": edges}}).to_string();
    assert_eq!(import_str(&text).unwrap_err().to_string(), "graph too large: 4001 edges, at most 4000 allowed");
}

#[test]
fn wrong_shapes_say_what_and_where() {
    let error = import_str(
        "{\"format\": \"automateos.workflow/v1\", \"name\": \"x\",\n\"graph\": {\"nodes\": [{\"id\": \"a\"}]}}",
    )
    .unwrap_err();
    assert_eq!(error, ImportError::WrongShape { line: 2, column: 31, reason: "missing field `kind`".into() });
    assert_eq!(error.to_string(), "wrong shape at line 2 column 31: missing field `kind`");

    let cases = [
        r#"{"format": "automateos.workflow/v1", "graph": {}}"#,
        r#"{"format": "automateos.workflow/v1", "name": 3, "graph": {}}"#,
        r#"{"format": "automateos.workflow/v1", "name": "x", "graph": {"nodes": {}}}"#,
        r#"{"format": "automateos.workflow/v1", "name": "x", "graph": {}, "extra": 1}"#,
        r#"{"format": "automateos.workflow/v1", "name": "x", "graph": {"nodes": [{"id": "a",
            "kind": "k", "config": []}]}}"#,
        r#"{"format": "automateos.workflow/v1", "name": "x", "graph": {"nodes": [{"id": "a",
            "kind": "k", "position": {"x": "left", "y": 0}}]}}"#,
    ];
    for case in cases {
        let error = import_str(case).unwrap_err();
        assert_eq!(error.code(), "wrong_shape", "{case}: {error}");
    }
    let error = import_str(cases[3]).unwrap_err();
    assert!(error.to_string().contains("unknown field `extra`"), "{error}");
}

#[test]
fn duplicate_ids_cannot_be_imported() {
    let text = json!({"format": FORMAT_V1, "name": "d", "graph": {"nodes": [
        {"id": "a", "kind": "logic.delay"}, {"id": "a", "kind": "logic.merge"}]}});
    let error = import_str(&text.to_string()).unwrap_err();
    assert_eq!(error, ImportError::DuplicateNodeId { node: "a".into() });
    assert_eq!(error.to_string(), "duplicate node id a");

    let text = json!({"format": FORMAT_V1, "name": "d", "graph": {"edges": [
        {"id": "e", "from": "a", "to": "b"}, {"id": "e", "from": "b", "to": "c"}]}});
    let error = import_str(&text.to_string()).unwrap_err();
    assert_eq!(error, ImportError::DuplicateEdgeId { edge: "e".into() });
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "{{\"format\": \"{FORMAT_V1}\", \"name\": \"x\", \"graph\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_eq!(import_str(&deep).unwrap_err().code(), "malformed_json");
}

#[test]
fn an_empty_draft_is_importable() {
    let file = import_str(r#"{"format": "automateos.workflow/v1", "name": "empty", "graph": {}}"#).unwrap();
    assert_eq!(file, ExportFile::new("empty", WorkflowGraph::new()));
    assert_eq!(
        file.to_canonical_string().unwrap(),
        "{\n  \"format\": \"automateos.workflow/v1\",\n  \"name\": \"empty\",\n  \"graph\": {\n    \
         \"nodes\": [],\n    \"edges\": []\n  }\n}\n"
    );
}
