//! The starter templates in the repository's `templates/` folder: each file is an export file in
//! its canonical form, of a workflow that validates and compiles against the built-in catalog,
//! with the gallery's fields filled in, every credential held as a secret reference, expressions
//! that name steps upstream of them, and a canvas that reads left to right.
//!
//! To add a template, write `templates/<slug>.json` in any layout, list it in
//! `templates/README.md`, and run this test once with `AOS_BLESS_TEMPLATES=1`: that rewrites every
//! file in its canonical form instead of failing on the bytes (every other check still applies).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use aos_schema::{Catalog, ExportFile, Flow, GALLERY_CATEGORIES, WorkflowGraph, compile, import, kinds};
use serde_json::Value;

/// The design promises at least this many starter templates.
const MIN_TEMPLATES: usize = 24;

/// Each headline integration is shown off by at least this many templates.
const MIN_USES_PER_INTEGRATION: usize = 3;

/// The distance between two canvas columns.
const COLUMN_WIDTH: f64 = 240.0;

/// A gallery description is one or two sentences; longer text belongs in the workflow itself.
const MAX_DESCRIPTION_CHARS: usize = 300;

/// The first word of every expression: the step's input, the run's trigger output, an earlier
/// step's output, or a stored secret.
const EXPRESSION_ROOTS: &[&str] = &["input", "trigger", "steps", "secrets"];

/// The first words only the steps behind a for-each's `item` port may use: the current item and
/// its position.
const ITEM_ROOTS: &[&str] = &["item", "index"];

/// Set to rewrite the files in canonical form.
const BLESS_VAR: &str = "AOS_BLESS_TEMPLATES";

struct Template {
    /// The file name without `.json`; the gallery's stable key for the template.
    slug: String,
    path: PathBuf,
    /// The file as it is on disk.
    text: String,
    file: ExportFile,
}

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("templates")
}

/// Every `*.json` file of the folder, sorted by slug, imported.
fn templates() -> Vec<Template> {
    let folder = folder();
    let mut paths: Vec<PathBuf> = fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let slug = path.file_stem().and_then(|stem| stem.to_str()).unwrap().to_owned();
            let text = fs::read_to_string(&path).unwrap_or_else(|error| panic!("{slug}: {error}"));
            let file = import(text.as_bytes()).unwrap_or_else(|error| panic!("{slug}: does not import: {error}"));
            Template { slug, path, text, file }
        })
        .collect()
}

/// Fails listing every problem found, so one run shows all of them.
fn assert_no_problems(problems: &[String]) {
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

fn is_kebab_case(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Every string inside a JSON value, at any depth.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(text) => vec![text.as_str()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        Value::Null | Value::Bool(_) | Value::Number(_) => Vec::new(),
    }
}

/// The inside of every `{{ … }}` in the text, trimmed.
fn expressions(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(length) = rest[open + 2..].find("}}") else { break };
        found.push(rest[open + 2..open + 2 + length].trim());
        rest = &rest[open + 2 + length + 2..];
    }
    found
}

/// The ids of the nodes from which `node` can be reached, not counting itself.
fn upstream<'a>(graph: &'a WorkflowGraph, node: &'a str) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    let mut stack: Vec<&str> = graph.incoming(node).map(|edge| edge.from.as_str()).collect();
    while let Some(at) = stack.pop() {
        if seen.insert(at) {
            stack.extend(graph.incoming(at).map(|edge| edge.from.as_str()));
        }
    }
    seen
}

