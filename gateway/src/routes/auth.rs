//! Accounts and credentials: signup, login, refresh, logout, who-am-I, and API keys (shown once,
//! stored hashed, bound to one org and a role no higher than their creator's).

use std::time::{Duration, Instant};

use aos_api::{ApiKey, CreatedKey, Login, Me, MyOrg, NewApiKey, PasswordChange, Refresh, SignedUp, Signup, Tokens};
use aos_persistence::NewUser;
use aos_schema::{ApiKeyId, OrgId, Role};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};

use crate::auth::{API_KEY_PREFIX, Principal, PrincipalKind, hash_password, random_token, token_hash};
use crate::domain::accounts::{MAX_PASSWORD, check_account, check_password, check_text, slug_for};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::limits::ClientIp;
use crate::state::AppState;
use aos_api::ErrorCode;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/auth/password", post(change_password))
        .route("/api/orgs/{org_id}/api-keys", post(create_key).get(list_keys))
        .route("/api/orgs/{org_id}/api-keys/{key_id}", delete(revoke_key))
}

async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Signup>,
) -> Result<(StatusCode, ApiJson<SignedUp>), ApiError> {
    state.auth_limits.signups_per_ip.check_or_429(&format!("signup-ip:{ip}"), "signups from this address")?;
    let account = check_account(&body.email, &body.password, &body.name, &body.org_name)?;
    let (email, name, org_name) = (account.email, account.name.as_str(), account.org_name.as_str());
    state.auth_limits.signups_per_email.check_or_429(&format!("signup:{email}"), "signups for this email")?;
    if state.store.orgs().user_by_email(&email).await?.is_some() {
        return Err(ApiError::refused(ErrorCode::EmailTaken, "an account with this email exists"));
    }
    let password_hash = hash_password(body.password).await?;
    let new = NewUser { email, name: name.to_owned(), password_hash };
    let (user, org) = state.store.orgs().create_user_with_org(&new, org_name, &slug_for(org_name)).await.map_err(
        |err| match err {
            aos_persistence::StoreError::Conflict { .. } => {
                ApiError::refused(ErrorCode::EmailTaken, "an account with this email exists")
            }
            other => other.into(),
        },
    )?;
    crate::routes::billing::grant_signup_credits(&state, org.id, aos_persistence::By::User(user.id)).await?;
    let tokens = state.auth.login(&state.store, user.id).await?;
    let body = SignedUp { tokens, user_id: user.id, org_id: org.id };
    Ok((StatusCode::CREATED, ApiJson(body)))
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Login>,
) -> Result<ApiJson<Tokens>, ApiError> {
    let wrong = || ApiError::unauthorized("wrong email or password");
    let account = format!("login:{}", body.email.trim().to_lowercase());
    state.auth_limits.logins_per_ip.check_or_429(&format!("login-ip:{ip}"), "login attempts from this address")?;
    state.logins.check_or_429(&account, "login attempts for this account")?;
    if let Err(wait) = state.auth_limits.lockout.check(&account, Instant::now()) {
        return Err(locked(wait));
    }
    if body.password.len() > MAX_PASSWORD {
        return Err(wrong());
    }
    let user = state.store.orgs().user_by_email(&body.email).await?;
    let verified = match &user {
        Some(user) => crate::auth::verify_password(body.password, user.password_hash.clone()).await,
        None => {
            // The same work as a real check, so response times do not tell which emails exist.
            crate::auth::verify_password(body.password, dummy_hash().await?).await;
            false
        }
    };
    match user {
        Some(user) if verified => {
            state.auth_limits.lockout.succeeded(&account);
            Ok(ApiJson(state.auth.login(&state.store, user.id).await?))
        }
        // Unknown emails count too, so a lock does not tell whether the account exists.
        _ => match state.auth_limits.lockout.failed(&account, Instant::now()) {
            Some(wait) => {
                tracing::warn!(lock_secs = wait.as_secs(), "repeated login failures, account locked");
                Err(locked(wait))
            }
            None => Err(wrong()),
        },
    }
}

/// `429` for a locked account, with the lock's remaining time as `Retry-After`.
fn locked(wait: Duration) -> ApiError {
    ApiError::RateLimited {
        message: "too many failed logins for this account, it is locked for a while".into(),
        retry_after_secs: wait.as_secs().max(1),
    }
}

