//! One-time codes sent by email or SMS: digits from a CSPRNG, stored only as a keyed hash
//! (HMAC-SHA-256 under the service key) bound to the challenge they belong to.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// A fresh code of `digits` decimal digits (6 by default, 8 where a policy asks).
pub fn generate(digits: u8) -> String {
    let mut rng = rand::rng();
    (0..digits)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// A code as typed: surrounding whitespace is ignored, then only 6 to 8 ASCII digits
/// are a code (other digit scripts are not: `١٢٣٤٥٦` is refused, not converted).
pub fn parse(input: &str) -> Option<&str> {
    let code = input.trim();
    ((6..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The keyed hash stored for `code` of challenge `challenge_id`: useless without the
/// key, and useless for any other challenge.
pub fn digest(key: &[u8], challenge_id: &[u8], code: &str) -> [u8; 32] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(challenge_id);
    mac.update(&[0]);
    mac.update(code.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Whether `code` is the one stored for the challenge, compared in constant time.
pub fn matches(key: &[u8], challenge_id: &[u8], code: &str, stored: &[u8]) -> bool {
    digest(key, challenge_id, code).ct_eq(stored).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ascii_digit_codes_parse() {
        assert_eq!(parse(" 012345\n"), Some("012345"));
        assert_eq!(parse("01234567"), Some("01234567"));
        for bad in ["12345", "123456789", "١٢٣٤٥٦", "12 3456", "12345a", ""] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn codes_are_digits_of_the_asked_length_and_vary() {
        let codes: Vec<_> = (0..50).map(|_| generate(6)).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        assert!(codes.iter().collect::<std::collections::HashSet<_>>().len() > 40);
        assert_eq!(generate(8).len(), 8);
        // Leading zeros are kept: every digit position takes every value.
        let firsts: std::collections::HashSet<_> =
            (0..400).map(|_| generate(6).as_bytes()[0]).collect();
        assert_eq!(firsts.len(), 10);
    }

    #[test]
    fn digests_are_keyed_and_bound_to_the_challenge() {
        let stored = digest(b"key", b"challenge-1", "493021");
        assert!(matches(b"key", b"challenge-1", "493021", &stored));
        assert!(!matches(b"key", b"challenge-1", "493022", &stored));
        assert!(!matches(b"key", b"challenge-2", "493021", &stored));
        assert!(!matches(b"other", b"challenge-1", "493021", &stored));
        assert!(!matches(b"key", b"challenge-1", "493021", &stored[..31]));
        // RFC 4231 test case 2 checks the primitive itself: HMAC-SHA-256("Jefe", ...).
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
