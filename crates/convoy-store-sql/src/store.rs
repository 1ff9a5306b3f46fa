//! The `Store` implementation over sqlx's `Any` driver.

use std::time::Duration;

use async_trait::async_trait;
use convoy_api::Kind;
use convoy_store::{
    AuditQuery, AuditRecord, EventType, Grant, Key, LabelSelector, Result, Store, StoreError, Stored, TokenRecord,
    WatchEvent, Write, resolve,
};
use serde_json::Value;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};
use tokio::sync::{Mutex, watch};

use crate::schema::STATEMENTS;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Events kept for replay; older revisions answer `RevisionTooOld`.
const DEFAULT_RETAIN: i64 = 10_000;
const NOTIFY_CHANNEL: &str = "convoy_events";

pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// Serialises writes in this process (SQLite has one writer; for PostgreSQL the advisory
    /// lock serialises across processes and this only avoids needless waiting on it).
    write_lock: Mutex<()>,
    revision: watch::Sender<i64>,
    retain: i64,
}

/// The first key of Convoy's lease locks (`conv`); the write lock uses the one-key form, a
/// separate lock space.
const LEASE_CLASS: i32 = 0x636f_6e76;
/// How often a lease's connection is checked, and how long the check may take.
const LEASE_CHECK: Duration = Duration::from_secs(2);
/// How often a replica waiting for a lease asks again.
const LEASE_RETRY: Duration = Duration::from_secs(1);

/// A stable 32-bit key for a lease name (FNV-1a): the same in every process.
fn lease_key(name: &str) -> i32 {
    let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    i32::from_ne_bytes(hash.to_ne_bytes())
}

