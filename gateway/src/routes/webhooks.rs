//! Webhook sources (create, list with their URLs, rotate the token, delete) and the ingress
//! `POST /hooks/{token}`, which hands each delivery to the source's actor: `202 {run_id}` for a new
//! run, `200` with the same `run_id` when the `Idempotency-Key` was seen before. Publishing a
//! workflow whose trigger is a webhook gives it a source if it has none (`ensure_source`), so the
//! URL exists as soon as the workflow can run. Beside each URL is its test URL
//! (`POST /hooks/{token}/test`): checked the same way, it starts no run and hands the delivery to
//! whoever listens for a test event (`GET /api/webhooks/{source_id}/test-event`, see `test_hooks`).

use aos_actors::Delivery;
use aos_api::{ErrorCode, SourceView, SourceWithToken};
use aos_persistence::{NewWebhookSource, WebhookSettings, WebhookSource, WebhookToken};
use aos_schema::{Role, SecretString, WebhookSourceId, WorkflowGraph, WorkflowId};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::time::Duration;

use crate::auth::{Access, Principal, random_token, token_hash};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, MaybeJson};
use crate::routes::workflows::workflow_access;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/workflows/{id}/webhooks", post(create).get(list))
        .route("/api/webhooks/{source_id}/rotate", post(rotate))
        .route("/api/webhooks/{source_id}", delete(remove))
        .route("/api/webhooks/{source_id}/events", get(events))
        .route("/api/webhooks/{source_id}/test-event", get(test_event))
        .route("/hooks/{token}", post(ingress))
        .route("/hooks/{token}/test", post(test_ingress))
}

/// The prefix of every webhook token.
const TOKEN_PREFIX: &str = "whk_";

/// A fresh token, its hash and its shown prefix.
fn new_token() -> (String, WebhookToken) {
    let token = random_token(TOKEN_PREFIX);
    let stored =
        WebhookToken { value: SecretString::new(token.clone()), hash: token_hash(&token), prefix: prefix_of(&token) };
    (token, stored)
}

/// Gives the workflow a webhook source when its graph starts with a webhook trigger and it has
/// none yet (called on publish). Returns the source made, if any.
pub(crate) async fn ensure_source(
    state: &AppState,
    access: &Access,
    workflow: WorkflowId,
    graph: &WorkflowGraph,
) -> Result<Option<WebhookSource>, ApiError> {
    let has_webhook_trigger = graph.nodes.iter().any(|node| node.kind == aos_schema::kinds::TRIGGER_WEBHOOK);
    if !has_webhook_trigger || !state.store.webhooks().sources(access.org, workflow).await?.is_empty() {
        return Ok(None);
    }
    let (_, token) = new_token();
    let new = NewWebhookSource {
        org_id: access.org,
        workflow_id: workflow,
        name: "webhook".into(),
        token,
        settings: WebhookSettings::default(),
    };
    Ok(Some(state.store.webhooks().create_source(&new, access.actor).await?))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<WorkflowId>,
    MaybeJson(body): MaybeJson<aos_api::NewSource>,
) -> Result<(StatusCode, ApiJson<SourceWithToken>), ApiError> {
    let (_, access) = workflow_access(&state, &principal, id, Role::Editor).await?;
    let body = body.unwrap_or_default();
    let settings = body.settings.unwrap_or_default();
    if settings.max_body_bytes == 0 || settings.rate_per_minute == 0 {
        return Err(ApiError::bad_input("rate_per_minute and max_body_bytes must be positive"));
    }
    if let Some(name) = &settings.signing_secret {
        let secrets = state.store.secrets().list(access.org).await?;
        if !secrets.iter().any(|secret| &secret.name == name) {
            return Err(ApiError::bad_input(format!("no secret named {name}: create it before signing with it")));
        }
    }
    let (token, stored) = new_token();
    let new = NewWebhookSource {
        org_id: access.org,
        workflow_id: id,
        name: body.name.unwrap_or_else(|| "webhook".into()),
        token: stored,
        settings,
    };
    let source = state.store.webhooks().create_source(&new, access.actor).await?;
    let url = hook_url(&state, &headers, &token);
    Ok((StatusCode::CREATED, ApiJson(SourceWithToken { source_id: source.id, url, token })))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<WorkflowId>,
) -> Result<ApiJson<Vec<SourceView>>, ApiError> {
    let (_, access) = workflow_access(&state, &principal, id, Role::Viewer).await?;
    let sources = state.store.webhooks().sources(access.org, id).await?;
    let mut views = Vec::with_capacity(sources.len());
    for source in sources {
        let url = if access.role.at_least(Role::Editor) {
            let token = state.store.webhooks().reveal_token(access.org, source.id).await?;
            token.map(|token| hook_url(&state, &headers, token.expose()))
        } else {
            None
        };
        let test_url = url.as_ref().map(|url| format!("{url}/test"));
        views.push(crate::views::source_view(source, url, test_url));
    }
    Ok(ApiJson(views))
}

