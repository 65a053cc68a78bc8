//! Webhook sources and deduplicated deliveries.

use aos_persistence::testing::TestContext;
use aos_persistence::{NewWebhookEvent, NewWebhookSource, NewWorkflow, Recorded, StoreError, WebhookToken};
use aos_schema::SecretString;

use crate::fixtures::{by, owner_with_org};

async fn sources_are_found_by_token_hash_and_rotate(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let (_other, other_org) = owner_with_org(&cx.store).await;
    let wf = cx
        .store
        .workflows()
        .create(&NewWorkflow { org_id: org.id, name: "wf".into(), description: String::new() }, by(&owner))
        .await
        .unwrap();
    let hooks = cx.store.webhooks();
    let new = NewWebhookSource {
        org_id: org.id,
        workflow_id: wf.id,
        name: "github".into(),
        token: token("whk_ab-first", "h1", "whk_ab"),
        settings: Default::default(),
    };
    let source = hooks.create_source(&new, by(&owner)).await.unwrap();
    assert_eq!(source.settings, aos_persistence::WebhookSettings::default());
    assert_eq!(hooks.source_by_id(source.id).await.unwrap().id, source.id);
    assert_eq!(hooks.source_by_token_hash("h1").await.unwrap().unwrap().id, source.id);
    assert!(matches!(hooks.source(other_org.id, source.id).await, Err(StoreError::NotFound { .. })));
    let shown = hooks.reveal_token(org.id, source.id).await.unwrap().expect("the token is kept");
    assert_eq!(shown.expose(), "whk_ab-first");
    assert!(matches!(hooks.reveal_token(other_org.id, source.id).await, Err(StoreError::NotFound { .. })));
    hooks.rotate_token(org.id, source.id, &token("whk_cd-second", "h2", "whk_cd"), by(&owner)).await.unwrap();
    assert!(hooks.source_by_token_hash("h1").await.unwrap().is_none(), "the old token stops working");
    assert_eq!(hooks.source_by_token_hash("h2").await.unwrap().unwrap().token_prefix, "whk_cd");
    assert_eq!(hooks.reveal_token(org.id, source.id).await.unwrap().unwrap().expose(), "whk_cd-second");
    assert_eq!(hooks.sources(org.id, wf.id).await.unwrap().len(), 1);
    hooks.delete_source(org.id, source.id, by(&owner)).await.unwrap();
    assert!(hooks.source_by_token_hash("h2").await.unwrap().is_none());
}

async fn the_same_delivery_key_is_recorded_once(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let wf = cx
        .store
        .workflows()
        .create(&NewWorkflow { org_id: org.id, name: "wf".into(), description: String::new() }, by(&owner))
        .await
        .unwrap();
    let hooks = cx.store.webhooks();
    let source = hooks
        .create_source(
            &NewWebhookSource {
                org_id: org.id,
                workflow_id: wf.id,
                name: "s".into(),
                token: token("whk_t", "t", "p"),
                settings: Default::default(),
            },
            by(&owner),
        )
        .await
        .unwrap();
    let delivery = |body: serde_json::Value| NewWebhookEvent {
        source_id: source.id,
        org_id: org.id,
        idempotency_key: "delivery-1".into(),
        headers: serde_json::json!({ "content-type": "application/json" }),
        body,
        query: serde_json::json!({ "page": "2", "tags": ["a", "b"] }),
    };
    let first = hooks.record_event(&delivery(serde_json::json!({ "n": 1 }))).await.unwrap();
    let Recorded::New(first) = first else { panic!("first delivery is new") };
    let again = hooks.record_event(&delivery(serde_json::json!({ "n": 2 }))).await.unwrap();
    let Recorded::Duplicate(again) = again else { panic!("repeat is a duplicate") };
    assert_eq!(again.id, first.id);
    assert_eq!(again.body, serde_json::json!({ "n": 1 }), "the first delivery's body is kept");
    assert_eq!(first.query, serde_json::json!({ "page": "2", "tags": ["a", "b"] }), "and its query");
    let listed = hooks.events(org.id, source.id, Some(1)).await.unwrap();
    assert_eq!(listed[0].query, first.query, "the list reads the query back");
    // concurrent repeats still make one row
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = cx.store.clone();
        let mut d = delivery(serde_json::json!({ "n": n }));
        d.idempotency_key = "delivery-2".into();
        tasks.push(tokio::spawn(async move { store.webhooks().record_event(&d).await.unwrap().is_new() }));
    }
    let mut fresh = 0;
    for task in tasks {
        fresh += usize::from(task.await.unwrap());
    }
    assert_eq!(fresh, 1);
    assert_eq!(hooks.events(org.id, source.id, None).await.unwrap().len(), 2);
}

