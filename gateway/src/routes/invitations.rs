//! Invitations to join an org, for people with or without an account: admins invite an email with
//! a role (only owners invite owners) and get a link shown once (`/app/invite/{token}`; only the
//! token's hash is stored), list the pending ones and revoke them. Whoever holds the link reads
//! what it offers without signing in; the invited person joins by accepting it signed in with
//! that email, or by making their account through it. A link works once, for a week.

use aos_api::{CreatedInvitation, ErrorCode, InvitationPreview, InvitationSignup, NewInvitation, OrgView, SignedUp};
use aos_persistence::{Invitation, InvitationState, InvitedUser, StoreError, Timestamp};
use aos_schema::{InvitationId, OrgId, Role};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};

use crate::auth::{Principal, PrincipalKind, hash_password, random_token, token_hash};
use crate::domain::accounts::{check_email, check_password, check_text};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::limits::ClientIp;
use crate::state::AppState;
use crate::views;

/// The prefix of every invitation token.
const TOKEN_PREFIX: &str = "aosi_";

/// How long a link works.
const LIFETIME: time::Duration = time::Duration::days(7);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/orgs/{org_id}/invitations", get(list).post(create))
        .route("/api/orgs/{org_id}/invitations/{invitation_id}", delete(revoke))
        .route("/api/invitations/{token}", get(preview))
        .route("/api/invitations/{token}/accept", post(accept))
        .route("/api/invitations/{token}/signup", post(signup))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiJson(body): ApiJson<NewInvitation>,
) -> Result<(StatusCode, ApiJson<CreatedInvitation>), ApiError> {
    let access = principal.access(&state, org_id, Role::Admin, "org").await?;
    super::orgs::may_grant(&access, body.role)?;
    let email = check_email(&body.email)?;
    if let Some(user) = state.store.orgs().user_by_email(&email).await?
        && state.store.orgs().role_of(org_id, user.id).await?.is_some()
    {
        return Err(ApiError::refused(ErrorCode::AlreadyMember, "this person is already a member"));
    }
    let token = random_token(TOKEN_PREFIX);
    let new = aos_persistence::NewInvitation {
        org_id,
        email,
        role: body.role,
        invited_by: principal.user_id,
        token_hash: token_hash(&token),
        expires_at: Timestamp::now() + LIFETIME,
    };
    let stored = state.store.invitations().create(&new, access.actor).await.map_err(|err| match err {
        StoreError::Conflict { .. } => ApiError::refused(
            ErrorCode::InvitationPending,
            "a pending invitation for this email exists; revoke it to make a new link",
        ),
        other => other.into(),
    })?;
    let path = format!("/app/invite/{token}");
    let url = format!("{}{path}", super::public_base(&state, &headers));
    let created = CreatedInvitation { invitation: views::invitation(stored), token, path, url };
    Ok((StatusCode::CREATED, ApiJson(created)))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<ApiJson<Vec<aos_api::Invitation>>, ApiError> {
    principal.access(&state, org_id, Role::Admin, "org").await?;
    Ok(ApiJson(state.store.invitations().pending(org_id).await?.into_iter().map(views::invitation).collect()))
}

async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((org_id, invitation_id)): ApiPath<(OrgId, InvitationId)>,
) -> Result<StatusCode, ApiError> {
    let access = principal.access(&state, org_id, Role::Admin, "org").await?;
    state.store.invitations().revoke(org_id, invitation_id, access.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the link offers, for its page before anyone signs in.
async fn preview(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<ApiJson<InvitationPreview>, ApiError> {
    let invitation = usable(&state, &token).await?;
    let org = state.store.orgs().org(invitation.org_id).await?;
    let inviter = state.store.orgs().user(invitation.invited_by).await?;
    Ok(ApiJson(InvitationPreview {
        org_id: org.id,
        org_name: org.name,
        role: invitation.role,
        email: invitation.email,
        invited_by: inviter.name,
        expires_at: invitation.expires_at.to_string(),
    }))
}

/// The signed-in invitee joins the org. Only the account with the invited email may.
async fn accept(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(token): ApiPath<String>,
) -> Result<ApiJson<OrgView>, ApiError> {
    if !matches!(principal.kind, PrincipalKind::Session(_)) {
        return Err(ApiError::forbidden("an invitation is accepted by its person, not an api key"));
    }
    let invitation = usable(&state, &token).await?;
    let user = principal.user(&state).await?;
    if user.email != invitation.email {
        return Err(ApiError::refused(
            ErrorCode::WrongInvitee,
            format!("this invitation is for {}: sign in with that account to accept it", invitation.email),
        ));
    }
    if state.store.orgs().role_of(invitation.org_id, user.id).await?.is_some() {
        return Err(ApiError::refused(ErrorCode::AlreadyMember, "you are already a member of this org"));
    }
    let accepted = state.store.invitations().accept(&token_hash(&token), user.id).await?;
    let org = state.store.orgs().org(accepted.org_id).await?;
    Ok(ApiJson(views::org_view(org, accepted.role)))
}

/// A new person makes their account with the invited email and joins the org; signed in at once.
async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(token): ApiPath<String>,
    ApiJson(body): ApiJson<InvitationSignup>,
) -> Result<(StatusCode, ApiJson<SignedUp>), ApiError> {
    state.auth_limits.signups_per_ip.check_or_429(&format!("signup-ip:{ip}"), "signups from this address")?;
    let name = check_text("name", &body.name, 200)?.to_owned();
    check_password(&body.password)?;
    let invitation = usable(&state, &token).await?;
    let email = invitation.email;
    state.auth_limits.signups_per_email.check_or_429(&format!("signup:{email}"), "signups for this email")?;
    let taken = || {
        ApiError::refused(ErrorCode::EmailTaken, "an account with this email exists: sign in to accept the invitation")
    };
    if state.store.orgs().user_by_email(&email).await?.is_some() {
        return Err(taken());
    }
    let password_hash = hash_password(body.password).await?;
    let (user, accepted) = state
        .store
        .invitations()
        .accept_as_new_user(&token_hash(&token), &InvitedUser { name, password_hash })
        .await
        .map_err(|err| match err {
            StoreError::Conflict { .. } => taken(),
            other => other.into(),
        })?;
    let tokens = state.auth.login(&state.store, user.id).await?;
    Ok((StatusCode::CREATED, ApiJson(SignedUp { tokens, user_id: user.id, org_id: accepted.org_id })))
}

/// The pending invitation of this link; an unknown link is `404`, a used, revoked or expired one
/// `410` with the reason.
async fn usable(state: &AppState, token: &str) -> Result<Invitation, ApiError> {
    let invitation = state
        .store
        .invitations()
        .by_token_hash(&token_hash(token))
        .await?
        .ok_or_else(|| ApiError::NotFound { message: "no invitation has this link".into() })?;
    match invitation.state_at(Timestamp::now()) {
        InvitationState::Pending => Ok(invitation),
        closed => Err(StoreError::InvitationClosed { state: closed }.into()),
    }
}
