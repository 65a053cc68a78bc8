//! The request metrics label a templated route by its template, never by the ids in the path.
//! Its own test binary: it installs the process-wide metrics recorder.

#[path = "support/prometheus.rs"]
mod prometheus;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;

#[tokio::test]
async fn a_templated_route_is_labelled_by_its_template() {
    let metrics = aos_ops::install_metrics().unwrap();
    let app = Router::new()
        .route("/api/runs/{id}", get(|Path(id): Path<String>| async move { id }))
        .layer(axum::middleware::from_fn(aos_gateway::observe::observe));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    aos_engine_link::egress::install_crypto_provider();
    let client = reqwest::Client::new();
    for id in ["0192f0c4-run-a", "0192f0c4-run-b", "0192f0c4-run-c"] {
        let response = client.get(format!("http://{addr}/api/runs/{id}")).send().await.unwrap();
        assert_eq!(response.text().await.unwrap(), id);
    }
    let body = metrics.render();
    let parsed = prometheus::parse(&body).unwrap_or_else(|err| panic!("{err}\n{body}"));
    let labels = [("method", "GET"), ("route", "/api/runs/{id}"), ("status", "200")];
    assert_eq!(parsed.value("aos_http_requests_total", &labels), Some(3.0), "{body}");
    assert!(!body.contains("0192f0c4"), "an id reached a label:\n{body}");
    // every metric of the catalog is described, so its HELP is there once it has a value
    assert_eq!(
        parsed.family("aos_http_request_duration_seconds").help.as_deref(),
        Some("Time from a request's arrival to its response, by method, route template and status")
    );
}
