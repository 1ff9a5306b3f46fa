//! Step runners: one per step kind, looked up by `uses`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value as Json};

/// What a runner gets: its evaluated config and where it runs.
#[derive(Debug, Clone)]
pub struct StepContext {
    pub alias: String,
    pub config: Json,
    pub project: String,
    pub stage: String,
    pub promotion: String,
    /// The promotion's working directory (steps' relative paths start here).
    pub work_dir: std::path::PathBuf,
    /// The Freight being promoted, one per requested origin.
    pub freight: Vec<convoy_api::FreightReference>,
    /// Who asked for the promotion (the `create-actor` annotation), empty for auto-promotion.
    pub actor: String,
    /// This step's output from its previous call, for a step that runs more than once
    /// (`argocd-wait` compares health with what it saw before).
    pub previous_output: Option<Json>,
}

/// Decodes a step's evaluated config into its typed form, with Kargo's error text:
/// `invalid <kind> config: <field path>: <reason>`.
pub fn decode_config<T: serde::de::DeserializeOwned>(kind: &str, config: &Json) -> Result<T, StepError> {
    serde_path_to_error::deserialize(config).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { format!("{path}: ") };
        StepError::terminal(format!("invalid {kind} config: {path}{}", e.inner()))
    })
}

/// What a runner reports.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    /// Succeeded, or Running when the step must be called again later (polling).
    pub status: crate::StepStatus,
    pub message: Option<String>,
    pub output: Map<String, Json>,
    /// When to look again, for a Running step.
    pub retry_after: Option<Duration>,
    pub health_check: Option<Json>,
}

impl StepResult {
    pub fn succeeded(output: Map<String, Json>) -> StepResult {
        StepResult {
            status: crate::StepStatus::Succeeded,
            message: None,
            output,
            retry_after: None,
            health_check: None,
        }
    }

    /// Nothing to do (`git-open-pr` with no changes between the branches).
    pub fn skipped(message: impl Into<String>) -> StepResult {
        StepResult {
            status: crate::StepStatus::Skipped,
            message: Some(message.into()),
            output: Map::new(),
            retry_after: None,
            health_check: None,
        }
    }

    pub fn running(message: impl Into<String>, retry_after: Duration) -> StepResult {
        StepResult {
            status: crate::StepStatus::Running,
            message: Some(message.into()),
            output: Map::new(),
            retry_after: Some(retry_after),
            health_check: None,
        }
    }
}

/// A step failure. `terminal` ends the step at once (Failed or Errored); otherwise it counts
/// against the step's error threshold and the step is retried.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    pub message: String,
    pub terminal: bool,
    /// A terminal failure the step declares as Failed (not Errored), e.g. the `fail` step.
    pub failed: bool,
    pub output: Map<String, Json>,
}

impl StepError {
    pub fn terminal(message: impl Into<String>) -> StepError {
        StepError { message: message.into(), terminal: true, failed: false, output: Map::new() }
    }

    pub fn failed(message: impl Into<String>) -> StepError {
        StepError { message: message.into(), terminal: true, failed: true, output: Map::new() }
    }

    pub fn retryable(message: impl Into<String>) -> StepError {
        StepError { message: message.into(), terminal: false, failed: false, output: Map::new() }
    }
}

#[async_trait]
pub trait StepRunner: Send + Sync {
    /// The `uses` value.
    fn kind(&self) -> &'static str;

    /// Whether the step may run again after a crash while it was running (no outside effect,
    /// or an effect it can detect as already done).
    fn idempotent(&self) -> bool {
        true
    }

    /// Kargo's per-step default timeout (`argocd-*`: 5 minutes); none by default.
    fn default_timeout(&self) -> Option<Duration> {
        None
    }

    /// Only `compose-output`: its output is also merged into the task alias.
    fn propagates_task_output(&self) -> bool {
        false
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError>;
}

/// Why a change or look-up through [`Resources`] failed: steps branch on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    /// Refused for good: the object is missing, or admission said no (an alias taken).
    #[error("{0}")]
    Refused(String),
    /// The store failed or the object kept changing: trying again may succeed.
    #[error("{0}")]
    Unavailable(String),
}