async fn source_access(
    state: &AppState,
    principal: &Principal,
    id: WebhookSourceId,
    need: Role,
) -> Result<(WebhookSource, crate::auth::Access), ApiError> {
    let source = state.store.webhooks().source_by_id(id).await?;
    let access = principal.access(state, source.org_id, need, "webhook source").await?;
    Ok((source, access))
}

async fn rotate(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiPath(source_id): ApiPath<WebhookSourceId>,
) -> Result<ApiJson<SourceWithToken>, ApiError> {
    let (_, access) = source_access(&state, &principal, source_id, Role::Editor).await?;
    let (token, stored) = new_token();
    state.store.webhooks().rotate_token(access.org, source_id, &stored, access.actor).await?;
    // the old token stops working on this node at once (other nodes: see `ActorSystem`)
    if let Some(actors) = &state.actors {
        actors.source_changed(source_id).await;
    }
    let url = hook_url(&state, &headers, &token);
    Ok(ApiJson(SourceWithToken { source_id, url, token }))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(source_id): ApiPath<WebhookSourceId>,
) -> Result<StatusCode, ApiError> {
    let (_, access) = source_access(&state, &principal, source_id, Role::Editor).await?;
    state.store.webhooks().delete_source(access.org, source_id, access.actor).await?;
    if let Some(actors) = &state.actors {
        actors.source_changed(source_id).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    pub limit: Option<i64>,
}

/// The deliveries a source recorded, newest first (credential headers were never stored).
async fn events(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(source_id): ApiPath<WebhookSourceId>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<ApiJson<Vec<aos_api::WebhookEvent>>, ApiError> {
    let (_, access) = source_access(&state, &principal, source_id, Role::Viewer).await?;
    let events = state.store.webhooks().events(access.org, source_id, query.limit).await?;
    Ok(ApiJson(events.into_iter().map(crate::views::webhook_event).collect()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestEventQuery {
    /// Seconds to wait for a delivery (1–60, 25 when absent; never past the request time limit).
    pub wait: Option<u64>,
}

/// The longest one `test-event` request may ask to wait; the studio asks again to keep listening.
const LONGEST_TEST_WAIT: u64 = 60;

/// The next delivery to the source's test URL, waiting up to `wait` seconds for it (editors only:
/// the delivery may carry what only holders of the URL should see).
async fn test_event(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(source_id): ApiPath<WebhookSourceId>,
    ApiQuery(query): ApiQuery<TestEventQuery>,
) -> Result<ApiJson<aos_api::TestEventWait>, ApiError> {
    let wait = query.wait.unwrap_or(25);
    if !(1..=LONGEST_TEST_WAIT).contains(&wait) {
        return Err(ApiError::bad_input(format!("wait must be 1 to {LONGEST_TEST_WAIT} seconds")));
    }
    // answered before the request time limit ends it
    let limit = state.limits.request_timeout.saturating_sub(Duration::from_secs(2)).max(Duration::from_secs(1));
    let wait = Duration::from_secs(wait).min(limit);
    source_access(&state, &principal, source_id, Role::Editor).await?;
    let mut listener = state.test_hooks.listen(state.redis.as_ref(), source_id).await?;
    let event = tokio::time::timeout(wait, listener.next()).await.ok().flatten();
    Ok(ApiJson(aos_api::TestEventWait { event }))
}

/// `POST /hooks/{token}/test`: checked as a delivery to the production URL is (size, signature,
/// rate), then handed to the studios listening for a test event; no run, nothing recorded.
/// `404 not_listening` when nobody listens.
async fn test_ingress(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ApiJson<aos_api::TestDelivered>, ApiError> {
    let Some(actors) = state.actors.as_ref() else { return Err(ApiError::Unavailable { what: "webhook ingress" }) };
    let query = query_map(query.as_deref());
    let delivery =
        Delivery { headers: header_pairs(&headers), query: query.clone(), body: body.to_vec(), traceparent: None };
    let (source_id, parsed) = actors.test_delivery_by_token(&token_hash(&token), &delivery).await?;
    let event = aos_api::TestEvent {
        source_id,
        headers: parsed.headers,
        query,
        body: parsed.body,
        received_at: aos_persistence::Timestamp::now().to_string(),
    };
    let listeners = state.test_hooks.deliver(state.redis.as_ref(), &event).await?;
    if listeners == 0 {
        return Err(ApiError::refused(
            ErrorCode::NotListening,
            "nobody is listening for a test event on this webhook: choose \"Listen for a test event\" under \
             the webhook trigger in the studio, then send again (the production URL, without /test, starts runs)",
        ));
    }
    Ok(ApiJson(aos_api::TestDelivered { listeners }))
}

/// Header names lowercased with their values (values that are not text are left out).
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_ascii_lowercase(), value.to_str().ok()?.to_owned())))
        .collect()
}

/// `POST /hooks/{token}`: any JSON body, optional `Idempotency-Key`. Admitted concurrently: the
/// source's checks, the credits gate and the dedupe all run in this request (see
/// `aos_actors::webhook`); the answer waits for the delivery and its run to be durable. A workflow
/// with a respond-to-webhook step answers with that step's status, headers and body (waiting for
/// it within the request's time limit); any other answers `202 {run_id}`.
async fn ingress(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let hash = token_hash(&token);
    let Some(actors) = state.actors.as_ref() else {
        // a node without the actor tree admits nothing, but still tells an unknown token apart
        let known = state.store.webhooks().source_by_token_hash(&hash).await?.is_some_and(|s| s.enabled);
        return Err(if known {
            ApiError::Unavailable { what: "webhook ingress" }
        } else {
            ApiError::not_found("webhook")
        });
    };
    let delivery = Delivery {
        headers: header_pairs(&headers),
        query: query_map(query.as_deref()),
        body: body.to_vec(),
        traceparent: aos_ops::current_traceparent(),
    };
    let limit = state.limits.request_timeout.saturating_sub(Duration::from_secs(2)).max(Duration::from_secs(1));
    let (accepted, answer) = actors.deliver_and_answer(&hash, delivery, limit).await?;
    if let Some(answer) = answer {
        return Ok(respond(answer));
    }
    let status = if accepted.duplicate { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, ApiJson(aos_api::Accepted { run_id: accepted.run_id, duplicate: accepted.duplicate })).into_response())
}

/// Headers a respond step may not set: framing (the server's), cookies and the security policy of
/// the origin the apps are served from.
const RESERVED_HEADERS: [&str; 10] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "set-cookie",
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "strict-transport-security",
    "server",
];