/// The token is stored sealed (never as text in any table), opens after a key rotation, and a
/// ciphertext moved to another source does not open there.
async fn tokens_are_sealed_at_rest_and_follow_key_rotation(cx: TestContext) {
    const CANARY: &str = "whk_canary-token-8c2f1e";
    let (owner, org) = owner_with_org(&cx.store).await;
    let wf = cx
        .store
        .workflows()
        .create(&NewWorkflow { org_id: org.id, name: "wf".into(), description: String::new() }, by(&owner))
        .await
        .unwrap();
    let hooks = cx.store.webhooks();
    let new = |value: &str, hash: &str| NewWebhookSource {
        org_id: org.id,
        workflow_id: wf.id,
        name: "hook".into(),
        token: token(value, hash, "whk_ca"),
        settings: Default::default(),
    };
    let source = hooks.create_source(&new(CANARY, "hash-a"), by(&owner)).await.unwrap();
    let other = hooks.create_source(&new("whk_other", "hash-b"), by(&owner)).await.unwrap();
    for table in ["webhook_sources", "audit_logs"] {
        let dump = crate::secrets::table_dump(cx.store.db(), table).await;
        assert!(!dump.is_empty());
        assert!(!dump.contains(CANARY), "the token is in {table} as text");
    }
    let rotated = cx.store.keyring().clone().rotated();
    assert_eq!(hooks.reseal_all(&rotated).await.unwrap(), 2);
    assert_eq!(hooks.reseal_all(&rotated).await.unwrap(), 0, "nothing left to re-seal");
    let fresh = aos_persistence::Store::from_db(cx.store.db().clone(), rotated.pruned()).await.unwrap();
    assert_eq!(fresh.webhooks().reveal_token(org.id, source.id).await.unwrap().unwrap().expose(), CANARY);
    // a ciphertext copied onto another source's row is refused, not opened as that source's token
    let copy = "UPDATE webhook_sources SET token_ciphertext = (SELECT token_ciphertext FROM webhook_sources WHERE id = $1), \
                token_nonce = (SELECT token_nonce FROM webhook_sources WHERE id = $1) WHERE id = $2";
    match cx.store.db() {
        aos_persistence::Db::Sqlite(pool) => {
            sqlx::query(copy).bind(source.id.as_uuid()).bind(other.id.as_uuid()).execute(pool).await.unwrap();
        }
        aos_persistence::Db::Postgres(pool) => {
            sqlx::query(copy).bind(source.id.as_uuid()).bind(other.id.as_uuid()).execute(pool).await.unwrap();
        }
    }
    assert!(matches!(fresh.webhooks().reveal_token(org.id, other.id).await, Err(StoreError::Vault(_))));
}

aos_persistence::conformance_suite!(
    sources_are_found_by_token_hash_and_rotate,
    the_same_delivery_key_is_recorded_once,
    tokens_are_sealed_at_rest_and_follow_key_rotation
);

fn token(value: &str, hash: &str, prefix: &str) -> WebhookToken {
    WebhookToken { value: SecretString::new(value), hash: hash.into(), prefix: prefix.into() }
}
