//! Promotion, PromotionTask and ClusterPromotionTask.

use serde::{Deserialize, Serialize};

use crate::common::{ExpressionVariable, FreightOrigin, PromotionStep};
use crate::freight::{FreightCollection, FreightReference};
use crate::meta::ObjectMeta;

/// A request to move one piece of Freight into one Stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Promotion {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PromotionSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PromotionStatus>,
}

/// Who created an object (Kargo's `kargo.akuity.io/create-actor` annotation).
pub const CREATE_ACTOR_ANNOTATION: &str = "kargo.akuity.io/create-actor";

impl Promotion {
    /// A request to promote `freight` into `stage`, as people and controllers make one:
    /// admission names it (`<stage>.<ULID>.<freight>`, from `generateName`) and builds its steps
    /// from the Stage.
    pub fn request(project: &str, stage: &str, freight: &str, actor: &str) -> Promotion {
        let mut metadata = ObjectMeta {
            generate_name: Some(format!("{stage}-")),
            namespace: Some(project.to_owned()),
            ..ObjectMeta::default()
        };
        metadata.annotations.insert(CREATE_ACTOR_ANNOTATION.to_owned(), actor.to_owned());
        Promotion {
            api_version: crate::KARGO_API_VERSION.to_owned(),
            kind: "Promotion".to_owned(),
            metadata,
            spec: PromotionSpec { stage: stage.to_owned(), freight: freight.to_owned(), ..PromotionSpec::default() },
            status: None,
        }
    }

    /// The phase: `Pending` until one is written; `None` for a word Kargo does not define (such
    /// a Promotion is neither run nor counted as finished).
    pub fn phase(&self) -> Option<Phase> {
        match self.status.as_ref().and_then(|s| s.phase.as_deref()) {
            None | Some("") => Some(Phase::Pending),
            Some(word) => Phase::parse(word),
        }
    }

    /// Whether it has ended (Succeeded, Failed, Errored or Aborted).
    pub fn is_finished(&self) -> bool {
        self.phase().is_some_and(Phase::is_terminal)
    }
}

/// A Promotion's phase, as Kargo writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Errored,
    Aborted,
}

impl Phase {
    pub const ALL: [Phase; 6] =
        [Phase::Pending, Phase::Running, Phase::Succeeded, Phase::Failed, Phase::Errored, Phase::Aborted];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
            Phase::Errored => "Errored",
            Phase::Aborted => "Aborted",
        }
    }

    /// Kargo's words, capitalised as it writes them.
    pub fn parse(word: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == word)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed | Phase::Errored | Phase::Aborted)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromotionSpec {
    #[serde(default)]
    pub stage: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub freight: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<FreightOrigin>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<ExpressionVariable>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<PromotionStep>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_refresh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight: Option<FreightReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight_collection: Option<FreightCollection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_execution_metadata: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<serde_json::Value>,
}

/// A reusable list of steps with variables, scoped to a project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromotionTask {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PromotionTaskSpec,
}

/// The same as [`PromotionTask`], cluster-scoped.
pub type ClusterPromotionTask = PromotionTask;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionTaskSpec {
    /// A var with an empty value is required; a non-empty value is a default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<ExpressionVariable>,
    #[serde(default)]
    pub steps: Vec<PromotionStep>,
}
