//! Sealing of connection secrets with AES-256-GCM.
//!
//! The key comes from `PIPEWRIGHT_MASTER_KEY` (base64 of 32 bytes) or from `master.key` in
//! the data directory, created on first use with mode 0600. Sealed values carry a version
//! prefix so the scheme can change without guessing.

use std::{collections::BTreeMap, path::Path};

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Key, Nonce,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use rand::RngCore;

use crate::{CatalogError, Result};

const AAD: &[u8] = b"pipewright/connection-secrets/v1";
const PREFIX: &str = "v1:";

#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
    /// SHA-256 of the master key and a label: the root of [`Sealer::derive`].
    derive_root: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key hidden>)")
    }
}

impl Sealer {
    pub fn from_key_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != 32 {
            return Err(CatalogError::Seal(
                "the master key must be 32 bytes (base64-encoded)".into(),
            ));
        }
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(bytes);
        h.update(b"pipewright derived keys v1");
        Ok(Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)),
            derive_root: h.finalize().into(),
        })
    }

    /// A key for one purpose (say, signing device cookies), the same on every replica that
    /// shares the master key, and telling nothing about it.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.derive_root);
        h.update(Sha256::digest(purpose.as_bytes()));
        h.finalize().into()
    }

    /// `PIPEWRIGHT_MASTER_KEY` if given, else `<data_dir>/master.key` (created if missing).
    pub fn load(env_key: Option<&str>, data_dir: &Path) -> Result<Self> {
        if let Some(k) = env_key.filter(|k| !k.trim().is_empty()) {
            let bytes = B64.decode(k.trim()).map_err(|_| {
                CatalogError::Seal("PIPEWRIGHT_MASTER_KEY is not valid base64".into())
            })?;
            return Self::from_key_bytes(&bytes);
        }
        let path = data_dir.join("master.key");
        match std::fs::read_to_string(&path) {
            Ok(s) => {
                let bytes = B64.decode(s.trim()).map_err(|_| {
                    CatalogError::Seal(format!("{} is not valid base64", path.display()))
                })?;
                Self::from_key_bytes(&bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private(&path, &B64.encode(key))?;
                Self::from_key_bytes(&key)
            }
            Err(e) => Err(CatalogError::Seal(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    pub fn seal(&self, secrets: &BTreeMap<String, String>) -> Result<String> {
        let plain = serde_json::to_vec(secrets).map_err(|e| CatalogError::Seal(e.to_string()))?;
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: &plain,
                        aad: AAD,
                    },
                )
                .map_err(|_| CatalogError::Seal("encryption failed".into()))?,
        );
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    pub fn open(&self, sealed: &str) -> Result<BTreeMap<String, String>> {
        let body = sealed
            .strip_prefix(PREFIX)
            .ok_or_else(|| CatalogError::Seal("unknown sealed-secret format".into()))?;
        let bytes = B64
            .decode(body)
            .map_err(|_| CatalogError::Seal("sealed secret is corrupt".into()))?;
        if bytes.len() < 12 {
            return Err(CatalogError::Seal("sealed secret is corrupt".into()));
        }
        let (nonce, ct) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: AAD })
            .map_err(|_| {
                CatalogError::Seal(
                    "cannot open sealed secrets: wrong master key (check PIPEWRIGHT_MASTER_KEY)"
                        .into(),
                )
            })?;
        serde_json::from_slice(&plain)
            .map_err(|_| CatalogError::Seal("sealed secret is corrupt".into()))
    }
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| CatalogError::Seal(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(contents.as_bytes())
        .map_err(|e| CatalogError::Seal(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_round_trip_and_hide_the_plaintext() {
        let s = Sealer::from_key_bytes(&[7u8; 32]).unwrap();
        let mut m = BTreeMap::new();
        m.insert("password".to_string(), "hunter2-very-secret".to_string());
        let sealed = s.seal(&m).unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(s.open(&sealed).unwrap(), m);
    }

    #[test]
    fn opening_with_another_key_fails_without_leaking() {
        let a = Sealer::from_key_bytes(&[1u8; 32]).unwrap();
        let b = Sealer::from_key_bytes(&[2u8; 32]).unwrap();
        let mut m = BTreeMap::new();
        m.insert("password".to_string(), "pw".to_string());
        let err = b.open(&a.seal(&m).unwrap()).unwrap_err().to_string();
        assert!(err.contains("wrong master key"), "{err}");
    }
}
