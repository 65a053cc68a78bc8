//! The RBAC matrix, generated from one table: every org-scoped endpoint × every role (owner,
//! admin, editor, viewer, non-member) → allowed (2xx) at or above the endpoint's role, `403`
//! for members below it, `404` for non-members; and every endpoint with another org's ids → `404`
//! for every role. A refused call writes nothing (both orgs' audit chains keep their length).
//! On SQLite and Postgres.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use aos_persistence::{
    Backend, By, NewDlqEntry, NewRun, NewUser, NewWebhookSource, NewWorkflow, Store, WebhookSettings,
};
use aos_schema::{OrgId, Role, WorkflowGraph};
use serde_json::{Value, json};
use support_api::{Account, Api, runnable_graph};

both_backends!(every_endpoint_every_role);

/// Fresh resources of one org for one call (mutating calls consume them).
struct Ids {
    org: String,
    /// A workflow with a draft and one published version.
    workflow: String,
    source: String,
    /// A queued run.
    run: String,
    /// A cancelled (finished) run.
    finished: String,
    /// A pending dead-letter entry.
    dlq: String,
    secret: String,
    key: String,
    /// A viewer member that is not one of the test accounts.
    member: String,
    /// A draft template.
    template: String,
    /// A pending invitation.
    invitation: String,
    unique: String,
}

type PathFn = fn(&Ids) -> String;
type BodyFn = fn(&Ids) -> Option<Value>;

/// One endpoint: method, path, the least role allowed, and a valid body.
struct Endpoint {
    method: &'static str,
    path: PathFn,
    min: Role,
    body: BodyFn,
}

fn none(_: &Ids) -> Option<Value> {
    None
}

fn empty(_: &Ids) -> Option<Value> {
    Some(json!({}))
}

