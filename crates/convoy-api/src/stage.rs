//! Stage: a node of a promotion pipeline.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::common::{ExpressionVariable, FreightOrigin, PromotionStep};
use crate::freight::FreightCollection;
use crate::meta::{Condition, ObjectMeta};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stage {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: StageSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StageStatus>,
}

impl Stage {
    /// A Stage without promotion steps only passes Freight on (Kargo's `IsControlFlow`).
    pub fn is_control_flow(&self) -> bool {
        self.spec.promotion_template.as_ref().is_none_or(|t| t.spec.steps.is_empty())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<ExpressionVariable>,
    #[serde(default)]
    pub requested_freight: Vec<FreightRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_template: Option<PromotionTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Kargo main only (Targets); kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<serde_json::Value>,
}

/// Freight a Stage wants from one origin, and where it may come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreightRequest {
    pub origin: FreightOrigin,
    #[serde(default)]
    pub sources: FreightSources,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreightSources {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub direct: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    /// A duration such as `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_soak_time: Option<String>,
    /// `All` or `OneOf` (also the meaning of empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_promotion_options: Option<AutoPromotionOptions>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoPromotionOptions {
    /// `NewestFreight` (default) or `MatchUpstream`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_policy: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionTemplate {
    #[serde(default)]
    pub spec: PromotionTemplateSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionTemplateSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<ExpressionVariable>,
    #[serde(default)]
    pub steps: Vec<PromotionStep>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Verification {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analysis_templates: Vec<AnalysisTemplateReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_run_metadata: Option<AnalysisRunMetadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<AnalysisRunArgument>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisTemplateReference {
    pub name: String,
    /// `AnalysisTemplate` (default) or `ClusterAnalysisTemplate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisRunMetadata {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisRunArgument {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_refresh: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freight_history: Vec<FreightCollection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight_summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_promotion: Option<PromotionReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_promotion: Option<PromotionReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_promotion_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub auto_promotion_holds: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub effective_auto_promotion_holds: BTreeMap<String, serde_json::Value>,
    /// The promotion windows gating the Stage, as of the last pass (advisory: admission decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_window_status: Option<PromotionWindowStatus>,
}

/// Kargo main's `PromotionWindowStatus`: whether promotions are frozen and until when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionWindowStatus {
    pub closed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_open: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_close: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_close_reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionReference {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight: Option<crate::freight::FreightReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// Is `origin` requested by this Stage?
pub fn requests<'a>(stage: &'a Stage, origin: &FreightOrigin) -> Option<&'a FreightRequest> {
    stage.spec.requested_freight.iter().find(|r| &r.origin == origin)
}
