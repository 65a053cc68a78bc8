//! The OpenAPI document (`GET /api/openapi.json`), built from one table of operations with
//! utoipa's builders, and a browsable page (`GET /api/docs`) that renders it with a few lines of
//! inline script (nothing is loaded from the internet). `tests/openapi.rs` checks that every
//! operation listed here is served.

use serde_json::{Value, json};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Required, ResponseBuilder,
};

/// One documented operation.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    /// The least org role allowed (`public`, `authenticated`, `platform admin` otherwise).
    pub access: &'static str,
    pub status: u16,
    /// An example request body.
    pub body: Option<Value>,
}

const fn op(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    access: &'static str,
    status: u16,
) -> Operation {
    Operation { method, path, tag, summary, access, status, body: None }
}

fn with(mut operation: Operation, body: Value) -> Operation {
    operation.body = Some(body);
    operation
}

/// Every operation of the public API.
#[rustfmt::skip]
pub fn operations() -> Vec<Operation> {
    let graph = json!({ "nodes": [{ "id": "start", "kind": "trigger.manual", "label": "Start", "position": { "x": 0, "y": 0 }, "config": {} }], "edges": [] });
    vec![
        with(op("POST", "/api/auth/signup", "auth", "Create an account and its org; returns tokens", "public", 201), json!({ "email": "ada@example.com", "password": "correct horse battery", "name": "Ada", "org_name": "Analytical" })),
        with(op("POST", "/api/auth/login", "auth", "Log in; returns an access token (`token`) and a refresh token", "public", 200), json!({ "email": "ada@example.com", "password": "correct horse battery" })),
        with(op("POST", "/api/auth/refresh", "auth", "Swap a refresh token for new tokens (the old one stops working)", "public", 200), json!({ "refresh_token": "aosr_…" })),
        op("POST", "/api/auth/logout", "auth", "End the session: its access and refresh tokens stop working", "authenticated", 204),
        op("GET", "/api/auth/me", "auth", "The caller, their orgs and roles", "authenticated", 200),
        with(op("POST", "/api/auth/password", "auth", "Change the password: every session ends, a new one starts", "authenticated", 200), json!({ "current_password": "…", "new_password": "…" })),
        with(op("POST", "/api/orgs/{org_id}/api-keys", "auth", "Create an API key (shown once)", "editor", 201), json!({ "name": "ci", "role": "editor" })),
        op("GET", "/api/orgs/{org_id}/api-keys", "auth", "List API keys (never the keys themselves)", "admin", 200),
        op("DELETE", "/api/orgs/{org_id}/api-keys/{key_id}", "auth", "Revoke an API key", "admin", 204),
        op("GET", "/api/orgs", "orgs", "The caller's orgs", "authenticated", 200),
        with(op("POST", "/api/orgs", "orgs", "Create an org owned by the caller", "authenticated", 201), json!({ "name": "Second org" })),
        op("GET", "/api/orgs/{org_id}", "orgs", "An org", "viewer", 200),
        op("GET", "/api/orgs/{org_id}/members", "orgs", "Members with their roles", "viewer", 200),
        with(op("POST", "/api/orgs/{org_id}/members", "orgs", "Add an existing account as a member (only owners grant owner)", "admin", 201), json!({ "email": "grace@example.com", "role": "editor" })),
        with(op("PATCH", "/api/orgs/{org_id}/members/{user_id}", "orgs", "Change a member's role (the last owner stays)", "admin", 200), json!({ "role": "viewer" })),
        op("DELETE", "/api/orgs/{org_id}/members/{user_id}", "orgs", "Remove a member", "admin", 204),
        with(op("POST", "/api/orgs/{org_id}/invitations", "orgs", "Invite an email, with or without an account, as a role (only owners invite owners); answers the link, shown once", "admin", 201), json!({ "email": "grace@example.com", "role": "editor" })),
        op("GET", "/api/orgs/{org_id}/invitations", "orgs", "Pending invitations (never their links)", "admin", 200),
        op("DELETE", "/api/orgs/{org_id}/invitations/{invitation_id}", "orgs", "Revoke an invitation: its link stops working", "admin", 204),
        op("GET", "/api/invitations/{token}", "orgs", "What an invitation link offers: org, role, inviter and the invited email; `410` once used, revoked or expired", "public", 200),
        op("POST", "/api/invitations/{token}/accept", "orgs", "Join the org through the link, signed in as the invited email", "authenticated", 200),
        with(op("POST", "/api/invitations/{token}/signup", "orgs", "Make an account for the invited email and join the org; returns tokens", "public", 201), json!({ "name": "Grace", "password": "correct horse battery" })),
        with(op("POST", "/api/orgs/{org_id}/workflows", "workflows", "Create a workflow", "editor", 201), json!({ "name": "Greeter", "description": "" })),
        op("GET", "/api/orgs/{org_id}/workflows", "workflows", "List workflows", "viewer", 200),
        with(op("POST", "/api/orgs/{org_id}/workflows/import", "workflows", "Import an export file (`?dry_run=true&into=<id>` reports without writing); n8n files answer `unsupported_format` for now", "editor", 201), json!({ "format": "automateos.workflow/v1", "name": "Greeter", "graph": graph })),
        op("GET", "/api/workflows/{id}", "workflows", "A workflow with its current draft graph", "viewer", 200),
        with(op("PATCH", "/api/workflows/{id}", "workflows", "Rename, describe, enable or disable", "editor", 200), json!({ "name": "Hello" })),
        op("DELETE", "/api/workflows/{id}", "workflows", "Delete a workflow", "editor", 204),
        with(op("PUT", "/api/workflows/{id}/graph", "workflows", "Replace the draft graph (the export format's `graph`)", "editor", 200), graph.clone()),
        op("POST", "/api/workflows/{id}/publish", "workflows", "Validate, compile and store an immutable version; `422 invalid_workflow` lists every problem in `details`", "editor", 201),
        op("GET", "/api/workflows/{id}/versions", "workflows", "Published versions", "viewer", 200),
        op("GET", "/api/workflows/{id}/versions/{version}", "workflows", "One version with its export file", "viewer", 200),
        op("GET", "/api/workflows/{id}/versions/{version}/diff/{other}", "workflows", "What changed between two versions (`changes.diff` arrives with the schema's graph diff)", "viewer", 200),
        op("POST", "/api/workflows/{id}/versions/{version}/revert", "workflows", "Make a version current and its graph the draft", "editor", 200),
        op("GET", "/api/workflows/{id}/export", "workflows", "The canonical export file of the draft (byte-stable)", "viewer", 200),
        with(op("POST", "/api/workflows/{id}/webhooks", "triggers", "Create a webhook source; returns its URL and token (publishing a webhook-triggered workflow makes one)", "editor", 201), json!({ "name": "github", "settings": { "signing_secret": "GITHUB_SECRET", "dedupe_header": "X-GitHub-Delivery", "rate_per_minute": 600, "max_body_bytes": 1048576 } })),
        op("GET", "/api/workflows/{id}/webhooks", "triggers", "List a workflow's webhook sources, each with its URL (`url` is null for viewers)", "viewer", 200),
        op("POST", "/api/webhooks/{source_id}/rotate", "triggers", "Rotate a source's token (the old one stops working)", "editor", 200),
        op("DELETE", "/api/webhooks/{source_id}", "triggers", "Delete a webhook source", "editor", 204),
        op("GET", "/api/webhooks/{source_id}/events", "triggers", "Deliveries the source recorded (`?limit=`), credential headers never stored", "viewer", 200),
        op("GET", "/api/webhooks/{source_id}/test-event", "triggers", "Wait (`?wait=` seconds, up to 60) for the next delivery to the source's test URL: `{event}`, or `{event: null}` when none came", "editor", 200),
        with(op("POST", "/hooks/{token}", "triggers", "Deliver a webhook: `202 {run_id}`; the same `Idempotency-Key` again answers `200` with the same run; a workflow with a respond-to-webhook step answers with that step's status, headers and body", "webhook token", 202), json!({ "any": "json" })),
        with(op("POST", "/hooks/{token}/test", "triggers", "Send a test event to whoever listens for one in the studio: no run starts, nothing is recorded; `404 not_listening` when nobody listens", "webhook token", 200), json!({ "any": "json" })),
        with(op("POST", "/api/workflows/{id}/runs", "runs", "Start a run of the current version (`Idempotency-Key` header optional); `402 credits_exhausted` when the org's credits are used up", "editor", 201), json!({ "input": { "n": 1 } })),
        op("GET", "/api/orgs/{org_id}/runs", "runs", "List runs, newest first (`?workflow=&status=&since=RFC3339&before=RFC3339&limit=`)", "viewer", 200),
        op("GET", "/api/runs/{id}", "runs", "A run with the latest attempt of each step", "viewer", 200),
        op("GET", "/api/runs/{id}/logs", "runs", "A run's log rows (`?after=SEQ&limit=`)", "viewer", 200),
        op("POST", "/api/runs/{id}/cancel", "runs", "Cancel an unfinished run", "editor", 200),
        with(op("POST", "/api/runs/{id}/replay", "runs", "Replay a finished run from the start or from the failed step", "editor", 201), json!({ "from": "failed" })),
        op("GET", "/api/orgs/{org_id}/dlq", "runs", "Dead-letter entries (`?status=pending|replayed|discarded`)", "viewer", 200),
        with(op("POST", "/api/orgs/{org_id}/dlq/replay", "runs", "Replay pending entries (all, or the listed `ids`)", "editor", 200), json!({ "ids": [] })),
        op("POST", "/api/orgs/{org_id}/dlq/{entry_id}/replay", "runs", "Replay one pending entry from its failed step", "editor", 201),
        op("POST", "/api/orgs/{org_id}/dlq/{entry_id}/discard", "runs", "Discard one pending entry", "editor", 200),
        op("GET", "/api/orgs/{org_id}/secrets", "secrets", "Secret names (never values)", "viewer", 200),
        with(op("POST", "/api/orgs/{org_id}/secrets", "secrets", "Create a secret (the value is write-only)", "admin", 201), json!({ "name": "SLACK_TOKEN", "value": "xoxb-…" })),
        with(op("PUT", "/api/orgs/{org_id}/secrets/{name}", "secrets", "Replace a secret's value", "admin", 200), json!({ "value": "xoxb-…" })),
        op("DELETE", "/api/orgs/{org_id}/secrets/{name}", "secrets", "Delete a secret", "admin", 204),
        op("GET", "/api/billing/plan", "billing", "The active price table", "authenticated", 200),
        op("GET", "/api/orgs/{org_id}/billing", "billing", "The org's credit balance", "viewer", 200),
        op("GET", "/api/orgs/{org_id}/billing/ledger", "billing", "The credit ledger, newest first (`?before=SEQ&limit=`)", "admin", 200),
        with(op("POST", "/api/orgs/{org_id}/billing/top-up", "billing", "Buy credits through the payment provider (`Idempotency-Key` makes retries add once); a declined payment answers 402", "admin", 201), json!({ "amount_micros": 10000000, "payment_token": "tok_test_visa" })),
        op("GET", "/api/orgs/{org_id}/usage", "billing", "Usage and cost in total, per workflow and per day (`?from=&to=` RFC 3339)", "viewer", 200),
        op("GET", "/api/runs/{id}/usage", "billing", "A run's usage and cost", "viewer", 200),
        op("GET", "/api/orgs/{org_id}/audit", "audit", "The audit log (`?action=prefix&after=SEQ&before=SEQ&order=chain|newest&limit=`)", "admin", 200),
        op("GET", "/api/orgs/{org_id}/audit/verify", "audit", "Verify the audit hash chain", "admin", 200),
        with(op("POST", "/api/orgs/{org_id}/templates", "templates", "Create a (draft) template", "editor", 201), json!({ "slug": "ping-slack", "name": "Ping Slack", "description": "", "category": "messaging" })),
        op("GET", "/api/orgs/{org_id}/templates", "templates", "The org's templates, drafts included", "viewer", 200),
        op("GET", "/api/templates/{template_id}", "templates", "A published template with its latest version and the secrets it needs", "authenticated", 200),
        with(op("POST", "/api/orgs/{org_id}/templates/{template_id}/versions", "templates", "Publish a workflow's draft as the template's next version", "editor", 201), json!({ "workflow_id": "…" })),
        op("GET", "/api/gallery", "templates", "Published templates (`?search=&category=&limit=&offset=`)", "authenticated", 200),
        with(op("POST", "/api/orgs/{org_id}/templates/{template_id}/install", "templates", "Install a template version as a new workflow; `secrets` (admin) sets the ones it needs", "editor", 201), json!({ "secrets": { "SLACK_TOKEN": "xoxb-…" } })),
        op("GET", "/api/orgs/{org_id}/installations", "templates", "The org's installs", "viewer", 200),
        with(op("PUT", "/api/creators/me", "templates", "Create or change the caller's creator profile", "authenticated", 200), json!({ "handle": "ada", "display_name": "Ada", "bio": "" })),
        op("GET", "/api/creators/{handle}", "templates", "A creator's profile and published templates", "authenticated", 200),
        op("GET", "/ws/docs/{workflow_id}", "live", "Co-edit the workflow's doc over the y-websocket protocol (`?token=`; viewers read-only)", "viewer", 101),
        op("GET", "/ws/events", "live", "Run events of a workflow or a run (`?workflow=|run=&after=SEQ&token=`), resumable", "viewer", 101),
        op("GET", "/api/admin/actors", "admin", "The live supervision tree", "platform admin", 200),
        op("POST", "/api/admin/actors/{id}/stop", "admin", "Stop one actor for good (audited)", "platform admin", 200),
        op("POST", "/api/admin/actors/{id}/restart", "admin", "Restart one actor, reloading it from the database (audited)", "platform admin", 200),
        op("GET", "/api/catalog", "workflows", "Every node kind with its ports and config fields", "public", 200),
        op("GET", "/healthz", "health", "The process answers", "public", 200),
        op("GET", "/readyz", "health", "The stores answer", "public", 200),
        op("GET", "/metrics", "health", "Prometheus metrics", "public", 200),
    ]
}

