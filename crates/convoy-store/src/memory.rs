//! An in-memory store for tests: the same semantics as the real backends, nothing persisted.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use convoy_api::Kind;
use tokio::sync::watch;

use crate::{
    AuditQuery, AuditRecord, EventType, Grant, Key, LabelSelector, Result, Store, StoreError, Stored, TokenRecord,
    WatchEvent, Write, resolve,
};

#[derive(Default)]
struct State {
    tokens: Vec<TokenRecord>,
    audit: Vec<AuditRecord>,
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

    async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let mut tokens = self.lock().tokens.clone();
        tokens.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tokens)
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        Ok(self.lock().tokens.iter().find(|t| t.hash == hash).cloned())
    }

    async fn create_token(&self, token: TokenRecord) -> Result<()> {
        let mut state = self.lock();
        if state.tokens.iter().any(|t| t.name == token.name || t.hash == token.hash) {
            return Err(StoreError::Exists(format!("token {:?}", token.name)));
        }
        state.tokens.push(token);
        Ok(())
    }

    async fn set_token_grants(&self, name: &str, grants: &[Grant]) -> Result<()> {
        let mut state = self.lock();
        let token = state.tokens.iter_mut().find(|t| t.name == name);
        let token = token.ok_or_else(|| StoreError::Invalid(format!("no token named {name:?}")))?;
        token.grants = grants.to_vec();
        Ok(())
    }

    async fn revoke_token(&self, name: &str, at: &str) -> Result<bool> {
        let mut state = self.lock();
        let token = state.tokens.iter_mut().find(|t| t.name == name);
        let token = token.ok_or_else(|| StoreError::Invalid(format!("no token named {name:?}")))?;
        if token.revoked_at.is_some() {
            return Ok(false);
        }
        token.revoked_at = Some(at.to_owned());
        Ok(true)
    }

    async fn token_used(&self, name: &str, at: &str) -> Result<()> {
        if let Some(token) = self.lock().tokens.iter_mut().find(|t| t.name == name) {
            token.last_used_at = Some(at.to_owned());
        }
        Ok(())
    }

    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<()> {
        let mut state = self.lock();
        for mut record in records {
            record.id = state.audit.last().map_or(1, |r| r.id + 1);
            state.audit.push(record);
        }
        Ok(())
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let state = self.lock();
        Ok(state.audit.iter().rev().filter(|r| query.matches(r)).take(query.limit).cloned().collect())
    }

    async fn prune_audit(&self, before: &str) -> Result<u64> {
        let mut state = self.lock();
        let kept = state.audit.len();
        state.audit.retain(|r| r.at.as_str() >= before);
        Ok((kept - state.audit.len()) as u64)
    }
}
