//! What the engine records about a promotion: Kargo's `stepExecutionMetadata`, `state` and
//! `currentStep`, in the same JSON shape.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// A step's status. Severity order (for the final phase): Succeeded < Skipped < Running <
/// Aborted < Failed < Errored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub enum StepStatus {
    Succeeded,
    Skipped,
    #[default]
    Running,
    Aborted,
    Failed,
    Errored,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Succeeded => "Succeeded",
            StepStatus::Skipped => "Skipped",
            StepStatus::Running => "Running",
            StepStatus::Aborted => "Aborted",
            StepStatus::Failed => "Failed",
            StepStatus::Errored => "Errored",
        }
    }

    pub fn is_finished(self) -> bool {
        !matches!(self, StepStatus::Running)
    }
}

pub use convoy_api::promotion::Phase;

/// One step's record (`stepExecutionMetadata[]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepMeta {
    pub alias: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub error_count: u32,
    #[serde(default)]
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continue_on_error: bool,
    /// The step's configuration as evaluated for its last run, every value read from a Secret
    /// masked (beyond Kargo: what the step was actually given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
}

/// Everything the engine needs to pick up where it left off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    #[serde(default)]
    pub current_step: usize,
    #[serde(default)]
    pub step_execution_metadata: Vec<StepMeta>,
    /// Outputs by step alias (and by task alias, for compose-output).
    #[serde(default)]
    pub state: Map<String, Json>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<Json>,
}

impl Progress {
    pub fn meta(&self, alias: &str) -> Option<&StepMeta> {
        self.step_execution_metadata.iter().find(|m| m.alias == alias)
    }

    /// The record of `alias`, created (carrying `continueOnError`) when missing.
    pub(crate) fn meta_mut(&mut self, alias: &str, continue_on_error: bool) -> &mut StepMeta {
        if let Some(i) = self.step_execution_metadata.iter().position(|m| m.alias == alias) {
            return &mut self.step_execution_metadata[i];
        }
        self.step_execution_metadata.push(StepMeta {
            alias: alias.to_owned(),
            continue_on_error,
            ..StepMeta::default()
        });
        self.step_execution_metadata.last_mut().expect("just pushed")
    }

    /// An earlier step failed or errored without `continueOnError` (Kargo's `HasFailures`).
    pub fn has_failures(&self) -> bool {
        self.step_execution_metadata
            .iter()
            .any(|m| !m.continue_on_error && matches!(m.status, StepStatus::Failed | StepStatus::Errored))
    }

    /// The phase once every step has finished: the worst status among steps that do not
    /// continue on error.
    pub fn final_phase(&self) -> Phase {
        let worst = self
            .step_execution_metadata
            .iter()
            .filter(|m| !m.continue_on_error)
            .map(|m| m.status)
            .max()
            .unwrap_or(StepStatus::Succeeded);
        match worst {
            StepStatus::Succeeded | StepStatus::Skipped => Phase::Succeeded,
            StepStatus::Aborted => Phase::Aborted,
            StepStatus::Failed => Phase::Failed,
            StepStatus::Errored | StepStatus::Running => Phase::Errored,
        }
    }
}
