//! Pull requests on git forges (GitHub, GitLab, Gitea/Forgejo, Bitbucket Cloud and Data Center,
//! Azure DevOps), for the `git-open-pr`, `git-wait-for-pr`, `git-merge-pr` and `github-push`
//! steps and for verification statuses on PRs.
//!
//! ```text
//!  repoURL (+ provider) ──▶ Provider::for_url ──▶ Repository (API base, owner/repo, web URL)
//!                                                     │
//!  token (git Secret's password) ──▶ forge(repository) ──▶ dyn Forge: get / find_open / create / merge
//! ```
//!
//! Each forge is plain reqwest with typed requests; the responses are mapped into one
//! [`PullRequest`]. Rate limits are honoured by answering [`ForgeError::RateLimited`] with the time
//! to come back (the step returns Running), never by waiting or retrying here.

mod azure;
mod bitbucket;
mod bitbucket_dc;
mod gitea;
mod github;
mod gitlab;
mod provider;
mod rest;

pub use azure::Azure;
pub use bitbucket::Bitbucket;
pub use bitbucket_dc::BitbucketDataCenter;
pub use gitea::Gitea;
pub use github::{Comparison, GitHub, RemoteCommit};
pub use gitlab::GitLab;
pub use provider::{ApiOverrides, Provider, Repository};

/// The forge client for `repository`, speaking with `token` (the git credentials' password).
pub fn connect(repository: Repository, token: Option<String>, http: reqwest::Client) -> Box<dyn Forge> {
    match repository.provider {
        Provider::GitHub => Box::new(GitHub::new(repository, token, http)),
        Provider::GitLab => Box::new(GitLab::new(repository, token, http)),
        Provider::Gitea => Box::new(Gitea::new(repository, token, http)),
        Provider::Bitbucket if repository.data_center => Box::new(BitbucketDataCenter::new(repository, token, http)),
        Provider::Bitbucket => Box::new(Bitbucket::new(repository, token, http)),
        Provider::Azure => Box::new(Azure::new(repository, token, http)),
    }
}

/// A pull (merge) request as every forge's is mapped (Kargo's provider-neutral model).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PullRequest {
    pub number: i64,
    pub url: String,
    pub open: bool,
    pub merged: bool,
    /// The merge commit, once merged (forges also report a test-merge commit on open PRs: not
    /// trusted until `merged`).
    pub merge_commit: Option<String>,
    pub head_sha: String,
    pub created_at: Option<String>,
}

/// What to open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewPullRequest {
    pub source_branch: String,
    pub target_branch: String,
    pub title: String,
    pub description: String,
    pub labels: Vec<String>,
}

/// How a merge attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    Merged(PullRequest),
    /// Not mergeable yet (checks running, mergeability being computed): ask again later.
    NotReady(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForgeError {
    /// The forge asked to be left alone until `retry_after_secs` from now.
    #[error("{forge} rate limit reached; retrying in {retry_after_secs} s")]
    RateLimited { forge: &'static str, retry_after_secs: u64 },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// The request cannot succeed as asked (closed PR, conflicts, a merge method not allowed).
    #[error("{0}")]
    Refused(String),
    /// Network or server trouble: worth trying again.
    #[error("{0}")]
    Unavailable(String),
}

/// How a check on a commit stands (each forge's words are chosen by its client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckState {
    Pending,
    Success,
    Failure,
    Error,
}

/// A commit status: what reviewers see next to a PR's head commit in the forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    pub state: CheckState,
    /// The check's name (`convoy/prod`): a later status with the same name replaces it.
    pub context: String,
    /// At most 140 characters are kept (GitHub's limit, applied to every forge).
    pub description: String,
    /// Where the check's details are (Bitbucket requires one).
    pub target_url: String,
}

impl CommitStatus {
    pub(crate) fn short_description(&self) -> String {
        let mut text: String = self.description.chars().take(140).collect();
        if text.len() < self.description.len() {
            text.pop();
            text.push('…');
        }
        text
    }
}

/// One forge's pull-request API.
#[async_trait::async_trait]
pub trait Forge: Send + Sync {
    /// The PR numbered `number`.
    async fn get(&self, number: i64) -> Result<PullRequest, ForgeError>;
    /// An open PR from `source_branch` into `target_branch` whose head is `head_sha` (every page
    /// read; full branch names and SHAs compared).
    async fn find_open(
        &self,
        source_branch: &str,
        target_branch: &str,
        head_sha: &str,
    ) -> Result<Option<PullRequest>, ForgeError>;
    async fn create(&self, request: &NewPullRequest) -> Result<PullRequest, ForgeError>;
    /// Merges with `method` (the forge's word; `None`: the repository's default).
    async fn merge(&self, number: i64, method: Option<&str>) -> Result<Merge, ForgeError>;
    /// Sets a commit status on `sha` (beyond Kargo: verification results on a PR's head).
    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError>;
}
