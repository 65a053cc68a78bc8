//! Workflows over real HTTP on SQLite and Postgres: CRUD, draft graph, publish (and its refusal
//! with every problem listed), versions, revert, the byte-stable export, import, the dry run with
//! its graph diff, and n8n workflow files imported through the same endpoint.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use aos_persistence::Backend;
use aos_schema::Role;
use serde_json::{Value, json};
use support_api::{Api, runnable_graph};

both_backends!(workflow_lifecycle, import_export_roundtrip_and_dry_run, members_and_roles);

async fn workflow_lifecycle(backend: Backend) {
    let api = Api::start(backend).await;
    let alice = api.signup("alice").await;
    let org = &alice.org_id;
    let created = api.post(&format!("/api/orgs/{org}/workflows"), &alice.token, json!({ "name": "Greeter" })).await;
    assert_eq!(created.status, 201, "{created:?}");
    let made = created.decoded::<aos_api::Workflow>();
    assert_eq!((made.name.as_str(), made.enabled, made.current_version), ("Greeter", true, None));
    let id = made.id.to_string();
    let read = api.get(&format!("/api/workflows/{id}"), &alice.token).await;
    assert_eq!(read.decoded::<aos_api::WorkflowDetail>().workflow, made);
    assert_eq!(read.body["graph"], json!({ "nodes": [], "edges": [] }));

    let put = api
        .call("PUT", &format!("/api/workflows/{id}/graph"), Some(&alice.token), Some(runnable_graph("trigger.manual")))
        .await;
    assert_eq!(put.status, 200, "{put:?}");
    let read = api.get(&format!("/api/workflows/{id}"), &alice.token).await.decoded::<aos_api::WorkflowDetail>();
    assert_eq!(read.graph.nodes.len(), 2);
    assert_eq!(read.workflow.name, "Greeter");

    let published = api.post(&format!("/api/workflows/{id}/publish"), &alice.token, json!({})).await;
    assert_eq!(published.status, 201, "{published:?}");
    let aos_api::Published { version, checksum } = published.decoded();
    assert_eq!(version, 1);
    assert_eq!(checksum.len(), 64);

    // A broken draft: every problem is listed, nothing is published.
    let broken = json!({ "nodes": [
        { "id": "a", "kind": "no.such.kind", "label": "", "position": { "x": 0.0, "y": 0.0 }, "config": {} }
    ], "edges": [ { "id": "e", "from": "a", "from_port": "out", "to": "ghost", "to_port": "in" } ] });
    assert_eq!(
        api.call("PUT", &format!("/api/workflows/{id}/graph"), Some(&alice.token), Some(broken)).await.status,
        200
    );
    let refused = api.post(&format!("/api/workflows/{id}/publish"), &alice.token, json!({})).await;
    assert_eq!((refused.status, refused.code()), (422, "invalid_workflow"), "{refused:?}");
    let details = refused.decoded::<aos_api::ErrorBody>().error.details.unwrap_or_default();
    let codes: Vec<&str> = details.iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(codes.contains(&"unknown_kind") && codes.contains(&"dangling_edge"), "{codes:?}");
    let versions = api.get(&format!("/api/workflows/{id}/versions"), &alice.token).await;
    let versions = versions.decoded::<Vec<aos_api::VersionSummary>>();
    assert_eq!((versions.len(), versions[0].version, &versions[0].checksum), (1, 1, &checksum));

    // Revert to version 1 brings its graph back as the draft.
    let reverted = api.post(&format!("/api/workflows/{id}/versions/1/revert"), &alice.token, json!({})).await;
    assert_eq!(reverted.status, 200, "{reverted:?}");
    assert_eq!(reverted.decoded::<aos_api::Published>(), aos_api::Published { version: 1, checksum: checksum.clone() });
    let read = api.get(&format!("/api/workflows/{id}"), &alice.token).await;
    let kinds: Vec<&str> =
        read.body["graph"]["nodes"].as_array().unwrap().iter().filter_map(|n| n["kind"].as_str()).collect();
    assert_eq!(kinds, ["data.transform", "trigger.manual"], "the published graph is the draft again");
    let version = api.get(&format!("/api/workflows/{id}/versions/1"), &alice.token).await;
    let version = version.decoded::<aos_api::VersionDetail>();
    assert_eq!(version.summary.checksum, checksum);
    assert_eq!(version.export["format"], "automateos.workflow/v1");
    assert_eq!(version.graph().map(|g| g.nodes.len()), Some(2), "the version's graph reads from its export");
    assert_eq!(api.get(&format!("/api/workflows/{id}/versions/9"), &alice.token).await.status, 404);
    let same = api.get(&format!("/api/workflows/{id}/versions/1/diff/1"), &alice.token).await;
    assert_eq!(same.status, 200, "{same:?}");
    let diff = same.decoded::<aos_api::VersionDiff>();
    assert!((diff.from, diff.to, diff.changes.identical) == (1, 1, true), "{same:?}");
    assert_eq!(api.get(&format!("/api/workflows/{id}/versions/1/diff/2"), &alice.token).await.status, 404);

    let renamed =
        api.call("PATCH", &format!("/api/workflows/{id}"), Some(&alice.token), Some(json!({ "name": "Hello" }))).await;
    assert_eq!((renamed.status, renamed.decoded::<aos_api::Workflow>().name.as_str()), (200, "Hello"));
    let list = api.get(&format!("/api/orgs/{org}/workflows"), &alice.token).await;
    let list = list.decoded::<Vec<aos_api::Workflow>>();
    assert_eq!((list.len(), list[0].current_version), (1, Some(1)));
    let deleted = api.call("DELETE", &format!("/api/workflows/{id}"), Some(&alice.token), None).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(api.get(&format!("/api/workflows/{id}"), &alice.token).await.status, 404);
    api.finish().await;
}

