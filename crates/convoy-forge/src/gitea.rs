//! Gitea's and Forgejo's pull-request API (`/api/v1`).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::rest::{MAX_PAGES, Refusal, Reply, message, next_link, same_origin, send};
use crate::{CheckState, CommitStatus, Forge, ForgeError, Merge, NewPullRequest, PullRequest, Repository};

/// The merge styles Gitea takes (`Do`).
const STYLES: [&str; 6] = ["merge", "rebase", "rebase-merge", "squash", "fast-forward-only", "manually-merged"];

pub struct Gitea {
    repository: Repository,
    token: Option<String>,
    http: reqwest::Client,
}

impl Gitea {
    pub fn new(repository: Repository, token: Option<String>, http: reqwest::Client) -> Gitea {
        Gitea { repository, token, http }
    }

    fn slug(&self) -> String {
        format!("{}/{}", self.repository.owner, self.repository.name)
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/repos/{}/{}{rest}", self.repository.api, self.repository.owner, self.repository.name)
    }

    async fn call(&self, method: Method, url: &str, body: Option<Value>) -> Result<Reply, ForgeError> {
        let mut request = self.http.request(method, url).header("accept", "application/json");
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("token {token}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = send("Gitea", request).await?;
        Refusal {
            forge: "Gitea",
            repository: &self.slug(),
            token_hint: "check the password of the git credentials Secret for this repository",
            permission_hint: "the token needs write:repository",
            message,
        }
        .check(reply, &[StatusCode::METHOD_NOT_ALLOWED, StatusCode::CONFLICT])
    }

    fn pull_request(value: &Value) -> PullRequest {
        let merged = value["merged"] == true;
        PullRequest {
            number: value["number"].as_i64().unwrap_or_default(),
            url: value["html_url"].as_str().unwrap_or_default().to_owned(),
            open: value["state"] == "open",
            merged,
            merge_commit: value["merge_commit_sha"].as_str().filter(|s| merged && !s.is_empty()).map(str::to_owned),
            head_sha: value.pointer("/head/sha").and_then(Value::as_str).unwrap_or_default().to_owned(),
            created_at: value["created_at"].as_str().map(str::to_owned),
        }
    }

    /// Every item of a paged list (`Link` headers).
    async fn all(&self, first: String) -> Result<Vec<Value>, ForgeError> {
        let mut items = Vec::new();
        let mut url = Some(first);
        for _ in 0..MAX_PAGES {
            let Some(page) = url.take() else { break };
            let reply = self.call(Method::GET, &page, None).await?;
            items.extend(reply.body.as_array().cloned().unwrap_or_default());
            url = next_link(reply.header("link")).and_then(|next| same_origin(next, &self.repository.api));
        }
        Ok(items)
    }

    /// The ids of `names` among the repository's labels (Gitea applies labels by id).
    async fn label_ids(&self, names: &[String]) -> Result<Vec<i64>, ForgeError> {
        let labels = self.all(self.url("/labels?limit=50")).await?;
        let id_of = |name: &str| labels.iter().find(|l| l["name"] == name).and_then(|l| l["id"].as_i64());
        let missing: Vec<&str> = names.iter().map(String::as_str).filter(|n| id_of(n).is_none()).collect();
        if !missing.is_empty() {
            return Err(ForgeError::Refused(format!(
                "labels not found in repository {}: {} (Gitea applies only labels that exist; create them first)",
                self.slug(),
                missing.join(", ")
            )));
        }
        Ok(names.iter().filter_map(|n| id_of(n)).collect())
    }
}

#[async_trait::async_trait]
impl Forge for Gitea {
    async fn get(&self, number: i64) -> Result<PullRequest, ForgeError> {
        let reply =
            self.call(Method::GET, &self.url(&format!("/pulls/{number}")), None).await.map_err(|e| match e {
                ForgeError::NotFound(_) => ForgeError::NotFound(format!(
                    "pull request {number} not found in {} (or the token cannot see the repository)",
                    self.slug()
                )),
                other => other,
            })?;
        Ok(Gitea::pull_request(&reply.body))
    }

    async fn find_open(
        &self,
        source_branch: &str,
        target_branch: &str,
        head_sha: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let items = self.all(self.url("/pulls?state=open&limit=50")).await?;
        let mut found: Vec<PullRequest> = items
            .iter()
            .filter(|item| {
                item.pointer("/head/ref").and_then(Value::as_str) == Some(source_branch)
                    && item.pointer("/base/ref").and_then(Value::as_str) == Some(target_branch)
            })
            .map(Gitea::pull_request)
            .filter(|pr| pr.open && pr.head_sha == head_sha)
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(found.into_iter().next())
    }

    async fn create(&self, request: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        let labels = if request.labels.is_empty() { Vec::new() } else { self.label_ids(&request.labels).await? };
        let body = json!({
            "title": request.title,
            "head": request.source_branch,
            "base": request.target_branch,
            "body": request.description,
            "labels": labels,
        });
        let reply = self.call(Method::POST, &self.url("/pulls"), Some(body)).await?;
        if !reply.status.is_success() {
            return Err(ForgeError::Refused(format!("Gitea refused the pull request: {}", message(&reply.body))));
        }
        Ok(Gitea::pull_request(&reply.body))
    }

    async fn merge(&self, number: i64, method: Option<&str>) -> Result<Merge, ForgeError> {
        let style = method.unwrap_or("merge");
        if !STYLES.contains(&style) {
            return Err(ForgeError::Refused(format!(
                "unsupported merge method {style:?}: Gitea takes {}",
                STYLES.join(", ")
            )));
        }
        let current = self.call(Method::GET, &self.url(&format!("/pulls/{number}")), None).await?.body;
        let pr = Gitea::pull_request(&current);
        if pr.merged {
            return Ok(Merge::Merged(pr));
        }
        if !pr.open {
            return Err(ForgeError::Refused(format!("pull request {number} is closed but not merged")));
        }
        if current["draft"] == true || current["mergeable"] != true {
            return Ok(Merge::NotReady(format!("Gitea does not report pull request {number} as mergeable yet")));
        }
        let reply =
            self.call(Method::POST, &self.url(&format!("/pulls/{number}/merge")), Some(json!({"Do": style}))).await?;
        match reply.status {
            StatusCode::OK => Ok(Merge::Merged(self.get(number).await?)),
            StatusCode::METHOD_NOT_ALLOWED if message(&reply.body).contains("try again later") => {
                Ok(Merge::NotReady(format!("pull request {number}: Gitea says try again later")))
            }
            s => Err(ForgeError::Refused(format!(
                "merge rejected for pull request {number} ({s}): {}",
                message(&reply.body)
            ))),
        }
    }

    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError> {
        let mut body = json!({
            "state": match status.state {
                CheckState::Pending => "pending",
                CheckState::Success => "success",
                CheckState::Failure => "failure",
                CheckState::Error => "error",
            },
            "context": status.context,
            "description": status.short_description(),
        });
        if !status.target_url.is_empty() {
            body["target_url"] = json!(status.target_url);
        }
        let reply =
            self.call(Method::POST, &self.url(&format!("/statuses/{}", crate::rest::encode(sha))), Some(body)).await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(ForgeError::Refused(format!("Gitea refused the status: {}", message(&reply.body))))
        }
    }
}