/// A hash of a random password, made once, to verify unknown emails against.
async fn dummy_hash() -> Result<String, ApiError> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY.get_or_try_init(|| hash_password(random_token(""))).await.cloned()
}

async fn refresh(State(state): State<AppState>, ApiJson(body): ApiJson<Refresh>) -> Result<ApiJson<Tokens>, ApiError> {
    Ok(ApiJson(state.auth.refresh(&state.store, &body.refresh_token).await?))
}

/// Ends the caller's session: its access tokens and refresh token stop working.
async fn logout(State(state): State<AppState>, principal: Principal) -> Result<StatusCode, ApiError> {
    match principal.kind {
        PrincipalKind::Session(session) => {
            state.store.sessions().revoke(session).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        PrincipalKind::ApiKey { .. } => {
            Err(ApiError::bad_input("an api key has no session; revoke the key to stop it working"))
        }
    }
}

/// Changes the caller's password, ends every session of theirs and starts a new one.
async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<ApiJson<Tokens>, ApiError> {
    if !matches!(principal.kind, PrincipalKind::Session(_)) {
        return Err(ApiError::forbidden("a password is changed by its person, not an api key"));
    }
    check_password(&body.new_password)?;
    let user = principal.user(&state).await?;
    if body.current_password.len() > MAX_PASSWORD
        || !crate::auth::verify_password(body.current_password, user.password_hash).await
    {
        return Err(ApiError::unauthorized("the current password is wrong"));
    }
    let hash = hash_password(body.new_password).await?;
    state.store.orgs().set_password_hash(user.id, &hash).await?;
    state.store.sessions().revoke_all(user.id).await?;
    Ok(ApiJson(state.auth.login(&state.store, user.id).await?))
}

async fn me(State(state): State<AppState>, principal: Principal) -> Result<ApiJson<Me>, ApiError> {
    let user = principal.user(&state).await?;
    let orgs = state.store.orgs().memberships_of(user.id).await?;
    let orgs = orgs
        .into_iter()
        .filter(|m| match principal.kind {
            PrincipalKind::ApiKey { org, .. } => m.org_id == org,
            PrincipalKind::Session(_) => true,
        })
        .map(|m| MyOrg { org_id: m.org_id, role: m.role })
        .collect();
    Ok(ApiJson(Me {
        platform_admin: state.auth.is_platform_admin(&user.email),
        user_id: user.id,
        email: user.email,
        name: user.name,
        orgs,
    }))
}

async fn create_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiJson(body): ApiJson<NewApiKey>,
) -> Result<(StatusCode, ApiJson<CreatedKey>), ApiError> {
    let access = principal.access(&state, org_id, Role::Editor, "org").await?;
    let name = check_text("name", &body.name, 200)?;
    let role = body.role.unwrap_or(access.role);
    if !access.role.at_least(role) {
        return Err(ApiError::forbidden("a key cannot have a higher role than its creator"));
    }
    let key = random_token(API_KEY_PREFIX);
    let prefix: String = key.chars().take(API_KEY_PREFIX.len() + 6).collect();
    let new = aos_persistence::NewApiKey {
        org_id,
        user_id: principal.user_id,
        name: name.to_owned(),
        prefix: prefix.clone(),
        key_hash: token_hash(&key),
        role,
    };
    let stored = state.store.orgs().create_api_key(&new, access.actor).await?;
    Ok((StatusCode::CREATED, ApiJson(CreatedKey { id: stored.id, name: stored.name, role, prefix, key })))
}

async fn list_keys(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<ApiJson<Vec<ApiKey>>, ApiError> {
    principal.access(&state, org_id, Role::Admin, "org").await?;
    Ok(ApiJson(state.store.orgs().api_keys(org_id).await?.into_iter().map(crate::views::api_key).collect()))
}

async fn revoke_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((org_id, key_id)): ApiPath<(OrgId, ApiKeyId)>,
) -> Result<StatusCode, ApiError> {
    let access = principal.access(&state, org_id, Role::Admin, "org").await?;
    state.store.orgs().revoke_api_key(org_id, key_id, access.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
