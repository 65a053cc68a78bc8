//! Brakes on credential guessing and mass signup over real HTTP: signups limited per IP and per
//! email, login attempts per IP across accounts, and the failed-login lockout (even the right
//! password waits, unknown emails lock alike so a lock says nothing about existence, other
//! accounts are unaffected, a success resets the count). Every refusal is `429 rate_limited` with
//! a `Retry-After` in seconds. (The doubling of the lock is tested on the clock-driven state
//! machine, `auth::throttle`.)

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use aos_gateway::auth::{AuthLimitSettings, AuthLimits, LockoutPolicy};
use aos_persistence::Backend;
use serde_json::json;
use support_api::{Api, Reply};

fn limits(adjust: impl FnOnce(&mut AuthLimitSettings)) -> Arc<AuthLimits> {
    let mut settings = AuthLimitSettings::default();
    adjust(&mut settings);
    Arc::new(AuthLimits::new(&settings))
}

/// `Retry-After` of a refused call, after checking the status and code.
async fn retry_after(api: &Api, path: &str, body: serde_json::Value) -> u64 {
    let response = api.client.post(api.url(path)).json(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429, "{path}");
    let seconds: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let reply: serde_json::Value = response.json().await.unwrap();
    assert_eq!(reply["error"]["code"], "rate_limited", "{reply}");
    assert!(seconds >= 1);
    seconds
}

fn signup_body(email: &str) -> serde_json::Value {
    json!({ "email": email, "password": "correct horse battery", "name": "n", "org_name": "o" })
}

#[tokio::test]
async fn signups_are_limited_per_ip_and_per_email() {
    let api = Api::start_adjusted(Backend::Sqlite, |state| {
        state.auth_limits = limits(|s| {
            s.signups_per_hour_per_ip = NonZeroU32::new(4).unwrap();
            s.signups_per_hour_per_email = NonZeroU32::new(2).unwrap();
        });
    })
    .await;
    let taken = api.signup("first").await;
    let again = api.call("POST", "/api/auth/signup", None, Some(signup_body(&taken.email))).await;
    assert_eq!(again.status, 409, "{again:?}");
    // the email's budget (2) is spent: probing it further waits
    let wait = retry_after(&api, "/api/auth/signup", signup_body(&taken.email)).await;
    assert!(wait > 60, "refilled over an hour: {wait}");
    // the IP's budget (4) has one left (3 counted so far), then everyone from it waits
    api.signup("fourth").await;
    let wait = retry_after(&api, "/api/auth/signup", signup_body("fresh@example.test")).await;
    assert!(wait > 60, "{wait}");
    assert!(api.store.orgs().user_by_email("fresh@example.test").await.unwrap().is_none(), "nothing was created");
    api.finish().await;
}

async fn login(api: &Api, email: &str, password: &str) -> Reply {
    api.call("POST", "/api/auth/login", None, Some(json!({ "email": email, "password": password }))).await
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_retry_after() {
    let api = Api::start_adjusted(Backend::Sqlite, |state| {
        state.auth_limits = limits(|s| {
            s.lockout = LockoutPolicy {
                lock_after: 3,
                base: Duration::from_secs(120),
                max: Duration::from_secs(900),
                forget_after: Duration::from_secs(3600),
            };
        });
    })
    .await;
    let alice = api.signup("alice").await;
    let bob = api.signup("bob").await;
    for _ in 0..2 {
        assert_eq!(login(&api, &alice.email, "wrong password").await.status, 401);
    }
    // a success resets the count
    assert_eq!(login(&api, &alice.email, "correct horse battery").await.status, 200);
    for _ in 0..2 {
        assert_eq!(login(&api, &alice.email, "wrong password").await.status, 401);
    }
    let locking = login(&api, &alice.email, "wrong password").await;
    assert_eq!(
        (locking.status, locking.code()),
        (429, "rate_limited"),
        "the third failure in a row locks: {locking:?}"
    );
    let body = json!({ "email": alice.email.to_uppercase(), "password": "correct horse battery" });
    let wait = retry_after(&api, "/api/auth/login", body).await;
    assert!((100..=120).contains(&wait), "the lock's remaining time: {wait}");
    assert_eq!(login(&api, &bob.email, "correct horse battery").await.status, 200, "other accounts are unaffected");
    assert_eq!(api.get("/api/auth/me", &alice.token).await.status, 200, "existing sessions live on");

    // an email without an account locks the same way
    for _ in 0..2 {
        assert_eq!(login(&api, "nobody@example.test", "guess one").await.status, 401);
    }
    let unknown = login(&api, "nobody@example.test", "guess one").await;
    assert_eq!((unknown.status, unknown.code()), (429, "rate_limited"));
    api.finish().await;
}

#[tokio::test]
async fn login_attempts_are_limited_per_ip_across_accounts() {
    let api = Api::start_adjusted(Backend::Sqlite, |state| {
        state.auth_limits = limits(|s| s.logins_per_minute_per_ip = NonZeroU32::new(4).unwrap());
    })
    .await;
    let alice = api.signup("alice").await;
    for n in 0..4 {
        let reply = login(&api, &format!("user{n}@example.test"), "spraying passwords").await;
        assert_eq!(reply.status, 401, "{reply:?}");
    }
    let body = json!({ "email": alice.email, "password": "correct horse battery" });
    let wait = retry_after(&api, "/api/auth/login", body).await;
    assert!(wait <= 60, "refilled within a minute: {wait}");
    api.finish().await;
}
