//! GitHub's pull-request API as documented (REST 2022-11-28): list (paged with `Link`, the
//! `head` filter honoured only as `owner:branch`), get (with `mergeable`/`mergeable_state`),
//! create (201; 422 when an open PR exists), labels, merge (405 texts, 409), bearer auth (401
//! `Bad credentials`), 403 for missing permissions, rate limits (403/429 with
//! `x-ratelimit-remaining: 0` and `x-ratelimit-reset`, or `retry-after`).

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

/// A pull request as the double keeps it.
#[derive(Debug, Clone)]
pub struct Pull {
    pub number: i64,
    pub title: String,
    pub body: String,
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    pub state: &'static str,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    pub mergeable_state: String,
    pub draft: bool,
    pub labels: Vec<String>,
    pub created_at: String,
    /// The merge method a merge used.
    pub merged_with: Option<String>,
}

#[derive(Default)]
struct Double {
    owner: String,
    repo: String,
    pulls: Vec<Pull>,
    token: Option<String>,
    page_size: usize,
    forbid_writes: bool,
    /// The next request is refused for a rate limit: (status, seconds to reset, with retry-after).
    rate_limited: Option<(u16, u64, bool)>,
    disallowed_methods: Vec<String>,
    requests: Vec<String>,
    base: String,
    /// Branch heads by name; else read from this bare repository (the e2e's remote).
    branches: std::collections::BTreeMap<String, String>,
    git_dir: Option<std::path::PathBuf>,
}

impl Double {
    fn branch_head(&self, branch: &str) -> Option<String> {
        if let Some(sha) = self.branches.get(branch) {
            return Some(sha.clone());
        }
        let git_dir = self.git_dir.as_ref()?;
        let out = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(git_dir)
            .args(["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}")])
            .output()
            .ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

/// The double: serve it, then point a repository URL's API at [`GitHubDouble::url`].
#[derive(Clone)]
pub struct GitHubDouble {
    inner: Arc<Mutex<Double>>,
}

impl GitHubDouble {
    /// A double for `owner/repo` that accepts `token` (none: any request).
    pub fn new(owner: &str, repo: &str, token: Option<&str>) -> GitHubDouble {
        let double = Double {
            owner: owner.into(),
            repo: repo.into(),
            token: token.map(str::to_owned),
            page_size: 100,
            ..Double::default()
        };
        GitHubDouble { inner: Arc::new(Mutex::new(double)) }
    }

    fn state(&self) -> MutexGuard<'_, Double> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves on 127.0.0.1; the API base URL.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        self.state().base = base.clone();
        let routes = axum::Router::new()
            .route("/repos/{owner}/{repo}/pulls", get(list).post(create))
            .route("/repos/{owner}/{repo}/pulls/{number}", get(one))
            .route("/repos/{owner}/{repo}/pulls/{number}/merge", put(merge))
            .route("/repos/{owner}/{repo}/issues/{number}/labels", post(labels))
            .with_state(self.clone());
        // As api.github.com serves it, and as an Enterprise Server does (under /api/v3), so that
        // a repoURL on this address with `provider: github` reaches it.
        let router = routes.clone().nest("/api/v3", routes);
        tokio::spawn(async move { axum::serve(listener, router).await.ok() });
        base
    }

    /// The head of `branch` (as pushed to the forge).
    pub fn set_branch(&self, branch: &str, sha: &str) {
        self.state().branches.insert(branch.into(), sha.into());
    }

    /// Branch heads come from this bare repository (the git remote the promotion pushes to).
    pub fn backed_by(&self, git_dir: &std::path::Path) {
        self.state().git_dir = Some(git_dir.to_owned());
    }

    /// Pages of at most `size` PRs.
    pub fn page_size(&self, size: usize) {
        self.state().page_size = size.max(1);
    }

    /// Writes answer 403 (`Resource not accessible by integration`).
    pub fn forbid_writes(&self) {
        self.state().forbid_writes = true;
    }

    /// The next request answers `status` (403 or 429) for a rate limit that resets in `seconds`;
    /// with `retry_after`, as a secondary limit (`retry-after: seconds`).
    pub fn rate_limit_next(&self, status: u16, seconds: u64, retry_after: bool) {
        self.state().rate_limited = Some((status, seconds, retry_after));
    }

    /// Refuse a merge method (`merge`, `squash`, `rebase`) as the repository's settings do.
    pub fn disallow_method(&self, method: &str) {
        self.state().disallowed_methods.push(method.to_owned());
    }

    /// A PR opened by someone else (a person, another tool).
    pub fn add(&self, head_ref: &str, head_sha: &str, base_ref: &str) -> i64 {
        let mut state = self.state();
        let number = state.pulls.len() as i64 + 1;
        state.pulls.push(Pull {
            number,
            title: format!("PR {number}"),
            body: String::new(),
            head_ref: head_ref.into(),
            head_sha: head_sha.into(),
            base_ref: base_ref.into(),
            state: "open",
            merged: false,
            merge_commit_sha: Some(format!("{:040x}", 0xabc000 + number)),
            mergeable_state: "clean".into(),
            draft: false,
            labels: Vec::new(),
            created_at: format!("2026-01-01T00:00:{:02}Z", number % 60),
            merged_with: None,
        });
        number
    }

