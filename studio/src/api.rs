//! The server's HTTP API as the studio uses it: the session (tokens in local storage, shared with
//! the dashboard; a refused access token is refreshed once), and typed calls. Shapes mirror the
//! gateway's routes; unknown fields are ignored so the server may add some.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use aos_api::{ErrorBody, RunCreated};

use crate::platform::{self, PlatformError};

/// Where the access token lives.
pub const TOKEN_KEY: &str = "aos.token";
/// Where the refresh token lives.
pub const REFRESH_KEY: &str = "aos.refresh";

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No session, or the server refused it and a refresh did not help: show the login screen.
    #[error("please sign in")]
    Unauthorized,
    /// The server answered with an error body.
    #[error("{message}")]
    Status { status: u16, code: String, message: String, details: Vec<Value> },
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("the server's answer did not read: {0}")]
    Decode(String),
}

impl ApiError {
    /// The validation problems of a refused publish (`details` of `invalid_workflow`).
    pub fn problems(&self) -> Vec<aos_schema::ValidationError> {
        match self {
            ApiError::Status { details, .. } => {
                details.iter().filter_map(|d| serde_json::from_value(d.clone()).ok()).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Reads an error response.
pub fn error_of(status: u16, body: &str) -> ApiError {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => ApiError::Status {
            status,
            code: error.code,
            message: error.message,
            details: error.details.unwrap_or_default(),
        },
        Err(_) => ApiError::Status {
            status,
            code: "http".into(),
            message: format!("the server answered {status}"),
            details: vec![],
        },
    }
}

/// Tokens as the auth endpoints return them.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub token: String,
    pub refresh_token: String,
}

pub fn signed_in() -> bool {
    platform::storage_get(TOKEN_KEY).is_some()
}

pub fn store_tokens(tokens: &Tokens) {
    platform::storage_set(TOKEN_KEY, Some(&tokens.token));
    platform::storage_set(REFRESH_KEY, Some(&tokens.refresh_token));
}

pub fn sign_out() {
    platform::storage_set(TOKEN_KEY, None);
    platform::storage_set(REFRESH_KEY, None);
}

/// The access token (for `?token=` on sockets).
pub fn token() -> Option<String> {
    platform::storage_get(TOKEN_KEY)
}

/// One call returning the body text; refreshes the session once on `401`.
pub async fn call_text(method: &str, path: &str, body: Option<String>) -> Result<String, ApiError> {
    let mut refreshed = false;
    loop {
        let bearer = platform::storage_get(TOKEN_KEY);
        let response = platform::fetch(method, path, body.clone(), bearer.clone()).await?;
        match response.status {
            200..=299 => return Ok(response.body),
            401 if !refreshed && bearer.is_some() => {
                refreshed = true;
                if !refresh().await {
                    sign_out();
                    return Err(ApiError::Unauthorized);
                }
            }
            401 => {
                sign_out();
                return Err(ApiError::Unauthorized);
            }
            status => return Err(error_of(status, &response.body)),
        }
    }
}

/// One call with a JSON answer.
pub async fn call<T: DeserializeOwned>(method: &str, path: &str, body: Option<Value>) -> Result<T, ApiError> {
    let text = call_text(method, path, body.map(|b| b.to_string())).await?;
    let text = if text.trim().is_empty() { "null" } else { text.as_str() };
    serde_json::from_str(text).map_err(|e| ApiError::Decode(e.to_string()))
}

async fn refresh() -> bool {
    let Some(refresh_token) = platform::storage_get(REFRESH_KEY) else { return false };
    let body = json!({ "refresh_token": refresh_token }).to_string();
    match platform::fetch("POST", "/api/auth/refresh", Some(body), None).await {
        Ok(response) if response.status == 200 => match serde_json::from_str::<Tokens>(&response.body) {
            Ok(tokens) => {
                store_tokens(&tokens);
                true
            }
            Err(_) => false,
        },
        _ => false,
    }
}

/// Signs in; stores the tokens.
pub async fn login(email: &str, password: &str) -> Result<(), ApiError> {
    let body = json!({ "email": email, "password": password }).to_string();
    let response = platform::fetch("POST", "/api/auth/login", Some(body), None).await?;
    if response.status != 200 {
        return Err(error_of(response.status, &response.body));
    }
    let tokens: Tokens = serde_json::from_str(&response.body).map_err(|e| ApiError::Decode(e.to_string()))?;
    store_tokens(&tokens);
    Ok(())
}

/// What sign-up asks for.
#[derive(Debug, Clone, Serialize)]
pub struct Signup {
    pub email: String,
    pub password: String,
    pub name: String,
    pub org_name: String,
}

pub async fn signup(form: &Signup) -> Result<(), ApiError> {
    let body = serde_json::to_string(form).map_err(|e| ApiError::Decode(e.to_string()))?;
    let response = platform::fetch("POST", "/api/auth/signup", Some(body), None).await?;
    if response.status != 201 && response.status != 200 {
        return Err(error_of(response.status, &response.body));
    }
    let tokens: Tokens = serde_json::from_str(&response.body).map_err(|e| ApiError::Decode(e.to_string()))?;
    store_tokens(&tokens);
    Ok(())
}

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Me {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub orgs: Vec<MyOrg>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MyOrg {
    pub org_id: String,
    pub role: String,
}

impl Me {
    /// The org the studio works in: the first one.
    pub fn org(&self) -> Option<&str> {
        self.orgs.first().map(|o| o.org_id.as_str())
    }
}

pub async fn me() -> Result<Me, ApiError> {
    call("GET", "/api/auth/me", None).await
}

/// A workflow as listed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Workflow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub current_version: Option<i64>,
    #[serde(default)]
    pub updated_at: Value,
}

pub async fn workflows(org: &str) -> Result<Vec<Workflow>, ApiError> {
    call("GET", &format!("/api/orgs/{org}/workflows"), None).await
}

pub async fn create_workflow(org: &str, name: &str) -> Result<Workflow, ApiError> {
    call("POST", &format!("/api/orgs/{org}/workflows"), Some(json!({ "name": name }))).await
}

pub async fn workflow(id: &str) -> Result<Workflow, ApiError> {
    call("GET", &format!("/api/workflows/{id}"), None).await
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Published {
    pub version: i64,
    pub checksum: String,
}

pub async fn publish(id: &str) -> Result<Published, ApiError> {
    call("POST", &format!("/api/workflows/{id}/publish"), Some(json!({}))).await
}

/// A workflow's webhook source as listed; `url` is `None` for viewers (and for a source made
/// before tokens were kept, until it is rotated).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WebhookSource {
    pub id: String,
    pub name: String,
    pub token_prefix: String,
    pub enabled: bool,
    #[serde(default)]
    pub url: Option<String>,
}

pub async fn webhooks(workflow: &str) -> Result<Vec<WebhookSource>, ApiError> {
    call("GET", &format!("/api/workflows/{workflow}/webhooks"), None).await
}

/// A rotated source: its new URL (the old one stops working at once).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RotatedSource {
    pub source_id: String,
    pub url: String,
}

pub async fn rotate_webhook(source: &str) -> Result<RotatedSource, ApiError> {
    call("POST", &format!("/api/webhooks/{source}/rotate"), Some(json!({}))).await
}

pub async fn start_run(id: &str, input: Value) -> Result<RunCreated, ApiError> {
    call("POST", &format!("/api/workflows/{id}/runs"), Some(json!({ "input": input }))).await
}

/// The canonical export file's text.
pub async fn export(id: &str) -> Result<String, ApiError> {
    call_text("GET", &format!("/api/workflows/{id}/export"), None).await
}

/// A dry run of an import over workflow `into`: the report (required secrets, n8n notes).
pub async fn import_dry_run(org: &str, into: Option<&str>, text: &str) -> Result<Value, ApiError> {
    let query = into.map(|id| format!("&into={id}")).unwrap_or_default();
    let body =
        call_text("POST", &format!("/api/orgs/{org}/workflows/import?dry_run=true{query}"), Some(text.to_owned()))
            .await?;
    serde_json::from_str(&body).map_err(|e| ApiError::Decode(e.to_string()))
}

/// Imports a file as a new workflow.
pub async fn import_new(org: &str, text: &str) -> Result<Workflow, ApiError> {
    let body = call_text("POST", &format!("/api/orgs/{org}/workflows/import"), Some(text.to_owned())).await?;
    serde_json::from_str(&body).map_err(|e| ApiError::Decode(e.to_string()))
}

/// A stored secret's name (values never come back).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SecretName {
    pub name: String,
}

