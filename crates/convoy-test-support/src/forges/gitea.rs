//! Gitea's (and Forgejo's) pull-request API (`/api/v1`) as documented: list by `state`, paged
//! with `page`/`limit` (at most 50) and `Link` + `X-Total-Count`; create 201 with label **ids**
//! (unknown ids dropped), 409 for a duplicate, 422 when head and base are the same; merge
//! (`POST …/merge` with `Do`: 200 with an empty body, 405 `Please try again later` while
//! mergeability is computed, 409 on conflicts, 404 for a closed PR); `token`/`Bearer`/Basic auth.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Book, ForgeDouble, Gate, MergeRefusal, Pull, header};

const OWNER: &str = "acme";
const REPO: &str = "config";
/// The merge styles Gitea knows (`Do`).
const STYLES: [&str; 6] = ["merge", "rebase", "rebase-merge", "squash", "fast-forward-only", "manually-merged"];

pub(super) fn routes(_: ForgeDouble) -> axum::Router<ForgeDouble> {
    axum::Router::new()
        .route("/api/v1/version", get(|| async { Json(json!({"version": "1.22.3"})) }))
        .route("/api/v1/repos/{owner}/{repo}/pulls", get(list).post(create))
        .route("/api/v1/repos/{owner}/{repo}/pulls/{index}", get(one))
        .route("/api/v1/repos/{owner}/{repo}/pulls/{index}/merge", post(merge))
        .route("/api/v1/repos/{owner}/{repo}/labels", get(labels))
        .route("/api/v1/repos/{owner}/{repo}/statuses/{sha}", post(status))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"message": message, "url": "http://gitea.local/api/swagger"}))).into_response()
}

#[expect(clippy::result_large_err, reason = "the refusal is the response the handler returns as is")]
fn admit(
    double: &ForgeDouble,
    headers: &HeaderMap,
    (owner, repo): (&str, &str),
    line: String,
    write: bool,
) -> Result<(), Response> {
    let authorization = header(headers, "authorization");
    let token = authorization
        .strip_prefix("token ")
        .or_else(|| authorization.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| super::basic_password(authorization));
    match double.gate(line, token, write) {
        Ok(()) => {}
        // Gitea has no rate limits of its own; a proxy in front of it answers 429.
        Err(Gate::RateLimited { seconds, .. }) => {
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
            let retry = HeaderValue::from_str(&seconds.to_string()).expect("digits");
            response.headers_mut().insert("retry-after", retry);
            return Err(response);
        }
        Err(Gate::Unauthorized) => return Err(error(StatusCode::UNAUTHORIZED, "invalid username, password or token")),
        Err(Gate::Forbidden) => return Err(error(StatusCode::FORBIDDEN, "user should have permission to write")),
    }
    if owner != OWNER || repo != REPO {
        return Err(error(StatusCode::NOT_FOUND, "The target couldn't be found."));
    }
    Ok(())
}

fn pull_json(book: &Book, pull: &Pull, computing: bool) -> Value {
    json!({
        "id": 500 + pull.number,
        "number": pull.number,
        "title": pull.title,
        "body": pull.body,
        "state": if pull.open { "open" } else { "closed" },
        "merged": pull.merged,
        "merged_at": if pull.merged { json!("2026-01-02T00:00:00Z") } else { Value::Null },
        "merge_commit_sha": pull.merge_commit_sha.as_ref().filter(|_| pull.merged),
        "mergeable": pull.open && !computing && pull.mergeable_state == "clean",
        "draft": pull.mergeable_state == "draft",
        "html_url": format!("{}/{OWNER}/{REPO}/pulls/{}", book.base, pull.number),
        "head": {"ref": pull.head_ref, "sha": pull.head_sha, "label": pull.head_ref},
        "base": {"ref": pull.base_ref},
        "labels": pull.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
        "created_at": pull.created_at,
    })
}

#[derive(Deserialize, Default)]
struct ListQuery {
    state: Option<String>,
    page: Option<usize>,
    limit: Option<usize>,
}

