//! Handlers for `/v1/...`: CRUD per kind, apply, and watch.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use convoy_api::Kind;
use convoy_store::{Key, LabelSelector, StoreExt, Write};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::audit::{Note, noted};
use crate::auth::Identity;
use crate::error::ApiError;
use crate::guard::{Writes, allow, allow_write, create_or_update, creator_administers};
use crate::paging;
use convoy_controllers::writes::{Mode, decode_body, plan_submitted, redact};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    pub label_selector: Option<String>,
    pub watch: Option<bool>,
    pub resource_version: Option<String>,
    /// At most this many items (0 or absent: all), with `metadata.continue` when more follow.
    pub limit: Option<usize>,
    /// The `metadata.continue` of the previous page.
    #[serde(rename = "continue")]
    pub continue_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteQuery {
    pub dry_run: Option<bool>,
    pub mode: Option<String>,
    pub resource_version: Option<String>,
}

fn kind_for(plural: &str) -> Result<Kind, ApiError> {
    Kind::ALL.into_iter().find(|k| k.plural() == plural).ok_or_else(|| {
        ApiError::not_found(format!(
            "unknown resource type {plural:?}; use one of {}",
            Kind::ALL.map(Kind::plural).join(", ")
        ))
    })
}

fn text_body(body: &Bytes) -> Result<&str, ApiError> {
    std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the request body must be UTF-8 YAML or JSON"))
}

pub async fn list_cluster(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path(plural): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let kind = kind_for(&plural)?;
    if kind == Kind::Project && query.watch != Some(true) {
        return list_projects(&state, &identity, &query).await;
    }
    allow(&state, &identity, list_verb(&query), kind, "", "").await?;
    list(state, kind, None, query, headers).await
}

pub async fn list_project(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, plural)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let kind = kind_for(&plural)?;
    if kind.is_cluster_scoped() {
        return Err(ApiError::not_found(format!("{kind} is cluster-scoped: use /v1/{plural}")));
    }
    allow(&state, &identity, list_verb(&query), kind, &project, "").await?;
    require_project(&*state.store, &project).await?;
    if kind == Kind::Role && query.watch != Some(true) {
        return list_roles(&state, &project).await;
    }
    list(state, kind, Some(project), query, headers).await
}

fn list_verb(query: &ListQuery) -> &'static str {
    if query.watch == Some(true) { "watch" } else { "list" }
}

/// The Projects the caller may read: every one for a system role that lists Projects, else
/// those it has a role in (Kargo answers 403 there, the most reported RBAC confusion).
async fn list_projects(state: &AppState, identity: &Identity, query: &ListQuery) -> Result<Response, ApiError> {
    let selector = match &query.label_selector {
        Some(text) => LabelSelector::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?,
        None => LabelSelector::everything(),
    };
    let (projects, revision) = state.store.list(Kind::Project, None, &selector).await?;
    let names = projects.iter().map(|p| p.key.name.clone()).collect();
    let readable = crate::auth::readable(&*state.store, identity, names).await?;
    let items: Vec<Arc<str>> = projects
        .into_iter()
        .filter(|p| readable.contains(&p.key.name))
        .map(|p| Arc::from(p.object.to_string()))
        .collect();
    Ok(list_response(&json!({"resourceVersion": revision.to_string()}), &items))
}

/// A project's roles: those stored, and the ones Convoy defines for every project that were
/// never edited.
async fn list_roles(state: &AppState, project: &str) -> Result<Response, ApiError> {
    let (stored, revision) = state.store.list(Kind::Role, Some(project), &LabelSelector::everything()).await?;
    let mut roles: Vec<Value> = stored.into_iter().map(|s| s.object).collect();
    for name in convoy_core::access::PROJECT_ROLES {
        if !roles.iter().any(|r| r.pointer("/metadata/name").and_then(Value::as_str) == Some(name)) {
            let rules = convoy_core::access::project_role(name).unwrap_or_default();
            roles.push(serde_json::to_value(crate::auth::builtin_role(project, name, rules)).unwrap_or_default());
        }
    }
    roles.sort_by(|a, b| {
        a.pointer("/metadata/name").and_then(Value::as_str).cmp(&b.pointer("/metadata/name").and_then(Value::as_str))
    });
    let items: Vec<Arc<str>> = roles.iter().map(|r| Arc::from(r.to_string())).collect();
    Ok(list_response(&json!({"resourceVersion": revision.to_string()}), &items))
}

