//! Phone numbers: what parses is E.164 (`+` and at most 15 digits) and parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep_core::validate::PhoneE164;

fuzz_target!(|input: &str| {
    if let Ok(phone) = PhoneE164::parse(input) {
        let text = phone.as_str();
        assert!(text.starts_with('+') && text.len() <= 16, "{text}");
        assert!(text[1..].bytes().all(|b| b.is_ascii_digit()), "{text}");
        let again = PhoneE164::parse(text).expect("a parsed number parses again");
        assert_eq!(again.as_str(), text);
    }
});
