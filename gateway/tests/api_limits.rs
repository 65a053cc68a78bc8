//! Hardening over real HTTP: the per-caller rate limit (per user of a valid token, else per IP,
//! so made-up tokens share their IP's budget) answers `429 rate_limited` with `Retry-After`;
//! request ids are set or echoed; CORS allows only the configured origins.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use std::num::NonZeroU32;

use aos_persistence::Backend;
use support_api::Api;

#[tokio::test]
async fn rate_limits_request_ids_and_cors() {
    let api = Api::start_adjusted(Backend::Sqlite, |state| {
        state.limits.per_minute = NonZeroU32::new(5).unwrap();
        state.limits.cors_origins = vec!["http://app.test".into()];
    })
    .await;
    // Signups are anonymous: counted per IP (5 allowed, this test makes 2).
    let alice = api.signup("alice").await;
    let bob = api.signup("bob").await;
    for _ in 0..5 {
        assert_eq!(api.get("/api/auth/me", &alice.token).await.status, 200);
    }
    let limited = api.get("/api/auth/me", &alice.token).await;
    assert_eq!((limited.status, limited.code()), (429, "rate_limited"), "{limited:?}");
    let response = api.client.get(api.url("/api/auth/me")).bearer_auth(&alice.token).send().await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(api.get("/api/auth/me", &bob.token).await.status, 200, "another user has their own budget");
    // made-up tokens spend the IP's budget (3 left after the 2 signups), not a fresh one each
    for n in 0..3 {
        let forged = api.get("/api/auth/me", &format!("forged-{n}")).await;
        assert_eq!(forged.status, 401, "{forged:?}");
    }
    let forged = api.get("/api/auth/me", "forged-again").await;
    assert_eq!((forged.status, forged.code()), (429, "rate_limited"), "{forged:?}");
    assert_eq!(api.get("/api/auth/me", &bob.token).await.status, 200, "a valid token is counted as its user");
    assert_eq!(api.call("GET", "/healthz", None, None).await.status, 200, "probes are not limited");

    let response = api.client.get(api.url("/healthz")).send().await.unwrap();
    let generated = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a uuid: {generated}");
    let response = api.client.get(api.url("/healthz")).header("x-request-id", "req-42").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-42");

    let preflight = |origin: &'static str| {
        api.client
            .request(reqwest::Method::OPTIONS, api.url("/api/auth/me"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("http://app.test").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "http://app.test");
    let refused = preflight("http://evil.test").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
    api.finish().await;
}

#[tokio::test]
async fn a_request_over_the_time_limit_answers_timeout() {
    // A deadline that has passed by the first time the handler waits on anything.
    let api = Api::start_adjusted(Backend::Sqlite, |state| {
        state.limits.request_timeout = std::time::Duration::from_nanos(1);
    })
    .await;
    let body = serde_json::json!({ "email": "slow@x.test", "password": "long enough", "name": "n", "org_name": "o" });
    let reply = api.call("POST", "/api/auth/signup", None, Some(body)).await;
    assert_eq!((reply.status, reply.code()), (503, "timeout"), "{reply:?}");
    assert!(api.store.orgs().user_by_email("slow@x.test").await.unwrap().is_none());
    api.finish().await;
}

#[tokio::test]
async fn password_guessing_is_limited_per_account() {
    let api = Api::start_adjusted(Backend::Sqlite, |state| {
        state.logins = aos_gateway::limits::RateLimiter::new(NonZeroU32::new(3).unwrap());
    })
    .await;
    let alice = api.signup("alice").await;
    let bob = api.signup("bob").await;
    let login = |email: &str, password: &str| {
        api.call("POST", "/api/auth/login", None, Some(serde_json::json!({ "email": email, "password": password })))
    };
    for _ in 0..3 {
        assert_eq!(login(&alice.email, "wrong password").await.status, 401);
    }
    let limited = login(&alice.email.to_uppercase(), "correct horse battery").await;
    assert_eq!((limited.status, limited.code()), (429, "rate_limited"), "even the right password waits: {limited:?}");
    assert_eq!(login(&bob.email, "correct horse battery").await.status, 200, "other accounts are not affected");
    api.finish().await;
}
