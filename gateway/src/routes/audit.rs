//! The audit log of an org (admins): list, newest chain positions last, and verify the hash
//! chain (names the first broken row).

use aos_api::AuditRecord;
use aos_persistence::{AuditQuery, ChainVerification};
use aos_schema::{OrgId, Role};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/orgs/{org_id}/audit", get(list)).route("/api/orgs/{org_id}/audit/verify", get(verify))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only actions starting with this (`secret.`, `workflow.`).
    pub action: Option<String>,
    /// Only rows after this chain position (paging forward).
    pub after: Option<i64>,
    /// Only rows before this chain position (paging back).
    pub before: Option<i64>,
    /// `newest` lists the newest rows first; `chain` (the default) in chain order.
    pub order: Option<AuditOrder>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOrder {
    Chain,
    Newest,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<ApiJson<Vec<AuditRecord>>, ApiError> {
    principal.access(&state, org_id, Role::Admin, "org").await?;
    let query = AuditQuery {
        action_prefix: params.action,
        after_chain_seq: params.after,
        before_chain_seq: params.before,
        newest_first: params.order == Some(AuditOrder::Newest),
        limit: params.limit,
    };
    Ok(ApiJson(state.store.audit().list(org_id, &query).await?.into_iter().map(crate::views::audit_record).collect()))
}

async fn verify(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<ApiJson<ChainVerification>, ApiError> {
    principal.access(&state, org_id, Role::Admin, "org").await?;
    Ok(ApiJson(state.store.audit().verify(org_id).await?))
}
