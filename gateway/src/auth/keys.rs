//! The JWT signing secret: from the configuration (`AOS_JWT_SECRET`), else a file in the data dir
//! created on first start with mode 0600 (like the vault's key file).

use std::io::Write;
use std::path::Path;

use aos_schema::SecretString;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::server::StartError;

/// The HS256 signing secret's bytes. Prints `[redacted]`; zeroed when dropped.
#[derive(Clone)]
pub struct JwtSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret([redacted])")
    }
}

impl JwtSecret {
    /// A fresh random 256-bit secret.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        // The OS generator failing is not something a server can work around.
        getrandom::fill(&mut bytes).unwrap_or_else(|err| panic!("os random generator failed: {err}"));
        Self(bytes)
    }

    /// A secret given as text (at least 32 bytes, used as is).
    pub fn from_configured(text: &SecretString) -> Result<Self, StartError> {
        let bytes = Zeroizing::new(text.expose().trim().as_bytes().to_vec());
        if bytes.len() < 32 {
            return Err(StartError::JwtSecret { reason: "the configured jwt secret must be at least 32 bytes".into() });
        }
        Ok(Self(bytes))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Reads the secret file at `path`, creating it (0600) with a fresh secret when absent.
pub fn load_or_create_jwt_secret(path: &Path) -> Result<JwtSecret, StartError> {
    let file_error = |err: std::io::Error| StartError::JwtSecret { reason: format!("{}: {err}", path.display()) };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            let line = text.lines().find(|line| !line.trim().is_empty() && !line.starts_with('#')).unwrap_or("");
            let bytes = Zeroizing::new(
                STANDARD
                    .decode(line.trim())
                    .map_err(|_| StartError::JwtSecret { reason: format!("{} is not base64", path.display()) })?,
            );
            if bytes.len() < 32 {
                return Err(StartError::JwtSecret { reason: format!("{} holds fewer than 32 bytes", path.display()) });
            }
            Ok(JwtSecret(bytes))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let secret = JwtSecret::generate();
            save_jwt_secret(path, &secret)?;
            Ok(secret)
        }
        Err(err) => Err(file_error(err)),
    }
}

/// Writes `secret` to `path` with mode 0600, replacing the file atomically.
pub fn save_jwt_secret(path: &Path, secret: &JwtSecret) -> Result<(), StartError> {
    let file_error = |err: std::io::Error| StartError::JwtSecret { reason: format!("{}: {err}", path.display()) };
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(file_error)?;
    let text = Zeroizing::new(format!(
        "# AutomateOS token signing key. Keep this file private.\n{}\n",
        Zeroizing::new(STANDARD.encode(&*secret.0)).as_str()
    ));
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(file_error)?;
    std::fs::rename(&tmp, path).map_err(file_error)
}