/// A list in a project that does not exist is an error, not an empty list: a misspelt `-p`
/// must not look like a project with nothing in it. The shared-resources and cluster-secrets
/// namespaces hold Secrets and ConfigMaps without being projects.
pub(crate) async fn require_project(store: &dyn convoy_store::Store, project: &str) -> Result<(), ApiError> {
    if project == convoy_api::SHARED_RESOURCES_PROJECT || project == crate::webhooks::CLUSTER_SECRETS_PROJECT {
        return Ok(());
    }
    if store.get(&Key::new(Kind::Project, "", project)).await?.is_some() {
        return Ok(());
    }
    let (projects, _) = store.list(Kind::Project, None, &LabelSelector::everything()).await?;
    let names: Vec<&str> = projects.iter().map(|p| p.key.name.as_str()).collect();
    let hint = match convoy_api::suggest::closest(project, names.iter().copied()) {
        Some(close) => format!("did you mean {close:?}?"),
        None if names.is_empty() => "no project exists yet: apply a Project first".to_owned(),
        None => format!("projects: {}", names.join(", ")),
    };
    Err(ApiError::not_found(format!("project {project:?} not found; {hint}")))
}

async fn list(
    state: Arc<AppState>,
    kind: Kind,
    project: Option<String>,
    query: ListQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let selector = match &query.label_selector {
        Some(text) => LabelSelector::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?,
        None => LabelSelector::everything(),
    };
    if query.watch == Some(true) {
        let resume = headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or(query.resource_version.clone())
            .map(|v| {
                v.parse::<i64>().map_err(|_| ApiError::bad_request("resourceVersion / Last-Event-ID must be a number"))
            })
            .transpose()?;
        return Ok(crate::watch::stream(state, kind, project, selector, resume).await?.into_response());
    }
    let limit = query.limit.filter(|l| *l > 0);
    let after = match &query.continue_token {
        Some(token) => Some(paging::Position::decode(token)?),
        None => None,
    };
    if let Some(position) = &after {
        position.check_current(&*state.store).await?;
    }
    let position = after.as_ref().map(|p| (p.project.as_str(), p.name.as_str()));
    let limit = limit.unwrap_or(usize::MAX);
    let (items, last, revision, more) = if kind == Kind::Secret {
        // Secret values never leave the server: these are rewritten, not sent as stored.
        let page = state.store.list_page(kind, project.as_deref(), &selector, position, limit).await?;
        let last = page.items.last().map(|s| s.key.clone());
        let items = page.items.into_iter().map(|s| Arc::from(redact(s.object).to_string())).collect();
        (items, last, page.revision, page.more)
    } else {
        let page = state.store.list_page_json(kind, project.as_deref(), &selector, position, limit).await?;
        (page.items, page.last, page.revision, page.more)
    };
    // Later pages keep the first page's revision, as Kubernetes' do.
    let revision = after.as_ref().map_or(revision, |p| p.revision);
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if more && let Some(last) = last {
        metadata["continue"] = json!(paging::Position::new(revision, &last.project, &last.name).encode());
    }
    Ok(list_response(&metadata, &items))
}

