//! The reconcile runtime (kube-rs's controller model over Convoy's in-memory view): store
//! changes are mapped to the keys they concern and queued; each key is reconciled by one task at
//! a time, at most `concurrency` keys at once; a reconcile answers when to look again.
//!
//! ```text
//!  CachedStore changes ──▶ keys_for(event) ──▶ Queue (deduplicated; a key changed while it runs
//!                                                  │    is run once more afterwards)
//!                          timers (requeue-after, ─┤
//!                          backoff after errors)   ▼
//!                                         reconcile(key) ──▶ Done | RequeueAfter(d) | Err (backoff)
//! ```
//!
//! Nothing is polled: an idle controller sleeps until a change, a timer it asked for, or the
//! liveness tick (`heartbeat`, a quarter of the stall limit, at most a minute).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use convoy_store::{CachedStore, Change, Key, WatchEvent};
use futures::FutureExt;
use tokio::sync::{Notify, Semaphore, broadcast};
use tokio::time::Instant;

/// What a reconcile asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing until the object (or a related one) changes.
    Done,
    /// Look again after this long, unless a change comes first.
    RequeueAfter(Duration),
}

/// A controller: which keys a change concerns, and what to do for one key.
#[async_trait]
pub trait Reconciler: Send + Sync + 'static {
    /// For logs and liveness.
    fn name(&self) -> &'static str;

    /// The keys `event` concerns (relations are index look-ups, not scans).
    fn keys_for(&self, event: &WatchEvent) -> Vec<Key>;

    /// Every key: at start, and after the view was rebuilt.
    fn all_keys(&self) -> Vec<Key>;

    async fn reconcile(&self, key: &Key) -> Result<Action, String>;
}

/// First delay after a failed reconcile; doubled per consecutive failure up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The delay after `failures` consecutive failures.
pub fn backoff(failures: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1 << failures.saturating_sub(1).min(20)).min(MAX_BACKOFF)
}

#[derive(Default)]
struct QueueState {
    ready: VecDeque<Key>,
    queued: HashSet<Key>,
    running: HashSet<Key>,
    /// Changed while running: run again when the running reconcile ends.
    again: HashSet<Key>,
    timers: BTreeSet<(Instant, Key)>,
    timer_of: HashMap<Key, Instant>,
    failures: HashMap<Key, u32>,
}

impl QueueState {
    fn cancel_timer(&mut self, key: &Key) {
        if let Some(at) = self.timer_of.remove(key) {
            self.timers.remove(&(at, key.clone()));
        }
    }

    fn set_timer(&mut self, key: Key, at: Instant) {
        self.cancel_timer(&key);
        self.timers.insert((at, key.clone()));
        self.timer_of.insert(key, at);
    }

    fn make_ready(&mut self, key: Key) {
        if self.running.contains(&key) {
            self.again.insert(key);
        } else if self.queued.insert(key.clone()) {
            self.ready.push_back(key);
        }
    }
}

/// Keys waiting to be reconciled, deduplicated, with timers.
#[derive(Default)]
pub struct Queue {
    state: Mutex<QueueState>,
    wake: Notify,
}

/// Passes per controller and outcome (`ok`, `error`).
pub static RECONCILES: convoy_telemetry::Counter<2> = convoy_telemetry::Counter::new(
    "convoy_controller_reconciles_total",
    "Controller passes, by controller and result.",
    ["controller", "result"],
);
pub static RECONCILE_DURATION: convoy_telemetry::Histogram<1> = convoy_telemetry::Histogram::new(
    "convoy_controller_reconcile_duration_seconds",
    "How long one controller pass took, by controller.",
    ["controller"],
    convoy_telemetry::LATENCY_BUCKETS,
);
pub static QUEUE_DEPTH: convoy_telemetry::Gauge<1> = convoy_telemetry::Gauge::new(
    "convoy_controller_queue_depth",
    "Objects waiting for a pass (ready now), by controller.",
    ["controller"],
);

