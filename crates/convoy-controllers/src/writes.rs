//! Turning submitted documents into store writes: decode, admit against what is stored, keep
//! the stored status, and skip what would not change.

use std::collections::BTreeSet;

use convoy_api::yaml::parse_documents;
use convoy_api::{Kind, Resource};
use convoy_core::Problem;
use convoy_core::freight_id::freight_id;
use convoy_core::{Catalog, Operation, admit};
use convoy_store::{Key, LabelSelector, Store, StoreError, Stored, Write};
use serde::Serialize;
use serde_json::Value;

use crate::env::SystemEnv;

#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// `error` or `warning`.
    pub severity: &'static str,
}

/// Why a set of documents cannot be written (nothing was). No HTTP here: the API maps it to a
/// status in `error.rs`; controllers read it as what it is.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The body is not YAML or JSON (or breaks its limits).
    #[error("{0}")]
    Malformed(String),
    /// Decoding or admission refused documents; `details` name each one's field and fix.
    #[error("{message}: {}", summary(details))]
    Rejected { message: String, details: Vec<Detail> },
    /// The store failed or refused the read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn summary(details: &[Detail]) -> String {
    details.iter().map(|d| format!("{}: {}", d.path, d.message)).collect::<Vec<_>>().join("; ")
}

pub fn detail(prefix: &str, problem: &Problem) -> Detail {
    let path = match (prefix.is_empty(), problem.path.is_empty()) {
        (true, _) => problem.path.clone(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{}", problem.path),
    };
    Detail {
        path,
        message: problem.message.clone(),
        hint: problem.hint.clone(),
        severity: if problem.is_error() { "error" } else { "warning" },
    }
}

/// How submitted objects meet stored ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create or update (`convoy apply`).
    Apply,
    /// Only create; an existing object is a conflict (`convoy create`).
    Create,
    /// As `Create`, for a dry run that stores nothing (`convoy_core::Operation::Preview`).
    Preview,
}

/// The outcome for one submitted object.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub kind: String,
    pub project: String,
    pub name: String,
    /// `created`, `configured` or `unchanged`.
    pub action: &'static str,
    /// The fields a `configured` object changes (`spec.subscriptions`, `metadata.labels`), for
    /// the audit trail.
    #[serde(skip)]
    pub changed: Vec<String>,
    pub warnings: Vec<Detail>,
    #[serde(skip)]
    pub write: Option<Write>,
    #[serde(skip)]
    pub object: Value,
}

/// Submitted documents, decoded, and for each what was read leniently (as Kargo and the API
/// server read it: `convoy_api::read`) or what the YAML reading tolerated.
#[derive(Debug, Clone, Default)]
pub struct Submitted {
    pub resources: Vec<Resource>,
    pub warnings: Vec<Vec<Detail>>,
}

/// Parses a multi-document YAML or JSON body; errors name the document and the field.
pub fn decode_body(body: &str, default_project: Option<&str>) -> Result<Submitted, WriteError> {
    let documents = parse_documents(body).map_err(|e| {
        WriteError::Malformed(format!(
            "request body is not valid YAML or JSON: line {}, column {}: {}",
            e.position.line, e.position.column, e.message
        ))
    })?;
    let yaml_warnings: Vec<Vec<Detail>> = documents
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let warning = |w: &convoy_api::yaml::YamlWarning| Detail {
                path: join_path(&format!("documents[{i}]"), &w.path),
                message: format!("line {}: {}", w.position.line, w.message),
                hint: None,
                severity: "warning",
            };
            d.warnings.iter().map(warning).collect()
        })
        .collect();
    let values: Vec<Value> = documents.into_iter().map(|d| d.value).collect();
    let mut submitted = decode_values(&values, default_project)?;
    for (mine, theirs) in submitted.warnings.iter_mut().zip(yaml_warnings) {
        mine.splice(0..0, theirs);
    }
    Ok(submitted)
}

