//! The Warehouse controller (reference §6): discovers when a Warehouse is new, its spec changed,
//! a refresh was requested (`kargo.akuity.io/refresh`), or its interval passed; records
//! `status.discoveredArtifacts`; creates Freight from the newest artifacts (Automatic policy).
//!
//! ```text
//!  Warehouse change / its timer ──▶ due? (never, generation, refresh token, interval)
//!        │ one reconcile per Warehouse, at most DISCOVERIES at once; not due: a timer for when it is
//!        ▼
//!  convoy_discovery::discover ──▶ status (discoveredArtifacts, conditions, lastHandledRefresh)
//!        │ Automatic policy
//!        ▼
//!  freight::candidate ──▶ admission (content-hash name, alias) ──▶ Freight created / already there
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use convoy_api::time::Timestamp;
use convoy_api::{Kind, Resource, Warehouse};
use convoy_discovery::{CredentialSource, DiscoveryError};
use convoy_git::{Credentials, Mirrors};
use convoy_store::{CachedStore, Key, Store, StoreError, WatchEvent};
use serde_json::{Value, json};

use crate::resources::credentials_of_kind;
use crate::runtime::{Action, Reconciler};
use crate::status::update_typed_status;
use crate::writes::{Mode, decode_values, plan};
use convoy_api::warehouse::{DiscoveredArtifacts, WarehouseStatus};
use convoy_core::pipeline::set_condition;

/// Discovery runs per Warehouse and result (`ok`, `error`).
pub static DISCOVERY_RUNS: convoy_telemetry::Counter<3> = convoy_telemetry::Counter::new(
    "convoy_discovery_runs_total",
    "Discovery runs, by project, Warehouse and result.",
    ["project", "warehouse", "result"],
);
pub static DISCOVERY_DURATION: convoy_telemetry::Histogram<2> = convoy_telemetry::Histogram::new(
    "convoy_discovery_duration_seconds",
    "How long one discovery of a Warehouse's subscriptions took.",
    ["project", "warehouse"],
    convoy_telemetry::LATENCY_BUCKETS,
);

/// Discoveries at once (each may clone or fetch).
const DISCOVERIES: usize = 8;
/// After a failure, try again this soon (or at the interval, if shorter).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

pub struct WarehouseController {
    store: Arc<dyn Store>,
    cache: Arc<CachedStore>,
    sources: convoy_discovery::Sources,
    /// Not before this instant (after a failure), per Warehouse.
    backoff: Mutex<HashMap<Key, Instant>>,
    shard: crate::shard::Shard,
}

impl WarehouseController {
    /// A controller for the Warehouses of `shard`.
    pub fn new(cache: Arc<CachedStore>, mirrors: Arc<Mirrors>, shard: crate::shard::Shard) -> Arc<WarehouseController> {
        Arc::new(WarehouseController {
            store: cache.clone(),
            cache,
            sources: convoy_discovery::Sources::new(mirrors),
            backoff: Mutex::default(),
            shard,
        })
    }

    pub async fn run(self: Arc<Self>) {
        let cache = self.cache.clone();
        crate::runtime::run(self, cache, DISCOVERIES).await;
    }

