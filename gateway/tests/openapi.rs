//! The OpenAPI document is served, lists the public contract's operations, and every operation it
//! lists is a route the server answers (none falls through to "no route"); the docs page is
//! self-contained.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use aos_persistence::Backend;
use support_api::Api;

#[tokio::test]
async fn every_documented_operation_is_served() {
    let api = Api::start(Backend::Sqlite).await;
    let spec = api.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(spec.status, 200);
    assert!(spec.body["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", spec.body["openapi"]);
    let paths = spec.body["paths"].as_object().unwrap();
    for contract in [
        "/api/auth/signup",
        "/api/auth/login",
        "/api/orgs/{org_id}/members",
        "/api/orgs/{org_id}/workflows",
        "/api/workflows/{id}",
        "/api/workflows/{id}/graph",
        "/api/workflows/{id}/publish",
        "/api/workflows/{id}/export",
        "/api/orgs/{org_id}/workflows/import",
        "/api/workflows/{id}/webhooks",
        "/hooks/{token}",
        "/api/workflows/{id}/runs",
        "/api/runs/{id}",
        "/api/runs/{id}/logs",
        "/api/runs/{id}/replay",
        "/api/orgs/{org_id}/secrets",
        "/api/admin/actors",
    ] {
        assert!(paths.contains_key(contract), "{contract} is not documented");
    }
    let mut checked = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .split('/')
                .map(|segment| match segment {
                    "{version}" | "{other}" => "1".to_owned(),
                    "{name}" => "NAME".to_owned(),
                    "{token}" => "whk_unknown".to_owned(),
                    s if s.starts_with('{') => uuid::Uuid::new_v4().to_string(),
                    s => s.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("/");
            let reply = api.raw(&method.to_uppercase(), &concrete, None, b"{}".to_vec()).await;
            assert_ne!(reply.status, 405, "{method} {path} is documented but not routed");
            assert!(!reply.text.contains("no route for"), "{method} {path} is documented but not routed");
            checked += 1;
        }
    }
    assert!(checked >= 45, "{checked} operations");
    let catalog = api.call("GET", "/api/catalog", None, None).await;
    let descriptors: Vec<aos_api::NodeDescriptor> = serde_json::from_value(catalog.body).unwrap();
    let kinds: Vec<&str> = descriptors.iter().map(|d| d.kind.as_str()).collect();
    for kind in ["trigger.webhook", "logic.condition", "data.transform", "http.request", "email.send"] {
        assert!(kinds.contains(&kind), "{kind} missing from the catalog");
    }
    assert_eq!(
        descriptors,
        aos_schema::Catalog::builtin().descriptors(),
        "the catalog the studio builds its forms from"
    );
    // every code a refusal may carry is documented with its status and meaning
    let codes = &spec.body["components"]["schemas"]["ErrorCode"];
    let listed: Vec<&str> = codes["enum"].as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
    let description = codes["description"].as_str().unwrap_or_default();
    for code in aos_api::ErrorCode::ALL {
        assert!(listed.contains(&code.as_str()), "{code} is not in the ErrorCode schema");
        assert!(description.contains(&format!("`{code}` ({})", code.status())), "{code} has no meaning documented");
    }
    assert_eq!(listed.len(), aos_api::ErrorCode::ALL.len());
    let refused = api.call("GET", "/api/workflows/not-an-id", None, None).await;
    assert!(listed.contains(&refused.code()), "{refused:?}");

    let page = api.client.get(api.url("/api/docs")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/api/openapi.json"));
    assert!(!page.contains("https://") && !page.contains("http://"), "the page loads nothing from elsewhere");
    api.finish().await;
}
