//! The template gallery: creator profiles, templates and their published versions, and the
//! installations that copy a template version into an org as a workflow.
//!
//! Templates are shared across orgs once published (`latest_version > 0`): the gallery reads
//! (`gallery`, `template`, `template_by_slug`, `creator_templates`) see published templates of every
//! org. Drafts and every write are scoped to the org that owns the template.

use crate::Timestamp;
use aos_schema::{InstallationId, OrgId, TemplateId, TemplateVersionId, UserId, WorkflowId};
use serde::Serialize;

use crate::audit::{AuditEntry, AuditTx, By};
use crate::db::{Db, in_tx, now, with_pool};
use crate::error::StoreResult;
use crate::queries::orgs::not_found;
use crate::queries::page_limit;

/// A creator's public face on the gallery, one per user.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CreatorProfile {
    #[sqlx(try_from = "uuid::Uuid")]
    pub user_id: UserId,
    /// Unique across creators, used in profile URLs.
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a user sets on their own creator profile.
#[derive(Debug, Clone)]
pub struct ProfileUpdate {
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
}

/// A gallery template. Its content lives in its versions.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Template {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: TemplateId,
    /// The org that publishes the template; only it may change the template.
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    /// The person credited on the gallery (their creator profile).
    #[sqlx(try_from = "uuid::Uuid")]
    pub creator_id: UserId,
    /// Unique across the gallery, used in URLs.
    pub slug: String,
    pub name: String,
    pub description: String,
    pub category: String,
    /// The newest published version, 0 while the template is a draft that was never published.
    pub latest_version: i64,
    /// How many times any org installed any version.
    pub install_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new (draft) template.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub org: OrgId,
    pub creator: UserId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub category: String,
}

/// One published, immutable version of a template.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TemplateVersion {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: TemplateVersionId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub template_id: TemplateId,
    /// 1, 2, 3... per template, in publish order.
    pub version: i64,
    /// The canonical export file (`automateos.workflow/v1`) an install imports.
    pub export: String,
    /// The checksum of `export`, as the export format computes it.
    pub checksum: String,
    /// Names of the secrets the workflow references, so an install can ask for them up front.
    #[sqlx(json)]
    pub required_secrets: Vec<String>,
    pub created_at: Timestamp,
}

/// The content of a version to publish.
#[derive(Debug, Clone)]
pub struct NewTemplateVersion {
    pub export: String,
    pub checksum: String,
    pub required_secrets: Vec<String>,
}

/// A template version installed into an org as a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Installation {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: InstallationId,
    /// The installing org (not the template's org).
    #[sqlx(try_from = "uuid::Uuid")]
    pub org_id: OrgId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub template_id: TemplateId,
    pub template_version: i64,
    /// The workflow the install created.
    #[sqlx(try_from = "uuid::Uuid")]
    pub workflow_id: WorkflowId,
    /// The actor who installed it (`user:…`, `api_key:…`).
    pub installed_by: String,
    pub created_at: Timestamp,
}

/// An install to record: the workflow has already been created from the version's export.
#[derive(Debug, Clone)]
pub struct NewInstallation {
    pub org: OrgId,
    pub template: TemplateId,
    pub version: i64,
    pub workflow: WorkflowId,
}

/// Which gallery templates to list.
#[derive(Debug, Clone, Default)]
pub struct GalleryFilter {
    /// Only this category (exact match).
    pub category: Option<String>,
    /// Only templates whose name or description contains this text, ignoring case.
    pub search: Option<String>,
    pub limit: Option<i64>,
    /// How many matches to skip (for paging).
    pub offset: Option<i64>,
}

/// The gallery repository.
#[derive(Debug, Clone, Copy)]
pub struct Templates<'a> {
    pub(crate) db: &'a Db,
}

