//! A clock a test moves by hand, for the engine and anything else that asks the time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use convoy_api::time::Timestamp;

/// Starts at 2024-05-01T12:00:00Z unless told otherwise; only [`ManualClock::advance`] and
/// [`ManualClock::set`] move it.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

/// 2024-05-01T12:00:00Z, the instant the tests' expectations are written against.
pub const START: Timestamp = Timestamp(1_714_564_800);

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::at(START)
    }
}

impl ManualClock {
    pub fn at(now: Timestamp) -> Self {
        ManualClock(AtomicI64::new(now.0))
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(i64::try_from(by.as_secs()).unwrap_or(i64::MAX), Ordering::SeqCst);
    }

    pub fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

impl convoy_engine::Clock for ManualClock {
    fn now(&self) -> Timestamp {
        ManualClock::now(self)
    }
}
