//! Auth over real HTTP: signup, login, refresh rotation, logout revocation, API keys (shown once,
//! revocable), and refused tokens (expired, forged, unsigned, garbage), on SQLite and Postgres.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use aos_persistence::Backend;
use aos_schema::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use support_api::{Api, TEST_JWT_SECRET};

both_backends!(signup_login_refresh_logout, api_keys_are_shown_once_and_revocable, bad_tokens_are_refused);

async fn signup_login_refresh_logout(backend: Backend) {
    let api = Api::start(backend).await;
    let alice = api.signup("alice").await;
    assert!(alice.refresh_token.starts_with("aosr_"));

    let taken = api
        .call(
            "POST",
            "/api/auth/signup",
            None,
            Some(json!({ "email": alice.email.to_uppercase(), "password": "another password", "name": "A", "org_name": "B" })),
        )
        .await;
    assert_eq!((taken.status, taken.code()), (409, "email_taken"));

    let me = api.get("/api/auth/me", &alice.token).await;
    assert_eq!(me.status, 200);
    let me = me.decoded::<aos_api::Me>();
    assert_eq!(me.email, alice.email);
    assert_eq!(me.orgs.len(), 1);
    assert_eq!(me.orgs[0].org_id.to_string(), alice.org_id);
    assert_eq!(me.orgs[0].role, Role::Owner);
    assert!(!me.platform_admin);
    let orgs = api.get("/api/orgs", &alice.token).await.decoded::<Vec<aos_api::OrgView>>();
    assert_eq!((orgs.len(), orgs[0].id, orgs[0].role), (1, me.orgs[0].org_id, Role::Owner));
    assert_eq!(orgs[0].name, "alice org");

    let wrong = api
        .call("POST", "/api/auth/login", None, Some(json!({ "email": alice.email, "password": "wrong password" })))
        .await;
    assert_eq!((wrong.status, wrong.code()), (401, "unauthorized"));
    let nobody = api
        .call("POST", "/api/auth/login", None, Some(json!({ "email": "nobody@x.test", "password": "whatever1" })))
        .await;
    assert_eq!(nobody.status, 401);
    assert_eq!(
        nobody.body["error"]["message"], wrong.body["error"]["message"],
        "unknown email and wrong password look alike"
    );

    let login = api
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "email": alice.email, "password": "correct horse battery" })),
        )
        .await;
    assert_eq!(login.status, 200, "{login:?}");
    let aos_api::Tokens { token, refresh_token: refresh, expires_in } = login.decoded();
    assert!(expires_in > 0);
    assert_eq!(api.get("/api/auth/me", &token).await.status, 200);

    let refreshed = api.call("POST", "/api/auth/refresh", None, Some(json!({ "refresh_token": refresh }))).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let new_refresh = refreshed.decoded::<aos_api::Tokens>().refresh_token;
    let reused = api.call("POST", "/api/auth/refresh", None, Some(json!({ "refresh_token": refresh }))).await;
    assert_eq!(reused.status, 401, "a used refresh token stops working");

    let logout = api.call("POST", "/api/auth/logout", Some(&token), None).await;
    assert_eq!(logout.status, 204, "{logout:?}");
    assert_eq!(api.get("/api/auth/me", &token).await.status, 401, "logout ends the session's access tokens");
    let after = api.call("POST", "/api/auth/refresh", None, Some(json!({ "refresh_token": new_refresh }))).await;
    assert_eq!(after.status, 401, "and its refresh token");
    assert_eq!(api.get("/api/auth/me", &alice.token).await.status, 200, "other sessions live on");

    let wrong = api
        .post(
            "/api/auth/password",
            &alice.token,
            json!({ "current_password": "nope nope", "new_password": "a new password" }),
        )
        .await;
    assert_eq!(wrong.status, 401);
    let changed = api
        .post(
            "/api/auth/password",
            &alice.token,
            json!({ "current_password": "correct horse battery", "new_password": "a new password" }),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(api.get("/api/auth/me", &alice.token).await.status, 401, "a password change ends every session");
    assert_eq!(api.get("/api/auth/me", changed.body["token"].as_str().unwrap()).await.status, 200);
    let old = api
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "email": alice.email, "password": "correct horse battery" })),
        )
        .await;
    assert_eq!(old.status, 401);
    let new = api
        .call("POST", "/api/auth/login", None, Some(json!({ "email": alice.email, "password": "a new password" })))
        .await;
    assert_eq!(new.status, 200);
    api.finish().await;
}

