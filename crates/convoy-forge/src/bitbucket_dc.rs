//! Bitbucket Data Center's pull-request API (`/rest/api/latest`; not in Kargo). PRs are merged
//! at their `version` after the server's own eligibility check (`GET …/merge`).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::rest::{MAX_PAGES, Refusal, Reply, encode, send};
use crate::{CheckState, CommitStatus, Forge, ForgeError, Merge, NewPullRequest, PullRequest, Repository};

const STRATEGIES: [&str; 7] = ["no-ff", "ff", "ff-only", "rebase-no-ff", "rebase-ff-only", "squash", "squash-ff-only"];

pub struct BitbucketDataCenter {
    repository: Repository,
    token: Option<String>,
    http: reqwest::Client,
}

/// Data Center's error bodies: `{"errors": [{"message": ...}]}`.
fn message(body: &Value) -> String {
    let texts: Vec<&str> =
        body["errors"].as_array().into_iter().flatten().filter_map(|e| e["message"].as_str()).collect();
    if texts.is_empty() { crate::rest::message(body) } else { texts.join("; ") }
}

impl BitbucketDataCenter {
    pub fn new(repository: Repository, token: Option<String>, http: reqwest::Client) -> BitbucketDataCenter {
        BitbucketDataCenter { repository, token, http }
    }

    fn slug(&self) -> String {
        format!("{}/{}", self.repository.owner, self.repository.name)
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/projects/{}/repos/{}{rest}",
            self.repository.api,
            encode(&self.repository.owner),
            encode(&self.repository.name)
        )
    }

    async fn call(&self, method: Method, url: &str, body: Option<Value>) -> Result<Reply, ForgeError> {
        let mut request = self.http.request(method, url).header("accept", "application/json");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = send("Bitbucket Data Center", request).await?;
        Refusal {
            forge: "Bitbucket Data Center",
            repository: &self.slug(),
            token_hint: "check the password of the git credentials Secret (an HTTP access token)",
            permission_hint: "the token needs repository write",
            message,
        }
        .check(reply, &[StatusCode::CONFLICT, StatusCode::BAD_REQUEST])
    }

    fn pull_request(value: &Value) -> PullRequest {
        let state = value["state"].as_str().unwrap_or("");
        let merged = state == "MERGED";
        PullRequest {
            number: value["id"].as_i64().unwrap_or_default(),
            url: value.pointer("/links/self/0/href").and_then(Value::as_str).unwrap_or_default().to_owned(),
            open: state == "OPEN",
            merged,
            merge_commit: value
                .pointer("/properties/mergeCommit/id")
                .and_then(Value::as_str)
                .filter(|_| merged)
                .map(str::to_owned),
            head_sha: value.pointer("/fromRef/latestCommit").and_then(Value::as_str).unwrap_or_default().to_owned(),
            created_at: value["createdDate"].as_i64().map(|ms| format!("{ms:020}")),
        }
    }

    fn reference(&self, branch: &str) -> Value {
        json!({
            "id": format!("refs/heads/{branch}"),
            "repository": {"slug": self.repository.name, "project": {"key": self.repository.owner}},
        })
    }
}

#[async_trait::async_trait]
impl Forge for BitbucketDataCenter {
    async fn get(&self, number: i64) -> Result<PullRequest, ForgeError> {
        let reply = self.call(Method::GET, &self.url(&format!("/pull-requests/{number}")), None).await.map_err(
            |e| match e {
                ForgeError::NotFound(_) => ForgeError::NotFound(format!(
                    "pull request {number} not found in {} (or the token cannot see the repository)",
                    self.slug()
                )),
                other => other,
            },
        )?;
        Ok(BitbucketDataCenter::pull_request(&reply.body))
    }

    async fn find_open(
        &self,
        source_branch: &str,
        target_branch: &str,
        head_sha: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let (source, target) = (format!("refs/heads/{source_branch}"), format!("refs/heads/{target_branch}"));
        let mut found = Vec::new();
        let mut start = Some(0);
        for _ in 0..MAX_PAGES {
            let Some(at) = start.take() else { break };
            let url = self.url(&format!(
                "/pull-requests?state=OPEN&direction=OUTGOING&at={}&start={at}&limit=100",
                encode(&source)
            ));
            let reply = self.call(Method::GET, &url, None).await?;
            for item in reply.body["values"].as_array().into_iter().flatten() {
                let same_branches = item.pointer("/fromRef/id").and_then(Value::as_str) == Some(source.as_str())
                    && item.pointer("/toRef/id").and_then(Value::as_str) == Some(target.as_str());
                let pr = BitbucketDataCenter::pull_request(item);
                if same_branches && pr.open && pr.head_sha == head_sha {
                    found.push(pr);
                }
            }
            if reply.body["isLastPage"] != true {
                start = reply.body["nextPageStart"].as_i64();
            }
        }
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(found.into_iter().next())
    }

