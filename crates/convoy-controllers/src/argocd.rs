//! Argo CD Applications changing in the cluster wake what depends on them (Kargo's watches,
//! reference `argocd.md` §2.9, §4.5): the Stages whose Promotions wait in an `argocd-*` step,
//! and the Stages an Application names in its `authorized-stage` annotation (their health).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use convoy_api::Kind;
use convoy_argocd::application::App;
use convoy_argocd::authorize::{AUTHORIZED_STAGE_ANNOTATION, authorized_stages};
use convoy_argocd::{AppChange, ArgoCd};
use convoy_store::Key;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

/// The Stages (promotion controller keys) whose running Promotion is in an `argocd-*` step.
#[derive(Default, Clone)]
pub struct Waiting(Arc<Mutex<HashSet<Key>>>);

impl Waiting {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Key>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn set(&self, stage: Key, waiting: bool) {
        if waiting {
            self.lock().insert(stage);
        } else {
            self.lock().remove(&stage);
        }
    }

    pub fn contains(&self, stage: &Key) -> bool {
        self.lock().contains(stage)
    }

    fn all(&self) -> Vec<Key> {
        self.lock().iter().cloned().collect()
    }
}

/// Whether a change can matter to a waiting step or to health: created or deleted; the
/// operation finished; health, sync status or synced revisions changed; a refresh after the
/// last operation; labels changed (selectors).
fn matters(change: &AppChange) -> bool {
    let (Some(old), Some(new)) = (&change.old, &change.new) else { return true };
    let (before, after) = (App(old), App(new));
    let completed = |a: App<'_>| convoy_argocd::application::is_completed(a.operation_phase());
    let refreshed = before.reconciled_at() != after.reconciled_at()
        && (before.reconciled_at().is_empty() || before.reconciled_at() < after.finished_at());
    (completed(after) && !completed(before))
        || before.operation_phase() != after.operation_phase()
        || before.health() != after.health()
        || before.sync_status() != after.sync_status()
        || before.synced_revisions() != after.synced_revisions()
        || refreshed
        || before.labels() != after.labels()
}

/// The Stages an Application authorises (whose health reads it).
fn authorised_stages(app: &Value) -> Vec<Key> {
    let value = App(app).annotation(AUTHORIZED_STAGE_ANNOTATION).unwrap_or("");
    authorized_stages(value)
        .unwrap_or_default()
        .into_iter()
        .map(|(project, stage)| Key::new(Kind::Stage, &project, &stage))
        .collect()
}

/// Follows the cluster's Applications until the process ends.
pub fn follow(argocd: &ArgoCd, waiting: Waiting, promotions: UnboundedSender<Key>, stages: UnboundedSender<Key>) {
    let mut changes = argocd.watch();
    tokio::spawn(async move {
        while let Some(change) = changes.recv().await {
            if !matters(&change) {
                continue;
            }
            for stage in waiting.all() {
                let _ = promotions.send(stage);
            }
            let named = change.new.iter().chain(change.old.iter()).flat_map(authorised_stages);
            for stage in named.collect::<HashSet<_>>() {
                let _ = stages.send(stage);
            }
        }
    });
}
