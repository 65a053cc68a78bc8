//! Password hashing with argon2id (PHC strings), off the async runtime (hashing is deliberately
//! slow).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use zeroize::Zeroizing;

use crate::error::ApiError;

/// Hashes `password` with argon2id and a fresh salt. The plaintext is zeroed afterwards.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    let password = Zeroizing::new(password);
    tokio::task::spawn_blocking(move || {
        Argon2::default().hash_password(password.as_bytes()).map(|hash| hash.to_string()).map_err(|err| {
            tracing::error!(error = %err, "password hashing failed");
            ApiError::Internal
        })
    })
    .await
    .map_err(|_| ApiError::Internal)?
}

/// Whether `password` matches the stored PHC `hash`. A malformed stored hash never matches. The
/// plaintext is zeroed afterwards.
pub async fn verify_password(password: String, hash: String) -> bool {
    let password = Zeroizing::new(password);
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}
