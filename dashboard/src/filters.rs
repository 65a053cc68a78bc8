//! Small checks and searches of the list pages: the audit log's free-text search, the secret-name
//! rule (the same one the server applies) and the DLQ counts.

use std::collections::BTreeMap;

use aos_schema::{DlqStatus, WorkflowId};

use aos_api::{AuditRecord, DlqEntry};

/// Whether an audit row matches a search: every word of `query` (case-insensitive) appears in the
/// action, actor, target or detail.
pub fn audit_matches(record: &AuditRecord, query: &str) -> bool {
    let haystack =
        format!("{} {} {}:{} {}", record.action, record.actor, record.target_kind, record.target_id, record.detail)
            .to_lowercase();
    query.split_whitespace().all(|word| haystack.contains(&word.to_lowercase()))
}

/// Why a secret name is refused, if it is: names are what `{{ secrets.NAME }}` can read.
pub fn secret_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("enter a name")
    } else if name.len() > 128 {
        Some("names are at most 128 characters")
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Some("use letters, digits and underscores only")
    } else {
        None
    }
}

/// Dead-letter counts: by status, and pending entries per workflow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DlqCounts {
    pub pending: usize,
    pub replayed: usize,
    pub discarded: usize,
    pub pending_by_workflow: BTreeMap<WorkflowId, usize>,
}

pub fn dlq_counts(entries: &[DlqEntry]) -> DlqCounts {
    let mut counts = DlqCounts::default();
    for entry in entries {
        match entry.status {
            DlqStatus::Pending => {
                counts.pending += 1;
                *counts.pending_by_workflow.entry(entry.workflow_id).or_default() += 1;
            }
            DlqStatus::Replayed => counts.replayed += 1,
            DlqStatus::Discarded => counts.discarded += 1,
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use aos_schema::{DlqEntryId, OrgId, RunId};

    use super::*;

    fn record(action: &str, detail: &str) -> AuditRecord {
        AuditRecord {
            seq: 1,
            org_id: OrgId::new(),
            chain_seq: 1,
            actor: "user:42".into(),
            action: action.into(),
            target_kind: "secret".into(),
            target_id: "SLACK_TOKEN".into(),
            detail: detail.into(),
            created_at: "2026-11-25T10:00:00Z".into(),
            prev_hash: String::new(),
            hash: "ab".into(),
        }
    }

    #[test]
    fn audit_search_needs_every_word() {
        let row = record("secret.update", r#"{"reason":"Rotation"}"#);
        assert!(audit_matches(&row, ""));
        assert!(audit_matches(&row, "SECRET slack_token"));
        assert!(audit_matches(&row, "rotation user:42"));
        assert!(!audit_matches(&row, "secret workflow.publish"));
    }

    #[test]
    fn secret_names() {
        assert_eq!(secret_name_problem("SLACK_TOKEN_2"), None);
        assert!(secret_name_problem("").is_some());
        assert!(secret_name_problem("with space").is_some());
        assert!(secret_name_problem("dash-ed").is_some());
        assert!(secret_name_problem(&"A".repeat(129)).is_some());
    }

    #[test]
    fn dead_letter_counts() {
        let workflow = WorkflowId::new();
        let entry = |status| DlqEntry {
            id: DlqEntryId::new(),
            org_id: OrgId::new(),
            run_id: RunId::new(),
            workflow_id: workflow,
            node_id: "fetch".into(),
            error: "boom".into(),
            input: serde_json::Value::Null,
            status,
            created_at: String::new(),
            resolved_at: None,
        };
        let counts = dlq_counts(&[entry(DlqStatus::Pending), entry(DlqStatus::Pending), entry(DlqStatus::Discarded)]);
        assert_eq!((counts.pending, counts.replayed, counts.discarded), (2, 0, 1));
        assert_eq!(counts.pending_by_workflow[&workflow], 2);
    }
}
