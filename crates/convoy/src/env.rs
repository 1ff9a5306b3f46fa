//! The real clock and randomness that admission asks its caller for.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time and randomness from the standard library's hasher seeds (not for secrets).
#[derive(Default)]
pub struct SystemEnv {
    counter: u64,
}

impl convoy_core::Env for SystemEnv {
    fn now_millis(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    fn random(&mut self) -> u64 {
        self.counter += 1;
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(self.counter);
        hasher.write_u64(self.now_millis());
        hasher.finish()
    }
}
