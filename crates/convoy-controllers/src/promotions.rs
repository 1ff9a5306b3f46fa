//! The Promotion controller: one Promotion at a time per Stage, oldest first (names carry a
//! ULID, so name order is creation order), each run by the engine with its progress journaled
//! into the Promotion's status.
//!
//! ```text
//!  store change or timer ──▶ reconcile: per Stage, the Running Promotion, else the oldest Pending
//!                                 │ (one task per Stage at a time)
//!                                 ▼
//!                         engine run ──▶ journal: status.stepExecutionMetadata/state/currentStep
//!                                 │
//!                         Running (retry later) | Succeeded/Failed/Errored (finishedAt, work dir removed)
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use convoy_api::promotion::PromotionStatus;
use convoy_api::time::Timestamp;
use convoy_api::{Freight, Kind, Promotion, Resource, Stage, Warehouse};
use convoy_engine::{Clock, Journal, JournalError, Orchestrator, Outcome, Phase, Progress, PromotionContext, Registry};
use convoy_expr::context::StaticData;
use convoy_store::{CachedStore, Key, LabelSelector, Store, StoreExt, WatchEvent};
use serde_json::Value;

use crate::indexes;
use crate::runtime::{Action, Reconciler};
use crate::status::{load, promotion_phase, update_typed_status};

/// Environment variable that makes the server stop dead when a step of this alias starts
/// (crash tests only: builds with the `test-hooks` feature).
pub const CRASH_AT_STEP: &str = "CONVOY_TEST_CRASH_AT_STEP";

pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

pub struct PromotionController {
    pub store: Arc<dyn Store>,
    cache: Arc<CachedStore>,
    pub registry: Registry,
    pub work_root: PathBuf,
    shard: crate::shard::Shard,
    /// Stages whose running Promotion waits in an `argocd-*` step: an Application change
    /// wakes them.
    pub waiting_on_argocd: crate::argocd::Waiting,
    /// Running Promotions whose step asked to be called again later: not before then, unless
    /// their annotations change (a refresh, an abort).
    polls: Polls,
}

/// When each waiting Promotion's step may run again, and the annotations it was left with.
#[derive(Default)]
struct Polls(std::sync::Mutex<std::collections::HashMap<Key, (std::time::Instant, String)>>);

impl Polls {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Key, (std::time::Instant, String)>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long the Promotion still waits, when nothing it cares about changed.
    fn remaining(&self, key: &Key, annotations: &str) -> Option<Duration> {
        let polls = self.lock();
        let (due, seen) = polls.get(key)?;
        let left = due.checked_duration_since(std::time::Instant::now())?;
        (seen == annotations && !left.is_zero()).then_some(left)
    }

    fn set(&self, key: Key, after: Option<Duration>, annotations: String) {
        match after {
            Some(after) => self.lock().insert(key, (std::time::Instant::now() + after, annotations)),
            None => self.lock().remove(&key),
        };
    }
}

/// Stages whose Promotions may run at once (each Stage runs one at a time).
const CONCURRENT_STAGES: usize = 32;

impl PromotionController {
    pub fn new(cache: Arc<CachedStore>, registry: Registry, work_root: PathBuf) -> Arc<PromotionController> {
        PromotionController::for_shard(cache, registry, work_root, crate::shard::Shard::default())
    }

    /// A controller for the Promotions of one shard.
    pub fn for_shard(
        cache: Arc<CachedStore>,
        registry: Registry,
        work_root: PathBuf,
        shard: crate::shard::Shard,
    ) -> Arc<PromotionController> {
        Arc::new(PromotionController {
            store: cache.clone(),
            cache,
            registry,
            work_root,
            shard,
            waiting_on_argocd: crate::argocd::Waiting::default(),
            polls: Polls::default(),
        })
    }

    /// Runs until the process ends, woken by changes to Promotions and their Stages.
    pub async fn run(self: Arc<Self>) {
        self.run_with(None).await;
    }

    /// As [`run`](Self::run), also woken for the Stages sent on `outside`.
    pub async fn run_with(self: Arc<Self>, outside: Option<tokio::sync::mpsc::UnboundedReceiver<Key>>) {
        let cache = self.cache.clone();
        crate::runtime::run_with(self, cache, CONCURRENT_STAGES, outside).await;
    }

