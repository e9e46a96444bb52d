//! Recovery codes as typed: what normalizes is 16 Crockford characters, and normalizing
//! again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep_core::recovery;

fuzz_target!(|input: &str| {
    if let Some(code) = recovery::normalize(input) {
        assert_eq!(code.len(), recovery::CODE_CHARS);
        assert!(code.bytes().all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)), "{code}");
        assert_eq!(recovery::normalize(&code).as_deref(), Some(code.as_str()));
    }
});
