//! The Stage controller (reference §5.4, §5.5): records finished Promotions in the Stage
//! (`lastPromotion`, `freightHistory`), keeps Freight `currentlyIn` / `verifiedIn` in step,
//! verifies control-flow Stages' Freight on arrival, and auto-promotes where a ProjectConfig
//! policy allows it. Decisions are `convoy_core::pipeline`'s pure functions.
//!
//! Verification through AnalysisTemplates runs natively (`verification.rs`); Freight is marked
//! verified when the current collection's latest verification is `Successful` and the Stage is
//! healthy (the last Promotion's Argo CD health checks, run on every pass).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use convoy_api::freight::{CurrentStage, FreightStatus};
use convoy_api::promotion::Phase;
use convoy_api::time::Timestamp;
use convoy_api::{Freight, Kind, ProjectConfig, Promotion, Stage};
use convoy_core::pipeline;
use convoy_core::stage_pass::{self, AssessedHealth, StagePass};
use convoy_store::{CachedStore, Key, Store, WatchEvent};
use serde_json::Value;

use crate::indexes;
use crate::runtime::{Action, Reconciler};
use crate::status::{set_annotation, update_status, update_typed_status};
use crate::writes::{Mode, plan};

use convoy_core::stage_pass::CONTROLLER_ACTOR;

/// What a Stage's pass reads: its Promotions, the Freight it may touch, the project's policies.
struct StageData {
    /// Auto-promotion is on, or the Stage is control flow: the pass reads every Freight of its
    /// origins, so a change to any of them concerns it.
    watches_origins: bool,
    freight: Vec<Arc<Freight>>,
    promotions: Vec<Promotion>,
    config: Option<ProjectConfig>,
}

/// The Stage annotation naming the Argo CD Applications of its last successful Promotion.
pub const ARGOCD_CONTEXT_ANNOTATION: &str = "kargo.akuity.io/argocd-context";

/// The health checks of the newest finished Promotion, when it succeeded.
fn last_success_checks(promotions: &[Promotion]) -> Option<&[Value]> {
    let last = promotions.iter().filter(|p| p.is_finished()).max_by(|a, b| a.metadata.name().cmp(b.metadata.name()))?;
    (last.phase() == Some(Phase::Succeeded)).then(|| last.status.as_ref().map(|s| s.health_checks.as_slice())).flatten()
}

/// Stages reconciled at once.
const CONCURRENT_STAGES: usize = 8;

pub struct StageController {
    store: Arc<dyn Store>,
    cache: Arc<CachedStore>,
    verifier: Arc<crate::verification::Verifier>,
    shard: crate::shard::Shard,
    /// The Stages whose passes read every Freight of their origins (see `StageData`), as their
    /// last pass found: a Freight change queues these, not every Stage requesting its origin.
    watching: std::sync::Mutex<std::collections::HashSet<Key>>,
    /// The cluster whose Argo CD Applications the health checks read.
    argocd: Option<Arc<convoy_argocd::ArgoCd>>,
}

/// How often health checks run again when no Application change comes first: Kargo's 5
/// minutes once healthy; sooner while the Stage is on its way there.
const HEALTHY_RECHECK: Duration = Duration::from_secs(300);
const UNSETTLED_RECHECK: Duration = Duration::from_secs(10);

impl StageController {
    /// A controller for the Stages of `shard`.
    pub fn new(cache: Arc<CachedStore>, shard: crate::shard::Shard) -> Arc<StageController> {
        StageController::with_argocd(cache, shard, None)
    }

    /// A controller whose health checks read Applications on `argocd`'s cluster.
    pub fn with_argocd(
        cache: Arc<CachedStore>,
        shard: crate::shard::Shard,
        argocd: Option<Arc<convoy_argocd::ArgoCd>>,
    ) -> Arc<StageController> {
        let store: Arc<dyn Store> = cache.clone();
        let verifier = crate::verification::Verifier::new(store.clone());
        Arc::new(StageController { store, cache, verifier, shard, watching: Default::default(), argocd })
    }