    /// A reviewer merges the PR (the test pushes `merge_commit` to the git remote itself).
    pub fn merge_by_hand(&self, number: i64, merge_commit: &str) {
        if let Some(pull) = self.state().pulls.iter_mut().find(|p| p.number == number) {
            pull.state = "closed";
            pull.merged = true;
            pull.merge_commit_sha = Some(merge_commit.into());
        }
    }

    /// A reviewer closes the PR without merging it.
    pub fn close(&self, number: i64) {
        if let Some(pull) = self.state().pulls.iter_mut().find(|p| p.number == number) {
            pull.state = "closed";
        }
    }

    /// GitHub's `mergeable_state` of a PR (`clean`, `dirty`, `unknown`, `blocked`, `draft`...).
    pub fn set_mergeable_state(&self, number: i64, state: &str) {
        if let Some(pull) = self.state().pulls.iter_mut().find(|p| p.number == number) {
            pull.mergeable_state = state.into();
        }
    }

    pub fn pulls(&self) -> Vec<Pull> {
        self.state().pulls.clone()
    }

    /// Every request, as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"message": message, "documentation_url": "https://docs.github.com/rest"});
    (status, Json(body)).into_response()
}

/// Authentication, rate limits and the repository's name, as GitHub checks them first.
#[expect(clippy::result_large_err, reason = "the refusal is the response the handler returns as is")]
fn admit(
    double: &GitHubDouble,
    headers: &HeaderMap,
    owner: &str,
    repo: &str,
    line: String,
    write: bool,
) -> Result<(), Response> {
    let mut state = double.state();
    state.requests.push(line);
    if let Some((status, seconds, retry_after)) = state.rate_limited.take() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        let message = if retry_after {
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        } else {
            "API rate limit exceeded for installation."
        };
        let mut response = error(status, message);
        let h = response.headers_mut();
        h.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
        h.insert("x-ratelimit-remaining", HeaderValue::from_static(if retry_after { "4000" } else { "0" }));
        h.insert("x-ratelimit-reset", HeaderValue::from_str(&(now + seconds).to_string()).expect("digits"));
        if retry_after {
            h.insert("retry-after", HeaderValue::from_str(&seconds.to_string()).expect("digits"));
        }
        return Err(response);
    }
    if let Some(token) = &state.token {
        let given = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        let accepted = given.strip_prefix("Bearer ").or_else(|| given.strip_prefix("token ")) == Some(token.as_str());
        if !accepted {
            return Err(error(StatusCode::UNAUTHORIZED, "Bad credentials"));
        }
    }
    if owner != state.owner || repo != state.repo {
        return Err(error(StatusCode::NOT_FOUND, "Not Found"));
    }
    if write && state.forbid_writes {
        return Err(error(StatusCode::FORBIDDEN, "Resource not accessible by integration"));
    }
    Ok(())
}

fn pull_json(base: &str, owner: &str, repo: &str, pull: &Pull, full: bool) -> Value {
    let mut value = json!({
        "number": pull.number,
        "state": pull.state,
        "title": pull.title,
        "body": pull.body,
        "html_url": format!("{base}/{owner}/{repo}/pull/{}", pull.number),
        "head": {"ref": pull.head_ref, "sha": pull.head_sha, "label": format!("{owner}:{}", pull.head_ref)},
        "base": {"ref": pull.base_ref},
        "draft": pull.draft,
        "merged_at": if pull.merged { json!("2026-01-02T00:00:00Z") } else { Value::Null },
        "merge_commit_sha": pull.merge_commit_sha,
        "created_at": pull.created_at,
        "labels": pull.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
    });
    if full {
        // Only the single-PR answer has these (not list items).
        value["merged"] = json!(pull.merged);
        let mergeable = match pull.mergeable_state.as_str() {
            "unknown" => Value::Null,
            "dirty" => json!(false),
            _ => json!(true),
        };
        value["mergeable"] = mergeable;
        value["mergeable_state"] = json!(pull.mergeable_state);
    }
    value
}

#[derive(Deserialize, Default)]
struct ListQuery {
    state: Option<String>,
    head: Option<String>,
    base: Option<String>,
    per_page: Option<usize>,
    page: Option<usize>,
}

