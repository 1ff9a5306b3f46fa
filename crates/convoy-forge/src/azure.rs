//! Azure DevOps' Git pull-request API (Services at dev.azure.com, and Server), `api-version=7.1`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::rest::{MAX_PAGES, Reply, encode, message, send};
use crate::{CheckState, CommitStatus, Forge, ForgeError, Merge, NewPullRequest, PullRequest, Repository};

const API_VERSION: &str = "7.1";
const STRATEGIES: [&str; 4] = ["noFastForward", "rebase", "rebaseMerge", "squash"];
/// A completion is asynchronous: looked at this many times, this far apart, before the step
/// comes back later.
const COMPLETION_LOOKS: u32 = 5;
const COMPLETION_PAUSE: Duration = Duration::from_millis(400);
const PAGE: usize = 100;

pub struct Azure {
    repository: Repository,
    token: Option<String>,
    http: reqwest::Client,
}

impl Azure {
    pub fn new(repository: Repository, token: Option<String>, http: reqwest::Client) -> Azure {
        Azure { repository, token, http }
    }

    fn slug(&self) -> String {
        let project = self.repository.project.as_deref().unwrap_or("");
        format!("{}/{project}/{}", self.repository.owner, self.repository.name)
    }

    /// `rest` (starting with `/` or `?`) under the repository, with the API version.
    fn url(&self, rest: &str) -> String {
        let project = self.repository.project.as_deref().unwrap_or("");
        let join = if rest.contains('?') { '&' } else { '?' };
        format!(
            "{}/{}/_apis/git/repositories/{}{rest}{join}api-version={API_VERSION}",
            self.repository.api,
            encode(project),
            encode(&self.repository.name)
        )
    }

    async fn call(&self, method: Method, url: &str, body: Option<Value>) -> Result<Reply, ForgeError> {
        // Without this header a refused token answers 203 with a sign-in page.
        let mut request = self
            .http
            .request(method, url)
            .header("accept", "application/json")
            .header("x-tfs-fedauthredirect", "Suppress");
        if let Some(token) = &self.token {
            request = request.basic_auth("", Some(token));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = send("Azure DevOps", request).await?;
        let refused_token = || {
            ForgeError::Forbidden(format!(
                "Azure DevOps refused the token for {}: check the password of the git credentials Secret (a personal access token with Code: Read & write)",
                self.slug()
            ))
        };
        match reply.status {
            StatusCode::NON_AUTHORITATIVE_INFORMATION => Err(refused_token()),
            s if s.is_success() => Ok(reply),
            StatusCode::UNAUTHORIZED => Err(refused_token()),
            StatusCode::FORBIDDEN => Err(ForgeError::Forbidden(format!(
                "Azure DevOps forbids this for {}: {}",
                self.slug(),
                message(&reply.body)
            ))),
            StatusCode::NOT_FOUND => Err(ForgeError::NotFound(format!(
                "not found on Azure DevOps: {} ({})",
                self.slug(),
                message(&reply.body)
            ))),
            StatusCode::CONFLICT | StatusCode::BAD_REQUEST => Ok(reply),
            s => Err(ForgeError::Refused(format!("Azure DevOps answered {s}: {}", message(&reply.body)))),
        }
    }

    fn pull_request(value: &Value) -> Result<PullRequest, ForgeError> {
        let number = value["pullRequestId"].as_i64().unwrap_or_default();
        let status = value["status"].as_str().unwrap_or("");
        let merged = status == "completed";
        let head_sha = value.pointer("/lastMergeSourceCommit/commitId").and_then(Value::as_str).ok_or_else(|| {
            ForgeError::Unavailable(format!("no last merge source commit found for pull request {number}"))
        })?;
        let web = value.pointer("/repository/webUrl").and_then(Value::as_str).unwrap_or_default();
        Ok(PullRequest {
            number,
            url: format!("{web}/pullrequest/{number}"),
            open: status == "active",
            merged,
            merge_commit: value
                .pointer("/lastMergeCommit/commitId")
                .and_then(Value::as_str)
                .filter(|_| merged)
                .map(str::to_owned),
            head_sha: head_sha.to_owned(),
            created_at: value["creationDate"].as_str().map(str::to_owned),
        })
    }

    async fn read(&self, number: i64) -> Result<Value, ForgeError> {
        let reply =
            self.call(Method::GET, &self.url(&format!("/pullrequests/{number}")), None).await.map_err(|e| match e {
                ForgeError::NotFound(_) => ForgeError::NotFound(format!(
                    "pull request {number} not found in {} (or the token cannot see the repository)",
                    self.slug()
                )),
                other => other,
            })?;
        Ok(reply.body)
    }
}

#[async_trait::async_trait]
impl Forge for Azure {
    async fn get(&self, number: i64) -> Result<PullRequest, ForgeError> {
        Azure::pull_request(&self.read(number).await?)
    }