fn method(name: &str) -> HttpMethod {
    match name {
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// The document.
pub fn document() -> OpenApi {
    let mut paths = Paths::new();
    for operation in operations() {
        let mut builder = OperationBuilder::new()
            .tag(operation.tag)
            .summary(Some(operation.summary))
            .description(Some(format!("Access: {}.", operation.access)))
            .operation_id(Some(format!("{} {}", operation.method, operation.path)));
        for name in operation.path.split('{').skip(1).filter_map(|rest| rest.split('}').next()) {
            builder = builder
                .parameter(ParameterBuilder::new().name(name).parameter_in(ParameterIn::Path).required(Required::True));
        }
        if let Some(body) = operation.body.clone() {
            let content = ContentBuilder::new().example(Some(body)).build();
            builder =
                builder.request_body(Some(RequestBodyBuilder::new().content("application/json", content).build()));
        }
        if !matches!(operation.access, "public" | "webhook token") {
            builder = builder.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        builder = builder
            .response(operation.status.to_string(), ResponseBuilder::new().description("success").build())
            .response(
                "default",
                ResponseBuilder::new()
                    .description(
                        "`{\"error\": {\"code\", \"message\"}}`: `code` is one of the `ErrorCode` schema's values",
                    )
                    .build(),
            );
        paths.add_path_operation(operation.path, vec![method(operation.method)], builder.build());
    }
    let bearer = SecurityScheme::Http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("an access token (JWT) or an API key (`aosk_…`)"))
            .build(),
    );
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("AutomateOS API").version(env!("CARGO_PKG_VERSION")).description(Some(
            "Errors are `{\"error\": {\"code\": \"snake_case\", \"message\": \"…\"}}`. Ids of another org answer 404.",
        )))
        .paths(paths)
        .components(Some(
            ComponentsBuilder::new().security_scheme("bearer", bearer).schema("ErrorCode", error_codes()).build(),
        ))
        .build()
}

