//! A watch-fed copy of a store in memory (client-go's informer, kube's reflector): reads and
//! lists never reach SQLite or PostgreSQL, writes go through and are visible to this process's
//! reads when `apply` returns.
//!
//! ```text
//!  writes ──▶ inner.apply ──▶ inner's events ──▶ follower ──▶ View (objects + indexes) ──▶ get / list / by_index
//!                                                   │
//!                                                   └──▶ broadcast ──▶ controllers' work queues
//! ```
//!
//! Indexes are the relations controllers ask about ("the Promotions of Stage s", "the Freight
//! from Warehouse w"): named functions from an object to the values it is filed under, kept up to
//! date as objects change, so that a question costs a look-up instead of a scan.

use crate::{AuditQuery, AuditRecord, Grant, TokenRecord};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use convoy_api::Kind;
use serde_json::Value;
use tokio::sync::{broadcast, watch};

use crate::{
    EventType, JsonPage, Key, LabelSelector, Lease, Page, Result, Store, StoreError, Stored, WatchEvent, Write,
};

/// How many changes a slow subscriber may fall behind before it is told to resynchronise.
const BROADCAST_CAPACITY: usize = 256;
/// Events read from the inner store at a time.
const BATCH: usize = 1_000;

/// A relation: objects of `kind` are filed under each value `values` returns, per project.
#[derive(Clone, Copy)]
pub struct Index {
    pub kind: Kind,
    pub name: &'static str,
    pub values: fn(&Value) -> Vec<String>,
}

/// What subscribers receive.
#[derive(Debug, Clone)]
pub enum Change {
    /// One committed change, in revision order.
    Event(Arc<WatchEvent>),
    /// The view was rebuilt from a fresh list (the follower fell behind the inner store's
    /// retained events): anything may have changed.
    Resynced,
}

/// One object as the view keeps it: its JSON text (a tenth of a parsed tree's memory; lists
/// send it as it is), its labels for selectors, and where the indexes filed it.
struct Entry {
    key: Key,
    revision: i64,
    json: Arc<str>,
    labels: BTreeMap<String, String>,
    filed_under: Vec<(&'static str, String)>,
}

impl Entry {
    fn stored(&self) -> Stored {
        // The text was written from a JSON value: it parses.
        let object = serde_json::from_str(&self.json).unwrap_or(Value::Null);
        Stored { key: self.key.clone(), revision: self.revision, object }
    }
}

#[derive(Default)]
struct View {
    objects: BTreeMap<Key, Entry>,
    /// The revision every change up to which is in `objects`.
    revision: i64,
    /// (index name, project, value) → names.
    filed: HashMap<(&'static str, String, String), BTreeSet<String>>,
}

impl View {
    fn unfile(&mut self, entry: &Entry) {
        for (index, value) in &entry.filed_under {
            let slot = (*index, entry.key.project.clone(), value.clone());
            if let Some(names) = self.filed.get_mut(&slot) {
                names.remove(&entry.key.name);
                if names.is_empty() {
                    self.filed.remove(&slot);
                }
            }
        }
    }

    fn insert(&mut self, indexes: &[Index], stored: Stored) {
        if let Some(old) = self.objects.remove(&stored.key) {
            self.unfile(&old);
        }
        let mut filed_under = Vec::new();
        for index in indexes.iter().filter(|i| i.kind == stored.key.kind) {
            for value in (index.values)(&stored.object) {
                let slot = (index.name, stored.key.project.clone(), value.clone());
                self.filed.entry(slot).or_default().insert(stored.key.name.clone());
                filed_under.push((index.name, value));
            }
        }
        let labels = crate::labels_of(&stored.object);
        let json = Arc::from(stored.object.to_string());
        let entry = Entry { key: stored.key.clone(), revision: stored.revision, json, labels, filed_under };
        self.objects.insert(stored.key, entry);
    }

    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.objects.remove(key) {
            self.unfile(&old);
        }
    }

