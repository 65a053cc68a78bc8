//! Every starter template in `templates/`, installed and run the way the product will: published to
//! the gallery by a creator org, installed by a user org (secrets set, integrations pointed at real
//! servers on loopback, compiled and published as a workflow), then run step by step through the
//! run progress state machine and the embedded engine until the run succeeds.
//!
//! What a template needs beyond its own samples (sheet rows, canned HTTP answers, model answers a
//! switch routes on, more trigger payloads) lives in `templates/fixtures/<slug>.json`; the format is
//! described in `templates/README.md`.

#[path = "templates/fixture.rs"]
mod fixture;
#[path = "templates/world.rs"]
mod world;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aos_actors::{RunOutcome, RunProgress, StepKey};
use aos_engine_link::expr::{Expressions, Scope};
use aos_engine_link::testing::Received;
use aos_engine_link::{
    EgressPolicy, EmbeddedEngine, Engine, EngineConfig, PROTOCOL_VERSION, StepMeta, StepOutput, StepRequest,
    WireSecret, referenced_secrets,
};
use aos_persistence::testing::{TestContext, run_on};
use aos_persistence::{
    Backend, By, NewInstallation, NewTemplate, NewTemplateVersion, NewUser, NewVersion, NewWorkflow, SecretUse, Store,
};
use aos_schema::{
    Catalog, ExecutionPlan, ExportFile, OrgId, RunId, SecretString, WorkflowGraph, WorkflowId, compile, import, kinds,
};
use serde_json::{Map, Value, json};

use fixture::{Fixture, RunFixture, slugs_in, templates_dir};
use world::{World, rehome};

/// When a scheduled run was due, and when it fired, for schedule-triggered templates.
const SCHEDULED_FOR: &str = "2025-03-03T08:00:00Z";
const FIRED_AT: &str = "2025-03-03T08:00:00.214Z";

/// Generates one test per template (named by its slug, `-` as `_`) and the list they cover.
macro_rules! templates {
    ($($slug:ident),+ $(,)?) => {
        /// The templates this file runs, as test names.
        const TESTED: &[&str] = &[$(stringify!($slug)),+];

        $(
            #[tokio::test]
            async fn $slug() {
                let slug = stringify!($slug).replace('_', "-");
                run_on(Backend::Sqlite, move |context| install_and_run(slug, context)).await;
            }
        )+
    };
}

templates! {
    ai_answer_endpoint,
    ai_email_drafter,
    ai_lead_intros,
    ai_summary_to_slack,
    ai_support_triage,
    api_to_api_sync,
    big_order_alert,
    contact_form_to_email,
    daily_exchange_rates,
    daily_sheets_digest,
    error_alert_routing,
    exchange_rate_endpoint,
    feedback_sentiment,
    form_to_sheets,
    github_issue_labeler,
    github_push_to_slack,
    incident_escalation,
    lead_capture,
    manual_slack_announcement,
    payment_event_routing,
    pre_release_status_check,
    sheets_rows_to_slack,
    sheets_to_crm_sync,
    standup_reminder,
    uptime_check,
    webhook_relay,
    webhook_to_slack,
    weekly_metrics_to_sheets,
    welcome_and_follow_up,
}

#[test]
fn every_template_on_disk_has_a_test_and_every_fixture_a_template() {
    let tested: BTreeSet<String> = TESTED.iter().map(|name| name.replace('_', "-")).collect();
    let on_disk = slugs_in(&templates_dir());
    assert_eq!(tested, on_disk, "the templates! list must name exactly the files in templates/");
    let fixtures = slugs_in(&templates_dir().join("fixtures"));
    let stray: Vec<&String> = fixtures.difference(&on_disk).collect();
    assert!(stray.is_empty(), "fixtures without a template: {stray:?}");
    for slug in &fixtures {
        // parses, unknown fields refused
        let _fixture = Fixture::load(slug);
    }
}

/// The value the installing user stores for secret `name`.
fn secret_value(name: &str) -> String {
    format!("test-{name}-value")
}

// ---------------------------------------------------------------------------------------------
// Install

/// What the user org has after installing the template.
struct Installed {
    org: OrgId,
    workflow: WorkflowId,
    plan: Arc<ExecutionPlan>,
    /// The secrets the template asked for (and the user set).
    secrets: Vec<String>,
}

fn new_user(handle: &str) -> NewUser {
    NewUser {
        email: format!("{handle}@example.test"),
        name: handle.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
    }
}

