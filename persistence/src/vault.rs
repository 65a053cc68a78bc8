//! The secrets vault's cryptography, free of database IO: AES-256-GCM with a fresh random 96-bit
//! nonce per value and associated data that binds each ciphertext to its org and secret name, so a
//! ciphertext copied to another row does not decrypt. Master keys form a [`Keyring`]: the first key
//! encrypts, every key decrypts, and each ciphertext records the id of the key that sealed it.
//!
//! Keys come from `AOS_MASTER_KEY` (comma-separated base64 keys, the active one first) or, for the
//! embedded default, from a key file in the data dir created with mode 0600.

use std::fmt;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use aos_schema::{OrgId, SecretString};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

/// Why the vault could not do what was asked. No variant ever carries plaintext.
#[derive(Debug, Error)]
pub enum VaultError {
    #[error("master key is invalid: {reason}")]
    InvalidKey { reason: String },
    #[error("no master key configured")]
    EmptyKeyring,
    #[error("secret was sealed with key {key_id}, which is not in the keyring")]
    UnknownKey { key_id: String },
    #[error("secret could not be decrypted (wrong key, or the ciphertext was moved or altered)")]
    Decrypt,
    #[error("secret could not be encrypted")]
    Encrypt,
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
}

/// One 256-bit master key and its id (a short fingerprint, safe to store beside ciphertexts).
#[derive(Clone)]
struct MasterKey {
    id: String,
    key: Zeroizing<[u8; 32]>,
}

impl MasterKey {
    fn from_bytes(bytes: &[u8]) -> Result<Self, VaultError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| VaultError::InvalidKey { reason: format!("expected 32 bytes, got {}", bytes.len()) })?;
        let digest = Sha256::new().chain_update(b"automateos/key-id/v1\0").chain_update(key).finalize();
        Ok(Self { id: hex::encode(&digest[..8]), key: Zeroizing::new(key) })
    }

    fn generate() -> Self {
        let key = Key::<Aes256Gcm>::generate();
        // A 32-byte array always makes a key, so this cannot fail.
        Self::from_bytes(key.as_slice()).unwrap_or_else(|_| unreachable!("aes-256 keys are 32 bytes"))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(*self.key))
    }

    fn encoded(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64.encode(self.key.as_slice()))
    }
}

/// A secret value as stored: ciphertext (with its tag), nonce, and the id of the sealing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    pub key_id: String,
}

/// The master keys: the first one seals, all of them open.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// Parses comma- or newline-separated base64 keys, the active key first. Lines starting with
    /// `#` are comments.
    pub fn parse(spec: &str) -> Result<Self, VaultError> {
        let keys = spec
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with('#'))
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                let bytes = Zeroizing::new(
                    BASE64
                        .decode(part)
                        .map_err(|_| VaultError::InvalidKey { reason: "not valid base64".to_owned() })?,
                );
                MasterKey::from_bytes(&bytes)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(VaultError::EmptyKeyring);
        }
        Ok(Self { keys })
    }

    /// A keyring with one fresh random key.
    pub fn generate() -> Self {
        Self { keys: vec![MasterKey::generate()] }
    }

    /// Reads the key file at `path`, or creates it (mode 0600) with a fresh key when it is absent.
    pub fn load_or_create(path: &Path) -> Result<Self, VaultError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&Zeroizing::new(text)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let ring = Self::generate();
                ring.save(path)?;
                Ok(ring)
            }
            Err(err) => Err(key_file_error(path, err)),
        }
    }

    /// Writes the keyring to `path` with mode 0600, replacing the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), VaultError> {
        let tmp = path.with_extension("tmp");
        let mut text = Zeroizing::new(String::from(
            "# AutomateOS master keys: the first encrypts, all decrypt. Keep this file private.\n",
        ));
        for key in &self.keys {
            text.push_str(&key.encoded());
            text.push('\n');
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(|err| key_file_error(&tmp, err))?;
        file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(|err| key_file_error(&tmp, err))?;
        std::fs::rename(&tmp, path).map_err(|err| key_file_error(path, err))
    }

    /// The keys as a spec [`Keyring::parse`] reads back (for `AOS_MASTER_KEY`), active first.
    pub fn export_spec(&self) -> SecretString {
        let encoded: Vec<Zeroizing<String>> = self.keys.iter().map(MasterKey::encoded).collect();
        let parts: Vec<&str> = encoded.iter().map(|k| k.as_str()).collect();
        SecretString::new(parts.join(","))
    }

    /// The id of the key that seals new values.
    pub fn active_key_id(&self) -> &str {
        self.keys.first().map(|k| k.id.as_str()).unwrap_or_default()
    }

    /// Every key id, the active one first.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id.clone()).collect()
    }

    /// This keyring with a fresh key in front (sealing from now on); the old keys still open.
    pub fn rotated(self) -> Self {
        let mut keys = vec![MasterKey::generate()];
        keys.extend(self.keys);
        Self { keys }
    }

    /// Only the active key: what remains once every row has been re-sealed with it.
    pub fn pruned(mut self) -> Self {
        self.keys.truncate(1);
        self
    }

    /// Seals `plaintext` as secret `name` of `org` with the active key and a fresh nonce.
    pub fn seal(&self, org: OrgId, name: &str, plaintext: &SecretString) -> Result<Sealed, VaultError> {
        let key = self.keys.first().ok_or(VaultError::EmptyKeyring)?;
        let nonce = Nonce::generate();
        let aad = associated_data(org, name);
        let ciphertext = key
            .cipher()
            .encrypt(&nonce, Payload { msg: plaintext.expose().as_bytes(), aad: &aad })
            .map_err(|_| VaultError::Encrypt)?;
        Ok(Sealed { ciphertext, nonce: nonce.to_vec(), key_id: key.id.clone() })
    }

    /// Opens a sealed value of secret `name` of `org`.
    pub fn open(&self, org: OrgId, name: &str, sealed: &Sealed) -> Result<SecretString, VaultError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey { key_id: sealed.key_id.clone() })?;
        let nonce = Nonce::try_from(sealed.nonce.as_slice()).map_err(|_| VaultError::Decrypt)?;
        let aad = associated_data(org, name);
        let plaintext = Zeroizing::new(
            key.cipher()
                .decrypt(&nonce, Payload { msg: &sealed.ciphertext, aad: &aad })
                .map_err(|_| VaultError::Decrypt)?,
        );
        let text = std::str::from_utf8(&plaintext).map_err(|_| VaultError::Decrypt)?;
        Ok(SecretString::new(text))
    }
}

