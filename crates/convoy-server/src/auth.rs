//! Who is asking, and whether they may: bearer tokens (only their hashes are stored) and the
//! one [`authorize`] every route, the UI and the receivers go through.
//!
//! Tokens are looked up in the store on every request, so a revoked or expired token is refused
//! at once by every replica sharing the store.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use convoy_api::Kind;
use convoy_api::rbac::{PolicyRule, Role};
use convoy_core::access::{self, Granted, Request, Scope};
use convoy_store::{Grant, Key, LabelSelector, Store, StoreError, TokenRecord};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Hex SHA-256 of a token.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.trim().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random token (two v4 UUIDs: 244 random bits).
pub fn new_token() -> String {
    format!("cvy_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The name of the token `convoy server` creates on first start.
pub const ADMIN_TOKEN_NAME: &str = "admin";

/// Records `token` as the system administrator's token named `admin` (first start, tests).
pub async fn add_admin_token(store: &dyn Store, token: &str) -> Result<(), StoreError> {
    store
        .create_token(TokenRecord {
            name: ADMIN_TOKEN_NAME.into(),
            hash: hash_token(token),
            project: String::new(),
            grants: vec![Grant { project: String::new(), role: "kargo-admin".into() }],
            created_at: convoy_store::now_rfc3339(),
            created_by: "convoy".into(),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        })
        .await
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// How the audit trail, events and annotations name it: `token:NAME`.
    pub actor: String,
    /// The token's name, when a token was used.
    pub token: Option<String>,
    pub groups: Vec<String>,
    /// Roles given to the token.
    pub grants: Vec<Grant>,
    /// Single sign-on claims (`Null` for tokens), matched against the roles' `claims`.
    pub claims: serde_json::Value,
}

impl Identity {
    fn of_token(token: &TokenRecord) -> Identity {
        Identity {
            actor: format!("token:{}", token.name),
            token: Some(token.name.clone()),
            groups: Vec::new(),
            grants: token.grants.clone(),
            claims: serde_json::Value::Null,
        }
    }

    /// The server acting for itself (receivers, controllers): every permission.
    pub fn server(actor: impl Into<String>) -> Identity {
        Identity {
            actor: actor.into(),
            token: None,
            groups: Vec::new(),
            grants: vec![Grant { project: String::new(), role: "kargo-admin".into() }],
            claims: serde_json::Value::Null,
        }
    }
}

/// How often a token's last-used time is written (at most), per replica.
const LAST_USED_EVERY: Duration = Duration::from_secs(60);

/// When each token's last-used time was last written by this replica.
#[derive(Default)]
pub struct LastUsed(Mutex<HashMap<String, Instant>>);

impl LastUsed {
    fn due(&self, name: &str) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match seen.get(name) {
            Some(at) if now.duration_since(*at) < LAST_USED_EVERY => false,
            _ => {
                seen.insert(name.to_owned(), now);
                true
            }
        }
    }
}

/// What identifies callers: the store's tokens and, when configured, an OpenID issuer.
#[derive(Clone)]
pub struct Authenticator {
    pub store: std::sync::Arc<dyn Store>,
    pub last_used: std::sync::Arc<LastUsed>,
    pub oidc: Option<std::sync::Arc<crate::oidc::Oidc>>,
}

impl Authenticator {
    /// The identity behind `Authorization: Bearer TOKEN`, or why there is none (for a 401).
    pub async fn identify(&self, header: Option<&str>) -> Result<Identity, ApiError> {
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).unwrap_or("");
        if token.is_empty() {
            return Err(ApiError::unauthorized());
        }
        self.identify_token(token).await
    }

    /// The identity of a token value: a Convoy token, or an ID token of the configured issuer.
    pub async fn identify_token(&self, token: &str) -> Result<Identity, ApiError> {
        match &self.oidc {
            Some(oidc) if crate::oidc::looks_like_jwt(token) => identify_user(oidc, token).await,
            _ => identify_token(&*self.store, &self.last_used, token).await,
        }
    }
}

/// A single sign-on user: `email:ADDRESS` (or `subject:SUB`) as Kargo names them, the system
/// roles the configuration maps its claims to; project roles come from the roles' `claims`.
async fn identify_user(oidc: &crate::oidc::Oidc, token: &str) -> Result<Identity, ApiError> {
    let audiences = [oidc.config.client_id.as_str(), oidc.config.cli_client_id.as_str()];
    let claims = oidc.verify(token, &audiences).await.map_err(|why| {
        ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", format!("the ID token is not accepted: {why}"))
    })?;
    let actor = match (claims["email"].as_str(), claims["sub"].as_str()) {
        (Some(email), _) if !email.is_empty() => format!("email:{email}"),
        (_, sub) => format!("subject:{}", sub.unwrap_or_default()),
    };
    let groups = match &claims["groups"] {
        serde_json::Value::Array(items) => items.iter().filter_map(|g| g.as_str().map(str::to_owned)).collect(),
        serde_json::Value::String(one) => vec![one.clone()],
        _ => Vec::new(),
    };
    let grants = oidc.system_roles(&claims).into_iter().map(|role| Grant { project: String::new(), role }).collect();
    Ok(Identity { actor, token: None, groups, grants, claims })
}

