//! Import over the open workflow with a visual diff: the file (AutomateOS export or n8n workflow,
//! pasted or chosen) is read with the same `aos_schema` code the server uses, the canvas shows what
//! would be added, removed and changed (the panel lists it by step label: `DiffSummary`), the
//! server's dry run adds its report (secrets to set, what n8n nodes did not map), and only "Apply"
//! writes the graph into the live doc.

use aos_schema::WorkflowGraph;
use aos_ui_kit::canvas::DiffView;
use dioxus::prelude::*;
use serde_json::Value;

use super::app::Nav;
use super::diff_summary::DiffSummary;
use crate::api;

/// A file read for import: its graph and what the conversion had to say.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFile {
    pub graph: WorkflowGraph,
    pub notes: Vec<String>,
    /// For an n8n file: what the importer carried over, in numbers.
    pub summary: Option<N8nSummary>,
}

/// An n8n import in numbers: nodes mapped, expressions translated and kept as written, nodes
/// standing in or left out, and the secrets to create.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct N8nSummary {
    pub nodes: usize,
    pub mapped: usize,
    pub translated: usize,
    pub kept: usize,
    pub stand_ins: usize,
    pub left_out: usize,
    pub secrets: Vec<String>,
}

impl N8nSummary {
    pub fn new(
        (nodes, mapped, translated): (usize, usize, usize),
        unmapped: &[aos_schema::Unmapped],
        warnings: &[aos_schema::ImportWarning],
        secrets: &[aos_schema::RequiredSecret],
    ) -> Self {
        let stand_ins = unmapped.iter().filter(|u| u.placeholder.is_some()).count();
        Self {
            nodes,
            mapped,
            translated,
            kept: warnings.iter().filter(|w| w.message.starts_with("expression kept as written")).count(),
            stand_ins,
            left_out: unmapped.len() - stand_ins,
            secrets: secrets.iter().map(|s| s.name.clone()).collect(),
        }
    }

    /// The numbers in a sentence.
    pub fn sentence(&self) -> String {
        let mut parts = vec![
            format!("{} of {} nodes mapped", self.mapped, self.nodes),
            format!("{} {} translated", self.translated, plural(self.translated, "expression", "expressions")),
        ];
        if self.kept > 0 {
            parts.push(format!(
                "{} kept as written (marked on {} until rewritten)",
                self.kept,
                plural(self.kept, "its node", "their nodes")
            ));
        }
        if self.stand_ins > 0 {
            parts.push(format!("{} {}", self.stand_ins, plural(self.stand_ins, "stand-in", "stand-ins")));
        }
        if self.left_out > 0 {
            parts.push(format!("{} left out", self.left_out));
        }
        format!("From n8n: {}.", parts.join(", "))
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Reads an AutomateOS export file or an n8n workflow file.
pub fn parse_file(text: &str) -> Result<ParsedFile, String> {
    let bytes = text.trim().as_bytes();
    let looks_n8n = serde_json::from_slice::<Value>(bytes).ok().is_some_and(|v| aos_schema::looks_like_n8n(&v));
    if looks_n8n {
        let converted = aos_schema::from_n8n(bytes).map_err(|e| e.to_string())?;
        let notes = n8n_notes(&converted.unmapped, &converted.warnings);
        let summary = N8nSummary::new(
            (converted.nodes, converted.mapped, converted.translated),
            &converted.unmapped,
            &converted.warnings,
            &converted.secrets,
        );
        return Ok(ParsedFile { graph: converted.file.graph, notes, summary: Some(summary) });
    }
    let file = aos_schema::import(bytes).map_err(|e| e.to_string())?;
    Ok(ParsedFile { graph: file.graph, notes: Vec::new(), summary: None })
}

/// What an n8n import could not carry over, in sentences: each node left out or replaced, and
/// each setting carried over only in part.
pub fn n8n_notes(unmapped: &[aos_schema::Unmapped], warnings: &[aos_schema::ImportWarning]) -> Vec<String> {
    let left = unmapped.iter().map(|u| {
        let said = u.reason.contains("stands in");
        let stand_in = if u.placeholder.is_some() && !said { "; a pass-through step stands in for it" } else { "" };
        format!("“{}” ({}) was not carried over: {}{stand_in}", u.node, u.n8n_type, u.reason)
    });
    let partial = warnings.iter().map(|w| match (&w.node, &w.field) {
        (Some(node), Some(field)) => format!("“{node}”, {field}: {}", w.message),
        (Some(node), None) => format!("“{node}”: {}", w.message),
        (None, _) => w.message.clone(),
    });
    left.chain(partial).collect()
}

/// An import being previewed.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportPreview {
    pub view: DiffView,
    /// The graph "Apply" writes.
    pub graph: WorkflowGraph,
    pub notes: Vec<String>,
    /// Secrets the imported workflow reads (from the server's dry run).
    pub required_secrets: Vec<String>,
    /// For an n8n file: what the importer carried over, in numbers.
    pub summary: Option<N8nSummary>,
}

/// What an applied n8n import said, kept beside the canvas until dismissed.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedReport {
    pub summary: N8nSummary,
    pub notes: Vec<String>,
}