    /// Applies one event unless the view already holds a newer state of its object (events
    /// replayed over a fresh list).
    fn apply(&mut self, indexes: &[Index], event: &WatchEvent) -> Result<bool> {
        let key = Key::of(&event.object)?;
        let held = self.objects.get(&key).map(|s| s.revision);
        let applied = match event.event_type {
            EventType::Added | EventType::Modified => {
                if held.is_some_and(|r| r >= event.revision) {
                    false
                } else {
                    self.insert(indexes, Stored { key, revision: event.revision, object: event.object.clone() });
                    true
                }
            }
            EventType::Deleted => match held {
                Some(r) if r < event.revision => {
                    self.remove(&key);
                    true
                }
                _ => false,
            },
        };
        self.revision = self.revision.max(event.revision);
        Ok(applied)
    }

    fn range<'a>(&'a self, kind: Kind, project: Option<&'a str>) -> impl Iterator<Item = &'a Entry> + 'a {
        let start = Key { kind, project: project.unwrap_or("").to_owned(), name: String::new() };
        self.objects
            .range(start..)
            .map(|(_, s)| s)
            .take_while(move |s| s.key.kind == kind && project.is_none_or(|p| s.key.project == p))
    }

    /// The entries of `range` after `after` whose labels `selector` accepts.
    fn matching<'a>(
        &'a self,
        kind: Kind,
        project: Option<&'a str>,
        selector: &'a LabelSelector,
        after: Option<(&'a str, &'a str)>,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        self.range(kind, project).filter(move |s| s.key.is_after(after) && selector.matches_labels(&s.labels))
    }

    /// Up to `limit` entries of `matching`, and whether more follow.
    fn page<'a>(
        &'a self,
        kind: Kind,
        project: Option<&'a str>,
        selector: &'a LabelSelector,
        after: Option<(&'a str, &'a str)>,
        limit: usize,
    ) -> (Vec<&'a Entry>, bool) {
        let mut matching = self.matching(kind, project, selector, after);
        let entries = matching.by_ref().take(limit).collect();
        (entries, matching.next().is_some())
    }
}

/// A store whose reads are served from memory. Build it with [`CachedStore::start`].
pub struct CachedStore {
    inner: Arc<dyn Store>,
    view: RwLock<View>,
    indexes: Vec<Index>,
    /// The view's revision, for `changed_after` and read-your-writes.
    applied: watch::Sender<i64>,
    changes: broadcast::Sender<Change>,
}

impl CachedStore {
    /// Lists every kind from `inner`, catches up with its events, and keeps following them.
    pub async fn start(inner: Arc<dyn Store>, indexes: Vec<Index>) -> Result<Arc<CachedStore>> {
        let cache = Arc::new(CachedStore {
            inner,
            view: RwLock::default(),
            indexes,
            applied: watch::channel(0).0,
            changes: broadcast::channel(BROADCAST_CAPACITY).0,
        });
        cache.relist().await?;
        while cache.catch_up().await? > 0 {}
        tokio::spawn(follow(Arc::downgrade(&cache)));
        Ok(cache)
    }

    /// Changes from now on. A receiver that lags (`RecvError::Lagged`) must treat it as
    /// [`Change::Resynced`].
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Objects of `kind` in `project` filed under `value` in index `index`, by name.
    pub fn by_index(&self, kind: Kind, index: &str, project: &str, value: &str) -> Vec<Stored> {
        let view = self.read();
        let slot = (self.index_name(index), project.to_owned(), value.to_owned());
        let Some(names) = view.filed.get(&slot) else { return Vec::new() };
        names.iter().filter_map(|name| view.objects.get(&Key::new(kind, project, name)).map(Entry::stored)).collect()
    }