/// The identity of a Convoy token value.
async fn identify_token(store: &dyn Store, last_used: &LastUsed, token: &str) -> Result<Identity, ApiError> {
    let unauthorized = |message: String| ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", message);
    let Some(record) = store.token_by_hash(&hash_token(token)).await? else {
        return Err(ApiError::unauthorized());
    };
    if let Some(at) = &record.revoked_at {
        return Err(unauthorized(format!(
            "token {:?} was revoked at {at}; ask an administrator for a new one (convoy create token)",
            record.name
        )));
    }
    let now = convoy_store::now_rfc3339();
    if let Some(expires) = record.expires_at.as_deref().filter(|e| *e <= now.as_str()) {
        return Err(unauthorized(format!(
            "token {:?} expired at {expires}; ask an administrator for a new one (convoy create token)",
            record.name
        )));
    }
    if last_used.due(&record.name)
        && let Err(e) = store.token_used(&record.name, &now).await
    {
        tracing::warn!(token = %record.name, error = %e, "could not note when the token was used");
    }
    Ok(Identity::of_token(&record))
}

/// The rules of project role `role` in `project`: as stored, else as Convoy defines it.
pub async fn project_role(store: &dyn Store, project: &str, role: &str) -> Result<Option<Role>, StoreError> {
    if let Some(stored) = store.get(&Key::new(Kind::Role, project, role)).await? {
        return Ok(serde_json::from_value(stored.object).ok());
    }
    Ok(access::project_role(role).map(|rules| builtin_role(project, role, rules)))
}

/// A role Convoy defines, as an object (listed beside the stored ones).
pub fn builtin_role(project: &str, name: &str, rules: Vec<PolicyRule>) -> Role {
    let mut role = Role {
        api_version: convoy_api::rbac::RBAC_API_VERSION.into(),
        kind: "Role".into(),
        kargo_managed: true,
        rules,
        ..Role::default()
    };
    role.metadata.name = Some(name.into());
    role.metadata.namespace = Some(project.into());
    role
}

/// The roles `identity` holds that matter in `project` (system roles, and the project's roles
/// given to its token or matching its claims).
pub async fn granted(store: &dyn Store, identity: &Identity, project: &str) -> Result<Vec<Granted>, StoreError> {
    let mut held = Vec::new();
    for grant in &identity.grants {
        if grant.project.is_empty() {
            if let Some(rules) = access::system_role(&grant.role) {
                held.push(Granted { scope: Scope::System, role: grant.role.clone(), rules });
            }
        } else if grant.project == project
            && let Some(role) = project_role(store, project, &grant.role).await?
        {
            held.push(Granted { scope: Scope::Project(project.into()), role: grant.role.clone(), rules: role.rules });
        }
    }
    if !identity.claims.is_null() && !project.is_empty() {
        let (roles, _) = store.list(Kind::Role, Some(project), &LabelSelector::everything()).await?;
        for stored in roles {
            let Ok(role) = serde_json::from_value::<Role>(stored.object) else { continue };
            if access::claims_match(&role, &identity.claims) {
                let name = role.metadata.name().to_owned();
                held.push(Granted { scope: Scope::Project(project.into()), role: name, rules: role.rules });
            }
        }
    }
    Ok(held)
}

/// The single decision: may `identity` do `request`? A refusal is a 403 naming the missing
/// permission and how to get it.
pub async fn authorize(store: &dyn Store, identity: &Identity, request: Request<'_>) -> Result<(), ApiError> {
    let held = granted(store, identity, request.project).await?;
    access::decide(&held, &request).map_err(|denied| forbidden(identity, &request, &denied.to_string()))
}

pub(crate) fn forbidden(identity: &Identity, request: &Request<'_>, why: &str) -> ApiError {
    let grant = if request.project.is_empty() {
        "an administrator can give a system role: convoy grant --system --role kargo-admin --token NAME".to_owned()
    } else {
        let name = if request.name.is_empty() { String::new() } else { format!(" --resource-name {}", request.name) };
        format!(
            "a project admin can grant it: convoy grant -p {} --role ROLE --verb {} --resource-type {}{name}",
            request.project, request.verb, request.resource
        )
    };
    ApiError::new(StatusCode::FORBIDDEN, "Forbidden", format!("{} may not {request}: {why}; {grant}", identity.actor))
}

/// The projects among `projects` that `identity` may read (`get` on the Project).
pub async fn readable(
    store: &dyn Store,
    identity: &Identity,
    projects: Vec<String>,
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let system = granted(store, identity, "").await?;
    let everywhere =
        access::decide(&system, &Request { verb: "get", resource: "projects", project: "*", name: "*" }).is_ok();
    let named: BTreeSet<&str> = identity.grants.iter().map(|g| g.project.as_str()).collect();
    for project in projects {
        if everywhere {
            out.push(project);
            continue;
        }
        if !named.contains(project.as_str()) && identity.claims.is_null() {
            continue;
        }
        let held = granted(store, identity, &project).await?;
        let request = Request { verb: "get", resource: "projects", project: &project, name: &project };
        if access::decide(&held, &request).is_ok() {
            out.push(project);
        }
    }
    Ok(out)
}

/// Compares secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Writes the admin token to `path` as one line, readable only by the owner.
pub fn write_token_file(path: &Path, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    writeln!(file, "{token}")
}
