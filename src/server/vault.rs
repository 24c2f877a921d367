//! Senders' secrets at rest: sealed with XChaCha20-Poly1305 under the server's `secret_key`, bound
//! to the sender they belong to, so a copied database leaks no provider credential and a sealed
//! value moved to another sender's row does not open.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The format tag of a sealed value, so the scheme can change without guessing.
const VERSION: &str = "v1";
/// Where a generated key is kept, inside the data folder.
const KEY_FILE: &str = "secret.key";

/// Why a key could not be had or a sealed value could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "secret_key must be 64 hexadecimal characters (32 bytes); generate one with `openssl rand -hex 32`"
    )]
    BadKey,
    #[error("cannot read or write the key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Sealed under another `secret_key` (the key's fingerprint differs).
    #[error(
        "this secret was sealed with another secret_key (fingerprint {sealed_with}, this server's is {ours})"
    )]
    OtherKey { sealed_with: String, ours: String },
    /// Tampered with, moved to another sender, or not a sealed value at all.
    #[error("a sealed secret does not open: it was altered or belongs to another sender")]
    Corrupt,
}

/// Seals and opens secrets with one key.
#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
    fingerprint: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// A vault over a 32-byte key written as 64 hex characters.
    pub fn from_hex(key: &str) -> Result<Vault, VaultError> {
        let bytes = hex::decode(key.trim()).map_err(|_| VaultError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| VaultError::BadKey)?;
        // Names the key in errors and sealed values without revealing it.
        let fingerprint = hex::encode(&Sha256::digest(key)[..4]);
        Ok(Vault {
            cipher: XChaCha20Poly1305::new(Key::from_slice(&key)),
            fingerprint,
        })
    }

    /// The configured key, or the one kept in `{data_dir}/secret.key`, generated there (readable by
    /// this user only) on first start.
    pub fn load_or_create(configured: &str, data_dir: &Path) -> Result<Vault, VaultError> {
        if !configured.trim().is_empty() {
            return Vault::from_hex(configured);
        }
        let path = data_dir.join(KEY_FILE);
        let file_error = |source| VaultError::KeyFile {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Vault::from_hex(&text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(file_error)?;
                let mut key = [0_u8; 32];
                rand::rng().fill_bytes(&mut key);
                let text = hex::encode(key);
                write_private(&path, &text).map_err(file_error)?;
                // Another process may have won the race to create it: use whatever is there.
                let kept = std::fs::read_to_string(&path).map_err(file_error)?;
                Vault::from_hex(&kept)
            }
            Err(error) => Err(file_error(error)),
        }
    }

    /// Names this vault's key (4 bytes of its SHA-256).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// `plain` sealed for the owner `bound_to` (a sender id): `v1.{fingerprint}.{nonce+ciphertext}`.
    pub fn seal(&self, bound_to: &str, plain: &str) -> String {
        let mut nonce = [0_u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: bound_to.as_bytes(),
                },
            )
            .expect("sealing a short text cannot fail");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!(
            "{VERSION}.{}.{}",
            self.fingerprint,
            STANDARD_NO_PAD.encode(bytes)
        )
    }

    /// Opens what `seal` made for the same owner.
    pub fn open(&self, bound_to: &str, sealed: &str) -> Result<String, VaultError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(fingerprint), Some(body)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(VaultError::Corrupt);
        };
        if fingerprint != self.fingerprint {
            return Err(VaultError::OtherKey {
                sealed_with: fingerprint.to_owned(),
                ours: self.fingerprint.clone(),
            });
        }
        let bytes = STANDARD_NO_PAD
            .decode(body)
            .map_err(|_| VaultError::Corrupt)?;
        if bytes.len() < 24 {
            return Err(VaultError::Corrupt);
        }
        let (nonce, sealed) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: bound_to.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| VaultError::Corrupt)
    }
}

/// Writes a new file only this user can read (it fails if the file exists).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => file.write_all(text.as_bytes()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_for_its_owner_only() {
        let vault = vault();
        let sealed = vault.seal("sender-1", "EAAG-token");
        assert!(!sealed.contains("EAAG"), "{sealed}");
        assert_eq!(vault.open("sender-1", &sealed).unwrap(), "EAAG-token");
        assert!(matches!(
            vault.open("sender-2", &sealed),
            Err(VaultError::Corrupt)
        ));
        // Two seals of one text differ (fresh nonce), and both open.
        let again = vault.seal("sender-1", "EAAG-token");
        assert_ne!(sealed, again);
        assert_eq!(vault.open("sender-1", &again).unwrap(), "EAAG-token");
    }

    #[test]
    fn a_tampered_or_foreign_secret_is_refused_with_a_reason() {
        let vault = vault();
        let sealed = vault.seal("s", "secret");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(matches!(
            vault.open("s", &tampered),
            Err(VaultError::Corrupt)
        ));
        let other = Vault::from_hex(&"cd".repeat(32)).unwrap();
        assert!(matches!(
            other.open("s", &sealed),
            Err(VaultError::OtherKey { .. })
        ));
        assert!(matches!(
            vault.open("s", "not sealed"),
            Err(VaultError::Corrupt)
        ));
    }

    #[test]
    fn keys_must_be_32_bytes_of_hex() {
        assert!(matches!(Vault::from_hex("abc"), Err(VaultError::BadKey)));
        assert!(matches!(
            Vault::from_hex(&"zz".repeat(32)),
            Err(VaultError::BadKey)
        ));
    }

    #[test]
    fn a_missing_key_is_generated_once_into_the_data_folder() {
        let dir = std::env::temp_dir().join(format!("jobpulse-vault-{}", uuid::Uuid::now_v7()));
        let first = Vault::load_or_create("", &dir).unwrap();
        let second = Vault::load_or_create("", &dir).unwrap();
        assert_eq!(first.fingerprint(), second.fingerprint());
        let sealed = first.seal("s", "x");
        assert_eq!(second.open("s", &sealed).unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
