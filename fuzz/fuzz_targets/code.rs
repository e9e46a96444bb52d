//! One-time codes as typed: what parses is 6–8 ASCII digits, the input trimmed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep_core::otp;

fuzz_target!(|input: &str| {
    if let Some(code) = otp::parse(input) {
        assert!((6..=8).contains(&code.len()));
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(code, input.trim());
    }
});