/// Publishes the file as a gallery template of a creator org, as its first version.
async fn publish_to_gallery(store: &Store, slug: &str, text: &str) {
    let file = import(text.as_bytes()).unwrap();
    let (creator, org) =
        store.orgs().create_user_with_org(&new_user("creator"), "Starter Co", "starter-co").await.unwrap();
    let by = By::User(creator.id);
    let new = NewTemplate {
        org: org.id,
        creator: creator.id,
        slug: slug.to_owned(),
        name: file.name.clone(),
        description: file.description.clone().unwrap_or_default(),
        category: file.category.clone().unwrap_or_default(),
    };
    let template = store.templates().create_template(&new, by).await.unwrap();
    let content = NewTemplateVersion {
        export: file.to_canonical_string().unwrap(),
        checksum: file.checksum().unwrap(),
        required_secrets: file.required_secrets(),
    };
    assert_eq!(content.export, text, "{slug}: the file is not canonical");
    store.templates().publish_version(org.id, template.id, &content, by).await.unwrap();
}

/// Installs the gallery template `slug` into a new user org: its secrets set, its graph copied
/// through `rebind` (what the user points at their own services) into a published workflow, the
/// installation recorded.
async fn install(store: &Store, slug: &str, rebind: impl FnOnce(&ExportFile) -> WorkflowGraph) -> Installed {
    let (user, org) =
        store.orgs().create_user_with_org(&new_user("installer"), "Users Inc", "users-inc").await.unwrap();
    let by = By::User(user.id);
    let template = store.templates().template_by_slug(slug).await.unwrap();
    let version = store.templates().latest_version(template.id).await.unwrap();
    let file = import(version.export.as_bytes()).unwrap();
    assert_eq!(file.checksum().unwrap(), version.checksum, "{slug}: the published checksum");
    assert_eq!(file.required_secrets(), version.required_secrets);
    for name in &version.required_secrets {
        store.secrets().put(org.id, name, &SecretString::new(secret_value(name)), by).await.unwrap();
    }
    let graph = rebind(&file);
    let copy = ExportFile { graph, ..file.clone() };
    let plan = compile(&copy.graph, &Catalog::builtin()).unwrap_or_else(|err| panic!("{slug}: {err}"));
    let new =
        NewWorkflow { org_id: org.id, name: file.name.clone(), description: file.description.unwrap_or_default() };
    let workflow = store.workflows().create(&new, by).await.unwrap();
    let export = copy.to_canonical_string().unwrap();
    let new_version = NewVersion {
        workflow_id: workflow.id,
        org_id: org.id,
        export: &export,
        checksum: &copy.checksum().unwrap(),
        plan: &serde_json::to_value(&plan).unwrap(),
        graph: &copy.graph,
    };
    let published = store.workflows().publish(&new_version, by).await.unwrap();
    let installation =
        NewInstallation { org: org.id, template: template.id, version: version.version, workflow: workflow.id };
    store.templates().record_installation(&installation, by).await.unwrap();
    assert_eq!(store.templates().template_by_slug(slug).await.unwrap().install_count, 1);
    // a run reads the plan the version stored, as the run actor will
    let stored = store.workflows().version(org.id, workflow.id, published.version).await.unwrap();
    let plan: ExecutionPlan = serde_json::from_value(stored.plan).unwrap();
    Installed { org: org.id, workflow: workflow.id, plan: Arc::new(plan), secrets: version.required_secrets }
}

// ---------------------------------------------------------------------------------------------
// Run

/// The trigger payload of a run: the trigger node's own sample, shaped as the trigger outputs it,
/// with the fixture's fields put over it.
fn trigger_payload(plan: &ExecutionPlan, overrides: &Map<String, Value>) -> Value {
    let trigger = plan.step(plan.trigger.as_str()).expect("the plan names its trigger");
    let mut payload = match trigger.kind.as_str() {
        kinds::TRIGGER_WEBHOOK => json!({
            "body": trigger.config.get("sample").cloned().unwrap_or_else(|| json!({})),
            "headers": { "content-type": "application/json", "user-agent": "curl/8.5.0" },
            "query": {},
        }),
        kinds::TRIGGER_MANUAL => trigger.config.get("sample_input").cloned().unwrap_or_else(|| json!({})),
        kinds::TRIGGER_SCHEDULE => json!({ "fired_at": FIRED_AT, "scheduled_for": SCHEDULED_FOR }),
        other => panic!("unknown trigger kind {other}"),
    };
    match payload.as_object_mut() {
        Some(fields) => fields.extend(overrides.clone()),
        None if !overrides.is_empty() => payload = Value::Object(overrides.clone()),
        None => {}
    }
    payload
}

/// What one template's runs did, summed over its runs.
#[derive(Debug, Default)]
struct Ledger {
    /// Steps that succeeded, by kind (for-each iterations counted one by one).
    completed: BTreeMap<String, usize>,
}

/// Everything one run needs.
struct RunContext<'a> {
    slug: &'a str,
    store: &'a Store,
    engine: &'a EmbeddedEngine,
    expressions: &'a Expressions,
    installed: &'a Installed,
}

