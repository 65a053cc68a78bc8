//! What the gateway's test binaries share: an HTTP client with the TLS crypto provider installed
//! (reqwest is built without a default one) and a bounded poll for eventually-true conditions.

#![allow(dead_code)]

use std::time::Duration;

/// A client, after installing the crypto provider reqwest expects.
pub fn http() -> reqwest::Client {
    aos_engine_link::egress::install_crypto_provider();
    reqwest::Client::new()
}

/// `reqwest::get`, after installing the crypto provider.
pub async fn http_get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    http().get(url).send().await
}

/// Polls `check` every 50 ms until it is true or `limit` passes.
pub async fn wait_until<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