/// `{"apiVersion": "v1", "kind": "List", "metadata": ..., "items": [...]}` from items already
/// in JSON: a large list is one copy of its objects' text, not a tree built and serialised.
fn list_response(metadata: &Value, items: &[Arc<str>]) -> Response {
    let size = items.iter().map(|i| i.len() + 1).sum::<usize>() + 128;
    let mut body = String::with_capacity(size);
    body.push_str(r#"{"apiVersion":"v1","kind":"List","metadata":"#);
    body.push_str(&metadata.to_string());
    body.push_str(r#","items":["#);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str("]}");
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn key_for(kind: Kind, project: &str, name: &str) -> Key {
    Key::new(kind, project, name)
}

pub async fn get_cluster(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((plural, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = cluster_kind(&plural)?;
    allow(&state, &identity, "get", kind, "", &name).await?;
    get(state, key_for(kind, "", &name)).await
}

pub async fn get_project(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, plural, name)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = project_kind(&plural)?;
    allow(&state, &identity, "get", kind, &project, &name).await?;
    let key = key_for(kind, &project, &name);
    if kind == Kind::Role
        && let Some(role) = crate::auth::project_role(&*state.store, &project, &name).await?
    {
        return Ok(Json(serde_json::to_value(role).unwrap_or_default()));
    }
    if kind == Kind::Freight
        && state.store.get(&key).await?.is_none()
        && let Some(named) = freight_by_alias(&state, &project, &name).await?
    {
        // Freight is addressed by its alias wherever its name is, as in Kargo's API.
        return get(state, named).await;
    }
    get(state, key).await
}

/// The Freight of `project` whose alias is `alias`, if one has it (aliases are unique).
async fn freight_by_alias(state: &AppState, project: &str, alias: &str) -> Result<Option<Key>, ApiError> {
    // Only a word can be an alias: anything else must not become more of the selector.
    if alias.is_empty() || !alias.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Ok(None);
    }
    let Ok(selector) = LabelSelector::parse(&format!("{}={alias}", convoy_api::ALIAS_LABEL)) else { return Ok(None) };
    let (found, _) = state.store.list(Kind::Freight, Some(project), &selector).await?;
    Ok(match found.as_slice() {
        [only] => Some(only.key.clone()),
        _ => None,
    })
}

async fn get(state: Arc<AppState>, key: Key) -> Result<Json<Value>, ApiError> {
    match state.store.get(&key).await? {
        Some(stored) => Ok(Json(redact(stored.object))),
        None => Err(ApiError::not_found(format!("{key} not found"))),
    }
}

fn cluster_kind(plural: &str) -> Result<Kind, ApiError> {
    let kind = kind_for(plural)?;
    if !kind.is_cluster_scoped() {
        return Err(ApiError::not_found(format!(
            "{kind} belongs to a project: use /v1/projects/PROJECT/{plural}/NAME"
        )));
    }
    Ok(kind)
}

fn project_kind(plural: &str) -> Result<Kind, ApiError> {
    let kind = kind_for(plural)?;
    if kind.is_cluster_scoped() {
        return Err(ApiError::not_found(format!("{kind} is cluster-scoped: use /v1/{plural}/NAME")));
    }
    Ok(kind)
}

pub async fn put_cluster(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((plural, name)): Path<(String, String)>,
    Query(query): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = cluster_kind(&plural)?;
    put(state, &identity, kind, String::new(), name, query, text_body(&body)?).await
}

pub async fn put_project(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, plural, name)): Path<(String, String, String)>,
    Query(query): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = project_kind(&plural)?;
    put(state, &identity, kind, project, name, query, text_body(&body)?).await
}

/// Create or replace one object at its URL; the body must name the same object.
async fn put(
    state: Arc<AppState>,
    identity: &Identity,
    kind: Kind,
    project: String,
    name: String,
    query: WriteQuery,
    body: &str,
) -> Result<Response, ApiError> {
    let mut submitted = decode_body(body, Some(&project).filter(|p| !p.is_empty()).map(String::as_str))?;
    if submitted.resources.len() != 1 {
        return Err(ApiError::bad_request(format!("expected one object, got {}", submitted.resources.len())));
    }
    let resource = &mut submitted.resources[0];
    if resource.kind() != kind {
        return Err(ApiError::bad_request(format!("the body is a {}, the URL names a {kind}", resource.kind())));
    }
    if resource.metadata().namespace() != project {
        return Err(ApiError::bad_request(format!(
            "metadata.namespace {:?} does not match the URL's project {project:?}",
            resource.metadata().namespace()
        )));
    }
    let meta = resource.metadata_mut();
    if meta.name().is_empty() {
        meta.name = Some(name.clone());
    }
    if let Some(rv) = query.resource_version {
        meta.resource_version = Some(rv);
    }
    if !matches!(kind, Kind::Freight | Kind::Promotion) && resource.metadata().name() != name {
        return Err(ApiError::bad_request(format!(
            "metadata.name {:?} does not match the URL's name {name:?}",
            resource.metadata().name()
        )));
    }
    let resource = &submitted.resources[0];
    let verb = create_or_update(&*state.store, &key_for(kind, &project, resource.metadata().name())).await?;
    allow_write(&state, identity, resource, verb).await?;
    let outcomes = plan_submitted(&*state.store, submitted, Mode::Apply).await?;
    let outcome = outcomes.into_iter().next().ok_or_else(|| ApiError::bad_request("nothing to write"))?;
    let status = if outcome.action == "created" { StatusCode::CREATED } else { StatusCode::OK };
    let dry_run = query.dry_run == Some(true);
    let notes = if dry_run { Vec::new() } else { vec![note_of(verb, &outcome)] };
    let created_project = kind == Kind::Project && outcome.action == "created" && !dry_run;
    let object = write_outcome(&state, outcome, dry_run).await?;
    if created_project {
        creator_administers(&state, identity, &name).await?;
    }
    Ok(noted((status, Json(redact(object))), notes))
}

/// What the audit trail says of a planned write.
fn note_of(verb: &str, outcome: &convoy_controllers::writes::Outcome) -> Note {
    let summary = match outcome.action {
        "configured" if !outcome.changed.is_empty() => format!("configured: {}", outcome.changed.join(", ")),
        action => action.to_owned(),
    };
    Note::new(verb, &outcome.kind, &outcome.project, &outcome.name, summary)
}

/// Writes one planned object (unless a dry run) and returns it as stored.
async fn write_outcome(
    state: &AppState,
    outcome: convoy_controllers::writes::Outcome,
    dry_run: bool,
) -> Result<Value, ApiError> {
    Ok(match outcome.write {
        Some(write) if !dry_run => state.store.apply(vec![write]).await?.remove(0).object,
        _ => outcome.object,
    })
}

pub async fn create_project(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, plural)): Path<(String, String)>,
    Query(query): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = project_kind(&plural)?;
    let submitted = decode_body(text_body(&body)?, Some(&project))?;
    let resources = &submitted.resources;
    if resources.len() != 1 || resources[0].kind() != kind || resources[0].metadata().namespace() != project {
        return Err(ApiError::bad_request(format!("expected one {kind} of project {project:?}")));
    }
    allow_write(&state, &identity, &resources[0], "create").await?;
    let outcome = plan_submitted(&*state.store, submitted, Mode::Create).await?.remove(0);
    let dry_run = query.dry_run == Some(true);
    let notes = if dry_run { Vec::new() } else { vec![note_of("create", &outcome)] };
    let object = write_outcome(&state, outcome, dry_run).await?;
    Ok(noted((StatusCode::CREATED, Json(redact(object))), notes))
}

