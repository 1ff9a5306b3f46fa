//! Splitter and evaluator: any input must give a value or an error, never a crash.
//!
//! Convoy catches expr-lang's own panics and reports them as errors (`eval::guarded`), as the
//! server does; libfuzzer-sys's panic hook would abort on them before they are caught, so the
//! default hook is put back. A panic Convoy does not catch still aborts the run.
#![no_main]

use std::sync::Once;

use convoy_expr::{Evaluator, NoData, Scope};
use libfuzzer_sys::fuzz_target;

static QUIET_CAUGHT_PANICS: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    QUIET_CAUGHT_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = convoy_expr::template::split(text);
        let _ = Evaluator::new(&NoData).template(text, &Scope::default());
    }
});