/// The secret names referenced in the file's raw text: whatever follows each `secrets.`. Read
/// from the bytes rather than the parsed configs, so it checks [`ExportFile::required_secrets`]
/// instead of repeating it.
fn secrets_in_text(text: &str) -> BTreeSet<String> {
    text.split("secrets.")
        .skip(1)
        .map(|after| after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .collect()
}

#[test]
fn there_are_enough_templates_with_unique_slugs_and_names() {
    let all = templates();
    assert!(all.len() >= MIN_TEMPLATES, "only {} templates, at least {MIN_TEMPLATES} expected", all.len());
    let mut problems = Vec::new();
    let mut names = HashMap::new();
    for template in &all {
        if !is_kebab_case(&template.slug) {
            problems.push(format!("{}: the file name is not lowercase-kebab-case", template.slug));
        }
        let key = template.file.name.trim().to_lowercase();
        if let Some(first) = names.insert(key, template.slug.clone()) {
            problems.push(format!("{}: same name as {first}: {:?}", template.slug, template.file.name));
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn every_file_is_in_its_canonical_form() {
    let bless = std::env::var_os(BLESS_VAR).is_some();
    let mut problems = Vec::new();
    for template in templates() {
        let canonical = template.file.to_canonical_string().unwrap();
        // The file is what export would write, and reading it back writes it again unchanged.
        let again = import(canonical.as_bytes()).unwrap().to_canonical_string().unwrap();
        assert_eq!(again, canonical, "{}: the canonical form does not roundtrip", template.slug);
        if canonical == template.text {
            continue;
        }
        if bless {
            let staged = template.path.with_extension("json.tmp");
            fs::write(&staged, &canonical).unwrap();
            fs::rename(&staged, &template.path).unwrap();
        } else {
            problems.push(format!("{}: not in canonical form (run with {BLESS_VAR}=1 to rewrite)", template.slug));
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn every_template_validates_and_compiles_against_the_builtin_catalog() {
    let catalog = Catalog::builtin();
    let mut problems = Vec::new();
    for template in templates() {
        match compile(&template.file.graph, &catalog) {
            Ok(plan) => assert_eq!(plan.steps.len(), template.file.graph.nodes.len()),
            Err(errors) => problems.push(format!("{}: {errors}", template.slug)),
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn every_template_has_what_the_gallery_shows() {
    let all = templates();
    let mut problems = Vec::new();
    for template in &all {
        let (slug, file) = (&template.slug, &template.file);
        if file.name.trim().is_empty() || file.name.trim() != file.name {
            problems.push(format!("{slug}: the name is empty or has surrounding spaces"));
        }
        let description = file.description.as_deref().unwrap_or("").trim();
        let sentences = 1 + [". ", "! ", "? "].iter().map(|end| description.matches(end).count()).sum::<usize>();
        if description.is_empty() || !description.ends_with('.') || description.chars().count() > MAX_DESCRIPTION_CHARS
        {
            problems.push(format!(
                "{slug}: the description must end with a period and be at most {MAX_DESCRIPTION_CHARS} characters"
            ));
        }
        if sentences > 2 {
            problems.push(format!("{slug}: the description has {sentences} sentences, at most 2 read well"));
        }
        match file.category.as_deref() {
            Some(category) if GALLERY_CATEGORIES.contains(&category) => {}
            other => problems.push(format!("{slug}: category {other:?} is not one of {GALLERY_CATEGORIES:?}")),
        }
        if file.tags.is_empty() {
            problems.push(format!("{slug}: no tags"));
        }
        let unique: HashSet<&String> = file.tags.iter().collect();
        if unique.len() != file.tags.len() || !file.tags.iter().all(|tag| is_kebab_case(tag)) {
            problems.push(format!("{slug}: tags must be distinct and lowercase-kebab-case: {:?}", file.tags));
        }
        for node in &file.graph.nodes {
            if node.label.trim().is_empty() {
                problems.push(format!("{slug}: node {} has no label", node.id));
            }
        }
    }
    for category in GALLERY_CATEGORIES {
        if !all.iter().any(|t| t.file.category.as_deref() == Some(*category)) {
            problems.push(format!("no template in the {category} category"));
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn slack_sheets_and_openai_each_appear_in_several_templates() {
    let all = templates();
    let uses = |wanted: &[&str]| {
        all.iter().filter(|t| t.file.graph.nodes.iter().any(|node| wanted.contains(&node.kind.as_str()))).count()
    };
    for (integration, wanted) in [
        ("slack", &[kinds::SLACK_POST_MESSAGE][..]),
        ("sheets", &[kinds::SHEETS_APPEND, kinds::SHEETS_READ][..]),
        ("openai", &[kinds::OPENAI_CHAT][..]),
    ] {
        let count = uses(wanted);
        assert!(count >= MIN_USES_PER_INTEGRATION, "{integration} is used by {count} templates");
    }
}

#[test]
fn credentials_are_secret_references_and_required_secrets_lists_them() {
    let catalog = Catalog::builtin();
    let mut problems = Vec::new();
    for template in templates() {
        let slug = &template.slug;
        let mut uses_credentials = false;
        for node in &template.file.graph.nodes {
            let Some(descriptor) = catalog.get(&node.kind) else { continue };
            for field in descriptor.fields.iter().filter(|field| field.secret) {
                uses_credentials = true;
                // Written out rather than left to the catalog default, so the file itself says
                // which secrets an installation needs.
                match node.config.get(&field.name).and_then(Value::as_str) {
                    Some(text) if aos_schema::validate::is_secret_reference(text) => {}
                    other => problems.push(format!(
                        "{slug}: node {} field {} must be a {{{{ secrets.NAME }}}} reference, found {other:?}",
                        node.id, field.name
                    )),
                }
            }
        }
        let required = template.file.required_secrets();
        let expected: Vec<String> = secrets_in_text(&template.text).into_iter().collect();
        if required != expected {
            problems.push(format!("{slug}: required_secrets() is {required:?}, the file references {expected:?}"));
        }
        if uses_credentials && required.is_empty() {
            problems.push(format!("{slug}: uses an integration but requires no secret"));
        }
        for name in &required {
            let upper_snake = name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !upper_snake {
                problems.push(format!("{slug}: secret name {name} is not UPPER_SNAKE_CASE"));
            }
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn expressions_name_known_roots_and_steps_upstream_of_them() {
    let catalog = Catalog::builtin();
    let mut problems = Vec::new();
    for template in templates() {
        let graph = &template.file.graph;
        // A template that does not compile fails its own test; the item rule needs the plan.
        let Ok(plan) = compile(graph, &catalog) else { continue };
        let per_item: HashSet<&str> = plan
            .steps
            .iter()
            .filter(|step| step.flow == Flow::ForEach)
            .filter_map(|step| step.branches.get("item"))
            .flatten()
            .map(|id| id.as_str())
            .collect();
        for node in &graph.nodes {
            let before = upstream(graph, node.id.as_str());
            let texts = node.config.values().flat_map(strings);
            for expression in texts.flat_map(expressions) {
                let root: String = expression.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                let item_root = ITEM_ROOTS.contains(&root.as_str());
                if item_root && !per_item.contains(node.id.as_str()) {
                    problems.push(format!(
                        "{}: node {} reads {root} but is not behind a for-each's item port",
                        template.slug, node.id
                    ));
                } else if !item_root && !EXPRESSION_ROOTS.contains(&root.as_str()) {
                    problems
                        .push(format!("{}: node {}: unknown root in {{{{ {expression} }}}}", template.slug, node.id));
                }
                for after in expression.split("steps.").skip(1) {
                    let step: String =
                        after.chars().take_while(|c| c.is_ascii_alphanumeric() || "_-".contains(*c)).collect();
                    if !before.contains(step.as_str()) {
                        problems.push(format!(
                            "{}: node {} reads steps.{step}, which is not a step before it",
                            template.slug, node.id
                        ));
                    }
                }
            }
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn the_canvas_reads_left_to_right() {
    let mut problems = Vec::new();
    for template in templates() {
        let graph = &template.file.graph;
        let mut spots = HashSet::new();
        for node in &graph.nodes {
            let (x, y) = (node.position.x, node.position.y);
            if x < 0.0 || (x / COLUMN_WIDTH).fract() != 0.0 {
                problems.push(format!("{}: node {} is not on a column (x = {x})", template.slug, node.id));
            }
            if !spots.insert((x.to_bits(), y.to_bits())) {
                problems.push(format!("{}: node {} sits on another node", template.slug, node.id));
            }
        }
        for edge in &graph.edges {
            let x = |id: &str| graph.node(id).map_or(f64::NAN, |node| node.position.x);
            if x(edge.from.as_str()) >= x(edge.to.as_str()) {
                problems.push(format!("{}: edge {} does not go right", template.slug, edge.id));
            }
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn the_readme_lists_exactly_the_templates() {
    let readme = fs::read_to_string(folder().join("README.md")).unwrap();
    let listed: BTreeSet<&str> = readme
        .split('`')
        .filter_map(|word| word.strip_suffix(".json"))
        .filter(|slug| !slug.is_empty() && is_kebab_case(slug))
        .collect();
    let present: BTreeSet<String> = templates().into_iter().map(|t| t.slug).collect();
    let present: BTreeSet<&str> = present.iter().map(String::as_str).collect();
    let missing: Vec<&&str> = present.difference(&listed).collect();
    let stale: Vec<&&str> = listed.difference(&present).collect();
    assert!(missing.is_empty() && stale.is_empty(), "README.md misses {missing:?} and lists absent {stale:?}");
}
