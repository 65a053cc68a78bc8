//! The remote engine client: the [`Engine`] trait over HTTP to an `automateos engine` process. Every
//! call is bounded by a timeout; an engine that is down, dies mid-step or does not answer in time
//! gives a retryable error (the run retries the step, perhaps elsewhere), never a hang. The caller's
//! W3C `traceparent` travels as a header.

use std::time::Duration;

use aos_schema::SecretString;

use crate::egress::install_crypto_provider;
use crate::engine::{Engine, StepFuture};
use crate::protocol::{StepError, StepOutput, StepRequest, StepResponse};
use crate::server::STEPS_PATH;

/// Default limit on one remote step, transport included.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// An engine in another process.
#[derive(Debug, Clone)]
pub struct RemoteEngine {
    endpoint: String,
    client: reqwest::Client,
    token: Option<SecretString>,
}

impl RemoteEngine {
    /// A client for the engine at `base_url` (`http://127.0.0.1:8090`), giving up on a step after
    /// `timeout`.
    pub fn new(base_url: &str, token: Option<SecretString>, timeout: Duration) -> Result<Self, reqwest::Error> {
        install_crypto_provider();
        let client = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).timeout(timeout).build()?;
        Ok(Self { endpoint: format!("{}{STEPS_PATH}", base_url.trim_end_matches('/')), client, token })
    }

    async fn call(&self, request: StepRequest) -> Result<StepOutput, StepError> {
        let mut http = self.client.post(&self.endpoint).json(&request);
        if let Some(traceparent) = &request.meta.traceparent {
            http = http.header("traceparent", traceparent);
        }
        if let Some(token) = &self.token {
            http = http.bearer_auth(token.expose());
        }
        let response = http.send().await.map_err(|err| unavailable(&err))?;
        let status = response.status();
        if !status.is_success() {
            let class = if status.is_server_error() { StepError::retryable } else { StepError::permanent };
            return Err(class("engine_error", format!("engine answered {status}")));
        }
        let answer: StepResponse = response.json().await.map_err(|err| {
            if err.is_decode() {
                StepError::permanent("engine_protocol", "engine answered something that is not a step response")
            } else {
                unavailable(&err)
            }
        })?;
        answer.into_result()
    }
}

impl Engine for RemoteEngine {
    fn execute(&self, request: StepRequest) -> StepFuture<'_> {
        Box::pin(self.call(request))
    }
}

/// A transport failure talking to the engine: always worth a retry.
fn unavailable(err: &reqwest::Error) -> StepError {
    if err.is_timeout() {
        StepError::retryable("engine_timeout", "the engine did not answer in time")
    } else if err.is_connect() {
        StepError::retryable("engine_unavailable", "the engine is not reachable")
    } else {
        StepError::retryable("engine_unavailable", "the connection to the engine broke")
    }
}
