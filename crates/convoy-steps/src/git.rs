//! `git-clone`, `git-clear`, `git-commit`, `git-push`.

use std::sync::Arc;

use async_trait::async_trait;
use convoy_engine::{Resources, StepContext, StepError, StepResult, StepRunner};
use convoy_git::{Checkout, Credentials, GitError, Mirrors, Signature, TreeRequest, WorkTree};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::decode;
use crate::paths::resolve;

fn git_error(e: GitError) -> StepError {
    // A value git was never given will not become valid by asking again.
    if e.operation == "check" {
        return StepError::terminal(e.message);
    }
    // Network and remote errors may pass; a retry threshold decides.
    StepError::retryable(e.to_string())
}

/// A ref name from the step's config, checked as git would before git sees it.
fn check_ref(kind: &str, field: &str, name: &str) -> Result<(), StepError> {
    convoy_git::check_ref_name(field.rsplit('.').next().unwrap_or(field), name)
        .map_err(|e| StepError::terminal(format!("invalid {kind} config: {field}: {}", e.message)))
}

/// Credentials for `url` from the project's Secrets.
async fn credentials(
    resources: &dyn Resources,
    context: &StepContext,
    url: &str,
) -> Result<Option<Credentials>, StepError> {
    let found = resources
        .git_credentials(&context.project, url)
        .await
        .map_err(|e| e.into_step_error("cannot look up credentials"))?;
    Ok(found.map(|c| Credentials { username: c.username, password: c.password }))
}

/// Opens a work tree with the credentials of its remote.
async fn open(resources: &dyn Resources, context: &StepContext, dir: &std::path::Path) -> Result<WorkTree, StepError> {
    let tree = WorkTree::open(dir, None).await.map_err(|e| StepError::terminal(e.message))?;
    match credentials(resources, context, &tree.url).await? {
        Some(found) => WorkTree::open(dir, Some(found)).await.map_err(|e| StepError::terminal(e.message)),
        None => Ok(tree),
    }
}

