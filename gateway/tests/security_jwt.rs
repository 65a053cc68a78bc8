//! Access tokens over real HTTP against the real server: the algorithm is pinned to HS256, and
//! expired, not-yet-valid, forged, unsigned (`alg: none`) and algorithm-swapped tokens (HS384 and
//! HS512 under the right secret, RS256 and ES256 headers over an HMAC signature) are all refused
//! with `401`, while a correctly minted token is accepted (the control).

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use aos_persistence::Backend;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::Sha256;
use support_api::{Api, TEST_JWT_SECRET};

/// The claims of an account's real token, to re-sign in other ways.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn sign(alg: Algorithm, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// A token with any header, signed with HMAC-SHA256 under `secret` whatever the header claims.
fn hand_signed(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let head = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap());
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(format!("{head}.{body}").as_bytes());
    format!("{head}.{body}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn only_valid_hs256_tokens_are_accepted() {
    let api = Api::start(Backend::Sqlite).await;
    let alice = api.signup("alice").await;
    let secret = TEST_JWT_SECRET.as_bytes();
    let now = jsonwebtoken::get_current_timestamp();
    let issued = claims_of(&alice.token);
    assert_eq!(issued["nbf"], issued["iat"], "tokens are issued with a not-before");
    let with = |changes: Value| {
        let mut claims = issued.clone();
        claims.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
        claims
    };
    let me = |token: String| {
        let api = &api;
        async move { api.get("/api/auth/me", &token).await }
    };

    // the control: a token minted the server's way, and one re-signed by hand the same way
    assert_eq!(me(sign(Algorithm::HS256, &with(json!({ "exp": now + 600 })), secret)).await.status, 200);
    let header = json!({ "alg": "HS256", "typ": "JWT" });
    assert_eq!(me(hand_signed(&header, &with(json!({ "exp": now + 600 })), secret)).await.status, 200);

    let refused = [
        (
            "expired",
            sign(Algorithm::HS256, &with(json!({ "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600 })), secret),
        ),
        ("expired a second ago", sign(Algorithm::HS256, &with(json!({ "exp": now - 1 })), secret)),
        ("not valid yet", sign(Algorithm::HS256, &with(json!({ "nbf": now + 3600, "exp": now + 7200 })), secret)),
        (
            "no expiry",
            sign(Algorithm::HS256, &json!({ "sub": issued["sub"], "sid": issued["sid"], "iat": now }), secret),
        ),
        ("forged", sign(Algorithm::HS256, &with(json!({})), b"not-the-server-secret-not-the-server-secret")),
        ("hs384 under the right secret", sign(Algorithm::HS384, &with(json!({})), secret)),
        ("hs512 under the right secret", sign(Algorithm::HS512, &with(json!({})), secret)),
        ("rs256 header over an hmac", hand_signed(&json!({ "alg": "RS256", "typ": "JWT" }), &with(json!({})), secret)),
        ("es256 header over an hmac", hand_signed(&json!({ "alg": "ES256", "typ": "JWT" }), &with(json!({})), secret)),
        ("alg none", {
            let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
            let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&with(json!({}))).unwrap());
            format!("{head}.{body}.")
        }),
        ("alg None", {
            let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"None"}"#);
            let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&with(json!({}))).unwrap());
            format!("{head}.{body}.")
        }),
        ("a signature moved onto other claims", {
            let mut parts: Vec<String> = alice.token.split('.').map(str::to_owned).collect();
            let mut claims = issued.clone();
            claims["sub"] = json!(uuid::Uuid::new_v4());
            parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
            parts.join(".")
        }),
        ("truncated", alice.token[..alice.token.len() - 3].to_owned()),
    ];
    for (what, token) in refused {
        let reply = me(token).await;
        assert_eq!((reply.status, reply.code()), (401, "unauthorized"), "{what}: {reply:?}");
    }
    let reply = me(sign(Algorithm::HS256, &with(json!({ "nbf": now + 3600, "exp": now + 7200 })), secret)).await;
    assert_eq!(reply.body["error"]["message"], "token not valid yet");
    api.finish().await;
}