impl ResourceError {
    /// A step's error of the same kind: terminal when refused, retryable otherwise.
    pub fn into_step_error(self, doing: &str) -> StepError {
        match self {
            ResourceError::Refused(why) => StepError::terminal(format!("{doing}: {why}")),
            ResourceError::Unavailable(why) => StepError::retryable(format!("{doing}: {why}")),
        }
    }
}

/// Changes to stored resources that steps may make (`set-metadata`, `set-freight-alias`), through
/// the same admission as every other write. The server implements it over its store.
#[async_trait]
pub trait Resources: Send + Sync {
    /// Sets a Freight's alias (field and label); refused when another Freight of the project has it.
    async fn set_freight_alias(&self, project: &str, freight: &str, alias: &str) -> Result<(), ResourceError>;

    /// Sets keys of `status.metadata` of a Stage or Freight, leaving other keys alone.
    async fn set_metadata(
        &self,
        project: &str,
        kind: convoy_api::Kind,
        name: &str,
        values: &Map<String, Json>,
    ) -> Result<(), ResourceError>;

    /// Credentials for a git repository from the project's Secrets (Kargo's
    /// `kargo.akuity.io/cred-type: git`); none when no Secret matches.
    async fn git_credentials(&self, _project: &str, _repo_url: &str) -> Result<Option<RepoCredentials>, ResourceError> {
        Ok(None)
    }

    /// Credentials for a chart repository or registry (`kind` is `helm` or `image`).
    async fn source_credentials(
        &self,
        _project: &str,
        _kind: &str,
        _url: &str,
    ) -> Result<Option<RepoCredentials>, ResourceError> {
        Ok(None)
    }

    /// The installation's commit author (ClusterConfig `spec.gitClient`), when set.
    async fn git_author(&self) -> Option<(String, String)> {
        None
    }

    /// Holds the lock `name` among every replica sharing the store until the guard is dropped
    /// (at once when one process is all there is). `git-push` serialises pushes to a branch
    /// across replicas and shards with it.
    async fn exclusive(&self, _name: &str) -> Result<Box<dyn Send + Sync>, ResourceError> {
        Ok(Box::new(()))
    }
}

/// A username and password (or token). Never logged: `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RepoCredentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for RepoCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoCredentials").field("username", &self.username).field("password", &"***").finish()
    }
}

/// No access to stored resources (offline runs and tests): the steps that need it fail saying so.
pub struct NoResources;

#[async_trait]
impl Resources for NoResources {
    async fn set_freight_alias(&self, _project: &str, _freight: &str, _alias: &str) -> Result<(), ResourceError> {
        Err(ResourceError::Refused("this run has no access to stored resources".into()))
    }

    async fn set_metadata(
        &self,
        _project: &str,
        _kind: convoy_api::Kind,
        _name: &str,
        _values: &Map<String, Json>,
    ) -> Result<(), ResourceError> {
        Err(ResourceError::Refused("this run has no access to stored resources".into()))
    }
}

/// Runners by kind.
#[derive(Default, Clone)]
pub struct Registry {
    runners: HashMap<&'static str, Arc<dyn StepRunner>>,
}

impl Registry {
    pub fn register(&mut self, runner: Arc<dyn StepRunner>) {
        self.runners.insert(runner.kind(), runner);
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn StepRunner>> {
        self.runners.get(kind)
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.runners.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refusal ends the step; an unavailable store is worth another attempt.
    #[test]
    fn resource_errors_become_step_errors_of_their_kind() {
        let refused = ResourceError::Refused("alias \"x\" is taken".into()).into_step_error("cannot set the alias");
        assert!(refused.terminal && !refused.failed);
        assert_eq!(refused.message, "cannot set the alias: alias \"x\" is taken");
        let unavailable =
            ResourceError::Unavailable("database is locked".into()).into_step_error("cannot set metadata");
        assert!(!unavailable.terminal);
        assert_eq!(unavailable.message, "cannot set metadata: database is locked");
    }
}