/// Who commits and tags: the step's `author`, else the one git-clone recorded in the work tree,
/// else the installation's (ClusterConfig `spec.gitClient`), else Convoy's default.
async fn author_for(given: Option<Author>, tree: &WorkTree, resources: &dyn Resources) -> Signature {
    if let Some(a) = given {
        return Signature { name: a.name, email: a.email };
    }
    if let Some(configured) = tree.configured_author().await {
        return configured;
    }
    match resources.git_author().await {
        Some((name, email)) => Signature { name, email },
        None => Signature::default(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Author {
    name: String,
    email: String,
    #[serde(default)]
    #[expect(dead_code, reason = "accepted for Kargo compatibility, not acted on yet")]
    signing_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CloneConfig {
    #[serde(rename = "repoURL")]
    repo_url: String,
    checkout: Vec<CheckoutConfig>,
    #[serde(default)]
    author: Option<Author>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    #[expect(dead_code, reason = "accepted for Kargo compatibility, not acted on yet")]
    insecure_skip_tls_verify: bool,
    #[serde(default)]
    #[expect(dead_code, reason = "accepted for Kargo compatibility, not acted on yet")]
    recurse_submodules: bool,
    #[serde(default)]
    #[expect(dead_code, reason = "accepted for Kargo compatibility, not acted on yet")]
    blobless: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CheckoutConfig {
    path: String,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    create: bool,
    #[serde(default, rename = "as")]
    alias: Option<String>,
    #[serde(default)]
    sparse: Vec<String>,
}

pub(crate) struct GitClone {
    pub(crate) mirrors: Arc<Mirrors>,
    pub(crate) resources: Arc<dyn Resources>,
}

#[async_trait]
impl StepRunner for GitClone {
    fn kind(&self) -> &'static str {
        "git-clone"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: CloneConfig = decode(self.kind(), &context.config)?;
        if config.checkout.is_empty() {
            return Err(StepError::terminal("invalid git-clone config: checkout: must have at least 1 item"));
        }
        convoy_git::check_remote(&config.repo_url)
            .map_err(|e| StepError::terminal(format!("invalid git-clone config: repoURL: {}", e.message)))?;
        for (i, entry) in config.checkout.iter().enumerate() {
            if let Some(branch) = entry.branch.as_deref().filter(|b| !b.is_empty()) {
                check_ref(self.kind(), &format!("checkout[{i}].branch"), branch)?;
            }
            if let Some(tag) = entry.tag.as_deref().filter(|t| !t.is_empty()) {
                check_ref(self.kind(), &format!("checkout[{i}].tag"), tag)?;
            }
            if let Some(commit) = entry.commit.as_deref().filter(|c| !c.is_empty()) {
                convoy_git::check_commit(commit).map_err(|e| {
                    StepError::terminal(format!("invalid git-clone config: checkout[{i}].commit: {}", e.message))
                })?;
            }
        }
        let credentials = credentials(&*self.resources, context, &config.repo_url).await?;
        let mut planned = Vec::with_capacity(config.checkout.len());
        for (i, entry) in config.checkout.iter().enumerate() {
            let refs = [&entry.branch, &entry.commit, &entry.tag]
                .iter()
                .filter(|r| r.as_deref().is_some_and(|s| !s.is_empty()))
                .count();
            if refs > 1 {
                return Err(StepError::terminal(format!(
                    "invalid git-clone config: checkout[{i}]: set at most one of branch, commit or tag"
                )));
            }
            let checkout = match (&entry.branch, &entry.commit, &entry.tag) {
                (Some(b), _, _) if !b.is_empty() => Checkout::Branch { name: b.clone(), create: entry.create },
                (_, Some(c), _) if !c.is_empty() => Checkout::Commit(c.clone()),
                (_, _, Some(t)) if !t.is_empty() => Checkout::Tag(t.clone()),
                _ => Checkout::Default,
            };
            let dest = resolve(&context.work_dir, &entry.path)?;
            // Idempotent: a work tree left by an earlier attempt is cleared and made again.
            if dest.exists() {
                std::fs::remove_dir_all(&dest)
                    .map_err(|e| StepError::terminal(format!("cannot clear {}: {e}", dest.display())))?;
            }
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| StepError::terminal(e.to_string()))?;
            }
            planned.push((dest, checkout));
        }
        let requests: Vec<TreeRequest<'_>> = planned
            .iter()
            .zip(&config.checkout)
            .map(|((dest, checkout), entry)| TreeRequest {
                dest,
                checkout,
                sparse: &entry.sparse,
                owner: &context.project,
            })
            .collect();
        // One look at the remote for every entry.
        let trees =
            self.mirrors.work_trees(&config.repo_url, credentials.as_ref(), &requests).await.map_err(git_error)?;
        let mut commits = Map::new();
        for (tree, entry) in trees.iter().zip(&config.checkout) {
            if let Some(author) = &config.author {
                let author = Signature { name: author.name.clone(), email: author.email.clone() };
                tree.set_author(&author).await.map_err(|e| StepError::terminal(e.to_string()))?;
            }
            let head = tree.head().await.unwrap_or_default();
            commits.insert(entry.alias.clone().unwrap_or_else(|| entry.path.clone()), Value::String(head));
        }
        let mut output = Map::new();
        output.insert("commits".into(), Value::Object(commits));
        Ok(StepResult::succeeded(output))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathConfig {
    path: String,
}

/// Empties a work tree but for `.git`, so a render step can write it afresh.
pub(crate) struct GitClear;

#[async_trait]
impl StepRunner for GitClear {
    fn kind(&self) -> &'static str {
        "git-clear"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: PathConfig = decode(self.kind(), &context.config)?;
        let dir = resolve(&context.work_dir, &config.path)?;
        WorkTree::open(&dir, None).await.map_err(|e| StepError::terminal(e.message))?;
        let entries = std::fs::read_dir(&dir).map_err(|e| StepError::terminal(e.to_string()))?;
        for entry in entries.flatten() {
            if entry.file_name() == ".git" {
                continue;
            }
            let path = entry.path();
            // A link is removed itself, never what it points at.
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let removed = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            removed.map_err(|e| StepError::terminal(format!("cannot remove {}: {e}", path.display())))?;
        }
        Ok(StepResult::succeeded(Map::new()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommitConfig {
    pub(crate) path: String,
    pub(crate) message: String,
    #[serde(default)]
    author: Option<Author>,
}

pub(crate) struct GitCommit {
    pub(crate) resources: Arc<dyn Resources>,
}

#[async_trait]
impl StepRunner for GitCommit {
    fn kind(&self) -> &'static str {
        "git-commit"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: CommitConfig = decode(self.kind(), &context.config)?;
        if config.message.trim().is_empty() {
            return Err(StepError::terminal("invalid git-commit config: message: must not be empty"));
        }
        let dir = resolve(&context.work_dir, &config.path)?;
        let tree = WorkTree::open(&dir, None).await.map_err(|e| StepError::terminal(e.message))?;
        let author = author_for(config.author, &tree, &*self.resources).await;
        let commit = tree.commit(&config.message, &author).await.map_err(|e| StepError::terminal(e.to_string()))?;
        let mut output = Map::new();
        output.insert("commit".into(), json!(commit));
        Ok(StepResult::succeeded(output))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PushConfig {
    path: String,
    #[serde(default)]
    target_branch: Option<String>,
    #[serde(default)]
    generate_target_branch: bool,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    max_attempts: Option<u32>,
    #[serde(default)]
    provider: Option<String>,
}

pub(crate) struct GitPush {
    pub(crate) mirrors: Arc<Mirrors>,
    pub(crate) resources: Arc<dyn Resources>,
}

#[async_trait]
impl StepRunner for GitPush {
    fn kind(&self) -> &'static str {
        "git-push"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: PushConfig = decode(self.kind(), &context.config)?;
        let chosen = [config.target_branch.is_some(), config.generate_target_branch, config.tag.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if chosen > 1 {
            return Err(StepError::terminal(
                "invalid git-push config: set at most one of targetBranch, generateTargetBranch or tag",
            ));
        }
        if let Some(branch) = config.target_branch.as_deref() {
            check_ref(self.kind(), "targetBranch", branch)?;
        }
        if let Some(tag) = config.tag.as_deref() {
            check_ref(self.kind(), "tag", tag)?;
        }
        let dir = resolve(&context.work_dir, &config.path)?;
        let tree = open(&*self.resources, context, &dir).await?;
        if let Some(tag) = config.tag.as_deref() {
            let commit = tree.push_tag(tag, config.force).await.map_err(git_error)?;
            let mut output = push_output("", &commit, "");
            output.insert("tag".into(), json!(tag));
            return Ok(StepResult::succeeded(output));
        }
        let branch = if config.generate_target_branch {
            Some(format!("kargo/promotion/{}", context.promotion))
        } else {
            config.target_branch.clone()
        };
        let head = tree.head().await.map_err(git_error)?;
        // After a crash the push may already have landed: do not push (or rebase) twice.
        if let Some(b) = branch.as_deref()
            && tree.remote_has(b, &head).await.unwrap_or(false)
        {
            let url = commit_url(&tree.url, config.provider.as_deref(), &head);
            return Ok(StepResult::succeeded(push_output(b, &head, &url)));
        }
        // Pushes to one branch take turns across every replica and shard (in one process the
        // mirrors' per-branch lock already does).
        let target = match &branch {
            Some(b) => b.clone(),
            None => tree.current_branch().await.map_err(git_error)?,
        };
        let lock = push_lock_name(&tree.url, &target);
        let _turn =
            self.resources.exclusive(&lock).await.map_err(|e| e.into_step_error("cannot take the push lock"))?;
        let pushed = tree
            .push(&self.mirrors, Some(&target), config.force, config.max_attempts.unwrap_or(50))
            .await
            .map_err(git_error)?;
        let url = commit_url(&tree.url, config.provider.as_deref(), &pushed.commit);
        Ok(StepResult::succeeded(push_output(&pushed.branch, &pushed.commit, &url)))
    }
}

/// The store lock pushes to `branch` of `url` take: `git-push/<normalized URL>#<branch>`.
pub(crate) fn push_lock_name(url: &str, branch: &str) -> String {
    format!("git-push/{}#{branch}", convoy_api::urls::normalize_git(url))
}

fn push_output(branch: &str, commit: &str, commit_url: &str) -> Map<String, Value> {
    let mut output = Map::new();
    output.insert("branch".into(), json!(branch));
    output.insert("commit".into(), json!(commit));
    output.insert("commitURL".into(), json!(commit_url));
    output
}

/// Where a commit can be seen in the provider's web UI: the `provider` given, else one known by
/// its host (github.com, gitlab.com, bitbucket.org, dev.azure.com); empty for anything else.
pub(crate) fn commit_url(repo_url: &str, provider: Option<&str>, commit: &str) -> String {
    let normalized = convoy_api::urls::normalize_git(repo_url);
    let web = match normalized.split_once("://") {
        Some(("https" | "http", rest)) => format!("https://{rest}"),
        Some(("ssh", rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            // An ssh port is not the web UI's.
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            format!("https://{}/{path}", host.split(':').next().unwrap_or(host))
        }
        _ => return String::new(),
    };
    let host = web.trim_start_matches("https://").split('/').next().unwrap_or("");
    let provider = provider.filter(|p| !p.is_empty()).map(str::to_owned).or_else(|| {
        let known = [
            ("github.com", "github"),
            ("gitlab.com", "gitlab"),
            ("bitbucket.org", "bitbucket"),
            ("dev.azure.com", "azure"),
        ];
        known.iter().find(|(h, _)| *h == host).map(|(_, p)| (*p).to_owned())
    });
    match provider.as_deref() {
        Some("github" | "gitea" | "azure") => format!("{web}/commit/{commit}"),
        Some("gitlab") => format!("{web}/-/commit/{commit}"),
        Some("bitbucket") => format!("{web}/commits/{commit}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::commit_url;

    #[test]
    fn commit_urls_by_provider() {
        let sha = "abc123";
        assert_eq!(
            commit_url("https://github.com/Org/Repo.git", None, sha),
            "https://github.com/org/repo/commit/abc123"
        );
        assert_eq!(commit_url("git@github.com:org/repo.git", None, sha), "https://github.com/org/repo/commit/abc123");
        assert_eq!(commit_url("https://gitlab.com/g/sub/r", None, sha), "https://gitlab.com/g/sub/r/-/commit/abc123");
        assert_eq!(commit_url("https://bitbucket.org/w/r", None, sha), "https://bitbucket.org/w/r/commits/abc123");
        assert_eq!(
            commit_url("https://git.example.com/team/r", Some("gitea"), sha),
            "https://git.example.com/team/r/commit/abc123"
        );
        assert_eq!(commit_url("https://git.example.com/team/r", None, sha), "");
        assert_eq!(commit_url("file:///tmp/r", Some("github"), sha), "");
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagConfig {
    path: String,
    tag: String,
    message: String,
    #[serde(default)]
    force: bool,
}

/// An annotated tag on the work tree's HEAD (pushed by git-push with `tag`).
pub(crate) struct GitTag {
    pub(crate) resources: Arc<dyn Resources>,
}

#[async_trait]
impl StepRunner for GitTag {
    fn kind(&self) -> &'static str {
        "git-tag"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: TagConfig = decode(self.kind(), &context.config)?;
        let dir = resolve(&context.work_dir, &config.path)?;
        let tree = WorkTree::open(&dir, None).await.map_err(|e| StepError::terminal(e.message))?;
        let tagger = author_for(None, &tree, &*self.resources).await;
        let commit = tree
            .tag(&config.tag, &config.message, config.force, &tagger)
            .await
            .map_err(|e| StepError::terminal(e.to_string()))?;
        let mut output = Map::new();
        output.insert("commit".into(), json!(commit));
        Ok(StepResult::succeeded(output))
    }
}
