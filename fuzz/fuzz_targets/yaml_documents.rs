//! Manifest reading: any input must parse, decode or fail with an error, never crash; and the
//! limits check used before other YAML parsers must accept whatever the manifest reader accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let limits = convoy_api::yaml::check_limits(text);
        if let Ok(documents) = convoy_api::yaml::parse_documents(text) {
            assert!(limits.is_ok(), "check_limits refused what parse_documents read: {limits:?}");
            for document in documents {
                assert!(!convoy_api::yaml::too_deep(&document.value));
                let _ = convoy_api::Resource::decode(&document.value);
            }
        }
    }
});
