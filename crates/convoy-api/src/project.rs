//! Project, ProjectConfig and ClusterConfig.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::{Condition, LabelSelector, ObjectMeta};

/// A Project: Kargo's namespace. It has no spec in Kargo v1.11.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Project {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ProjectStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<serde_json::Value>,
}

/// Per-project settings: promotion policies, webhook receivers, deep links.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectConfig {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ProjectConfigSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConfigStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectConfigSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotion_policies: Vec<PromotionPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_receivers: Vec<WebhookReceiverConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freight_links: Vec<DeepLink>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stage_links: Vec<DeepLink>,
    /// When the project's Stages may be promoted (Kargo Enterprise's field, enforced here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotion_windows: Vec<PromotionWindow>,
}

/// A recurring or one-shot time window that allows or denies promotions of the Stages it
/// selects (Kargo main's `PromotionWindow`; RFC 5545 recurrence).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromotionWindow {
    pub name: String,
    /// Which Stages; all in scope when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_selector: Option<PromotionPolicySelector>,
    /// Which Projects (ClusterConfig only); all when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_selector: Option<PromotionPolicySelector>,
    /// `Allow` or `Deny`.
    pub kind: String,
    /// An RFC 5545 recurrence rule (`FREQ=WEEKLY;BYDAY=MO,TU`); one-shot when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrule: Option<String>,
    /// Start, as an iCal date-time with an optional `TZID=Zone:` prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtstart: Option<String>,
    /// End of the first occurrence; with `rrule`, `dtend - dtstart` is every occurrence's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtend: Option<String>,
}

/// Which Stages auto-promote. The first matching policy wins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromotionPolicy {
    /// Deprecated exact Stage name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_selector: Option<PromotionPolicySelector>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_promotion_enabled: bool,
    /// Kargo Enterprise only; accepted and kept, not acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rollback: Option<serde_json::Value>,
}

/// A Stage selector: a name (exact, `glob:`, `regex:`, `regexp:`) ANDed with a label selector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromotionPolicySelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<crate::meta::LabelSelectorRequirement>,
}

/// A webhook receiver: a name and exactly one provider block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookReceiverConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<SecretReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<SecretReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitbucket: Option<SecretReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerhub: Option<SecretReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harbor: Option<SecretReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quay: Option<SecretReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifactory: Option<ArtifactoryReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<SecretReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitea: Option<SecretReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic: Option<GenericReceiver>,
}

impl WebhookReceiverConfig {
    /// The provider blocks that are set, by name.
    pub fn providers(&self) -> Vec<&'static str> {
        let set = [
            ("github", self.github.is_some()),
            ("gitlab", self.gitlab.is_some()),
            ("bitbucket", self.bitbucket.is_some()),
            ("dockerhub", self.dockerhub.is_some()),
            ("harbor", self.harbor.is_some()),
            ("quay", self.quay.is_some()),
            ("artifactory", self.artifactory.is_some()),
            ("azure", self.azure.is_some()),
            ("gitea", self.gitea.is_some()),
            ("generic", self.generic.is_some()),
        ];
        set.into_iter().filter(|(_, on)| *on).map(|(name, _)| name).collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretReceiver {
    pub secret_ref: LocalObjectReference,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactoryReceiver {
    pub secret_ref: LocalObjectReference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_repo_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenericReceiver {
    pub secret_ref: LocalObjectReference,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<GenericWebhookAction>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenericWebhookAction {
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_expression: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_selection_criteria: Vec<GenericWebhookTargetSelectionCriteria>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenericWebhookTargetSelectionCriteria {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_selector: Option<serde_json::Value>,
}

/// A reference to an object in the same project by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalObjectReference {
    pub name: String,
}

/// A UI deep link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeepLink {
    pub title: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// Status of ProjectConfig and ClusterConfig.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_refresh: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_receivers: Vec<WebhookReceiverStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookReceiverStatus {
    pub name: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub url: String,
}

/// Cluster-wide settings; its name must be `cluster`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterConfig {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ClusterConfigSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConfigStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterConfigSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_receivers: Vec<WebhookReceiverConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_client: Option<GitClientConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freight_links: Vec<DeepLink>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stage_links: Vec<DeepLink>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotion_windows: Vec<PromotionWindow>,
}

/// The git author of promotion commits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitClientConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key_secret: Option<LocalObjectReference>,
}
