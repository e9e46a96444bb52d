//! Recovery codes: 10 codes of 16 Crockford base32 characters (80 bits each), shown once
//! as `XXXX-XXXX-XXXX-XXXX`, stored as argon2id digests under one salt per set, so that
//! checking a code costs one argon2id computation however many codes the user holds.

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use subtle::ConstantTimeEq;

/// Codes per set.
pub const CODES_PER_SET: usize = 10;
/// Characters per code (16 × 5 bits = 80 bits).
pub const CODE_CHARS: usize = 16;
/// Crockford's base32 alphabet: no I, L, O or U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// What is stored for a set: the salt and one digest per code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSet {
    /// Random per set.
    pub salt: [u8; 16],
    /// argon2id(code, salt), in the order the codes were shown.
    pub digests: Vec<[u8; 32]>,
}

/// A digest could not be computed (argon2 refused its parameters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("recovery code hashing failed")]
pub struct HashError;

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id minimum (m=19 MiB, t=2, p=1): the crate's defaults.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

fn digest(normalized: &str, salt: &[u8; 16]) -> Result<[u8; 32], HashError> {
    let mut out = [0u8; 32];
    argon2()
        .hash_password_into(normalized.as_bytes(), salt, &mut out)
        .map_err(|_| HashError)?;
    Ok(out)
}

/// A new set: the codes to show once (formatted) and what to store. Runs argon2id ten
/// times: call it off the async executor (`spawn_blocking`).
pub fn generate() -> Result<(Vec<String>, StoredSet), HashError> {
    let mut rng = rand::rng();
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let mut shown = Vec::with_capacity(CODES_PER_SET);
    let mut digests = Vec::with_capacity(CODES_PER_SET);
    for _ in 0..CODES_PER_SET {
        let mut bytes = [0u8; CODE_CHARS];
        rng.fill_bytes(&mut bytes);
        // 256 is a multiple of 32, so `% 32` is unbiased.
        let code: String = bytes
            .iter()
            .map(|b| ALPHABET[(b % 32) as usize] as char)
            .collect();
        digests.push(digest(&code, &salt)?);
        shown.push(format(&code));
    }
    Ok((shown, StoredSet { salt, digests }))
}

fn format(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-")
}

/// The canonical form of what a user typed: dashes and spaces dropped, upper case,
/// Crockford's look-alikes read as digits (I, L → 1; O → 0). `None` unless exactly 16
/// alphabet characters remain.
pub fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_CHARS);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_CHARS).then_some(out)
}

/// Which of the set's codes `input` is, among those still unused (`used[i]` true for a
/// used code). One argon2id computation; every digest compared in constant time.
pub fn find(input: &str, set: &StoredSet, used: &[bool]) -> Result<Option<usize>, HashError> {
    let Some(code) = normalize(input) else {
        return Ok(None);
    };
    let candidate = digest(&code, &set.salt)?;
    let mut found = None;
    for (i, stored) in set.digests.iter().enumerate() {
        let same: bool = stored.ct_eq(&candidate).into();
        if same && !used.get(i).copied().unwrap_or(false) && found.is_none() {
            found = Some(i);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ten_formatted_codes_stored_as_digests() {
        let (shown, set) = generate().unwrap();
        assert_eq!(shown.len(), CODES_PER_SET);
        assert_eq!(set.digests.len(), CODES_PER_SET);
        for code in &shown {
            assert_eq!(code.len(), 19);
            assert_eq!(code.matches('-').count(), 3);
            let plain = code.replace('-', "");
            assert!(plain.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            assert!(
                !set.digests
                    .iter()
                    .any(|d| d.windows(4).any(|w| w == &plain.as_bytes()[..4]))
            );
        }
        let unique: std::collections::HashSet<_> = shown.iter().collect();
        assert_eq!(unique.len(), CODES_PER_SET);
    }

    #[test]
    fn codes_match_with_or_without_dashes_in_any_case_once() {
        let (shown, set) = generate().unwrap();
        let mut used = vec![false; CODES_PER_SET];
        let third = &shown[2];
        assert_eq!(find(third, &set, &used).unwrap(), Some(2));
        assert_eq!(
            find(&third.replace('-', "").to_lowercase(), &set, &used).unwrap(),
            Some(2)
        );
        used[2] = true;
        assert_eq!(
            find(third, &set, &used).unwrap(),
            None,
            "a used code works again"
        );
        assert_eq!(find(&shown[9], &set, &used).unwrap(), Some(9));
        // Another set's code, a near miss, and junk.
        let (other, _) = generate().unwrap();
        assert_eq!(find(&other[0], &set, &used).unwrap(), None);
        let mut near = shown[0].clone().into_bytes();
        near[0] = if near[0] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            find(std::str::from_utf8(&near).unwrap(), &set, &used).unwrap(),
            None
        );
        assert_eq!(find("", &set, &used).unwrap(), None);
        assert_eq!(find("١٢٣٤-٥٦٧٨-٩٠١٢-٣٤٥٦", &set, &used).unwrap(), None);
    }

    #[test]
    fn normalization_reads_crockford_look_alikes() {
        assert_eq!(
            normalize("abcd-efgh-jkmn-pqrs").as_deref(),
            Some("ABCDEFGHJKMNPQRS")
        );
        assert_eq!(
            normalize("iIlL oOoO 0000 1111").as_deref(),
            Some("1111000000001111")
        );
        assert_eq!(normalize("ABCD-EFGH-JKMN-PQR"), None);
        assert_eq!(normalize("ABCD-EFGH-JKMN-PQRSU"), None);
        assert_eq!(normalize("ABCD_EFGH_JKMN_PQRS"), None);
    }
}
