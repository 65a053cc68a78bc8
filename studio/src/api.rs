//! The server's HTTP API as the studio uses it: typed calls over `aos-web-client` (the session
//! shared with the dashboard, one token refresh at a time). Shapes mirror the gateway's routes;
//! unknown fields are ignored so the server may add some.

use serde_json::{Value, json};

use aos_api::{Install, NewTemplate, NewTemplateVersion, NewWorkflow, RunCreated, SecretMeta};
pub use aos_api::{
    Installed, Me, Member, MyOrg, ProfileView, Published, Signup, SourceView, SourceWithToken, Template,
    TemplateDetail, TemplateVersion, TestEvent, TestEventWait, VersionDetail, VersionSummary, WebhookEvent, Workflow,
};
pub use aos_api::{Run, RunDetail, RunLog};
pub use aos_web_client::session::{forget as sign_out, signed_in};
pub use aos_web_client::{ApiError, call_text, encode, login, signup};

/// One call with a JSON answer.
pub async fn call<T: serde::de::DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<T, ApiError> {
    aos_web_client::decode(&call_text(method, path, body.map(|b| b.to_string())).await?)
}

/// The org the studio works in: the first one of the signed-in user.
pub fn org_of(me: &Me) -> Option<String> {
    me.orgs.first().map(|o| o.org_id.to_string())
}

pub async fn me() -> Result<Me, ApiError> {
    call("GET", "/api/auth/me", None).await
}

pub async fn workflows(org: &str) -> Result<Vec<Workflow>, ApiError> {
    call("GET", &format!("/api/orgs/{org}/workflows"), None).await
}

pub async fn create_workflow(org: &str, name: &str) -> Result<Workflow, ApiError> {
    let new = NewWorkflow { name: name.to_owned(), description: String::new() };
    aos_web_client::send("POST", &format!("/api/orgs/{org}/workflows"), &new).await
}

/// The workflow (without its draft graph: the doc socket brings that).
pub async fn workflow(id: &str) -> Result<Workflow, ApiError> {
    call("GET", &format!("/api/workflows/{id}"), None).await
}

pub async fn publish(id: &str) -> Result<Published, ApiError> {
    call("POST", &format!("/api/workflows/{id}/publish"), Some(json!({}))).await
}

/// The workflow's published versions (oldest first, as the server lists them).
pub async fn versions(id: &str) -> Result<Vec<VersionSummary>, ApiError> {
    aos_web_client::get(&format!("/api/workflows/{id}/versions")).await
}

/// One published version with its export file (and so its graph).
pub async fn version(id: &str, version: i64) -> Result<VersionDetail, ApiError> {
    aos_web_client::get(&format!("/api/workflows/{id}/versions/{version}")).await
}

/// Makes `version` current again (runs use it) and its graph the draft, for every open editor.
pub async fn revert(id: &str, version: i64) -> Result<Published, ApiError> {
    call("POST", &format!("/api/workflows/{id}/versions/{version}/revert"), Some(json!({}))).await
}

/// The org's members with their names (who published a version).
pub async fn members(org: &str) -> Result<Vec<Member>, ApiError> {
    aos_web_client::get(&format!("/api/orgs/{org}/members")).await
}

pub async fn webhooks(workflow: &str) -> Result<Vec<SourceView>, ApiError> {
    call("GET", &format!("/api/workflows/{workflow}/webhooks"), None).await
}

/// Gives the source a new token: its new URL (the old one stops working at once).
pub async fn rotate_webhook(source: &str) -> Result<SourceWithToken, ApiError> {
    call("POST", &format!("/api/webhooks/{source}/rotate"), Some(json!({}))).await
}

/// Waits up to `wait_secs` for the next delivery to the source's test URL (`None`: none came).
pub async fn next_test_event(source: &str, wait_secs: u32) -> Result<Option<TestEvent>, ApiError> {
    let waited: TestEventWait =
        call("GET", &format!("/api/webhooks/{source}/test-event?wait={wait_secs}"), None).await?;
    Ok(waited.event)
}

/// The source's latest recorded delivery, if it had one.
pub async fn last_delivery(source: &str) -> Result<Option<WebhookEvent>, ApiError> {
    let events: Vec<WebhookEvent> = call("GET", &format!("/api/webhooks/{source}/events?limit=1"), None).await?;
    Ok(events.into_iter().next())
}