pub async fn delete_cluster(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((plural, name)): Path<(String, String)>,
    Query(query): Query<WriteQuery>,
) -> Result<Response, ApiError> {
    let kind = cluster_kind(&plural)?;
    allow(&state, &identity, "delete", kind, "", &name).await?;
    delete(state, key_for(kind, "", &name), query).await
}

pub async fn delete_project(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, plural, name)): Path<(String, String, String)>,
    Query(query): Query<WriteQuery>,
) -> Result<Response, ApiError> {
    let kind = project_kind(&plural)?;
    allow(&state, &identity, "delete", kind, &project, &name).await?;
    delete(state, key_for(kind, &project, &name), query).await
}

/// Kargo's delete check: Freight that a Stage holds cannot go.
async fn deletion_allowed(state: &AppState, key: &Key) -> Result<(), ApiError> {
    if key.kind != Kind::Freight {
        return Ok(());
    }
    let (stages, _) = state.store.list(Kind::Stage, Some(&key.project), &LabelSelector::everything()).await?;
    let holders: Vec<String> = stages
        .iter()
        .filter(|s| {
            s.object.pointer("/status/freightHistory/0/items").and_then(Value::as_object).is_some_and(|items| {
                items.values().any(|f| f.get("name").and_then(Value::as_str) == Some(key.name.as_str()))
            })
        })
        .map(|s| s.key.name.clone())
        .collect();
    if holders.is_empty() {
        return Ok(());
    }
    // Kargo's webhook answers Forbidden; here it is admission's refusal (422), not an auth error.
    let message = format!("freight is in-use by stages ({})", holders.join(", "));
    Err(ApiError::rejected(
        format!("{message}; nothing was deleted (promote other Freight into those Stages first)"),
        vec![crate::error::Detail {
            path: String::new(),
            message,
            hint: Some("promote other Freight into those Stages first".into()),
            severity: "error",
        }],
    ))
}

