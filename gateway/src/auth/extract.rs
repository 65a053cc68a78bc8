//! [`Principal`]: who is calling, from `Authorization: Bearer <access token | API key>`; and
//! [`Principal::access`], the one org-role check every org-scoped endpoint goes through.

use aos_persistence::{By, SessionId, Timestamp, User};
use aos_schema::{ApiKeyId, OrgId, Role, UserId};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::auth::token_hash;
use crate::error::ApiError;
use crate::state::AppState;

/// The prefix of every API key (access tokens are JWTs and never start with it).
pub const API_KEY_PREFIX: &str = "aosk_";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub kind: PrincipalKind,
}

/// How the caller authenticated.
#[derive(Debug, Clone, Copy)]
pub enum PrincipalKind {
    /// A user's access token, from a login session.
    Session(SessionId),
    /// An API key: bound to one org, acting with at most `role` there.
    ApiKey { id: ApiKeyId, org: OrgId, role: Role },
}

/// What a caller may do in one org: the checked result of [`Principal::access`].
#[derive(Debug, Clone, Copy)]
pub struct Access {
    pub org: OrgId,
    pub role: Role,
    /// Who the audit rows name.
    pub actor: By,
}

impl Principal {
    /// Who the audit rows name.
    pub fn actor(&self) -> By {
        match self.kind {
            PrincipalKind::Session(_) => By::User(self.user_id),
            PrincipalKind::ApiKey { id, .. } => By::ApiKey(id),
        }
    }

    /// The caller's role in `org`, checked against `need`. Not a member (or a key of another org):
    /// `404` for `what`, so other orgs' ids look like ids that do not exist. A member below `need`:
    /// `403`.
    pub async fn access(&self, state: &AppState, org: OrgId, need: Role, what: &str) -> Result<Access, ApiError> {
        let member = state.store.orgs().role_of(org, self.user_id).await?;
        let role = match (self.kind, member) {
            (_, None) => return Err(ApiError::not_found(what)),
            (PrincipalKind::Session(_), Some(role)) => role,
            (PrincipalKind::ApiKey { org: key_org, .. }, _) if key_org != org => return Err(ApiError::not_found(what)),
            // A key never acts above its owner's current role.
            (PrincipalKind::ApiKey { role: key_role, .. }, Some(role)) => {
                if key_role.at_least(role) {
                    role
                } else {
                    key_role
                }
            }
        };
        if !role.at_least(need) {
            return Err(ApiError::forbidden(format!("this needs the {} role or higher", need.as_str())));
        }
        Ok(Access { org, role, actor: self.actor() })
    }

    /// The caller's account.
    pub async fn user(&self, state: &AppState) -> Result<User, ApiError> {
        Ok(state.store.orgs().user(self.user_id).await?)
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing authorization header"))?
            .to_str()
            .map_err(|_| ApiError::unauthorized("invalid authorization header"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| ApiError::unauthorized("expected `Authorization: Bearer <token>`"))?;
        Principal::from_token(state, token).await
    }
}

impl Principal {
    /// The caller a bearer token (an access token or an API key) names, if it is valid and live.
    /// WebSocket clients pass it as `?token=`, since browsers cannot set headers on them.
    pub async fn from_token(state: &AppState, token: &str) -> Result<Self, ApiError> {
        if token.starts_with(API_KEY_PREFIX) {
            let key = state
                .store
                .orgs()
                .use_api_key(&token_hash(token))
                .await?
                .ok_or_else(|| ApiError::unauthorized("invalid or revoked api key"))?;
            return Ok(Principal {
                user_id: key.user_id,
                kind: PrincipalKind::ApiKey { id: key.id, org: key.org_id, role: key.role },
            });
        }
        let claims = state.auth.verify_access(token)?;
        let session = state.store.sessions().get(claims.sid).await?;
        match session {
            Some(session) if session.user_id == claims.sub && session.is_live_at(Timestamp::now()) => {
                Ok(Principal { user_id: claims.sub, kind: PrincipalKind::Session(claims.sid) })
            }
            _ => Err(ApiError::unauthorized("session ended, log in again")),
        }
    }
}