pub async fn start_run(id: &str, input: Value) -> Result<RunCreated, ApiError> {
    call("POST", &format!("/api/workflows/{id}/runs"), Some(json!({ "input": input }))).await
}

/// A run with the latest attempt of each of its steps (input, output or error, duration, tries).
pub async fn run_detail(run: &str) -> Result<RunDetail, ApiError> {
    aos_web_client::get(&format!("/api/runs/{run}")).await
}

/// The workflow's newest runs, newest first.
pub async fn latest_runs(org: &str, workflow: &str, limit: u32) -> Result<Vec<Run>, ApiError> {
    aos_web_client::get(&format!("/api/orgs/{org}/runs?workflow={workflow}&limit={limit}")).await
}

/// The first `limit` log rows of a run.
pub async fn first_logs(run: &str, limit: u32) -> Result<Vec<RunLog>, ApiError> {
    aos_web_client::get(&format!("/api/runs/{run}/logs?limit={limit}")).await
}

/// The canonical export file's text.
pub async fn export(id: &str) -> Result<String, ApiError> {
    call_text("GET", &format!("/api/workflows/{id}/export"), None).await
}

/// A dry run of an import over workflow `into`: the report (required secrets, n8n notes).
pub async fn import_dry_run(org: &str, into: Option<&str>, text: &str) -> Result<aos_api::ImportPreview, ApiError> {
    let query = into.map(|id| format!("&into={id}")).unwrap_or_default();
    let path = format!("/api/orgs/{org}/workflows/import?dry_run=true{query}");
    aos_web_client::decode(&call_text("POST", &path, Some(text.to_owned())).await?)
}

/// Imports a file as a new workflow.
pub async fn import_new(org: &str, text: &str) -> Result<aos_api::Imported, ApiError> {
    let path = format!("/api/orgs/{org}/workflows/import");
    aos_web_client::decode(&call_text("POST", &path, Some(text.to_owned())).await?)
}

pub async fn secret_names(org: &str) -> Result<Vec<String>, ApiError> {
    let list: Vec<SecretMeta> = call("GET", &format!("/api/orgs/{org}/secrets"), None).await?;
    Ok(list.into_iter().map(|s| s.name).collect())
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

pub async fn gallery(search: &str, category: &str) -> Result<Vec<Template>, ApiError> {
    call("GET", &format!("/api/gallery{}", gallery_query(search, category)), None).await
}

pub async fn template(id: &str) -> Result<TemplateDetail, ApiError> {
    call("GET", &format!("/api/templates/{id}"), None).await
}

pub async fn install(org: &str, template: &str, secrets: &[(String, String)]) -> Result<Installed, ApiError> {
    let secrets = secrets.iter().filter(|(_, v)| !v.is_empty()).cloned().collect();
    let path = format!("/api/orgs/{org}/templates/{template}/install");
    aos_web_client::send("POST", &path, &Install { version: None, secrets }).await
}

/// A creator's page: the profile and their published templates.
pub async fn profile(handle: &str) -> Result<ProfileView, ApiError> {
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
    let new = NewTemplate {
        slug: slug.to_owned(),
        name: name.to_owned(),
        category: category.to_owned(),
        description: description.to_owned(),
    };
    let template: Template = aos_web_client::send("POST", &format!("/api/orgs/{org}/templates"), &new).await?;
    let workflow_id = workflow.parse().map_err(|_| ApiError {
        status: 0,
        code: aos_web_client::Failure::Invalid,
        message: format!("{workflow} is not a workflow id"),
        details: Vec::new(),
    })?;
    let path = format!("/api/orgs/{org}/templates/{}/versions", template.id);
    let _: TemplateVersion = aos_web_client::send("POST", &path, &NewTemplateVersion { workflow_id }).await?;
    Ok(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_publish_lists_its_problems() {
        let body = r#"{"error":{"code":"invalid_workflow","message":"the workflow cannot be published: x","details":[{"code":"no_trigger"},{"code":"missing_required_field","node":"d","field":"seconds"}]}}"#;
        let err = ApiError::from_response(422, body);
        assert_eq!(err.code, aos_web_client::Failure::Refused(aos_api::ErrorCode::InvalidWorkflow));
        let problems = err.details_as::<aos_schema::ValidationError>();
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[1].code(), "missing_required_field");
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(gallery_query("", ""), "");
        assert_eq!(gallery_query(" slack bot ", "ai"), "?search=slack%20bot&category=ai");
    }
}
