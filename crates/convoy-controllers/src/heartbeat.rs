//! Each controller loop reports every finished pass; `/healthz` fails when a loop has not
//! finished one for [`stall_after`], so that a supervisor restarts a replica whose controllers
//! hang while its API still answers (a failure Kargo users have met: akuity/kargo#6790).

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// The loops of this process: controllers are per process, so is this record.
static PASSES: LazyLock<Mutex<BTreeMap<&'static str, Instant>>> = LazyLock::new(Mutex::default);

/// Fault injection for tests: the named loop hangs after its first pass (only in builds with
/// the `test-hooks` feature, which release builds do not have).
pub const STALL_CONTROLLER: &str = "CONVOY_TEST_STALL_CONTROLLER";

/// Records a finished pass of `controller`'s loop.
pub async fn pass(controller: &'static str) {
    let first =
        PASSES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(controller, Instant::now()).is_none();
    if cfg!(feature = "test-hooks") && !first && std::env::var(STALL_CONTROLLER).as_deref() == Ok(controller) {
        tracing::warn!(controller, "{STALL_CONTROLLER}: this loop now hangs");
        std::future::pending::<()>().await;
    }
}

/// How long a loop may go without a pass (`CONVOY_CONTROLLER_STALL_AFTER`, default 5m).
pub fn stall_after() -> Duration {
    std::env::var("CONVOY_CONTROLLER_STALL_AFTER")
        .ok()
        .and_then(|text| convoy_core::duration::parse(&text).ok())
        .unwrap_or(Duration::from_secs(300))
}

/// The loops whose last pass is older than `limit`, with how long ago it was.
pub fn stalled(limit: Duration) -> Vec<(&'static str, Duration)> {
    let passes = PASSES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    stale(&passes, Instant::now(), limit)
}

fn stale(passes: &BTreeMap<&'static str, Instant>, now: Instant, limit: Duration) -> Vec<(&'static str, Duration)> {
    passes
        .iter()
        .map(|(name, at)| (*name, now.saturating_duration_since(*at)))
        .filter(|(_, age)| *age > limit)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loops_past_the_limit_are_stalled() {
        let now = Instant::now();
        let ago = |s| now.checked_sub(Duration::from_secs(s)).unwrap();
        let passes: BTreeMap<&'static str, Instant> =
            [("promotions", ago(301)), ("stages", ago(2)), ("warehouses", ago(300))].into_iter().collect();
        let limit = Duration::from_secs(300);
        assert_eq!(stale(&passes, now, limit), vec![("promotions", Duration::from_secs(301))]);
        assert!(stale(&BTreeMap::new(), now, limit).is_empty(), "nothing runs yet: nothing is stalled");
    }
}
