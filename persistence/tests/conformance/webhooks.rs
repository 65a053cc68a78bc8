//! Webhook sources and deduplicated deliveries.

use aos_persistence::testing::TestContext;
use aos_persistence::{NewWebhookEvent, NewWebhookSource, NewWorkflow, Recorded, StoreError};

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
        token_hash: "h1".into(),
        token_prefix: "whk_ab".into(),
        settings: Default::default(),
    };
    let source = hooks.create_source(&new, by(&owner)).await.unwrap();
    assert_eq!(source.settings, aos_persistence::WebhookSettings::default());
    assert_eq!(hooks.source_by_id(source.id).await.unwrap().id, source.id);
    assert_eq!(hooks.source_by_token_hash("h1").await.unwrap().unwrap().id, source.id);
    assert!(matches!(hooks.source(other_org.id, source.id).await, Err(StoreError::NotFound { .. })));
    hooks.rotate_token(org.id, source.id, ("h2", "whk_cd"), by(&owner)).await.unwrap();
    assert!(hooks.source_by_token_hash("h1").await.unwrap().is_none(), "the old token stops working");
    assert_eq!(hooks.source_by_token_hash("h2").await.unwrap().unwrap().token_prefix, "whk_cd");
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
                token_hash: "t".into(),
                token_prefix: "p".into(),
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
    };
    let first = hooks.record_event(&delivery(serde_json::json!({ "n": 1 }))).await.unwrap();
    let Recorded::New(first) = first else { panic!("first delivery is new") };
    let again = hooks.record_event(&delivery(serde_json::json!({ "n": 2 }))).await.unwrap();
    let Recorded::Duplicate(again) = again else { panic!("repeat is a duplicate") };
    assert_eq!(again.id, first.id);
    assert_eq!(again.body, serde_json::json!({ "n": 1 }), "the first delivery's body is kept");
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

aos_persistence::conformance_suite!(sources_are_found_by_token_hash_and_rotate, the_same_delivery_key_is_recorded_once);
