//! `git-open-pr`, `git-wait-for-pr` and `git-merge-pr` (reference §3.8; forges.md §1.6–1.9) on
//! GitHub, GitLab, Gitea/Forgejo, Bitbucket Cloud and Azure DevOps: one look at the pull request
//! per run, Running with the poll interval while it is open (the engine asks again; nothing
//! waits here), the forge's rate limit answered the same way.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use convoy_engine::{Resources, StepContext, StepError, StepResult, StepRunner};
use convoy_forge::{ApiOverrides, Forge, ForgeError, Merge, NewPullRequest, Provider, PullRequest};
use convoy_git::Mirrors;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::decode;

/// What every PR step names: the repository and how to reach its forge.
struct Target<'a> {
    repo_url: &'a str,
    provider: Option<&'a str>,
    insecure: bool,
}

/// The forge of `repo_url` with the project's git token (the credentials Secret's password),
/// at the API root the operator's overrides say.
async fn forge_for(
    resources: &dyn Resources,
    overrides: &ApiOverrides,
    context: &StepContext,
    target: Target<'_>,
) -> Result<Box<dyn Forge>, StepError> {
    let Target { repo_url, provider, insecure } = target;
    let provider = Provider::for_url(repo_url, provider)
        .map_err(|e| StepError::terminal(format!("error creating git provider service: {e}")))?;
    let repository = overrides
        .repository(repo_url, provider)
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
    Ok(convoy_forge::connect(repository, token, http))
}

fn check_number(kind: &str, number: i64) -> Result<(), StepError> {
    if number < 1 {
        return Err(StepError::terminal(format!("invalid {kind} config: prNumber: must be 1 or more")));
    }
    Ok(())
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
    #[serde(default, rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
}

pub struct GitWaitForPr {
    pub resources: Arc<dyn Resources>,
    pub overrides: Arc<ApiOverrides>,
}

#[async_trait]
impl StepRunner for GitWaitForPr {
    fn kind(&self) -> &'static str {
        "git-wait-for-pr"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: WaitConfig = decode(self.kind(), &context.config)?;
        let interval = poll_interval(config.poll_interval.as_deref(), 30)?;
        check_number(self.kind(), config.pr_number)?;
        let target = Target {
            repo_url: &config.repo_url,
            provider: config.provider.as_deref(),
            insecure: config.insecure_skip_tls_verify,
        };
        let forge = forge_for(&*self.resources, &self.overrides, context, target).await?;
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
    #[serde(default, rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
}

pub struct GitMergePr {
    pub resources: Arc<dyn Resources>,
    pub overrides: Arc<ApiOverrides>,
}

#[async_trait]
impl StepRunner for GitMergePr {
    fn kind(&self) -> &'static str {
        "git-merge-pr"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: MergeConfig = decode(self.kind(), &context.config)?;
        let interval = poll_interval(config.poll_interval.as_deref(), 10)?;
        check_number(self.kind(), config.pr_number)?;
        let target = Target {
            repo_url: &config.repo_url,
            provider: config.provider.as_deref(),
            insecure: config.insecure_skip_tls_verify,
        };
        let forge = forge_for(&*self.resources, &self.overrides, context, target).await?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OpenConfig {
    #[serde(rename = "repoURL")]
    repo_url: String,
    source_branch: String,
    target_branch: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
    /// Deprecated by Kargo and without effect; accepted so that older manifests run.
    #[serde(default)]
    #[allow(dead_code, reason = "accepted, never used (deprecated no-op)")]
    create_target_branch: bool,
}

pub struct GitOpenPr {
    pub mirrors: Arc<Mirrors>,
    pub resources: Arc<dyn Resources>,
    pub overrides: Arc<ApiOverrides>,
}

/// Kargo's output: `pr: {id, url}`.
fn opened(pr: &PullRequest) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("pr".into(), json!({"id": pr.number, "url": pr.url}));
    out
}

