//! The dashboard's pages and their addresses under `/app/`. The server answers every path below
//! `/app/` with the app, so the page comes from `location.pathname`; this module maps one to the
//! other and back, and says which pages only platform admins see.

use aos_schema::{RunId, WorkflowId};

/// Where the app is mounted.
pub const BASE: &str = "/app";

/// One page of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Workflows,
    Runs,
    Run(RunId),
    /// The runs list filtered to one workflow.
    WorkflowRuns(WorkflowId),
    Dlq,
    Usage,
    Secrets,
    /// The org's members and their roles.
    Members,
    Audit,
    /// The live supervision tree (platform admins).
    Actors,
    NotFound,
}

impl Route {
    /// The page for a path (`/app/runs/{id}`); a trailing slash or query does not matter.
    pub fn parse(path: &str) -> Route {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let Some(rest) = path.strip_prefix(BASE) else { return Route::NotFound };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Route::NotFound;
        }
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            [] | ["workflows"] => Route::Workflows,
            ["workflows", id, "runs"] => id.parse().map_or(Route::NotFound, Route::WorkflowRuns),
            ["runs"] => Route::Runs,
            ["runs", id] => id.parse().map_or(Route::NotFound, Route::Run),
            ["dlq"] => Route::Dlq,
            ["usage"] => Route::Usage,
            ["secrets"] => Route::Secrets,
            ["members"] => Route::Members,
            ["audit"] => Route::Audit,
            ["admin", "actors"] => Route::Actors,
            _ => Route::NotFound,
        }
    }

    /// The page's path.
    pub fn path(self) -> String {
        match self {
            Route::Workflows => format!("{BASE}/"),
            Route::Runs => format!("{BASE}/runs"),
            Route::Run(id) => format!("{BASE}/runs/{id}"),
            Route::WorkflowRuns(id) => format!("{BASE}/workflows/{id}/runs"),
            Route::Dlq => format!("{BASE}/dlq"),
            Route::Usage => format!("{BASE}/usage"),
            Route::Secrets => format!("{BASE}/secrets"),
            Route::Members => format!("{BASE}/members"),
            Route::Audit => format!("{BASE}/audit"),
            Route::Actors => format!("{BASE}/admin/actors"),
            Route::NotFound => format!("{BASE}/"),
        }
    }

    /// Only platform admins see this page (and the API refuses everyone else).
    pub fn admin_only(self) -> bool {
        matches!(self, Route::Actors)
    }

    /// The navigation entry this page lights up.
    pub fn section(self) -> Route {
        match self {
            Route::Run(_) | Route::WorkflowRuns(_) => Route::Runs,
            other => other,
        }
    }
}

/// The token of an invitation link's page (`/app/invite/{token}`), which works signed out and so
/// is not one of the signed-in app's [`Route`]s.
pub fn invitation_token(path: &str) -> Option<&str> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let token = path.strip_prefix(BASE)?.strip_prefix("/invite/")?.trim_end_matches('/');
    (!token.is_empty() && !token.contains('/')).then_some(token)
}

/// The studio's page for a workflow.
pub fn studio_path(workflow: WorkflowId) -> String {
    format!("/studio/w/{workflow}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_roundtrip() {
        let run = RunId::new();
        let workflow = WorkflowId::new();
        for route in [
            Route::Workflows,
            Route::Runs,
            Route::Run(run),
            Route::WorkflowRuns(workflow),
            Route::Dlq,
            Route::Usage,
            Route::Secrets,
            Route::Members,
            Route::Audit,
            Route::Actors,
        ] {
            assert_eq!(Route::parse(&route.path()), route, "{}", route.path());
        }
    }

    #[test]
    fn odd_paths() {
        assert_eq!(Route::parse("/app"), Route::Workflows);
        assert_eq!(Route::parse("/app/runs/?status=failed"), Route::Runs);
        assert_eq!(Route::parse("/app/runs/not-a-uuid"), Route::NotFound);
        assert_eq!(Route::parse("/apple"), Route::NotFound);
        assert_eq!(Route::parse("/studio/"), Route::NotFound);
        assert_eq!(Route::parse("/app/nothing/here"), Route::NotFound);
        assert!(Route::Actors.admin_only());
        assert!(!Route::Usage.admin_only());
        assert_eq!(Route::Run(RunId::new()).section(), Route::Runs);
        let workflow = WorkflowId::new();
        assert_eq!(studio_path(workflow), format!("/studio/w/{workflow}"));
    }

    #[test]
    fn invitation_links_carry_their_token() {
        assert_eq!(invitation_token("/app/invite/aosi_abc-DEF_1"), Some("aosi_abc-DEF_1"));
        assert_eq!(invitation_token("/app/invite/aosi_abc/"), Some("aosi_abc"));
        assert_eq!(invitation_token("/app/invite/aosi_abc?x=1#top"), Some("aosi_abc"));
        for other in ["/app/invite/", "/app/invite", "/app/members", "/app/invite/a/b", "/studio/invite/aosi_abc"] {
            assert_eq!(invitation_token(other), None, "{other}");
        }
        assert_eq!(Route::parse("/app/invite/aosi_abc"), Route::NotFound, "not a page of the signed-in app");
    }
}