/// Decodes objects built in code or parsed already (no text round trip); errors name
/// `documents[i]` and the field, all of them.
pub fn decode_values(values: &[Value], default_project: Option<&str>) -> Result<Submitted, WriteError> {
    let mut submitted = Submitted::default();
    let mut details = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let prefix = format!("documents[{i}]");
        match Resource::read(value) {
            Ok(Some(read)) => {
                let mut resource = read.resource;
                let namespaced = !resource.kind().is_cluster_scoped();
                let meta = resource.metadata_mut();
                if namespaced && meta.namespace().is_empty() {
                    meta.namespace = default_project.map(str::to_owned);
                }
                submitted.resources.push(resource);
                submitted.warnings.push(
                    read.warnings
                        .into_iter()
                        .map(|w| Detail {
                            path: join_path(&prefix, &w.path),
                            message: w.message,
                            hint: w.hint,
                            severity: "warning",
                        })
                        .collect(),
                );
            }
            Ok(None) => details.push(Detail {
                path: format!("documents[{i}]"),
                message: "not a kind Convoy manages".into(),
                hint: Some("remove it, or send only kargo.akuity.io/v1alpha1 objects, v1 Secrets/ConfigMaps and AnalysisTemplates".into()),
                severity: "error",
            }),
            Err(errors) => details.extend(errors.into_iter().map(|e| Detail {
                path: join_path(&prefix, &e.path),
                message: e.message,
                hint: e.hint,
                severity: "error",
            })),
        }
    }
    if !details.is_empty() {
        return Err(WriteError::Rejected {
            message: "the request holds invalid documents; nothing was stored".into(),
            details,
        });
    }
    Ok(submitted)
}

/// [`plan`] for submitted documents: each outcome also carries what was read leniently.
pub async fn plan_submitted(store: &dyn Store, submitted: Submitted, mode: Mode) -> Result<Vec<Outcome>, WriteError> {
    let mut outcomes = plan(store, submitted.resources, mode).await?;
    // One outcome per resource, in order (a refused one fails the whole set).
    for (outcome, warnings) in outcomes.iter_mut().zip(submitted.warnings) {
        outcome.warnings.splice(0..0, warnings);
    }
    Ok(outcomes)
}

fn join_path(prefix: &str, path: &str) -> String {
    if path.is_empty() { prefix.to_owned() } else { format!("{prefix}.{path}") }
}

/// The objects admission may consult: the projects involved and every cluster-scoped object.
pub async fn load_view(store: &dyn Store, projects: &BTreeSet<String>) -> Result<Catalog, StoreError> {
    load_view_with(store, projects, true).await
}

/// [`load_view`], with the projects' Freight only when `all_freight` (checking Freight or
/// choosing one needs them all; a Promotion naming its Freight needs only that one, which the
/// caller adds): the Freight are most of a large project.
async fn load_view_with(
    store: &dyn Store,
    projects: &BTreeSet<String>,
    all_freight: bool,
) -> Result<Catalog, StoreError> {
    let mut catalog = Catalog::complete();
    let everything = LabelSelector::everything();
    for kind in Kind::ALL {
        if kind.is_cluster_scoped() {
            for stored in store.list(kind, None, &everything).await?.0 {
                insert(&mut catalog, &stored.object);
            }
        } else if matches!(kind, Kind::Stage | Kind::Warehouse | Kind::PromotionTask | Kind::ProjectConfig)
            || (kind == Kind::Freight && all_freight)
        {
            for project in projects {
                for stored in store.list(kind, Some(project), &everything).await?.0 {
                    insert(&mut catalog, &stored.object);
                }
            }
        }
    }
    Ok(catalog)
}

fn insert(catalog: &mut Catalog, object: &Value) {
    if let Ok(Some(resource)) = Resource::decode(object) {
        catalog.insert(resource);
    }
}

fn key_of(resource: &Resource) -> Key {
    let meta = resource.metadata();
    Key::new(resource.kind(), meta.namespace(), meta.name())
}

