//! Credential encryption at rest, compatible with Outpost: AES-256-GCM keyed with the ASCII
//! bytes of hex(MD5(`AES_ENCRYPTION_SECRET`)), a random 12-byte nonce prepended to the
//! ciphertext.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use md5::{Digest, Md5};
use rand::RngCore;

const NONCE_LEN: usize = 12;

/// Encrypts and decrypts stored credentials.
#[derive(Clone)]
pub struct Cipher {
    aead: Aes256Gcm,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(..)")
    }
}

/// Decryption failed: wrong key or corrupt data.
#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt stored credentials (wrong AES_ENCRYPTION_SECRET or corrupt data)")]
pub struct DecryptError;

impl Cipher {
    /// Derives the key from the configured secret.
    pub fn new(secret: &str) -> Self {
        let digest = Md5::digest(secret.as_bytes());
        let key_hex = hex::encode(digest);
        // 32 ASCII hex characters = a 256-bit key, as upstream.
        let aead = Aes256Gcm::new_from_slice(key_hex.as_bytes())
            .expect("invariant: hex of an MD5 digest is 32 bytes");
        Self { aead }
    }

    /// Encrypts `plain`.
    pub fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let ct = self
            .aead
            .encrypt(Nonce::from_slice(&nonce), plain)
            .unwrap_or_default();
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts data written by [`Self::encrypt`] (or by Outpost).
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if data.len() < NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, ct) = data.split_at(NONCE_LEN);
        self.aead
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let c = Cipher::new("secret");
        let ct = c.encrypt(br#"{"password":"p"}"#);
        assert_ne!(&ct[NONCE_LEN..], br#"{"password":"p"}"#);
        assert_eq!(c.decrypt(&ct).unwrap(), br#"{"password":"p"}"#);
        assert!(Cipher::new("other").decrypt(&ct).is_err());
        assert!(c.decrypt(b"short").is_err());
    }
}
