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