/// `Link` with `rel="next"` when more rows follow, and `X-Total-Count`.
fn paged(rows: Vec<Value>, more: bool, next: String, total: usize) -> Response {
    let mut response = Json(rows).into_response();
    let h = response.headers_mut();
    if more {
        h.insert("link", HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")).expect("ascii"));
    }
    h.insert("x-total-count", HeaderValue::from_str(&total.to_string()).expect("digits"));
    response
}

async fn list(
    State(double): State<ForgeDouble>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let line = format!("GET /repos/{owner}/{repo}/pulls?state={:?}", query.state);
    if let Err(refused) = admit(&double, &headers, (&owner, &repo), line, false) {
        return refused;
    }
    let book = double.book();
    let wanted = query.state.as_deref().unwrap_or("open");
    let matching: Vec<Value> = book
        .pulls
        .iter()
        .filter(|p| wanted == "all" || (wanted == "open") == p.open)
        .map(|p| pull_json(&book, p, false))
        .collect();
    let size = query.limit.unwrap_or(30).clamp(1, 50).min(book.page_size);
    let page = query.page.unwrap_or(1).max(1);
    let (rows, more) = Book::page(&matching, page, size);
    let next = format!("{}/api/v1/repos/{owner}/{repo}/pulls?state={wanted}&limit={size}&page={}", book.base, page + 1);
    paged(rows, more, next, matching.len())
}

async fn one(
    State(double): State<ForgeDouble>,
    Path((owner, repo, index)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) =
        admit(&double, &headers, (&owner, &repo), format!("GET /repos/{owner}/{repo}/pulls/{index}"), false)
    {
        return refused;
    }
    let mut book = double.book();
    let computing = book.computing();
    match book.pulls.iter().find(|p| p.number == index) {
        Some(pull) => Json(pull_json(&book, pull, computing)).into_response(),
        None => error(StatusCode::NOT_FOUND, "The target couldn't be found."),
    }
}

async fn labels(
    State(double): State<ForgeDouble>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = admit(&double, &headers, (&owner, &repo), format!("GET /repos/{owner}/{repo}/labels"), false)
    {
        return refused;
    }
    let book = double.book();
    let all: Vec<Value> =
        book.labels_known.iter().map(|(id, name)| json!({"id": id, "name": name, "color": "00aabb"})).collect();
    let size = query.limit.unwrap_or(30).clamp(1, 50).min(book.page_size);
    let page = query.page.unwrap_or(1).max(1);
    let (rows, more) = Book::page(&all, page, size);
    let next = format!("{}/api/v1/repos/{owner}/{repo}/labels?limit={size}&page={}", book.base, page + 1);
    paged(rows, more, next, all.len())
}

async fn create(
    State(double): State<ForgeDouble>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) = admit(&double, &headers, (&owner, &repo), format!("POST /repos/{owner}/{repo}/pulls"), true) {
        return refused;
    }
    let text = |f: &str| body[f].as_str().unwrap_or("").to_owned();
    let (head, base) = (text("head"), text("base"));
    let head = head.split_once(':').map_or(head.clone(), |(_, b)| b.to_owned());
    let mut book = double.book();
    if head == base {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid PullRequest: There are no changes between the head and the base",
        );
    }
    if let Some(existing) = book.pulls.iter().find(|p| p.open && p.head_ref == head && p.base_ref == base) {
        let message = format!(
            "pull request already exists for these targets [id: {}, issue_id: {}, head_repo_id: 1, base_repo_id: 1, head_branch: {head}, base_branch: {base}]",
            500 + existing.number,
            900 + existing.number
        );
        return error(StatusCode::CONFLICT, &message);
    }
    // Labels are ids; unknown ids are dropped without a word.
    let ids: Vec<i64> = body["labels"].as_array().into_iter().flatten().filter_map(Value::as_i64).collect();
    let labels: Vec<String> =
        book.labels_known.iter().filter(|(id, _)| ids.contains(id)).map(|(_, name)| name.clone()).collect();
    let Some(pull) = book.open(&head, &base, &text("title"), &text("body"), labels) else {
        return error(StatusCode::NOT_FOUND, "The target couldn't be found.");
    };
    if let Some(lost) = book.lost_create() {
        return lost;
    }
    let value = pull_json(&book, &pull, false);
    (StatusCode::CREATED, Json(value)).into_response()
}

async fn merge(
    State(double): State<ForgeDouble>,
    Path((owner, repo, index)): Path<(String, String, i64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let line = format!("POST /repos/{owner}/{repo}/pulls/{index}/merge Do={}", body["Do"]);
    if let Err(refused) = admit(&double, &headers, (&owner, &repo), line, true) {
        return refused;
    }
    let style = body["Do"].as_str().unwrap_or("merge").to_owned();
    let mut book = double.book();
    if !STYLES.contains(&style.as_str()) || book.disallowed_methods.contains(&style) {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("{style} is not allowed an allowed merge style for this repository"),
        );
    }
    let Some(pull) = book.pulls.iter().find(|p| p.number == index).cloned() else {
        return error(StatusCode::NOT_FOUND, "The target couldn't be found.");
    };
    if pull.merged {
        return error(StatusCode::METHOD_NOT_ALLOWED, "");
    }
    if !pull.open {
        return error(StatusCode::NOT_FOUND, "The target couldn't be found.");
    }
    if pull.mergeable_state == "draft" {
        return error(StatusCode::METHOD_NOT_ALLOWED, "Work in progress PRs cannot be merged");
    }
    if pull.mergeable_state == "unknown" || book.computing() {
        return error(StatusCode::METHOD_NOT_ALLOWED, "Please try again later");
    }
    let method = if style == "fast-forward-only" { "fast-forward-only" } else { style.as_str() };
    match book.merge(index, method) {
        Ok(_) => StatusCode::OK.into_response(),
        Err(MergeRefusal::Conflicts | MergeRefusal::NotFastForward) => (
            StatusCode::CONFLICT,
            Json(json!({"message": "Please try again later", "url": "http://gitea.local/api/swagger", "errors": ["merge conflict"]})),
        )
            .into_response(),
        Err(MergeRefusal::NotFound | MergeRefusal::Closed) => error(StatusCode::NOT_FOUND, "The target couldn't be found."),
        Err(MergeRefusal::NotReady) => error(StatusCode::METHOD_NOT_ALLOWED, "Please try again later"),
    }
}

async fn status(
    State(double): State<ForgeDouble>,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) =
        admit(&double, &headers, (&owner, &repo), format!("POST /repos/{owner}/{repo}/statuses/{sha}"), true)
    {
        return refused;
    }
    let text = |f: &str| body[f].as_str().unwrap_or_default().to_owned();
    let state = text("state");
    if !["pending", "success", "error", "failure", "warning"].contains(&state.as_str()) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "[State]: state is not valid");
    }
    if !double.book().record_status(&sha, &state, &text("context"), &text("description")) {
        return error(StatusCode::NOT_FOUND, "The target couldn't be found.");
    }
    (StatusCode::CREATED, Json(json!({"status": state, "context": text("context")}))).into_response()
}
