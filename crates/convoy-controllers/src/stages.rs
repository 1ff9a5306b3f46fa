//! The Stage controller (reference §5.4, §5.5): records finished Promotions in the Stage
//! (`lastPromotion`, `freightHistory`), keeps Freight `currentlyIn` / `verifiedIn` in step,
//! verifies control-flow Stages' Freight on arrival, and auto-promotes where a ProjectConfig
//! policy allows it. Decisions are `convoy_core::pipeline`'s pure functions.
//!
//! Verification through AnalysisTemplates runs natively (`verification.rs`); Freight is marked
//! verified when the current collection's latest verification is `Successful`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use convoy_api::time::Timestamp;
use convoy_api::{Freight, FreightCollection, FreightReference, Kind, ProjectConfig, Stage};
use convoy_core::availability::{auto_promotion_candidate, availability};
use convoy_core::pipeline::{self, PromotionView};
use convoy_engine::Phase;
use convoy_store::{CachedStore, Key, Store, WatchEvent};
use serde_json::{Value, json};

use crate::indexes;
use crate::runtime::{Action, Reconciler};
use crate::status::{promotion_finished, promotion_phase, update_status};
use crate::writes::{Mode, decode_values, plan};

pub const CONTROLLER_ACTOR: &str = "controller:convoy";

/// What a Stage's pass reads: its Promotions, the Freight it may touch, the project's policies.
struct StageData {
    /// Auto-promotion is on, or the Stage is control flow: the pass reads every Freight of its
    /// origins, so a change to any of them concerns it.
    watches_origins: bool,
    freight: Vec<Arc<Freight>>,
    promotions: Vec<Value>,
    config: Option<ProjectConfig>,
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
}

impl StageController {
    /// A controller for the Stages of `shard`.
    pub fn new(cache: Arc<CachedStore>, shard: crate::shard::Shard) -> Arc<StageController> {
        let store: Arc<dyn Store> = cache.clone();
        let verifier = crate::verification::Verifier::new(store.clone());
        Arc::new(StageController { store, cache, verifier, shard, watching: Default::default() })
    }