/// Every code a refusal can carry, with its HTTP status and what it means (from `aos_api::ErrorCode`).
fn error_codes() -> ObjectBuilder {
    let meanings: Vec<String> = aos_api::ErrorCode::ALL
        .iter()
        .map(|code| format!("- `{}` ({}): {}", code.as_str(), code.status(), code.meaning()))
        .collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!("The `code` of an error body.\n\n{}", meanings.join("\n"))))
        .enum_values(Some(aos_api::ErrorCode::ALL.iter().map(|code| code.as_str())))
}

/// A self-contained page that lists the operations from `/api/openapi.json`.
pub const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AutomateOS API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#3a1c24;background:#fdf8f3}
h1{color:#E84B4B}h2{margin-top:2rem;text-transform:capitalize}
details{background:#fff;border-radius:8px;margin:.4rem 0;padding:.5rem .8rem;box-shadow:0 1px 3px #0001}
summary{cursor:pointer}code{font-size:13px}.m{display:inline-block;width:4.5rem;font-weight:600}
pre{background:#f6eee6;padding:.6rem;border-radius:6px;overflow:auto}
</style></head><body><h1>AutomateOS API</h1><p id="d"></p><div id="ops">Loading…</div>
<script>
fetch('/api/openapi.json').then(r=>r.json()).then(doc=>{
  document.getElementById('d').textContent=doc.info.description||'';
  const byTag={};
  for(const [path,item] of Object.entries(doc.paths))for(const [m,op] of Object.entries(item)){
    (byTag[(op.tags||['other'])[0]]??=[]).push({m:m.toUpperCase(),path,op});}
  const root=document.getElementById('ops');root.textContent='';
  for(const [tag,ops] of Object.entries(byTag)){
    const h=document.createElement('h2');h.textContent=tag;root.appendChild(h);
    for(const {m,path,op} of ops){
      const d=document.createElement('details');const s=document.createElement('summary');
      s.innerHTML='<span class="m"></span><code></code> — <span></span>';
      s.children[0].textContent=m;s.children[1].textContent=path;s.children[2].textContent=op.summary||'';
      d.appendChild(s);const p=document.createElement('p');p.textContent=op.description||'';d.appendChild(p);
      const ex=op.requestBody?.content?.['application/json']?.example;
      if(ex!==undefined){const pre=document.createElement('pre');pre.textContent=JSON.stringify(ex,null,2);d.appendChild(pre);}
      root.appendChild(d);}}
});
</script></body></html>"#;
