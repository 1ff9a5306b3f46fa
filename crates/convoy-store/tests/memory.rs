//! The conformance suite on the in-memory backend.

use std::sync::Arc;

use convoy_store::{MemoryStore, conformance};

#[tokio::test]
async fn memory_store_conforms() {
    conformance::check(Arc::new(MemoryStore::default())).await;
}

#[tokio::test]
async fn memory_store_compacts() {
    conformance::check_compaction(Arc::new(MemoryStore::with_retention(20)), 20).await;
}
