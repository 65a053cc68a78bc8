//! Authentication and authorization: passwords (argon2id), access tokens (JWT HS256, short-lived,
//! naming their login session), refresh tokens and API keys (random, stored only as SHA-256
//! hashes), login and signup limits with a failed-login lockout ([`AuthLimits`]), the [`Principal`] extractor every endpoint uses, and the one org-role check
//! ([`Principal::access`]).
//!
//! Tenancy rule: a caller who is not a member of the org a resource belongs to gets `404`, never
//! `403`, so ids of other orgs cannot be probed. A member whose role is too low gets `403`.

mod extract;
mod keys;
mod password;
mod throttle;
mod tokens;

pub use extract::{API_KEY_PREFIX, Access, Principal, PrincipalKind};
pub use keys::{JwtSecret, load_or_create_jwt_secret, save_jwt_secret};
pub use password::{hash_password, verify_password};
pub use throttle::{AuthLimitSettings, AuthLimits, Lockout, LockoutPolicy};
pub use tokens::{AccessClaims, AuthSettings, random_token, token_hash};