    fn lock_backoff(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Instant>> {
        self.backoff.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Discovers for one Warehouse and records the outcome in its status.
    async fn discover(&self, key: &Key) -> Result<(), String> {
        let Some(stored) = self.store.get(key).await.map_err(|e| e.to_string())? else { return Ok(()) };
        let Ok(Some(Resource::Warehouse(warehouse))) = Resource::decode(&stored.object) else {
            return Err("the stored Warehouse does not decode".into());
        };
        let token = refresh_token(&stored.object);
        let generation = stored.object.pointer("/metadata/generation").and_then(Value::as_i64);
        let credentials = ProjectCredentials { store: self.store.clone(), project: key.project.clone() };
        let recheck = token.is_some() && token != handled_refresh(&stored.object);
        let started = std::time::Instant::now();
        let result = convoy_discovery::discover(&self.sources, &warehouse, &credentials, recheck).await;
        let labels = [key.project.as_str(), key.name.as_str()];
        DISCOVERY_DURATION.observe(labels, started.elapsed());
        DISCOVERY_RUNS.inc([labels[0], labels[1], if result.is_ok() { "ok" } else { "error" }]);
        let now = Timestamp::now().to_string();
        match result {
            Err(e) => {
                let retry = interval(&stored.object).min(RETRY_AFTER_FAILURE);
                self.lock_backoff().insert(key.clone(), Instant::now() + retry);
                tracing::warn!(warehouse = %key, error = %e, "discovery failed");
                update_typed_status(&*self.store, key, |status: &mut WarehouseStatus| {
                    status.observed_generation = generation;
                    if let Some(t) = &token {
                        status.last_handled_refresh = Some(t.clone());
                    }
                    set_condition(&mut status.conditions, "Ready", "False", "DiscoveryFailed", &e.message, &now);
                })
                .await
            }
            Ok(mut discovered) => {
                self.lock_backoff().remove(key);
                discovered["discoveredAt"] = json!(now);
                let freight = self.create_freight(&warehouse, &discovered).await;
                let artifacts: DiscoveredArtifacts =
                    serde_json::from_value(discovered).map_err(|e| format!("discovered artifacts do not read: {e}"))?;
                update_typed_status(&*self.store, key, |status: &mut WarehouseStatus| {
                    status.discovered_artifacts = Some(artifacts.clone());
                    status.observed_generation = generation;
                    if let Some(t) = &token {
                        status.last_handled_refresh = Some(t.clone());
                    }
                    let conditions = &mut status.conditions;
                    set_condition(conditions, "Ready", "True", "Discovered", "artifacts discovered", &now);
                    match &freight {
                        Ok(FreightOutcome::Created(name)) => {
                            status.last_freight_id = Some(name.clone());
                            let message = format!("created Freight {name}");
                            set_condition(
                                &mut status.conditions,
                                "FreightCreated",
                                "True",
                                "NewFreight",
                                &message,
                                &now,
                            );
                        }
                        Ok(FreightOutcome::Exists(name)) => {
                            status.last_freight_id = Some(name.clone());
                            let message = format!("Freight {name} already exists");
                            set_condition(
                                &mut status.conditions,
                                "FreightCreated",
                                "False",
                                "AlreadyExists",
                                &message,
                                &now,
                            );
                        }
                        Ok(FreightOutcome::NotWanted(reason)) => {
                            set_condition(
                                &mut status.conditions,
                                "FreightCreated",
                                "False",
                                "NotCreated",
                                reason,
                                &now,
                            );
                        }
                        Err(e) => {
                            set_condition(&mut status.conditions, "FreightCreated", "False", "CreationFailed", e, &now)
                        }
                    }
                })
                .await
            }
        }
    }

    async fn create_freight(&self, warehouse: &Warehouse, discovered: &Value) -> Result<FreightOutcome, String> {
        if warehouse.spec.freight_creation_policy.as_deref() == Some("Manual") {
            return Ok(FreightOutcome::NotWanted("freightCreationPolicy is Manual".into()));
        }
        let candidate = match convoy_discovery::freight::candidate(warehouse, discovered) {
            Ok(Some(candidate)) => candidate,
            Ok(None) => return Ok(FreightOutcome::NotWanted("freightCreationCriteria did not hold".into())),
            Err(DiscoveryError { message, .. }) => return Err(message),
        };
        let resources = decode_values(&[candidate], None).map_err(|e| e.to_string())?.resources;
        // Freight is named by its content: the same artifacts are the same Freight, whose
        // alias and status must not be touched.
        if let Some(Resource::Freight(f)) = resources.first() {
            let name = convoy_core::freight_id::freight_id(f);
            let key = Key::new(Kind::Freight, warehouse.metadata.namespace(), &name);
            if self.store.get(&key).await.map_err(|e| e.to_string())?.is_some() {
                return Ok(FreightOutcome::Exists(name));
            }
        }
        let outcome = match plan(&*self.store, resources, Mode::Create).await {
            Ok(mut outcomes) => outcomes.remove(0),
            Err(e) => return Err(e.to_string()),
        };
        match outcome.write {
            None => Ok(FreightOutcome::Exists(outcome.name)),
            Some(write) => match self.store.apply(vec![write]).await {
                Ok(_) => {
                    tracing::info!(warehouse = %warehouse.metadata.name(), freight = %outcome.name, "created Freight");
                    let about = crate::events::Involved {
                        kind: "Freight",
                        project: warehouse.metadata.namespace(),
                        name: &outcome.name,
                    };
                    let message = format!("Freight created by Warehouse {:?}", warehouse.metadata.name());
                    crate::events::record(&*self.store, about, "FreightCreated", &message, false).await;
                    Ok(FreightOutcome::Created(outcome.name))
                }
                Err(StoreError::AlreadyExists(_)) => Ok(FreightOutcome::Exists(outcome.name)),
                Err(e) => Err(e.to_string()),
            },
        }
    }
}

enum FreightOutcome {
    Created(String),
    Exists(String),
    NotWanted(String),
}

#[async_trait::async_trait]
impl Reconciler for WarehouseController {
    fn name(&self) -> &'static str {
        "warehouses"
    }

    fn keys_for(&self, event: &WatchEvent) -> Vec<Key> {
        Key::of(&event.object).into_iter().filter(|k| k.kind == Kind::Warehouse).collect()
    }

    fn all_keys(&self) -> Vec<Key> {
        self.cache.keys(Kind::Warehouse, None)
    }

    /// Discovers when due; otherwise asks to be woken when the interval or a backoff ends.
    async fn reconcile(&self, key: &Key) -> Result<Action, String> {
        let Some(stored) = self.cache.get_now(key) else {
            self.lock_backoff().remove(key);
            return Ok(Action::Done);
        };
        if !self.shard.handles(&stored.object) {
            return Ok(Action::Done);
        }
        let refresh_requested = refresh_token(&stored.object) != handled_refresh(&stored.object);
        let backing_off = self.lock_backoff().get(key).map(|until| until.saturating_duration_since(Instant::now()));
        if let Some(wait) = backing_off.filter(|w| !w.is_zero() && !refresh_requested) {
            return Ok(Action::RequeueAfter(wait));
        }
        if let Some(wait) = until_due(&stored.object, Timestamp::now()) {
            return Ok(Action::RequeueAfter(wait));
        }
        self.discover(key).await?;
        // The status write queues this Warehouse again; that pass sets the next timer.
        Ok(Action::Done)
    }
}

/// Publishes each ProjectConfig's receiver paths into its `status.webhookReceivers`, when a
/// ProjectConfig, the ClusterConfig or a Secret changes (receiver paths hash their secret).
pub struct ReceiverPublisher {
    store: Arc<dyn Store>,
    cache: Arc<CachedStore>,
}

impl ReceiverPublisher {
    pub fn new(cache: Arc<CachedStore>) -> Arc<ReceiverPublisher> {
        Arc::new(ReceiverPublisher { store: cache.clone(), cache })
    }

