//! The browser apps: the studio at `/studio/` and the dashboard at `/app/`, served from the built
//! bundles in `--web-dir` (`cargo xtask run` builds them). Any path below an app that is not a
//! file answers the app's `index.html`, so the apps route on `location.pathname`. Every answer
//! carries a strict Content-Security-Policy and the usual hardening headers.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::ApiError;
use crate::state::AppState;

/// Scripts only from this origin (plus compiling the app's own wasm); styles from this origin and
/// the apps' computed inline styles; network only to this origin (HTTP and WebSocket); no frames,
/// plugins or foreign form targets.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; \
     connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";

/// The two apps: URL prefix and folder name in the web dir.
const APPS: [(&str, &str); 2] = [("/studio", "studio"), ("/app", "dashboard")];

/// The apps' routes; without a web dir they answer 503 saying how to build them.
pub fn routes(web_dir: Option<&Path>) -> Router<AppState> {
    let mut router = Router::new().route("/", get(|| async { Redirect::to("/studio/") }));
    for (prefix, folder) in APPS {
        let app = match web_dir.map(|dir| dir.join(folder)).filter(|dir| dir.join("index.html").is_file()) {
            Some(dir) => serve_app(&dir),
            None => Router::new().fallback(not_built),
        };
        router = router.nest_service(prefix, app.layer(axum::middleware::from_fn(security_headers)));
    }
    router
}

fn serve_app(dir: &Path) -> Router {
    let index: PathBuf = dir.join("index.html");
    Router::new()
        .fallback_service(ServeDir::new(dir).append_index_html_on_directories(true).fallback(ServeFile::new(index)))
}

async fn not_built() -> ApiError {
    ApiError::WebAppsNotBuilt
}

/// `/studio` becomes `/studio/`, so the app's relative URLs (`./app.js`) resolve below it.
fn needs_slash(request: &Request) -> Option<String> {
    let original = request.extensions().get::<OriginalUri>()?;
    let path = original.path();
    APPS.iter().any(|(prefix, _)| *prefix == path).then(|| format!("{path}/"))
}

/// The hardening headers of every app response; no caching without revalidation (the bundle's
/// file names are stable, so a new build must be picked up at once).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = match needs_slash(&request) {
        Some(to) => Redirect::permanent(&to).into_response(),
        None => next.run(request).await.into_response(),
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    response
}