/// Admits every resource against the store (and the rest of the set), all or nothing.
pub async fn plan(store: &dyn Store, mut resources: Vec<Resource>, mode: Mode) -> Result<Vec<Outcome>, WriteError> {
    for resource in &mut resources {
        // Freight is named by its content; use that name to find what is stored.
        if let Resource::Freight(f) = resource {
            f.metadata.name = Some(freight_id(f));
        }
    }
    let projects: BTreeSet<String> =
        resources.iter().map(|r| r.metadata().namespace().to_owned()).filter(|p| !p.is_empty()).collect();
    // Only a Promotion that asks for its origin's newest Freight needs every Freight; Freight
    // itself needs the project's aliases, read from their label without the Freight.
    let all_freight = resources.iter().any(|r| matches!(r, Resource::Promotion(p) if p.spec.freight.is_empty()));
    let mut catalog = load_view_with(store, &projects, all_freight).await?;
    if !all_freight && resources.iter().any(|r| matches!(r, Resource::Freight(_))) {
        for project in &projects {
            for (name, alias) in store.label_values(Kind::Freight, project, convoy_api::ALIAS_LABEL).await? {
                catalog.note_alias(project, &name, Some(&alias));
            }
        }
    }
    if !all_freight {
        for resource in &resources {
            if let Resource::Promotion(p) = resource
                && let Some(stored) =
                    store.get(&Key::new(Kind::Freight, p.metadata.namespace(), &p.spec.freight)).await?
            {
                insert(&mut catalog, &stored.object);
            }
        }
    }
    for resource in &resources {
        catalog.insert(resource.clone());
    }
    let mut env = SystemEnv;
    let mut outcomes = Vec::new();
    let mut details = Vec::new();
    let mut seen: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
    for (i, resource) in resources.into_iter().enumerate() {
        let label = format!("{}/{}", resource.kind(), resource.metadata().name());
        // As `kubectl apply`: an object given twice is written twice, the last one stays.
        let again = if resource.metadata().name().is_empty() { None } else { seen.insert(key_of(&resource), i) };
        let current = if resource.kind() == Kind::Promotion && resource.metadata().name().is_empty() {
            None
        } else {
            store.get(&key_of(&resource)).await?
        };
        if mode != Mode::Apply && current.is_some() {
            details.push(Detail {
                path: format!("documents[{i}]"),
                message: format!("{label} already exists"),
                hint: Some("use convoy apply to update it".into()),
                severity: "error",
            });
            continue;
        }
        let old = current.as_ref().and_then(|c| Resource::decode(&c.object).ok().flatten());
        let operation = match &old {
            Some(old) => Operation::Update { old },
            None if mode == Mode::Preview => Operation::Preview,
            None => Operation::Create,
        };
        let submitted_rv = resource.metadata().resource_version.clone();
        let mut resource = resource;
        if let Err((key, message)) = restore_redacted(&mut resource, current.as_ref()) {
            details.push(Detail {
                path: format!("documents[{i}].data.{key}"),
                message,
                hint: Some(format!("give the value (in stringData, or base64 in data), or leave {key} out")),
                severity: "error",
            });
            continue;
        }
        match admit(resource, operation, &catalog, &mut env) {
            Err(problems) => details.extend(problems.iter().map(|p| detail(&format!("documents[{i}]"), p))),
            Ok(admitted) => {
                // What admission filled in (a generated alias) is seen by the rest of the set.
                catalog.insert(admitted.resource.clone());
                let mut warnings: Vec<Detail> =
                    admitted.warnings.iter().map(|p| detail(&format!("documents[{i}]"), p)).collect();
                if let Some(first) = again {
                    warnings.push(Detail {
                        path: format!("documents[{i}].metadata.name"),
                        message: format!("{label} is also documents[{first}]; this later definition is the one stored"),
                        hint: Some("remove one of them".into()),
                        severity: "warning",
                    });
                }
                let mut object = prepare(&admitted.resource, current.as_ref());
                let expected = match submitted_rv.as_deref().map(str::parse::<i64>) {
                    Some(Ok(rv)) => Some(rv),
                    Some(Err(_)) => {
                        details.push(Detail {
                            path: format!("documents[{i}].metadata.resourceVersion"),
                            message: "must be a number".into(),
                            hint: None,
                            severity: "error",
                        });
                        continue;
                    }
                    None => None,
                };
                let unchanged = current.as_ref().is_some_and(|c| same_content(&c.object, &object));
                let action = match (&current, unchanged) {
                    (None, _) => "created",
                    (Some(_), true) => "unchanged",
                    (Some(_), false) => "configured",
                };
                if unchanged && let Some(c) = &current {
                    object = c.object.clone();
                }
                let changed = match (&current, unchanged) {
                    (Some(c), false) => changed_fields(&c.object, &object),
                    _ => Vec::new(),
                };
                let meta = admitted.resource.metadata();
                outcomes.push(Outcome {
                    kind: admitted.resource.kind().name().to_owned(),
                    project: meta.namespace().to_owned(),
                    name: meta.name().to_owned(),
                    action,
                    changed,
                    warnings,
                    // The decision was made against this revision: a concurrent change must not
                    // slip in between admission and the write.
                    write: (!unchanged).then(|| match &current {
                        None => Write::Create(object.clone()),
                        Some(c) => Write::Put { object: object.clone(), expected: expected.or(Some(c.revision)) },
                    }),
                    object,
                });
            }
        }
    }
    if details.iter().any(|d| d.severity == "error") {
        return Err(WriteError::Rejected {
            message: "admission rejected the request; nothing was stored".into(),
            details,
        });
    }
    Ok(outcomes)
}

