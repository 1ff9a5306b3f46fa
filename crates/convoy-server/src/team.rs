//! Routes for teams: named tokens, grants and revocations of roles, and the audit trail.
//!
//! ```text
//!  GET|POST /v1/tokens                 system tokens      DELETE /v1/tokens/{name}
//!  GET|POST /v1/projects/{p}/tokens    project tokens     DELETE /v1/projects/{p}/tokens/{name}
//!  GET /v1/roles                       system roles       POST /v1/roles/{r}/grants|revocations
//!  POST /v1/projects/{p}/roles/{r}/grants|revocations
//!  GET /v1/audit?project=&since=&actor=&limit=&before=
//! ```

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use convoy_api::Kind;
use convoy_api::rbac::{Claim, PolicyRule, Role};
use convoy_core::access::{self, Request, Scope};
use convoy_store::{AuditQuery, Grant, Key, StoreError, TokenRecord, Write};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::audit::{Note, noted};
use crate::auth::{Identity, authorize, forbidden, granted, hash_token, new_token, project_role};
use crate::error::ApiError;

/// `{name, role, expires?}`: a token to create.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub role: String,
    /// How long it lives: `30d`, `12h`, `90m` (absent: until revoked).
    #[serde(default)]
    pub expires: Option<String>,
}

/// A JSON body, read after the caller is known to be allowed.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("request body: {e}; expected {shape}")))
}

fn parse_lifetime(text: &str) -> Result<std::time::Duration, String> {
    if let Some(days) = text.strip_suffix('d')
        && let Ok(days) = days.parse::<u64>()
    {
        return Ok(std::time::Duration::from_secs(days * 86_400));
    }
    convoy_core::duration::parse(text).map_err(|e| format!("expires: {e} (or days, e.g. 30d)"))
}

fn valid_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "token name {name:?} is not valid: use lower-case letters, digits and '-', at most 63 characters"
        )))
    }
}

async fn check(
    state: &AppState,
    identity: &Identity,
    verb: &str,
    resource: &str,
    project: &str,
    name: &str,
) -> Result<(), ApiError> {
    authorize(&*state.store, identity, Request { verb, resource, project, name }).await
}

/// The rules of `role` in `scope`, or 404 naming the roles there are.
async fn rules_of(state: &AppState, scope: &Scope, role: &str) -> Result<Vec<PolicyRule>, ApiError> {
    match scope {
        Scope::System => access::system_role(role).ok_or_else(|| {
            ApiError::not_found(format!("no system role {role:?}; system roles: {}", access::SYSTEM_ROLES.join(", ")))
        }),
        Scope::Project(project) => match project_role(&*state.store, project, role).await? {
            Some(role) => Ok(role.rules),
            None => Err(ApiError::not_found(format!(
                "no role {role:?} in project {project:?}; create it first (convoy create role {role} -p {project})"
            ))),
        },
    }
}

/// Nobody gives a role more than they hold.
async fn may_give(
    state: &AppState,
    identity: &Identity,
    scope: &Scope,
    role: &str,
    rules: &[PolicyRule],
) -> Result<(), ApiError> {
    let project = match scope {
        Scope::System => "",
        Scope::Project(p) => p.as_str(),
    };
    let held = granted(&*state.store, identity, project).await?;
    access::covers(&held, scope, rules).map_err(|denied| {
        let request = Request { verb: "bind", resource: "roles", project, name: role };
        forbidden(identity, &request, &denied.to_string())
    })
}

fn scope_of(project: &str) -> Scope {
    if project.is_empty() { Scope::System } else { Scope::Project(project.to_owned()) }
}

pub async fn list_system_tokens(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
) -> Result<Json<Value>, ApiError> {
    list_tokens(&state, &identity, "").await
}

pub async fn list_project_tokens(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path(project): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list_tokens(&state, &identity, &project).await
}

/// Tokens, never their values: system-wide (`project` empty) every token, in a project the
/// tokens made for it or holding one of its roles.
async fn list_tokens(state: &AppState, identity: &Identity, project: &str) -> Result<Json<Value>, ApiError> {
    check(state, identity, "list", "tokens", project, "").await?;
    let tokens = state.store.tokens().await?;
    let items: Vec<&TokenRecord> = tokens
        .iter()
        .filter(|t| project.is_empty() || t.project == project || t.grants.iter().any(|g| g.project == project))
        .collect();
    Ok(Json(json!({"items": items})))
}

