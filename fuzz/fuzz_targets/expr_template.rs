//! Splitter and evaluator: any input must give a value or an error, never a crash.
#![no_main]

use convoy_expr::{Evaluator, NoData, Scope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = convoy_expr::template::split(text);
        let _ = Evaluator::new(&NoData).template(text, &Scope::default());
    }
});
