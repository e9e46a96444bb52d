//! Secrets at rest: AES-256-GCM under the service key, each ciphertext bound to the row
//! it belongs to (associated data), with the key's id kept beside it for rotation.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

/// Why a key or a ciphertext was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The key is not 32 bytes of base64.
    #[error("the secret key must be 32 bytes, base64-encoded")]
    BadKey,
    /// Tampered, truncated, or sealed under another key or for another row.
    #[error("the ciphertext does not open under this key")]
    Unopenable,
}

/// Seals and opens small secrets (one-time codes, TOTP seeds) under the service key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    key_id: String,
    mac_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself.
        f.debug_struct("SecretBox")
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl SecretBox {
    /// A box over a raw 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        Self {
            cipher: Aes256Gcm::new(key.into()),
            // A public fingerprint of the key: which key sealed a row, for rotation.
            key_id: hex::encode(&digest[..4]),
            // A separate key for code digests, so no key serves two algorithms.
            mac_key: Sha256::new()
                .chain_update(b"twostep/otp-digest\0")
                .chain_update(key)
                .finalize()
                .into(),
        }
    }

    /// A box over a base64-encoded 32-byte key (`TWOSTEP_SECRET_KEY`).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self::new(&key))
    }

    /// A fresh random key, base64-encoded.
    pub fn generate_base64() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// The id of this key, stored beside each ciphertext.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The key of one-time code digests (HMAC-SHA-256), derived from the service key.
    pub fn mac_key(&self) -> &[u8] {
        &self.mac_key
    }

    /// Encrypts `plaintext` for the row named by `context`: nonce followed by ciphertext.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), payload)
            .unwrap_or_default();
        [nonce.as_slice(), &sealed].concat()
    }

    /// Decrypts what [`seal`](Self::seal) produced for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Unopenable);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Unopenable)?;
        let payload = Payload {
            msg: ciphertext,
            aad: context,
        };
        self.cipher
            .decrypt(&Nonce::from(nonce), payload)
            .map_err(|_| CryptoError::Unopenable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed() -> SecretBox {
        SecretBox::from_base64(&SecretBox::generate_base64()).unwrap()
    }

    #[test]
    fn seals_and_opens_for_the_same_row_only() {
        let b = boxed();
        let sealed = b.seal(b"493021", b"row-1");
        assert!(
            !sealed.windows(6).any(|w| w == b"493021"),
            "plaintext visible"
        );
        assert_eq!(b.open(&sealed, b"row-1").unwrap(), b"493021");
        assert_eq!(b.open(&sealed, b"row-2"), Err(CryptoError::Unopenable));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(b.open(&tampered, b"row-1"), Err(CryptoError::Unopenable));
        assert_eq!(
            boxed().open(&sealed, b"row-1"),
            Err(CryptoError::Unopenable)
        );
        assert_eq!(b.open(&sealed[..5], b"row-1"), Err(CryptoError::Unopenable));
        // A fresh nonce each time.
        assert_ne!(b.seal(b"x", b"r"), b.seal(b"x", b"r"));
    }

    #[test]
    fn keys_are_checked_and_identified() {
        assert_eq!(
            SecretBox::from_base64("short").unwrap_err(),
            CryptoError::BadKey
        );
        assert_eq!(SecretBox::from_base64("").unwrap_err(), CryptoError::BadKey);
        let key = [7u8; 32];
        let a = SecretBox::new(&key);
        assert_eq!(a.key_id(), SecretBox::new(&key).key_id());
        assert_eq!(a.key_id().len(), 8);
        assert_ne!(a.key_id(), boxed().key_id());
        assert!(!format!("{a:?}").contains("0707"));
    }

    #[test]
    fn known_answer_for_aes_256_gcm() {
        // NIST GCM test vector (gcmEncryptExtIV256.rsp, Count 0 of the 96-bit IV, 128-bit
        // plaintext set), checked through the same primitive the box uses.
        let key = hex::decode("31bdadd96698c204aa9ce1448ea94ae1fb4a9a0b3c9d773b51bb1822666b8f22")
            .unwrap();
        let iv = hex::decode("0d18e06c7c725ac9e362e1ce").unwrap();
        let pt = hex::decode("2db5168e932556f8089a0622981d017d").unwrap();
        let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
        let iv: [u8; NONCE_LEN] = iv.try_into().unwrap();
        let out = cipher.encrypt(&Nonce::from(iv), pt.as_slice()).unwrap();
        assert_eq!(hex::encode(&out[..16]), "fa4362189661d163fcd6a56d8bf0405a");
        assert_eq!(hex::encode(&out[16..]), "d636ac1bbedd5cc3ee727dc2ab4a9489");
    }
}
