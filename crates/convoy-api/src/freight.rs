//! Freight: a set of artifacts that moves through Stages together.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::common::{ArtifactReference, Chart, FreightOrigin, GitCommit, Image};
use crate::meta::ObjectMeta;

/// Artifact fields are top-level, as Kargo's Freight has no `spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Freight {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_at: Option<String>,
    #[serde(default)]
    pub origin: FreightOrigin,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<GitCommit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<Chart>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactReference>,
    #[serde(default, skip_serializing_if = "FreightStatus::is_empty")]
    pub status: FreightStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreightStatus {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub currently_in: BTreeMap<String, CurrentStage>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub verified_in: BTreeMap<String, VerifiedStage>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub approved_for: BTreeMap<String, ApprovedStage>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

impl FreightStatus {
    /// True when nothing is recorded (so an empty status is not printed).
    pub fn is_empty(&self) -> bool {
        self.currently_in.is_empty()
            && self.verified_in.is_empty()
            && self.approved_for.is_empty()
            && self.metadata.is_empty()
    }
}

/// Since when Freight is in a Stage (RFC 3339).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentStage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// When Freight was verified in a Stage and the longest soak it completed there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedStage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<String>,
    /// A duration string such as `1h0m0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_soak: Option<String>,
}

/// When Freight was approved for a Stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovedStage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
}

/// Freight as referenced from a Stage's history or a Promotion's status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreightReference {
    pub name: String,
    #[serde(default)]
    pub origin: FreightOrigin,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<GitCommit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<Chart>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactReference>,
}

impl Freight {
    /// How Stages and Promotions refer to this Freight: its name, origin and artifacts.
    pub fn reference(&self) -> FreightReference {
        FreightReference {
            name: self.metadata.name().to_owned(),
            origin: self.origin.clone(),
            commits: self.commits.clone(),
            images: self.images.clone(),
            charts: self.charts.clone(),
            artifacts: self.artifacts.clone(),
        }
    }
}

/// The Freight a Stage holds at one time, one per requested origin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreightCollection {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub items: BTreeMap<String, FreightReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification_history: Vec<serde_json::Value>,
}
