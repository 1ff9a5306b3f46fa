//! What the step tests share: a wall clock, and git run in a directory (convoy-git's).

#![allow(dead_code, unused_imports, reason = "each test binary uses its own part")]

use convoy_api::time::Timestamp;
use convoy_engine::Clock;

pub struct Now;

impl Clock for Now {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

pub use convoy_git::testing::git as sh;
