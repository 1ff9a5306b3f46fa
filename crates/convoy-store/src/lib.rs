//! Storage for Convoy's objects, behind one trait.
//!
//! ```text
//!  server / controllers ──▶ Arc<dyn Store> ──┬─ MemoryStore      (tests)
//!                                            ├─ SQLite           (embedded default)   convoy-store-sql
//!                                            └─ PostgreSQL       (scale-out)          convoy-store-sql
//! ```
//!
//! Objects are stored as JSON in Kargo's shape. The store owns `metadata.uid`,
//! `metadata.resourceVersion` (a global revision), `metadata.generation` and
//! `metadata.creationTimestamp`. Every change appends an event; `watch` replays events after a
//! revision and then follows new ones, so a client can resume after a restart.

mod access;
mod cache;
pub mod conformance;
mod key;
mod lease;
mod memory;
mod meta;
mod selector;
mod watch;

pub use access::{AuditQuery, AuditRecord, Grant, TokenRecord};
pub use cache::{CachedStore, Change, Index};
pub use key::Key;
pub use lease::Lease;
pub use memory::MemoryStore;
pub use meta::{now_rfc3339, stamp};
pub use selector::{LabelSelector, SelectorError, labels_of};
pub use watch::{EventType, WatchEvent, WatchStream, follow};

use async_trait::async_trait;
use convoy_api::Kind;
use serde_json::Value;

/// A stored object and the revision it was last written at.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub key: Key,
    pub revision: i64,
    pub object: Value,
}

/// One page of a list: at most the asked number of objects after a position, and whether more
/// follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Stored>,
    pub revision: i64,
    pub more: bool,
}

/// A page of objects as JSON text (what an API list sends), with the key of the last one.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPage {
    pub items: Vec<std::sync::Arc<str>>,
    pub last: Option<Key>,
    pub revision: i64,
    pub more: bool,
}

/// One change in an atomic set of writes.
#[derive(Debug, Clone)]
pub enum Write {
    /// Fails with `AlreadyExists` if the key is taken.
    Create(Value),
    /// Creates or replaces. With `expected`, the stored revision must match (`Conflict`
    /// otherwise; a missing object with `expected` is `NotFound`).
    Put {
        object: Value,
        expected: Option<i64>,
    },
    /// Replaces only `status`; spec and generation stay.
    PutStatus {
        key: Key,
        status: Value,
        expected: Option<i64>,
    },
    Delete {
        key: Key,
        expected: Option<i64>,
    },
}

