//! The gallery: templates and their versions, installing one into an org, and creators' public
//! profiles.

use std::collections::BTreeMap;

use aos_schema::{InstallationId, OrgId, TemplateId, UserId, WorkflowGraph, WorkflowId};
use serde::{Deserialize, Serialize};

/// A template: gallery rows, an org's templates, a creator's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: TemplateId,
    /// The org that publishes it; only it may change it.
    pub org_id: OrgId,
    /// The person credited in the gallery (their creator profile).
    pub creator_id: UserId,
    /// Unique across the gallery, used in URLs.
    pub slug: String,
    pub name: String,
    pub description: String,
    pub category: String,
    /// The newest published version; 0 while it is a draft never published.
    pub latest_version: i64,
    /// How many times any org installed any version.
    pub install_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /api/orgs/{org}/templates`: a new draft template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub category: String,
}

/// `POST /api/orgs/{org}/templates/{id}/versions`: the workflow (of the template's org) whose
/// draft becomes the next version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTemplateVersion {
    pub workflow_id: WorkflowId,
}

/// `GET /api/templates/{id}`: the template and its newest version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateDetail {
    #[serde(flatten)]
    pub template: Template,
    pub latest: Option<TemplateVersion>,
}

/// A published version of a template (and what publishing one answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateVersion {
    pub version: i64,
    pub checksum: String,
    /// The secrets an install needs.
    pub required_secrets: Vec<String>,
    /// The version's graph, for a preview before installing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<WorkflowGraph>,
}

/// `POST /api/orgs/{org}/templates/{id}/install` (the body is optional). Its `Debug` shows the
/// secrets' names, never their values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// The version to install; the newest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Values for the secrets the template needs (write-only; needs the admin role).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for Install {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Install").field("version", &self.version).field("secrets", &self.secrets.keys()).finish()
    }
}

/// What an install answers: the new workflow and the secrets it still lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    pub installation: Installation,
    pub workflow_id: WorkflowId,
    pub required_secrets: Vec<String>,
    /// Required secrets the org still lacks: set them before running.
    pub missing_secrets: Vec<String>,
}

/// One install of a template into an org (`GET /api/orgs/{org}/installations` rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installation {
    pub id: InstallationId,
    /// The installing org (not the template's).
    pub org_id: OrgId,
    pub template_id: TemplateId,
    pub template_version: i64,
    /// The workflow the install created.
    pub workflow_id: WorkflowId,
    /// Who installed it (`user:…`, `api_key:…`).
    pub installed_by: String,
    pub created_at: String,
}

/// `PUT /api/creators/me`: the caller's own creator profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    pub handle: String,
    pub display_name: String,
    #[serde(default)]
    pub bio: String,
    #[serde(default)]
    pub avatar_url: Option<String>,
}

/// A creator's profile (what `PUT /api/creators/me` answers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatorProfile {
    pub user_id: UserId,
    /// Unique across creators, used in profile URLs.
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /api/creators/{handle}`: the profile and the creator's published templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileView {
    #[serde(flatten)]
    pub profile: CreatorProfile,
    pub templates: Vec<Template>,
}