#[rustfmt::skip]
fn table() -> Vec<Endpoint> {
    use Role::*;
    let e = |method, path: PathFn, min, body: BodyFn| Endpoint { method, path, min, body };
    vec![
        e("GET", |i| format!("/api/orgs/{}", i.org), Viewer, none),
        e("GET", |i| format!("/api/orgs/{}/members", i.org), Viewer, none),
        e("POST", |i| format!("/api/orgs/{}/members", i.org), Admin, |i| Some(json!({ "email": format!("new-{}@x.test", i.unique), "role": "viewer" }))),
        e("PATCH", |i| format!("/api/orgs/{}/members/{}", i.org, i.member), Admin, |_| Some(json!({ "role": "editor" }))),
        e("DELETE", |i| format!("/api/orgs/{}/members/{}", i.org, i.member), Admin, none),
        e("POST", |i| format!("/api/orgs/{}/invitations", i.org), Admin, |i| Some(json!({ "email": format!("inv-{}@x.test", i.unique), "role": "viewer" }))),
        e("GET", |i| format!("/api/orgs/{}/invitations", i.org), Admin, none),
        e("DELETE", |i| format!("/api/orgs/{}/invitations/{}", i.org, i.invitation), Admin, none),
        e("POST", |i| format!("/api/orgs/{}/api-keys", i.org), Editor, |_| Some(json!({ "name": "k" }))),
        e("GET", |i| format!("/api/orgs/{}/api-keys", i.org), Admin, none),
        e("DELETE", |i| format!("/api/orgs/{}/api-keys/{}", i.org, i.key), Admin, none),
        e("POST", |i| format!("/api/orgs/{}/workflows", i.org), Editor, |_| Some(json!({ "name": "n" }))),
        e("GET", |i| format!("/api/orgs/{}/workflows", i.org), Viewer, none),
        e("POST", |i| format!("/api/orgs/{}/workflows/import", i.org), Editor, |_| Some(json!({ "format": "automateos.workflow/v1", "name": "i", "graph": runnable_graph("trigger.manual") }))),
        e("GET", |i| format!("/api/workflows/{}", i.workflow), Viewer, none),
        e("PATCH", |i| format!("/api/workflows/{}", i.workflow), Editor, |_| Some(json!({ "name": "renamed" }))),
        e("DELETE", |i| format!("/api/workflows/{}", i.workflow), Editor, none),
        e("PUT", |i| format!("/api/workflows/{}/graph", i.workflow), Editor, |_| Some(runnable_graph("trigger.manual"))),
        e("POST", |i| format!("/api/workflows/{}/publish", i.workflow), Editor, empty),
        e("GET", |i| format!("/api/workflows/{}/versions", i.workflow), Viewer, none),
        e("GET", |i| format!("/api/workflows/{}/versions/1", i.workflow), Viewer, none),
        e("GET", |i| format!("/api/workflows/{}/versions/1/diff/1", i.workflow), Viewer, none),
        e("POST", |i| format!("/api/workflows/{}/versions/1/revert", i.workflow), Editor, empty),
        e("GET", |i| format!("/api/workflows/{}/export", i.workflow), Viewer, none),
        e("POST", |i| format!("/api/workflows/{}/webhooks", i.workflow), Editor, empty),
        e("GET", |i| format!("/api/workflows/{}/webhooks", i.workflow), Viewer, none),
        e("POST", |i| format!("/api/webhooks/{}/rotate", i.source), Editor, empty),
        e("GET", |i| format!("/api/webhooks/{}/events", i.source), Viewer, none),
        e("DELETE", |i| format!("/api/webhooks/{}", i.source), Editor, none),
        e("POST", |i| format!("/api/workflows/{}/runs", i.workflow), Editor, |_| Some(json!({ "input": {} }))),
        e("GET", |i| format!("/api/orgs/{}/runs", i.org), Viewer, none),
        e("GET", |i| format!("/api/runs/{}", i.run), Viewer, none),
        e("GET", |i| format!("/api/runs/{}/logs", i.run), Viewer, none),
        e("POST", |i| format!("/api/runs/{}/cancel", i.run), Editor, empty),
        e("POST", |i| format!("/api/runs/{}/replay", i.finished), Editor, |_| Some(json!({ "from": "start" }))),
        e("GET", |i| format!("/api/orgs/{}/dlq", i.org), Viewer, none),
        e("POST", |i| format!("/api/orgs/{}/dlq/replay", i.org), Editor, empty),
        e("POST", |i| format!("/api/orgs/{}/dlq/{}/replay", i.org, i.dlq), Editor, none),
        e("POST", |i| format!("/api/orgs/{}/dlq/{}/discard", i.org, i.dlq), Editor, none),
        e("GET", |i| format!("/api/orgs/{}/billing", i.org), Viewer, none),
        e("GET", |i| format!("/api/orgs/{}/billing/ledger", i.org), Admin, none),
        e("POST", |i| format!("/api/orgs/{}/billing/top-up", i.org), Admin, |_| Some(json!({ "amount_micros": 1000, "payment_token": "tok_test_visa" }))),
        e("GET", |i| format!("/api/orgs/{}/usage", i.org), Viewer, none),
        e("GET", |i| format!("/api/runs/{}/usage", i.run), Viewer, none),
        e("GET", |i| format!("/api/orgs/{}/audit", i.org), Admin, none),
        e("GET", |i| format!("/api/orgs/{}/audit/verify", i.org), Admin, none),
        e("POST", |i| format!("/api/orgs/{}/templates", i.org), Editor, |i| Some(json!({ "slug": format!("t-{}", i.unique), "name": "t", "category": "logic" }))),
        e("GET", |i| format!("/api/orgs/{}/templates", i.org), Viewer, none),
        e("POST", |i| format!("/api/orgs/{}/templates/{}/versions", i.org, i.template), Editor, |i| Some(json!({ "workflow_id": i.workflow }))),
        e("GET", |i| format!("/api/orgs/{}/installations", i.org), Viewer, none),
        e("GET", |i| format!("/api/orgs/{}/secrets", i.org), Viewer, none),
        e("POST", |i| format!("/api/orgs/{}/secrets", i.org), Admin, |i| Some(json!({ "name": format!("S_{}", i.unique), "value": "v" }))),
        e("PUT", |i| format!("/api/orgs/{}/secrets/{}", i.org, i.secret), Admin, |_| Some(json!({ "value": "v2" }))),
        e("DELETE", |i| format!("/api/orgs/{}/secrets/{}", i.org, i.secret), Admin, none),
    ]
}