pub async fn create_system_token(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    create_token(&state, &identity, "", &body).await
}

pub async fn create_project_token(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path(project): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    create_token(&state, &identity, &project, &body).await
}

/// Creates a token with one role; answers its value, the only time it is shown.
async fn create_token(state: &AppState, identity: &Identity, project: &str, body: &[u8]) -> Result<Response, ApiError> {
    check(state, identity, "create", "tokens", project, "").await?;
    let request: NewToken = parse(body, r#"{"name": NAME, "role": ROLE, "expires": "30d"}"#)?;
    valid_name(&request.name)?;
    if !project.is_empty() {
        crate::routes::require_project(&*state.store, project).await?;
    }
    let scope = scope_of(project);
    let rules = rules_of(state, &scope, &request.role).await?;
    may_give(state, identity, &scope, &request.role, &rules).await?;
    let expires_at = match request.expires.as_deref() {
        Some(text) => {
            let lifetime = parse_lifetime(text).map_err(ApiError::bad_request)?;
            let at = convoy_api::time::Timestamp(convoy_api::time::Timestamp::now().0 + lifetime.as_secs() as i64);
            Some(at.to_string())
        }
        None => None,
    };
    let value = new_token();
    let record = TokenRecord {
        name: request.name.clone(),
        hash: hash_token(&value),
        project: project.to_owned(),
        grants: vec![Grant { project: project.to_owned(), role: request.role.clone() }],
        created_at: convoy_store::now_rfc3339(),
        created_by: identity.actor.clone(),
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    state.store.create_token(record.clone()).await.map_err(|e| match e {
        StoreError::Exists(_) => ApiError::new(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!(
                "a token named {:?} exists or existed; names are never reused, so that the audit trail names one token: choose another",
                request.name
            ),
        ),
        other => other.into(),
    })?;
    let mut body = serde_json::to_value(&record).unwrap_or_default();
    body["token"] = json!(value);
    let summary = format!("token created with role {}", request.role);
    Ok(noted((StatusCode::CREATED, Json(body)), vec![Note::new("create", "Token", project, &request.name, summary)]))
}

pub async fn revoke_system_token(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    revoke_token(&state, &identity, "", &name).await
}

pub async fn revoke_project_token(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    revoke_token(&state, &identity, &project, &name).await
}

/// Revokes a token: every replica refuses it from the next request on.
async fn revoke_token(state: &AppState, identity: &Identity, project: &str, name: &str) -> Result<Response, ApiError> {
    check(state, identity, "delete", "tokens", project, name).await?;
    let tokens = state.store.tokens().await?;
    let Some(token) = tokens.iter().find(|t| t.name == name && (project.is_empty() || t.project == project)) else {
        let place = if project.is_empty() { String::new() } else { format!(" of project {project:?}") };
        return Err(ApiError::not_found(format!("no token {name:?}{place}; convoy get tokens lists them")));
    };
    let revoked = state.store.revoke_token(&token.name, &convoy_store::now_rfc3339()).await?;
    let summary = if revoked { "revoked" } else { "already revoked" };
    Ok(noted(Json(json!({"name": name, "revoked": true})), vec![Note::new("delete", "Token", project, name, summary)]))
}

/// `{claims?, tokens?, rules?}`: what a grant adds to a role, or a revocation takes away.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    #[serde(default)]
    pub claims: Vec<Claim>,
    #[serde(default)]
    pub tokens: Vec<String>,
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
}

pub async fn grant_project(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, role)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    change_role(&state, &identity, &project, &role, &body, true).await
}

pub async fn revoke_project(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, role)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    change_role(&state, &identity, &project, &role, &body, false).await
}

pub async fn grant_system(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path(role): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    change_role(&state, &identity, "", &role, &body, true).await
}

pub async fn revoke_system(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path(role): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    change_role(&state, &identity, "", &role, &body, false).await
}

