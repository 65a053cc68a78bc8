//! Invitations: found by their token's hash, listed while pending, accepted once (by an existing
//! account or by a new one made with the invited email), refused once used, revoked or expired,
//! and never joined twice by two people racing with one link.

use aos_persistence::testing::TestContext;
use aos_persistence::{
    Invitation, InvitationState, InvitedUser, NewInvitation, Org, Store, StoreError, Timestamp, User,
};
use aos_schema::Role;

use crate::fixtures::{by, owner_with_org, user};

/// A week from now, the usual lifetime.
fn next_week() -> Timestamp {
    Timestamp::now() + time::Duration::days(7)
}

/// An invitation of `org` from `owner` for `email` whose token hashes to `hash`.
async fn invite(store: &Store, (owner, org): (&User, &Org), email: &str, hash: &str, role: Role) -> Invitation {
    invite_until(store, (owner, org), email, hash, role, next_week()).await
}

/// [`invite`], valid until `expires_at`.
async fn invite_until(
    store: &Store,
    (owner, org): (&User, &Org),
    email: &str,
    hash: &str,
    role: Role,
    expires_at: Timestamp,
) -> Invitation {
    let new = NewInvitation {
        org_id: org.id,
        email: email.to_owned(),
        role,
        invited_by: owner.id,
        token_hash: hash.to_owned(),
        expires_at,
    };
    store.invitations().create(&new, by(owner)).await.expect("create invitation")
}

/// The state a refusal names; anything but a closed invitation fails the test.
fn closed(err: StoreError) -> InvitationState {
    match err {
        StoreError::InvitationClosed { state } => state,
        other => panic!("expected a closed invitation, got {other:?}"),
    }
}

fn newcomer(name: &str) -> InvitedUser {
    InvitedUser { name: name.to_owned(), password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned() }
}

async fn invitations_are_found_by_hash_and_listed_while_pending(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let (other_owner, other_org) = owner_with_org(&cx.store).await;
    let pending = invite(&cx.store, (&owner, &org), " Pat@Example.TEST ", "hash-pending", Role::Editor).await;
    assert_eq!(pending.email, "pat@example.test", "emails are kept lowercased");
    assert_eq!((pending.role, pending.invited_by, pending.org_id), (Role::Editor, owner.id, org.id));
    assert_eq!(pending.state_at(Timestamp::now()), InvitationState::Pending);
    let found = cx.store.invitations().by_token_hash("hash-pending").await.unwrap().expect("found by hash");
    assert_eq!(found, pending);
    assert!(cx.store.invitations().by_token_hash("hash-of-nothing").await.unwrap().is_none());

    let revoked = invite(&cx.store, (&owner, &org), "rev@example.test", "hash-revoked", Role::Viewer).await;
    cx.store.invitations().revoke(org.id, revoked.id, by(&owner)).await.unwrap();
    let past = Timestamp::now() - time::Duration::seconds(1);
    invite_until(&cx.store, (&owner, &org), "late@example.test", "hash-expired", Role::Viewer, past).await;
    invite(&cx.store, (&owner, &org), "used@example.test", "hash-used", Role::Viewer).await;
    let joiner = user(&cx.store, "used").await;
    cx.store.invitations().accept("hash-used", joiner.id).await.unwrap();
    invite(&cx.store, (&other_owner, &other_org), "pat@example.test", "hash-other-org", Role::Admin).await;

    let listed = cx.store.invitations().pending(org.id).await.unwrap();
    assert_eq!(listed, vec![pending], "only the pending invitation of this org is listed");
    for (hash, state) in [
        ("hash-revoked", InvitationState::Revoked),
        ("hash-expired", InvitationState::Expired),
        ("hash-used", InvitationState::Accepted),
    ] {
        let invitation = cx.store.invitations().by_token_hash(hash).await.unwrap().expect("still stored");
        assert_eq!(invitation.state_at(Timestamp::now()), state, "{hash}");
    }

    let audit = cx.store.audit().list(org.id, &Default::default()).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
    for action in ["invitation.create", "invitation.revoke", "invitation.accept"] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    assert!(audit.iter().all(|r| !r.detail.contains("hash-")), "no audit row holds a token hash");
}