    /// Calls `visit` with the key, revision and JSON text of each object filed under `value`,
    /// parsing nothing (the caller may have it decoded already). The view is read-locked
    /// meanwhile: keep `visit` short.
    pub fn for_each_in_index(
        &self,
        kind: Kind,
        index: &str,
        project: &str,
        value: &str,
        mut visit: impl FnMut(&Key, i64, &str),
    ) {
        let view = self.read();
        let slot = (self.index_name(index), project.to_owned(), value.to_owned());
        for name in view.filed.get(&slot).into_iter().flatten() {
            if let Some(entry) = view.objects.get(&Key::new(kind, project, name)) {
                visit(&entry.key, entry.revision, &entry.json);
            }
        }
    }

    /// The key, revision and JSON text of the object at `key` (see [`CachedStore::for_each_in_index`]).
    pub fn with_json<T>(&self, key: &Key, visit: impl FnOnce(&Key, i64, &str) -> T) -> Option<T> {
        self.read().objects.get(key).map(|e| visit(&e.key, e.revision, &e.json))
    }

    /// Names filed under `value` (no objects cloned).
    pub fn names_by_index(&self, index: &str, project: &str, value: &str) -> Vec<String> {
        let view = self.read();
        let slot = (self.index_name(index), project.to_owned(), value.to_owned());
        view.filed.get(&slot).map(|names| names.iter().cloned().collect()).unwrap_or_default()
    }

    /// Keys of every object of `kind` (in `project`, or everywhere), without cloning objects.
    pub fn keys(&self, kind: Kind, project: Option<&str>) -> Vec<Key> {
        self.read().range(kind, project).map(|s| s.key.clone()).collect()
    }

    /// The stored object at `key`, now (no await: for callers outside async code).
    pub fn get_now(&self, key: &Key) -> Option<Stored> {
        self.read().objects.get(key).map(Entry::stored)
    }

    /// Every object of `kind` (in `project`, or everywhere), by project and name.
    pub fn objects(&self, kind: Kind, project: Option<&str>) -> Vec<Stored> {
        self.read().range(kind, project).map(Entry::stored).collect()
    }

    /// The view's revision: every change up to it is visible to reads.
    pub fn revision(&self) -> i64 {
        *self.applied.borrow()
    }

    /// Waits until the view holds every change up to `revision`.
    pub async fn wait_for(&self, revision: i64) {
        let mut receiver = self.applied.subscribe();
        // The follower is woken by the inner store's own signal; the timeout only bounds a
        // follower that cannot read (the write is committed either way).
        if tokio::time::timeout(Duration::from_secs(10), receiver.wait_for(|r| *r >= revision)).await.is_err() {
            tracing::warn!(revision, "the in-memory view is still behind this revision after 10 s");
        }
    }