impl Queue {
    /// Keys ready to run now.
    fn depth(&self) -> usize {
        self.lock().ready.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `key` now (a pending timer for it is superseded).
    pub fn add(&self, key: Key) {
        let mut state = self.lock();
        state.cancel_timer(&key);
        state.make_ready(key);
        drop(state);
        self.wake.notify_one();
    }

    /// The next key to run (due timers become ready first), and when the next timer is due.
    fn next(&self, now: Instant) -> (Option<Key>, Option<Instant>) {
        let mut state = self.lock();
        while let Some((at, key)) = state.timers.first().cloned() {
            if at > now {
                break;
            }
            state.timers.pop_first();
            state.timer_of.remove(&key);
            state.make_ready(key);
        }
        let key = state.ready.pop_front();
        if let Some(key) = &key {
            state.queued.remove(key);
            state.running.insert(key.clone());
        }
        (key, state.timers.first().map(|(at, _)| *at))
    }

    /// Puts `key` back in step with what its reconcile answered.
    fn finish(&self, key: Key, outcome: &Result<Action, String>, now: Instant) {
        let mut state = self.lock();
        state.running.remove(&key);
        let changed = state.again.remove(&key);
        match outcome {
            Ok(action) => {
                state.failures.remove(&key);
                match (changed, action) {
                    (true, _) => {
                        state.cancel_timer(&key);
                        state.make_ready(key);
                    }
                    (false, Action::Done) => state.cancel_timer(&key),
                    (false, Action::RequeueAfter(delay)) => state.set_timer(key, now + *delay),
                }
            }
            // A failing key waits out its backoff even if it changed meanwhile: no hot loop.
            Err(_) => {
                let failures = state.failures.entry(key.clone()).or_default();
                *failures += 1;
                let delay = backoff(*failures);
                state.set_timer(key, now + delay);
            }
        }
        drop(state);
        self.wake.notify_one();
    }
}

/// Runs `reconciler` over `cache`'s changes until the process ends.
pub async fn run<R: Reconciler>(reconciler: Arc<R>, cache: Arc<CachedStore>, concurrency: usize) {
    run_with(reconciler, cache, concurrency, None).await;
}

/// As [`run`], also reconciling the keys sent on `outside`: changes the store does not see
/// (Argo CD Applications in a cluster).
pub async fn run_with<R: Reconciler>(
    reconciler: Arc<R>,
    cache: Arc<CachedStore>,
    concurrency: usize,
    mut outside: Option<tokio::sync::mpsc::UnboundedReceiver<Key>>,
) {
    let queue = Arc::new(Queue::default());
    let mut changes = cache.subscribe();
    for key in reconciler.all_keys() {
        queue.add(key);
    }
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let tick = (crate::heartbeat::stall_after() / 4).min(Duration::from_secs(60));
    loop {
        crate::heartbeat::pass(reconciler.name()).await;
        let now = Instant::now();
        let mut next_timer = None;
        while let Ok(permit) = permits.clone().try_acquire_owned() {
            let (key, timer) = queue.next(now);
            next_timer = timer;
            let Some(key) = key else { break };
            let (reconciler, queue) = (reconciler.clone(), queue.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let outcome = std::panic::AssertUnwindSafe(reconciler.reconcile(&key))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err("the reconcile panicked".to_owned()));
                let result = if outcome.is_ok() { "ok" } else { "error" };
                RECONCILES.inc([reconciler.name(), result]);
                RECONCILE_DURATION.observe([reconciler.name()], started.elapsed());
                if let Err(e) = &outcome {
                    tracing::warn!(controller = reconciler.name(), object = %key, error = %e, "reconcile failed; backing off");
                }
                drop(permit);
                queue.finish(key, &outcome, Instant::now());
            });
        }
        QUEUE_DEPTH.set([reconciler.name()], queue.depth() as i64);
        let wake_at = next_timer.unwrap_or(now + tick).min(now + tick);
        tokio::select! {
            change = changes.recv() => {
                enqueue(&*reconciler, &queue, change);
                // Take whatever else arrived without waking per event.
                while let Ok(change) = changes.try_recv() {
                    enqueue(&*reconciler, &queue, Ok(change));
                }
            }
            Some(key) = next_outside(&mut outside) => queue.add(key),
            () = queue.wake.notified() => {}
            () = tokio::time::sleep_until(wake_at) => {}
        }
    }
}

