//! Invitations through the real server, on SQLite and Postgres: an owner invites an email that has
//! no account, the link's page reads what it offers without signing in, the new person signs up
//! through it, joins with the invited role and opens the org's workflow; the link works once;
//! an existing account accepts only with the invited email; expired, revoked and unknown links
//! are refused with their reason; only admins invite, only owners invite owners; the token is
//! shown once, stored as a hash, and appears in no listing, audit row or log line.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;
#[path = "support/process.rs"]
mod support_process;

use aos_api::{CreatedInvitation, Invitation, InvitationPreview, Me, OrgView, SignedUp};
use aos_persistence::{Backend, Timestamp};
use aos_schema::Role;
use serde_json::json;
use support_api::{Account, Api};

both_backends!(
    a_new_person_signs_up_through_the_link_and_opens_the_orgs_workflow,
    only_admins_invite_and_only_owners_invite_owners,
    an_existing_account_accepts_with_the_invited_email_only,
    expired_revoked_and_unknown_links_are_refused,
);

const PASSWORD: &str = "correct horse battery";

/// A fresh email no account has.
fn new_email(name: &str) -> String {
    format!("{name}-{}@example.test", uuid::Uuid::new_v4().simple())
}

/// Invites `email` to `org` as `role`, as `by`; fails unless created.
async fn invite(api: &Api, by: &Account, org: &str, email: &str, role: &str) -> CreatedInvitation {
    let reply =
        api.post(&format!("/api/orgs/{org}/invitations"), &by.token, json!({ "email": email, "role": role })).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    reply.decoded()
}

/// The part of a token after its prefix: what must never leak.
fn secret_part(token: &str) -> &str {
    token.strip_prefix("aosi_").expect("an invitation token")
}

async fn a_new_person_signs_up_through_the_link_and_opens_the_orgs_workflow(backend: Backend) {
    let api = Api::start(backend).await;
    let owner = api.signup("olive").await;
    let org = owner.org_id.clone();
    let workflow = api.post(&format!("/api/orgs/{org}/workflows"), &owner.token, json!({ "name": "Shared" })).await;
    let workflow = workflow.body["id"].as_str().expect("workflow id").to_owned();
    let email = new_email("pat");

    let created = invite(&api, &owner, &org, &email.to_uppercase(), "editor").await;
    let token = created.token.clone();
    assert_eq!(created.path, format!("/app/invite/{token}"));
    assert_eq!(created.url, format!("http://{}{}", api.addr, created.path), "the link on the host asked");
    assert_eq!((created.invitation.email.as_str(), created.invitation.role), (email.as_str(), Role::Editor));
    assert_eq!(created.invitation.invited_by.to_string(), owner.user_id);
    let row = api.store.invitations().by_token_hash(&aos_gateway::auth::token_hash(&token)).await.unwrap();
    let row = row.expect("stored under the token's hash");
    assert!(!format!("{row:?}").contains(secret_part(&token)), "the row holds no token: {row:?}");

    let listed = api.get(&format!("/api/orgs/{org}/invitations"), &owner.token).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.decoded::<Vec<Invitation>>(), vec![created.invitation.clone()]);
    assert!(!listed.text.contains(secret_part(&token)), "the list shows no token: {}", listed.text);

    let preview = api.call("GET", &format!("/api/invitations/{token}"), None, None).await;
    assert_eq!(preview.status, 200, "{preview:?}");
    let preview: InvitationPreview = preview.decoded();
    assert_eq!((preview.org_name.as_str(), preview.role), ("olive org", Role::Editor));
    assert_eq!((preview.invited_by.as_str(), preview.email.as_str()), ("olive", email.as_str()));

    let body = json!({ "name": "Pat", "password": PASSWORD });
    let short = api
        .call(
            "POST",
            &format!("/api/invitations/{token}/signup"),
            None,
            Some(json!({ "name": "Pat", "password": "short" })),
        )
        .await;
    assert_eq!((short.status, short.code()), (400, "invalid_input"), "{short:?}");
    let joined = api.call("POST", &format!("/api/invitations/{token}/signup"), None, Some(body.clone())).await;
    assert_eq!(joined.status, 201, "{joined:?}");
    let joined: SignedUp = joined.decoded();
    assert_eq!(joined.org_id.to_string(), org, "the answer names the org joined");
    let me = api.get("/api/auth/me", &joined.tokens.token).await.decoded::<Me>();
    assert_eq!(me.email, email);
    assert_eq!(
        me.orgs.iter().map(|o| (o.org_id.to_string(), o.role)).collect::<Vec<_>>(),
        vec![(org.clone(), Role::Editor)]
    );
    let opened = api.get(&format!("/api/workflows/{workflow}"), &joined.tokens.token).await;
    assert_eq!(opened.status, 200, "the invitee opens the org's workflow: {opened:?}");
    let renamed = api
        .call(
            "PATCH",
            &format!("/api/workflows/{workflow}"),
            Some(&joined.tokens.token),
            Some(json!({ "name": "Ours" })),
        )
        .await;
    assert_eq!(renamed.status, 200, "an editor edits: {renamed:?}");
    let login = api.call("POST", "/api/auth/login", None, Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(login.status, 200, "the new account signs in again: {login:?}");

    let again = api.call("POST", &format!("/api/invitations/{token}/signup"), None, Some(body)).await;
    assert_eq!((again.status, again.code()), (410, "invitation_used"), "{again:?}");
    assert!(again.body["error"]["message"].as_str().unwrap_or("").contains("used already"), "{again:?}");
    let seen_again = api.call("GET", &format!("/api/invitations/{token}"), None, None).await;
    assert_eq!((seen_again.status, seen_again.code()), (410, "invitation_used"));
    let listed = api.get(&format!("/api/orgs/{org}/invitations"), &owner.token).await;
    assert_eq!(listed.decoded::<Vec<Invitation>>(), vec![], "a used invitation is no longer pending");

    let audit = api.get(&format!("/api/orgs/{org}/audit?limit=100"), &owner.token).await;
    assert_eq!(audit.status, 200, "{audit:?}");
    assert!(!audit.text.contains(secret_part(&token)), "the audit log holds no token");
    let actions: Vec<&str> = audit.body.as_array().unwrap().iter().filter_map(|r| r["action"].as_str()).collect();
    assert!(actions.contains(&"invitation.create") && actions.contains(&"invitation.accept"), "{actions:?}");
    api.finish().await;
}

