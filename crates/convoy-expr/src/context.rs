//! An evaluation context given as one JSON document (what `convoy eval --context` reads):
//! the variables in scope plus the data the Kargo functions look up.
//!
//! ```json
//! { "ctx": {...}, "vars": {...}, "outputs": {...}, "task": {...}, "stepMetas": {...},
//!   "freight": [Freight...], "stage": Stage, "warehouses": [Warehouse...],
//!   "configMaps": {"name": {"k": "v"}}, "secrets": {...},
//!   "sharedConfigMaps": {...}, "sharedSecrets": {...},
//!   "freightMetadata": {"freight": {...}}, "stageMetadata": {"stage": {...}} }
//! ```

use std::collections::BTreeMap;

use convoy_api::{Freight, FreightOrigin, FreightReference, KARGO_API_VERSION, Stage, Warehouse};
use serde_json::{Map, Value as Json};

use crate::eval::Scope;
use crate::resolver::{Resolver, StepOutcome};

/// Keys of the context document that become variables in scope, as given.
const SCOPE_KEYS: [&str; 5] = ["ctx", "vars", "outputs", "task", "stepMetas"];
const DATA_KEYS: [&str; 9] = [
    "freight",
    "stage",
    "warehouses",
    "configMaps",
    "secrets",
    "sharedConfigMaps",
    "sharedSecrets",
    "freightMetadata",
    "stageMetadata",
];

/// Data held in memory for the Kargo functions.
#[derive(Debug, Clone, Default)]
pub struct StaticData {
    pub project: String,
    pub origins: Vec<FreightOrigin>,
    pub warehouses: Vec<Warehouse>,
    pub freight: Vec<FreightReference>,
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
    pub shared_config_maps: BTreeMap<String, BTreeMap<String, String>>,
    pub shared_secrets: BTreeMap<String, BTreeMap<String, String>>,
    pub freight_metadata: BTreeMap<String, BTreeMap<String, Json>>,
    pub stage_metadata: BTreeMap<String, BTreeMap<String, Json>>,
    pub step_outcomes: Vec<StepOutcome>,
    pub current_step: Option<String>,
}

impl Resolver for StaticData {
    fn project(&self) -> String {
        self.project.clone()
    }
    fn requested_origins(&self) -> Vec<FreightOrigin> {
        self.origins.clone()
    }
    fn warehouse(&self, name: &str) -> Option<Warehouse> {
        self.warehouses.iter().find(|w| w.metadata.name() == name).cloned()
    }
    fn freight_collection(&self) -> Vec<FreightReference> {
        self.freight.clone()
    }
    fn freight_metadata(&self, freight: &str) -> Option<BTreeMap<String, Json>> {
        self.freight_metadata.get(freight).cloned()
    }
    fn stage_metadata(&self, stage: &str) -> Option<BTreeMap<String, Json>> {
        self.stage_metadata.get(stage).cloned()
    }
    fn config_map(&self, name: &str) -> BTreeMap<String, String> {
        self.config_maps.get(name).cloned().unwrap_or_default()
    }
    fn secret(&self, name: &str) -> BTreeMap<String, String> {
        self.secrets.get(name).cloned().unwrap_or_default()
    }
    fn shared_config_map(&self, name: &str) -> BTreeMap<String, String> {
        self.shared_config_maps.get(name).cloned().unwrap_or_default()
    }
    fn shared_secret(&self, name: &str) -> BTreeMap<String, String> {
        self.shared_secrets.get(name).cloned().unwrap_or_default()
    }
    fn step_outcomes(&self) -> Vec<StepOutcome> {
        self.step_outcomes.clone()
    }
    fn current_step_alias(&self) -> Option<String> {
        self.current_step.clone()
    }
}