    /// The Stage's Running Promotion, else its oldest Pending one, run until it finishes or
    /// asks to be called later; the next one is queued by this one's final status write.
    async fn reconcile_stage(&self, project: &str, stage: &str) -> Result<Action, String> {
        let mut queue = Vec::new();
        let mut newest_finished: Option<String> = None;
        for stored in self.cache.by_index(Kind::Promotion, indexes::PROMOTION_STAGE, project, stage) {
            if !self.shard.handles(&stored.object) {
                continue;
            }
            match promotion_phase(&stored.object) {
                Some(Phase::Pending | Phase::Running) => queue.push(stored.object),
                _ => {
                    if newest_finished.as_ref().is_none_or(|n| stored.key.name > *n) {
                        newest_finished = Some(stored.key.name.clone());
                    }
                }
            }
        }
        // Names carry a ULID: name order is creation order (the index returns names sorted).
        let running = queue.iter().find(|p| promotion_phase(p) == Some(Phase::Running));
        let Some(next) = running.or(queue.first()).cloned() else { return Ok(Action::Done) };
        if running.is_none()
            && let Some(reason) = self.gate(project, stage, newest_finished.as_ref()).await?
        {
            // Kargo's gate: the previous Freight is recorded and verified first; say so. The
            // Stage's status change queues this Stage again.
            let key = Key::new(Kind::Promotion, project, name(&next));
            if next.pointer("/status/message").and_then(Value::as_str) != Some(reason.as_str()) {
                self.update_status(&key, |s| s.message = Some(reason.clone())).await?;
            }
            return Ok(Action::Done);
        }
        // A step that asked to be called later (a PR under review, a rate limit) is not called
        // sooner because the Stage or another object changed: only its poll interval, a refresh
        // or an abort (annotations), or an Application change (argocd steps) bring it back.
        let key = Key::new(Kind::Promotion, project, name(&next));
        let annotations = next.pointer("/metadata/annotations").map(Value::to_string).unwrap_or_default();
        let stage_key = Key::new(Kind::Stage, project, stage);
        if running.is_some()
            && !self.waiting_on_argocd.contains(&stage_key)
            && let Some(left) = self.polls.remaining(&key, &annotations)
        {
            return Ok(Action::RequeueAfter(left));
        }
        let delay = self.execute(project, name(&next)).await?;
        self.polls.set(key, delay, annotations);
        Ok(match delay {
            Some(delay) => Action::RequeueAfter(delay),
            None => Action::Done,
        })
    }

    /// Why the Stage's next Promotion must wait, if it must (`convoy_core::pipeline::promotion_gate`).
    async fn gate(
        &self,
        project: &str,
        stage: &str,
        newest_finished: Option<&String>,
    ) -> Result<Option<String>, String> {
        let Some(stage) = load::<Stage>(&*self.store, Kind::Stage, project, stage).await? else { return Ok(None) };
        let status = stage.status.unwrap_or_default();
        Ok(convoy_core::pipeline::promotion_gate(&status, newest_finished.map(String::as_str)))
    }