/// A respond step's answer as the HTTP response: its status (200 when out of range), the headers
/// that are valid and not [`RESERVED_HEADERS`] (nor CORS ones), and the body: text as it is,
/// anything else as JSON. The answer is sandboxed (`Content-Security-Policy: sandbox`): a workflow
/// that answers HTML cannot run script as the apps' origin.
fn respond(answer: aos_engine_link::WebhookResponse) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = match answer.body {
        Value::String(text) => (status, text).into_response(),
        other => (status, axum::Json(other)).into_response(),
    };
    for (name, value) in answer.headers {
        let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::try_from(name.as_str()), axum::http::HeaderValue::try_from(value.as_str()))
        else {
            continue;
        };
        if RESERVED_HEADERS.contains(&name.as_str()) || name.as_str().starts_with("access-control-") {
            continue;
        }
        response.headers_mut().insert(name, value);
    }
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_SECURITY_POLICY, axum::http::HeaderValue::from_static("sandbox"));
    response
}

/// The query string as a JSON object of strings, decoded as a form (`+` is a space, `%XX` a
/// byte); a repeated key keeps its last value.
fn query_map(query: Option<&str>) -> Map<String, Value> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(key, value)| (key.into_owned(), Value::String(value.into_owned())))
        .collect()
}

fn prefix_of(token: &str) -> String {
    token.chars().take(TOKEN_PREFIX.len() + 6).collect()
}

/// The public URL of a hook.
fn hook_url(state: &AppState, headers: &HeaderMap, token: &str) -> String {
    format!("{}/hooks/{token}", super::public_base(state, headers))
}