impl ImportPreview {
    /// The report to keep once this preview is applied (n8n files only).
    pub fn applied_report(&self) -> Option<AppliedReport> {
        self.summary.clone().map(|summary| AppliedReport { summary, notes: self.notes.clone() })
    }
}

/// An n8n import's report: the numbers, the secrets to create, and each note.
#[component]
pub fn N8nReportView(summary: N8nSummary, notes: Vec<String>) -> Element {
    rsx! {
        p { class: "import-summary", "data-testid": "import-n8n-summary", "{summary.sentence()}" }
        if !summary.secrets.is_empty() {
            p { class: "muted", "data-testid": "import-n8n-secrets",
                "Secrets to create (Dashboard → Secrets): {summary.secrets.join(\", \")}" }
        }
        for note in notes.iter() {
            p { class: "muted", "data-testid": "import-note", "{note}" }
        }
    }
}

/// The import panel.
#[component]
pub fn ImportPanel(
    org: String,
    workflow_id: String,
    current: WorkflowGraph,
    preview: Signal<Option<ImportPreview>>,
    on_apply: EventHandler<WorkflowGraph>,
    on_close: EventHandler<()>,
) -> Element {
    let nav = use_context::<Nav>();
    let mut preview = preview;
    let mut text = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let run_preview = move |_| {
        let org = org.clone();
        let id = workflow_id.clone();
        let current = current.clone();
        let source = text();
        match parse_file(&source) {
            Err(message) => error.set(Some(message)),
            Ok(parsed) => {
                error.set(None);
                let view = DiffView::new(&current, &parsed.graph);
                preview.set(Some(ImportPreview {
                    view,
                    graph: parsed.graph,
                    notes: parsed.notes,
                    required_secrets: vec![],
                    summary: parsed.summary,
                }));
                spawn(async move {
                    match api::import_dry_run(&org, Some(&id), &source).await {
                        Ok(report) => {
                            if let Some(p) = preview.write().as_mut() {
                                p.required_secrets = report.required_secrets;
                                // the server's word on what it will carry over
                                if let Some(n8n) = report.n8n {
                                    p.notes = n8n_notes(&n8n.unmapped, &n8n.warnings);
                                    p.summary = Some(N8nSummary::new(
                                        (n8n.nodes, n8n.mapped, n8n.translated),
                                        &n8n.unmapped,
                                        &n8n.warnings,
                                        &n8n.secrets,
                                    ));
                                }
                            }
                        }
                        Err(err) => {
                            nav.check(&err);
                            error.set(Some(err.to_string()));
                        }
                    }
                });
            }
        }
    };
    let shown = preview();
    rsx! {
        div { class: "import-panel", "data-testid": "import-panel",
            h2 { "Import" }
            if let Some(p) = shown {
                {
                    let graph = p.graph.clone();
                    rsx! {
                        DiffSummary { view: p.view.clone(), testid: "import-summary" }
                        if let Some(summary) = p.summary.clone() {
                            N8nReportView { summary, notes: p.notes.clone() }
                        } else {
                            if !p.required_secrets.is_empty() {
                                p { class: "muted", "data-testid": "import-secrets", "Needs secrets: {p.required_secrets.join(\", \")}" }
                            }
                            for note in p.notes.iter() {
                                p { class: "muted", "data-testid": "import-note", "{note}" }
                            }
                        }
                        div { class: "import-panel__actions",
                            button { class: "aos-button aos-button--primary", "data-testid": "import-apply",
                                onclick: move |_| {
                                    on_apply.call(graph.clone());
                                    preview.set(None);
                                    on_close.call(());
                                },
                                "Apply"
                            }
                            button { class: "aos-button", "data-testid": "import-cancel", onclick: move |_| preview.set(None), "Back" }
                        }
                    }
                }
            } else {
                textarea { "data-testid": "import-text", placeholder: "Paste an AutomateOS or n8n workflow file", value: "{text}", oninput: move |e| text.set(e.value()) }
                input { r#type: "file", accept: ".json,application/json", "data-testid": "import-file", "aria-label": "Workflow file",
                    onchange: move |evt: FormEvent| {
                        async move {
                            if let Some(file) = evt.files().into_iter().next()
                                && let Ok(content) = file.read_string().await
                            {
                                text.set(content);
                            }
                        }
                    }
                }
                div { class: "import-panel__actions",
                    button { class: "aos-button aos-button--primary", "data-testid": "import-preview", disabled: text().trim().is_empty(), onclick: run_preview, "Preview changes" }
                    button { class: "aos-button", onclick: move |_| on_close.call(()), "Close" }
                }
            }
            if let Some(message) = error() {
                p { class: "form-error", "data-testid": "import-error", "{message}" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_files_and_n8n_files_read() {
        let graph = WorkflowGraph::new().with_node(aos_schema::Node::new("t", aos_schema::kinds::TRIGGER_MANUAL));
        let text = aos_schema::ExportFile::new("w", graph.clone()).to_canonical_string().unwrap();
        assert_eq!(parse_file(&text).unwrap().graph, graph);
        let n8n = r#"{"nodes":[{"id":"1","name":"Start","type":"n8n-nodes-base.manualTrigger","typeVersion":1,"position":[0,0],"parameters":{}}],"connections":{}}"#;
        let parsed = parse_file(n8n).unwrap();
        assert_eq!(parsed.graph.nodes.len(), 1);
        assert_eq!(
            parsed.summary.map(|s| s.sentence()).as_deref(),
            Some("From n8n: 1 of 1 nodes mapped, 0 expressions translated.")
        );
        assert!(parse_file("{").is_err());
        assert!(parse_file("[]").is_err());
    }

    #[test]
    fn the_summary_counts_what_was_carried_over() {
        let summary =
            N8nSummary { nodes: 6, mapped: 4, translated: 12, kept: 1, stand_ins: 1, left_out: 1, secrets: vec![] };
        assert_eq!(
            summary.sentence(),
            "From n8n: 4 of 6 nodes mapped, 12 expressions translated, 1 kept as written (marked on its node until \
             rewritten), 1 stand-in, 1 left out."
        );
    }

    #[test]
    fn n8n_notes_read_as_sentences() {
        let code = r#"{"nodes":[
            {"id":"1","name":"Start","type":"n8n-nodes-base.manualTrigger","typeVersion":1,"position":[0,0],"parameters":{}},
            {"id":"2","name":"Crunch","type":"n8n-nodes-base.code","typeVersion":2,"position":[200,0],"parameters":{"jsCode":"return items"}}],
            "connections":{"Start":{"main":[[{"node":"Crunch","type":"main","index":0}]]}}}"#;
        let notes = parse_file(code).unwrap().notes;
        assert!(
            notes.iter().any(|n| n.starts_with("“Crunch” (n8n-nodes-base.code) was not carried over: ")),
            "{notes:?}"
        );
        assert!(notes.iter().all(|n| !n.contains("Unmapped {") && !n.contains("ImportWarning {")), "{notes:?}");
        let warning = aos_schema::ImportWarning {
            node: Some("Fetch".into()),
            field: Some("headers.Authorization".into()),
            message: "now reads the secret FETCH_TOKEN".into(),
        };
        assert_eq!(n8n_notes(&[], &[warning]), ["“Fetch”, headers.Authorization: now reads the secret FETCH_TOKEN"]);
    }
}