async fn an_invitation_is_accepted_once(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let invitee = user(&cx.store, "ina").await;
    let invitation = invite(&cx.store, (&owner, &org), &invitee.email, "hash-once", Role::Editor).await;
    let accepted = cx.store.invitations().accept("hash-once", invitee.id).await.unwrap();
    assert_eq!((accepted.id, accepted.accepted_by), (invitation.id, Some(invitee.id)));
    assert!(accepted.accepted_at.is_some());
    assert_eq!(cx.store.orgs().role_of(org.id, invitee.id).await.unwrap(), Some(Role::Editor));

    let second = user(&cx.store, "second").await;
    let refused = cx.store.invitations().accept("hash-once", second.id).await.unwrap_err();
    assert_eq!(closed(refused), InvitationState::Accepted);
    assert_eq!(cx.store.orgs().role_of(org.id, second.id).await.unwrap(), None, "the second person did not join");
    let refused = cx.store.invitations().accept_as_new_user("hash-once", &newcomer("Third")).await.unwrap_err();
    assert_eq!(closed(refused), InvitationState::Accepted);
    assert_eq!(cx.store.orgs().members(org.id).await.unwrap().len(), 2, "owner and the one invitee");
    let stored = cx.store.invitations().by_token_hash("hash-once").await.unwrap().unwrap();
    assert_eq!(stored.accepted_by, Some(invitee.id), "the first acceptance stands");
    let refused = cx.store.invitations().revoke(org.id, invitation.id, by(&owner)).await.unwrap_err();
    assert_eq!(closed(refused), InvitationState::Accepted, "a used invitation is not revoked");

    let joins = cx.store.audit().list(org.id, &Default::default()).await.unwrap();
    let joins: Vec<_> = joins.iter().filter(|r| r.action == "invitation.accept").collect();
    assert_eq!(joins.len(), 1);
    assert_eq!(
        (joins[0].actor.clone(), joins[0].target_id.clone()),
        (format!("user:{}", invitee.id), invitee.id.to_string())
    );

    let unknown = cx.store.invitations().accept("hash-of-nothing", second.id).await.unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound { .. }), "{unknown:?}");
    assert!(!unknown.to_string().contains("hash-of-nothing"), "the error names no hash: {unknown}");
}

async fn expired_and_revoked_invitations_are_refused(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let invitee = user(&cx.store, "late").await;
    let past = Timestamp::now() - time::Duration::seconds(1);
    invite_until(&cx.store, (&owner, &org), &invitee.email, "hash-expired", Role::Viewer, past).await;
    let refused = cx.store.invitations().accept("hash-expired", invitee.id).await.unwrap_err();
    assert_eq!(closed(refused), InvitationState::Expired);

    let revoked = invite(&cx.store, (&owner, &org), &invitee.email, "hash-revoked", Role::Viewer).await;
    cx.store.invitations().revoke(org.id, revoked.id, by(&owner)).await.unwrap();
    cx.store.invitations().revoke(org.id, revoked.id, by(&owner)).await.expect("revoking twice is a no-op");
    let refused = cx.store.invitations().accept("hash-revoked", invitee.id).await.unwrap_err();
    assert_eq!(closed(refused), InvitationState::Revoked);
    assert_eq!(cx.store.orgs().role_of(org.id, invitee.id).await.unwrap(), None);

    let fresh = invite(&cx.store, (&owner, &org), "nobody-yet@example.test", "hash-new-revoked", Role::Admin).await;
    cx.store.invitations().revoke(org.id, fresh.id, by(&owner)).await.unwrap();
    let refused = cx.store.invitations().accept_as_new_user("hash-new-revoked", &newcomer("Nobody")).await.unwrap_err();
    assert_eq!(closed(refused), InvitationState::Revoked);
    assert!(cx.store.orgs().user_by_email("nobody-yet@example.test").await.unwrap().is_none(), "no account was made");

    let (other_owner, other_org) = owner_with_org(&cx.store).await;
    let theirs = invite(&cx.store, (&other_owner, &other_org), "x@example.test", "hash-theirs", Role::Viewer).await;
    let refused = cx.store.invitations().revoke(org.id, theirs.id, by(&owner)).await.unwrap_err();
    assert!(matches!(refused, StoreError::NotFound { .. }), "another org's invitation is not found: {refused:?}");
    let audit = cx.store.audit().list(org.id, &Default::default()).await.unwrap();
    assert_eq!(audit.iter().filter(|r| r.action == "invitation.revoke").count(), 2, "one row per revocation");
}