/// Runs the installed workflow once to its end; panics, naming the step, on anything wrong.
async fn run_once(cx: &RunContext<'_>, run: &RunFixture, ledger: &mut Ledger) {
    let what = format!("{} (run {:?})", cx.slug, run.about);
    let run_id = RunId::new();
    let mut progress =
        RunProgress::new(Arc::clone(&cx.installed.plan), trigger_payload(&cx.installed.plan, &run.trigger));
    let mut skipped = BTreeSet::new();
    while progress.outcome() == RunOutcome::Running {
        let ready = progress.ready();
        skipped.extend(progress.take_skipped().iter().map(StepKey::to_string));
        assert!(!ready.is_empty() || progress.outcome() != RunOutcome::Running, "{what}: the run is stuck");
        for step in ready {
            let mut secrets = BTreeMap::new();
            for name in referenced_secrets(&step.config) {
                let usage = SecretUse { by: By::System, purpose: format!("run:{run_id}/step:{}", step.key) };
                let value = cx.store.secrets().reveal(cx.installed.org, &name, &usage).await.unwrap();
                secrets.insert(name, WireSecret(value));
            }
            let empty = empty_expressions(cx.expressions, &step.config, &Scope::new(&step.context, &secrets));
            assert!(empty.is_empty(), "{what}: step {} reads nothing in {}", step.key, empty.join("; "));
            let request = StepRequest {
                protocol: PROTOCOL_VERSION.to_owned(),
                meta: StepMeta {
                    org_id: cx.installed.org.to_string(),
                    workflow_id: cx.installed.workflow.to_string(),
                    run_id: run_id.to_string(),
                    node_id: step.key.to_string(),
                    attempt: 1,
                    traceparent: None,
                },
                kind: step.kind.clone(),
                config: step.config.clone(),
                context: step.context.clone(),
                secrets,
            };
            match cx.engine.execute(request).await {
                Ok(output) => {
                    assert_no_secret(
                        &what,
                        &format!("the output of {}", step.key),
                        &output_text(&output),
                        &cx.installed.secrets,
                    );
                    // a delay's wait is the run actor's to keep; here the run goes straight on
                    progress.complete(&step.key, &output).unwrap();
                    *ledger.completed.entry(step.kind).or_default() += 1;
                }
                Err(error) => {
                    progress.fail(&step.key).unwrap();
                    panic!("{what}: step {} ({}) failed: {error}", step.key, step.kind);
                }
            }
        }
    }
    skipped.extend(progress.take_skipped().iter().map(StepKey::to_string));
    assert_eq!(progress.outcome(), RunOutcome::Succeeded, "{what}");
    assert_eq!(skipped, run.skipped, "{what}: the steps skipped");
}

fn output_text(output: &StepOutput) -> String {
    serde_json::to_string(output).unwrap()
}

/// Fails, naming the secret, when `text` holds the value of one of `names`.
#[track_caller]
fn assert_no_secret(what: &str, place: &str, text: &str, names: &[String]) {
    if let Some(name) = names.iter().find(|name| text.contains(&secret_value(name))) {
        panic!("{what}: {place} holds the value of secret {name}");
    }
}

