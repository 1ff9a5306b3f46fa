//! Verification measures on its metrics' timers: with the clock paused and measurements that
//! need no network, a metric of `count: 3` every `interval: 30s` ends after 60 s of clock time,
//! not before, and an abort stops it at its next measurement.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use convoy_api::{Kind, Stage};
use convoy_controllers::verification::{Measurer, Verifier};
use convoy_core::analysis::Metric;
use convoy_store::{Key, MemoryStore, Store, StoreExt};
use convoy_test_support::objects;
use serde_json::{Value, json};

/// Always measures 1, and counts how often it was asked.
struct Constant(AtomicUsize);

#[async_trait::async_trait]
impl Measurer for Constant {
    async fn take(&self, _metric: &Metric) -> Result<Value, String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(json!(1))
    }
}

async fn world() -> (Arc<dyn Store>, Stage) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let template = json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
        "metadata": {"name": "smoke", "namespace": "p"},
        "spec": {"metrics": [{"name": "up", "interval": "30s", "count": 3, "successCondition": "result == 1",
            "provider": {"web": {"url": "http://127.0.0.1:9/never-called"}}}]},
    });
    store.create(template).await.unwrap();
    let stage = objects::stage("dev").direct("w").steps(json!([{"uses": "fail"}])).verification(&["smoke"]);
    let created = store.create(stage.json()).await.unwrap();
    let status = json!({"freightHistory": [{"id": "c1", "items": {}, "verificationHistory": [{"id": "v1", "phase": "Running"}]}]});
    store.put_status(created.key, status, None).await.unwrap();
    (store, stage.typed())
}

/// Verification `v1` of Stage dev, started, one second in.
async fn started() -> (Arc<dyn Store>, Arc<Constant>) {
    let (store, stage) = world().await;
    let measurer = Arc::new(Constant(AtomicUsize::new(0)));
    Verifier::with_measurer(store.clone(), measurer.clone()).ensure(&stage, "v1");
    tokio::time::sleep(Duration::from_secs(1)).await;
    (store, measurer)
}

async fn phase(store: &Arc<dyn Store>) -> String {
    let stored = store.get(&Key::new(Kind::Stage, "p", "dev")).await.unwrap().unwrap();
    stored
        .object
        .pointer("/status/freightHistory/0/verificationHistory/0/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

#[tokio::test(start_paused = true)]
async fn measurements_follow_the_metric_interval() {
    let (store, measurer) = started().await;
    assert_eq!(measurer.0.load(Ordering::SeqCst), 1, "the first measurement at once");
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(measurer.0.load(Ordering::SeqCst), 2, "the second after one interval");
    assert_eq!(phase(&store).await, "Running");
    tokio::time::sleep(Duration::from_secs(28)).await;
    assert_eq!(phase(&store).await, "Running", "59 s: the third measurement is not due");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(measurer.0.load(Ordering::SeqCst), 3);
    assert_eq!(phase(&store).await, "Successful", "61 s: three measurements, all met");
}

#[tokio::test(start_paused = true)]
async fn an_aborted_verification_stops_at_its_next_measurement() {
    let (store, measurer) = started().await;
    let key = Key::new(Kind::Stage, "p", "dev");
    let status = json!({"freightHistory": [{"id": "c1", "items": {}, "verificationHistory": [{"id": "v1", "phase": "Aborted"}]}]});
    store.put_status(key, status, None).await.unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(measurer.0.load(Ordering::SeqCst), 1, "no measurement after the abort");
    assert_eq!(phase(&store).await, "Aborted", "an aborted record stays aborted");
}