async fn only_admins_invite_and_only_owners_invite_owners(backend: Backend) {
    let api = Api::start(backend).await;
    let owner = api.signup("owner").await;
    let org = owner.org_id.clone();
    let mut members = Vec::new();
    for role in ["admin", "editor", "viewer"] {
        let account = api.signup(role).await;
        api.add_member(&owner, &org, &account, role).await;
        members.push(account);
    }
    let [admin, editor, viewer] = [&members[0], &members[1], &members[2]];
    let path = format!("/api/orgs/{org}/invitations");
    let before = api.audit_rows(&org).await;
    for (who, role) in [(viewer, "viewer"), (editor, "viewer"), (admin, "owner")] {
        let reply = api.post(&path, &who.token, json!({ "email": new_email("x"), "role": role })).await;
        assert_eq!((reply.status, reply.code()), (403, "forbidden"), "{} inviting a {role}: {reply:?}", who.email);
    }
    let outsider = api.signup("outsider").await;
    let reply = api.post(&path, &outsider.token, json!({ "email": new_email("x"), "role": "viewer" })).await;
    assert_eq!(reply.status, 404, "a non-member sees no org: {reply:?}");
    assert_eq!(api.audit_rows(&org).await, before, "refused invitations write nothing");
    assert_eq!(api.get(&path, &editor.token).await.status, 403, "an editor does not list invitations");

    invite(&api, &owner, &org, &new_email("boss"), "owner").await;
    let by_admin = invite(&api, admin, &org, &new_email("ed"), "editor").await;
    let twice = api.post(&path, &owner.token, json!({ "email": by_admin.invitation.email, "role": "viewer" })).await;
    assert_eq!((twice.status, twice.code()), (409, "invitation_pending"), "{twice:?}");
    let member = api.post(&path, &owner.token, json!({ "email": viewer.email, "role": "editor" })).await;
    assert_eq!((member.status, member.code()), (409, "already_member"), "{member:?}");
    let bad = api.post(&path, &owner.token, json!({ "email": "not an email", "role": "editor" })).await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_input"), "{bad:?}");
    let unknown_role = api.post(&path, &owner.token, json!({ "email": new_email("x"), "role": "god" })).await;
    assert_eq!((unknown_role.status, unknown_role.code()), (400, "invalid_body"), "{unknown_role:?}");

    let key =
        api.post(&format!("/api/orgs/{org}/api-keys"), &owner.token, json!({ "name": "k", "role": "owner" })).await;
    let key = key.body["key"].as_str().expect("api key").to_owned();
    let created = invite(&api, &owner, &org, &new_email("keyed"), "viewer").await;
    let accept = api.call("POST", &format!("/api/invitations/{}/accept", created.token), Some(&key), None).await;
    assert_eq!(accept.status, 403, "an api key accepts nothing: {accept:?}");
    api.finish().await;
}

