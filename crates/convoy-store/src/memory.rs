//! An in-memory store for tests: the same semantics as the real backends, nothing persisted.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use convoy_api::Kind;
use tokio::sync::watch;

use crate::{EventType, Key, LabelSelector, Result, Store, StoreError, Stored, WatchEvent, Write, resolve};

#[derive(Default)]
struct State {
    tokens: Vec<String>,
    objects: BTreeMap<Key, Stored>,
    events: Vec<WatchEvent>,
    revision: i64,
}

/// Objects and events in memory. Keeps at most `retain` events for replay.
pub struct MemoryStore {
    state: Mutex<State>,
    revision: watch::Sender<i64>,
    retain: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_retention(10_000)
    }
}

impl MemoryStore {
    pub fn with_retention(retain: usize) -> Self {
        MemoryStore { state: Mutex::new(State::default()), revision: watch::channel(0).0, retain }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (writes are applied at the end).
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &Key) -> Result<Option<Stored>> {
        Ok(self.lock().objects.get(key).cloned())
    }

    async fn list(&self, kind: Kind, project: Option<&str>, selector: &LabelSelector) -> Result<(Vec<Stored>, i64)> {
        let state = self.lock();
        let items = state
            .objects
            .values()
            .filter(|s| s.key.kind == kind && project.is_none_or(|p| s.key.project == p) && selector.matches(&s.object))
            .cloned()
            .collect();
        Ok((items, state.revision))
    }

    async fn apply(&self, writes: Vec<Write>) -> Result<Vec<Stored>> {
        let mut state = self.lock();
        let mut objects = state.objects.clone();
        let mut revision = state.revision;
        let mut results = Vec::with_capacity(writes.len());
        let mut events = Vec::with_capacity(writes.len());
        for write in &writes {
            let key = write.key()?;
            revision += 1;
            let resolved = resolve(write, objects.get(&key), revision)?;
            if resolved.event_type == EventType::Deleted {
                objects.remove(&key);
            } else {
                objects.insert(key, resolved.stored.clone());
            }
            events.push(WatchEvent {
                revision,
                event_type: resolved.event_type,
                object: resolved.stored.object.clone(),
            });
            results.push(resolved.stored);
        }
        state.objects = objects;
        state.events.extend(events);
        let excess = state.events.len().saturating_sub(self.retain);
        state.events.drain(..excess);
        state.revision = revision;
        drop(state);
        self.revision.send_replace(revision);
        Ok(results)
    }

    async fn events_since(&self, since: i64, limit: usize) -> Result<Vec<WatchEvent>> {
        let state = self.lock();
        if let Some(oldest) = state.events.first()
            && since < oldest.revision - 1
        {
            return Err(StoreError::RevisionTooOld { requested: since, oldest: oldest.revision });
        }
        Ok(state.events.iter().filter(|e| e.revision > since).take(limit).cloned().collect())
    }

    async fn changed_after(&self, revision: i64) {
        let mut receiver = self.revision.subscribe();
        // Every commit signals: the timeout is only the trait's "after a while".
        let _ = tokio::time::timeout(Duration::from_secs(30), receiver.wait_for(|r| *r > revision)).await;
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(self.lock().revision)
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn token_hashes(&self) -> Result<Vec<String>> {
        Ok(self.lock().tokens.clone())
    }

    async fn add_token(&self, _name: &str, hash: &str) -> Result<()> {
        self.lock().tokens.push(hash.to_owned());
        Ok(())
    }
}
