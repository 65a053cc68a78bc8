//! The template gallery: creator profiles, templates and versions, gallery search, installations.

use aos_persistence::testing::TestContext;
use aos_persistence::{
    Db, GalleryFilter, NewInstallation, NewTemplate, NewTemplateVersion, Org, ProfileUpdate, Store, StoreError,
    Template, User,
};
use aos_schema::{OrgId, WorkflowId};

use crate::fixtures::{by, owner_with_org, user};

async fn creator_profiles_upsert_and_handles_are_unique(cx: TestContext) {
    let ada = user(&cx.store, "ada").await;
    let bob = user(&cx.store, "bob").await;
    let templates = cx.store.templates();
    let err = templates.profile(ada.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

    let first = templates.upsert_profile(ada.id, &profile("ada", "Builds bots")).await.unwrap();
    assert_eq!(first.handle, "ada");
    assert_eq!(first.avatar_url, None);
    assert_eq!(templates.profile(ada.id).await.unwrap(), first);
    assert_eq!(templates.profile_by_handle("ada").await.unwrap(), first);

    let mut update = profile("ada-l", "Builds more bots");
    update.avatar_url = Some("https://example.test/ada.png".into());
    let second = templates.upsert_profile(ada.id, &update).await.unwrap();
    assert_eq!(second.bio, "Builds more bots");
    assert_eq!(second.avatar_url.as_deref(), Some("https://example.test/ada.png"));
    assert_eq!(second.created_at, first.created_at, "an update keeps the creation time");
    assert!(second.updated_at >= first.updated_at);
    assert!(matches!(templates.profile_by_handle("ada").await, Err(StoreError::NotFound { .. })));

    let err = templates.upsert_profile(bob.id, &profile("ada-l", "Impostor")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert!(matches!(templates.profile(bob.id).await, Err(StoreError::NotFound { .. })));
}

async fn versions_number_from_one_and_drafts_stay_out_of_the_gallery(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let templates = cx.store.templates();
    let template = create(&cx.store, &owner, &org, "slack-digest", "Slack digest", "chat").await;
    assert_eq!(template.latest_version, 0);
    assert_eq!(template.install_count, 0);
    assert!(matches!(templates.template(template.id).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(templates.template_by_slug("slack-digest").await, Err(StoreError::NotFound { .. })));
    assert!(matches!(templates.latest_version(template.id).await, Err(StoreError::NotFound { .. })));
    assert_eq!(templates.org_template(org.id, template.id).await.unwrap(), template);

    for n in 1..=3 {
        let content = NewTemplateVersion {
            export: format!("{{\"format\":\"automateos.workflow/v1\",\"n\":{n}}}"),
            checksum: format!("sum-{n}"),
            required_secrets: vec!["SLACK_TOKEN".into(), format!("EXTRA_{n}")],
        };
        let version = templates.publish_version(org.id, template.id, &content, by(&owner)).await.unwrap();
        assert_eq!(version.version, n);
        assert_eq!(version.template_id, template.id);
        assert_eq!(version.required_secrets, content.required_secrets);
    }
    let published = templates.template(template.id).await.unwrap();
    assert_eq!(published.latest_version, 3);
    assert_eq!(templates.template_by_slug("slack-digest").await.unwrap(), published);
    let second = templates.version(template.id, 2).await.unwrap();
    assert_eq!(second.checksum, "sum-2");
    assert_eq!(second.export, "{\"format\":\"automateos.workflow/v1\",\"n\":2}");
    assert_eq!(second.required_secrets, ["SLACK_TOKEN", "EXTRA_2"]);
    assert_eq!(templates.latest_version(template.id).await.unwrap().version, 3);
    assert!(matches!(templates.version(template.id, 4).await, Err(StoreError::NotFound { .. })));

    let err = templates
        .create_template(&new_template(&owner, &org, "slack-digest", "Twin", "chat"), by(&owner))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");

    let audit = cx.store.audit().list(org.id, &Default::default()).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|row| row.action.as_str()).collect();
    assert_eq!(actions, ["org.create", "template.create", "template.publish", "template.publish", "template.publish"]);
    assert_eq!(audit[4].target_id, template.id.to_string());
    let detail: serde_json::Value = serde_json::from_str(&audit[4].detail).unwrap();
    assert_eq!(detail["version"], 3);
    assert_eq!(audit[4].actor, format!("user:{}", owner.id));
}

async fn only_the_owning_org_can_publish_or_see_a_draft(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let (intruder, other_org) = owner_with_org(&cx.store).await;
    let templates = cx.store.templates();
    let template = create(&cx.store, &owner, &org, "mine", "Mine", "ops").await;
    let err = templates.publish_version(other_org.id, template.id, &content("x"), by(&intruder)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(matches!(templates.org_template(other_org.id, template.id).await, Err(StoreError::NotFound { .. })));
    assert!(templates.org_templates(other_org.id).await.unwrap().is_empty());
    assert_eq!(templates.org_templates(org.id).await.unwrap(), std::slice::from_ref(&template));
    // the failed publish changed nothing and audited nothing
    assert_eq!(templates.org_template(org.id, template.id).await.unwrap().latest_version, 0);
    let audit = cx.store.audit().list(other_org.id, &Default::default()).await.unwrap();
    assert_eq!(audit.len(), 1, "only the org's creation");
}

async fn concurrent_publishes_get_distinct_version_numbers(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let template = create(&cx.store, &owner, &org, "busy", "Busy", "ops").await;
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = cx.store.clone();
        let actor = by(&owner);
        tasks.push(tokio::spawn(async move {
            let content = content(&format!("v{n}"));
            store.templates().publish_version(org.id, template.id, &content, actor).await.unwrap()
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap().version);
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<i64>>());
    assert_eq!(cx.store.templates().template(template.id).await.unwrap().latest_version, 8);
    assert!(cx.store.audit().verify(org.id).await.unwrap().is_intact());
}

async fn gallery_filters_searches_and_orders_by_installs(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let (installer, installing_org) = owner_with_org(&cx.store).await;
    let store = &cx.store;
    let alerts = published(store, &owner, &org, "alerts", "Alerts to Slack", "chat").await;
    let beacon = published(store, &owner, &org, "beacon", "Beacon uptime", "ops").await;
    let crm = published(store, &owner, &org, "crm", "Contacts sync", "sales").await;
    let digest = published(store, &owner, &org, "digest", "Daily digest", "chat").await;
    let percent = published(store, &owner, &org, "percent", "Error budget", "ops").await;
    let under = published(store, &owner, &org, "under", "Sheet_row copier", "sales").await;
    // a draft never shows, whatever it matches
    create(store, &owner, &org, "draft", "Slack draft", "chat").await;

    let names = |list: Vec<Template>| list.into_iter().map(|t| t.name).collect::<Vec<_>>();
    let all = store.templates().gallery(&GalleryFilter::default()).await.unwrap();
    assert_eq!(
        names(all),
        ["Alerts to Slack", "Beacon uptime", "Contacts sync", "Daily digest", "Error budget", "Sheet_row copier"]
    );

    // installs reorder the gallery: most installed first, ties by name
    for template in [&digest, &digest, &crm] {
        install(store, &installer, &installing_org, template).await;
    }
    let all = store.templates().gallery(&GalleryFilter::default()).await.unwrap();
    assert_eq!(all[0].id, digest.id);
    assert_eq!(all[0].install_count, 2);
    assert_eq!(all[1].id, crm.id);
    assert_eq!(all[2].id, alerts.id);

    let chat = filter(Some("chat"), None);
    assert_eq!(names(store.templates().gallery(&chat).await.unwrap()), ["Daily digest", "Alerts to Slack"]);
    // search ignores case and looks at names and descriptions
    let slack = filter(None, Some("SLACK"));
    let found = names(store.templates().gallery(&slack).await.unwrap());
    assert_eq!(found, ["Alerts to Slack", "Beacon uptime"], "beacon's description mentions slack");
    let ops_slack = filter(Some("ops"), Some("slack"));
    assert_eq!(store.templates().gallery(&ops_slack).await.unwrap(), [refetch(store, &beacon).await]);
    // LIKE wildcards in the search text are literal
    let percent_sign = filter(None, Some("%"));
    assert_eq!(store.templates().gallery(&percent_sign).await.unwrap(), [refetch(store, &percent).await]);
    let underscore = filter(None, Some("_"));
    assert_eq!(store.templates().gallery(&underscore).await.unwrap(), [refetch(store, &under).await]);
    let nothing = filter(None, Some("zebra"));
    assert!(store.templates().gallery(&nothing).await.unwrap().is_empty());
    let blank = filter(None, Some("   "));
    assert_eq!(store.templates().gallery(&blank).await.unwrap().len(), 6, "blank search is no search");

    // paging
    let page = GalleryFilter { limit: Some(2), offset: Some(1), ..GalleryFilter::default() };
    let ids: Vec<_> = store.templates().gallery(&page).await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, [crm.id, alerts.id]);
}

async fn installs_count_on_the_template_and_list_per_org(cx: TestContext) {
    let (creator, creator_org) = owner_with_org(&cx.store).await;
    let (installer, org) = owner_with_org(&cx.store).await;
    let templates = cx.store.templates();
    let template = published(&cx.store, &creator, &creator_org, "hook", "Hook to sheet", "data").await;
    templates.publish_version(creator_org.id, template.id, &content("v2"), by(&creator)).await.unwrap();
    let workflow = insert_workflow(cx.store.db(), org.id).await;
    let new = NewInstallation { org: org.id, template: template.id, version: 2, workflow };
    let installation = templates.record_installation(&new, by(&installer)).await.unwrap();
    assert_eq!(installation.org_id, org.id);
    assert_eq!(installation.template_version, 2);
    assert_eq!(installation.workflow_id, workflow);
    assert_eq!(installation.installed_by, format!("user:{}", installer.id));
    assert_eq!(templates.template(template.id).await.unwrap().install_count, 1);

    let second = insert_workflow(cx.store.db(), org.id).await;
    let again = NewInstallation { org: org.id, template: template.id, version: 1, workflow: second };
    let later = templates.record_installation(&again, by(&installer)).await.unwrap();
    assert_eq!(templates.installations(org.id).await.unwrap(), [installation.clone(), later]);
    assert!(templates.installations(creator_org.id).await.unwrap().is_empty());
    assert_eq!(templates.template(template.id).await.unwrap().install_count, 2);

    // a missing version, or a workflow of another org, is not found and counts nothing
    let missing = NewInstallation { org: org.id, template: template.id, version: 9, workflow };
    let err = templates.record_installation(&missing, by(&installer)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let foreign_workflow = insert_workflow(cx.store.db(), creator_org.id).await;
    let foreign = NewInstallation { org: org.id, template: template.id, version: 1, workflow: foreign_workflow };
    let err = templates.record_installation(&foreign, by(&installer)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(templates.template(template.id).await.unwrap().install_count, 2);
    assert_eq!(templates.installations(org.id).await.unwrap().len(), 2);

    // the install is audited in the installing org, not the creator's
    let audit = cx.store.audit().list(org.id, &Default::default()).await.unwrap();
    let installs: Vec<_> = audit.iter().filter(|row| row.action == "template.install").collect();
    assert_eq!(installs.len(), 2);
    assert_eq!(installs[0].target_id, installation.id.to_string());
    let detail: serde_json::Value = serde_json::from_str(&installs[0].detail).unwrap();
    assert_eq!(detail["template"], template.id.to_string());
    assert_eq!(detail["version"], 2);
    let creator_audit = cx.store.audit().list(creator_org.id, &Default::default()).await.unwrap();
    assert!(creator_audit.iter().all(|row| row.action != "template.install"));
}

async fn creator_pages_list_published_templates_with_install_counts(cx: TestContext) {
    let (creator, org) = owner_with_org(&cx.store).await;
    let (installer, installing_org) = owner_with_org(&cx.store).await;
    let colleague = user(&cx.store, "cole").await;
    let store = &cx.store;
    let quiet = published(store, &creator, &org, "quiet", "Quiet one", "ops").await;
    let popular = published(store, &creator, &org, "popular", "Popular one", "ops").await;
    create(store, &creator, &org, "unpublished", "Unpublished", "ops").await;
    let theirs = NewTemplate { creator: colleague.id, ..new_template(&creator, &org, "theirs", "Theirs", "ops") };
    let theirs = store.templates().create_template(&theirs, by(&creator)).await.unwrap();
    store.templates().publish_version(org.id, theirs.id, &content("t"), by(&creator)).await.unwrap();
    install(store, &installer, &installing_org, &popular).await;

    let listed = store.templates().creator_templates(creator.id).await.unwrap();
    let summary: Vec<(&str, i64)> = listed.iter().map(|t| (t.slug.as_str(), t.install_count)).collect();
    assert_eq!(summary, [("popular", 1), ("quiet", 0)]);
    assert_eq!(listed[1].id, quiet.id);
    let theirs_listed = store.templates().creator_templates(colleague.id).await.unwrap();
    assert_eq!(theirs_listed.len(), 1);
    assert_eq!(theirs_listed[0].id, theirs.id);
}

fn profile(handle: &str, bio: &str) -> ProfileUpdate {
    ProfileUpdate { handle: handle.into(), display_name: handle.to_uppercase(), bio: bio.into(), avatar_url: None }
}

fn new_template(creator: &User, org: &Org, slug: &str, name: &str, category: &str) -> NewTemplate {
    let description = match slug {
        "beacon" => "Pings a URL and posts to slack when it fails".to_owned(),
        "percent" => "Tracks the 100% uptime promise".to_owned(),
        _ => format!("The {name} template"),
    };
    NewTemplate {
        org: org.id,
        creator: creator.id,
        slug: slug.into(),
        name: name.into(),
        description,
        category: category.into(),
    }
}

fn content(tag: &str) -> NewTemplateVersion {
    NewTemplateVersion {
        export: format!("{{\"format\":\"automateos.workflow/v1\",\"name\":\"{tag}\"}}"),
        checksum: format!("sum-{tag}"),
        required_secrets: Vec::new(),
    }
}

fn filter(category: Option<&str>, search: Option<&str>) -> GalleryFilter {
    GalleryFilter {
        category: category.map(str::to_owned),
        search: search.map(str::to_owned),
        ..GalleryFilter::default()
    }
}

/// A draft template of `org`.
async fn create(store: &Store, creator: &User, org: &Org, slug: &str, name: &str, category: &str) -> Template {
    store.templates().create_template(&new_template(creator, org, slug, name, category), by(creator)).await.unwrap()
}

/// A template of `org` with one published version.
async fn published(store: &Store, creator: &User, org: &Org, slug: &str, name: &str, category: &str) -> Template {
    let template = create(store, creator, org, slug, name, category).await;
    store.templates().publish_version(org.id, template.id, &content(slug), by(creator)).await.unwrap();
    refetch(store, &template).await
}

async fn refetch(store: &Store, template: &Template) -> Template {
    store.templates().template(template.id).await.unwrap()
}

/// Installs the latest version of `template` into `org` as a fresh workflow.
async fn install(store: &Store, installer: &User, org: &Org, template: &Template) {
    let workflow = insert_workflow(store.db(), org.id).await;
    let version = store.templates().latest_version(template.id).await.unwrap().version;
    let new = NewInstallation { org: org.id, template: template.id, version, workflow };
    store.templates().record_installation(&new, by(installer)).await.unwrap();
}

/// A bare workflow row for installations to point at (the workflows repository is not needed for
/// these tests).
async fn insert_workflow(db: &Db, org: OrgId) -> WorkflowId {
    let id = WorkflowId::new();
    let now = aos_persistence::now();
    let sql = "INSERT INTO workflows (id, org_id, name, description, enabled, current_version, \
               created_by, created_at, updated_at) VALUES ($1, $2, 'installed', '', $3, NULL, 'system', $4, $4)";
    match db {
        Db::Sqlite(pool) => {
            sqlx::query(sql).bind(id.as_uuid()).bind(org.as_uuid()).bind(true).bind(now).execute(pool).await.unwrap();
        }
        Db::Postgres(pool) => {
            sqlx::query(sql).bind(id.as_uuid()).bind(org.as_uuid()).bind(true).bind(now).execute(pool).await.unwrap();
        }
    }
    id
}

aos_persistence::conformance_suite!(
    creator_profiles_upsert_and_handles_are_unique,
    versions_number_from_one_and_drafts_stay_out_of_the_gallery,
    only_the_owning_org_can_publish_or_see_a_draft,
    concurrent_publishes_get_distinct_version_numbers,
    gallery_filters_searches_and_orders_by_installs,
    installs_count_on_the_template_and_list_per_org,
    creator_pages_list_published_templates_with_install_counts,
);