    fn index_name(&self, index: &str) -> &'static str {
        self.indexes.iter().find(|i| i.name == index).map_or("", |i| i.name)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, View> {
        // Writers finish every change before releasing the lock: a poisoned view is consistent.
        self.view.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, View> {
        self.view.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces the view with a fresh list (events after `since` are replayed over it).
    async fn relist(&self) -> Result<()> {
        let since = self.inner.current_revision().await?;
        let mut view = View::default();
        let everything = LabelSelector::everything();
        for kind in Kind::ALL {
            for stored in self.inner.list(kind, None, &everything).await?.0 {
                view.insert(&self.indexes, stored);
            }
        }
        view.revision = since;
        *self.write() = view;
        self.applied.send_modify(|r| *r = (*r).max(since));
        Ok(())
    }

    /// Applies the next batch of events; returns how many there were.
    async fn catch_up(&self) -> Result<usize> {
        let since = self.read().revision;
        let events = self.inner.events_since(since, BATCH).await?;
        let count = events.len();
        if count == 0 {
            return Ok(0);
        }
        let mut applied = Vec::with_capacity(count);
        let last = {
            let mut view = self.write();
            for event in events {
                if view.apply(&self.indexes, &event)? {
                    applied.push(event);
                }
            }
            view.revision
        };
        self.applied.send_modify(|r| *r = (*r).max(last));
        for event in applied {
            // No subscriber is not an error.
            let _ = self.changes.send(Change::Event(Arc::new(event)));
        }
        Ok(count)
    }
}

/// Follows the inner store until the cache is dropped.
async fn follow(cache: Weak<CachedStore>) {
    loop {
        let Some(strong) = cache.upgrade() else { return };
        match strong.catch_up().await {
            Ok(0) => {
                let (inner, since) = (strong.inner.clone(), strong.read().revision);
                drop(strong);
                inner.changed_after(since).await;
            }
            Ok(_) => {}
            Err(StoreError::RevisionTooOld { .. }) => {
                tracing::warn!("the in-memory view fell behind the store's retained events; listing again");
                if strong.relist().await.is_ok() {
                    let _ = strong.changes.send(Change::Resynced);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot follow the store; retrying in 1 s");
                drop(strong);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn get(&self, key: &Key) -> Result<Option<Stored>> {
        Ok(self.read().objects.get(key).map(Entry::stored))
    }

    async fn list(&self, kind: Kind, project: Option<&str>, selector: &LabelSelector) -> Result<(Vec<Stored>, i64)> {
        let view = self.read();
        let items = view.matching(kind, project, selector, None).map(Entry::stored).collect();
        Ok((items, view.revision))
    }

    async fn list_page(
        &self,
        kind: Kind,
        project: Option<&str>,
        selector: &LabelSelector,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Page> {
        let view = self.read();
        let (entries, more) = view.page(kind, project, selector, after, limit);
        Ok(Page { items: entries.into_iter().map(Entry::stored).collect(), revision: view.revision, more })
    }

    async fn list_page_json(
        &self,
        kind: Kind,
        project: Option<&str>,
        selector: &LabelSelector,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<JsonPage> {
        let view = self.read();
        let (entries, more) = view.page(kind, project, selector, after, limit);
        let last = entries.last().map(|e| e.key.clone());
        Ok(JsonPage {
            items: entries.into_iter().map(|e| e.json.clone()).collect(),
            last,
            revision: view.revision,
            more,
        })
    }

    async fn label_values(&self, kind: Kind, project: &str, label: &str) -> Result<Vec<(String, String)>> {
        let view = self.read();
        Ok(view
            .range(kind, Some(project))
            .filter_map(|e| Some((e.key.name.clone(), e.labels.get(label)?.clone())))
            .collect())
    }

    async fn apply(&self, writes: Vec<Write>) -> Result<Vec<Stored>> {
        let results = self.inner.apply(writes).await?;
        if let Some(last) = results.iter().map(|s| s.revision).max() {
            self.wait_for(last).await;
        }
        Ok(results)
    }

    async fn events_since(&self, since: i64, limit: usize) -> Result<Vec<WatchEvent>> {
        self.inner.events_since(since, limit).await
    }

    /// Exact: woken by the follower when the view moves past `revision`, never by a timer.
    async fn changed_after(&self, revision: i64) {
        let mut receiver = self.applied.subscribe();
        let _ = receiver.wait_for(|r| *r > revision).await;
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(self.revision())
    }

    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.inner.tokens().await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        self.inner.token_by_hash(hash).await
    }

    async fn create_token(&self, token: TokenRecord) -> Result<()> {
        self.inner.create_token(token).await
    }

    async fn set_token_grants(&self, name: &str, grants: &[Grant]) -> Result<()> {
        self.inner.set_token_grants(name, grants).await
    }

    async fn revoke_token(&self, name: &str, at: &str) -> Result<bool> {
        self.inner.revoke_token(name, at).await
    }

    async fn token_used(&self, name: &str, at: &str) -> Result<()> {
        self.inner.token_used(name, at).await
    }

    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<()> {
        self.inner.append_audit(records).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        self.inner.audit(query).await
    }

    async fn prune_audit(&self, before: &str) -> Result<u64> {
        self.inner.prune_audit(before).await
    }

    async fn lead(&self, name: &str) -> Result<Lease> {
        self.inner.lead(name).await
    }
}
