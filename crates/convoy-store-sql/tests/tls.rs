//! PostgreSQL over TLS: `sslmode=require` and `verify-full` work against a server that accepts
//! nothing else, and a certificate from an authority the client was not told to trust fails.

use convoy_store::Store;
use convoy_store_sql::SqlStore;
use convoy_store_sql::testing::{certificate_authority, start_tls};

#[tokio::test]
async fn postgres_over_tls() {
    let (pg, trusted) = match start_tls() {
        Ok(started) => started,
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => panic!("PostgreSQL is required in CI: {why}"),
        Err(why) => return eprintln!("skipping: {why}"),
    };
    // The server refuses plain connections, so a connection that works used TLS.
    let plain = SqlStore::connect(&format!("{}?sslmode=disable", pg.url), 100).await;
    assert!(plain.is_err(), "a plain connection was accepted");
    let store = SqlStore::connect(&format!("{}?sslmode=require", pg.url), 100).await.unwrap();
    store.ping().await.unwrap();
    let port = pg.url.rsplit(':').next().unwrap().split('/').next().unwrap().to_owned();
    let verified =
        format!("postgres://convoy@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}", trusted.display());
    SqlStore::connect(&verified, 100).await.unwrap().ping().await.unwrap();
    // A certificate the client does not trust.
    let other = tempfile::tempdir().unwrap();
    let (stranger, _) = certificate_authority(other.path(), "stranger").unwrap();
    let untrusted =
        format!("postgres://convoy@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}", stranger.display());
    let error = SqlStore::connect(&untrusted, 100).await.err().expect("an untrusted certificate was accepted");
    assert!(!error.to_string().is_empty());
}