async fn list(
    State(double): State<GitHubDouble>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let line = format!("GET /repos/{owner}/{repo}/pulls?head={:?}", query.head);
    if let Err(refused) = admit(&double, &headers, &owner, &repo, line, false) {
        return refused;
    }
    let state = double.state();
    let wanted = query.state.as_deref().unwrap_or("open");
    // GitHub honours `head` only as `owner:branch`; a bare branch is silently ignored.
    let head = query.head.as_deref().and_then(|h| h.split_once(':')).map(|(_, branch)| branch.to_owned());
    let matching: Vec<&Pull> = state
        .pulls
        .iter()
        .filter(|p| wanted == "all" || p.state == wanted)
        .filter(|p| head.as_ref().is_none_or(|h| &p.head_ref == h))
        .filter(|p| query.base.as_ref().is_none_or(|b| &p.base_ref == b))
        .collect();
    let size = query.per_page.unwrap_or(30).clamp(1, 100).min(state.page_size);
    let page = query.page.unwrap_or(1).max(1);
    let items: Vec<Value> = matching
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|p| pull_json(&state.base, &owner, &repo, p, false))
        .collect();
    let mut response = Json(items).into_response();
    if page * size < matching.len() {
        let mut next =
            format!("{}/repos/{owner}/{repo}/pulls?state={wanted}&per_page={size}&page={}", state.base, page + 1);
        if let Some(head) = &query.head {
            next.push_str(&format!("&head={}", head.replace(':', "%3A")));
        }
        if let Some(base) = &query.base {
            next.push_str(&format!("&base={base}"));
        }
        let link = format!("<{next}>; rel=\"next\"");
        response.headers_mut().insert("link", HeaderValue::from_str(&link).expect("ascii"));
    }
    response
}

async fn one(
    State(double): State<GitHubDouble>,
    Path((owner, repo, number)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) =
        admit(&double, &headers, &owner, &repo, format!("GET /repos/{owner}/{repo}/pulls/{number}"), false)
    {
        return refused;
    }
    let state = double.state();
    match state.pulls.iter().find(|p| p.number == number) {
        Some(pull) => Json(pull_json(&state.base, &owner, &repo, pull, true)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn create(
    State(double): State<GitHubDouble>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) = admit(&double, &headers, &owner, &repo, format!("POST /repos/{owner}/{repo}/pulls"), true) {
        return refused;
    }
    let text = |f: &str| body[f].as_str().unwrap_or("").to_owned();
    let (head, base) = (text("head"), text("base"));
    let head_branch = head.split_once(':').map_or(head.clone(), |(_, b)| b.to_owned());
    let mut state = double.state();
    let (Some(head_sha), Some(_)) = (state.branch_head(&head_branch), state.branch_head(&base)) else {
        let body = json!({
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "field": if state.branch_head(&head_branch).is_none() { "head" } else { "base" }, "code": "invalid"}],
        });
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    };
    if state.pulls.iter().any(|p| p.state == "open" && p.head_ref == head_branch && p.base_ref == base) {
        let body = json!({
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for {owner}:{head_branch}.")}],
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        });
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    }
    let number = state.pulls.len() as i64 + 1;
    let pull = Pull {
        number,
        title: text("title"),
        body: text("body"),
        head_ref: head_branch,
        head_sha,
        base_ref: base,
        state: "open",
        merged: false,
        merge_commit_sha: Some(format!("{:040x}", 0xdef000 + number)),
        mergeable_state: "clean".into(),
        draft: body["draft"] == true,
        labels: Vec::new(),
        created_at: format!("2026-01-01T00:01:{:02}Z", number % 60),
        merged_with: None,
    };
    let value = pull_json(&state.base, &owner, &repo, &pull, true);
    state.pulls.push(pull);
    (StatusCode::CREATED, Json(value)).into_response()
}

async fn labels(
    State(double): State<GitHubDouble>,
    Path((owner, repo, number)): Path<(String, String, i64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) =
        admit(&double, &headers, &owner, &repo, format!("POST /repos/{owner}/{repo}/issues/{number}/labels"), true)
    {
        return refused;
    }
    // A bare array of names, or {"labels": [...]}.
    let names: Vec<String> = body
        .as_array()
        .or_else(|| body["labels"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let mut state = double.state();
    let Some(pull) = state.pulls.iter_mut().find(|p| p.number == number) else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    pull.labels.extend(names);
    Json(pull.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()).into_response()
}

async fn merge(
    State(double): State<GitHubDouble>,
    Path((owner, repo, number)): Path<(String, String, i64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) =
        admit(&double, &headers, &owner, &repo, format!("PUT /repos/{owner}/{repo}/pulls/{number}/merge"), true)
    {
        return refused;
    }
    let method = body["merge_method"].as_str().unwrap_or("merge").to_owned();
    let mut state = double.state();
    if state.disallowed_methods.contains(&method) {
        let kind = match method.as_str() {
            "squash" => "Squash merges",
            "rebase" => "Rebase merges",
            _ => "Merge commits",
        };
        return error(StatusCode::METHOD_NOT_ALLOWED, &format!("{kind} are not allowed on this repository."));
    }
    let Some(pull) = state.pulls.iter_mut().find(|p| p.number == number) else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    if pull.state != "open" || matches!(pull.mergeable_state.as_str(), "dirty" | "unknown" | "draft") {
        return error(StatusCode::METHOD_NOT_ALLOWED, "Pull Request is not mergeable");
    }
    let sha = format!("{:040x}", 0x5eed000 + number);
    pull.state = "closed";
    pull.merged = true;
    pull.merge_commit_sha = Some(sha.clone());
    pull.merged_with = Some(method);
    Json(json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"})).into_response()
}
