//! The starter templates are seeded into the gallery (once: seeding again publishes nothing), the
//! embedded list names exactly the files in `templates/`, and a starter installs in one call. On
//! SQLite and Postgres.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use aos_gateway::seed::{STARTER_TEMPLATES, seed_starter_templates};
use aos_persistence::Backend;
use serde_json::json;
use support_api::Api;

both_backends!(starters_are_seeded_once_and_install, nodes_seeding_at_once_all_start);

async fn starters_are_seeded_once_and_install(backend: Backend) {
    let api = Api::start(backend).await;
    let first = seed_starter_templates(&api.store).await.unwrap();
    assert_eq!((first.published, first.unchanged), (STARTER_TEMPLATES.len(), 0));
    let again = seed_starter_templates(&api.store).await.unwrap();
    assert_eq!((again.published, again.unchanged), (0, STARTER_TEMPLATES.len()), "seeding is idempotent");

    let alice = api.signup("alice").await;
    let gallery = api.get("/api/gallery?limit=100", &alice.token).await;
    assert!(gallery.body.as_array().unwrap().len() >= 24, "{} templates", gallery.body.as_array().unwrap().len());
    let slack = gallery.body.as_array().unwrap().iter().find(|t| t["slug"] == "webhook-to-slack").expect("a starter");
    let installed = api
        .post(
            &format!("/api/orgs/{}/templates/{}/install", alice.org_id, slack["id"].as_str().unwrap()),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!(installed.status, 201, "{installed:?}");
    assert_eq!(installed.body["missing_secrets"], json!(["SLACK_TOKEN"]));

    let login = api
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "email": "gallery@automateos.invalid", "password": "!system" })),
        )
        .await;
    assert_eq!(login.status, 401, "the system account cannot log in");
    api.finish().await;
}

#[test]
fn the_embedded_list_names_every_template_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.strip_suffix(".json").map(str::to_owned))
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = STARTER_TEMPLATES.iter().map(|(slug, _)| (*slug).to_owned()).collect();
    assert_eq!(embedded, on_disk, "add new template files to STARTER_TEMPLATES in gateway/src/seed.rs");
}

/// Several nodes starting together on one fresh database all seed without failing, and the gallery
/// ends with each starter once, up to date (a node that lost a race counts the winner's rows as
/// unchanged, so the nodes' own counts need not add up).
async fn nodes_seeding_at_once_all_start(backend: Backend) {
    let api = Api::start(backend).await;
    let (a, b, c) = tokio::join!(
        seed_starter_templates(&api.store),
        seed_starter_templates(&api.store),
        seed_starter_templates(&api.store)
    );
    for seeded in [a, b, c] {
        seeded.expect("every node starts");
    }
    let after = seed_starter_templates(&api.store).await.unwrap();
    assert_eq!((after.published, after.unchanged), (0, STARTER_TEMPLATES.len()), "every starter is there, once");
}
