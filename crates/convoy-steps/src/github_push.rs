//! `github-push` (reference §3.8; forges.md §1.10): a drop-in for `git-push` whose commits
//! GitHub makes through its Git data API, so they are signed by GitHub and shown as verified
//! (for App tokens). The work tree's objects are shipped to a staging ref with git; each local
//! commit is then re-created from its tree by the API and the branch moved to the last one.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use convoy_engine::{Resources, StepContext, StepError, StepResult, StepRunner};
use convoy_forge::{ApiOverrides, ForgeError, GitHub, Provider};
use convoy_git::{Credentials, WorkTree};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::decode;
use crate::git::{commit_url, push_lock_name};
use crate::paths::resolve;

/// More commits than this in one push is not a promotion's change (Kargo's
/// `GITHUB_PUSH_MAX_REVISIONS` default).
const MAX_REVISIONS: usize = 10;
const DEFAULT_ATTEMPTS: u32 = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    path: String,
    #[serde(default)]
    target_branch: Option<String>,
    #[serde(default)]
    generate_target_branch: bool,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    max_attempts: Option<u32>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
}

pub struct GitHubPush {
    pub resources: Arc<dyn Resources>,
    pub overrides: Arc<ApiOverrides>,
}

/// How one attempt ended.
enum Attempt {
    Landed,
    /// The target moved (or is ahead) and force is off: integrate and try again.
    Moved(String),
}

fn api_error(what: &str, error: ForgeError) -> StepError {
    match error {
        ForgeError::RateLimited { .. } | ForgeError::Unavailable(_) => StepError::retryable(format!("{what}: {error}")),
        other => StepError::terminal(format!("{what}: {other}")),
    }
}