/// The `{{ … }}` expressions of a config (at any depth) that read nothing (undefined or null)
/// in this step's scope: the engine would render them as empty text without complaint.
fn empty_expressions(expressions: &Expressions, config: &Map<String, Value>, scope: &Scope) -> Vec<String> {
    fn visit(value: &Value, path: String, out: &mut Vec<(String, String)>) {
        match value {
            Value::String(text) => {
                let mut rest = text.as_str();
                while let Some((_, after)) = rest.split_once("{{") {
                    let Some((inner, tail)) = after.split_once("}}") else { break };
                    out.push((path.clone(), inner.trim().to_owned()));
                    rest = tail;
                }
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| visit(v, format!("{path}[{i}]"), out)),
            Value::Object(map) => map.iter().for_each(|(k, v)| visit(v, format!("{path}.{k}"), out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    config.iter().for_each(|(field, value)| visit(value, field.clone(), &mut found));
    found
        .into_iter()
        .filter(|(field, inner)| {
            !matches!(expressions.eval_str(&format!("{{{{ {inner} }}}}"), field, scope), Ok(value) if !value.is_null())
        })
        .map(|(field, inner)| format!("`{field}`: {{{{ {inner} }}}}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The test of one template

async fn install_and_run(slug: String, context: TestContext) {
    let store = &context.store;
    let path = templates_dir().join(format!("{slug}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let fixture = Fixture::load(&slug);
    let template = import(text.as_bytes()).unwrap();
    let world = World::start(&template.graph, &fixture).await;

    publish_to_gallery(store, &slug, &text).await;
    let installed = install(store, &slug, |file| world.rebind(&file.graph)).await;

    let engine = EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::parse("127.0.0.1").unwrap() }).unwrap();
    let expressions = Expressions::new();
    let cx = RunContext { slug: &slug, store, engine: &engine, expressions: &expressions, installed: &installed };
    let mut ledger = Ledger::default();
    for run in &fixture.runs {
        world.script_openai(&run.openai);
        run_once(&cx, run, &mut ledger).await;
        assert_eq!(world.unasked_openai(), 0, "{slug} (run {:?}): model answers left unasked", run.about);
    }

    assert_services_called(&slug, &template, &world, &ledger);
    assert_secrets_stayed_in_credentials(&slug, &world, &installed.secrets);
    let unhit = world.unhit_routes();
    assert!(unhit.is_empty(), "{slug}: fixture routes never called: {unhit:?}");
}

/// Every integration the template uses was called with the user's credential, and each fake
/// recorded exactly what the steps that succeeded say they did.
fn assert_services_called(slug: &str, template: &ExportFile, world: &World, ledger: &Ledger) {
    let done = |kind: &str| ledger.completed.get(kind).copied().unwrap_or(0);
    let uses = |kind: &str| template.graph.nodes.iter().any(|node| node.kind == kind);
    let bearer = |name: &str| format!("Bearer {}", secret_value(name));
    let authed =
        |received: &[Received], name: &str| received.iter().any(|r| r.authorization.as_deref() == Some(&bearer(name)));

    let slack = world.slack.received();
    assert_eq!(world.slack.api(|s| s.posted.len()), done(kinds::SLACK_POST_MESSAGE), "{slug}: slack messages");
    if uses(kinds::SLACK_POST_MESSAGE) {
        assert!(authed(&slack, "SLACK_TOKEN"), "{slug}: slack was not called with the user's token");
    }

    let sheets = world.sheets.received();
    let (reads, appends) = (done(kinds::SHEETS_READ), done(kinds::SHEETS_APPEND));
    let count = |method: &str| sheets.iter().filter(|r| r.method.as_str() == method).count();
    // an append reads the header row first
    assert_eq!((count("GET"), count("POST")), (reads + appends, appends), "{slug}: sheets requests");
    if uses(kinds::SHEETS_READ) || uses(kinds::SHEETS_APPEND) {
        assert!(authed(&sheets, "GOOGLE_SHEETS_TOKEN"), "{slug}: sheets was not called with the user's token");
    }

    let openai = world.openai.received();
    assert_eq!(openai.len(), done(kinds::OPENAI_CHAT), "{slug}: openai requests");
    if uses(kinds::OPENAI_CHAT) {
        assert!(authed(&openai, "OPENAI_API_KEY"), "{slug}: openai was not called with the user's key");
    }

    let delivered = world.smtp.delivered();
    assert_eq!(delivered.len(), done(kinds::EMAIL_SEND), "{slug}: emails delivered");
    if uses(kinds::EMAIL_SEND) {
        let password = secret_value("SMTP_PASSWORD");
        assert!(
            delivered.iter().any(|mail| mail.auth.as_ref().is_some_and(|(_, p)| *p == password)),
            "{slug}: no email was sent with the user's smtp password"
        );
    }

    let api = world.api.received();
    assert_eq!(api.len(), done(kinds::HTTP_REQUEST), "{slug}: http requests");
    for node in template.graph.nodes.iter().filter(|node| node.kind == kinds::HTTP_REQUEST) {
        for name in referenced_secrets(&node.config) {
            assert!(authed(&api, &name), "{slug}: node {} never sent {name}", node.id);
        }
    }
}

/// Secret values reached the services only as credentials: never in a path, query, body or
/// email.
fn assert_secrets_stayed_in_credentials(slug: &str, world: &World, names: &[String]) {
    let requests = [world.slack.received(), world.sheets.received(), world.openai.received(), world.api.received()];
    for request in requests.iter().flatten() {
        let text = format!("{} {:?} {}", request.raw_path, request.query, request.body);
        assert_no_secret(slug, &format!("a request to {}", request.raw_path), &text, names);
    }
    for mail in world.smtp.delivered() {
        assert_no_secret(slug, "an email", &mail.data, names);
    }
}

#[test]
fn rehoming_keeps_path_query_and_expressions() {
    let origin = "http://127.0.0.1:4000";
    assert_eq!(
        rehome("https://api.github.com/repos/{{ trigger.body.repo }}/labels?x=1", origin),
        "http://127.0.0.1:4000/repos/{{ trigger.body.repo }}/labels?x=1"
    );
    assert_eq!(rehome("https://www.example.com/", origin), "http://127.0.0.1:4000/");
    assert_eq!(rehome("https://api.frankfurter.app/latest?from=EUR", origin), "http://127.0.0.1:4000/latest?from=EUR");
    assert_eq!(rehome("https://example.com", origin), origin);
}