async fn an_existing_account_accepts_with_the_invited_email_only(backend: Backend) {
    let api = Api::start(backend).await;
    let owner = api.signup("owner").await;
    let org = owner.org_id.clone();
    let workflow = api.post(&format!("/api/orgs/{org}/workflows"), &owner.token, json!({ "name": "W" })).await;
    let workflow = workflow.body["id"].as_str().expect("workflow id").to_owned();
    let bob = api.signup("bob").await;
    let carol = api.signup("carol").await;
    let created = invite(&api, &owner, &org, &bob.email, "viewer").await;
    let accept = format!("/api/invitations/{}/accept", created.token);

    assert_eq!(api.call("POST", &accept, None, None).await.status, 401, "accepting needs a session");
    let wrong = api.call("POST", &accept, Some(&carol.token), None).await;
    assert_eq!((wrong.status, wrong.code()), (403, "wrong_invitee"), "{wrong:?}");
    assert!(wrong.body["error"]["message"].as_str().unwrap_or("").contains(&bob.email), "{wrong:?}");
    assert_eq!(api.get(&format!("/api/workflows/{workflow}"), &carol.token).await.status, 404);
    let signup = api
        .call(
            "POST",
            &format!("/api/invitations/{}/signup", created.token),
            None,
            Some(json!({ "name": "Bob", "password": PASSWORD })),
        )
        .await;
    assert_eq!((signup.status, signup.code()), (409, "email_taken"), "bob has an account: {signup:?}");

    let joined = api.call("POST", &accept, Some(&bob.token), None).await;
    assert_eq!(joined.status, 200, "{joined:?}");
    let joined: OrgView = joined.decoded();
    assert_eq!((joined.id.to_string(), joined.role, joined.name.as_str()), (org.clone(), Role::Viewer, "owner org"));
    assert_eq!(api.get(&format!("/api/workflows/{workflow}"), &bob.token).await.status, 200);
    let renamed =
        api.call("PATCH", &format!("/api/workflows/{workflow}"), Some(&bob.token), Some(json!({ "name": "x" }))).await;
    assert_eq!(renamed.status, 403, "a viewer by invitation is a viewer");
    let again = api.call("POST", &accept, Some(&bob.token), None).await;
    assert_eq!((again.status, again.code()), (410, "invitation_used"), "{again:?}");

    // An account invited while it is a member already is refused before the link is used up.
    let dave = api.signup("dave").await;
    let early = invite(&api, &owner, &org, &dave.email, "editor").await;
    api.add_member(&owner, &org, &dave, "viewer").await;
    let member = api.call("POST", &format!("/api/invitations/{}/accept", early.token), Some(&dave.token), None).await;
    assert_eq!((member.status, member.code()), (409, "already_member"), "{member:?}");
    api.finish().await;
}