impl Templates<'_> {
    /// Creates or replaces `user`'s creator profile. A handle another creator holds is a `Conflict`.
    pub async fn upsert_profile(&self, user: UserId, profile: &ProfileUpdate) -> StoreResult<CreatorProfile> {
        let at = now();
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "INSERT INTO creator_profiles \
                 (user_id, handle, display_name, bio, avatar_url, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (user_id) DO UPDATE SET handle = excluded.handle, \
                 display_name = excluded.display_name, bio = excluded.bio, \
                 avatar_url = excluded.avatar_url, updated_at = excluded.updated_at \
                 RETURNING *",
            )
            .bind(user.as_uuid())
            .bind(&profile.handle)
            .bind(&profile.display_name)
            .bind(&profile.bio)
            .bind(profile.avatar_url.as_deref())
            .bind(at)
            .fetch_all(pool)
            .await?
            .into_iter()
            .next()
            .ok_or(sqlx::Error::RowNotFound)?
        }))
    }

    /// The creator profile of `user`.
    pub async fn profile(&self, user: UserId) -> StoreResult<CreatorProfile> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM creator_profiles WHERE user_id = $1")
                .bind(user.as_uuid())
                .fetch_optional(pool)
                .await?
        })
        .ok_or_else(|| not_found("creator profile", user))
    }

    /// The creator profile with `handle` (exact match).
    pub async fn profile_by_handle(&self, handle: &str) -> StoreResult<CreatorProfile> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM creator_profiles WHERE handle = $1").bind(handle).fetch_optional(pool).await?
        })
        .ok_or_else(|| not_found("creator profile", handle))
    }

    /// Creates a draft template owned by `new.org`. A taken slug is a `Conflict`.
    pub async fn create_template(&self, new: &NewTemplate, by: By) -> StoreResult<Template> {
        let id = TemplateId::new();
        let at = now();
        Ok(in_tx!(self.db, |tx| {
            let template: Template = sqlx::query_as(
                "INSERT INTO templates (id, org_id, creator_id, slug, name, description, category, \
                 latest_version, install_count, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $8) RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(new.org.as_uuid())
            .bind(new.creator.as_uuid())
            .bind(&new.slug)
            .bind(&new.name)
            .bind(&new.description)
            .bind(&new.category)
            .bind(at)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next()
            .ok_or(sqlx::Error::RowNotFound)?;
            tx.append_audit(
                &AuditEntry::new(new.org, by, "template.create", ("template", id.to_string())).with_detail(
                    serde_json::json!({
                        "slug": new.slug,
                        "name": new.name,
                        "category": new.category,
                        "creator": new.creator,
                    }),
                ),
            )
            .await?;
            template
        }))
    }

    /// Publishes the next version of a template of `org`: versions count 1, 2, 3... and the
    /// template's `latest_version` moves with them. Another org's template is `NotFound`.
    pub async fn publish_version(
        &self,
        org: OrgId,
        template: TemplateId,
        content: &NewTemplateVersion,
        by: By,
    ) -> StoreResult<TemplateVersion> {
        let id = TemplateVersionId::new();
        let at = now();
        Ok(in_tx!(self.db, |tx| {
            // Bumping the counter takes the template's row lock, so concurrent publishers queue
            // and each gets its own number.
            let version: Option<i64> = sqlx::query_scalar(
                "UPDATE templates SET latest_version = latest_version + 1, updated_at = $3 \
                 WHERE id = $1 AND org_id = $2 RETURNING latest_version",
            )
            .bind(template.as_uuid())
            .bind(org.as_uuid())
            .bind(at)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
            let Some(version) = version else {
                return Err(not_found("template", template));
            };
            let published: TemplateVersion = sqlx::query_as(
                "INSERT INTO template_versions \
                 (id, template_id, version, export, checksum, required_secrets, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(template.as_uuid())
            .bind(version)
            .bind(&content.export)
            .bind(&content.checksum)
            .bind(sqlx::types::Json(&content.required_secrets))
            .bind(at)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next()
            .ok_or(sqlx::Error::RowNotFound)?;
            tx.append_audit(
                &AuditEntry::new(org, by, "template.publish", ("template", template.to_string())).with_detail(
                    serde_json::json!({
                        "version": version,
                        "checksum": content.checksum,
                        "required_secrets": content.required_secrets,
                    }),
                ),
            )
            .await?;
            published
        }))
    }

    /// A published template, as the gallery shows it. Drafts are `NotFound` here.
    pub async fn template(&self, id: TemplateId) -> StoreResult<Template> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM templates WHERE id = $1 AND latest_version > 0")
                .bind(id.as_uuid())
                .fetch_optional(pool)
                .await?
        })
        .ok_or_else(|| not_found("template", id))
    }

    /// A published template by its slug. Drafts are `NotFound` here.
    pub async fn template_by_slug(&self, slug: &str) -> StoreResult<Template> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM templates WHERE slug = $1 AND latest_version > 0")
                .bind(slug)
                .fetch_optional(pool)
                .await?
        })
        .ok_or_else(|| not_found("template", slug))
    }

    /// A template of `org`, draft or published; another org's template is `NotFound`.
    pub async fn org_template(&self, org: OrgId, id: TemplateId) -> StoreResult<Template> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM templates WHERE id = $1 AND org_id = $2")
                .bind(id.as_uuid())
                .bind(org.as_uuid())
                .fetch_optional(pool)
                .await?
        })
        .ok_or_else(|| not_found("template", id))
    }

    /// Every template of `org`, drafts included, by name.
    pub async fn org_templates(&self, org: OrgId) -> StoreResult<Vec<Template>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM templates WHERE org_id = $1 ORDER BY name, id")
                .bind(org.as_uuid())
                .fetch_all(pool)
                .await?
        }))
    }

    /// Published templates matching `filter`, most installed first, then by name.
    pub async fn gallery(&self, filter: &GalleryFilter) -> StoreResult<Vec<Template>> {
        let pattern = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| {
            let escaped = s.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        let limit = page_limit(filter.limit);
        let offset = filter.offset.unwrap_or(0).max(0);
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT * FROM templates WHERE latest_version > 0 \
                 AND ($1 IS NULL OR category = $1) \
                 AND ($2 IS NULL OR LOWER(name) LIKE $2 ESCAPE '\\' \
                      OR LOWER(description) LIKE $2 ESCAPE '\\') \
                 ORDER BY install_count DESC, name, id LIMIT $3 OFFSET $4",
            )
            .bind(filter.category.as_deref())
            .bind(pattern.as_deref())
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Version `version` of a template.
    pub async fn version(&self, template: TemplateId, version: i64) -> StoreResult<TemplateVersion> {
        with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM template_versions WHERE template_id = $1 AND version = $2")
                .bind(template.as_uuid())
                .bind(version)
                .fetch_optional(pool)
                .await?
        })
        .ok_or_else(|| not_found("template version", format!("{template}@{version}")))
    }

    /// The newest version of a template; a never-published template is `NotFound`.
    pub async fn latest_version(&self, template: TemplateId) -> StoreResult<TemplateVersion> {
        with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT * FROM template_versions WHERE template_id = $1 \
                 ORDER BY version DESC LIMIT 1",
            )
            .bind(template.as_uuid())
            .fetch_optional(pool)
            .await?
        })
        .ok_or_else(|| not_found("template version", format!("{template}@latest")))
    }

    /// The published templates `creator` is credited with, for their profile page: most
    /// installed first, then by name.
    pub async fn creator_templates(&self, creator: UserId) -> StoreResult<Vec<Template>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as(
                "SELECT * FROM templates WHERE creator_id = $1 AND latest_version > 0 \
                 ORDER BY install_count DESC, name, id",
            )
            .bind(creator.as_uuid())
            .fetch_all(pool)
            .await?
        }))
    }

    /// Records that `new.org` installed a template version as `new.workflow`, counting the
    /// install on the template. The version must exist and the workflow must belong to
    /// `new.org`; otherwise `NotFound`.
    pub async fn record_installation(&self, new: &NewInstallation, by: By) -> StoreResult<Installation> {
        let id = InstallationId::new();
        Ok(in_tx!(self.db, |tx| {
            let version: Option<i64> =
                sqlx::query_scalar("SELECT version FROM template_versions WHERE template_id = $1 AND version = $2")
                    .bind(new.template.as_uuid())
                    .bind(new.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if version.is_none() {
                return Err(not_found("template version", format!("{}@{}", new.template, new.version)));
            }
            let workflow: Option<uuid::Uuid> =
                sqlx::query_scalar("SELECT id FROM workflows WHERE id = $1 AND org_id = $2")
                    .bind(new.workflow.as_uuid())
                    .bind(new.org.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
            if workflow.is_none() {
                return Err(not_found("workflow", new.workflow));
            }
            let installation: Installation = sqlx::query_as(
                "INSERT INTO installations \
                 (id, org_id, template_id, template_version, workflow_id, installed_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            )
            .bind(id.as_uuid())
            .bind(new.org.as_uuid())
            .bind(new.template.as_uuid())
            .bind(new.version)
            .bind(new.workflow.as_uuid())
            .bind(by.to_string())
            .bind(now())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next()
            .ok_or(sqlx::Error::RowNotFound)?;
            sqlx::query("UPDATE templates SET install_count = install_count + 1 WHERE id = $1")
                .bind(new.template.as_uuid())
                .execute(&mut *tx)
                .await?;
            tx.append_audit(
                &AuditEntry::new(new.org, by, "template.install", ("installation", id.to_string())).with_detail(
                    serde_json::json!({
                        "template": new.template,
                        "version": new.version,
                        "workflow": new.workflow,
                    }),
                ),
            )
            .await?;
            installation
        }))
    }

    /// The installations of `org`, oldest first (ids are time-ordered).
    pub async fn installations(&self, org: OrgId) -> StoreResult<Vec<Installation>> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_as("SELECT * FROM installations WHERE org_id = $1 ORDER BY id")
                .bind(org.as_uuid())
                .fetch_all(pool)
                .await?
        }))
    }
}