async fn delete(state: Arc<AppState>, key: Key, query: WriteQuery) -> Result<Response, ApiError> {
    deletion_allowed(&state, &key).await?;
    let expected = query
        .resource_version
        .map(|v| v.parse::<i64>().map_err(|_| ApiError::bad_request("resourceVersion must be a number")))
        .transpose()?;
    if query.dry_run == Some(true) {
        let stored = state.store.get(&key).await?.ok_or_else(|| ApiError::not_found(format!("{key} not found")))?;
        return Ok(noted(Json(redact(stored.object)), Vec::new()));
    }
    let deleted = state.store.delete(key.clone(), expected).await?;
    let note = Note::new("delete", key.kind.name(), &key.project, &key.name, "deleted");
    Ok(noted(Json(redact(deleted.object)), vec![note]))
}

pub async fn patch_project(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, plural, name)): Path<(String, String, String)>,
    Query(query): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = project_kind(&plural)?;
    allow(&state, &identity, "patch", kind, &project, &name).await?;
    let key = key_for(kind, &project, &name);
    let patch: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("a merge patch must be JSON: {e}")))?;
    // Without a resourceVersion of the caller's, a patch applies to whatever is stored: a
    // controller's status write between the read and the write is not the caller's conflict,
    // so the patch is applied again to the fresh object.
    let explicit = query.resource_version.is_some() || patch.pointer("/metadata/resourceVersion").is_some();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = state.store.get(&key).await?.ok_or_else(|| ApiError::not_found(format!("{key} not found")))?;
        let mut object = current.object.clone();
        merge_patch(&mut object, &patch);
        if !explicit {
            object["metadata"]["resourceVersion"] = json!(current.revision.to_string());
        }
        let body = serde_json::to_string(&object).map_err(|e| ApiError::bad_request(e.to_string()))?;
        match put(state.clone(), &identity, kind, project.clone(), name.clone(), query.clone(), &body).await {
            Err(e) if e.status == StatusCode::CONFLICT && !explicit && attempt < PATCH_ATTEMPTS => continue,
            outcome => return outcome,
        }
    }
}