/// Reads a context document. Unknown top-level keys are an error, naming the allowed ones.
pub fn from_json(document: &Json) -> Result<(Scope, StaticData), String> {
    let Json::Object(map) = document else {
        return Err("the context must be a JSON object".into());
    };
    for key in map.keys() {
        if !SCOPE_KEYS.contains(&key.as_str()) && !DATA_KEYS.contains(&key.as_str()) {
            let all: Vec<&str> = SCOPE_KEYS.iter().chain(DATA_KEYS.iter()).copied().collect();
            let hint = convoy_api::suggest::closest(key, all.iter().copied())
                .map_or_else(|| format!("allowed keys: {}", all.join(", ")), |g| format!("did you mean {g:?}?"));
            return Err(format!("context: unknown key {key:?}; {hint}"));
        }
    }
    // What a promotion always has starts empty, so `vars.x` reads nil instead of failing.
    let mut scope_values = Map::new();
    for key in SCOPE_KEYS {
        let value = map.get(key).cloned().unwrap_or_else(|| Json::Object(Map::new()));
        scope_values.insert(key.to_owned(), value);
    }
    let scope = Scope::from_json(&scope_values).map_err(|e| e.to_string())?;
    let mut data = StaticData::default();
    if let Some(stage) = map.get("stage") {
        let stage: Stage = typed("stage", stage, "Stage")?;
        data.project = stage.metadata.namespace().to_owned();
        data.origins = stage.spec.requested_freight.iter().map(|r| r.origin.clone()).collect();
    }
    if let Some(Json::Array(items)) = map.get("warehouses") {
        for (i, w) in items.iter().enumerate() {
            data.warehouses.push(typed(&format!("warehouses[{i}]"), w, "Warehouse")?);
        }
    }
    if let Some(Json::Array(items)) = map.get("freight") {
        for (i, f) in items.iter().enumerate() {
            let freight: Freight = typed(&format!("freight[{i}]"), f, "Freight")?;
            data.freight.push(FreightReference {
                name: freight.metadata.name().to_owned(),
                origin: freight.origin,
                commits: freight.commits,
                images: freight.images,
                charts: freight.charts,
                artifacts: freight.artifacts,
            });
        }
    }
    data.config_maps = string_maps(map, "configMaps")?;
    data.secrets = string_maps(map, "secrets")?;
    data.shared_config_maps = string_maps(map, "sharedConfigMaps")?;
    data.shared_secrets = string_maps(map, "sharedSecrets")?;
    data.freight_metadata = json_maps(map, "freightMetadata")?;
    data.stage_metadata = json_maps(map, "stageMetadata")?;
    if let Some(Json::Object(metas)) = map.get("stepMetas") {
        data.step_outcomes = metas
            .iter()
            .map(|(alias, meta)| StepOutcome {
                alias: alias.clone(),
                status: meta.get("status").and_then(Json::as_str).unwrap_or("").to_owned(),
                continue_on_error: meta.get("continueOnError").and_then(Json::as_bool).unwrap_or(false),
            })
            .collect();
    }
    data.current_step = document.pointer("/ctx/meta/step/alias").and_then(Json::as_str).map(str::to_owned);
    Ok((scope, data))
}

/// Decodes a Kargo object, filling in `apiVersion` and `kind` when the context leaves them out.
fn typed<T: serde::de::DeserializeOwned>(path: &str, value: &Json, kind: &str) -> Result<T, String> {
    let mut value = value.clone();
    if let Json::Object(m) = &mut value {
        m.entry("apiVersion").or_insert_with(|| Json::String(KARGO_API_VERSION.to_owned()));
        m.entry("kind").or_insert_with(|| Json::String(kind.to_owned()));
    }
    serde_path_to_error::deserialize(&value).map_err(|e| format!("context: {path}.{}: {}", e.path(), e.inner()))
}

fn string_maps(map: &Map<String, Json>, key: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>, String> {
    match map.get(key) {
        None => Ok(BTreeMap::new()),
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| format!("context: {key}: {e} (want name -> {{key: string}})"))
        }
    }
}

fn json_maps(map: &Map<String, Json>, key: &str) -> Result<BTreeMap<String, BTreeMap<String, Json>>, String> {
    match map.get(key) {
        None => Ok(BTreeMap::new()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("context: {key}: {e} (want name -> object)")),
    }
}