    async fn find_open(
        &self,
        source_branch: &str,
        target_branch: &str,
        head_sha: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let mut found = Vec::new();
        let mut skip = 0;
        for _ in 0..MAX_PAGES {
            let url = self.url(&format!(
                "/pullrequests?searchCriteria.status=active&searchCriteria.sourceRefName={}&searchCriteria.targetRefName={}&$top={PAGE}&$skip={skip}",
                encode(&format!("refs/heads/{source_branch}")),
                encode(&format!("refs/heads/{target_branch}"))
            ));
            let reply = self.call(Method::GET, &url, None).await?;
            let items = reply.body["value"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                break;
            }
            skip += items.len();
            for item in &items {
                let pr = Azure::pull_request(item)?;
                if pr.open && pr.head_sha == head_sha {
                    found.push(pr);
                }
            }
        }
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(found.into_iter().next())
    }

    async fn create(&self, request: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        let body = json!({
            "sourceRefName": format!("refs/heads/{}", request.source_branch),
            "targetRefName": format!("refs/heads/{}", request.target_branch),
            "title": request.title,
            "description": request.description,
            "labels": request.labels.iter().map(|name| json!({"name": name})).collect::<Vec<_>>(),
        });
        let reply = self.call(Method::POST, &self.url("/pullrequests"), Some(body)).await?;
        if !reply.status.is_success() {
            return Err(ForgeError::Refused(format!(
                "error creating pull request from {:?} to {:?}: {}",
                request.source_branch,
                request.target_branch,
                message(&reply.body)
            )));
        }
        Azure::pull_request(&reply.body)
    }

    async fn merge(&self, number: i64, method: Option<&str>) -> Result<Merge, ForgeError> {
        if let Some(strategy) = method.filter(|m| !STRATEGIES.contains(m)) {
            return Err(ForgeError::Refused(format!(
                "unsupported merge method {strategy:?}: Azure DevOps takes {}",
                STRATEGIES.join(", ")
            )));
        }
        let current = self.read(number).await?;
        let pr = Azure::pull_request(&current)?;
        if pr.merged {
            return Ok(Merge::Merged(pr));
        }
        if current["status"] == "abandoned" {
            return Err(ForgeError::Refused(format!("pull request {number} is abandoned")));
        }
        let merge_status = current["mergeStatus"].as_str().unwrap_or("notSet");
        if merge_status == "conflicts" {
            return Err(ForgeError::Refused(format!("pull request {number} has conflicts and cannot be merged")));
        }
        if current["isDraft"] == true || merge_status != "succeeded" || !pr.open {
            return Ok(Merge::NotReady(format!("pull request {number} is not ready to complete ({merge_status})")));
        }
        let mut body = json!({"status": "completed", "lastMergeSourceCommit": {"commitId": pr.head_sha}});
        if let Some(strategy) = method {
            body["completionOptions"] = json!({"mergeStrategy": strategy});
        }
        let reply = self.call(Method::PATCH, &self.url(&format!("/pullrequests/{number}")), Some(body)).await?;
        if !reply.status.is_success() {
            return Err(ForgeError::Refused(format!(
                "Azure DevOps will not complete pull request {number}: {}",
                message(&reply.body)
            )));
        }
        // Completion happens in the background.
        for look in 0..COMPLETION_LOOKS {
            let pr = self.get(number).await?;
            if pr.merged {
                return Ok(Merge::Merged(pr));
            }
            if look + 1 < COMPLETION_LOOKS {
                tokio::time::sleep(COMPLETION_PAUSE).await;
            }
        }
        Ok(Merge::NotReady(format!("Azure DevOps is still completing pull request {number}")))
    }

    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError> {
        let (genre, name) = status.context.split_once('/').unwrap_or(("convoy", status.context.as_str()));
        let mut body = json!({
            "state": match status.state {
                CheckState::Pending => "pending",
                CheckState::Success => "succeeded",
                CheckState::Failure => "failed",
                CheckState::Error => "error",
            },
            "description": status.short_description(),
            "context": {"genre": genre, "name": name},
        });
        if !status.target_url.is_empty() {
            body["targetUrl"] = json!(status.target_url);
        }
        let reply =
            self.call(Method::POST, &self.url(&format!("/commits/{}/statuses", encode(sha))), Some(body)).await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(ForgeError::Refused(format!("Azure DevOps refused the status: {}", message(&reply.body))))
        }
    }
}
