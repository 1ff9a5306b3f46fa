//! The store conformance suite on SQLite (a file in a temp dir) and on a real PostgreSQL server
//! started for the test.

use std::sync::Arc;

use convoy_store::{Store, StoreExt, conformance};
use convoy_store_sql::SqlStore;
use convoy_store_sql::testing as postgres;
use serde_json::json;

#[tokio::test]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::sqlite(&dir.path().join("convoy.db")).await.unwrap();
    conformance::check(Arc::new(store)).await;
}

#[tokio::test]
async fn sqlite_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    let store = SqlStore::connect(&url, 20).await.unwrap();
    conformance::check_compaction(Arc::new(store), 20).await;
}

#[tokio::test]
async fn sqlite_keeps_data_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("convoy.db");
    let object = json!({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Project", "metadata": {"name": "kept"}});
    let created = SqlStore::sqlite(&path).await.unwrap().create(object).await.unwrap();
    let reopened = SqlStore::sqlite(&path).await.unwrap();
    assert_eq!(reopened.get(&created.key).await.unwrap(), Some(created.clone()));
    assert_eq!(reopened.current_revision().await.unwrap(), created.revision);
}

#[tokio::test]
async fn postgres_conforms() {
    let Some(pg) = postgres::start_or_skip() else { return };
    let store = SqlStore::connect(&pg.url, 10_000).await.unwrap();
    conformance::check(Arc::new(store)).await;
}

#[tokio::test]
async fn postgres_compacts_and_notifies_other_replicas() {
    let Some(pg) = postgres::start_or_skip() else { return };
    let writer = Arc::new(SqlStore::connect(&pg.url, 20).await.unwrap());
    conformance::check_compaction(writer.clone(), 20).await;
    // A second store on the same database sees the first one's writes through NOTIFY.
    let reader: Arc<dyn Store> = Arc::new(SqlStore::connect(&pg.url, 20).await.unwrap());
    let start = reader.current_revision().await.unwrap();
    let waiter = tokio::spawn({
        let reader = reader.clone();
        async move {
            let started = std::time::Instant::now();
            reader.changed_after(start).await;
            started.elapsed()
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    writer
        .create(json!({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Project", "metadata": {"name": "notified"}}))
        .await
        .unwrap();
    let waited = waiter.await.unwrap();
    assert!(waited < std::time::Duration::from_millis(950), "woken by NOTIFY, not by the 1 s fallback: {waited:?}");
    assert!(reader.events_since(start, 10).await.unwrap().iter().any(|e| e.object["metadata"]["name"] == "notified"));
}

/// One replica at a time holds a lease; when it lets go (its connection ends), a waiting one
/// gets it.
#[tokio::test]
async fn postgres_leases_are_exclusive_and_pass_on() {
    let Some(pg) = postgres::start_or_skip() else { return };
    let first = SqlStore::connect(&pg.url, 100).await.unwrap();
    let second = Arc::new(SqlStore::connect(&pg.url, 100).await.unwrap());
    let held = first.lead("controllers").await.unwrap();
    let waiting = tokio::spawn({
        let second = second.clone();
        async move { second.lead("controllers").await.unwrap() }
    });
    // Another name is a different lock.
    let _other = tokio::time::timeout(std::time::Duration::from_secs(5), second.lead("controllers/shard-a"))
        .await
        .expect("a different lease is free")
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(!waiting.is_finished(), "the lease is held by the first store");
    drop(held);
    let mut taken = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
        .await
        .expect("the waiting store takes the lease once it is free")
        .unwrap();
    // The new holder keeps it while its connection lives.
    assert!(tokio::time::timeout(std::time::Duration::from_secs(3), taken.lost()).await.is_err());
    // An operator ends the holder's session: the holder notices and says so.
    pg.psql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2").unwrap();
    let reason =
        tokio::time::timeout(std::time::Duration::from_secs(10), taken.lost()).await.expect("the loss is noticed");
    assert!(reason.contains("connection holding the lease failed"), "{reason}");
}

/// The readiness probe writes (rolled back) while other writes commit; on SQLite it must wait
/// its turn, never fail with "database is locked".
#[tokio::test]
async fn sqlite_pings_while_others_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::sqlite(&dir.path().join("convoy.db")).await.unwrap());
    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            for i in 0..200 {
                let object = json!({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Project", "metadata": {"name": format!("p{i}")}});
                store.create(object).await.unwrap();
            }
        }
    });
    let mut pings = 0;
    while !writer.is_finished() {
        store.ping().await.unwrap();
        pings += 1;
    }
    writer.await.unwrap();
    assert!(pings > 0);
}
