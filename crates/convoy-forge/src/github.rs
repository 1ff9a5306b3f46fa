//! GitHub's REST API (github.com, Enterprise Server, Enterprise Cloud): pulls, merge, labels.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::rest::{MAX_PAGES, encode, next_link, same_origin};
use crate::{CheckState, CommitStatus, Forge, ForgeError, Merge, NewPullRequest, PullRequest, Repository};

/// A response this large is not one of the answers expected.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// Without a `retry-after`, a secondary rate limit is waited out this long (GitHub's advice).
const SECONDARY_WAIT: u64 = 60;

pub struct GitHub {
    repository: Repository,
    token: Option<String>,
    http: reqwest::Client,
}

impl GitHub {
    pub fn new(repository: Repository, token: Option<String>, http: reqwest::Client) -> GitHub {
        GitHub { repository, token, http }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/repos/{}/{}{path}", self.repository.api, self.repository.owner, self.repository.name)
    }

    fn slug(&self) -> String {
        format!("{}/{}", self.repository.owner, self.repository.name)
    }

    /// Sends one request; the status and JSON body, or the error that status means.
    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value, Option<String>), ForgeError> {
        let mut request = self
            .http
            .request(method, url)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header("user-agent", concat!("convoy/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ForgeError::Unavailable(format!("GitHub at {}: {e}", self.repository.api)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let link = header("link");
        let bytes = response.bytes().await.map_err(|e| ForgeError::Unavailable(e.to_string()))?;
        if bytes.len() > MAX_BODY {
            return Err(ForgeError::Unavailable(format!("GitHub answered {} bytes; more than expected", bytes.len())));
        }
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let message = body["message"].as_str().unwrap_or("").to_owned();
        // Rate limits: 403 or 429, by the headers (primary: remaining 0 until reset; secondary:
        // retry-after, or a minute).
        if matches!(status, StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS) {
            let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
            let exhausted = header("x-ratelimit-remaining").is_some_and(|v| v.trim() == "0");
            let reset = header("x-ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok());
            let secondary = message.to_ascii_lowercase().contains("secondary rate limit");
            if retry_after.is_some() || exhausted || secondary || status == StatusCode::TOO_MANY_REQUESTS {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
                let wait = retry_after
                    .or_else(|| reset.filter(|_| exhausted).map(|r| r.saturating_sub(now)))
                    .unwrap_or(SECONDARY_WAIT)
                    .max(1);
                return Err(ForgeError::RateLimited { forge: "GitHub", retry_after_secs: wait });
            }
        }
        let detail = || {
            let errors: Vec<&str> =
                body["errors"].as_array().into_iter().flatten().filter_map(|e| e["message"].as_str()).collect();
            if errors.is_empty() { message.clone() } else { format!("{message}: {}", errors.join("; ")) }
        };
        match status {
            s if s.is_success() => Ok((status, body, link)),
            StatusCode::UNAUTHORIZED => Err(ForgeError::Forbidden(format!(
                "GitHub refused the token for {} ({}): check the password of the git credentials Secret for this repository",
                self.slug(),
                detail()
            ))),
            StatusCode::FORBIDDEN => Err(ForgeError::Forbidden(format!(
                "GitHub forbids this for {} ({}): the token needs read and write access to pull requests and contents",
                self.slug(),
                detail()
            ))),
            StatusCode::NOT_FOUND => Err(ForgeError::NotFound(format!(
                "not found on GitHub: {url} (no such repository or pull request, or the token cannot see {})",
                self.slug()
            ))),
            // The merge endpoint's answers are read by `merge`.
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::CONFLICT => Ok((status, body, link)),
            StatusCode::UNPROCESSABLE_ENTITY => {
                Err(ForgeError::Refused(format!("GitHub refused the request: {}", detail())))
            }
            s if s.is_server_error() => Err(ForgeError::Unavailable(format!("GitHub answered {s}: {}", detail()))),
            s => Err(ForgeError::Refused(format!("GitHub answered {s}: {}", detail()))),
        }
    }

    fn pull_request(value: &Value) -> PullRequest {
        let merged = value["merged"].as_bool().unwrap_or(false) || value["merged_at"].is_string();
        PullRequest {
            number: value["number"].as_i64().unwrap_or_default(),
            url: value["html_url"].as_str().unwrap_or_default().to_owned(),
            open: value["state"] == "open",
            merged,
            // Open PRs carry a test merge's SHA: only a merged PR's is its merge commit.
            merge_commit: value["merge_commit_sha"].as_str().filter(|_| merged).map(str::to_owned),
            head_sha: value.pointer("/head/sha").and_then(Value::as_str).unwrap_or_default().to_owned(),
            created_at: value["created_at"].as_str().map(str::to_owned),
        }
    }
}

/// A commit of a comparison, as `github-push` replays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCommit {
    pub sha: String,
    pub message: String,
    pub tree: String,
    pub parents: Vec<String>,
    /// `Name <email>` of the original author.
    pub author: String,
}

/// `GET compare/{base}...{head}`: how `head` relates to `base`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// `ahead`, `behind`, `identical` or `diverged`.
    pub status: String,
    pub merge_base: String,
    /// Oldest first.
    pub commits: Vec<RemoteCommit>,
}