/// Creates one of everything in `org`, straight in the store.
async fn fresh(store: &Store, org: &str, owner: &Account) -> Ids {
    let org_id: OrgId = org.parse().unwrap();
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let by = By::System;
    let workflow = store
        .workflows()
        .create(&NewWorkflow { org_id, name: "w".into(), description: String::new() }, by)
        .await
        .unwrap();
    let graph: WorkflowGraph = serde_json::from_value(runnable_graph("trigger.manual")).unwrap();
    store.drafts().put(org_id, workflow.id, &graph, by).await.unwrap();
    let plan = serde_json::to_value(aos_schema::compile(&graph, &aos_schema::Catalog::builtin()).unwrap()).unwrap();
    let file = aos_schema::ExportFile::new("w", graph.clone());
    let (text, checksum) = (file.to_canonical_string().unwrap(), file.checksum().unwrap());
    let version = aos_persistence::NewVersion {
        workflow_id: workflow.id,
        org_id,
        export: &text,
        checksum: &checksum,
        plan: &plan,
        graph: &graph,
    };
    store.workflows().publish(&version, by).await.unwrap();
    let source = NewWebhookSource {
        org_id,
        workflow_id: workflow.id,
        name: "s".into(),
        token: aos_persistence::WebhookToken {
            value: aos_schema::SecretString::new(format!("whk_{unique}")),
            hash: format!("hash-{unique}"),
            prefix: "whk_".into(),
        },
        settings: WebhookSettings::default(),
    };
    let source = store.webhooks().create_source(&source, by).await.unwrap();
    let new_run = |key: &str| NewRun {
        org_id,
        workflow_id: workflow.id,
        version: 1,
        trigger_kind: "manual".into(),
        idempotency_key: Some(format!("{key}-{unique}")),
        input: json!({}),
        replay_of: None,
        traceparent: None,
    };
    let run = store.runs().create(&new_run("queued")).await.unwrap().into_inner();
    let finished = store.runs().create(&new_run("finished")).await.unwrap().into_inner();
    store.runs().transition(finished.id, aos_schema::RunStatus::Cancelled, None).await.unwrap();
    let dead = store.runs().create(&new_run("dead")).await.unwrap().into_inner();
    let entry = NewDlqEntry { run_id: dead.id, node_id: "shape".into(), error: "boom".into(), input: json!({}) };
    let dlq = store.runs().dead_letter(&entry).await.unwrap();
    let secret = format!("SECRET_{unique}");
    store.secrets().put(org_id, &secret, &aos_schema::SecretString::new("x"), by).await.unwrap();
    let user_id: aos_schema::UserId = owner.user_id.parse().unwrap();
    let key = aos_persistence::NewApiKey {
        org_id,
        user_id,
        name: "k".into(),
        prefix: "aosk_".into(),
        key_hash: format!("key-{unique}"),
        role: Role::Viewer,
    };
    let key = store.orgs().create_api_key(&key, by).await.unwrap();
    let member = NewUser { email: format!("m-{unique}@x.test"), name: "m".into(), password_hash: "x".into() };
    let member = store.orgs().create_user(&member).await.unwrap();
    store.orgs().set_member(org_id, member.id, Role::Viewer, by).await.unwrap();
    // The account `POST …/members` adds.
    let invitee = NewUser { email: format!("new-{unique}@x.test"), name: "n".into(), password_hash: "x".into() };
    store.orgs().create_user(&invitee).await.unwrap();
    let template = aos_persistence::NewTemplate {
        org: org_id,
        creator: user_id,
        slug: format!("tpl-{unique}"),
        name: "t".into(),
        description: String::new(),
        category: "logic".into(),
    };
    let template = store.templates().create_template(&template, by).await.unwrap();
    let invitation = aos_persistence::NewInvitation {
        org_id,
        email: format!("invited-{unique}@x.test"),
        role: Role::Editor,
        invited_by: user_id,
        token_hash: format!("invitation-{unique}"),
        expires_at: aos_persistence::Timestamp::now() + time::Duration::days(7),
    };
    let invitation = store.invitations().create(&invitation, by).await.unwrap();
    Ids {
        org: org.to_owned(),
        workflow: workflow.id.to_string(),
        source: source.id.to_string(),
        run: run.id.to_string(),
        finished: finished.id.to_string(),
        dlq: dlq.id.to_string(),
        secret,
        key: key.id.to_string(),
        member: member.id.to_string(),
        template: template.id.to_string(),
        invitation: invitation.id.to_string(),
        unique,
    }
}

async fn audit_len(store: &Store, org: &str) -> u64 {
    store.audit().verify(org.parse().unwrap()).await.unwrap().rows_checked
}