    async fn create(&self, request: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        let body = json!({
            "title": request.title,
            "description": request.description,
            "fromRef": self.reference(&request.source_branch),
            "toRef": self.reference(&request.target_branch),
        });
        let reply = self.call(Method::POST, &self.url("/pull-requests"), Some(body)).await?;
        if reply.status != StatusCode::CREATED {
            return Err(ForgeError::Refused(format!(
                "Bitbucket Data Center refused the pull request ({}): {}",
                reply.status.as_u16(),
                message(&reply.body)
            )));
        }
        Ok(BitbucketDataCenter::pull_request(&reply.body))
    }

    async fn merge(&self, number: i64, method: Option<&str>) -> Result<Merge, ForgeError> {
        if let Some(strategy) = method.filter(|m| !STRATEGIES.contains(m)) {
            return Err(ForgeError::Refused(format!(
                "unsupported merge strategy {strategy:?}: Bitbucket Data Center takes {}",
                STRATEGIES.join(", ")
            )));
        }
        let current = self.call(Method::GET, &self.url(&format!("/pull-requests/{number}")), None).await?.body;
        let pr = BitbucketDataCenter::pull_request(&current);
        if pr.merged {
            return Ok(Merge::Merged(pr));
        }
        if !pr.open {
            let state = current["state"].as_str().unwrap_or_default();
            return Err(ForgeError::Refused(format!(
                "pull request {number} is closed but not merged (state: {state})"
            )));
        }
        if current["draft"] == true {
            return Ok(Merge::NotReady(format!("pull request {number} is a draft")));
        }
        // The server's own check: conflicts, and merge checks (approvals, builds) that veto.
        let check = self.call(Method::GET, &self.url(&format!("/pull-requests/{number}/merge")), None).await?.body;
        if check["conflicted"] == true {
            return Err(ForgeError::Refused(format!("pull request {number} has conflicts and cannot be merged")));
        }
        if check["canMerge"] != true {
            let vetoes: Vec<&str> =
                check["vetoes"].as_array().into_iter().flatten().filter_map(|v| v["summaryMessage"].as_str()).collect();
            return Ok(Merge::NotReady(format!("pull request {number} cannot be merged yet: {}", vetoes.join("; "))));
        }
        let version = current["version"].as_i64().unwrap_or_default();
        let mut body = json!({});
        if let Some(strategy) = method {
            body["strategyId"] = json!(strategy);
        }
        let url = self.url(&format!("/pull-requests/{number}/merge?version={version}"));
        let reply = self.call(Method::POST, &url, Some(body)).await?;
        match reply.status {
            s if s.is_success() => Ok(Merge::Merged(BitbucketDataCenter::pull_request(&reply.body))),
            // Changed since it was read (a new version): look again.
            StatusCode::CONFLICT if message(&reply.body).contains("out-of-date") => {
                Ok(Merge::NotReady(format!("pull request {number} changed while it was merged")))
            }
            s => Err(ForgeError::Refused(format!(
                "Bitbucket Data Center will not merge pull request {number} ({s}): {}",
                message(&reply.body)
            ))),
        }
    }

    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError> {
        let key: String =
            status.context.chars().filter(|c| c.is_ascii_alphanumeric() || "-_./".contains(*c)).take(255).collect();
        let body = json!({
            "key": key,
            "name": status.context,
            "state": match status.state {
                CheckState::Pending => "INPROGRESS",
                CheckState::Success => "SUCCESSFUL",
                CheckState::Failure | CheckState::Error => "FAILED",
            },
            "description": status.short_description(),
            "url": if status.target_url.is_empty() { self.repository.web.clone() } else { status.target_url.clone() },
        });
        let reply = self.call(Method::POST, &self.url(&format!("/commits/{}/builds", encode(sha))), Some(body)).await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(ForgeError::Refused(format!("Bitbucket Data Center refused the status: {}", message(&reply.body))))
        }
    }
}