/// Title and description from the step, else from the source head's commit message (its
/// first line, then the rest; the whole message when a title is given).
fn compose(title: Option<&str>, description: Option<&str>, message: &str) -> (String, String) {
    let (first, rest) = message.split_once('\n').unwrap_or((message, ""));
    let title = title.filter(|t| !t.is_empty()).map_or_else(|| first.trim().to_owned(), str::to_owned);
    let description = match description.filter(|d| !d.is_empty()) {
        Some(given) => given.to_owned(),
        None if title != first.trim() => message.to_owned(),
        None => rest.trim().to_owned(),
    };
    (title, description)
}

#[async_trait]
impl StepRunner for GitOpenPr {
    fn kind(&self) -> &'static str {
        "git-open-pr"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: OpenConfig = decode(self.kind(), &context.config)?;
        // Opened on an earlier run of this promotion: the same PR, without asking the forge.
        if let Some(previous) =
            context.previous_output.as_ref().filter(|o| o.pointer("/pr/id").is_some_and(Value::is_number))
        {
            let output = previous.as_object().cloned().unwrap_or_default();
            return Ok(StepResult::succeeded(output));
        }
        for (field, value) in [("sourceBranch", &config.source_branch), ("targetBranch", &config.target_branch)] {
            convoy_git::check_ref_name(field, value)
                .map_err(|e| StepError::terminal(format!("invalid {} config: {field}: {}", self.kind(), e.message)))?;
        }
        if config.labels.iter().any(String::is_empty) {
            return Err(StepError::terminal(format!(
                "invalid {} config: labels: a label cannot be empty",
                self.kind()
            )));
        }
        convoy_git::check_remote(&config.repo_url)
            .map_err(|e| StepError::terminal(format!("invalid {} config: repoURL: {}", self.kind(), e.message)))?;
        let credentials = self
            .resources
            .git_credentials(&context.project, &config.repo_url)
            .await
            .map_err(|e| e.into_step_error("cannot look up credentials"))?
            .map(|c| convoy_git::Credentials { username: c.username, password: c.password });
        self.mirrors.refresh(&config.repo_url, credentials.as_ref(), Duration::ZERO).await.map_err(|e| {
            StepError::retryable(format!("error fetching {}: {e}", convoy_git::redact(&config.repo_url)))
        })?;
        let pair =
            self.mirrors.branch_pair(&config.repo_url, &config.source_branch, &config.target_branch).await.map_err(
                |e| {
                    if e.operation == "check" {
                        StepError::terminal(e.message)
                    } else {
                        StepError::retryable(e.to_string())
                    }
                },
            )?;
        let target = Target {
            repo_url: &config.repo_url,
            provider: config.provider.as_deref(),
            insecure: config.insecure_skip_tls_verify,
        };
        let forge = forge_for(&*self.resources, &self.overrides, context, target).await?;
        // Idempotent across retries and restarts: an open PR for these branches at this head is
        // the one this step opened (or would have).
        match forge.find_open(&config.source_branch, &config.target_branch, &pair.source_head).await {
            Ok(Some(existing)) => return Ok(StepResult::succeeded(opened(&existing))),
            Ok(None) => {}
            Err(e) => return open_error("error determining if pull request already exists", e),
        }
        if pair.same_tree {
            return Ok(StepResult::skipped(format!(
                "no changes between {} and {}: no pull request opened",
                config.source_branch, config.target_branch
            )));
        }
        let (title, description) =
            compose(config.title.as_deref(), config.description.as_deref(), &pair.source_message);
        let request = NewPullRequest {
            source_branch: config.source_branch.clone(),
            target_branch: config.target_branch.clone(),
            title,
            description,
            labels: config.labels.clone(),
        };
        match forge.create(&request).await {
            Ok(pr) => Ok(StepResult::succeeded(opened(&pr))),
            Err(e) => open_error("error creating pull request", e),
        }
    }
}

/// `git-open-pr`'s forge errors: a rate limit comes back later, the network is retried, the
/// rest ends the step with the forge's reason.
fn open_error(what: &str, error: ForgeError) -> Result<StepResult, StepError> {
    match error {
        ForgeError::RateLimited { retry_after_secs, .. } => {
            Ok(StepResult::running(format!("{what}: {error}"), Duration::from_secs(retry_after_secs)))
        }
        ForgeError::Unavailable(message) => Err(StepError::retryable(format!("{what}: {message}"))),
        other => Err(StepError::terminal(format!("{what}: {other}"))),
    }
}
