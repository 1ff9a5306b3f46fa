//! `git-wait-for-pr` and `git-merge-pr` (reference §3.8; forges.md §1.7, §1.9): one look at the
//! pull request per run, Running with the poll interval while it is open (the engine asks again;
//! nothing waits here), the forge's rate limit answered the same way.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use convoy_engine::{Resources, StepContext, StepError, StepResult, StepRunner};
use convoy_forge::{Forge, ForgeError, GitHub, Merge, Provider, PullRequest, Repository};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::decode;

/// What both steps name: the repository, the PR, how to reach the forge.
struct Target<'a> {
    repo_url: &'a str,
    pr_number: i64,
    provider: Option<&'a str>,
    insecure: bool,
}

/// The forge of `repo_url` with the project's git token (the credentials Secret's password);
/// refuses a PR number below 1 first.
async fn forge_for(
    kind: &str,
    resources: &dyn Resources,
    context: &StepContext,
    target: Target<'_>,
) -> Result<Box<dyn Forge>, StepError> {
    let Target { repo_url, pr_number, provider, insecure } = target;
    if pr_number < 1 {
        return Err(StepError::terminal(format!("invalid {kind} config: prNumber: must be 1 or more")));
    }
    let provider = Provider::for_url(repo_url, provider)
        .map_err(|e| StepError::terminal(format!("error creating git provider service: {e}")))?;
    let repository = Repository::of(repo_url, provider)
        .map_err(|e| StepError::terminal(format!("error creating git provider service: {e}")))?;
    let token = resources
        .git_credentials(&context.project, repo_url)
        .await
        .map_err(|e| e.into_step_error("cannot look up credentials"))?
        .map(|c| c.password)
        .filter(|p| !p.is_empty());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .danger_accept_invalid_certs(insecure)
        .build()
        .map_err(|e| StepError::retryable(e.to_string()))?;
    match provider {
        Provider::GitHub => Ok(Box::new(GitHub::new(repository, token, http))),
        other => Err(StepError::terminal(format!(
            "{kind}: the {other} provider is not supported by this version of Convoy yet (GitHub is)"
        ))),
    }
}

/// A forge's error as the step's: a rate limit is "come back later", missing or forbidden things
/// do not mend by asking again, the network might.
fn forge_error(number: i64, what: &str, error: ForgeError) -> Result<StepResult, StepError> {
    match error {
        ForgeError::RateLimited { retry_after_secs, .. } => Ok(StepResult::running(
            format!("{error}; pull request {number} will be looked at then"),
            Duration::from_secs(retry_after_secs),
        )),
        ForgeError::Unavailable(message) => {
            Err(StepError::retryable(format!("error {what} pull request {number}: {message}")))
        }
        ForgeError::NotFound(message) | ForgeError::Forbidden(message) | ForgeError::Refused(message) => {
            Err(StepError::terminal(format!("error {what} pull request {number}: {message}")))
        }
    }
}

fn poll_interval(given: Option<&str>, default: u64) -> Result<Duration, StepError> {
    match given {
        Some(text) => convoy_core::duration::parse(text).map_err(|e| StepError::terminal(format!("pollInterval: {e}"))),
        None => Ok(Duration::from_secs(default)),
    }
}

/// Kargo's output: `pr: {id, url, open, merged}`, and `commit` once merged.
fn output(pr: &PullRequest) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("pr".into(), json!({"id": pr.number, "url": pr.url, "open": pr.open, "merged": pr.merged}));
    if let Some(commit) = pr.merge_commit.as_ref().filter(|_| pr.merged) {
        out.insert("commit".into(), json!(commit));
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WaitConfig {
    #[serde(rename = "repoURL")]
    repo_url: String,
    pr_number: i64,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    poll_interval: Option<String>,
    #[serde(default)]
    insecure_skip_tls_verify: bool,
}

pub struct GitWaitForPr {
    pub resources: Arc<dyn Resources>,
}

#[async_trait]
impl StepRunner for GitWaitForPr {
    fn kind(&self) -> &'static str {
        "git-wait-for-pr"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: WaitConfig = decode(self.kind(), &context.config)?;
        let interval = poll_interval(config.poll_interval.as_deref(), 30)?;
        let target = Target {
            repo_url: &config.repo_url,
            pr_number: config.pr_number,
            provider: config.provider.as_deref(),
            insecure: config.insecure_skip_tls_verify,
        };
        let forge = forge_for(self.kind(), &*self.resources, context, target).await?;
        let pr = match forge.get(config.pr_number).await {
            Ok(pr) => pr,
            Err(e) => return forge_error(config.pr_number, "getting", e),
        };
        if pr.open {
            let mut result = StepResult::running(format!("pull request {} is open: {}", pr.number, pr.url), interval);
            result.output = output(&pr);
            return Ok(result);
        }
        if !pr.merged {
            let mut error = StepError::failed(format!("pull request {} was closed without being merged", pr.number));
            error.output = output(&pr);
            return Err(error);
        }
        Ok(StepResult::succeeded(output(&pr)))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MergeConfig {
    #[serde(rename = "repoURL")]
    repo_url: String,
    pr_number: i64,
    #[serde(default)]
    merge_method: Option<String>,
    #[serde(default)]
    wait: bool,
    #[serde(default)]
    poll_interval: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    insecure_skip_tls_verify: bool,
}

pub struct GitMergePr {
    pub resources: Arc<dyn Resources>,
}

#[async_trait]
impl StepRunner for GitMergePr {
    fn kind(&self) -> &'static str {
        "git-merge-pr"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: MergeConfig = decode(self.kind(), &context.config)?;
        let interval = poll_interval(config.poll_interval.as_deref(), 10)?;
        let target = Target {
            repo_url: &config.repo_url,
            pr_number: config.pr_number,
            provider: config.provider.as_deref(),
            insecure: config.insecure_skip_tls_verify,
        };
        let forge = forge_for(self.kind(), &*self.resources, context, target).await?;
        let method = config.merge_method.as_deref().filter(|m| !m.is_empty());
        match forge.merge(config.pr_number, method).await {
            Ok(Merge::Merged(pr)) => {
                let mut out = Map::new();
                if let Some(commit) = pr.merge_commit {
                    out.insert("commit".into(), json!(commit));
                }
                Ok(StepResult::succeeded(out))
            }
            Ok(Merge::NotReady(why)) if config.wait => Ok(StepResult::running(why, interval)),
            Ok(Merge::NotReady(why)) => Err(StepError::failed(format!(
                "pull request {} is not ready to merge and wait is disabled ({why})",
                config.pr_number
            ))),
            Err(e @ ForgeError::RateLimited { .. }) => forge_error(config.pr_number, "merging", e),
            // Kargo: every merge error is terminal (conflicts, a method not allowed, a closed PR).
            Err(e) => Err(StepError::failed(format!("error merging pull request {}: {e}", config.pr_number))),
        }
    }
}
