//! GitLab's merge-request API (REST v4, gitlab.com and self-managed).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::rest::{MAX_PAGES, Refusal, Reply, encode, message, send};
use crate::{CheckState, CommitStatus, Forge, ForgeError, Merge, NewPullRequest, PullRequest, Repository};

pub struct GitLab {
    repository: Repository,
    token: Option<String>,
    http: reqwest::Client,
}

impl GitLab {
    pub fn new(repository: Repository, token: Option<String>, http: reqwest::Client) -> GitLab {
        GitLab { repository, token, http }
    }

    fn path(&self) -> String {
        format!("{}/{}", self.repository.owner, self.repository.name)
    }

    /// The project is addressed by its URL-encoded path (`group%2Fsub%2Fproject`).
    fn url(&self, rest: &str) -> String {
        format!("{}/projects/{}{rest}", self.repository.api, encode(&self.path()))
    }

    async fn call(&self, method: Method, url: &str, body: Option<Value>) -> Result<Reply, ForgeError> {
        let mut request = self.http.request(method, url);
        if let Some(token) = &self.token {
            request = request.header("private-token", token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = send("GitLab", request).await?;
        Refusal {
            forge: "GitLab",
            repository: &self.path(),
            token_hint: "check the password of the git credentials Secret for this repository",
            permission_hint: "the token needs the api scope and Developer access",
            message,
        }
        .check(
            reply,
            &[
                StatusCode::METHOD_NOT_ALLOWED,
                StatusCode::CONFLICT,
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::NOT_ACCEPTABLE,
            ],
        )
    }

    fn merge_request(value: &Value) -> PullRequest {
        let state = value["state"].as_str().unwrap_or("");
        let merged = state == "merged";
        // Fast-forward merges leave merge_commit_sha empty: the squash commit, else the head,
        // is then what the target branch points at.
        let merge_commit = ["merge_commit_sha", "squash_commit_sha", "sha"]
            .iter()
            .find_map(|field| value[*field].as_str().filter(|s| !s.is_empty()))
            .filter(|_| merged)
            .map(str::to_owned);
        PullRequest {
            number: value["iid"].as_i64().unwrap_or_default(),
            url: value["web_url"].as_str().unwrap_or_default().to_owned(),
            open: matches!(state, "opened" | "locked"),
            merged,
            merge_commit,
            head_sha: value["sha"].as_str().unwrap_or_default().to_owned(),
            created_at: value["created_at"].as_str().map(str::to_owned),
        }
    }
}

#[async_trait::async_trait]
impl Forge for GitLab {
    async fn get(&self, number: i64) -> Result<PullRequest, ForgeError> {
        let reply = self.call(Method::GET, &self.url(&format!("/merge_requests/{number}")), None).await.map_err(
            |e| match e {
                ForgeError::NotFound(_) => ForgeError::NotFound(format!(
                    "merge request {number} not found in {} (or the token cannot see the project)",
                    self.path()
                )),
                other => other,
            },
        )?;
        Ok(GitLab::merge_request(&reply.body))
    }

    async fn find_open(
        &self,
        source_branch: &str,
        target_branch: &str,
        head_sha: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let mut found = Vec::new();
        let mut page = Some("1".to_owned());
        for _ in 0..MAX_PAGES {
            let Some(number) = page.take() else { break };
            let url = self.url(&format!(
                "/merge_requests?state=opened&source_branch={}&target_branch={}&per_page=100&page={}",
                encode(source_branch),
                encode(target_branch),
                encode(&number)
            ));
            let reply = self.call(Method::GET, &url, None).await?;
            for item in reply.body.as_array().into_iter().flatten() {
                let same_branches = item["source_branch"] == source_branch && item["target_branch"] == target_branch;
                let mr = GitLab::merge_request(item);
                if same_branches && mr.open && mr.head_sha == head_sha {
                    found.push(mr);
                }
            }
            page = reply.header("x-next-page").map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned);
        }
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(found.into_iter().next())
    }

    async fn create(&self, request: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        let mut body = json!({
            "source_branch": request.source_branch,
            "target_branch": request.target_branch,
            "title": request.title,
            "description": request.description,
        });
        if !request.labels.is_empty() {
            body["labels"] = json!(request.labels.join(","));
        }
        let reply = self.call(Method::POST, &self.url("/merge_requests"), Some(body)).await?;
        if !reply.status.is_success() {
            return Err(ForgeError::Refused(format!("GitLab refused the merge request: {}", message(&reply.body))));
        }
        Ok(GitLab::merge_request(&reply.body))
    }

    async fn merge(&self, number: i64, method: Option<&str>) -> Result<Merge, ForgeError> {
        let squash = match method {
            None | Some("merge") => false,
            Some("squash") => true,
            Some(other) => {
                return Err(ForgeError::Refused(format!(
                    "unsupported merge method {other:?}: GitLab takes merge or squash (the project's settings choose merge commit, semi-linear or fast-forward)"
                )));
            }
        };
        let current = self.call(Method::GET, &self.url(&format!("/merge_requests/{number}")), None).await?.body;
        let mr = GitLab::merge_request(&current);
        if mr.merged {
            return Ok(Merge::Merged(mr));
        }
        if !mr.open || current["state"] == "locked" {
            return Err(ForgeError::Refused(format!("pull request {number} is closed but not merged")));
        }
        let status = current["detailed_merge_status"].as_str().unwrap_or("");
        if status == "conflict" {
            return Err(ForgeError::Refused(format!("pull request {number} has conflicts and cannot be merged")));
        }
        if current["draft"] == true || status != "mergeable" {
            return Ok(Merge::NotReady(format!("merge request {number} is not mergeable yet ({status})")));
        }
        let mut body = json!({"sha": mr.head_sha});
        if squash {
            body["squash"] = json!(true);
        }
        let reply = self.call(Method::PUT, &self.url(&format!("/merge_requests/{number}/merge")), Some(body)).await?;
        match reply.status {
            s if s.is_success() => {
                let merged = GitLab::merge_request(&reply.body);
                if merged.merged {
                    Ok(Merge::Merged(merged))
                } else {
                    Ok(Merge::NotReady(format!("merge request {number} is being merged")))
                }
            }
            // The source branch moved since it was read: look again.
            StatusCode::CONFLICT => Ok(Merge::NotReady(format!("merge request {number}: {}", message(&reply.body)))),
            s => Err(ForgeError::Refused(format!("GitLab will not merge {number} ({s}): {}", message(&reply.body)))),
        }
    }

    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError> {
        let mut body = json!({
            "state": match status.state {
                CheckState::Pending => "pending",
                CheckState::Success => "success",
                CheckState::Failure | CheckState::Error => "failed",
            },
            "name": status.context,
            "description": status.short_description(),
        });
        if !status.target_url.is_empty() {
            body["target_url"] = json!(status.target_url);
        }
        let reply = self.call(Method::POST, &self.url(&format!("/statuses/{}", encode(sha))), Some(body)).await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(ForgeError::Refused(format!("GitLab refused the status: {}", message(&reply.body))))
        }
    }
}