/// The JSON to store: the submitted status is ignored (the stored one is kept), Secret
/// `stringData` is folded into `data`.
fn prepare(resource: &Resource, current: Option<&Stored>) -> Value {
    let mut object = resource.to_value();
    if let Value::Object(map) = &mut object {
        map.remove("status");
        if let Some(status) = current.and_then(|c| c.object.get("status")) {
            map.insert("status".into(), status.clone());
        }
        if resource.kind() == Kind::Secret
            && let Some(Value::Object(string_data)) = map.remove("stringData")
        {
            let data = map.entry("data").or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(data) = data {
                for (k, v) in string_data {
                    data.insert(k, Value::String(crate::base64::encode(v.as_str().unwrap_or("").as_bytes())));
                }
            }
        }
    }
    object
}

/// A Secret value sent back in its redacted form ([`REDACTED`], what every read shows) stands
/// for the stored value, so `get -o yaml | apply` loses no credentials. A redacted value with
/// nothing stored under its key is refused: the key, and why.
fn restore_redacted(resource: &mut Resource, current: Option<&Stored>) -> Result<(), (String, String)> {
    let Resource::Secret(secret) = resource else { return Ok(()) };
    let stored = current.and_then(|c| c.object.get("data")).and_then(Value::as_object);
    for (key, value) in secret.data.iter_mut().filter(|(_, v)| v.as_str() == REDACTED) {
        match stored.and_then(|s| s.get(key)).and_then(Value::as_str) {
            Some(kept) => *value = kept.to_owned(),
            None => {
                return Err((
                    key.clone(),
                    format!("{REDACTED} stands for the stored value, but this Secret has none under {key:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// What every read shows in place of a Secret value.
pub const REDACTED: &str = "<redacted>";

/// Equal but for the metadata the store owns.
/// The fields, two levels deep (`spec.subscriptions`), that differ between two objects; the
/// store's own metadata and the status are left out.
pub fn changed_fields(old: &Value, new: &Value) -> Vec<String> {
    const OWN: &[&str] = &["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"];
    let mut changed = Vec::new();
    let empty = serde_json::Map::new();
    let fields = |v: &Value| v.as_object().unwrap_or(&empty).clone();
    let (old, new) = (fields(old), fields(new));
    let mut top: Vec<&String> = old.keys().chain(new.keys()).collect();
    top.sort();
    top.dedup();
    for key in top.into_iter().filter(|k| k.as_str() != "status") {
        let (a, b) = (old.get(key).unwrap_or(&Value::Null), new.get(key).unwrap_or(&Value::Null));
        if a == b {
            continue;
        }
        match (a.as_object(), b.as_object()) {
            (Some(a), Some(b)) => {
                let mut inner: Vec<&String> = a.keys().chain(b.keys()).collect();
                inner.sort();
                inner.dedup();
                for field in inner {
                    if key == "metadata" && OWN.contains(&field.as_str()) {
                        continue;
                    }
                    if a.get(field) != b.get(field) {
                        changed.push(format!("{key}.{field}"));
                    }
                }
            }
            _ => changed.push(key.clone()),
        }
    }
    changed
}

fn same_content(stored: &Value, submitted: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"] {
                meta.remove(field);
            }
        }
        v
    };
    strip(stored) == strip(submitted)
}

/// Keys of a credentials Secret (`kargo.akuity.io/cred-type`) that say which repository and
/// account it is for, not how to log in: shown, as Kargo's UI shows them.
const NOT_SECRET: &[&str] = &["repoURL", "repoURLIsRegex", "username"];

/// What a client may see of an object: Secret values never leave the server, but for the
/// repository and user name of a credentials Secret (unless the URL carries credentials).
pub fn redact(mut object: Value) -> Value {
    let credentials = object.pointer("/metadata/labels/kargo.akuity.io~1cred-type").is_some();
    if object.get("kind").and_then(Value::as_str) == Some("Secret")
        && let Value::Object(map) = &mut object
    {
        map.remove("stringData");
        if let Some(Value::Object(data)) = map.get_mut("data") {
            for (key, value) in data.iter_mut() {
                let shown = credentials
                    && NOT_SECRET.contains(&key.as_str())
                    && value.as_str().and_then(crate::base64::decode).is_some_and(|text| !carries_credentials(&text));
                if !shown {
                    *value = Value::String(REDACTED.to_owned());
                }
            }
        }
    }
    object
}

/// `https://user:token@host/...`: a URL with user information is itself a secret.
fn carries_credentials(text: &[u8]) -> bool {
    let text = String::from_utf8_lossy(text);
    let rest = text.split_once("://").map_or(text.as_ref(), |(_, rest)| rest);
    rest.split('/').next().is_some_and(|authority| authority.contains('@'))
}
