//! Tenancy: users, orgs, memberships, API keys.

use aos_persistence::testing::TestContext;
use aos_persistence::{NewApiKey, NewUser, StoreError};
use aos_schema::Role;

use crate::fixtures::{by, owner_with_org, user};

async fn signup_creates_user_org_and_owner_membership(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    assert_eq!(cx.store.orgs().role_of(org.id, owner.id).await.unwrap(), Some(Role::Owner));
    assert_eq!(cx.store.orgs().org(org.id).await.unwrap(), org);
    let found = cx.store.orgs().user_by_email(&owner.email.to_uppercase()).await.unwrap().unwrap();
    assert_eq!(found.id, owner.id);
    let audit = cx.store.audit().list(org.id, &Default::default()).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "org.create");
}

async fn duplicate_email_is_a_conflict_and_creates_nothing(cx: TestContext) {
    let (owner, _org) = owner_with_org(&cx.store).await;
    let again = NewUser { email: owner.email.clone(), name: "Twin".into(), password_hash: "x".into() };
    let err = cx.store.orgs().create_user_with_org(&again, "Other", "other-org").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    // the org of the failed signup was rolled back with it
    let retry = NewUser { email: "fresh@example.test".into(), name: "Fresh".into(), password_hash: "x".into() };
    cx.store.orgs().create_user_with_org(&retry, "Other", "other-org").await.expect("slug is free again");
}

async fn members_roles_change_and_leave(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let viewer = user(&cx.store, "vera").await;
    cx.store.orgs().set_member(org.id, viewer.id, Role::Viewer, by(&owner)).await.unwrap();
    assert_eq!(cx.store.orgs().role_of(org.id, viewer.id).await.unwrap(), Some(Role::Viewer));
    cx.store.orgs().set_member(org.id, viewer.id, Role::Editor, by(&owner)).await.unwrap();
    assert_eq!(cx.store.orgs().role_of(org.id, viewer.id).await.unwrap(), Some(Role::Editor));
    assert_eq!(cx.store.orgs().members(org.id).await.unwrap().len(), 2);
    assert_eq!(cx.store.orgs().memberships_of(viewer.id).await.unwrap().len(), 1);
    cx.store.orgs().remove_member(org.id, viewer.id, by(&owner)).await.unwrap();
    assert_eq!(cx.store.orgs().role_of(org.id, viewer.id).await.unwrap(), None);
    let err = cx.store.orgs().remove_member(org.id, viewer.id, by(&owner)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }));
}

async fn api_keys_are_found_by_hash_until_revoked_and_scoped_by_org(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let (_other_owner, other_org) = owner_with_org(&cx.store).await;
    let new = NewApiKey {
        org_id: org.id,
        user_id: owner.id,
        name: "ci".into(),
        prefix: "aos_ab12".into(),
        key_hash: "hash-of-the-key".into(),
        role: Role::Editor,
    };
    let key = cx.store.orgs().create_api_key(&new, by(&owner)).await.unwrap();
    let used = cx.store.orgs().use_api_key("hash-of-the-key").await.unwrap().unwrap();
    assert_eq!(used.id, key.id);
    assert!(used.last_used_at.is_some());
    let err = cx.store.orgs().revoke_api_key(other_org.id, key.id, by(&owner)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "another org's key is not found");
    cx.store.orgs().revoke_api_key(org.id, key.id, by(&owner)).await.unwrap();
    assert!(cx.store.orgs().use_api_key("hash-of-the-key").await.unwrap().is_none());
    assert_eq!(cx.store.orgs().api_keys(org.id).await.unwrap().len(), 1);
}

aos_persistence::conformance_suite!(
    signup_creates_user_org_and_owner_membership,
    duplicate_email_is_a_conflict_and_creates_nothing,
    members_roles_change_and_leave,
    api_keys_are_found_by_hash_until_revoked_and_scoped_by_org,
);
