//! Orgs and their members: list my orgs, create an org, add a member by email, change a role,
//! remove a member. Only an owner may make or unmake owners; the last owner cannot leave.

use aos_api::{AddMember, Member, OrgView, RoleChange};
use aos_persistence::NewOrg;
use aos_schema::{OrgId, Role, UserId};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch};

use crate::auth::{Access, Principal, PrincipalKind};
use crate::domain::accounts::{check_text, slug_for};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::views;
use aos_api::ErrorCode;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/orgs", get(my_orgs).post(create_org))
        .route("/api/orgs/{org_id}", get(get_org))
        .route("/api/orgs/{org_id}/members", get(list_members).post(add_member))
        .route("/api/orgs/{org_id}/members/{user_id}", patch(change_role).delete(remove_member))
}

async fn my_orgs(State(state): State<AppState>, principal: Principal) -> Result<ApiJson<Vec<OrgView>>, ApiError> {
    let mut orgs = Vec::new();
    for membership in state.store.orgs().memberships_of(principal.user_id).await? {
        if let PrincipalKind::ApiKey { org, .. } = principal.kind
            && org != membership.org_id
        {
            continue;
        }
        let access = principal.access(&state, membership.org_id, Role::Viewer, "org").await?;
        orgs.push(views::org_view(state.store.orgs().org(membership.org_id).await?, access.role));
    }
    Ok(ApiJson(orgs))
}

async fn create_org(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<aos_api::NewOrg>,
) -> Result<(StatusCode, ApiJson<OrgView>), ApiError> {
    if let PrincipalKind::ApiKey { .. } = principal.kind {
        return Err(ApiError::forbidden("api keys act inside one org and cannot create orgs"));
    }
    let name = check_text("name", &body.name, 200)?;
    let org = state
        .store
        .orgs()
        .create_org(&NewOrg { name: name.to_owned(), slug: slug_for(name), owner: principal.user_id })
        .await?;
    crate::routes::billing::grant_signup_credits(&state, org.id, principal.actor()).await?;
    Ok((StatusCode::CREATED, ApiJson(views::org_view(org, Role::Owner))))
}

async fn get_org(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<ApiJson<OrgView>, ApiError> {
    let access = principal.access(&state, org_id, Role::Viewer, "org").await?;
    Ok(ApiJson(views::org_view(state.store.orgs().org(org_id).await?, access.role)))
}

async fn list_members(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<ApiJson<Vec<Member>>, ApiError> {
    principal.access(&state, org_id, Role::Viewer, "org").await?;
    Ok(ApiJson(state.store.orgs().members_with_users(org_id).await?.into_iter().map(views::member).collect()))
}

async fn add_member(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiJson(body): ApiJson<AddMember>,
) -> Result<(StatusCode, ApiJson<Member>), ApiError> {
    let access = principal.access(&state, org_id, Role::Admin, "org").await?;
    may_grant(&access, body.role)?;
    let user = state
        .store
        .orgs()
        .user_by_email(&body.email)
        .await?
        .ok_or_else(|| ApiError::NotFound { message: "no account with this email".into() })?;
    if state.store.orgs().role_of(org_id, user.id).await?.is_some() {
        return Err(ApiError::refused(ErrorCode::AlreadyMember, "this person is already a member"));
    }
    let membership = state.store.orgs().set_member(org_id, user.id, body.role, access.actor).await?;
    let member = Member {
        user_id: user.id,
        email: user.email,
        name: user.name,
        role: membership.role,
        created_at: membership.created_at.to_string(),
    };
    Ok((StatusCode::CREATED, ApiJson(member)))
}

async fn change_role(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((org_id, user_id)): ApiPath<(OrgId, UserId)>,
    ApiJson(body): ApiJson<RoleChange>,
) -> Result<ApiJson<Member>, ApiError> {
    let access = principal.access(&state, org_id, Role::Admin, "org").await?;
    let current = state.store.orgs().role_of(org_id, user_id).await?.ok_or_else(|| ApiError::not_found("member"))?;
    may_grant(&access, current)?;
    may_grant(&access, body.role)?;
    if current == Role::Owner && body.role != Role::Owner && state.store.orgs().owner_count(org_id).await? <= 1 {
        return Err(ApiError::refused(ErrorCode::LastOwner, "an org needs at least one owner"));
    }
    state.store.orgs().set_member(org_id, user_id, body.role, access.actor).await?;
    member(&state, org_id, user_id).await.map(ApiJson)
}

async fn remove_member(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((org_id, user_id)): ApiPath<(OrgId, UserId)>,
) -> Result<StatusCode, ApiError> {
    let access = principal.access(&state, org_id, Role::Admin, "org").await?;
    let current = state.store.orgs().role_of(org_id, user_id).await?.ok_or_else(|| ApiError::not_found("member"))?;
    may_grant(&access, current)?;
    if current == Role::Owner && state.store.orgs().owner_count(org_id).await? <= 1 {
        return Err(ApiError::refused(ErrorCode::LastOwner, "an org needs at least one owner"));
    }
    state.store.orgs().remove_member(org_id, user_id, access.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Only an owner may grant, change or remove the owner role.
pub(super) fn may_grant(access: &Access, role: Role) -> Result<(), ApiError> {
    if role == Role::Owner && access.role != Role::Owner {
        return Err(ApiError::forbidden("only an owner may grant or change the owner role"));
    }
    Ok(())
}

async fn member(state: &AppState, org: OrgId, user: UserId) -> Result<Member, ApiError> {
    state
        .store
        .orgs()
        .members_with_users(org)
        .await?
        .into_iter()
        .find(|m| m.user_id == user)
        .map(views::member)
        .ok_or_else(|| ApiError::not_found("member"))
}
