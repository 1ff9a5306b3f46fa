//! Bitbucket Cloud's pull-request API (`/2.0`). Its PR objects carry short (12-character)
//! commit hashes: heads are compared by prefix, merge commits resolved to full SHAs.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::rest::{MAX_PAGES, Refusal, Reply, message, same_origin, send};
use crate::{CheckState, CommitStatus, Forge, ForgeError, Merge, NewPullRequest, PullRequest, Repository};

const STRATEGIES: [&str; 6] =
    ["merge_commit", "squash", "fast_forward", "squash_fast_forward", "rebase_fast_forward", "rebase_merge"];

pub struct Bitbucket {
    repository: Repository,
    token: Option<String>,
    http: reqwest::Client,
}

impl Bitbucket {
    pub fn new(repository: Repository, token: Option<String>, http: reqwest::Client) -> Bitbucket {
        Bitbucket { repository, token, http }
    }

    fn slug(&self) -> String {
        format!("{}/{}", self.repository.owner, self.repository.name)
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/repositories/{}/{}{rest}", self.repository.api, self.repository.owner, self.repository.name)
    }

    async fn call(&self, method: Method, url: &str, body: Option<Value>) -> Result<Reply, ForgeError> {
        let mut request = self.http.request(method, url).header("accept", "application/json");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = send("Bitbucket", request).await?;
        Refusal {
            forge: "Bitbucket",
            repository: &self.slug(),
            token_hint: "check the password of the git credentials Secret (a repository, project or workspace access token)",
            permission_hint: "the token needs the pullrequest:write scope",
            message,
        }
        .check(reply, &[StatusCode::BAD_REQUEST])
    }

    fn pull_request(value: &Value) -> PullRequest {
        let state = value["state"].as_str().unwrap_or("");
        let merged = state == "MERGED";
        PullRequest {
            number: value["id"].as_i64().unwrap_or_default(),
            url: value.pointer("/links/html/href").and_then(Value::as_str).unwrap_or_default().to_owned(),
            open: state == "OPEN",
            merged,
            merge_commit: value
                .pointer("/merge_commit/hash")
                .and_then(Value::as_str)
                .filter(|_| merged)
                .map(str::to_owned),
            head_sha: value.pointer("/source/commit/hash").and_then(Value::as_str).unwrap_or_default().to_owned(),
            created_at: value["created_on"].as_str().map(str::to_owned),
        }
    }

    /// The PR with its merge commit's short hash resolved to the full SHA.
    async fn resolved(&self, value: &Value) -> Result<PullRequest, ForgeError> {
        let mut pr = Bitbucket::pull_request(value);
        if let Some(short) = pr.merge_commit.clone().filter(|h| h.len() < 40) {
            let reply = self.call(Method::GET, &self.url(&format!("/commit/{short}")), None).await?;
            pr.merge_commit = reply.body["hash"].as_str().map(str::to_owned).or(Some(short));
        }
        Ok(pr)
    }
}

#[async_trait::async_trait]
impl Forge for Bitbucket {
    async fn get(&self, number: i64) -> Result<PullRequest, ForgeError> {
        let reply =
            self.call(Method::GET, &self.url(&format!("/pullrequests/{number}")), None).await.map_err(|e| match e {
                ForgeError::NotFound(_) => ForgeError::NotFound(format!(
                    "pull request {number} not found in {} (or the token cannot see the repository)",
                    self.slug()
                )),
                other => other,
            })?;
        self.resolved(&reply.body).await
    }

    async fn find_open(
        &self,
        source_branch: &str,
        target_branch: &str,
        head_sha: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let mut found = Vec::new();
        let mut url = Some(self.url("/pullrequests?state=OPEN&pagelen=50"));
        for _ in 0..MAX_PAGES {
            let Some(page) = url.take() else { break };
            let reply = self.call(Method::GET, &page, None).await?;
            for item in reply.body["values"].as_array().into_iter().flatten() {
                let same_branches = item.pointer("/source/branch/name").and_then(Value::as_str) == Some(source_branch)
                    && item.pointer("/destination/branch/name").and_then(Value::as_str) == Some(target_branch);
                let pr = Bitbucket::pull_request(item);
                // Short hashes: the full HEAD starts with them.
                let same_head = pr.head_sha.len() >= 7 && head_sha.starts_with(&pr.head_sha);
                if same_branches && pr.open && same_head {
                    found.push(pr);
                }
            }
            url =
                reply.body["next"].as_str().map(str::to_owned).and_then(|next| same_origin(next, &self.repository.api));
        }
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        let mut first = found.into_iter().next();
        if let Some(pr) = first.as_mut() {
            pr.head_sha = head_sha.to_owned();
        }
        Ok(first)
    }

