//! Time-based one-time passwords (RFC 6238) on totp-rs: SHA-1, 6 digits, 30-second steps,
//! ±1 step of skew, 160-bit secrets, server clock only. The code is compared in constant
//! time and the matched step is returned, so that the caller can accept each step once
//! (an atomic compare-and-set on the factor's last used step).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Steps accepted either side of the current one.
pub const SKEW_STEPS: u64 = 1;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// Secret length in bytes (160 bits).
pub const SECRET_BYTES: usize = 20;

/// Characters left as they are in an otpauth label or parameter (RFC 3986 unreserved).
const LABEL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `otpauth://totp/{issuer}:{account}?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`,
/// the secret in base32 without padding, issuer and account percent-encoded (a `:` in
/// either is encoded, so the label stays unambiguous).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let issuer = utf8_percent_encode(issuer, LABEL).to_string();
    let account = utf8_percent_encode(account, LABEL).to_string();
    let secret = secret_base32(secret);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )
}

/// The secret as an authenticator app takes it typed in: base32 without padding.
pub fn secret_base32(secret: &[u8]) -> String {
    let text = Secret::from(secret.to_vec()).to_base32();
    text.trim_end_matches('=').to_owned()
}

/// A QR code of `text` as a standalone SVG document.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(256, 256)
            .quiet_zone(true)
            .build(),
    )
}

/// The secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid TOTP secret")]
pub struct InvalidSecret;

/// One authenticator-app factor's generator and checker.
#[derive(Debug, Clone)]
pub struct TotpKey {
    totp: Totp,
}

impl TotpKey {
    /// A key over raw secret bytes (at least 128 bits, as RFC 4226 requires).
    pub fn new(secret: &[u8]) -> Result<Self, InvalidSecret> {
        Self::with(secret, Algorithm::SHA1, DIGITS)
    }

    fn with(secret: &[u8], algorithm: Algorithm, digits: u8) -> Result<Self, InvalidSecret> {
        let totp = Builder::new()
            .with_algorithm(algorithm)
            .with_digits(digits)
            .with_secret(secret.to_vec())
            .with_skew(SKEW_STEPS as u16)
            .with_step_duration(STEP_SECONDS)
            .build()
            .map_err(|_| InvalidSecret)?;
        Ok(Self { totp })
    }

    /// A fresh random 160-bit secret.
    pub fn generate_secret() -> Vec<u8> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        bytes
    }

    /// The code for the step containing unix time `time`.
    pub fn code_at(&self, time: u64) -> String {
        self.totp.generate(time).to_string()
    }

    /// The step number of unix time `time`.
    pub fn step_of(time: u64) -> u64 {
        time / STEP_SECONDS
    }

    /// The step whose code `code` is, within ±1 step of `time`; every candidate is
    /// compared in constant time, whichever matches.
    pub fn verify(&self, code: &str, time: u64) -> Option<u64> {
        let now = Self::step_of(time);
        let mut found = None;
        for step in now.saturating_sub(SKEW_STEPS)..=now + SKEW_STEPS {
            let expected = self.code_at(step * STEP_SECONDS);
            let same: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
            if same && found.is_none() {
                found = Some(step);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1_SEED: &[u8] = b"12345678901234567890";
    const SHA256_SEED: &[u8] = b"12345678901234567890123456789012";
    const SHA512_SEED: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 6238 Appendix B: (time, SHA-1, SHA-256, SHA-512), 8 digits.
    const RFC6238: [(u64, &str, &str, &str); 6] = [
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ];

    #[test]
    fn rfc_6238_vectors_8_and_6_digits() {
        for (time, sha1, sha256, sha512) in RFC6238 {
            for (seed, algorithm, expected) in [
                (SHA1_SEED, Algorithm::SHA1, sha1),
                (SHA256_SEED, Algorithm::SHA256, sha256),
                (SHA512_SEED, Algorithm::SHA512, sha512),
            ] {
                let eight = TotpKey::with(seed, algorithm, 8).unwrap();
                assert_eq!(eight.code_at(time), expected, "{algorithm:?} t={time}");
                let six = TotpKey::with(seed, algorithm, 6).unwrap();
                assert_eq!(
                    six.code_at(time),
                    expected[2..],
                    "{algorithm:?} t={time}, 6 digits"
                );
            }
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0..9 (a TOTP step is an HOTP counter).
    #[test]
    fn rfc_4226_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        let key = TotpKey::new(SHA1_SEED).unwrap();
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(
                key.code_at(counter as u64 * STEP_SECONDS),
                *code,
                "counter {counter}"
            );
        }
    }

    #[test]
    fn accepts_one_step_of_skew_and_reports_the_step() {
        let key = TotpKey::new(SHA1_SEED).unwrap();
        let t = 1_111_111_111;
        let step = TotpKey::step_of(t);
        assert_eq!(key.verify(&key.code_at(t), t), Some(step));
        assert_eq!(key.verify(&key.code_at(t - 30), t), Some(step - 1));
        assert_eq!(key.verify(&key.code_at(t + 30), t), Some(step + 1));
        assert_eq!(key.verify(&key.code_at(t - 60), t), None);
        assert_eq!(key.verify(&key.code_at(t + 60), t), None);
        assert_eq!(key.verify("000000", t), None);
        assert_eq!(key.verify(" 050471", t), None);
        assert_eq!(key.verify("", t), None);
    }

    #[test]
    fn otpauth_uri_has_every_parameter_and_an_unpadded_secret() {
        let uri = otpauth_uri(SHA1_SEED, "Acme Inc", "ada@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Inc:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Inc&algorithm=SHA1&digits=6&period=30"
        );
        // 16 bytes encode with padding in plain base32; the URI drops it.
        let short = otpauth_uri(&[0xff; 16], "A:B", "c");
        assert!(
            short.contains("secret=77777777777777777777777774&"),
            "{short}"
        );
        assert!(short.starts_with("otpauth://totp/A%3AB:c?"), "{short}");
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }

    #[test]
    fn secrets_are_160_bits_and_short_ones_are_refused() {
        let secret = TotpKey::generate_secret();
        assert_eq!(secret.len(), SECRET_BYTES);
        assert_ne!(secret, TotpKey::generate_secret());
        assert!(TotpKey::new(&secret).is_ok());
        assert_eq!(TotpKey::new(b"short").unwrap_err(), InvalidSecret);
    }
}