async fn api_keys_are_shown_once_and_revocable(backend: Backend) {
    let api = Api::start(backend).await;
    let alice = api.signup("alice").await;
    let org = &alice.org_id;
    let created =
        api.post(&format!("/api/orgs/{org}/api-keys"), &alice.token, json!({ "name": "ci", "role": "editor" })).await;
    assert_eq!(created.status, 201, "{created:?}");
    let created: aos_api::CreatedKey = serde_json::from_value(created.body).unwrap();
    let key = created.key.clone();
    assert!(key.starts_with("aosk_") && key.starts_with(&created.prefix) && created.role == Role::Editor);

    let listed = api.get(&format!("/api/orgs/{org}/api-keys"), &alice.token).await;
    assert_eq!(listed.status, 200);
    assert!(!listed.text.contains(&key), "the key is never shown again");
    assert!(!listed.text.contains("key_hash"));
    let keys: Vec<aos_api::ApiKey> = serde_json::from_value(listed.body).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (keys[0].id, keys[0].role, keys[0].prefix.as_str()),
        (created.id, Role::Editor, created.prefix.as_str())
    );
    assert!(keys[0].revoked_at.is_none());

    let made = api.post(&format!("/api/orgs/{org}/workflows"), &key, json!({ "name": "by key" })).await;
    assert_eq!(made.status, 201, "an editor key creates workflows: {made:?}");
    let keys_as_key = api.get(&format!("/api/orgs/{org}/api-keys"), &key).await;
    assert_eq!(keys_as_key.status, 403, "but acts with its own role, not its owner's");
    let higher = api.post(&format!("/api/orgs/{org}/api-keys"), &key, json!({ "name": "x", "role": "owner" })).await;
    assert_eq!(higher.status, 403);

    let bob = api.signup("bob").await;
    let foreign = api.get(&format!("/api/orgs/{}/workflows", bob.org_id), &key).await;
    assert_eq!(foreign.status, 404, "a key is bound to its org");

    let id = created.id;
    let revoked = api.call("DELETE", &format!("/api/orgs/{org}/api-keys/{id}"), Some(&alice.token), None).await;
    assert_eq!(revoked.status, 204);
    let after = api.get(&format!("/api/orgs/{org}/workflows"), &key).await;
    assert_eq!((after.status, after.code()), (401, "unauthorized"));
    api.finish().await;
}

#[derive(serde::Serialize)]
struct Claims {
    sub: String,
    sid: String,
    iat: u64,
    exp: u64,
}

async fn bad_tokens_are_refused(backend: Backend) {
    let api = Api::start(backend).await;
    let alice = api.signup("alice").await;
    let now = jsonwebtoken::get_current_timestamp();
    let sid = alice_session(&api, &alice.token).await;
    let sign = |claims: &Claims, secret: &[u8]| {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).unwrap()
    };
    let good = Claims { sub: alice.user_id.clone(), sid: sid.clone(), iat: now, exp: now + 600 };
    assert_eq!(
        api.get("/api/auth/me", &sign(&good, TEST_JWT_SECRET.as_bytes())).await.status,
        200,
        "the minted token works"
    );
    let expired = Claims { sub: alice.user_id.clone(), sid: sid.clone(), iat: now - 7200, exp: now - 3600 };
    let reply = api.get("/api/auth/me", &sign(&expired, TEST_JWT_SECRET.as_bytes())).await;
    assert_eq!((reply.status, reply.code()), (401, "unauthorized"));
    assert_eq!(reply.body["error"]["message"], "token expired");
    let forged = api.get("/api/auth/me", &sign(&good, b"another-secret-another-secret-another")).await;
    assert_eq!((forged.status, forged.code()), (401, "unauthorized"));
    let unsigned = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = b64.encode(serde_json::to_vec(&good).unwrap());
        format!("{header}.{body}.")
    };
    assert_eq!(api.get("/api/auth/me", &unsigned).await.status, 401);
    assert_eq!(api.get("/api/auth/me", "garbage").await.status, 401);
    assert_eq!(api.call("GET", "/api/auth/me", None, None).await.status, 401);
    let basic = api.client.get(api.url("/api/auth/me")).header("authorization", "Basic eDp5").send().await.unwrap();
    assert_eq!(basic.status().as_u16(), 401);
    api.finish().await;
}

/// The session id inside an access token.
async fn alice_session(_api: &Api, token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}