    /// Runs one Promotion until it finishes or a step asks to be called later.
    async fn execute(&self, project: &str, promotion_name: &str) -> Result<Option<Duration>, String> {
        let key = Key::new(Kind::Promotion, project, promotion_name);
        let stored = self.store.get(&key).await.map_err(|e| e.to_string())?.ok_or("the Promotion is gone")?;
        let Ok(Some(Resource::Promotion(mut promotion))) = Resource::decode(&stored.object) else {
            return Err("the stored Promotion does not decode".into());
        };
        if promotion.spec.steps.iter().any(|s| s.task.is_some()) {
            // Written without admission (an older server, a direct store write): expand now,
            // never run or reject a task reference.
            match self.expand(&promotion).await? {
                Ok(steps) => {
                    promotion.spec.steps = steps;
                    let mut object = stored.object.clone();
                    object["spec"]["steps"] = serde_json::to_value(&promotion.spec.steps).map_err(|e| e.to_string())?;
                    self.store.put(object, Some(stored.revision)).await.map_err(|e| e.to_string())?;
                }
                Err(message) => {
                    self.finish(&key, Phase::Errored, &message).await?;
                    return Ok(None);
                }
            }
        }
        let stage = load::<Stage>(&*self.store, Kind::Stage, project, &promotion.spec.stage).await?;
        let freight = load::<Freight>(&*self.store, Kind::Freight, project, &promotion.spec.freight).await?;
        let (Some(stage), Some(freight)) = (stage, freight) else {
            self.finish(&key, Phase::Errored, "the Stage or the Freight of this Promotion no longer exists").await?;
            return Ok(None);
        };
        let uid = promotion.metadata.uid.clone().unwrap_or_else(|| promotion_name.to_owned());
        let work_dir = self.work_root.join(&uid);
        let mut progress = progress_of(&stored.object);
        if !work_dir.exists() {
            // A fresh start, or the work dir was lost: local state is rebuilt by running the
            // steps again; edits then find nothing new and pushes find their commit landed.
            std::fs::create_dir_all(&work_dir).map_err(|e| e.to_string())?;
            progress = Progress { state: progress.state, ..Progress::default() };
        }
        self.mark_running(&key, &freight).await?;
        let data = expression_data(&*self.store, project, &stage, &freight).await?;
        let context = promotion_context(&promotion, &freight, work_dir.clone());
        let orchestrator = Orchestrator { registry: &self.registry, data: &data, clock: &WallClock };
        let mut journal = StatusJournal { store: self.store.clone(), key: key.clone() };
        let outcome = orchestrator.run(&context, &promotion.spec.steps, &mut progress, &mut journal).await;
        let in_argocd_step = matches!(outcome, Outcome::Running { .. })
            && promotion
                .spec
                .steps
                .get(progress.current_step)
                .is_some_and(|s| s.uses.as_deref().is_some_and(|u| u.starts_with("argocd-")));
        self.waiting_on_argocd.set(Key::new(Kind::Stage, project, &promotion.spec.stage), in_argocd_step);
        match outcome {
            Outcome::Running { retry_after, message } => {
                let message = message.unwrap_or_default();
                self.update_status(&key, |s| s.message = Some(message.clone())).await?;
                Ok(Some(retry_after.unwrap_or(Duration::from_secs(5)).max(Duration::from_millis(200))))
            }
            Outcome::Finished { phase } => {
                let message = progress
                    .step_execution_metadata
                    .iter()
                    .find(|m| {
                        !m.continue_on_error
                            && matches!(
                                m.status,
                                convoy_engine::StepStatus::Failed
                                    | convoy_engine::StepStatus::Errored
                                    | convoy_engine::StepStatus::Aborted
                            )
                    })
                    .and_then(|m| m.message.clone().map(|msg| format!("step {:?}: {msg}", m.alias)))
                    .unwrap_or_default();
                self.finish(&key, phase, &message).await?;
                // The next promotion of these repositories starts from these trees (made like
                // fresh clones first); a failed promotion's are thrown away.
                if phase == Phase::Succeeded {
                    convoy_git::return_trees(&work_dir);
                }
                let _ = std::fs::remove_dir_all(&work_dir);
                Ok(None)
            }
        }
    }

    /// The Promotion's steps with task references expanded, or why they cannot be.
    async fn expand(&self, promotion: &Promotion) -> Result<Result<Vec<convoy_api::PromotionStep>, String>, String> {
        let project = promotion.metadata.namespace();
        let projects = std::iter::once(project.to_owned()).collect();
        let view = crate::writes::load_view(&*self.store, &projects).await.map_err(|e| e.to_string())?;
        Ok(convoy_core::expand::expand_steps(project, &promotion.spec.steps, &promotion.spec.vars, &view).map_err(
            |errors| {
                let reasons: Vec<String> = errors.iter().map(|e| format!("steps[{}]: {e}", e.step_index)).collect();
                format!("cannot expand the Promotion's task references: {}", reasons.join("; "))
            },
        ))
    }

    async fn mark_running(&self, key: &Key, freight: &Freight) -> Result<(), String> {
        let reference = convoy_api::FreightReference {
            name: freight.metadata.name().to_owned(),
            origin: freight.origin.clone(),
            ..convoy_api::FreightReference::default()
        };
        self.update_status(key, |s| {
            if s.phase.as_deref() != Some(Phase::Running.as_str()) {
                s.phase = Some(Phase::Running.as_str().to_owned());
                s.started_at = Some(Timestamp::now().to_string());
            }
            s.freight = Some(reference.clone());
        })
        .await
    }