pub(crate) fn backend_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqlStore {
    /// Opens (creating if needed) the SQLite database at `path`, in WAL mode.
    pub async fn sqlite(path: &std::path::Path) -> Result<SqlStore> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        SqlStore::connect(&url, DEFAULT_RETAIN).await
    }

    /// Connects to `sqlite://...` or `postgres://...`; `retain` is how many events to keep.
    pub async fn connect(url: &str, retain: i64) -> Result<SqlStore> {
        install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Backend(format!(
                "unsupported database URL {:?}: use sqlite://PATH or postgres://USER@HOST:PORT/DB",
                redact(url)
            )));
        };
        let options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL keeps readers off the writer's back; NORMAL sync survives a
                        // killed process (only an OS crash can lose the last commits).
                        for pragma in
                            ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=10000"]
                        {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            });
        let pool =
            options.connect(url).await.map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", redact(url))))?;
        for statement in STATEMENTS {
            sqlx::query(*statement).execute(&pool).await.map_err(backend_error)?;
        }
        let store = SqlStore { pool, backend, write_lock: Mutex::new(()), revision: watch::channel(0).0, retain };
        let current = store.current_revision().await?;
        store.revision.send_replace(current);
        if backend == Backend::Postgres {
            store.listen(url.to_owned());
        }
        Ok(store)
    }

    /// This process's turn to write (SQLite has one writer).
    pub(crate) async fn write_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write_lock.lock().await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Follows other replicas' commits through LISTEN/NOTIFY.
    fn listen(&self, url: String) {
        let sender = self.revision.clone();
        tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(mut listener) => {
                        if listener.listen(NOTIFY_CHANNEL).await.is_ok() {
                            while let Ok(notification) = listener.recv().await {
                                if let Ok(revision) = notification.payload().parse::<i64>() {
                                    sender.send_if_modified(|r| {
                                        let newer = revision > *r;
                                        if newer {
                                            *r = revision;
                                        }
                                        newer
                                    });
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot listen for store notifications; retrying"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    fn row_to_stored(kind: Kind, project: String, name: String, revision: i64, body: &str) -> Result<Stored> {
        let object: Value = serde_json::from_str(body).map_err(backend_error)?;
        Ok(Stored { key: Key { kind, project, name }, revision, object })
    }
}

impl SqlStore {
    /// Every write of a set inside one transaction; the caller commits or rolls back.
    /// Resolves every write against the stored state in memory and writes the outcome in a few
    /// multi-row statements: a set of 10,000 writes costs tens of round trips to the database,
    /// not tens of thousands.
    async fn write_all(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, writes: &[Write]) -> Result<Vec<Stored>> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7010)").execute(&mut **tx).await.map_err(backend_error)?;
        }
        let keys = writes.iter().map(Write::key).collect::<Result<Vec<Key>>>()?;
        let stored = self.current_objects(tx, &keys).await?;
        // Writers are serialised (the advisory lock; SQLite's single writer): revisions can be
        // handed out here and the counter moved once.
        let base: i64 = sqlx::query("SELECT value FROM counters WHERE name = 'revision'")
            .fetch_one(&mut **tx)
            .await
            .and_then(|r| r.try_get("value"))
            .map_err(backend_error)?;
        let mut results: Vec<Stored> = Vec::with_capacity(writes.len());
        let mut events = Vec::with_capacity(writes.len());
        // A key written earlier in the set: its result (`None` once deleted), not what is stored.
        let mut written: std::collections::HashMap<&Key, Option<usize>> = std::collections::HashMap::new();
        for (i, (write, key)) in writes.iter().zip(&keys).enumerate() {
            let revision = base + 1 + i as i64;
            let current = match written.get(key) {
                Some(result) => result.map(|at| &results[at]),
                None => stored.get(key).and_then(Option::as_ref),
            };
            let resolved = resolve(write, current, revision)?;
            let body = serde_json::to_string(&resolved.stored.object).map_err(backend_error)?;
            written.insert(key, (resolved.event_type != EventType::Deleted).then_some(results.len()));
            events.push((revision, resolved.event_type, key.clone(), body));
            results.push(resolved.stored);
        }
        sqlx::query("UPDATE counters SET value = $1 WHERE name = 'revision'")
            .bind(base + writes.len() as i64)
            .execute(&mut **tx)
            .await
            .map_err(backend_error)?;
        // Objects: each key's final state (a key written twice in the set is written once).
        let last_write: std::collections::HashMap<&Key, &(i64, EventType, Key, String)> =
            events.iter().map(|e| (&e.2, e)).collect();
        let mut upserts = Vec::new();
        for (key, event) in &last_write {
            if event.1 == EventType::Deleted {
                sqlx::query("DELETE FROM objects WHERE kind = $1 AND project = $2 AND name = $3")
                    .bind(key.kind.name())
                    .bind(&key.project)
                    .bind(&key.name)
                    .execute(&mut **tx)
                    .await
                    .map_err(backend_error)?;
            } else {
                upserts.push(*event);
            }
        }
        for chunk in upserts.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO objects (kind, project, name, revision, body) VALUES {} \
                 ON CONFLICT (kind, project, name) DO UPDATE SET revision = excluded.revision, body = excluded.body",
                placeholders(chunk.len(), 5)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (revision, _, key, body) in chunk {
                query = query.bind(key.kind.name()).bind(&key.project).bind(&key.name).bind(*revision).bind(body);
            }
            query.execute(&mut **tx).await.map_err(backend_error)?;
        }
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO events (revision, event_type, kind, project, name, body) VALUES {}",
                placeholders(chunk.len(), 6)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (revision, event_type, key, body) in chunk {
                query = query
                    .bind(*revision)
                    .bind(event_type.as_str())
                    .bind(key.kind.name())
                    .bind(&key.project)
                    .bind(&key.name)
                    .bind(body);
            }
            query.execute(&mut **tx).await.map_err(backend_error)?;
        }
        let last = results.last().map_or(0, |s| s.revision);
        if last > 0 {
            sqlx::query("DELETE FROM events WHERE revision <= $1")
                .bind(last - self.retain)
                .execute(&mut **tx)
                .await
                .map_err(backend_error)?;
            if self.backend == Backend::Postgres {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(NOTIFY_CHANNEL)
                    .bind(last.to_string())
                    .execute(&mut **tx)
                    .await
                    .map_err(backend_error)?;
            }
        }
        Ok(results)
    }
}