pub async fn secret_names(org: &str) -> Result<Vec<String>, ApiError> {
    let list: Vec<SecretName> = call("GET", &format!("/api/orgs/{org}/secrets"), None).await?;
    Ok(list.into_iter().map(|s| s.name).collect())
}

/// A gallery template.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Template {
    pub id: String,
    #[serde(default)]
    pub creator_id: String,
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub latest_version: i64,
    #[serde(default)]
    pub install_count: i64,
}

/// A template with its latest version.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TemplateDetail {
    #[serde(flatten)]
    pub template: Template,
    #[serde(default)]
    pub latest: Option<TemplateVersion>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TemplateVersion {
    pub version: i64,
    #[serde(default)]
    pub required_secrets: Vec<String>,
    /// The version's graph, when the server sends it (for the preview).
    #[serde(default)]
    pub graph: Option<aos_schema::WorkflowGraph>,
}

/// The gallery's query string for a search and a category.
pub fn gallery_query(search: &str, category: &str) -> String {
    let mut parts = Vec::new();
    if !search.trim().is_empty() {
        parts.push(format!("search={}", encode(search.trim())));
    }
    if !category.is_empty() {
        parts.push(format!("category={}", encode(category)));
    }
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn gallery(search: &str, category: &str) -> Result<Vec<Template>, ApiError> {
    call("GET", &format!("/api/gallery{}", gallery_query(search, category)), None).await
}

pub async fn template(id: &str) -> Result<TemplateDetail, ApiError> {
    call("GET", &format!("/api/templates/{id}"), None).await
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Installed {
    pub workflow_id: String,
    #[serde(default)]
    pub missing_secrets: Vec<String>,
}

pub async fn install(org: &str, template: &str, secrets: &[(String, String)]) -> Result<Installed, ApiError> {
    let secrets: serde_json::Map<String, Value> =
        secrets.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    call("POST", &format!("/api/orgs/{org}/templates/{template}/install"), Some(json!({ "secrets": secrets }))).await
}

/// A creator's page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Profile {
    pub handle: String,
    pub display_name: String,
    #[serde(default)]
    pub bio: String,
    #[serde(default)]
    pub templates: Vec<Template>,
}

pub async fn profile(handle: &str) -> Result<Profile, ApiError> {
    call("GET", &format!("/api/creators/{}", encode(handle)), None).await
}

/// Publishes the workflow as a (new) template of the org and its first version.
pub async fn publish_template(
    org: &str,
    workflow: &str,
    slug: &str,
    name: &str,
    category: &str,
    description: &str,
) -> Result<Template, ApiError> {
    let template: Template = call(
        "POST",
        &format!("/api/orgs/{org}/templates"),
        Some(json!({ "slug": slug, "name": name, "category": category, "description": description })),
    )
    .await?;
    let _: Value = call(
        "POST",
        &format!("/api/orgs/{org}/templates/{}/versions", template.id),
        Some(json!({ "workflow_id": workflow })),
    )
    .await?;
    Ok(template)
}

/// The path of the live doc socket.
pub fn doc_socket_path(workflow: &str) -> String {
    format!("/ws/docs/{workflow}?token={}", encode(&token().unwrap_or_default()))
}

/// The path of a run's event socket, after sequence number `after`.
pub fn run_socket_path(run: &str, after: i64) -> String {
    format!("/ws/events?run={run}&after={after}&token={}", encode(&token().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_and_problems_read() {
        let body = r#"{"error":{"code":"invalid_workflow","message":"the workflow cannot be published: x","details":[{"code":"no_trigger"},{"code":"missing_required_field","node":"d","field":"seconds"}]}}"#;
        let err = error_of(422, body);
        assert!(matches!(&err, ApiError::Status { code, .. } if code == "invalid_workflow"));
        let problems = err.problems();
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[1].code(), "missing_required_field");
        assert!(matches!(error_of(502, "<html>"), ApiError::Status { status: 502, .. }));
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(gallery_query("", ""), "");
        assert_eq!(gallery_query(" slack bot ", "ai"), "?search=slack%20bot&category=ai");
        assert_eq!(encode("a&b=c"), "a%26b%3Dc");
    }

    #[test]
    fn responses_ignore_unknown_fields() {
        let t: TemplateDetail = serde_json::from_str(
            r#"{"id":"t","slug":"s","name":"N","org_id":"o","latest":{"version":2,"checksum":"c","required_secrets":["K"]}}"#,
        )
        .unwrap();
        assert_eq!(t.latest.unwrap().required_secrets, ["K"]);
    }
}