    async fn create(&self, request: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        // Bitbucket Cloud has no labels on pull requests; they are not sent.
        let mut body = json!({
            "type": "pullrequest",
            "title": request.title,
            "source": {"branch": {"name": request.source_branch}},
            "destination": {"branch": {"name": request.target_branch}},
        });
        if !request.description.is_empty() {
            body["description"] = json!(request.description);
        }
        let reply = self.call(Method::POST, &self.url("/pullrequests"), Some(body)).await?;
        if reply.status != StatusCode::CREATED {
            return Err(ForgeError::Refused(format!(
                "unexpected response {} creating pull request: {}",
                reply.status.as_u16(),
                message(&reply.body)
            )));
        }
        Ok(Bitbucket::pull_request(&reply.body))
    }

    async fn merge(&self, number: i64, method: Option<&str>) -> Result<Merge, ForgeError> {
        if let Some(strategy) = method.filter(|m| !STRATEGIES.contains(m)) {
            return Err(ForgeError::Refused(format!(
                "unsupported merge strategy {strategy:?}: Bitbucket takes {}",
                STRATEGIES.join(", ")
            )));
        }
        let current = self.call(Method::GET, &self.url(&format!("/pullrequests/{number}")), None).await?.body;
        let state = current["state"].as_str().unwrap_or("").to_owned();
        if state == "MERGED" {
            return Ok(Merge::Merged(self.resolved(&current).await?));
        }
        if state != "OPEN" {
            return Err(ForgeError::Refused(format!(
                "pull request {number} is closed but not merged (state: {state})"
            )));
        }
        if current["draft"] == true {
            return Ok(Merge::NotReady(format!("pull request {number} is a draft")));
        }
        let mut body = json!({"type": "pullrequest_merge_parameters"});
        if let Some(strategy) = method {
            body["merge_strategy"] = json!(strategy);
        }
        let reply = self.call(Method::POST, &self.url(&format!("/pullrequests/{number}/merge")), Some(body)).await?;
        match reply.status {
            StatusCode::OK if reply.body["state"] == "MERGED" => Ok(Merge::Merged(self.resolved(&reply.body).await?)),
            StatusCode::OK => Err(ForgeError::Refused(format!(
                "unexpected state {} after merging pull request {number}",
                reply.body["state"]
            ))),
            // Merged in the background: the next look sees it merged.
            StatusCode::ACCEPTED => Ok(Merge::NotReady(format!("Bitbucket is merging pull request {number}"))),
            s => Err(ForgeError::Refused(format!(
                "unexpected response {} merging pull request {number}: {}",
                s.as_u16(),
                message(&reply.body)
            ))),
        }
    }

    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError> {
        // Bitbucket keys statuses by `key` (at most 40 characters) and requires a URL.
        let key: String =
            status.context.chars().filter(|c| c.is_ascii_alphanumeric() || "-_./".contains(*c)).take(40).collect();
        let url = if status.target_url.is_empty() {
            format!("https://bitbucket.org/{}", self.slug())
        } else {
            status.target_url.clone()
        };
        let body = json!({
            "type": "commitstatus",
            "key": key,
            "state": match status.state {
                CheckState::Pending => "INPROGRESS",
                CheckState::Success => "SUCCESSFUL",
                CheckState::Failure | CheckState::Error => "FAILED",
            },
            "name": status.context,
            "description": status.short_description(),
            "url": url,
        });
        let reply = self
            .call(Method::POST, &self.url(&format!("/commit/{}/statuses/build", crate::rest::encode(sha))), Some(body))
            .await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(ForgeError::Refused(format!("Bitbucket refused the status: {}", message(&reply.body))))
        }
    }
}