async fn import_export_roundtrip_and_dry_run(backend: Backend) {
    let api = Api::start(backend).await;
    let alice = api.signup("alice").await;
    let org = &alice.org_id;
    let file = json!({
        "format": "automateos.workflow/v1",
        "name": "Imported",
        "graph": runnable_graph("trigger.manual"),
    });
    let imported = api
        .raw("POST", &format!("/api/orgs/{org}/workflows/import"), Some(&alice.token), file.to_string().into_bytes())
        .await;
    assert_eq!(imported.status, 201, "{imported:?}");
    let made = imported.decoded::<aos_api::Imported>();
    assert_eq!((made.workflow.name.as_str(), made.n8n.is_none()), ("Imported", true));
    let id = made.workflow.id.to_string();
    let first = api.get(&format!("/api/workflows/{id}/export"), &alice.token).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["format"], "automateos.workflow/v1");

    // export → import → export: the same bytes (into another org, where the name is free)
    let bob = api.signup("bob").await;
    let again = api
        .raw(
            "POST",
            &format!("/api/orgs/{}/workflows/import", bob.org_id),
            Some(&bob.token),
            first.text.clone().into_bytes(),
        )
        .await;
    assert_eq!(again.status, 201);
    let second = api.get(&format!("/api/workflows/{}/export", again.body["id"].as_str().unwrap()), &bob.token).await;
    assert_eq!(first.text, second.text);
    // imported again where the name is taken: a name a person can tell apart
    let twice = api
        .raw("POST", &format!("/api/orgs/{org}/workflows/import"), Some(&alice.token), first.text.clone().into_bytes())
        .await;
    assert_eq!(twice.status, 201);
    assert_eq!(twice.decoded::<aos_api::Imported>().workflow.name, "Imported (2)");

    // A dry run against the first workflow writes nothing and says what would change.
    let before = api.audit_rows(org).await;
    let mut changed: Value = serde_json::from_str(&first.text).unwrap();
    changed["graph"]["nodes"][1]["label"] = json!("Renamed");
    let dry = api
        .raw(
            "POST",
            &format!("/api/orgs/{org}/workflows/import?dry_run=true&into={id}"),
            Some(&alice.token),
            changed.to_string().into_bytes(),
        )
        .await;
    assert_eq!(dry.status, 200, "{dry:?}");
    let preview = dry.decoded::<aos_api::ImportPreview>();
    assert!(preview.dry_run);
    let changes = preview.changes.expect("changes against the workflow");
    assert!(!changes.identical);
    assert_eq!(changes.diff.nodes_changed.len(), 1, "one node relabelled: {dry:?}");
    let same = api
        .raw(
            "POST",
            &format!("/api/orgs/{org}/workflows/import?dry_run=true&into={id}"),
            Some(&alice.token),
            first.text.clone().into_bytes(),
        )
        .await;
    assert_eq!(same.body["changes"]["identical"], true);
    assert_eq!(api.audit_rows(org).await, before, "a dry run writes nothing");
    assert_eq!(api.get(&format!("/api/orgs/{org}/workflows"), &alice.token).await.body.as_array().unwrap().len(), 2);

    // n8n workflow files (written after n8n's export format) import through the same endpoint, with
    // a report of what did not map and the secrets to set.
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/tests/fixtures/n8n");
    let mut imported = 0;
    for name in ["order-alerts.json", "code-and-community.json", "weekly-digest.json"] {
        let bytes = std::fs::read(fixtures.join(name)).unwrap();
        let reply = api.raw("POST", &format!("/api/orgs/{org}/workflows/import"), Some(&alice.token), bytes).await;
        assert_eq!(reply.status, 201, "{name}: {reply:?}");
        let made = reply.decoded::<aos_api::Imported>();
        assert!(made.n8n.is_some(), "{name}: {reply:?}");
        let id = made.workflow.id;
        let read = api.get(&format!("/api/workflows/{id}"), &alice.token).await;
        assert!(!read.body["graph"]["nodes"].as_array().unwrap().is_empty(), "{name}: the draft holds the graph");
        imported += 1;
    }
    // an expression with no translation imports, is named on its node and field, and is refused
    // at publish: it never reaches a run to fail there
    let untranslatable = json!({ "name": "Log to CRM", "nodes": [
        { "name": "Hook", "type": "n8n-nodes-base.webhook", "typeVersion": 2, "position": [0, 0],
          "parameters": { "httpMethod": "POST", "path": "crm" } },
        { "name": "Log to CRM", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2, "position": [220, 0],
          "parameters": { "method": "POST", "url": "https://crm.example.test/log", "sendBody": true,
            "specifyBody": "json", "jsonBody": "={{ $json.items.reduce((sum, item) => sum + item.price, 0) }}" } }
    ], "connections": { "Hook": { "main": [[ { "node": "Log to CRM", "type": "main", "index": 0 } ]] } } });
    let reply = api
        .raw(
            "POST",
            &format!("/api/orgs/{org}/workflows/import"),
            Some(&alice.token),
            untranslatable.to_string().into_bytes(),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let made = reply.decoded::<aos_api::Imported>();
    imported += 1;
    let refused = api.post(&format!("/api/workflows/{}/publish", made.workflow.id), &alice.token, json!({})).await;
    assert_eq!((refused.status, refused.code()), (422, "invalid_workflow"), "{refused:?}");
    let details = refused.decoded::<aos_api::ErrorBody>().error.details.unwrap_or_default();
    let bad: Vec<&serde_json::Value> = details.iter().filter(|d| d["code"] == "bad_expression").collect();
    assert_eq!(bad.len(), 1, "one expression does not parse: {details:?}");
    assert!(bad[0]["node"].as_str().is_some_and(|n| !n.is_empty()) && bad[0]["field"] == "body", "{details:?}");
    assert!(refused.text.contains("does not parse at line 1"), "{refused:?}");
    let versions = api.get(&format!("/api/workflows/{}/versions", made.workflow.id), &alice.token).await;
    assert_eq!(versions.body.as_array().map(Vec::len), Some(0), "nothing was published: {versions:?}");

    let order = std::fs::read(fixtures.join("order-alerts.json")).unwrap();
    let dry =
        api.raw("POST", &format!("/api/orgs/{org}/workflows/import?dry_run=true"), Some(&alice.token), order).await;
    assert_eq!(dry.status, 200, "{dry:?}");
    assert_eq!(dry.decoded::<aos_api::ImportPreview>().nodes, 5, "{dry:?}");
    assert!(dry.body["required_secrets"].as_array().unwrap().iter().any(|s| s == "SLACK_TOKEN"), "{dry:?}");
    let code = std::fs::read(fixtures.join("code-and-community.json")).unwrap();
    let reply =
        api.raw("POST", &format!("/api/orgs/{org}/workflows/import?dry_run=true"), Some(&alice.token), code).await;
    let report = reply.decoded::<aos_api::ImportPreview>().n8n.expect("an n8n report");
    assert!(!report.unmapped.is_empty(), "Code nodes are listed: {reply:?}");
    let broken = json!({ "name": "x", "nodes": [ { "name": "A", "type": "n8n-nodes-base.set", "parameters": {} } ],
        "connections": { "A": { "main": [[ { "node": "Nowhere", "type": "main", "index": 0 } ]] } } });
    let refused = api
        .raw("POST", &format!("/api/orgs/{org}/workflows/import"), Some(&alice.token), broken.to_string().into_bytes())
        .await;
    assert_eq!((refused.status, refused.code()), (422, "unknown_node"), "{refused:?}");
    let other = json!({ "format": "automateos.workflow/v9", "name": "x", "graph": { "nodes": [], "edges": [] } });
    let refused = api
        .raw("POST", &format!("/api/orgs/{org}/workflows/import"), Some(&alice.token), other.to_string().into_bytes())
        .await;
    assert_eq!((refused.status, refused.code()), (422, "unsupported_format"));
    let dup = json!({ "format": "automateos.workflow/v1", "name": "x", "graph": { "nodes": [
        { "id": "a", "kind": "trigger.manual", "label": "", "position": { "x": 0.0, "y": 0.0 }, "config": {} },
        { "id": "a", "kind": "trigger.manual", "label": "", "position": { "x": 0.0, "y": 0.0 }, "config": {} }
    ], "edges": [] } });
    let refused = api
        .raw("POST", &format!("/api/orgs/{org}/workflows/import"), Some(&alice.token), dup.to_string().into_bytes())
        .await;
    assert_eq!((refused.status, refused.code()), (422, "duplicate_node_id"));
    assert_eq!(
        api.get(&format!("/api/orgs/{org}/workflows"), &alice.token).await.body.as_array().unwrap().len(),
        2 + imported
    );
    api.finish().await;
}

