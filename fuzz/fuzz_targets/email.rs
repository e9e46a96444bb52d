//! Email addresses: what parses parses again to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep_core::validate::Email;

fuzz_target!(|input: &str| {
    if let Ok(email) = Email::parse(input) {
        let text = email.as_str();
        assert!(text.contains('@'), "{text}");
        let again = Email::parse(text).expect("a parsed address parses again");
        assert_eq!(again.as_str(), text);
    }
});