    fn lock_watching(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<Key>> {
        self.watching.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub async fn run(self: Arc<Self>) {
        let cache = self.cache.clone();
        crate::runtime::run(self, cache, CONCURRENT_STAGES).await;
    }

    /// The Freight a pass over `stage` may read or change: what its new Promotions promoted, its
    /// current collection, what says it is in the Stage, and (for auto-promotion and control
    /// flow) every Freight of its requested origins.
    fn stage_data(&self, stage: &Stage) -> StageData {
        let project = stage.metadata.namespace();
        let name = stage.metadata.name();
        let promotions: Vec<Value> = self
            .cache
            .by_index(Kind::Promotion, indexes::PROMOTION_STAGE, project, name)
            .into_iter()
            .map(|s| s.object)
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
            .filter(|p| promotion_finished(p) && name_of(p) > last.as_str())
            .map(|p| text(p, "/spec/freight"))
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

    async fn reconcile_stage(&self, stage: &Stage, data: &StageData) -> Result<Action, String> {
        let project = stage.metadata.namespace().to_owned();
        let name = stage.metadata.name().to_owned();
        let freight = &data.freight;
        let promotions = &data.promotions;
        let mut status = stage.status.clone().unwrap_or_default();
        let before = serde_json::to_value(&status).map_err(|e| e.to_string())?;
        let now = Timestamp::now();
        let requested: Vec<String> = stage.spec.requested_freight.iter().map(|r| r.origin.key()).collect();

        // 1. Newly finished Promotions, oldest first.
        let last = status.last_promotion.as_ref().map(|p| p.name.clone()).unwrap_or_default();
        let mut finished: Vec<&Value> =
            promotions.iter().filter(|p| promotion_finished(p) && name_of(p) > last.as_str()).collect();
        finished.sort_by(|a, b| name_of(a).cmp(name_of(b)));
        for promotion in finished {
            let phase = text(promotion, "/status/phase");
            let freight_name = text(promotion, "/spec/freight");
            status.last_promotion = Some(
                serde_json::from_value(json!({
                    "name": name_of(promotion),
                    "freight": {"name": freight_name, "origin": promotion.pointer("/status/freight/origin")},
                    "status": {"phase": phase, "message": promotion.pointer("/status/message")},
                    "finishedAt": promotion.pointer("/status/finishedAt"),
                }))
                .map_err(|e| e.to_string())?,
            );
            if promotion_phase(promotion) != Some(Phase::Aborted) {
                let annotations: BTreeMap<String, String> =
                    serde_json::from_value(promotion.pointer("/metadata/annotations").cloned().unwrap_or_default())
                        .unwrap_or_default();
                let hold = json!({
                    "freightName": freight_name,
                    "origin": promotion.pointer("/status/freight/origin"),
                    "promotionName": name_of(promotion),
                    "actor": annotations.get("kargo.akuity.io/create-actor"),
                    "createdAt": promotion.pointer("/metadata/creationTimestamp"),
                });
                pipeline::apply_intent(&mut status.auto_promotion_holds, &annotations, hold);
            }
            if promotion_phase(promotion) != Some(Phase::Succeeded) {
                continue;
            }
            let Some(promoted) = freight.iter().find(|f| f.metadata.name() == freight_name) else { continue };
            let mut collection = pipeline::next_collection(
                status.freight_history.first(),
                &requested,
                &promoted.origin.key(),
                promoted.reference(),
            );
            collection.verification_history = vec![self.verification(stage, now)];
            pipeline::push_history(&mut status.freight_history, collection);
        }

        // Reverify / abort requests name the verification they are about (Kargo's annotations).
        let annotation = |name: &str| stage.metadata.annotations.get(name).cloned();
        if let Some(token) = annotation(convoy_api::REFRESH_ANNOTATION) {
            status.last_handled_refresh = Some(token);
        }
        if let Some(current) = status.freight_history.first_mut()
            && let Some(latest) = current.verification_history.first().cloned()
        {
            let id = latest["id"].as_str().unwrap_or("").to_owned();
            let running = latest["phase"] == "Running";
            if running && annotation(convoy_api::ABORT_ANNOTATION).as_deref() == Some(id.as_str()) {
                let record = &mut current.verification_history[0];
                record["phase"] = json!("Aborted");
                record["message"] = json!("verification aborted by request");
                record["finishTime"] = json!(now.to_string());
            } else if !running && annotation(convoy_api::REVERIFY_ANNOTATION).as_deref() == Some(id.as_str()) {
                current.verification_history.insert(0, self.verification(stage, now));
                current.verification_history.truncate(10);
            }
        }

        // 2. Freight bookkeeping: currentlyIn follows the current collection; verifiedIn once verified.
        let current: Vec<String> = status
            .freight_history
            .first()
            .map(|c| c.items.values().map(|f| f.name.clone()).collect())
            .unwrap_or_default();
        let verified = status
            .freight_history
            .first()
            .and_then(|c| c.verification_history.first())
            .is_some_and(|v| v["phase"] == "Successful");
        let control_flow = stage.is_control_flow();
        for f in freight {
            let in_current = current.iter().any(|n| n == f.metadata.name());
            let was_in = f.status.currently_in.contains_key(&name);
            let verify = (in_current && verified) || (control_flow && availability(stage, f, now).is_ok());
            let needs_verified = verify && !f.status.verified_in.contains_key(&name);
            if in_current != was_in || needs_verified {
                let key = Key::new(Kind::Freight, &project, f.metadata.name());
                let stage_name = name.clone();
                let since = now.to_string();
                update_status(&*self.store, &key, |s| {
                    if !s["currentlyIn"].is_object() {
                        s["currentlyIn"] = json!({});
                    }
                    if in_current && !was_in {
                        s["currentlyIn"][&stage_name] = json!({"since": since});
                    } else if !in_current && let Some(map) = s["currentlyIn"].as_object_mut() {
                        map.remove(&stage_name);
                    }
                    if needs_verified {
                        if !s["verifiedIn"].is_object() {
                            s["verifiedIn"] = json!({});
                        }
                        s["verifiedIn"][&stage_name] = json!({"verifiedAt": since});
                    }
                })
                .await?;
            }
        }
        status.freight_summary = Some(summary(&status.freight_history, requested.len()));
        self.conditions(stage, &mut status, promotions, now);

        // 3. Auto-promotion.
        let enabled = !control_flow
            && data
                .config
                .as_ref()
                .is_some_and(|c| pipeline::auto_promotion_enabled(&c.spec.promotion_policies, stage));
        status.auto_promotion_enabled = Some(enabled);
        if !enabled {
            status.auto_promotion_holds.clear();
        }
        // Holds in effect: recorded ones, and those of Promotions not recorded yet.
        status.effective_auto_promotion_holds = status.auto_promotion_holds.clone();
        let recorded = status.last_promotion.as_ref().map(|p| p.name.clone()).unwrap_or_default();
        for promotion in promotions.iter().filter(|p| !promotion_finished(p) && name_of(p) > recorded.as_str()) {
            let annotations: BTreeMap<String, String> =
                serde_json::from_value(promotion.pointer("/metadata/annotations").cloned().unwrap_or_default())
                    .unwrap_or_default();
            let hold = json!({"freightName": text(promotion, "/spec/freight"), "promotionName": name_of(promotion)});
            pipeline::apply_intent(&mut status.effective_auto_promotion_holds, &annotations, hold);
        }
        let after = serde_json::to_value(&status).map_err(|e| e.to_string())?;
        if after != before {
            let key = Key::new(Kind::Stage, &project, &name);
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
        // A verification left Running (just started, or interrupted by a restart) is run.
        if let Some(record) = status.freight_history.first().and_then(|c| c.verification_history.first())
            && record["phase"] == "Running"
            && let Some(id) = record["id"].as_str()
        {
            self.verifier.ensure(stage, id);
        }
        if enabled {
            self.auto_promote(stage, &status, freight, promotions, now).await?;
        }
        // Freight soaking upstream becomes available at a known time: look again then.
        let soaking = if enabled || control_flow {
            let refs: Vec<&Freight> = freight.iter().map(|f| &**f).collect();
            convoy_core::availability::soonest_soak_end(stage, &refs, now)
        } else {
            None
        };
        Ok(soaking.map_or(Action::Done, |d| Action::RequeueAfter(d + Duration::from_secs(1))))
    }

    /// `Promoting`, `Verified` and `Ready` conditions, `currentPromotion`, and `health`
    /// (`NotApplicable`: Convoy runs no health checks without Argo CD steps).
    fn conditions(
        &self,
        stage: &Stage,
        status: &mut convoy_api::stage::StageStatus,
        promotions: &[Value],
        now: Timestamp,
    ) {
        let now = now.to_string();
        let running = promotions.iter().find(|p| promotion_phase(p) == Some(Phase::Running));
        status.current_promotion = running.and_then(|p| {
            serde_json::from_value(json!({"name": name_of(p), "freight": {"name": text(p, "/spec/freight"), "origin": p.pointer("/status/freight/origin")}})).ok()
        });
        match running {
            Some(p) => pipeline::set_condition(
                &mut status.conditions,
                "Promoting",
                "True",
                "Running",
                &format!("Promotion {} is running", name_of(p)),
                &now,
            ),
            None => pipeline::set_condition(
                &mut status.conditions,
                "Promoting",
                "False",
                "Idle",
                "no Promotion is running",
                &now,
            ),
        }
        let latest = status.freight_history.first().and_then(|c| c.verification_history.first()).cloned();
        let phase = latest.as_ref().and_then(|v| v["phase"].as_str()).unwrap_or("");
        let (verified, reason, message) = match (stage.is_control_flow(), phase) {
            (true, _) => ("True", "ControlFlow", "a control-flow Stage verifies Freight on arrival".to_owned()),
            (_, "Successful") => ("True", "Verified", "the current Freight is verified".to_owned()),
            (_, "Running" | "Pending") => ("Unknown", "Verifying", "verification is running".to_owned()),
            (_, "") => ("Unknown", "NoFreight", "no Freight has been promoted yet".to_owned()),
            (_, other) => (
                "False",
                other,
                latest
                    .as_ref()
                    .and_then(|v| v["message"].as_str())
                    .unwrap_or("verification did not succeed")
                    .to_owned(),
            ),
        };
        pipeline::set_condition(&mut status.conditions, "Verified", verified, reason, &message, &now);
        let ready = running.is_none() && verified == "True";
        let (reason, message) = if ready {
            ("Ready", "the Stage holds verified Freight and is idle")
        } else {
            ("NotReady", "promoting, verifying, or without verified Freight")
        };
        pipeline::set_condition(
            &mut status.conditions,
            "Ready",
            if ready { "True" } else { "False" },
            reason,
            message,
            &now,
        );
        status.health = (!status.freight_history.is_empty()).then(|| json!({"status": "NotApplicable"}));
    }

    /// Without `spec.verification` Freight is verified on arrival; otherwise a `Running` record
    /// that the verifier completes.
    fn verification(&self, stage: &Stage, now: Timestamp) -> Value {
        let id = uuid::Uuid::new_v4().to_string();
        match stage.spec.verification.as_ref() {
            None => {
                json!({"id": id, "actor": CONTROLLER_ACTOR, "phase": "Successful", "startTime": now.to_string(), "finishTime": now.to_string()})
            }
            Some(_) => json!({"id": id, "actor": CONTROLLER_ACTOR, "phase": "Running", "startTime": now.to_string()}),
        }
    }

    async fn auto_promote(
        &self,
        stage: &Stage,
        status: &convoy_api::stage::StageStatus,
        freight: &[Arc<Freight>],
        promotions: &[Value],
        now: Timestamp,
    ) -> Result<(), String> {
        let views: Vec<PromotionView> = promotions
            .iter()
            .map(|p| PromotionView {
                name: name_of(p).to_owned(),
                freight: text(p, "/spec/freight"),
                phase: text(p, "/status/phase"),
            })
            .map(|mut v| {
                if v.phase.is_empty() {
                    v.phase = "Pending".into();
                }
                v
            })
            .collect();
        let refs: Vec<&Freight> = freight.iter().map(|f| &**f).collect();
        let last = status.last_promotion.as_ref().map(|p| p.name.as_str());
        for request in &stage.spec.requested_freight {
            if status.effective_auto_promotion_holds.contains_key(&request.origin.key()) {
                continue;
            }
            let candidate =
                auto_promotion_candidate(stage, &request.origin, &refs, now).map(|f| f.metadata.name().to_owned());
            let current = status
                .freight_history
                .first()
                .and_then(|c| c.items.get(&request.origin.key()))
                .map(|f| f.name.as_str());
            let Ok(chosen) = pipeline::auto_promotion(candidate.as_deref(), current, last, &views) else { continue };
            let promotion = json!({
                "apiVersion": "kargo.akuity.io/v1alpha1",
                "kind": "Promotion",
                "metadata": {
                    "generateName": format!("{}-", stage.metadata.name()),
                    "namespace": stage.metadata.namespace(),
                    "annotations": {"kargo.akuity.io/create-actor": CONTROLLER_ACTOR},
                },
                "spec": {"stage": stage.metadata.name(), "freight": chosen},
            });
            let resources = decode_values(&[promotion], None).map_err(|e| e.to_string())?.resources;
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

fn name_of(object: &Value) -> &str {
    object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

fn text(object: &Value, pointer: &str) -> String {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// Kargo's `freightSummary`: the Freight name for a single request, else `<n>/<m> Fulfilled`.
fn summary(history: &[FreightCollection], requested: usize) -> String {
    let items: BTreeMap<&String, &FreightReference> =
        history.first().map(|c| c.items.iter().collect()).unwrap_or_default();
    match (requested, items.values().next()) {
        (1, Some(only)) => only.name.clone(),
        _ => format!("{}/{requested} Fulfilled", items.len()),
    }
}