async fn expired_revoked_and_unknown_links_are_refused(backend: Backend) {
    let api = Api::start(backend).await;
    let owner = api.signup("owner").await;
    let org = owner.org_id.clone();

    // An invitation past its week, written straight to the store with a token of our own.
    let expired_token = format!("aosi_expired{}", uuid::Uuid::new_v4().simple());
    let expired_email = new_email("late");
    let new = aos_persistence::NewInvitation {
        org_id: org.parse().unwrap(),
        email: expired_email.clone(),
        role: Role::Editor,
        invited_by: owner.user_id.parse().unwrap(),
        token_hash: aos_gateway::auth::token_hash(&expired_token),
        expires_at: Timestamp::now() - time::Duration::minutes(1),
    };
    api.store.invitations().create(&new, aos_persistence::By::System).await.unwrap();
    let preview = api.call("GET", &format!("/api/invitations/{expired_token}"), None, None).await;
    assert_eq!((preview.status, preview.code()), (410, "invitation_expired"), "{preview:?}");
    let signup = api
        .call(
            "POST",
            &format!("/api/invitations/{expired_token}/signup"),
            None,
            Some(json!({ "name": "Late", "password": PASSWORD })),
        )
        .await;
    assert_eq!((signup.status, signup.code()), (410, "invitation_expired"), "{signup:?}");
    assert!(api.store.orgs().user_by_email(&expired_email).await.unwrap().is_none(), "no account was made");
    let listed = api.get(&format!("/api/orgs/{org}/invitations"), &owner.token).await;
    assert_eq!(listed.decoded::<Vec<Invitation>>(), vec![], "an expired invitation is not pending");

    let created = invite(&api, &owner, &org, &new_email("gone"), "editor").await;
    let foreign = api.signup("foreign").await;
    let theirs = format!("/api/orgs/{}/invitations/{}", foreign.org_id, created.invitation.id);
    assert_eq!(
        api.call("DELETE", &theirs, Some(&foreign.token), None).await.status,
        404,
        "another org's id is unknown"
    );
    let revoke = format!("/api/orgs/{org}/invitations/{}", created.invitation.id);
    let revoked = api.call("DELETE", &revoke, Some(&owner.token), None).await;
    assert_eq!(revoked.status, 204, "{revoked:?}");
    let preview = api.call("GET", &format!("/api/invitations/{}", created.token), None, None).await;
    assert_eq!((preview.status, preview.code()), (410, "invitation_revoked"), "{preview:?}");
    let signup = api
        .call(
            "POST",
            &format!("/api/invitations/{}/signup", created.token),
            None,
            Some(json!({ "name": "Gone", "password": PASSWORD })),
        )
        .await;
    assert_eq!((signup.status, signup.code()), (410, "invitation_revoked"), "{signup:?}");
    assert_eq!(
        api.get(&format!("/api/orgs/{org}/invitations"), &owner.token).await.decoded::<Vec<Invitation>>(),
        vec![]
    );

    for unknown in ["aosi_nothing", "whatever", "%20"] {
        let reply = api.call("GET", &format!("/api/invitations/{unknown}"), None, None).await;
        assert_eq!((reply.status, reply.code()), (404, "not_found"), "{unknown}: {reply:?}");
    }
    let bad_id = api.call("DELETE", &format!("/api/orgs/{org}/invitations/not-a-uuid"), Some(&owner.token), None).await;
    assert_eq!((bad_id.status, bad_id.code()), (400, "invalid_path"), "{bad_id:?}");
    api.finish().await;
}

/// The real binary, logging at `debug` as JSON: a link created, read, used and tried again leaves
/// its token in no log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_links_reach_no_log_line() {
    let server =
        support_process::Process::start(&["serve"], &[("AOS_LOG_FORMAT", "json"), ("RUST_LOG", "debug")]).await;
    let call = |method: &'static str, path: String, token: Option<String>, body: Option<serde_json::Value>| {
        let base = server.url.clone();
        async move { support_http::call(&base, method, &path, token.as_deref(), body).await }
    };
    let email = new_email("owner");
    let signup = json!({ "email": email, "password": PASSWORD, "name": "Owner", "org_name": "Logged" });
    let (status, owner) = call("POST", "/api/auth/signup".into(), None, Some(signup)).await;
    assert_eq!(status, 201, "{owner}");
    let owner_token = owner["token"].as_str().unwrap().to_owned();
    let org = owner["org_id"].as_str().unwrap().to_owned();
    let body = json!({ "email": new_email("guest"), "role": "editor" });
    let (status, created) =
        call("POST", format!("/api/orgs/{org}/invitations"), Some(owner_token.clone()), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let (status, _) = call("GET", format!("/api/invitations/{token}"), None, None).await;
    assert_eq!(status, 200);
    let join = json!({ "name": "Guest", "password": PASSWORD });
    let (status, joined) = call("POST", format!("/api/invitations/{token}/signup"), None, Some(join.clone())).await;
    assert_eq!(status, 201, "{joined}");
    let (status, _) = call("POST", format!("/api/invitations/{token}/signup"), None, Some(join)).await;
    assert_eq!(status, 410);
    let (status, _) = call("GET", format!("/api/orgs/{org}/invitations"), Some(owner_token), None).await;
    assert_eq!(status, 200);
    let logs = server.stop_and_clean().await;
    assert!(logs.lines().count() > 5, "debug logs were written");
    assert!(logs.contains("/api/invitations/{token}"), "the requests were logged by their route template");
    assert!(!logs.contains(secret_part(&token)), "the invitation token reached the logs");
}
