//! Result tokens: a JWT signed with the service's Ed25519 key (EdDSA), the key id in the
//! header, the public keys published as a JWKS.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// How long a result token is valid.
pub const RESULT_TTL_SECONDS: i64 = 5 * 60;

/// Why a signing key was refused or a token could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The key is not a base64 32-byte Ed25519 seed.
    #[error("the signing key must be a 32-byte Ed25519 seed, base64-encoded")]
    BadKey,
    /// The JWT library refused (should not happen with a valid key).
    #[error("the result token could not be signed")]
    Sign,
}

/// The claims of a result token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResultClaims {
    /// Issuer: the service's public URL or name.
    pub iss: String,
    /// The user (`usr_…`).
    pub sub: String,
    /// The tenant (`ten_…`): a token is only good for the tenant it was made for.
    pub aud: String,
    /// The organization of the sign-in (`org_…`), if any.
    pub org: Option<String>,
    /// Authentication methods (RFC 8176), e.g. `["pwd", "otp"]`.
    pub amr: Vec<String>,
    /// Authentication context: `mfa` when a second factor was proven, else `none`.
    pub acr: String,
    /// When the user authenticated (Unix seconds).
    pub auth_time: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expiry (Unix seconds), five minutes after `iat`.
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// The flow (`flw_…`).
    pub flow_id: String,
}

/// One public key of the JWKS (RFC 8037 OKP key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// Key id, as in the token header (RFC 7638 thumbprint).
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// The published key set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    /// The keys that may have signed a live token.
    pub keys: Vec<Jwk>,
}

/// The service's signing key.
#[derive(Clone)]
pub struct ResultSigner {
    encoding: EncodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for ResultSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultSigner")
            .field("kid", &self.jwk.kid)
            .finish()
    }
}

impl ResultSigner {
    /// A signer over a base64 32-byte Ed25519 seed (`TWOSTEP_SIGNING_KEY`).
    pub fn from_base64(text: &str) -> Result<Self, SigningError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SigningError::BadKey)?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| SigningError::BadKey)?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let der = key.to_pkcs8_der().map_err(|_| SigningError::BadKey)?;
        let x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
        // RFC 7638: the thumbprint of the required members in lexicographic order.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Ok(Self {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            jwk: Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x,
                kid,
                alg: "EdDSA".into(),
                use_: "sig".into(),
            },
        })
    }

    /// A fresh random seed, base64-encoded.
    pub fn generate_base64() -> String {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        STANDARD.encode(seed)
    }

    /// The key id put in every token header.
    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    /// The public keys to publish.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![self.jwk.clone()],
        }
    }

    /// Signs `claims`. Ed25519 is deterministic: the same claims give the same token, so
    /// a completed flow can show its token again without storing it.
    pub fn sign(&self, claims: &ResultClaims) -> Result<String, SigningError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.jwk.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|_| SigningError::Sign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};

    fn claims(now: i64) -> ResultClaims {
        ResultClaims {
            iss: "twostep".into(),
            sub: "usr_1".into(),
            aud: "ten_1".into(),
            org: None,
            amr: vec!["pwd".into(), "otp".into()],
            acr: "mfa".into(),
            auth_time: now,
            iat: now,
            exp: now + RESULT_TTL_SECONDS,
            jti: "j".into(),
            flow_id: "flw_1".into(),
        }
    }

    #[test]
    fn tokens_verify_with_the_published_key_only() {
        let signer = ResultSigner::from_base64(&ResultSigner::generate_base64()).unwrap();
        let now = chrono::Utc::now().timestamp();
        let token = signer.sign(&claims(now)).unwrap();
        assert_eq!(token, signer.sign(&claims(now)).unwrap(), "deterministic");
        let header = decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(signer.kid()));
        assert_eq!(header.alg, Algorithm::EdDSA);
        let jwk = &signer.jwks().keys[0];
        let key = DecodingKey::from_ed_components(&jwk.x).unwrap();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&["ten_1"]);
        let data = decode::<ResultClaims>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims, claims(now));
        // Another tenant's audience, or another key, does not verify.
        validation.set_audience(&["ten_2"]);
        assert!(decode::<ResultClaims>(&token, &key, &validation).is_err());
        let other = ResultSigner::from_base64(&ResultSigner::generate_base64()).unwrap();
        let other_key = DecodingKey::from_ed_components(&other.jwks().keys[0].x).unwrap();
        validation.set_audience(&["ten_1"]);
        assert!(decode::<ResultClaims>(&token, &other_key, &validation).is_err());
    }

    #[test]
    fn bad_keys_are_refused() {
        assert_eq!(
            ResultSigner::from_base64("c2hvcnQ=").unwrap_err(),
            SigningError::BadKey
        );
        assert!(ResultSigner::from_base64("not base64!").is_err());
    }
}
