//! Access tokens (JWT HS256 with `sub`, `sid`, `iat`, `nbf`, `exp`), and the random opaque tokens used
//! for refresh tokens, API keys and webhook tokens, which are stored only as SHA-256 hashes.

use std::time::Duration;

use aos_api::Tokens;
use aos_persistence::{SessionId, Store, Timestamp};
use aos_schema::UserId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::JwtSecret;
use crate::error::ApiError;

/// Token lifetimes and the signing keys.
#[derive(Clone)]
pub struct AuthSettings {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// How long an access token is accepted.
    pub access_ttl: Duration,
    /// How long a session (its refresh token) lives without a refresh.
    pub refresh_ttl: Duration,
    /// Emails of platform admins (may see and steer the actor tree). Lowercase.
    pub platform_admins: Vec<String>,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("platform_admins", &self.platform_admins)
            .finish_non_exhaustive()
    }
}

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: UserId,
    pub sid: SessionId,
    pub iat: u64,
    /// Not before: checked when present (tokens are issued with it set to `iat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub exp: u64,
}

impl AuthSettings {
    pub fn new(secret: &JwtSecret, access_ttl: Duration, refresh_ttl: Duration, platform_admins: Vec<String>) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.bytes()),
            decoding: DecodingKey::from_secret(secret.bytes()),
            access_ttl,
            refresh_ttl,
            platform_admins: platform_admins
                .into_iter()
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
        }
    }

    /// Signs an access token for `user` in `session`.
    pub fn access_token(&self, user: UserId, session: SessionId) -> Result<String, ApiError> {
        let iat = jsonwebtoken::get_current_timestamp();
        let claims =
            AccessClaims { sub: user, sid: session, iat, nbf: Some(iat), exp: iat + self.access_ttl.as_secs() };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|err| {
            tracing::error!(error = %err, "signing an access token failed");
            ApiError::Internal
        })
    }

    /// Checks signature, algorithm (HS256 only: `none`, other HMAC sizes and public-key
    /// algorithms are refused whatever the header says), expiry and not-before.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation).map(|data| data.claims).map_err(
            |err| match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => ApiError::unauthorized("token expired"),
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => ApiError::unauthorized("token not valid yet"),
                _ => ApiError::unauthorized("invalid token"),
            },
        )
    }

    /// Starts a session for `user` and issues its first tokens.
    pub async fn login(&self, store: &Store, user: UserId) -> Result<Tokens, ApiError> {
        let refresh = random_token("aosr_");
        let expires = Timestamp::now() + self.refresh_lifetime();
        let session = store.sessions().create(user, &token_hash(&refresh), expires).await?;
        Ok(Tokens {
            token: self.access_token(user, session.id)?,
            refresh_token: refresh,
            expires_in: self.access_ttl.as_secs(),
        })
    }

    /// Swaps a refresh token for new tokens (the old refresh token stops working).
    pub async fn refresh(&self, store: &Store, refresh_token: &str) -> Result<Tokens, ApiError> {
        let next = random_token("aosr_");
        let expires = Timestamp::now() + self.refresh_lifetime();
        let session = store
            .sessions()
            .refresh(&token_hash(refresh_token), &token_hash(&next), expires)
            .await?
            .ok_or_else(|| ApiError::unauthorized("refresh token invalid, expired or revoked"))?;
        Ok(Tokens {
            token: self.access_token(session.user_id, session.id)?,
            refresh_token: next,
            expires_in: self.access_ttl.as_secs(),
        })
    }

    fn refresh_lifetime(&self) -> time::Duration {
        time::Duration::seconds(i64::try_from(self.refresh_ttl.as_secs()).unwrap_or(i64::MAX / 2))
    }

    /// Whether `email` is a platform admin.
    pub fn is_platform_admin(&self, email: &str) -> bool {
        let email = email.trim().to_lowercase();
        self.platform_admins.contains(&email)
    }
}

/// A fresh random token: `prefix` and 256 random bits, URL-safe.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    // The OS generator failing is not something a server can work around.
    getrandom::fill(&mut bytes).unwrap_or_else(|err| panic!("os random generator failed: {err}"));
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// How a token is stored: SHA-256, hex. (The tokens are 256-bit random, so no salt or slow hash
/// is needed; lookups stay exact-match.)
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