/// Adds (`grant`) or removes claims, tokens and rules of a role; the role is written once,
/// under optimistic concurrency, and the tokens' grants after it.
async fn change_role(
    state: &AppState,
    identity: &Identity,
    project: &str,
    name: &str,
    body: &[u8],
    grant: bool,
) -> Result<Response, ApiError> {
    check(state, identity, "update", "roles", project, name).await?;
    let change: Change =
        parse(body, r#"{"claims": [{"name": "groups", "values": [...]}], "tokens": [...], "rules": [...]}"#)?;
    if change.claims.is_empty() && change.tokens.is_empty() && change.rules.is_empty() {
        return Err(ApiError::bad_request("nothing to change: give claims, tokens or rules"));
    }
    let scope = scope_of(project);
    if project.is_empty() && (!change.claims.is_empty() || !change.rules.is_empty()) {
        return Err(ApiError::bad_request(
            "system roles are fixed: only tokens can be granted them (claims are mapped in the server's configuration)",
        ));
    }
    let current = rules_of(state, &scope, name).await?;
    let mut role = match &scope {
        Scope::Project(p) => project_role(&*state.store, p, name).await?.unwrap_or_default(),
        Scope::System => Role::default(),
    };
    role.rules = current;
    edit(&mut role, &change, grant);
    if grant {
        // Giving the role to someone (claims, tokens) needs all of it; adding rules needs those.
        let binding = !change.claims.is_empty() || !change.tokens.is_empty();
        let needed = if binding { role.rules.clone() } else { change.rules.clone() };
        may_give(state, identity, &scope, name, &needed).await?;
    }
    let mut problems = convoy_core::problem::Problems::default();
    access::validate_role(&role, &mut problems);
    let problems = problems.into_vec();
    if let Some(problem) = problems.iter().find(|p| p.severity == convoy_core::problem::Severity::Error) {
        return Err(ApiError::bad_request(format!("{}: {}", problem.path, problem.message)));
    }
    let tokens = state.store.tokens().await?;
    for token in &change.tokens {
        let Some(record) = tokens.iter().find(|t| &t.name == token) else {
            return Err(ApiError::not_found(format!("no token {token:?}; convoy get tokens lists them")));
        };
        if grant && !record.project.is_empty() && record.project != project {
            return Err(ApiError::bad_request(format!(
                "token {token:?} was made for project {:?}: it can only be given that project's roles",
                record.project
            )));
        }
    }
    let mut object = Value::Null;
    if let Scope::Project(p) = &scope {
        object = store_role(state, p, name, &role).await?;
    }
    for token in &change.tokens {
        let Some(record) = tokens.iter().find(|t| &t.name == token) else { continue };
        let wanted = Grant { project: project.to_owned(), role: name.to_owned() };
        let mut grants = record.grants.clone();
        grants.retain(|g| g != &wanted);
        if grant {
            grants.push(wanted);
        }
        state.store.set_token_grants(token, &grants).await?;
    }
    let verb = if grant { "grant" } else { "revoke" };
    let summary = describe(&change);
    let note = Note::new(verb, "Role", project, name, summary);
    Ok(noted(Json(json!({"role": object, "name": name, "project": project})), vec![note]))
}

/// Applies a change to a role's claims and rules (tokens are kept on the tokens).
fn edit(role: &mut Role, change: &Change, grant: bool) {
    for claim in &change.claims {
        match role.claims.iter_mut().find(|c| c.name == claim.name) {
            Some(existing) if grant => {
                for value in &claim.values {
                    if !existing.values.contains(value) {
                        existing.values.push(value.clone());
                    }
                }
            }
            Some(existing) => existing.values.retain(|v| !claim.values.contains(v)),
            None if grant => role.claims.push(claim.clone()),
            None => {}
        }
    }
    role.claims.retain(|c| !c.values.is_empty());
    for rule in &change.rules {
        let same_target = |r: &PolicyRule| r.resources == rule.resources && r.resource_names == rule.resource_names;
        match role.rules.iter_mut().find(|r| same_target(r)) {
            Some(existing) if grant => {
                for verb in &rule.verbs {
                    if !existing.verbs.contains(verb) {
                        existing.verbs.push(verb.clone());
                    }
                }
            }
            Some(existing) => existing.verbs.retain(|v| !rule.verbs.contains(v)),
            None if grant => role.rules.push(rule.clone()),
            None => {}
        }
    }
    role.rules.retain(|r| !r.verbs.is_empty());
}

fn describe(change: &Change) -> String {
    let mut parts = Vec::new();
    for claim in &change.claims {
        parts.push(format!("claim {}={}", claim.name, claim.values.join(",")));
    }
    for token in &change.tokens {
        parts.push(format!("token {token}"));
    }
    for rule in &change.rules {
        let names =
            if rule.resource_names.is_empty() { String::new() } else { format!("/{}", rule.resource_names.join(",")) };
        parts.push(format!("{} on {}{names}", rule.verbs.join(","), rule.resources.join(",")));
    }
    parts.join("; ")
}

/// Writes the role (creating the stored copy of a role Convoy defines on its first edit).
async fn store_role(state: &AppState, project: &str, name: &str, role: &Role) -> Result<Value, ApiError> {
    let key = Key::new(Kind::Role, project, name);
    for _ in 0..5 {
        let stored = state.store.get(&key).await?;
        let mut object = role.clone();
        object.api_version = convoy_api::rbac::RBAC_API_VERSION.into();
        object.kind = "Role".into();
        object.metadata.name = Some(name.into());
        object.metadata.namespace = Some(project.into());
        object.kargo_managed = access::PROJECT_ROLES.contains(&name);
        let value = serde_json::to_value(&object).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let write = match &stored {
            Some(s) => Write::Put { object: value, expected: Some(s.revision) },
            None => Write::Create(value),
        };
        match state.store.apply(vec![write]).await {
            Ok(mut written) => return Ok(written.remove(0).object),
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(StatusCode::CONFLICT, "Conflict", format!("role {name:?} kept changing; try again")))
}

/// `GET /v1/roles`: the system roles, their rules and the tokens given each.
pub async fn list_system_roles(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
) -> Result<Json<Value>, ApiError> {
    check(&state, &identity, "list", "roles", "", "").await?;
    let tokens = state.store.tokens().await?;
    let items: Vec<Value> = access::SYSTEM_ROLES
        .iter()
        .map(|name| {
            let holders: Vec<&str> = tokens
                .iter()
                .filter(|t| t.revoked_at.is_none() && t.grants.iter().any(|g| g.project.is_empty() && g.role == *name))
                .map(|t| t.name.as_str())
                .collect();
            json!({"name": name, "rules": access::system_role(name).unwrap_or_default(), "tokens": holders})
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    pub project: Option<String>,
    pub since: Option<String>,
    pub actor: Option<String>,
    pub before: Option<i64>,
    pub limit: Option<usize>,
}

/// The largest page of the audit trail.
const AUDIT_PAGE: usize = 1000;

/// `GET /v1/audit`: newest first; a project's trail for its admins, everything for a system
/// role that reads it.
pub async fn audit(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Query(params): Query<AuditParams>,
) -> Result<Json<Value>, ApiError> {
    let projects = match &params.project {
        Some(project) => {
            check(&state, &identity, "list", "audit", project, "").await?;
            vec![project.clone()]
        }
        None => {
            if check(&state, &identity, "list", "audit", "", "").await.is_ok() {
                Vec::new()
            } else {
                let mut mine = Vec::new();
                let named: std::collections::BTreeSet<&str> =
                    identity.grants.iter().map(|g| g.project.as_str()).filter(|p| !p.is_empty()).collect();
                for project in named {
                    if check(&state, &identity, "list", "audit", project, "").await.is_ok() {
                        mine.push(project.to_owned());
                    }
                }
                if mine.is_empty() {
                    return Err(check(&state, &identity, "list", "audit", "", "").await.unwrap_err());
                }
                mine
            }
        }
    };
    if let Some(since) = &params.since {
        convoy_api::time::Timestamp::parse(since)
            .map_err(|e| ApiError::bad_request(format!("since: {e}; use RFC 3339, e.g. 2026-12-01T00:00:00Z")))?;
    }
    let query = AuditQuery {
        projects,
        since: params.since,
        actor: params.actor,
        before: params.before,
        limit: params.limit.unwrap_or(100).clamp(1, AUDIT_PAGE),
    };
    let items = state.store.audit(&query).await?;
    let next = (items.len() == query.limit).then(|| items.last().map(|r| r.id)).flatten();
    Ok(Json(json!({"items": items, "before": next})))
}