/// The next key from outside the store; never, when there is no outside or it has closed.
async fn next_outside(outside: &mut Option<tokio::sync::mpsc::UnboundedReceiver<Key>>) -> Option<Key> {
    match outside {
        Some(receiver) => match receiver.recv().await {
            Some(key) => Some(key),
            None => {
                *outside = None;
                std::future::pending().await
            }
        },
        None => std::future::pending().await,
    }
}

fn enqueue<R: Reconciler>(reconciler: &R, queue: &Queue, change: Result<Change, broadcast::error::RecvError>) {
    match change {
        Ok(Change::Event(event)) => {
            for key in reconciler.keys_for(&event) {
                queue.add(key);
            }
        }
        Ok(Change::Resynced) | Err(broadcast::error::RecvError::Lagged(_)) => {
            tracing::info!(controller = reconciler.name(), "changes were missed; reconciling everything");
            for key in reconciler.all_keys() {
                queue.add(key);
            }
        }
        // The cache is gone: the process is stopping.
        Err(broadcast::error::RecvError::Closed) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_api::Kind;

    fn key(name: &str) -> Key {
        Key::new(Kind::Stage, "p", name)
    }

    #[test]
    fn backoff_doubles_from_half_a_second_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(4), Duration::from_secs(4));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn a_key_is_queued_once_and_a_change_while_it_runs_runs_it_again() {
        let queue = Queue::default();
        let now = Instant::now();
        queue.add(key("a"));
        queue.add(key("a"));
        queue.add(key("b"));
        let (first, _) = queue.next(now);
        assert_eq!(first, Some(key("a")));
        queue.add(key("a")); // changed while running: not handed out twice at once
        assert_eq!(queue.next(now).0, Some(key("b")));
        assert_eq!(queue.next(now).0, None, "a is running; its second run waits");
        queue.finish(key("a"), &Ok(Action::Done), now);
        assert_eq!(queue.next(now).0, Some(key("a")), "run again after the change");
    }

    #[test]
    fn requeue_after_fires_at_its_time_and_a_change_comes_first() {
        let queue = Queue::default();
        let now = Instant::now();
        queue.add(key("a"));
        let _ = queue.next(now);
        queue.finish(key("a"), &Ok(Action::RequeueAfter(Duration::from_secs(30))), now);
        let (none, due) = queue.next(now + Duration::from_secs(29));
        assert_eq!((none, due), (None, Some(now + Duration::from_secs(30))));
        assert_eq!(queue.next(now + Duration::from_secs(30)).0, Some(key("a")));
        // A change before the timer runs the key at once and drops the timer.
        queue.finish(key("a"), &Ok(Action::RequeueAfter(Duration::from_secs(30))), now);
        queue.add(key("a"));
        assert_eq!(queue.next(now).0, Some(key("a")));
        queue.finish(key("a"), &Ok(Action::Done), now);
        assert_eq!(queue.next(now + Duration::from_secs(60)), (None, None), "Done leaves no timer");
    }

    #[test]
    fn failures_back_off_even_when_the_object_keeps_changing() {
        let queue = Queue::default();
        let now = Instant::now();
        queue.add(key("a"));
        let _ = queue.next(now);
        queue.add(key("a"));
        queue.finish(key("a"), &Err("boom".into()), now);
        assert_eq!(queue.next(now).0, None, "not run again at once");
        assert_eq!(queue.next(now + FIRST_BACKOFF).0, Some(key("a")));
        queue.finish(key("a"), &Err("boom".into()), now);
        assert_eq!(queue.next(now + FIRST_BACKOFF).0, None, "the second failure waits longer");
        assert_eq!(queue.next(now + backoff(2)).0, Some(key("a")));
        queue.finish(key("a"), &Ok(Action::Done), now);
        queue.add(key("a"));
        let _ = queue.next(now);
        queue.finish(key("a"), &Err("boom".into()), now);
        assert_eq!(queue.next(now + FIRST_BACKOFF).0, Some(key("a")), "a success resets the backoff");
    }
}