/// The most commits one comparison page holds (GitHub's limit).
const COMPARE_PAGE: usize = 250;

/// A ref path: each segment encoded, the slashes kept (`heads/kargo/promotion/x`).
fn ref_path(reference: &str) -> String {
    reference.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// GitHub's Git data API, for `github-push`: commits made by GitHub (signed and verified for
/// App tokens) from trees already pushed.
impl GitHub {
    /// The head of `branch`; `None` when the branch does not exist.
    pub async fn branch_head(&self, branch: &str) -> Result<Option<String>, ForgeError> {
        match self.call(Method::GET, &self.url(&format!("/git/ref/heads/{}", ref_path(branch))), None).await {
            Ok((_, body, _)) => Ok(body.pointer("/object/sha").and_then(Value::as_str).map(str::to_owned)),
            Err(ForgeError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn compare(&self, base: &str, head: &str) -> Result<Comparison, ForgeError> {
        let url = self.url(&format!("/compare/{}...{}?per_page={COMPARE_PAGE}", encode(base), encode(head)));
        let (_, body, _) = self.call(Method::GET, &url, None).await?;
        let text = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
        let commits = body["commits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| RemoteCommit {
                sha: text(c, "/sha"),
                message: text(c, "/commit/message"),
                tree: text(c, "/commit/tree/sha"),
                parents: c["parents"].as_array().into_iter().flatten().map(|p| text(p, "/sha")).collect(),
                author: format!("{} <{}>", text(c, "/commit/author/name"), text(c, "/commit/author/email")),
            })
            .collect();
        Ok(Comparison { status: text(&body, "/status"), merge_base: text(&body, "/merge_base_commit/sha"), commits })
    }

    /// A commit made by GitHub (no author or committer sent: the token's identity, signed by
    /// GitHub); its SHA and whether GitHub reports it verified.
    pub async fn create_commit(
        &self,
        message: &str,
        tree: &str,
        parents: &[String],
    ) -> Result<(String, bool), ForgeError> {
        let body = json!({"message": message, "tree": tree, "parents": parents});
        let (_, created, _) = self.call(Method::POST, &self.url("/git/commits"), Some(body)).await?;
        let sha = created["sha"].as_str().unwrap_or_default().to_owned();
        Ok((sha, created.pointer("/verification/verified") == Some(&json!(true))))
    }

    pub async fn create_branch(&self, branch: &str, sha: &str) -> Result<(), ForgeError> {
        let body = json!({"ref": format!("refs/heads/{branch}"), "sha": sha});
        self.call(Method::POST, &self.url("/git/refs"), Some(body)).await.map(|_| ())
    }

    /// Moves `branch` to `sha`; `false` when GitHub refuses a move that is not a fast forward
    /// (someone pushed in between) and `force` was not asked.
    pub async fn move_branch(&self, branch: &str, sha: &str, force: bool) -> Result<bool, ForgeError> {
        let url = self.url(&format!("/git/refs/heads/{}", ref_path(branch)));
        match self.call(Method::PATCH, &url, Some(json!({"sha": sha, "force": force}))).await {
            Ok(_) => Ok(true),
            Err(ForgeError::Refused(message)) if message.contains("fast forward") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes `reference` (`kargo/staging/x`, under `refs/`).
    pub async fn delete_ref(&self, reference: &str) -> Result<(), ForgeError> {
        let url = self.url(&format!("/git/refs/{}", ref_path(reference)));
        self.call(Method::DELETE, &url, None).await.map(|_| ())
    }
}

#[async_trait::async_trait]
impl Forge for GitHub {
    async fn get(&self, number: i64) -> Result<PullRequest, ForgeError> {
        let (_, body, _) =
            self.call(Method::GET, &self.url(&format!("/pulls/{number}")), None).await.map_err(|e| match e {
                ForgeError::NotFound(_) => ForgeError::NotFound(format!(
                    "pull request {number} not found in {} (or the token cannot see the repository)",
                    self.slug()
                )),
                other => other,
            })?;
        Ok(GitHub::pull_request(&body))
    }

    async fn find_open(
        &self,
        source_branch: &str,
        target_branch: &str,
        head_sha: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        // `head` needs the owner: a bare branch name is silently ignored by GitHub.
        let head = format!("{}:{source_branch}", self.repository.owner);
        let mut url = Some(self.url(&format!(
            "/pulls?state=open&head={}&base={}&per_page=100",
            encode(&head),
            encode(target_branch)
        )));
        let mut found: Vec<PullRequest> = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = url.take() else { break };
            let (_, body, link) = self.call(Method::GET, &page, None).await?;
            for item in body.as_array().into_iter().flatten() {
                let same_branches = item.pointer("/head/ref").and_then(Value::as_str) == Some(source_branch)
                    && item.pointer("/base/ref").and_then(Value::as_str) == Some(target_branch);
                let pr = GitHub::pull_request(item);
                if same_branches && pr.open && pr.head_sha == head_sha {
                    found.push(pr);
                }
            }
            url = next_link(link.as_deref()).and_then(|next| same_origin(next, &self.repository.api));
        }
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(found.into_iter().next())
    }

    async fn create(&self, request: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        let body = json!({
            "title": request.title,
            "head": request.source_branch,
            "base": request.target_branch,
            "body": request.description,
            "maintainer_can_modify": false,
        });
        let (_, created, _) = self.call(Method::POST, &self.url("/pulls"), Some(body)).await?;
        let pr = GitHub::pull_request(&created);
        if !request.labels.is_empty() {
            self.call(Method::POST, &self.url(&format!("/issues/{}/labels", pr.number)), Some(json!(request.labels)))
                .await?;
        }
        Ok(pr)
    }

    async fn merge(&self, number: i64, method: Option<&str>) -> Result<Merge, ForgeError> {
        let (_, current, _) = self.call(Method::GET, &self.url(&format!("/pulls/{number}")), None).await?;
        let pr = GitHub::pull_request(&current);
        if pr.merged {
            return Ok(Merge::Merged(pr));
        }
        if !pr.open {
            return Err(ForgeError::Refused(format!("pull request {number} is closed but not merged")));
        }
        let state = current["mergeable_state"].as_str().unwrap_or("");
        match state {
            "dirty" => {
                return Err(ForgeError::Refused(format!("pull request {number} has conflicts and cannot be merged")));
            }
            "draft" | "unknown" => return Ok(Merge::NotReady(format!("pull request {number} is {state}"))),
            "" if current["draft"] == true || current["mergeable"] != true => {
                return Ok(Merge::NotReady(format!(
                    "GitHub is still working out whether pull request {number} can be merged"
                )));
            }
            _ => {}
        }
        let mut body = json!({});
        if let Some(method) = method {
            body["merge_method"] = json!(method);
        }
        let (status, answer, _) =
            self.call(Method::PUT, &self.url(&format!("/pulls/{number}/merge")), Some(body)).await?;
        let message = answer["message"].as_str().unwrap_or("").to_owned();
        match status {
            StatusCode::METHOD_NOT_ALLOWED if message.contains("not allowed") => {
                Err(ForgeError::Refused(format!("GitHub will not merge pull request {number}: {message}")))
            }
            StatusCode::METHOD_NOT_ALLOWED
                if message.contains("Base branch was modified")
                    || message.contains("not mergeable")
                    || matches!(state, "blocked" | "behind") =>
            {
                Ok(Merge::NotReady(format!("pull request {number}: {message}")))
            }
            StatusCode::METHOD_NOT_ALLOWED => {
                Err(ForgeError::Refused(format!("GitHub will not merge pull request {number}: {message}")))
            }
            StatusCode::CONFLICT => Ok(Merge::NotReady(format!("pull request {number}: {message}"))),
            _ if answer["merged"] == true => Ok(Merge::Merged(self.get(number).await?)),
            _ => Err(ForgeError::Refused(format!("merge rejected for pull request {number}"))),
        }
    }

    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError> {
        let body = json!({
            "state": match status.state {
                CheckState::Pending => "pending",
                CheckState::Success => "success",
                CheckState::Failure => "failure",
                CheckState::Error => "error",
            },
            "context": status.context,
            "description": status.short_description(),
        });
        let mut body = body;
        if !status.target_url.is_empty() {
            body["target_url"] = json!(status.target_url);
        }
        self.call(Method::POST, &self.url(&format!("/statuses/{}", encode(sha))), Some(body)).await.map(|_| ())
    }
}
