//! Who may do what: Kargo's access model. Roles are Kubernetes RBAC rules over Kargo's resource
//! types (plus Kargo's `promote` verb on `stages`); system roles apply everywhere, project roles
//! in their project. One [`decide`] answers every entry point (API, UI, CLI, receivers).
//!
//! ```text
//!  identity ──▶ bindings (token grants, claims matched by roles) ──▶ Vec<Granted> ──┐
//!  request (verb, resource, project, name) ─────────────────────────────────────────┴─▶ decide
//! ```
//!
//! Pure: the server gathers the rules from the store, this module decides.

mod builtin;
#[cfg(test)]
mod tests;

pub use builtin::{PROJECT_ROLES, SYSTEM_ROLES, project_role, system_role};

use convoy_api::Kind;
use convoy_api::rbac::{PolicyRule, Role};

use crate::problem::Problems;

/// The verbs a rule may name: Kubernetes' and Kargo's `promote`.
pub const VERBS: [&str; 8] = ["get", "list", "watch", "create", "update", "patch", "delete", "promote"];

/// The resource types rules may name (Kargo's RBAC names, plus Convoy's `tokens` and `audit`).
pub const RESOURCES: [&str; 18] = [
    "projects",
    "projectconfigs",
    "clusterconfigs",
    "warehouses",
    "freights",
    "freights/status",
    "stages",
    "promotions",
    "promotiontasks",
    "clusterpromotiontasks",
    "secrets",
    "configmaps",
    "analysistemplates",
    "clusteranalysistemplates",
    "events",
    "roles",
    "tokens",
    "audit",
];

/// The RBAC resource type of a kind (Kargo's plural: `freights`, where URLs say `freight`).
pub fn resource_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Freight => "freights",
        other => other.plural(),
    }
}

/// What a request asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub verb: &'a str,
    pub resource: &'a str,
    /// The project the object belongs to; empty for cluster-scoped objects. A Project itself
    /// counts as belonging to the project it is.
    pub project: &'a str,
    /// The object's name; empty for `list`, `watch` and `create` of an unnamed object.
    pub name: &'a str,
}

impl std::fmt::Display for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if !self.name.is_empty() {
            write!(f, "/{}", self.name)?;
        }
        if !self.project.is_empty() {
            write!(f, " in project {}", self.project)?;
        }
        Ok(())
    }
}

/// Where a role's rules apply.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// A system role: every project and the cluster-scoped resources.
    System,
    Project(String),
}

/// A role an identity holds, with the rules it grants.
#[derive(Debug, Clone, PartialEq)]
pub struct Granted {
    pub scope: Scope,
    pub role: String,
    pub rules: Vec<PolicyRule>,
}

/// Why a request is refused: what was asked and which roles were considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub needed: String,
    pub held: Vec<String>,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "missing permission: {}", self.needed)?;
        if self.held.is_empty() {
            write!(f, " (no role is granted to this identity)")
        } else {
            write!(f, " (roles held: {})", self.held.join(", "))
        }
    }
}

fn rule_allows(rule: &PolicyRule, request: &Request<'_>) -> bool {
    let verb = rule.verbs.iter().any(|v| v == "*" || v == request.verb);
    let resource = rule.resources.iter().any(|r| r == "*" || r == request.resource);
    // As Kubernetes: rules limited to names never match requests without a name (list, create).
    let name = rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == request.name);
    verb && resource && name
}

fn applies(granted: &Granted, project: &str) -> bool {
    match &granted.scope {
        Scope::System => true,
        Scope::Project(p) => p == project,
    }
}

/// Allows the request when any rule of a role that applies to its project allows it.
pub fn decide(held: &[Granted], request: &Request<'_>) -> Result<(), Denied> {
    let allowed =
        held.iter().filter(|g| applies(g, request.project)).any(|g| g.rules.iter().any(|r| rule_allows(r, request)));
    if allowed {
        return Ok(());
    }
    Err(Denied {
        needed: request.to_string(),
        held: held
            .iter()
            .map(|g| match &g.scope {
                Scope::System => format!("{} (system)", g.role),
                Scope::Project(p) => format!("{} in {p}", g.role),
            })
            .collect(),
    })
}

