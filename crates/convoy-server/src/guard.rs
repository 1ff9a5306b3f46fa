//! What each kind of request needs, on top of [`crate::auth::authorize`]: writes of Promotions
//! need `promote` on their Stage, writes of Roles must not give more than the writer holds.

use convoy_api::{Kind, Resource};
use std::collections::HashMap;

use convoy_core::access::{self, Granted, Request, Scope};
use convoy_store::{Grant, Key, Store};

use crate::AppState;
use crate::auth::{Identity, authorize, forbidden, granted};
use crate::error::ApiError;

/// `verb` on the object of `kind` named `name` in `project` (a Project belongs to itself).
pub async fn allow(
    state: &AppState,
    identity: &Identity,
    verb: &str,
    kind: Kind,
    project: &str,
    name: &str,
) -> Result<(), ApiError> {
    let project = if kind == Kind::Project { name } else { project };
    let request = Request { verb, resource: access::resource_of(kind), project, name };
    authorize(&*state.store, identity, request).await
}

/// `create` or `update`, as the object exists or not.
pub async fn create_or_update(store: &dyn Store, key: &Key) -> Result<&'static str, ApiError> {
    Ok(if key.name.is_empty() || store.get(key).await?.is_none() { "create" } else { "update" })
}

/// May `identity` write `resource` with `verb` (`create`, `update`, `patch`, `delete`)?
pub async fn allow_write(
    state: &AppState,
    identity: &Identity,
    resource: &Resource,
    verb: &str,
) -> Result<(), ApiError> {
    Writes::new(state, identity).check(resource, Some(verb)).await
}

/// Checks a set of writes, reading each project's roles once (an apply of 30,000 Freight asks
/// the same question 30,000 times).
pub struct Writes<'a> {
    state: &'a AppState,
    identity: &'a Identity,
    held: HashMap<String, Vec<Granted>>,
}

impl<'a> Writes<'a> {
    pub fn new(state: &'a AppState, identity: &'a Identity) -> Writes<'a> {
        Writes { state, identity, held: HashMap::new() }
    }

    /// The roles held in `project`, read once per set.
    async fn held(&mut self, project: &str) -> Result<&[Granted], ApiError> {
        if !self.held.contains_key(project) {
            let held = granted(&*self.state.store, self.identity, project).await?;
            self.held.insert(project.to_owned(), held);
        }
        Ok(&self.held[project])
    }

    async fn decide(&mut self, request: Request<'_>) -> Result<(), ApiError> {
        let identity = self.identity;
        let held = self.held(request.project).await?;
        access::decide(held, &request).map_err(|denied| forbidden(identity, &request, &denied.to_string()))
    }

    /// `verb` given, or `create`/`update` as the object exists (`None`).
    pub async fn check(&mut self, resource: &Resource, verb: Option<&str>) -> Result<(), ApiError> {
        let kind = resource.kind();
        let meta = resource.metadata();
        let name = meta.name();
        let project = if kind == Kind::Project { name } else { meta.namespace() };
        let type_ = access::resource_of(kind);
        let verb = match verb {
            Some(verb) => verb,
            None => {
                // Whoever may both create and update needs no look at the store.
                let both = self.decide(Request { verb: "create", resource: type_, project, name: "" }).await.is_ok()
                    && self.decide(Request { verb: "update", resource: type_, project, name }).await.is_ok();
                if both {
                    return self.extra(resource, "create").await;
                }
                let key = Key::new(kind, meta.namespace(), name);
                create_or_update(&*self.state.store, &key).await?
            }
        };
        let named = if verb == "create" && name.is_empty() { "" } else { name };
        self.decide(Request { verb, resource: type_, project, name: named }).await?;
        self.extra(resource, verb).await
    }

    async fn extra(&mut self, resource: &Resource, verb: &str) -> Result<(), ApiError> {
        let meta = resource.metadata();
        let project = meta.namespace();
        match resource {
            // Kargo's Promotion webhook: creating one is promoting.
            Resource::Promotion(promotion) if verb == "create" => {
                let stage = promotion.spec.stage.as_str();
                self.decide(Request { verb: "promote", resource: "stages", project, name: stage }).await
            }
            // Nobody gives a role more than they hold (Kubernetes' escalation check).
            Resource::Role(role) if verb != "delete" => {
                let identity = self.identity;
                let held = self.held(project).await?;
                access::covers(held, &Scope::Project(project.into()), &role.rules).map_err(|denied| {
                    let request = Request { verb, resource: "roles", project, name: meta.name() };
                    forbidden(identity, &request, &denied.to_string())
                })
            }
            _ => Ok(()),
        }
    }
}

/// A project creator (Kargo's `kargo-project-creator`) administers the projects it creates:
/// its token is given the project's `kargo-admin` role.
pub async fn creator_administers(state: &AppState, identity: &Identity, project: &str) -> Result<(), ApiError> {
    let Some(token) = &identity.token else { return Ok(()) };
    let held = granted(&*state.store, identity, project).await?;
    let request = Request { verb: "update", resource: "projects", project, name: project };
    if access::decide(&held, &request).is_ok() {
        return Ok(());
    }
    let mut grants = identity.grants.clone();
    grants.push(Grant { project: project.into(), role: "kargo-admin".into() });
    state.store.set_token_grants(token, &grants).await?;
    Ok(())
}
