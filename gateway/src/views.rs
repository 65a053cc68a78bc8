//! Storage rows as the API shows them ([`aos_api`] types): the same fields, times as the RFC 3339
//! text the rows serialize to. Where storage computes a wire shape itself (usage figures, the
//! audit chain's verification) it returns the `aos-api` type directly and nothing here is needed.

use aos_persistence as store;

/// A price table.
pub fn price_plan(plan: store::PricePlan) -> aos_api::PricePlan {
    aos_api::PricePlan {
        id: plan.id,
        name: plan.name,
        run_micros: plan.run_micros,
        step_micros: plan.step_micros,
        compute_second_micros: plan.compute_second_micros,
        gigabyte_micros: plan.gigabyte_micros,
        active: plan.active,
        created_at: plan.created_at.to_string(),
    }
}

/// One row of a credit ledger.
pub fn ledger_entry(
    entry: store::LedgerEntry,
    workflow_names: &std::collections::HashMap<aos_schema::RunId, String>,
) -> aos_api::LedgerEntry {
    let run_id = ledger_run(&entry.reference);
    // a debit's memo once began with its run's id, which `run_id` now carries
    let memo = match run_id.and_then(|run| entry.memo.strip_prefix(&format!("run {run}: "))) {
        Some(rest) => rest.to_owned(),
        None => entry.memo,
    };
    aos_api::LedgerEntry {
        seq: entry.seq,
        org_id: entry.org_id,
        amount_micros: entry.amount_micros,
        kind: entry.kind,
        workflow_name: run_id.and_then(|run| workflow_names.get(&run).cloned()),
        run_id,
        reference: entry.reference,
        memo,
        created_at: entry.created_at.to_string(),
    }
}

/// The run a ledger entry's reference names (`run:<id>`, a run's debit), if any.
pub fn ledger_run(reference: &str) -> Option<aos_schema::RunId> {
    reference.strip_prefix("run:")?.parse().ok()
}

/// An org as its member sees it: the org and their role there.
pub fn org_view(org: store::Org, role: aos_schema::Role) -> aos_api::OrgView {
    aos_api::OrgView { id: org.id, name: org.name, slug: org.slug, created_at: org.created_at.to_string(), role }
}

/// A member of an org.
pub fn member(member: store::Member) -> aos_api::Member {
    aos_api::Member {
        user_id: member.user_id,
        email: member.email,
        name: member.name,
        role: member.role,
        created_at: member.created_at.to_string(),
    }
}

/// An invitation as listed (its token's hash stays in storage).
pub fn invitation(invitation: store::Invitation) -> aos_api::Invitation {
    aos_api::Invitation {
        id: invitation.id,
        org_id: invitation.org_id,
        email: invitation.email,
        role: invitation.role,
        invited_by: invitation.invited_by,
        created_at: invitation.created_at.to_string(),
        expires_at: invitation.expires_at.to_string(),
    }
}

/// An API key as listed (its hash stays in storage).
pub fn api_key(key: store::ApiKey) -> aos_api::ApiKey {
    aos_api::ApiKey {
        id: key.id,
        org_id: key.org_id,
        user_id: key.user_id,
        name: key.name,
        prefix: key.prefix,
        role: key.role,
        created_at: key.created_at.to_string(),
        last_used_at: key.last_used_at.map(|at| at.to_string()),
        revoked_at: key.revoked_at.map(|at| at.to_string()),
    }
}

/// A run.
pub fn run(run: store::Run) -> aos_api::Run {
    aos_api::Run {
        id: run.id,
        org_id: run.org_id,
        workflow_id: run.workflow_id,
        version: run.version,
        status: run.status,
        trigger_kind: run.trigger_kind,
        idempotency_key: run.idempotency_key,
        input: run.input,
        replay_of: run.replay_of,
        error: run.error,
        created_at: run.created_at.to_string(),
        started_at: run.started_at.map(|t| t.to_string()),
        finished_at: run.finished_at.map(|t| t.to_string()),
    }
}

/// A run's steps as their latest attempts, in the order the nodes first ran. An attempt's output
/// is stored as the engine's step output (`{output, ports?, items?, bytes}`); the step shows the
/// value later steps read, its `output`.
pub fn latest_attempts(steps: Vec<store::RunStep>) -> Vec<aos_api::StepView> {
    let mut views: Vec<aos_api::StepView> = Vec::new();
    for step in steps {
        let view = aos_api::StepView {
            node_id: step.node_id,
            status: step.status,
            attempts: step.attempt,
            input: step.input,
            output: step.output.map(|stored| match stored {
                serde_json::Value::Object(mut fields) if fields.contains_key("output") => {
                    fields.remove("output").unwrap_or(serde_json::Value::Null)
                }
                other => other,
            }),
            error: step.error,
            duration_ms: step.duration_ms,
            started_at: step.started_at.map(|t| t.to_string()),
            finished_at: step.finished_at.map(|t| t.to_string()),
        };
        match views.iter_mut().find(|v| v.node_id == view.node_id) {
            Some(existing) if existing.attempts <= view.attempts => *existing = view,
            Some(_) => {}
            None => views.push(view),
        }
    }
    views
}

/// One run-log row. The live event feed (`/ws/events`) sends the stored row as it is, without
/// this copy; the test below keeps the two the same text.
pub fn run_log(row: store::RunLog) -> aos_api::RunLog {
    aos_api::RunLog {
        seq: row.seq,
        run_id: row.run_id,
        org_id: row.org_id,
        workflow_id: row.workflow_id,
        node_id: row.node_id,
        level: row.level,
        event: row.event,
        message: row.message,
        data: row.data,
        created_at: row.created_at.to_string(),
    }
}