async fn members_and_roles(backend: Backend) {
    let api = Api::start(backend).await;
    let alice = api.signup("alice").await;
    let bob = api.signup("bob").await;
    let org = &alice.org_id;
    api.add_member(&alice, org, &bob, "viewer").await;
    let again = api
        .post(&format!("/api/orgs/{org}/members"), &alice.token, json!({ "email": bob.email, "role": "editor" }))
        .await;
    assert_eq!((again.status, again.code()), (409, "already_member"));
    let members = api.get(&format!("/api/orgs/{org}/members"), &bob.token).await;
    let members: Vec<aos_api::Member> = serde_json::from_value(members.body).unwrap();
    let roles: Vec<(&str, Role)> = members.iter().map(|m| (m.email.as_str(), m.role)).collect();
    assert_eq!(roles.len(), 2);
    assert!(
        roles.contains(&(alice.email.as_str(), Role::Owner)) && roles.contains(&(bob.email.as_str(), Role::Viewer))
    );
    let made = api.post(&format!("/api/orgs/{org}/workflows"), &bob.token, json!({ "name": "x" })).await;
    assert_eq!((made.status, made.code()), (403, "forbidden"), "a viewer cannot create");
    let promoted = api
        .call(
            "PATCH",
            &format!("/api/orgs/{org}/members/{}", bob.user_id),
            Some(&alice.token),
            Some(json!({ "role": "admin" })),
        )
        .await;
    assert_eq!(promoted.status, 200, "{promoted:?}");
    let promoted: aos_api::Member = serde_json::from_value(promoted.body).unwrap();
    assert_eq!((promoted.user_id.to_string(), promoted.role), (bob.user_id.to_string(), Role::Admin));
    let owner_grant = api
        .call(
            "PATCH",
            &format!("/api/orgs/{org}/members/{}", bob.user_id),
            Some(&bob.token),
            Some(json!({ "role": "owner" })),
        )
        .await;
    assert_eq!(owner_grant.status, 403, "only owners make owners");
    let demote_owner = api
        .call(
            "PATCH",
            &format!("/api/orgs/{org}/members/{}", alice.user_id),
            Some(&alice.token),
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert_eq!((demote_owner.status, demote_owner.code()), (409, "last_owner"));
    let orgs = api.get("/api/orgs", &bob.token).await;
    assert_eq!(orgs.body.as_array().unwrap().len(), 2);
    let removed =
        api.call("DELETE", &format!("/api/orgs/{org}/members/{}", bob.user_id), Some(&alice.token), None).await;
    assert_eq!(removed.status, 204);
    assert_eq!(api.get(&format!("/api/orgs/{org}/workflows"), &bob.token).await.status, 404, "no longer a member");
    let unknown = api
        .post(&format!("/api/orgs/{org}/members"), &alice.token, json!({ "email": "ghost@x.test", "role": "viewer" }))
        .await;
    assert_eq!(unknown.status, 404);
    api.finish().await;
}
