//! Kargo's role abstraction (`rbac.kargo.akuity.io/v1alpha1` Role): the users a role maps (by
//! OpenID Connect claims) and the Kubernetes RBAC rules it grants in its project.

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;

/// The API group and version of [`Role`].
pub const RBAC_API_VERSION: &str = "rbac.kargo.akuity.io/v1alpha1";

/// A project role: who has it (claims) and what it allows (rules).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Role {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// One of the roles Convoy defines for every project (`kargo-admin`, `kargo-promoter`,
    /// `kargo-viewer`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kargo_managed: bool,
    /// Users whose token carries any of these claim values have the role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<Claim>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<PolicyRule>,
}

/// `{name: groups, values: [devops]}`: an OpenID Connect claim and the values that match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Claim {
    pub name: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// A Kubernetes RBAC rule: `verbs` on `resources`, optionally only the objects named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub verbs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
}

impl PolicyRule {
    /// A rule over `resources` with `verbs`, every object.
    pub fn new(verbs: &[&str], resources: &[&str]) -> PolicyRule {
        PolicyRule {
            api_groups: Vec::new(),
            resources: resources.iter().map(|r| (*r).to_owned()).collect(),
            verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
            resource_names: Vec::new(),
        }
    }
}