async fn every_endpoint_every_role(backend: Backend) {
    let api = Api::start(backend).await;
    let owner = api.signup("owner").await;
    let org = owner.org_id.clone();
    // Each role as a person (session token) and as an API key of that role.
    let mut callers: Vec<(Option<Role>, String, String)> =
        vec![(Some(Role::Owner), owner.token.clone(), "owner".into())];
    for role in [Role::Admin, Role::Editor, Role::Viewer] {
        let account = api.signup(role.as_str()).await;
        api.add_member(&owner, &org, &account, role.as_str()).await;
        callers.push((Some(role), account.token.clone(), role.as_str().into()));
    }
    for role in Role::ALL {
        let key =
            api.post(&format!("/api/orgs/{org}/api-keys"), &owner.token, json!({ "name": "k", "role": role })).await;
        let key = key.body["key"].as_str().expect("api key").to_owned();
        callers.push((Some(*role), key, format!("{} api key", role.as_str())));
    }
    callers.push((None, api.signup("outsider").await.token, "non-member".into()));
    let foreign_owner = api.signup("foreign").await;
    let foreign = fresh(&api.store, &foreign_owner.org_id, &foreign_owner).await;

    let mut failures = Vec::new();
    let mut checked = 0;
    for endpoint in table() {
        for (role, token, label) in &callers {
            let ids = fresh(&api.store, &org, &owner).await;
            let path = (endpoint.path)(&ids);
            let before = (audit_len(&api.store, &org).await, audit_len(&api.store, &foreign.org).await);
            let reply = api.call(endpoint.method, &path, Some(token), (endpoint.body)(&ids)).await;
            let expected = match role {
                None => Expect::Status(404),
                Some(role) if role.at_least(endpoint.min) => Expect::Success,
                Some(_) => Expect::Status(403),
            };
            checked += 1;
            if !expected.matches(reply.status) {
                failures.push(format!("{} {path} as {label}: {} {}", endpoint.method, reply.status, reply.text));
            }
            if !matches!(expected, Expect::Success) {
                let after = (audit_len(&api.store, &org).await, audit_len(&api.store, &foreign.org).await);
                if before != after {
                    failures.push(format!("{} {path} as {label} was refused but wrote audit rows", endpoint.method));
                }
            }

            // The same endpoint with the other org's ids: 404 for everyone here.
            let path = (endpoint.path)(&foreign);
            let before = audit_len(&api.store, &foreign.org).await;
            let reply = api.call(endpoint.method, &path, Some(token), (endpoint.body)(&foreign)).await;
            checked += 1;
            if reply.status != 404 || reply.code() != "not_found" {
                failures
                    .push(format!("foreign {} {path} as {label}: {} {}", endpoint.method, reply.status, reply.text));
            }
            if audit_len(&api.store, &foreign.org).await != before {
                failures.push(format!("foreign {} {path} as {label} wrote audit rows", endpoint.method));
            }
        }
    }
    // Own org in the path, another org's resource below it: still 404.
    let mixed = [
        ("PATCH", format!("/api/orgs/{org}/members/{}", foreign.member), Some(json!({ "role": "editor" }))),
        ("DELETE", format!("/api/orgs/{org}/members/{}", foreign.member), None),
        ("DELETE", format!("/api/orgs/{org}/api-keys/{}", foreign.key), None),
        ("DELETE", format!("/api/orgs/{org}/invitations/{}", foreign.invitation), None),
        ("PUT", format!("/api/orgs/{org}/secrets/{}", foreign.secret), Some(json!({ "value": "x" }))),
        ("DELETE", format!("/api/orgs/{org}/secrets/{}", foreign.secret), None),
        ("POST", format!("/api/orgs/{org}/dlq/{}/replay", foreign.dlq), None),
        ("POST", format!("/api/orgs/{org}/dlq/{}/discard", foreign.dlq), None),
        (
            "POST",
            format!("/api/orgs/{org}/templates/{}/versions", foreign.template),
            Some(json!({ "workflow_id": foreign.workflow })),
        ),
        (
            "POST",
            format!("/api/orgs/{org}/workflows/import?dry_run=true&into={}", foreign.workflow),
            Some(json!({ "format": "automateos.workflow/v1", "name": "i", "graph": runnable_graph("trigger.manual") })),
        ),
    ];
    for (method, path, body) in mixed {
        let reply = api.call(method, &path, Some(&owner.token), body).await;
        checked += 1;
        if reply.status != 404 {
            failures.push(format!("mixed {method} {path}: {} {}", reply.status, reply.text));
        }
    }
    assert!(failures.is_empty(), "{} of {checked} checks failed:\n{}", failures.len(), failures.join("\n"));
    assert!(checked > 800, "the matrix ran {checked} checks");
    api.finish().await;
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    Success,
    Status(u16),
}

impl Expect {
    fn matches(self, status: u16) -> bool {
        match self {
            Expect::Success => (200..300).contains(&status),
            Expect::Status(expected) => status == expected,
        }
    }
}