#[async_trait]
impl StepRunner for GitHubPush {
    fn kind(&self) -> &'static str {
        "github-push"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: Config = decode(self.kind(), &context.config)?;
        if config.target_branch.is_some() && config.generate_target_branch {
            return Err(StepError::terminal(
                "invalid github-push config: targetBranch and generateTargetBranch are mutually exclusive",
            ));
        }
        if let Some(branch) = &config.target_branch {
            convoy_git::check_ref_name("targetBranch", branch)
                .map_err(|e| StepError::terminal(format!("invalid github-push config: targetBranch: {}", e.message)))?;
        }
        let max_attempts = config.max_attempts.unwrap_or(DEFAULT_ATTEMPTS);
        if max_attempts == 0 {
            return Err(StepError::terminal("invalid github-push config: maxAttempts: must be 1 or more"));
        }
        // Pushed before a restart: the same outputs, nothing pushed twice.
        if let Some(previous) = context.previous_output.as_ref().filter(|o| o["commit"].is_string()) {
            return Ok(StepResult::succeeded(previous.as_object().cloned().unwrap_or_default()));
        }
        let dir = resolve(&context.work_dir, &config.path)?;
        let bare = WorkTree::open(&dir, None).await.map_err(|e| StepError::terminal(e.message))?;
        let url = bare.url.clone();
        let token = match self.resources.git_credentials(&context.project, &url).await {
            Ok(Some(found)) if !found.password.is_empty() => found,
            Ok(Some(_)) => {
                return Err(StepError::failed(format!(
                    "credentials for {} are missing a password/token",
                    convoy_git::redact(&url)
                )));
            }
            Ok(None) => {
                return Err(StepError::failed(format!("no credentials found for {}", convoy_git::redact(&url))));
            }
            Err(e) => return Err(e.into_step_error("cannot look up credentials")),
        };
        let tree = WorkTree::open(
            &dir,
            Some(Credentials { username: token.username.clone(), password: token.password.clone() }),
        )
        .await
        .map_err(|e| StepError::terminal(e.message))?;
        let repository = self
            .overrides
            .repository(&url, Provider::GitHub)
            .map_err(|e| StepError::terminal(format!("error creating GitHub client: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .danger_accept_invalid_certs(config.insecure_skip_tls_verify)
            .build()
            .map_err(|e| StepError::retryable(e.to_string()))?;
        let github = GitHub::new(repository, Some(token.password), http);
        let local_branch = tree.current_branch().await.ok();
        let (branch, force) = if config.generate_target_branch {
            // A branch of its own: nobody else's commits to keep.
            (format!("kargo/promotion/{}", context.promotion), true)
        } else {
            let branch = config.target_branch.clone().or(local_branch.clone()).ok_or_else(|| {
                StepError::terminal(
                    "the work tree is not on a branch (a commit or tag was checked out); set targetBranch",
                )
            })?;
            (branch, config.force)
        };
        let _turn = self
            .resources
            .exclusive(&push_lock_name(&url, &branch))
            .await
            .map_err(|e| e.into_step_error("cannot take the push lock"))?;
        let staging = context.promotion.clone();
        let mut last_refusal = String::new();
        for attempt in 1..=max_attempts {
            let outcome = self.attempt(&tree, &github, &branch, local_branch.as_deref(), force, &staging).await;
            // The staging ref goes whatever happened (a failure to delete it is only logged).
            if let Err(e) = github.delete_ref(&format!("kargo/staging/{staging}")).await {
                tracing::warn!(error = %e, "the staging ref of a github-push was not deleted");
            }
            match outcome? {
                Attempt::Landed => {
                    // The replayed commits are not the local ones: the work tree takes the remote's.
                    let commit = tree
                        .reset_to_remote(&branch)
                        .await
                        .map_err(|e| StepError::retryable(format!("error syncing local branch after push: {e}")))?;
                    let mut output = Map::new();
                    output.insert("branch".into(), json!(branch));
                    output.insert("commitURL".into(), json!(commit_url(&url, Some("github"), &commit)));
                    output.insert("commit".into(), Value::String(commit));
                    return Ok(StepResult::succeeded(output));
                }
                Attempt::Moved(why) if attempt < max_attempts => {
                    tracing::info!(branch = %branch, attempt, "{why}; integrating the remote's changes");
                    tree.rebase_onto_remote(&branch).await.map_err(|e| {
                        StepError::failed(format!(
                            "error integrating remote changes from remote branch {branch:?}: {}",
                            e.message
                        ))
                    })?;
                    last_refusal = why;
                }
                Attempt::Moved(why) => last_refusal = why,
            }
        }
        Err(StepError::retryable(format!("error pushing commits to remote: {last_refusal}")))
    }
}

impl GitHubPush {
    /// One push: objects to the staging ref, the comparison, the replay, the branch moved.
    async fn attempt(
        &self,
        tree: &WorkTree,
        github: &GitHub,
        branch: &str,
        local_branch: Option<&str>,
        force: bool,
        staging: &str,
    ) -> Result<Attempt, StepError> {
        let local_head = tree.head().await.map_err(|e| StepError::retryable(e.to_string()))?;
        tree.push_staging(staging).await.map_err(|e| {
            StepError::retryable(format!("error pushing to staging ref refs/kargo/staging/{staging}: {e}"))
        })?;
        let target_head =
            github.branch_head(branch).await.map_err(|e| api_error(&format!("error getting ref heads/{branch}"), e))?;
        // A new branch starts where the local branch's remote counterpart is.
        let base = match (&target_head, local_branch) {
            (Some(head), _) => head.clone(),
            (None, Some(local)) => github
                .branch_head(local)
                .await
                .map_err(|e| api_error(&format!("error getting ref heads/{local}"), e))?
                .unwrap_or_else(|| local_head.clone()),
            (None, None) => local_head.clone(),
        };
        let comparison = github
            .compare(&base, &local_head)
            .await
            .map_err(|e| api_error(&format!("error comparing commits {base}..{local_head}"), e))?;
        let replay = match comparison.status.as_str() {
            "identical" => Vec::new(),
            "ahead" => comparison.commits,
            "behind" | "diverged" if force => comparison.commits,
            "behind" => {
                return Ok(Attempt::Moved(
                    "source branch is behind target branch and force pushing is not enabled".into(),
                ));
            }
            "diverged" => {
                return Ok(Attempt::Moved(
                    "source and target branches have diverged and force pushing is not enabled".into(),
                ));
            }
            other => {
                return Err(StepError::terminal(format!(
                    "unexpected comparison status {other:?} for {base}..{local_head}"
                )));
            }
        };
        if replay.len() > MAX_REVISIONS {
            return Err(StepError::terminal(format!(
                "commit range {base}..{local_head} contains {} commits, which exceeds the configured maximum of {MAX_REVISIONS}",
                replay.len()
            )));
        }
        let mut new_head = if replay.is_empty() { base.clone() } else { comparison.merge_base.clone() };
        let mut replayed: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        for (i, commit) in replay.iter().enumerate() {
            if commit.tree.is_empty() {
                return Err(StepError::terminal(format!("commit {} in range has missing tree information", i + 1)));
            }
            let parents: Vec<String> =
                commit.parents.iter().map(|p| replayed.get(p).cloned().unwrap_or_else(|| p.clone())).collect();
            let message = with_coauthor(&commit.message, &commit.author);
            let (sha, _verified) = github.create_commit(&message, &commit.tree, &parents).await.map_err(|e| {
                api_error(&format!("error creating commit {}/{} (original: {})", i + 1, replay.len(), commit.sha), e)
            })?;
            replayed.insert(commit.sha.clone(), sha.clone());
            new_head = sha;
        }
        match target_head {
            None => github
                .create_branch(branch, &new_head)
                .await
                .map_err(|e| api_error(&format!("error creating ref heads/{branch} at {new_head}"), e))?,
            Some(current) if current == new_head => {}
            Some(_) => {
                let moved = github
                    .move_branch(branch, &new_head, force)
                    .await
                    .map_err(|e| api_error(&format!("error updating ref heads/{branch} to {new_head}"), e))?;
                if !moved {
                    return Ok(Attempt::Moved(format!(
                        "{branch} moved while the commits were made (not a fast forward)"
                    )));
                }
            }
        }
        Ok(Attempt::Landed)
    }
}

/// The original author kept as a `Co-authored-by` trailer (the commit itself is the token's).
fn with_coauthor(message: &str, author: &str) -> String {
    let trailer = format!("Co-authored-by: {author}");
    if author.trim() == "<>" || message.contains(&trailer) {
        return message.to_owned();
    }
    format!("{}\n\n{trailer}", message.trim_end())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_author_is_kept_as_a_trailer_once() {
        let once = super::with_coauthor("Promote\n\nbody\n", "Ana <ana@example.com>");
        assert_eq!(once, "Promote\n\nbody\n\nCo-authored-by: Ana <ana@example.com>");
        assert_eq!(super::with_coauthor(&once, "Ana <ana@example.com>"), once);
    }
}
