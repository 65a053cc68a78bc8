//! Stored credentials and API response headers, through the real server on SQLite and Postgres:
//! API keys and refresh tokens are stored only as SHA-256 hashes; webhook tokens are looked up by
//! their hash and kept otherwise only sealed by the vault, so editors see the URL again while
//! viewers never do (the rows hold neither token as text nor anything but its short prefix); a
//! rotated webhook token stops working at once; every API answer carries the security headers and
//! no `Server` detail.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use aos_persistence::Backend;
use serde_json::json;
use sha2::{Digest, Sha256};
use support_api::{Api, runnable_graph};

both_backends!(credentials_are_stored_hashed, api_answers_carry_security_headers);

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

async fn credentials_are_stored_hashed(backend: Backend) {
    let api = Api::start_with_actors(backend).await;
    let alice = api.signup("alice").await;
    let created =
        api.post(&format!("/api/orgs/{}/workflows", alice.org_id), &alice.token, json!({ "name": "Hooked" })).await;
    let workflow = created.body["id"].as_str().unwrap().to_owned();
    api.call(
        "PUT",
        &format!("/api/workflows/{workflow}/graph"),
        Some(&alice.token),
        Some(runnable_graph("trigger.webhook")),
    )
    .await;
    let published = api.call("POST", &format!("/api/workflows/{workflow}/publish"), Some(&alice.token), None).await;
    assert_eq!(published.status, 201, "{published:?}");

    // webhook token
    let source = api.call("POST", &format!("/api/workflows/{workflow}/webhooks"), Some(&alice.token), None).await;
    assert_eq!(source.status, 201, "{source:?}");
    let token = source.body["token"].as_str().unwrap().to_owned();
    let source_id: aos_schema::WebhookSourceId = source.body["source_id"].as_str().unwrap().parse().unwrap();
    let row = api.store.webhooks().source_by_id(source_id).await.unwrap();
    assert_eq!(row.token_hash, sha256_hex(&token));
    let secret_part = &token[row.token_prefix.len()..];
    assert!(!format!("{row:?}").contains(secret_part), "the row holds no more than the prefix: {row:?}");
    let hook = |token: String| {
        let api = &api;
        async move { api.call("POST", &format!("/hooks/{token}"), None, Some(json!({ "n": 1 }))).await }
    };
    assert_eq!(hook(token.clone()).await.status, 202);
    let listed = api.get(&format!("/api/workflows/{workflow}/webhooks"), &alice.token).await;
    assert!(listed.text.contains(secret_part), "the editor sees the URL again: {listed:?}");
    let victor = api.signup("victor").await;
    api.add_member(&alice, &alice.org_id, &victor, "viewer").await;
    let as_viewer = api.get(&format!("/api/workflows/{workflow}/webhooks"), &victor.token).await;
    assert_eq!(as_viewer.status, 200);
    assert!(!as_viewer.text.contains(secret_part), "a viewer never sees a token: {as_viewer:?}");
    let rotated = api.call("POST", &format!("/api/webhooks/{source_id}/rotate"), Some(&alice.token), None).await;
    assert_eq!(rotated.status, 200, "{rotated:?}");
    assert_eq!(hook(token.clone()).await.status, 404, "the old token stops working at once");
    let mut near_miss = rotated.body["token"].as_str().unwrap().to_owned();
    near_miss.pop();
    assert_eq!(hook(near_miss).await.status, 404, "a token one character short is unknown");

    // api key
    let key = api.post(&format!("/api/orgs/{}/api-keys", alice.org_id), &alice.token, json!({ "name": "ci" })).await;
    let key_text = key.body["key"].as_str().unwrap().to_owned();
    let org: aos_schema::OrgId = alice.org_id.parse().unwrap();
    let keys = api.store.orgs().api_keys(org).await.unwrap();
    let rows = format!("{keys:?}");
    assert!(!rows.contains(&key_text[key.body["prefix"].as_str().unwrap().len()..]), "{rows}");
    assert!(api.store.orgs().use_api_key(&sha256_hex(&key_text)).await.unwrap().is_some(), "found by its hash");

    // refresh token: the session row holds its hash only
    let sid: aos_persistence::SessionId = {
        use base64::Engine;
        let payload = alice.token.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        claims["sid"].as_str().unwrap().parse().unwrap()
    };
    let session = api.store.sessions().get(sid).await.unwrap().expect("session");
    let session_row = format!("{session:?}");
    assert!(!session_row.contains(&alice.refresh_token), "{session_row}");
    assert!(!session_row.contains(&alice.refresh_token["aosr_".len()..]), "{session_row}");
    api.finish().await;
}

async fn api_answers_carry_security_headers(backend: Backend) {
    let api = Api::start(backend).await;
    let alice = api.signup("alice").await;
    let cases = [
        ("GET", "/api/auth/me", Some(alice.token.as_str())),
        ("GET", "/api/auth/me", None),
        ("GET", "/api/no-such-route", None),
        ("POST", "/hooks/whk_unknown", None),
        ("GET", "/healthz", None),
    ];
    for (method, path, token) in cases {
        let mut request = api.client.request(method.parse().unwrap(), api.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.get("server").is_none(), "{path}: no server detail");
        if path.starts_with("/api/") || path.starts_with("/hooks/") {
            assert_eq!(headers["cache-control"], "no-store", "{path}");
        }
    }
    api.finish().await;
}