/// The runtime end to end over the in-memory store, on tokio's paused clock.
#[cfg(test)]
mod timing {
    use super::*;
    use convoy_api::Kind;
    use convoy_store::{MemoryStore, Store, StoreExt};
    use serde_json::json;

    /// Records when each key was reconciled; fails, or asks for a timer, as told.
    struct Scripted {
        cache: Arc<CachedStore>,
        calls: Mutex<Vec<(String, Duration)>>,
        start: Instant,
        fail: bool,
        requeue: Option<Duration>,
    }

    #[async_trait]
    impl Reconciler for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }

        fn keys_for(&self, event: &WatchEvent) -> Vec<Key> {
            Key::of(&event.object).into_iter().collect()
        }

        fn all_keys(&self) -> Vec<Key> {
            self.cache.keys(Kind::Warehouse, None)
        }

        async fn reconcile(&self, key: &Key) -> Result<Action, String> {
            self.calls.lock().unwrap().push((key.name.clone(), self.start.elapsed()));
            if self.cache.get_now(key).is_none() {
                return Ok(Action::Done);
            }
            if self.fail {
                return Err("scripted failure".into());
            }
            Ok(self.requeue.map_or(Action::Done, Action::RequeueAfter))
        }
    }

    fn warehouse(name: &str) -> serde_json::Value {
        json!({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Warehouse",
               "metadata": {"name": name, "namespace": "p"}, "spec": {"subscriptions": []}})
    }

    async fn start(fail: bool, requeue: Option<Duration>) -> (Arc<Scripted>, Arc<CachedStore>) {
        let cache = CachedStore::start(Arc::new(MemoryStore::default()), vec![]).await.unwrap();
        let scripted =
            Arc::new(Scripted { cache: cache.clone(), calls: Mutex::default(), start: Instant::now(), fail, requeue });
        tokio::spawn(run(scripted.clone(), cache.clone(), 4));
        tokio::time::sleep(Duration::from_millis(1)).await;
        (scripted, cache)
    }

    fn times(scripted: &Scripted, name: &str) -> Vec<u64> {
        let calls = scripted.calls.lock().unwrap();
        calls.iter().filter(|(n, _)| n == name).map(|(_, at)| at.as_millis() as u64).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_reconcile_backs_off_doubling() {
        let (scripted, cache) = start(true, None).await;
        cache.create(warehouse("w")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(7_600)).await;
        // At once, then after 0.5 s, 1 s, 2 s and 4 s (cumulative 0, 0.5, 1.5, 3.5, 7.5 s).
        let at = times(&scripted, "w");
        let expected = [0u64, 500, 1_500, 3_500, 7_500];
        assert_eq!(at.len(), expected.len(), "{at:?}");
        for (got, want) in at.iter().zip(expected) {
            assert!(got.abs_diff(want + at[0]) <= 20, "{at:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn requeue_after_fires_at_its_time_and_a_deleted_object_stops_requeueing() {
        let (scripted, cache) = start(false, Some(Duration::from_secs(60))).await;
        let created = cache.create(warehouse("w")).await.unwrap();
        tokio::time::sleep(Duration::from_secs(125)).await;
        let at = times(&scripted, "w");
        assert_eq!(at.len(), 3, "at once, after 60 s and after 120 s: {at:?}");
        assert!(at[1].abs_diff(at[0] + 60_000) <= 20 && at[2].abs_diff(at[0] + 120_000) <= 20, "{at:?}");
        cache.delete(created.key, None).await.unwrap();
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert_eq!(times(&scripted, "w").len(), 4, "the deletion is reconciled once, then nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_controller_reconciles_nothing() {
        let (scripted, cache) = start(false, None).await;
        cache.create(warehouse("w")).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3_600)).await;
        assert_eq!(times(&scripted, "w").len(), 1, "one change, one reconcile, in an hour");
        let store: &dyn Store = &*cache;
        assert!(store.get(&Key::new(Kind::Warehouse, "p", "w")).await.unwrap().is_some());
    }
}
