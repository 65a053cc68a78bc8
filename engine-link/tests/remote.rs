//! The remote client against the engine's own HTTP router (in this process) and against a capturing
//! server: the protocol roundtrips, the token and the W3C `traceparent` travel as headers, and an
//! engine answering garbage or an error status is a clear error.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aos_engine_link::{
    EgressPolicy, EmbeddedEngine, Engine, EngineConfig, ErrorClass, PROTOCOL_VERSION, RemoteEngine, StepContext,
    StepMeta, StepRequest, server,
};
use aos_schema::SecretString;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::json;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn request() -> StepRequest {
    StepRequest {
        protocol: PROTOCOL_VERSION.to_owned(),
        meta: StepMeta {
            node_id: "n".into(),
            attempt: 1,
            traceparent: Some(TRACEPARENT.into()),
            ..StepMeta::default()
        },
        kind: "data.transform".into(),
        config: json!({ "fields": { "x": "{{ trigger.n }}" } }).as_object().cloned().unwrap(),
        context: StepContext { trigger: json!({ "n": 7 }), ..StepContext::default() },
        secrets: Default::default(),
    }
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_protocol_roundtrips_through_the_engine_router() {
    let engine = EmbeddedEngine::new(EngineConfig { egress: EgressPolicy::public_only() }).unwrap();
    let url = serve(server::router(Arc::new(engine), Some(SecretString::new("t0ken")))).await;
    let remote = RemoteEngine::new(&url, Some(SecretString::new("t0ken")), Duration::from_secs(5)).unwrap();
    assert_eq!(remote.execute(request()).await.unwrap().output, json!({ "x": 7 }));
}

#[tokio::test]
async fn token_and_traceparent_travel_as_headers() {
    let seen: Arc<Mutex<Option<HeaderMap>>> = Arc::default();
    let capture = seen.clone();
    let app = Router::new().route(
        server::STEPS_PATH,
        post(move |headers: HeaderMap| {
            let capture = capture.clone();
            async move {
                *capture.lock().unwrap() = Some(headers);
                axum::Json(json!({ "succeeded": { "output": "ok" } }))
            }
        }),
    );
    let url = serve(app).await;
    let remote = RemoteEngine::new(&url, Some(SecretString::new("t0ken")), Duration::from_secs(5)).unwrap();
    assert_eq!(remote.execute(request()).await.unwrap().output, json!("ok"));
    let headers = seen.lock().unwrap().clone().unwrap();
    assert_eq!(headers["traceparent"], TRACEPARENT);
    assert_eq!(headers["authorization"], "Bearer t0ken");
}

#[tokio::test]
async fn garbage_and_error_statuses_are_clear_errors() {
    let app = Router::new()
        .route("/garbage/v1/steps", post(|| async { "this is not a step response" }))
        .route("/down/v1/steps", post(|| async { (StatusCode::BAD_GATEWAY, "proxy error") }))
        .route("/lost/v1/steps", post(|| async { (StatusCode::NOT_FOUND, "no such route") }));
    let url = serve(app).await;
    let call = |path: &str| {
        let remote = RemoteEngine::new(&format!("{url}{path}"), None, Duration::from_secs(5)).unwrap();
        async move { remote.execute(request()).await.unwrap_err() }
    };
    let garbage = call("/garbage").await;
    assert_eq!((garbage.class, garbage.code.as_str()), (ErrorClass::Permanent, "engine_protocol"));
    let down = call("/down").await;
    assert_eq!((down.class, down.code.as_str()), (ErrorClass::Retryable, "engine_error"));
    let lost = call("/lost").await;
    assert_eq!((lost.class, lost.code.as_str()), (ErrorClass::Permanent, "engine_error"));
}