    pub async fn run(self: Arc<Self>) {
        let cache = self.cache.clone();
        crate::runtime::run(self, cache, 1).await;
    }

    fn key() -> Key {
        Key::new(Kind::ClusterConfig, "", "webhook-receivers")
    }
}

#[async_trait::async_trait]
impl Reconciler for ReceiverPublisher {
    fn name(&self) -> &'static str {
        "receivers"
    }

    fn keys_for(&self, event: &WatchEvent) -> Vec<Key> {
        match Key::of(&event.object).map(|k| k.kind) {
            Ok(Kind::ProjectConfig | Kind::ClusterConfig | Kind::Secret) => vec![ReceiverPublisher::key()],
            _ => Vec::new(),
        }
    }

    fn all_keys(&self) -> Vec<Key> {
        vec![ReceiverPublisher::key()]
    }

    async fn reconcile(&self, _key: &Key) -> Result<Action, String> {
        for (project, receivers) in crate::receivers::published(&*self.store).await.map_err(|e| e.to_string())? {
            let key = if project.is_empty() {
                Key::new(Kind::ClusterConfig, "", "cluster")
            } else {
                Key::new(Kind::ProjectConfig, &project, &project)
            };
            let Some(stored) = self.cache.get_now(&key) else { continue };
            if stored.object.pointer("/status/webhookReceivers") != Some(&receivers) {
                let published: Vec<convoy_api::project::WebhookReceiverStatus> =
                    serde_json::from_value(receivers.clone()).map_err(|e| e.to_string())?;
                update_typed_status(&*self.store, &key, |status: &mut convoy_api::project::ConfigStatus| {
                    status.webhook_receivers = published.clone();
                })
                .await?;
            }
        }
        Ok(Action::Done)
    }
}

/// How long until discovery is due; `None` when it is due now (never ran, spec changed, refresh
/// requested, or the interval passed).
fn until_due(object: &Value, now: Timestamp) -> Option<Duration> {
    let status = &object["status"];
    if status.pointer("/observedGeneration") != object.pointer("/metadata/generation") {
        return None;
    }
    if refresh_token(object) != handled_refresh(object) {
        return None;
    }
    // Never succeeded: retry (the backoff paces failures).
    let at = status.pointer("/discoveredArtifacts/discoveredAt").and_then(Value::as_str)?;
    let at = Timestamp::parse(at).ok()?;
    let elapsed = u64::try_from(now.seconds() - at.seconds()).unwrap_or(0);
    let wait = interval(object).as_secs().checked_sub(elapsed).filter(|w| *w > 0)?;
    Some(Duration::from_secs(wait))
}

fn interval(object: &Value) -> Duration {
    object
        .pointer("/spec/interval")
        .and_then(Value::as_str)
        .and_then(|i| convoy_core::duration::parse(i).ok())
        .unwrap_or(Duration::from_secs(300))
        .max(Duration::from_secs(1))
}

fn refresh_token(object: &Value) -> Option<String> {
    object.pointer("/metadata/annotations/kargo.akuity.io~1refresh").and_then(Value::as_str).map(str::to_owned)
}

fn handled_refresh(object: &Value) -> Option<String> {
    object.pointer("/status/lastHandledRefresh").and_then(Value::as_str).map(str::to_owned)
}

/// Sets a Kubernetes-style condition, keeping `lastTransitionTime` when the status did not change.
/// Credentials from the Warehouse's project, by Secret kind.
struct ProjectCredentials {
    store: Arc<dyn Store>,
    project: String,
}

#[async_trait::async_trait]
impl CredentialSource for ProjectCredentials {
    async fn credentials(&self, kind: &str, url: &str) -> Option<Credentials> {
        let found = credentials_of_kind(&*self.store, &self.project, kind, url).await.ok()??;
        Some(Credentials { username: found.username, password: found.password })
    }
}