/// A dead-letter entry.
pub fn dlq_entry(entry: store::DlqEntry) -> aos_api::DlqEntry {
    aos_api::DlqEntry {
        id: entry.id,
        org_id: entry.org_id,
        run_id: entry.run_id,
        workflow_id: entry.workflow_id,
        node_id: entry.node_id,
        error: entry.error,
        input: entry.input,
        status: entry.status,
        created_at: entry.created_at.to_string(),
        resolved_at: entry.resolved_at.map(|t| t.to_string()),
    }
}

/// A workflow.
pub fn workflow(workflow: store::Workflow) -> aos_api::Workflow {
    aos_api::Workflow {
        id: workflow.id,
        org_id: workflow.org_id,
        name: workflow.name,
        description: workflow.description,
        enabled: workflow.enabled,
        current_version: workflow.current_version,
        created_by: workflow.created_by,
        created_at: workflow.created_at.to_string(),
        updated_at: workflow.updated_at.to_string(),
    }
}

/// A published version without its plan and export text.
pub fn version_summary(version: &store::WorkflowVersion) -> aos_api::VersionSummary {
    aos_api::VersionSummary {
        version: version.version,
        checksum: version.checksum.clone(),
        created_by: version.created_by.clone(),
        created_at: version.created_at.to_string(),
    }
}

/// A webhook source as listed, with its URL when the caller may see it.
pub fn source_view(source: store::WebhookSource, url: Option<String>, test_url: Option<String>) -> aos_api::SourceView {
    aos_api::SourceView {
        id: source.id,
        org_id: source.org_id,
        workflow_id: source.workflow_id,
        name: source.name,
        token_prefix: source.token_prefix,
        enabled: source.enabled,
        created_at: source.created_at.to_string(),
        rotated_at: source.rotated_at.map(|t| t.to_string()),
        settings: source.settings,
        url,
        test_url,
    }
}

/// One received delivery.
pub fn webhook_event(event: store::WebhookEvent) -> aos_api::WebhookEvent {
    aos_api::WebhookEvent {
        id: event.id,
        source_id: event.source_id,
        org_id: event.org_id,
        idempotency_key: event.idempotency_key,
        headers: event.headers,
        body: event.body,
        query: event.query,
        run_id: event.run_id,
        received_at: event.received_at.to_string(),
    }
}

/// A stored secret's bookkeeping (never its value).
pub fn secret_meta(meta: store::SecretMeta) -> aos_api::SecretMeta {
    aos_api::SecretMeta {
        id: meta.id,
        org_id: meta.org_id,
        name: meta.name,
        key_id: meta.key_id,
        created_at: meta.created_at.to_string(),
        updated_at: meta.updated_at.to_string(),
        last_used_at: meta.last_used_at.map(|t| t.to_string()),
    }
}

/// One audit row.
pub fn audit_record(record: store::AuditRecord) -> aos_api::AuditRecord {
    aos_api::AuditRecord {
        seq: record.seq,
        org_id: record.org_id,
        chain_seq: record.chain_seq,
        actor: record.actor,
        action: record.action,
        target_kind: record.target_kind,
        target_id: record.target_id,
        detail: record.detail,
        created_at: record.created_at.to_string(),
        prev_hash: record.prev_hash,
        hash: record.hash,
    }
}

/// A template.
pub fn template(template: store::Template) -> aos_api::Template {
    aos_api::Template {
        id: template.id,
        org_id: template.org_id,
        creator_id: template.creator_id,
        slug: template.slug,
        name: template.name,
        description: template.description,
        category: template.category,
        latest_version: template.latest_version,
        install_count: template.install_count,
        created_at: template.created_at.to_string(),
        updated_at: template.updated_at.to_string(),
    }
}

/// A published template version, with its graph read from its export for a preview.
pub fn template_version(version: store::TemplateVersion) -> aos_api::TemplateVersion {
    let graph = aos_schema::import(version.export.as_bytes()).ok().map(|file| file.graph);
    aos_api::TemplateVersion {
        version: version.version,
        checksum: version.checksum,
        required_secrets: version.required_secrets,
        graph,
    }
}

/// One install of a template.
pub fn installation(installation: store::Installation) -> aos_api::Installation {
    aos_api::Installation {
        id: installation.id,
        org_id: installation.org_id,
        template_id: installation.template_id,
        template_version: installation.template_version,
        workflow_id: installation.workflow_id,
        installed_by: installation.installed_by,
        created_at: installation.created_at.to_string(),
    }
}

/// A creator's profile.
pub fn creator_profile(profile: store::CreatorProfile) -> aos_api::CreatorProfile {
    aos_api::CreatorProfile {
        user_id: profile.user_id,
        handle: profile.handle,
        display_name: profile.display_name,
        bio: profile.bio,
        avatar_url: profile.avatar_url,
        created_at: profile.created_at.to_string(),
        updated_at: profile.updated_at.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use aos_schema::{OrgId, RunId, WorkflowId};
    use serde_json::json;

    use super::*;

    /// The event feed writes stored rows; the logs endpoint writes [`run_log`]: one text.
    #[test]
    fn a_stored_log_row_and_its_view_write_the_same_json() {
        for node_id in [None, Some("fetch".to_owned())] {
            let row = store::RunLog {
                seq: 42,
                run_id: RunId::new(),
                org_id: OrgId::new(),
                workflow_id: WorkflowId::new(),
                node_id,
                level: "info".into(),
                event: "step_succeeded".into(),
                message: "fetch succeeded".into(),
                data: json!({ "attempt": 1, "duration_ms": 3 }),
                created_at: store::Timestamp::now(),
            };
            let stored = serde_json::to_string(&row).unwrap();
            assert_eq!(serde_json::to_string(&run_log(row)).unwrap(), stored);
        }
    }
}