/// How often a patch or an apply without the caller's resourceVersion is planned again after a conflict.
const PATCH_ATTEMPTS: usize = 5;

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = json!({});
            }
            let map = target.as_object_mut().expect("made an object above");
            for (k, v) in fields {
                if v.is_null() {
                    map.remove(k);
                } else {
                    merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// `POST /v1/apply`: every document of the body in one transaction, after admission of the
/// whole set. `?dryRun=true` admits without writing; `?mode=create` refuses existing objects.
pub async fn apply(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Query(query): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let submitted = decode_body(text_body(&body)?, None)?;
    let deleting = query.mode.as_deref() == Some("delete");
    let mut writes_allowed = Writes::new(&state, &identity);
    for resource in &submitted.resources {
        writes_allowed.check(resource, deleting.then_some("delete")).await?;
    }
    if deleting {
        return delete_set(&state, submitted.resources, query.dry_run == Some(true)).await;
    }
    let mode = match query.mode.as_deref() {
        None | Some("apply") => Mode::Apply,
        Some("create") => Mode::Create,
        Some(other) => {
            return Err(ApiError::bad_request(format!("unknown mode {other:?}: use apply, create or delete")));
        }
    };
    let dry_run = query.dry_run == Some(true);
    // Documents without a resourceVersion apply to whatever is stored: a controller's status
    // write between admission and the write is not the caller's conflict, so the set is planned
    // again on what is stored then.
    let explicit = submitted.resources.iter().any(|r| r.metadata().resource_version.is_some());
    let mut attempt = 0;
    let outcomes = loop {
        attempt += 1;
        let mut outcomes = plan_submitted(&*state.store, submitted.clone(), mode).await?;
        let writes: Vec<Write> = outcomes.iter_mut().filter_map(|o| o.write.take()).collect();
        if dry_run || writes.is_empty() {
            break outcomes;
        }
        match state.store.apply(writes).await {
            Ok(_) => break outcomes,
            Err(convoy_store::StoreError::Conflict { .. }) if !explicit && attempt < PATCH_ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let mut notes = Vec::new();
    if !dry_run {
        for outcome in outcomes.iter().filter(|o| o.action != "unchanged") {
            let verb = if outcome.action == "created" { "create" } else { "update" };
            notes.push(note_of(verb, outcome));
            if outcome.kind == "Project" && outcome.action == "created" {
                creator_administers(&state, &identity, &outcome.name).await?;
            }
        }
    }
    let revision = state.store.current_revision().await?;
    Ok(noted(Json(json!({"dryRun": dry_run, "revision": revision.to_string(), "items": outcomes})), notes))
}

/// Deletes every object named by the documents, in one transaction.
async fn delete_set(
    state: &AppState,
    resources: Vec<convoy_api::Resource>,
    dry_run: bool,
) -> Result<Response, ApiError> {
    let mut writes = Vec::new();
    let mut items = Vec::new();
    for mut resource in resources {
        if let convoy_api::Resource::Freight(f) = &mut resource
            && f.metadata.name().is_empty()
        {
            f.metadata.name = Some(convoy_core::freight_id::freight_id(f));
        }
        let meta = resource.metadata();
        let key = key_for(resource.kind(), meta.namespace(), meta.name());
        deletion_allowed(state, &key).await?;
        items.push(json!({"kind": resource.kind().name(), "project": key.project, "name": key.name, "action": "deleted", "warnings": []}));
        writes.push(Write::Delete { key, expected: None });
    }
    if dry_run {
        for write in &writes {
            let key = write.key()?;
            if state.store.get(&key).await?.is_none() {
                return Err(ApiError::not_found(format!("{key} not found")));
            }
        }
    } else if !writes.is_empty() {
        state.store.apply(writes).await?;
    }
    let notes = if dry_run {
        Vec::new()
    } else {
        items
            .iter()
            .map(|item| {
                let text = |field: &str| item[field].as_str().unwrap_or_default().to_owned();
                Note::new("delete", &text("kind"), &text("project"), &text("name"), "deleted")
            })
            .collect()
    };
    let revision = state.store.current_revision().await?;
    Ok(noted(Json(json!({"dryRun": dry_run, "revision": revision.to_string(), "items": items})), notes))
}
