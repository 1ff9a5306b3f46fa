//! Running the controllers on the replica that holds its shard's lease.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use convoy_store::{CachedStore, Store};

use crate::{gc, promotions, shard, stages, warehouses};

/// Runs the controllers of `shard` while this replica holds the shard's lease: at once on
/// SQLite; on PostgreSQL one replica per shard at a time while the others wait to take over. Losing the
/// lease ends the process, so that two replicas never run promotions at once.
pub async fn lead(
    cache: Arc<CachedStore>,
    mirrors: Arc<convoy_git::Mirrors>,
    data_dir: PathBuf,
    collection: gc::Settings,
    shard: shard::Shard,
    leading: Arc<AtomicBool>,
    argocd: Option<Arc<convoy_argocd::ArgoCd>>,
) {
    let store: Arc<dyn Store> = cache.clone();
    let lease_name = shard.lease();
    let mut lease = loop {
        let lead = store.lead(&lease_name);
        tokio::pin!(lead);
        let outcome = tokio::select! {
            outcome = &mut lead => outcome,
            () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {
                tracing::info!("another replica runs the controllers; this one serves the API and takes over when that one stops");
                lead.await
            }
        };
        match outcome {
            Ok(lease) => break lease,
            Err(e) => {
                tracing::warn!(error = %e, "cannot ask for the controllers' lease; retrying in 5 s");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
        }
    };
    leading.store(true, Ordering::SeqCst);
    tracing::info!(
        shard = shard.name().unwrap_or("(default)"),
        "this replica runs the controllers (Warehouses, Stages, Promotions)"
    );
    // Application changes in the cluster wake the Promotions waiting on them and the Stages
    // whose health reads them.
    let (to_promotions, from_cluster_p) = tokio::sync::mpsc::unbounded_channel();
    let (to_stages, from_cluster_s) = tokio::sync::mpsc::unbounded_channel();
    let promotions = promotions::start(
        cache.clone(),
        mirrors.clone(),
        &data_dir,
        shard.clone(),
        argocd.clone().map(|a| (a, from_cluster_p)),
    );
    if let Some(argocd) = &argocd {
        crate::argocd::follow(argocd, promotions.waiting_on_argocd.clone(), to_promotions, to_stages);
    }
    if shard.is_default() {
        tokio::spawn(gc::run(store.clone(), collection));
        // Receiver paths belong to projects, not to a shard: the default shard publishes them.
        tokio::spawn(warehouses::ReceiverPublisher::new(cache.clone()).run());
    }
    let stage_controller = stages::StageController::with_argocd(cache.clone(), shard.clone(), argocd.clone());
    tokio::spawn(stage_controller.run_with(argocd.is_some().then_some(from_cluster_s)));
    tokio::spawn(warehouses::WarehouseController::new(cache, mirrors, shard).run());
    let reason = lease.lost().await;
    tracing::error!(%reason, "lost the controllers' lease; exiting so that no two replicas promote at once");
    std::process::exit(1);
}