    async fn finish(&self, key: &Key, phase: Phase, message: &str) -> Result<(), String> {
        self.record_run(key, phase, message).await;
        self.update_status(key, |s| {
            s.phase = Some(phase.as_str().to_owned());
            s.finished_at = Some(Timestamp::now().to_string());
            s.message = Some(message.to_owned());
        })
        .await?;
        let phase_name = phase.as_str();
        let about = crate::events::Involved { kind: "Promotion", project: &key.project, name: &key.name };
        let text = if message.is_empty() { phase_name.to_owned() } else { format!("{phase_name}: {message}") };
        crate::events::record(&*self.store, about, &format!("Promotion{phase_name}"), &text, phase != Phase::Succeeded)
            .await;
        Ok(())
    }

    /// The audit trail's record of a run made on someone's behalf: the Promotion's creator (or
    /// auto-promotion), what it ended as. Written before the status, so that whoever waits for
    /// the status finds the record there too.
    async fn record_run(&self, key: &Key, phase: Phase, message: &str) {
        let stored = self.store.get(key).await.ok().flatten();
        let annotation = stored.as_ref().and_then(|s| {
            s.object
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(convoy_api::promotion::CREATE_ACTOR_ANNOTATION))
        });
        let actor = annotation.and_then(Value::as_str).filter(|a| !a.is_empty()).unwrap_or("convoy:auto-promotion");
        let stage = stored.as_ref().and_then(|s| s.object.pointer("/spec/stage")).and_then(Value::as_str).unwrap_or("");
        let summary = match message {
            "" => format!("{} into Stage {stage}", phase.as_str()),
            message => format!("{} into Stage {stage}: {message}", phase.as_str()),
        };
        let record = convoy_store::AuditRecord {
            id: 0,
            at: convoy_store::now_rfc3339(),
            actor: actor.to_owned(),
            groups: Vec::new(),
            verb: "run".into(),
            project: key.project.clone(),
            kind: "Promotion".into(),
            name: key.name.clone(),
            summary: summary.chars().take(2000).collect(),
            request_id: String::new(),
            source: String::new(),
            outcome: if phase == Phase::Succeeded { "allowed" } else { "failed" }.into(),
            status: 0,
        };
        if let Err(e) = self.store.append_audit(vec![record]).await {
            tracing::error!(promotion = %key, error = %e, "could not record the promotion's run in the audit trail");
        }
    }

    async fn update_status(&self, key: &Key, change: impl Fn(&mut PromotionStatus)) -> Result<(), String> {
        update_typed_status(&*self.store, key, change).await
    }
}

#[async_trait]
impl Reconciler for PromotionController {
    fn name(&self) -> &'static str {
        "promotions"
    }

    /// Keyed by Stage: a Promotion's change queues its Stage; a Stage's change may open its gate.
    fn keys_for(&self, event: &WatchEvent) -> Vec<Key> {
        let object = &event.object;
        let project = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
        match Key::of(object).map(|k| k.kind) {
            Ok(Kind::Promotion) if self.shard.handles(object) => {
                let stage = object.pointer("/spec/stage").and_then(Value::as_str).unwrap_or("");
                vec![Key::new(Kind::Stage, project, stage)]
            }
            Ok(Kind::Stage) => vec![Key::new(Kind::Stage, project, name(object))],
            _ => Vec::new(),
        }
    }

    fn all_keys(&self) -> Vec<Key> {
        let mut stages: Vec<Key> =
            self.cache.objects(Kind::Promotion, None).iter().flat_map(|s| self.keys_for_object(&s.object)).collect();
        stages.sort();
        stages.dedup();
        stages
    }

    async fn reconcile(&self, key: &Key) -> Result<Action, String> {
        self.reconcile_stage(&key.project, &key.name).await
    }
}

impl PromotionController {
    fn keys_for_object(&self, object: &Value) -> Vec<Key> {
        if !matches!(promotion_phase(object), Some(Phase::Pending | Phase::Running)) || !self.shard.handles(object) {
            return Vec::new();
        }
        let project = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
        let stage = object.pointer("/spec/stage").and_then(Value::as_str).unwrap_or("");
        vec![Key::new(Kind::Stage, project, stage)]
    }
}