/// Rows per multi-row statement: far below SQLite's and PostgreSQL's limits on bound parameters,
/// and small enough that binding by name (linear in the statement's parameters) stays cheap.
pub(crate) const ROWS_PER_STATEMENT: usize = 100;

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` parameters.
pub(crate) fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (1..=columns).map(|c| format!("${}", row * columns + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl SqlStore {
    /// The stored state of `keys` (`None`: not stored), read in a few statements.
    async fn current_objects(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        keys: &[Key],
    ) -> Result<std::collections::HashMap<Key, Option<Stored>>> {
        let mut state: std::collections::HashMap<Key, Option<Stored>> =
            keys.iter().map(|k| (k.clone(), None)).collect();
        let distinct: Vec<&Key> = state.keys().collect();
        let mut found = Vec::new();
        for chunk in distinct.chunks(ROWS_PER_STATEMENT) {
            let conditions = (0..chunk.len())
                .map(|i| format!("(kind = ${} AND project = ${} AND name = ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!("SELECT kind, project, name, revision, body FROM objects WHERE {conditions}");
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for key in chunk {
                query = query.bind(key.kind.name()).bind(&key.project).bind(&key.name);
            }
            for row in query.fetch_all(&mut **tx).await.map_err(backend_error)? {
                let kind: String = row.try_get("kind").map_err(backend_error)?;
                let kind = Kind::ALL
                    .into_iter()
                    .find(|k| k.name() == kind)
                    .ok_or_else(|| StoreError::Backend(format!("unknown kind {kind:?}")))?;
                let body: String = row.try_get("body").map_err(backend_error)?;
                found.push(SqlStore::row_to_stored(
                    kind,
                    row.try_get("project").map_err(backend_error)?,
                    row.try_get("name").map_err(backend_error)?,
                    row.try_get("revision").map_err(backend_error)?,
                    &body,
                )?);
            }
        }
        for stored in found {
            state.insert(stored.key.clone(), Some(stored));
        }
        Ok(state)
    }
}

/// A URL with any password replaced, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***@{}", &url[..scheme + 3], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl SqlStore {
    /// Every write of one call in one transaction, under the write lock.
    async fn apply_timed(&self, writes: Vec<Write>) -> Result<Vec<Stored>> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.pool.begin().await.map_err(backend_error)?;
        match self.write_all(&mut tx, &writes).await {
            Ok(results) => {
                tx.commit().await.map_err(backend_error)?;
                let last = results.last().map_or(0, |s| s.revision);
                self.revision.send_if_modified(|r| {
                    let newer = last > *r;
                    if newer {
                        *r = last;
                    }
                    newer
                });
                Ok(results)
            }
            Err(e) => {
                // Roll back now: a dropped transaction only rolls back when its connection is
                // next used, and would hold SQLite's write lock until then.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    fn backend_label(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// How long the store's write transactions take, by backend and result.
pub static WRITE_DURATION: convoy_telemetry::Histogram<2> = convoy_telemetry::Histogram::new(
    "convoy_store_write_duration_seconds",
    "How long one atomic write (a set of objects) took, lock wait included, by backend and result.",
    ["backend", "result"],
    convoy_telemetry::LATENCY_BUCKETS,
);

#[async_trait]
impl Store for SqlStore {
    async fn get(&self, key: &Key) -> Result<Option<Stored>> {
        let row = sqlx::query("SELECT revision, body FROM objects WHERE kind = $1 AND project = $2 AND name = $3")
            .bind(key.kind.name())
            .bind(&key.project)
            .bind(&key.name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
        row.map(|r| {
            let body: String = r.try_get("body").map_err(backend_error)?;
            let revision: i64 = r.try_get("revision").map_err(backend_error)?;
            SqlStore::row_to_stored(key.kind, key.project.clone(), key.name.clone(), revision, &body)
        })
        .transpose()
    }

    async fn list(&self, kind: Kind, project: Option<&str>, selector: &LabelSelector) -> Result<(Vec<Stored>, i64)> {
        let mut tx = self.pool.begin().await.map_err(backend_error)?;
        let rows = match project {
            Some(p) => sqlx::query("SELECT project, name, revision, body FROM objects WHERE kind = $1 AND project = $2 ORDER BY project, name")
                .bind(kind.name())
                .bind(p)
                .fetch_all(&mut *tx)
                .await,
            None => sqlx::query("SELECT project, name, revision, body FROM objects WHERE kind = $1 ORDER BY project, name")
                .bind(kind.name())
                .fetch_all(&mut *tx)
                .await,
        }
        .map_err(backend_error)?;
        let revision: i64 = sqlx::query("SELECT value FROM counters WHERE name = 'revision'")
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get("value"))
            .map_err(backend_error)?;
        tx.commit().await.map_err(backend_error)?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let body: String = row.try_get("body").map_err(backend_error)?;
            let stored = SqlStore::row_to_stored(
                kind,
                row.try_get("project").map_err(backend_error)?,
                row.try_get("name").map_err(backend_error)?,
                row.try_get("revision").map_err(backend_error)?,
                &body,
            )?;
            if selector.matches(&stored.object) {
                items.push(stored);
            }
        }
        Ok((items, revision))
    }

    async fn apply(&self, writes: Vec<Write>) -> Result<Vec<Stored>> {
        let started = std::time::Instant::now();
        let outcome = self.apply_timed(writes).await;
        let result = if outcome.is_ok() { "ok" } else { "error" };
        WRITE_DURATION.observe([self.backend_label(), result], started.elapsed());
        outcome
    }

    async fn events_since(&self, since: i64, limit: usize) -> Result<Vec<WatchEvent>> {
        let oldest: Option<i64> = sqlx::query("SELECT MIN(revision) AS oldest FROM events")
            .fetch_one(&self.pool)
            .await
            .and_then(|r| r.try_get("oldest"))
            .map_err(backend_error)?;
        if let Some(oldest) = oldest
            && since < oldest - 1
        {
            return Err(StoreError::RevisionTooOld { requested: since, oldest });
        }
        let rows =
            sqlx::query("SELECT revision, event_type, body FROM events WHERE revision > $1 ORDER BY revision LIMIT $2")
                .bind(since)
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await
                .map_err(backend_error)?;
        rows.into_iter()
            .map(|row| {
                let body: String = row.try_get("body").map_err(backend_error)?;
                let event_type: String = row.try_get("event_type").map_err(backend_error)?;
                Ok(WatchEvent {
                    revision: row.try_get("revision").map_err(backend_error)?,
                    event_type: EventType::parse(&event_type)
                        .ok_or_else(|| StoreError::Backend(format!("bad event type {event_type:?}")))?,
                    object: serde_json::from_str(&body).map_err(backend_error)?,
                })
            })
            .collect()
    }

    /// Woken by this process's commits, and on PostgreSQL by other replicas' (NOTIFY); the
    /// timeout only bounds a notification lost while the listener reconnected.
    async fn changed_after(&self, revision: i64) {
        let mut receiver = self.revision.subscribe();
        let bound = match self.backend {
            Backend::Postgres => Duration::from_secs(5),
            _ => Duration::from_secs(30),
        };
        let _ = tokio::time::timeout(bound, receiver.wait_for(|r| *r > revision)).await;
    }

    async fn current_revision(&self) -> Result<i64> {
        sqlx::query("SELECT value FROM counters WHERE name = 'revision'")
            .fetch_one(&self.pool)
            .await
            .and_then(|r| r.try_get("value"))
            .map_err(backend_error)
    }

    /// Every table is there (the schema is in place) and a write is accepted: a read-only
    /// database (a standby, a read-only file) fails here. The write touches no row and is
    /// rolled back.
    async fn ping(&self) -> Result<()> {
        // Writers take turns in this process (SQLite's single writer); the probe's write waits
        // for its turn like any other, and writes first so that its transaction never has to
        // turn from reading into writing (which SQLite refuses when another write came between).
        let _turn = self.write_lock.lock().await;
        let mut tx = self.pool.begin().await.map_err(backend_error)?;
        sqlx::query("UPDATE counters SET value = value WHERE name = 'convoy-ping'")
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        for probe in [
            "SELECT 1 FROM objects LIMIT 0",
            "SELECT 1 FROM events LIMIT 0",
            "SELECT 1 FROM counters LIMIT 0",
            "SELECT 1 FROM api_tokens LIMIT 0",
            "SELECT 1 FROM audit LIMIT 0",
        ] {
            sqlx::query(probe).execute(&mut *tx).await.map_err(backend_error)?;
        }
        tx.rollback().await.map_err(backend_error)
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.sql_tokens().await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        self.sql_token_by_hash(hash).await
    }

    async fn create_token(&self, token: TokenRecord) -> Result<()> {
        self.sql_create_token(token).await
    }

    async fn set_token_grants(&self, name: &str, grants: &[Grant]) -> Result<()> {
        self.sql_set_token_grants(name, grants).await
    }

    async fn revoke_token(&self, name: &str, at: &str) -> Result<bool> {
        self.sql_revoke_token(name, at).await
    }

    async fn token_used(&self, name: &str, at: &str) -> Result<()> {
        self.sql_token_used(name, at).await
    }

    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<()> {
        self.sql_append_audit(records).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        self.sql_audit(query).await
    }

    async fn prune_audit(&self, before: &str) -> Result<u64> {
        self.sql_prune_audit(before).await
    }

    /// On PostgreSQL a session advisory lock, held on a connection of its own: it is released
    /// when that connection ends (this process stops, or the network drops it), and the holder
    /// checks the connection every [`LEASE_CHECK`] so that it notices first.
    async fn lead(&self, name: &str) -> Result<convoy_store::Lease> {
        if self.backend != Backend::Postgres {
            return Ok(convoy_store::Lease::exclusive());
        }
        let key = lease_key(name);
        loop {
            let mut connection = self.pool.acquire().await.map_err(backend_error)?.detach();
            // A replica that vanishes from the network is noticed by the server within ~25 s.
            for setting in
                ["SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5", "SET tcp_keepalives_count = 3"]
            {
                sqlx::query(setting).execute(&mut connection).await.map_err(backend_error)?;
            }
            let granted: bool = sqlx::query("SELECT pg_try_advisory_lock($1, $2) AS granted")
                .bind(LEASE_CLASS)
                .bind(key)
                .fetch_one(&mut connection)
                .await
                .and_then(|row| row.try_get("granted"))
                .map_err(backend_error)?;
            if granted {
                let (report, lost) = tokio::sync::oneshot::channel();
                let holder = tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(LEASE_CHECK).await;
                        let check = tokio::time::timeout(LEASE_CHECK, sqlx::query("SELECT 1").execute(&mut connection));
                        let problem = match check.await {
                            Ok(Ok(_)) => continue,
                            Ok(Err(e)) => format!("the connection holding the lease failed: {e}"),
                            Err(_) => format!("the database did not answer within {} s", LEASE_CHECK.as_secs()),
                        };
                        let _ = report.send(problem);
                        return;
                    }
                });
                return Ok(convoy_store::Lease::held(lost, holder));
            }
            drop(connection);
            tokio::time::sleep(LEASE_RETRY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lease_keys_are_fnv1a() {
        // FNV-1a (32-bit) of "controllers", computed with Python's integers.
        assert_eq!(super::lease_key("controllers"), -314_195_722);
        assert_ne!(super::lease_key("controllers"), super::lease_key("controllers/shard-a"));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://kargo:s3cret@127.0.0.1:5432/db"),
            "postgres://kargo:***@127.0.0.1:5432/db"
        );
        assert_eq!(super::redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
