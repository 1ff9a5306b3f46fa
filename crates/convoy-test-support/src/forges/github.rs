//! GitHub's pull-request API as documented (REST 2022-11-28): list (paged with `Link`, the
//! `head` filter honoured only as `owner:branch`), get (with `mergeable`/`mergeable_state`),
//! create (201; 422 when an open PR exists), labels, merge (405 texts, 409), bearer auth (401
//! `Bad credentials`), 403 for missing permissions, rate limits (403/429 with
//! `x-ratelimit-remaining: 0` and `x-ratelimit-reset`, or `retry-after`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ForgeDouble, MergeRefusal, Pull};

mod git_data;

/// The repository the double serves.
const OWNER: &str = "acme";
const REPO: &str = "config";

/// GitHub's routes, as api.github.com serves them and as an Enterprise Server does (under
/// `/api/v3`), so that a repoURL on the double's address with `provider: github` reaches it.
pub(super) fn routes(_: ForgeDouble) -> axum::Router<ForgeDouble> {
    let routes = axum::Router::new()
        .route("/repos/{owner}/{repo}/pulls", get(list).post(create))
        .route("/repos/{owner}/{repo}/pulls/{number}", get(one))
        .route("/repos/{owner}/{repo}/pulls/{number}/merge", put(merge))
        .route("/repos/{owner}/{repo}/issues/{number}/labels", post(labels))
        .route("/repos/{owner}/{repo}/git/ref/{*reference}", get(git_data::get_ref))
        .route("/repos/{owner}/{repo}/git/refs", post(git_data::create_ref))
        .route("/repos/{owner}/{repo}/git/refs/{*reference}", patch(git_data::update_ref).delete(git_data::delete_ref))
        .route("/repos/{owner}/{repo}/git/commits", post(git_data::create_commit))
        .route("/repos/{owner}/{repo}/compare/{basehead}", get(git_data::compare))
        .route("/repos/{owner}/{repo}/statuses/{sha}", post(status));
    routes.clone().nest("/api/v3", routes)
}

pub(super) fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"message": message, "documentation_url": "https://docs.github.com/rest"});
    (status, Json(body)).into_response()
}

/// Authentication, rate limits and the repository's name, as GitHub checks them first.
#[expect(clippy::result_large_err, reason = "the refusal is the response the handler returns as is")]
pub(super) fn admit(
    double: &ForgeDouble,
    headers: &HeaderMap,
    owner: &str,
    repo: &str,
    line: String,
    write: bool,
) -> Result<(), Response> {
    let mut state = double.book();
    state.requests.push(line);
    if let Some((status, seconds, retry_after)) = state.rate_limited.take() {
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
        h.insert("x-ratelimit-reset", HeaderValue::from_str(&(super::now() + seconds).to_string()).expect("digits"));
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
    if owner != OWNER || repo != REPO {
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
        "state": if pull.open { "open" } else { "closed" },
        "title": pull.title,
        "body": pull.body,
        "html_url": format!("{base}/{owner}/{repo}/pull/{}", pull.number),
        "head": {"ref": pull.head_ref, "sha": pull.head_sha, "label": format!("{owner}:{}", pull.head_ref)},
        "base": {"ref": pull.base_ref},
        "draft": pull.mergeable_state == "draft",
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
    State(double): State<ForgeDouble>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let line = format!("GET /repos/{owner}/{repo}/pulls?head={:?}", query.head);
    if let Err(refused) = admit(&double, &headers, &owner, &repo, line, false) {
        return refused;
    }
    let state = double.book();
    let wanted = query.state.as_deref().unwrap_or("open");
    // GitHub honours `head` only as `owner:branch`; a bare branch is silently ignored.
    let head = query.head.as_deref().and_then(|h| h.split_once(':')).map(|(_, branch)| branch.to_owned());
    let matching: Vec<&Pull> = state
        .pulls
        .iter()
        .filter(|p| wanted == "all" || (wanted == "open") == p.open)
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
    State(double): State<ForgeDouble>,
    Path((owner, repo, number)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) =
        admit(&double, &headers, &owner, &repo, format!("GET /repos/{owner}/{repo}/pulls/{number}"), false)
    {
        return refused;
    }
    let mut state = double.book();
    let computing = state.computing();
    match state.pulls.iter().find(|p| p.number == number) {
        Some(pull) if computing && pull.open => {
            let mut pull = pull.clone();
            pull.mergeable_state = "unknown".into();
            Json(pull_json(&state.base, &owner, &repo, &pull, true)).into_response()
        }
        Some(pull) => Json(pull_json(&state.base, &owner, &repo, pull, true)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn create(
    State(double): State<ForgeDouble>,
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
    let mut state = double.book();
    if state.pulls.iter().any(|p| p.open && p.head_ref == head_branch && p.base_ref == base) {
        let body = json!({
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for {owner}:{head_branch}.")}],
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        });
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    }
    if state.branch_head(&head_branch).is_some() && state.branch_head(&head_branch) == state.branch_head(&base) {
        let body = json!({
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "code": "custom", "message": format!("No commits between {base} and {head_branch}")}],
        });
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    }
    let Some(pull) = state.open(&head_branch, &base, &text("title"), &text("body"), Vec::new()) else {
        let field = if state.branch_head(&head_branch).is_none() { "head" } else { "base" };
        let body = json!({
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "field": field, "code": "invalid"}],
        });
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    };
    if let Some(lost) = state.lost_create() {
        return lost;
    }
    if body["draft"] == true {
        state.pull(pull.number).expect("just opened").mergeable_state = "draft".into();
    }
    let value = pull_json(&state.base, &owner, &repo, &pull, true);
    (StatusCode::CREATED, Json(value)).into_response()
}

async fn labels(
    State(double): State<ForgeDouble>,
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
    let mut state = double.book();
    let Some(pull) = state.pull(number) else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    pull.labels.extend(names);
    Json(pull.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()).into_response()
}

async fn merge(
    State(double): State<ForgeDouble>,
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
    let mut state = double.book();
    if state.disallowed_methods.contains(&method) {
        let kind = match method.as_str() {
            "squash" => "Squash merges",
            "rebase" => "Rebase merges",
            _ => "Merge commits",
        };
        return error(StatusCode::METHOD_NOT_ALLOWED, &format!("{kind} are not allowed on this repository."));
    }
    match state.merge(number, &method) {
        Ok(sha) => {
            Json(json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"})).into_response()
        }
        Err(MergeRefusal::NotFound) => error(StatusCode::NOT_FOUND, "Not Found"),
        Err(MergeRefusal::NotFastForward) => {
            error(StatusCode::METHOD_NOT_ALLOWED, "Base branch was modified. Review and try the merge again.")
        }
        Err(_) => error(StatusCode::METHOD_NOT_ALLOWED, "Pull Request is not mergeable"),
    }
}

async fn status(
    State(double): State<ForgeDouble>,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) = admit(&double, &headers, &owner, &repo, format!("POST statuses/{sha}"), true) {
        return refused;
    }
    let text = |f: &str| body[f].as_str().unwrap_or_default().to_owned();
    let state = text("state");
    if !["error", "failure", "pending", "success"].contains(&state.as_str()) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    }
    let context = if body["context"].is_string() { text("context") } else { "default".into() };
    if !double.book().record_status(&sha, &state, &context, &text("description")) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, &format!("No commit found for SHA: {sha}"));
    }
    (StatusCode::CREATED, Json(json!({"state": state, "context": context, "description": body["description"]})))
        .into_response()
}
