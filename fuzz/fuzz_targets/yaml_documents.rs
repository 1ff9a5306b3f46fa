//! Manifest reading: any input must parse, decode or fail with an error, never crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(documents) = convoy_api::yaml::parse_documents(text) {
            for document in documents {
                let _ = convoy_api::Resource::decode(&document.value);
            }
        }
    }
});
