//! The step protocol, version `automateos.step/v1`: what the orchestrator sends to an engine for one
//! step and what comes back. Plain serde types whose shapes map one-to-one onto a future gRPC schema
//! (each struct a message, each enum a `oneof`, maps as `map<string, …>`), so the remote engine can
//! move from REST to gRPC without changing callers.

use std::collections::BTreeMap;
use std::fmt;

use aos_schema::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version this crate speaks; requests with another version are refused.
pub const PROTOCOL_VERSION: &str = "automateos.step/v1";

/// One step to execute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRequest {
    /// Always [`PROTOCOL_VERSION`].
    pub protocol: String,
    /// Who is running it, for logs and traces (the engine keeps no run state).
    pub meta: StepMeta,
    /// The node kind, such as `http.request`.
    pub kind: String,
    /// The node's config as stored: strings may hold `{{ … }}` expressions, resolved by the engine.
    pub config: Map<String, Value>,
    /// What expressions can read: trigger payload, earlier steps' outputs, the direct input.
    pub context: StepContext,
    /// The secret values this step's config references, by name. Only these are sent; they are
    /// resolved inside the engine call and redacted from everything it returns.
    #[serde(default)]
    pub secrets: BTreeMap<String, WireSecret>,
}

/// Identifies the step for logs and traces.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StepMeta {
    pub org_id: String,
    pub workflow_id: String,
    pub run_id: String,
    pub node_id: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// W3C trace context of the caller, if any (`traceparent` header form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// The data a step's expressions can read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepContext {
    /// The trigger's payload (`{body, headers, query}` for a webhook).
    #[serde(default)]
    pub trigger: Value,
    /// Earlier steps by node id: `{"output": …}` (`steps.fetch.output.items[0].id`).
    #[serde(default)]
    pub steps: Map<String, Value>,
    /// The output that arrived on this step's input (for a merge: outputs by predecessor id).
    #[serde(default)]
    pub input: Value,
    /// Inside a for-each: the current item and its index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemContext>,
}

/// The for-each element a step runs for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemContext {
    pub value: Value,
    pub index: u64,
}

/// A secret value on the wire: serialized as its plaintext (the remote engine needs it), printed as
/// `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct WireSecret(pub SecretString);

impl fmt::Debug for WireSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for WireSecret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.expose())
    }
}

impl<'de> Deserialize<'de> for WireSecret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| WireSecret(SecretString::new(s)))
    }
}

/// What an engine answers: exactly one of output or error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResponse {
    Succeeded(StepOutput),
    Failed(StepError),
}

impl StepResponse {
    pub fn into_result(self) -> Result<StepOutput, StepError> {
        match self {
            StepResponse::Succeeded(output) => Ok(output),
            StepResponse::Failed(error) => Err(error),
        }
    }
}

impl From<Result<StepOutput, StepError>> for StepResponse {
    fn from(result: Result<StepOutput, StepError>) -> Self {
        match result {
            Ok(output) => StepResponse::Succeeded(output),
            Err(error) => StepResponse::Failed(error),
        }
    }
}

/// A step's result and how the run should route it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StepOutput {
    /// The value later steps read as `steps.<id>.output`.
    pub output: Value,
    /// Which output ports carry the result: `None` means every port (a plain step). A condition
    /// names `true` or `false`, a switch the matching case or `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<String>>,
    /// For a for-each: the items to fan out on its `item` port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Value>>,
    /// For a delay: how long the run should wait before the next steps (the engine never sleeps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u64>,
    /// For respond-to-webhook: the HTTP answer for the waiting webhook caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<WebhookResponse>,
    /// Bytes the step sent and received over the network, for usage accounting.
    #[serde(default)]
    pub bytes: u64,
}

impl StepOutput {
    /// A plain result on every output port.
    pub fn value(output: Value) -> Self {
        Self { output, ..Self::default() }
    }
}

/// The HTTP answer a respond-to-webhook step asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

/// Whether trying again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Transient: a timeout, a 5xx, a 429, the engine unreachable. Retry with backoff.
    Retryable,
    /// Trying again gives the same answer: bad config, a 4xx, a bad expression.
    Permanent,
}

/// Why a step failed. Messages never contain secret values (the engine redacts them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct StepError {
    pub class: ErrorClass,
    /// A stable snake_case code (`bad_config`, `bad_expression`, `http_status`, `rate_limited`, …).
    pub code: String,
    pub message: String,
    /// When the service said how long to wait (`Retry-After`), in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl StepError {
    pub fn permanent(code: &str, message: impl Into<String>) -> Self {
        Self { class: ErrorClass::Permanent, code: code.to_owned(), message: message.into(), retry_after_ms: None }
    }

    pub fn retryable(code: &str, message: impl Into<String>) -> Self {
        Self { class: ErrorClass::Retryable, code: code.to_owned(), message: message.into(), retry_after_ms: None }
    }

    /// The same error with a service-given wait before the next try.
    pub fn after(mut self, retry_after_ms: u64) -> Self {
        self.retry_after_ms = Some(retry_after_ms);
        self
    }

    pub fn is_retryable(&self) -> bool {
        self.class == ErrorClass::Retryable
    }

    /// A config field is missing or has the wrong type.
    pub fn bad_config(field: &str, problem: impl fmt::Display) -> Self {
        Self::permanent("bad_config", format!("config field `{field}` {problem}"))
    }
}