/// Binds a ciphertext to its org and name: moving it to another row makes decryption fail.
fn associated_data(org: OrgId, name: &str) -> Vec<u8> {
    let mut aad = b"automateos/secret/v1\0".to_vec();
    aad.extend_from_slice(org.as_uuid().as_bytes());
    aad.push(0);
    aad.extend_from_slice(name.as_bytes());
    aad
}

fn key_file_error(path: &Path, err: std::io::Error) -> VaultError {
    VaultError::KeyFile { path: path.display().to_string(), reason: err.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_roundtrip_with_fresh_nonces() {
        let ring = Keyring::generate();
        let org = OrgId::new();
        let secret = SecretString::new("xoxb-very-secret");
        let a = ring.seal(org, "SLACK", &secret).unwrap();
        let b = ring.seal(org, "SLACK", &secret).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(a.nonce.len(), 12);
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_eq!(ring.open(org, "SLACK", &a).unwrap().expose(), "xoxb-very-secret");
    }

    #[test]
    fn associated_data_binds_org_and_name() {
        let ring = Keyring::generate();
        let org = OrgId::new();
        let sealed = ring.seal(org, "A", &SecretString::new("v")).unwrap();
        assert!(matches!(ring.open(org, "B", &sealed), Err(VaultError::Decrypt)));
        assert!(matches!(ring.open(OrgId::new(), "A", &sealed), Err(VaultError::Decrypt)));
    }

    #[test]
    fn rotation_keeps_old_keys_for_opening() {
        let ring = Keyring::generate();
        let org = OrgId::new();
        let old = ring.seal(org, "A", &SecretString::new("v")).unwrap();
        let ring = ring.rotated();
        assert_ne!(ring.active_key_id(), old.key_id);
        assert_eq!(ring.open(org, "A", &old).unwrap().expose(), "v");
        let ring = ring.pruned();
        assert!(matches!(ring.open(org, "A", &old), Err(VaultError::UnknownKey { .. })));
    }

    #[test]
    fn bad_key_specs_are_clear_errors() {
        assert!(matches!(Keyring::parse(""), Err(VaultError::EmptyKeyring)));
        assert!(matches!(Keyring::parse("!!!"), Err(VaultError::InvalidKey { .. })));
        assert!(matches!(Keyring::parse("c2hvcnQ="), Err(VaultError::InvalidKey { .. })));
    }

    #[test]
    fn key_file_is_created_private_and_reloads() {
        let dir = std::env::temp_dir().join(format!("aos-vault-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let ring = Keyring::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = Keyring::load_or_create(&path).unwrap();
        assert_eq!(ring.key_ids(), again.key_ids());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