/// What expressions may look up: the promoted Freight, the Stage's origins and their
/// Warehouses, ConfigMaps and Secrets of the project.
pub async fn expression_data(
    store: &dyn Store,
    project: &str,
    stage: &Stage,
    freight: &Freight,
) -> Result<StaticData, String> {
    let mut warehouses = Vec::new();
    for request in &stage.spec.requested_freight {
        if let Some(w) = load::<Warehouse>(store, Kind::Warehouse, project, &request.origin.name).await? {
            warehouses.push(w);
        }
    }
    // The collection being promoted: the Stage's current Freight for its other requested
    // origins, with this Freight for its own (Kargo's multi-origin Stages).
    let mut collection = vec![freight.reference()];
    if let Some(current) = stage.status.as_ref().and_then(|s| s.freight_history.first()) {
        let requested = |o: &convoy_api::FreightOrigin| stage.spec.requested_freight.iter().any(|r| &r.origin == o);
        collection
            .extend(current.items.values().filter(|f| f.origin != freight.origin && requested(&f.origin)).cloned());
    }
    let mut data = StaticData {
        project: project.to_owned(),
        origins: stage.spec.requested_freight.iter().map(|r| r.origin.clone()).collect(),
        warehouses,
        freight: collection,
        ..StaticData::default()
    };
    let everything = LabelSelector::everything();
    let list = |kind, namespace, selector| async move {
        store.list(kind, Some(namespace), selector).await.map(|(objects, _)| objects).map_err(|e| e.to_string())
    };
    for stored in list(Kind::ConfigMap, project, &everything).await? {
        data.config_maps.insert(stored.key.name.clone(), string_data(&stored.object, false));
    }
    for stored in list(Kind::Secret, project, &everything).await? {
        data.secrets.insert(stored.key.name.clone(), string_data(&stored.object, true));
    }
    let shared = convoy_api::SHARED_RESOURCES_PROJECT;
    for stored in list(Kind::ConfigMap, shared, &everything).await? {
        data.shared_config_maps.insert(stored.key.name.clone(), string_data(&stored.object, false));
    }
    // Kargo hands out only the shared Secrets meant for expressions.
    let generic = LabelSelector::parse("kargo.akuity.io/cred-type=generic").map_err(|e| e.to_string())?;
    for stored in list(Kind::Secret, shared, &generic).await? {
        data.shared_secrets.insert(stored.key.name.clone(), string_data(&stored.object, true));
    }
    // `freightMetadata()` and `stageMetadata()` may name any Freight or Stage of the project.
    for (kind, into) in [(Kind::Freight, &mut data.freight_metadata), (Kind::Stage, &mut data.stage_metadata)] {
        for stored in store.list(kind, Some(project), &everything).await.map_err(|e| e.to_string())?.0 {
            if let Some(Value::Object(metadata)) = stored.object.pointer("/status/metadata") {
                into.insert(stored.key.name.clone(), metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
            }
        }
    }
    Ok(data)
}

/// A ConfigMap's or Secret's `data` as strings (Secret values base64-decoded; values that are
/// not UTF-8 text are left out).
fn string_data(object: &Value, base64: bool) -> BTreeMap<String, String> {
    let Some(Value::Object(entries)) = object.get("data") else { return BTreeMap::new() };
    entries
        .iter()
        .filter_map(|(key, value)| {
            let text = value.as_str()?;
            let text = if base64 { String::from_utf8(crate::base64::decode(text)?).ok()? } else { text.to_owned() };
            Some((key.clone(), text))
        })
        .collect()
}

/// The `ctx` of a promotion's expressions.
pub fn promotion_context(promotion: &Promotion, freight: &Freight, work_dir: PathBuf) -> PromotionContext {
    PromotionContext {
        project: promotion.metadata.namespace().to_owned(),
        stage: promotion.spec.stage.clone(),
        promotion: promotion.metadata.name().to_owned(),
        freight: freight.metadata.name().to_owned(),
        freight_alias: freight.alias.clone().unwrap_or_default(),
        origin: freight.origin.name.clone(),
        actor: promotion
            .metadata
            .annotations
            .get(convoy_api::promotion::CREATE_ACTOR_ANNOTATION)
            .cloned()
            .unwrap_or_default(),
        work_dir,
        vars: promotion.spec.vars.clone(),
    }
}

fn name(object: &Value) -> &str {
    object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

/// The journaled progress in a stored Promotion's status (empty when it has none or it does not
/// read: the steps then run from the start, as after a lost work dir).
fn progress_of(object: &Value) -> Progress {
    let status: PromotionStatus =
        object.get("status").cloned().and_then(|s| serde_json::from_value(s).ok()).unwrap_or_default();
    Progress {
        current_step: status.current_step.and_then(|s| usize::try_from(s).ok()).unwrap_or(0),
        step_execution_metadata: serde_json::from_value(Value::Array(status.step_execution_metadata))
            .unwrap_or_default(),
        state: status.state.and_then(|s| s.as_object().cloned()).unwrap_or_default(),
        health_checks: status.health_checks,
    }
}

/// Writes progress into the Promotion's status before each next step.
struct StatusJournal {
    store: Arc<dyn Store>,
    key: Key,
}

#[async_trait]
impl Journal for StatusJournal {
    async fn record(&mut self, progress: &Progress) -> Result<(), JournalError> {
        let metas: Vec<Value> = progress
            .step_execution_metadata
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()
            .map_err(|e| JournalError(e.to_string()))?;
        let current_step = i64::try_from(progress.current_step).map_err(|e| JournalError(e.to_string()))?;
        update_typed_status(&*self.store, &self.key, |s: &mut PromotionStatus| {
            s.current_step = Some(current_step);
            s.step_execution_metadata = metas.clone();
            s.state = Some(Value::Object(progress.state.clone()));
            if !progress.health_checks.is_empty() {
                s.health_checks = progress.health_checks.clone();
            }
        })
        .await
        .map_err(JournalError)
    }

    /// Kargo's abort request: the `kargo.akuity.io/abort` annotation (any value; Kargo's is a
    /// JSON `{"action": "terminate", ...}`).
    async fn abort_requested(&mut self) -> Option<String> {
        let stored = self.store.get(&self.key).await.ok()??;
        let annotation = stored.object.pointer("/metadata/annotations/kargo.akuity.io~1abort")?.as_str()?.to_owned();
        let actor =
            serde_json::from_str::<Value>(&annotation).ok().and_then(|v| v["actor"].as_str().map(str::to_owned));
        Some(match actor {
            Some(actor) if !actor.is_empty() => format!("Promotion terminated by {actor}"),
            _ => "Promotion terminated per user request".to_owned(),
        })
    }

    async fn starting(&mut self, alias: &str) {
        if cfg!(feature = "test-hooks") && std::env::var(CRASH_AT_STEP).as_deref() == Ok(alias) {
            tracing::error!(step = alias, "{CRASH_AT_STEP} is set: stopping the process now");
            std::process::abort();
        }
    }
}

/// Starts the controller over a store, with the built-in steps sharing `mirrors`, and the Argo
/// CD steps on `argocd`'s cluster (woken for the Stages its receiver names) when there is one.
pub fn start(
    cache: Arc<CachedStore>,
    mirrors: Arc<convoy_git::Mirrors>,
    data_dir: &std::path::Path,
    shard: crate::shard::Shard,
    argocd: Option<(Arc<convoy_argocd::ArgoCd>, tokio::sync::mpsc::UnboundedReceiver<Key>)>,
) -> Arc<PromotionController> {
    let resources = Arc::new(crate::resources::StoreResources { store: cache.clone() });
    let mut registry = convoy_steps::builtin(mirrors, resources);
    // The server links its own binary there to render kustomizations' helmCharts.
    let helm = data_dir.join("bin").join("helm");
    if helm.exists() {
        convoy_steps::render_helm_charts_with(&mut registry, helm);
    }
    let (client, outside) = argocd.map_or((None, None), |(client, outside)| (Some(client), Some(outside)));
    convoy_argocd::register(&mut registry, client);
    let controller = PromotionController::for_shard(cache, registry, data_dir.join("work"), shard);
    tokio::spawn(controller.clone().run_with(outside));
    controller
}
