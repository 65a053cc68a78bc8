//! What the gateway's test binaries share: an HTTP client with the TLS crypto provider installed
//! (reqwest is built without a default one), a JSON call to a running server, and a bounded poll
//! for eventually-true conditions.

#![allow(dead_code)]

/// A client, after installing the crypto provider reqwest expects.
pub fn http() -> reqwest::Client {
    aos_engine_link::egress::install_crypto_provider();
    reqwest::Client::new()
}

/// `reqwest::get`, after installing the crypto provider.
pub async fn http_get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    http().get(url).send().await
}

/// The workspace's one way to wait for a condition (not every test file of this harness uses it).
#[allow(unused_imports)]
pub use aos_persistence::testing::wait_until;

/// Calls `{base}{path}` with an optional bearer token and JSON body; returns the status and the
/// JSON answer (`Null` when it is not JSON). A request that gets no answer at all (the server is
/// down or refusing connections) is status 0, which fault tests count as refused.
pub async fn call(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = http().request(method.parse().unwrap(), format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(serde_json::Value::Null))
        }
        Err(_) => (0, serde_json::Value::Null),
    }
}