async fn a_new_person_joins_with_the_invited_email(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let invitation = invite(&cx.store, (&owner, &org), "Newbie@Example.test", "hash-newbie", Role::Editor).await;
    let (newbie, accepted) =
        cx.store.invitations().accept_as_new_user("hash-newbie", &newcomer("Newbie")).await.unwrap();
    assert_eq!((newbie.email.as_str(), newbie.name.as_str()), ("newbie@example.test", "Newbie"));
    assert_eq!((accepted.id, accepted.accepted_by), (invitation.id, Some(newbie.id)));
    assert_eq!(cx.store.orgs().role_of(org.id, newbie.id).await.unwrap(), Some(Role::Editor));
    assert_eq!(cx.store.orgs().memberships_of(newbie.id).await.unwrap().len(), 1, "only the inviting org");
    let refused = cx.store.invitations().accept_as_new_user("hash-newbie", &newcomer("Again")).await.unwrap_err();
    assert_eq!(closed(refused), InvitationState::Accepted);

    // An email that has an account by now: the account is not made, the link still works for it.
    let taken = user_with_email(&cx.store, "taken@example.test").await;
    invite(&cx.store, (&owner, &org), "taken@example.test", "hash-taken", Role::Viewer).await;
    let refused = cx.store.invitations().accept_as_new_user("hash-taken", &newcomer("Twin")).await.unwrap_err();
    assert!(matches!(refused, StoreError::Conflict { .. }), "{refused:?}");
    let still = cx.store.invitations().by_token_hash("hash-taken").await.unwrap().unwrap();
    assert_eq!(still.state_at(Timestamp::now()), InvitationState::Pending, "the failed signup used nothing up");
    cx.store.invitations().accept("hash-taken", taken.id).await.unwrap();
    assert_eq!(cx.store.orgs().role_of(org.id, taken.id).await.unwrap(), Some(Role::Viewer));
}

async fn one_pending_invitation_per_email_and_org(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let first = invite(&cx.store, (&owner, &org), "dup@example.test", "hash-dup-1", Role::Viewer).await;
    let new = NewInvitation {
        org_id: org.id,
        email: "DUP@example.test".into(),
        role: Role::Editor,
        invited_by: owner.id,
        token_hash: "hash-dup-2".into(),
        expires_at: next_week(),
    };
    let refused = cx.store.invitations().create(&new, by(&owner)).await.unwrap_err();
    assert!(matches!(refused, StoreError::Conflict { .. }), "{refused:?}");
    cx.store.invitations().revoke(org.id, first.id, by(&owner)).await.unwrap();
    let second = cx.store.invitations().create(&new, by(&owner)).await.expect("free again once revoked");
    assert_eq!(cx.store.invitations().pending(org.id).await.unwrap(), vec![second]);
}

async fn two_people_racing_with_one_link_join_once(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    invite(&cx.store, (&owner, &org), "race@example.test", "hash-race", Role::Editor).await;
    let mut people = Vec::new();
    for n in 0..8 {
        people.push(user(&cx.store, &format!("racer{n}")).await);
    }
    let tries = people.iter().map(|person| {
        let store = cx.store.clone();
        let id = person.id;
        tokio::spawn(async move { store.invitations().accept("hash-race", id).await })
    });
    let mut joined = 0;
    for attempt in tries.collect::<Vec<_>>() {
        match attempt.await.unwrap() {
            Ok(_) => joined += 1,
            Err(err) => assert_eq!(closed(err), InvitationState::Accepted),
        }
    }
    assert_eq!(joined, 1, "exactly one acceptance wins");
    assert_eq!(cx.store.orgs().members(org.id).await.unwrap().len(), 2, "the owner and the winner");
}

/// An account with exactly `email`.
async fn user_with_email(store: &Store, email: &str) -> User {
    let new = aos_persistence::NewUser {
        email: email.to_owned(),
        name: "Taken".to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
    };
    store.orgs().create_user(&new).await.expect("create user")
}

aos_persistence::conformance_suite!(
    invitations_are_found_by_hash_and_listed_while_pending,
    an_invitation_is_accepted_once,
    expired_and_revoked_invitations_are_refused,
    a_new_person_joins_with_the_invited_email,
    one_pending_invitation_per_email_and_org,
    two_people_racing_with_one_link_join_once,
);
