//! Test fixtures (feature `testing`) for this and other crates' tests: step requests run through the real embedded engine,
//! and fake services on loopback that speak the Slack, Google Sheets, OpenAI and SMTP protocols,
//! record what they were sent and answer like the real ones (errors and rate limits included).

pub mod openai;
pub mod sheets;
pub mod slack;
pub mod smtp;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{
    EgressPolicy, EmbeddedEngine, Engine, EngineConfig, ErrorClass, PROTOCOL_VERSION, StepContext, StepError, StepMeta,
    StepOutput, StepRequest, WireSecret,
};
use aos_schema::SecretString;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An engine that may reach loopback, where the fakes listen.
pub fn engine() -> EmbeddedEngine {
    EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::parse("127.0.0.1").unwrap() }).unwrap()
}

/// An engine with the default policy: public destinations only.
pub fn public_engine() -> EmbeddedEngine {
    EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::public_only() }).unwrap()
}

/// A step request under construction: kind and config, a webhook-like trigger, secrets.
#[derive(Debug)]
pub struct Step {
    request: StepRequest,
}

impl Step {
    pub fn new(kind: &str, config: Value) -> Self {
        Self {
            request: StepRequest {
                protocol: PROTOCOL_VERSION.to_owned(),
                meta: StepMeta { node_id: "node_a".into(), attempt: 1, ..StepMeta::default() },
                kind: kind.to_owned(),
                config: config.as_object().cloned().expect("config is an object"),
                context: StepContext {
                    trigger: json!({ "body": { "text": "deploy finished", "email": "ada@example.test", "score": 42 } }),
                    ..StepContext::default()
                },
                secrets: BTreeMap::new(),
            },
        }
    }

    pub fn secret(mut self, name: &str, value: &str) -> Self {
        self.request.secrets.insert(name.to_owned(), WireSecret(SecretString::new(value)));
        self
    }

    pub fn input(mut self, input: Value) -> Self {
        self.request.context.input = input;
        self
    }

    pub async fn run(self, engine: &EmbeddedEngine) -> Result<StepOutput, StepError> {
        engine.execute(self.request).await
    }
}

/// Asserts a permanent failure with `code`.
#[track_caller]
pub fn assert_permanent(result: Result<StepOutput, StepError>, code: &str) -> StepError {
    let err = result.expect_err("the step should fail");
    assert_eq!((err.class, err.code.as_str()), (ErrorClass::Permanent, code), "{err:?}");
    err
}

/// Asserts a retryable failure with `code` and the given wait.
#[track_caller]
pub fn assert_retryable(result: Result<StepOutput, StepError>, code: &str, retry_after_ms: Option<u64>) -> StepError {
    let err = result.expect_err("the step should fail");
    assert_eq!(
        (err.class, err.code.as_str(), err.retry_after_ms),
        (ErrorClass::Retryable, code, retry_after_ms),
        "{err:?}"
    );
    err
}

/// One HTTP request as a fake service received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    /// The path as sent, percent-encoding included.
    pub raw_path: String,
    /// The path's segments, percent-decoded.
    pub segments: Vec<String>,
    pub query: BTreeMap<String, String>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

impl Received {
    /// The bearer token, if the request carried one.
    pub fn bearer(&self) -> Option<&str> {
        self.authorization.as_deref()?.strip_prefix("Bearer ")
    }
}

/// An answer: status, extra headers, JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self { status: StatusCode::from_u16(status).unwrap(), headers: Vec::new(), body }
    }

    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(HeaderName::from_static(name), HeaderValue::from_str(&value).unwrap());
        }
        response
    }
}

/// A service's behaviour: answers one request, with its own state.
pub trait Api: Send + 'static {
    fn answer(&mut self, request: &Received) -> Reply;
}

/// A fake service on `127.0.0.1:0`: records every request, answers injected faults first (in
/// order), then as its [`Api`] says.
#[derive(Debug)]
pub struct Fake<A> {
    pub addr: SocketAddr,
    inner: Arc<Mutex<FakeState<A>>>,
}

#[derive(Debug)]
struct FakeState<A> {
    api: A,
    received: Vec<Received>,
    faults: VecDeque<Reply>,
}

impl<A: Api> Fake<A> {
    pub async fn start(api: A) -> Self {
        let inner = Arc::new(Mutex::new(FakeState { api, received: Vec::new(), faults: VecDeque::new() }));
        let router = Router::new().fallback(handle::<A>).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, inner }
    }

    /// `http://127.0.0.1:port` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state().received.clone()
    }

    /// The next request gets `reply` instead of the service's own answer.
    pub fn fail_next(&self, reply: Reply) {
        self.state().faults.push_back(reply);
    }

    /// Reads or changes the service's state.
    pub fn api<R>(&self, f: impl FnOnce(&mut A) -> R) -> R {
        f(&mut self.state().api)
    }

    fn state(&self) -> MutexGuard<'_, FakeState<A>> {
        self.inner.lock().unwrap()
    }
}

async fn handle<A: Api>(
    State(inner): State<Arc<Mutex<FakeState<A>>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let received = Received {
        method,
        raw_path: uri.path().to_owned(),
        segments: uri.path().split('/').skip(1).map(percent_decode).collect(),
        query: uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(&k.replace('+', " ")), percent_decode(&v.replace('+', " ")))
            })
            .collect(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let mut state = inner.lock().unwrap();
    state.received.push(received.clone());
    match state.faults.pop_front() {
        Some(fault) => fault,
        None => state.api.answer(&received),
    }
}

/// `%XX` escapes decoded (`+` stays: it means a space only in forms).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
