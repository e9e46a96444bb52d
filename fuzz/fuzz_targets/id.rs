//! Prefixed ids: what parses renders with its prefix and parses back to the same id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep_core::{FlowId, UserId};

fuzz_target!(|input: &str| {
    if let Ok(id) = UserId::parse(input) {
        let text = id.to_string();
        assert!(text.starts_with("usr_"), "{text}");
        assert_eq!(UserId::parse(&text).map(|i| i.uuid()), Ok(id.uuid()));
    }
    if let Ok(id) = FlowId::parse(input) {
        assert_eq!(FlowId::parse(&id.to_string()).map(|i| i.uuid()), Ok(id.uuid()));
    }
});