    fn lock_watching(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<Key>> {
        self.watching.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub async fn run(self: Arc<Self>) {
        self.run_with(None).await;
    }

    /// As [`run`](Self::run), also woken for the Stages sent on `outside`.
    pub async fn run_with(self: Arc<Self>, outside: Option<tokio::sync::mpsc::UnboundedReceiver<Key>>) {
        let cache = self.cache.clone();
        crate::runtime::run_with(self, cache, CONCURRENT_STAGES, outside).await;
    }

    /// Runs the health checks of the Promotion that will be the Stage's last after this pass,
    /// when it succeeded and nothing runs (otherwise the pass knows health is unknown).
    async fn health(&self, promotions: &[Promotion]) -> Option<AssessedHealth> {
        if promotions.iter().any(|p| p.phase() == Some(Phase::Running)) {
            return None;
        }
        let checks = last_success_checks(promotions).filter(|c| !c.is_empty())?;
        let health = convoy_argocd::health::assess(self.argocd.as_deref(), checks).await;
        let (word, reason, message) = health.condition();
        Some(AssessedHealth {
            status: health.status(),
            healthy: health.state == convoy_argocd::health::State::Healthy,
            condition: (word.to_owned(), reason.to_owned(), message),
        })
    }

    /// The Freight a pass over `stage` may read or change: what its new Promotions promoted, its
    /// current collection, what says it is in the Stage, and (for auto-promotion and control
    /// flow) every Freight of its requested origins.
    fn stage_data(&self, stage: &Stage) -> StageData {
        let project = stage.metadata.namespace();
        let name = stage.metadata.name();
        let promotions: Vec<Promotion> = self
            .cache
            .by_index(Kind::Promotion, indexes::PROMOTION_STAGE, project, name)
            .into_iter()
            .filter_map(|s| serde_json::from_value(s.object).ok())
            .collect();
        let config = self
            .cache
            .get_now(&Key::new(Kind::ProjectConfig, project, project))
            .and_then(|s| serde_json::from_value::<ProjectConfig>(s.object).ok());
        let status = stage.status.clone().unwrap_or_default();
        let last = status.last_promotion.as_ref().map(|p| p.name.clone()).unwrap_or_default();
        let mut freight: BTreeMap<String, Arc<Freight>> = BTreeMap::new();
        // Decoded from the view's text per pass, not kept: a project's Freight decoded would
        // be most of the server's memory.
        let mut take = |key: &Key, _revision: i64, json: &str| {
            if !freight.contains_key(&key.name)
                && let Ok(decoded) = serde_json::from_str::<Freight>(json)
            {
                freight.insert(key.name.clone(), Arc::new(decoded));
            }
        };
        let mut names: Vec<String> = promotions
            .iter()
            .filter(|p| p.is_finished() && p.metadata.name() > last.as_str())
            .map(|p| p.spec.freight.clone())
            .collect();
        names.extend(
            status.freight_history.first().map(|c| c.items.values()).into_iter().flatten().map(|r| r.name.clone()),
        );
        for name in names {
            self.cache.with_json(&Key::new(Kind::Freight, project, &name), &mut take);
        }
        self.cache.for_each_in_index(Kind::Freight, indexes::FREIGHT_IN, project, name, &mut take);
        let auto = config.as_ref().is_some_and(|c| pipeline::auto_promotion_enabled(&c.spec.promotion_policies, stage));
        let watches_origins = auto || stage.is_control_flow();
        if watches_origins {
            for request in &stage.spec.requested_freight {
                let origin = request.origin.key();
                self.cache.for_each_in_index(Kind::Freight, indexes::FREIGHT_ORIGIN, project, &origin, &mut take);
            }
        }
        StageData { watches_origins, freight: freight.into_values().collect(), promotions, config }
    }

    /// The promotion windows of the project's and the cluster's config that select `stage`.
    fn windows_of(&self, stage: &Stage, config: Option<&ProjectConfig>) -> Vec<convoy_core::windows::Window> {
        let project = stage.metadata.namespace();
        let cluster = self
            .cache
            .get_now(&Key::new(Kind::ClusterConfig, "", "cluster"))
            .and_then(|s| serde_json::from_value::<convoy_api::ClusterConfig>(s.object).ok());
        let project_object = self
            .cache
            .get_now(&Key::new(Kind::Project, "", project))
            .and_then(|s| serde_json::from_value::<convoy_api::Project>(s.object).ok());
        convoy_core::windows::for_stage(config, cluster.as_ref(), project_object.as_ref(), stage)
    }

    /// One pass: `convoy_core::stage_pass::plan` decides, this writes what it decided.
    async fn reconcile_stage(&self, stage: &Stage, data: &StageData) -> Result<Action, String> {
        let project = stage.metadata.namespace();
        let name = stage.metadata.name();
        let freight: Vec<&Freight> = data.freight.iter().map(|f| &**f).collect();
        let health = self.health(&data.promotions).await;
        let recheck = health.as_ref().map(|h| if h.healthy { HEALTHY_RECHECK } else { UNSETTLED_RECHECK });
        let now = Timestamp::now();
        let windows = self.windows_of(stage, data.config.as_ref());
        let pass = StagePass {
            stage,
            freight: &freight,
            promotions: &data.promotions,
            policy_allows_auto_promotion: data
                .config
                .as_ref()
                .is_some_and(|c| pipeline::auto_promotion_enabled(&c.spec.promotion_policies, stage)),
            health,
            windows: (!windows.is_empty()).then(|| convoy_core::windows::state(&windows, now)),
            now,
        };
        let plan = stage_pass::plan(&pass, &mut || uuid::Uuid::new_v4().to_string());
        let since = pass.now.to_string();
        for change in &plan.freight {
            let key = Key::new(Kind::Freight, project, &change.name);
            update_typed_status(&*self.store, &key, |s: &mut FreightStatus| {
                match change.currently_in {
                    Some(true) => {
                        s.currently_in.insert(name.to_owned(), CurrentStage { since: Some(since.clone()) });
                    }
                    Some(false) => {
                        s.currently_in.remove(name);
                    }
                    None => {}
                }
                if change.verified {
                    s.verified_in.entry(name.to_owned()).or_default().verified_at = Some(since.clone());
                }
                if let (Some(soak), Some(verified)) = (change.longest_soak, s.verified_in.get_mut(name)) {
                    verified.longest_soak = Some(convoy_core::duration::format(soak));
                }
            })
            .await?;
        }
        let before = serde_json::to_value(stage.status.clone().unwrap_or_default()).map_err(|e| e.to_string())?;
        let after = serde_json::to_value(&plan.status).map_err(|e| e.to_string())?;
        if after != before {
            let key = Key::new(Kind::Stage, project, name);
            update_status(&*self.store, &key, |s| {
                if let (Value::Object(target), Value::Object(source)) = (s, &after) {
                    // Fields that became empty are left out when serialized: drop them too.
                    if let Value::Object(old) = &before {
                        for gone in old.keys().filter(|k| !source.contains_key(*k)) {
                            target.remove(gone);
                        }
                    }
                    for (k, v) in source {
                        target.insert(k.clone(), v.clone());
                    }
                }
            })
            .await?;
        }
        // Kargo's deep link for UIs: the Applications the last successful Promotion synced.
        if let Some(checks) = last_success_checks(&data.promotions) {
            let apps = convoy_argocd::health::context(checks);
            let value = (!apps.is_empty()).then(|| Value::Array(apps).to_string());
            // Written only when it changes: most passes find it as it should be.
            if stage.metadata.annotations.get(ARGOCD_CONTEXT_ANNOTATION) != value.as_ref() {
                let key = Key::new(Kind::Stage, project, name);
                set_annotation(&*self.store, &key, ARGOCD_CONTEXT_ANNOTATION, value.as_deref()).await?;
            }
        }
        // A verification left Running (just started, or interrupted by a restart) is run.
        if let Some(id) = &plan.verify {
            self.verifier.ensure(stage, id);
        }
        for chosen in &plan.promote {
            self.auto_promote(stage, chosen).await?;
        }
        let requeue = match (plan.requeue_after, recheck) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(requeue.map_or(Action::Done, Action::RequeueAfter))
    }

    /// Creates the Promotion of `chosen` into `stage`, through admission as any Promotion.
    async fn auto_promote(&self, stage: &Stage, chosen: &str) -> Result<(), String> {
        let promotion = Promotion::request(stage.metadata.namespace(), stage.metadata.name(), chosen, CONTROLLER_ACTOR);
        let resources = vec![convoy_api::Resource::Promotion(promotion)];
        match plan(&*self.store, resources, Mode::Create).await {
            Ok(mut outcomes) => {
                let outcome = outcomes.remove(0);
                if let Some(write) = outcome.write {
                    self.store.apply(vec![write]).await.map_err(|e| e.to_string())?;
                    tracing::info!(stage = %stage.metadata.name(), freight = %chosen, "auto-promotion created a Promotion");
                    let about = crate::events::Involved {
                        kind: "Promotion",
                        project: stage.metadata.namespace(),
                        name: &outcome.name,
                    };
                    let message = format!(
                        "Promotion created for Stage {:?} with Freight {chosen:?} by {CONTROLLER_ACTOR}",
                        stage.metadata.name()
                    );
                    crate::events::record(&*self.store, about, "PromotionCreated", &message, false).await;
                }
            }
            Err(e) => {
                tracing::info!(stage = %stage.metadata.name(), freight = %chosen, error = %e, "auto-promotion refused by admission")
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Reconciler for StageController {
    fn name(&self) -> &'static str {
        "stages"
    }

    /// A Stage's change queues it and its downstream Stages; a Promotion's, its Stage; a
    /// Freight's, the Stages it is in and those requesting its origin that read all of its
    /// origin's Freight (auto-promotion, control flow); a ProjectConfig's (the auto-promotion
    /// policies), every Stage of the project.
    fn keys_for(&self, event: &WatchEvent) -> Vec<Key> {
        let object = &event.object;
        let Ok(key) = Key::of(object) else { return Vec::new() };
        if key.kind == Kind::Stage && event.event_type == convoy_store::EventType::Deleted {
            self.lock_watching().remove(&key);
        }
        let stage = |name: &str| Key::new(Kind::Stage, &key.project, name);
        match key.kind {
            Kind::Stage => std::iter::once(stage(&key.name))
                .chain(
                    self.cache
                        .names_by_index(indexes::STAGE_UPSTREAM, &key.project, &key.name)
                        .iter()
                        .map(|n| stage(n)),
                )
                .collect(),
            Kind::Promotion => vec![stage(&text(object, "/spec/stage"))],
            Kind::Freight => {
                let origin = object.get("origin").and_then(indexes::origin_key).unwrap_or_default();
                let watching = self.lock_watching();
                let mut keys: Vec<Key> = self
                    .cache
                    .names_by_index(indexes::STAGE_ORIGIN, &key.project, &origin)
                    .iter()
                    .map(|n| stage(n))
                    .filter(|k| watching.contains(k))
                    .collect();
                if let Some(Value::Object(stages)) = object.pointer("/status/currentlyIn") {
                    keys.extend(stages.keys().map(|n| stage(n)));
                }
                keys
            }
            Kind::ProjectConfig => self.cache.keys(Kind::Stage, Some(&key.project)),
            // Its promotion windows may select any Stage.
            Kind::ClusterConfig => self.cache.keys(Kind::Stage, None),
            _ => Vec::new(),
        }
    }

    fn all_keys(&self) -> Vec<Key> {
        self.cache.keys(Kind::Stage, None)
    }

    async fn reconcile(&self, key: &Key) -> Result<Action, String> {
        let Some(stored) = self.cache.get_now(key) else {
            self.lock_watching().remove(key);
            return Ok(Action::Done);
        };
        if !self.shard.handles(&stored.object) {
            return Ok(Action::Done);
        }
        let stage = serde_json::from_value::<Stage>(stored.object)
            .map_err(|e| format!("the stored Stage does not decode: {e}"))?;
        let data = self.stage_data(&stage);
        if data.watches_origins {
            self.lock_watching().insert(key.clone());
        } else {
            self.lock_watching().remove(key);
        }
        self.reconcile_stage(&stage, &data).await
    }
}

fn text(object: &Value, pointer: &str) -> String {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_owned()
}