/// Whether `held` already allows everything `rules` would grant in `scope`: nobody can give
/// a role, or a rule, more than they have (Kubernetes' escalation check). Wildcards in `rules`
/// must be held as wildcards; a rule without names needs a held rule without names.
pub fn covers(held: &[Granted], scope: &Scope, rules: &[PolicyRule]) -> Result<(), Denied> {
    let held_here: Vec<&Granted> = held
        .iter()
        .filter(|g| match scope {
            Scope::System => g.scope == Scope::System,
            Scope::Project(p) => applies(g, p),
        })
        .collect();
    for rule in rules {
        for verb in &rule.verbs {
            for resource in &rule.resources {
                let names: Vec<Option<&str>> = if rule.resource_names.is_empty() {
                    vec![None]
                } else {
                    rule.resource_names.iter().map(|n| Some(n.as_str())).collect()
                };
                for name in names {
                    let covered = held_here.iter().any(|g| {
                        g.rules.iter().any(|h| {
                            let verb_ok = h.verbs.iter().any(|v| v == "*" || v == verb);
                            let resource_ok = h.resources.iter().any(|r| r == "*" || r == resource);
                            let name_ok = h.resource_names.is_empty()
                                || name.is_some_and(|n| h.resource_names.iter().any(|h| h == n));
                            verb_ok && resource_ok && name_ok
                        })
                    });
                    if !covered {
                        let project = match scope {
                            Scope::System => "",
                            Scope::Project(p) => p.as_str(),
                        };
                        let request = Request { verb, resource, project, name: name.unwrap_or("") };
                        return Err(Denied {
                            needed: format!("{request} (a role can only grant what its granter holds)"),
                            held: held.iter().map(|g| g.role.clone()).collect(),
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether a user with these claims has `role`: any listed value of any claim matches (Kargo's
/// `rbac.kargo.akuity.io/claims` semantics; a claim may be a string or a list of strings).
pub fn claims_match(role: &Role, claims: &serde_json::Value) -> bool {
    role.claims.iter().any(|claim| {
        let values: Vec<&str> = match claims.get(&claim.name) {
            Some(serde_json::Value::String(s)) => vec![s.as_str()],
            Some(serde_json::Value::Array(items)) => items.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        };
        claim.values.iter().any(|wanted| values.contains(&wanted.as_str()))
    })
}

/// Admission of a Role: known verbs and resource types, claims with values.
pub fn validate_role(role: &Role, problems: &mut Problems) {
    for (i, rule) in role.rules.iter().enumerate() {
        if rule.verbs.is_empty() {
            problems.error(format!("rules[{i}].verbs"), "a rule needs at least one verb").with_hint(verbs_hint());
        }
        for (j, verb) in rule.verbs.iter().enumerate() {
            if verb != "*" && !VERBS.contains(&verb.as_str()) {
                let guess = convoy_api::suggest::closest(verb, VERBS)
                    .map(|g| format!("did you mean {g:?}? "))
                    .unwrap_or_default();
                problems
                    .error(format!("rules[{i}].verbs[{j}]"), format!("unknown verb {verb:?}"))
                    .with_hint(format!("{guess}{}", verbs_hint()));
            }
        }
        if rule.resources.is_empty() {
            problems.error(format!("rules[{i}].resources"), "a rule needs at least one resource type");
        }
        for (j, resource) in rule.resources.iter().enumerate() {
            if resource != "*" && !RESOURCES.contains(&resource.as_str()) {
                let guess = convoy_api::suggest::closest(resource, RESOURCES)
                    .map(|g| format!("did you mean {g:?}? "))
                    .unwrap_or_default();
                problems
                    .error(format!("rules[{i}].resources[{j}]"), format!("unknown resource type {resource:?}"))
                    .with_hint(format!("{guess}resource types: {}", RESOURCES.join(", ")));
            }
        }
        if rule.verbs.iter().any(|v| v == "promote") && rule.resources.iter().any(|r| r != "stages" && r != "*") {
            problems
                .warning(format!("rules[{i}]"), "the promote verb only means something on stages")
                .with_hint("put promote in a rule of its own with resources: [stages]");
        }
    }
    for (i, claim) in role.claims.iter().enumerate() {
        if claim.name.trim().is_empty() {
            problems.error(format!("claims[{i}].name"), "a claim needs a name").with_hint("e.g. groups, email, sub");
        }
        if claim.values.is_empty() {
            problems.error(format!("claims[{i}].values"), "a claim needs at least one value");
        }
    }
}

fn verbs_hint() -> String {
    format!("verbs: {} or *", VERBS.join(", "))
}