impl Write {
    pub fn key(&self) -> Result<Key> {
        match self {
            Write::Create(object) | Write::Put { object, .. } => Key::of(object),
            Write::PutStatus { key, .. } | Write::Delete { key, .. } => Ok(key.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(Key),
    #[error("{0} already exists")]
    AlreadyExists(Key),
    #[error(
        "{key} was modified (resourceVersion is {actual}, the request expected {expected}); get it again and retry"
    )]
    Conflict { key: Key, expected: i64, actual: i64 },
    #[error(
        "revision {requested} is too old to replay (oldest kept is {oldest}); list again and watch from the list's revision"
    )]
    RevisionTooOld { requested: i64, oldest: i64 },
    #[error("{0} already exists")]
    Exists(String),
    #[error("invalid object: {0}")]
    Invalid(String),
    #[error("storage backend failed: {0}")]
    Backend(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Convoy's storage. Implementations must make `apply` atomic (all writes or none) and assign
/// strictly increasing revisions in commit order.
#[async_trait]
pub trait Store: Send + Sync {
    async fn get(&self, key: &Key) -> Result<Option<Stored>>;

    /// Objects of `kind` (in `project`, or in every project when `None`) matching `selector`,
    /// sorted by project and name, with the revision the list is consistent with.
    async fn list(&self, kind: Kind, project: Option<&str>, selector: &LabelSelector) -> Result<(Vec<Stored>, i64)>;

    /// Up to `limit` objects of [`Store::list`] that sort after `after` (project, name).
    async fn list_page(
        &self,
        kind: Kind,
        project: Option<&str>,
        selector: &LabelSelector,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Page> {
        let (items, revision) = self.list(kind, project, selector).await?;
        let mut rest = items.into_iter().filter(|s| s.key.is_after(after));
        let items: Vec<Stored> = rest.by_ref().take(limit).collect();
        let more = rest.next().is_some();
        Ok(Page { items, revision, more })
    }

    /// The value of label `label` on each object of `kind` in `project` that carries it, by name
    /// (Freight aliases, for admission, without reading the Freight).
    async fn label_values(&self, kind: Kind, project: &str, label: &str) -> Result<Vec<(String, String)>> {
        let (items, _) = self.list(kind, Some(project), &LabelSelector::everything()).await?;
        Ok(items
            .into_iter()
            .filter_map(|s| Some((s.key.name, selector::labels_of(&s.object).remove(label)?)))
            .collect())
    }

    /// [`Store::list_page`] with each object as JSON text; a store that keeps the text (the
    /// in-memory view) answers without serialising anything.
    async fn list_page_json(
        &self,
        kind: Kind,
        project: Option<&str>,
        selector: &LabelSelector,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<JsonPage> {
        let page = self.list_page(kind, project, selector, after, limit).await?;
        let last = page.items.last().map(|s| s.key.clone());
        let items = page
            .items
            .iter()
            .map(|s| serde_json::to_string(&s.object).map(std::sync::Arc::from))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(JsonPage { items, last, revision: page.revision, more: page.more })
    }

    /// Applies every write or none; returns the results in order (a delete returns the object
    /// as it was).
    async fn apply(&self, writes: Vec<Write>) -> Result<Vec<Stored>>;

    /// Events with a revision greater than `since`, oldest first.
    async fn events_since(&self, since: i64, limit: usize) -> Result<Vec<WatchEvent>>;

    /// Resolves when something may have been written after `revision` (or after a while).
    async fn changed_after(&self, revision: i64);

    async fn current_revision(&self) -> Result<i64>;

    /// Checks the store can be written (for readiness).
    async fn ping(&self) -> Result<()>;

    /// Every API token, revoked ones included, by name.
    async fn tokens(&self) -> Result<Vec<TokenRecord>>;

    /// The token whose value hashes to `hash`.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>>;

    /// Records a new token; [`StoreError::Exists`] when the name was ever used.
    async fn create_token(&self, token: TokenRecord) -> Result<()>;

    /// Replaces the roles granted to the token `name`.
    async fn set_token_grants(&self, name: &str, grants: &[Grant]) -> Result<()>;

    /// Marks the token revoked at `at` (RFC 3339); false when it was already revoked.
    async fn revoke_token(&self, name: &str, at: &str) -> Result<bool>;

    /// Notes when the token was last used.
    async fn token_used(&self, name: &str, at: &str) -> Result<()>;

    /// Appends records to the audit trail, in order.
    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<()>;

    /// Audit records, newest first.
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>>;

    /// Drops audit records older than `before` (RFC 3339); how many went.
    async fn prune_audit(&self, before: &str) -> Result<u64>;

    /// Waits until this process holds the lock `name` among every process sharing the store.
    /// A store only one process can open grants it at once.
    async fn lead(&self, _name: &str) -> Result<Lease> {
        Ok(Lease::exclusive())
    }
}

/// Convenience calls on any store.
#[async_trait]
pub trait StoreExt: Store {
    async fn create(&self, object: Value) -> Result<Stored> {
        one(self.apply(vec![Write::Create(object)]).await?)
    }

    async fn put(&self, object: Value, expected: Option<i64>) -> Result<Stored> {
        one(self.apply(vec![Write::Put { object, expected }]).await?)
    }

    async fn put_status(&self, key: Key, status: Value, expected: Option<i64>) -> Result<Stored> {
        one(self.apply(vec![Write::PutStatus { key, status, expected }]).await?)
    }

    async fn delete(&self, key: Key, expected: Option<i64>) -> Result<Stored> {
        one(self.apply(vec![Write::Delete { key, expected }]).await?)
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

fn one(mut results: Vec<Stored>) -> Result<Stored> {
    results.pop().ok_or_else(|| StoreError::Backend("a write returned no result".into()))
}

/// What one write does to the stored state, decided from the current object. Shared by every
/// backend so they agree on semantics; the backend supplies the revision and persists.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub stored: Stored,
    pub event_type: EventType,
}

pub fn resolve(write: &Write, current: Option<&Stored>, revision: i64) -> Result<Resolved> {
    let key = write.key()?;
    let check = |expected: &Option<i64>| -> Result<()> {
        match (expected, current) {
            (Some(_), None) => Err(StoreError::NotFound(key.clone())),
            (Some(expected), Some(c)) if *expected != c.revision => {
                Err(StoreError::Conflict { key: key.clone(), expected: *expected, actual: c.revision })
            }
            _ => Ok(()),
        }
    };
    let (mut object, event_type) = match write {
        Write::Create(object) => {
            if current.is_some() {
                return Err(StoreError::AlreadyExists(key));
            }
            (object.clone(), EventType::Added)
        }
        Write::Put { object, expected } => {
            check(expected)?;
            (object.clone(), if current.is_some() { EventType::Modified } else { EventType::Added })
        }
        Write::PutStatus { status, expected, .. } => {
            check(expected)?;
            let current = current.ok_or_else(|| StoreError::NotFound(key.clone()))?;
            let mut object = current.object.clone();
            object["status"] = status.clone();
            (object, EventType::Modified)
        }
        Write::Delete { expected, .. } => {
            check(expected)?;
            let current = current.ok_or_else(|| StoreError::NotFound(key.clone()))?;
            let mut object = current.object.clone();
            object["metadata"]["resourceVersion"] = serde_json::json!(revision.to_string());
            return Ok(Resolved { stored: Stored { key, revision, object }, event_type: EventType::Deleted });
        }
    };
    stamp(&mut object, revision, current.map(|c| &c.object));
    Ok(Resolved { stored: Stored { key, revision, object }, event_type })
}
