//! GitLab's merge-request API (REST v4) as documented: the project addressed by its URL-encoded
//! path (`acme%2Fteam%2Fconfig`) or numeric id, MRs by `iid`; list without `state` = every state,
//! paged with `x-next-page`; create 201 (409 with an array `message` for a duplicate); merge
//! (`PUT …/merge`: 405 when not mergeable, 422 `Branch cannot be merged` on conflicts);
//! `PRIVATE-TOKEN` or `Bearer`; 429 `Retry later` with `RateLimit-Reset` and `Retry-After`.

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Book, ForgeDouble, Gate, MergeRefusal, Pull, header};

const PROJECT_PATH: &str = "acme/team/config";
const PROJECT_ID: &str = "42";

pub(super) fn routes(_: ForgeDouble) -> axum::Router<ForgeDouble> {
    axum::Router::new()
        .route("/api/v4/projects/{id}/merge_requests", get(list).post(create))
        .route("/api/v4/projects/{id}/merge_requests/{iid}", get(one))
        .route("/api/v4/projects/{id}/merge_requests/{iid}/merge", put(merge))
        .route("/api/v4/projects/{id}/statuses/{sha}", axum::routing::post(status))
}

fn message(status: StatusCode, message: Value) -> Response {
    (status, Json(json!({"message": message}))).into_response()
}

#[expect(clippy::result_large_err, reason = "the refusal is the response the handler returns as is")]
fn admit(double: &ForgeDouble, headers: &HeaderMap, id: &str, line: String, write: bool) -> Result<(), Response> {
    let token = headers
        .get("private-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| header(headers, "authorization").strip_prefix("Bearer ").map(str::to_owned));
    match double.gate(line, token, write) {
        Ok(()) => {}
        Err(Gate::RateLimited { seconds, .. }) => {
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "Retry later\n").into_response();
            let h = response.headers_mut();
            h.insert("ratelimit-limit", HeaderValue::from_static("2000"));
            h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
            h.insert("ratelimit-reset", HeaderValue::from_str(&(super::now() + seconds).to_string()).expect("digits"));
            h.insert("retry-after", HeaderValue::from_str(&seconds.to_string()).expect("digits"));
            return Err(response);
        }
        Err(Gate::Unauthorized) => return Err(message(StatusCode::UNAUTHORIZED, json!("401 Unauthorized"))),
        Err(Gate::Forbidden) => return Err(message(StatusCode::FORBIDDEN, json!("403 Forbidden"))),
    }
    if id != PROJECT_PATH && id != PROJECT_ID {
        return Err(message(StatusCode::NOT_FOUND, json!("404 Project Not Found")));
    }
    Ok(())
}

fn mr_json(book: &Book, pull: &Pull) -> Value {
    let state = match (pull.open, pull.merged) {
        (true, _) => "opened",
        (false, true) => "merged",
        (false, false) => "closed",
    };
    let detailed = match (pull.open, pull.mergeable_state.as_str()) {
        (false, _) => "not_open",
        (true, "dirty") => "conflict",
        (true, "unknown") => "checking",
        (true, "draft") => "draft_status",
        (true, "blocked") => "not_approved",
        (true, _) => "mergeable",
    };
    // GitLab reports the merge commit only once merged (and not for fast-forward merges).
    let fast_forward = pull.merged_with.as_deref() == Some("ff");
    let merge_commit = if pull.merged && !fast_forward { json!(pull.merge_commit_sha) } else { Value::Null };
    json!({
        "id": 1000 + pull.number,
        "iid": pull.number,
        "project_id": 42,
        "title": pull.title,
        "description": pull.body,
        "state": state,
        "draft": pull.mergeable_state == "draft",
        "sha": pull.head_sha,
        "merge_commit_sha": merge_commit,
        "squash_commit_sha": if pull.merged_with.as_deref() == Some("squash") { json!(pull.merge_commit_sha) } else { Value::Null },
        "detailed_merge_status": detailed,
        "web_url": format!("{}/{PROJECT_PATH}/-/merge_requests/{}", book.base, pull.number),
        "source_branch": pull.head_ref,
        "target_branch": pull.base_ref,
        "labels": pull.labels,
        "created_at": pull.created_at,
        "merged_at": if pull.merged { json!("2026-01-02T00:00:00.000Z") } else { Value::Null },
    })
}

#[derive(Deserialize, Default)]
struct ListQuery {
    state: Option<String>,
    source_branch: Option<String>,
    target_branch: Option<String>,
    per_page: Option<usize>,
    page: Option<usize>,
}

async fn list(
    State(double): State<ForgeDouble>,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let line = format!("GET /projects/{id}/merge_requests?{}", raw.unwrap_or_default());
    if let Err(refused) = admit(&double, &headers, &id, line, false) {
        return refused;
    }
    let book = double.book();
    // No `state`: every state (GitLab's default is `all`).
    let wanted = query.state.as_deref().unwrap_or("all");
    let matching: Vec<Value> = book
        .pulls
        .iter()
        .filter(|p| query.source_branch.as_ref().is_none_or(|b| &p.head_ref == b))
        .filter(|p| query.target_branch.as_ref().is_none_or(|b| &p.base_ref == b))
        .map(|p| mr_json(&book, p))
        .filter(|mr| wanted == "all" || mr["state"] == wanted)
        .collect();
    let size = query.per_page.unwrap_or(20).clamp(1, 100).min(book.page_size);
    let page = query.page.unwrap_or(1).max(1);
    let (rows, more) = Book::page(&matching, page, size);
    let mut response = Json(rows).into_response();
    let h = response.headers_mut();
    let next = if more { (page + 1).to_string() } else { String::new() };
    h.insert("x-next-page", HeaderValue::from_str(&next).expect("digits"));
    h.insert("x-page", HeaderValue::from_str(&page.to_string()).expect("digits"));
    h.insert("x-per-page", HeaderValue::from_str(&size.to_string()).expect("digits"));
    h.insert("x-total", HeaderValue::from_str(&matching.len().to_string()).expect("digits"));
    response
}

async fn one(State(double): State<ForgeDouble>, Path((id, iid)): Path<(String, i64)>, headers: HeaderMap) -> Response {
    if let Err(refused) = admit(&double, &headers, &id, format!("GET /projects/{id}/merge_requests/{iid}"), false) {
        return refused;
    }
    let mut book = double.book();
    let computing = book.computing();
    let Some(pull) = book.pulls.iter().find(|p| p.number == iid).cloned() else {
        return message(StatusCode::NOT_FOUND, json!("404 Not found"));
    };
    let mut value = mr_json(&book, &pull);
    if computing && pull.open {
        value["detailed_merge_status"] = json!("checking");
    }
    Json(value).into_response()
}

async fn create(
    State(double): State<ForgeDouble>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) = admit(&double, &headers, &id, format!("POST /projects/{id}/merge_requests"), true) {
        return refused;
    }
    let text = |f: &str| body[f].as_str().unwrap_or("").to_owned();
    let (source, target, title) = (text("source_branch"), text("target_branch"), text("title"));
    if title.is_empty() {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "title is missing"}))).into_response();
    }
    let mut book = double.book();
    if let Some(existing) = book.pulls.iter().find(|p| p.open && p.head_ref == source && p.base_ref == target) {
        let text = format!("Another open merge request already exists for this source branch: !{}", existing.number);
        return message(StatusCode::CONFLICT, json!([text]));
    }
    // Labels: one comma-separated string; unknown labels are created.
    let labels: Vec<String> =
        text("labels").split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    let Some(pull) = book.open(&source, &target, &title, &text("description"), labels) else {
        return message(StatusCode::NOT_FOUND, json!("404 Branch Not Found"));
    };
    if let Some(lost) = book.lost_create() {
        return lost;
    }
    let value = mr_json(&book, &pull);
    (StatusCode::CREATED, Json(value)).into_response()
}

async fn merge(
    State(double): State<ForgeDouble>,
    Path((id, iid)): Path<(String, i64)>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    if let Err(refused) = admit(&double, &headers, &id, format!("PUT /projects/{id}/merge_requests/{iid}/merge"), true)
    {
        return refused;
    }
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let mut book = double.book();
    // The project's merge method decides; `squash: true` squashes first.
    let method = if body["squash"] == true {
        "squash".to_owned()
    } else if book.disallowed_methods.iter().any(|m| m == "merge") {
        "ff".to_owned()
    } else {
        "merge".to_owned()
    };
    if let Some(sha) = body["sha"].as_str()
        && book.pulls.iter().any(|p| p.number == iid && p.head_sha != sha)
    {
        return message(StatusCode::CONFLICT, json!("SHA does not match HEAD of source branch"));
    }
    match book.merge(iid, &method) {
        Ok(_) => {
            let pull = book.pulls.iter().find(|p| p.number == iid).cloned().expect("merged");
            Json(mr_json(&book, &pull)).into_response()
        }
        Err(MergeRefusal::NotFound) => message(StatusCode::NOT_FOUND, json!("404 Not found")),
        Err(MergeRefusal::Conflicts | MergeRefusal::NotFastForward) => {
            message(StatusCode::UNPROCESSABLE_ENTITY, json!("Branch cannot be merged"))
        }
        Err(MergeRefusal::Closed | MergeRefusal::NotReady) => {
            message(StatusCode::METHOD_NOT_ALLOWED, json!("405 Method Not Allowed"))
        }
    }
}

async fn status(
    State(double): State<ForgeDouble>,
    Path((id, sha)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) = admit(&double, &headers, &id, format!("POST /projects/{id}/statuses/{sha}"), true) {
        return refused;
    }
    let text = |f: &str| body[f].as_str().unwrap_or_default().to_owned();
    let state = text("state");
    if !["pending", "running", "success", "failed", "canceled", "skipped"].contains(&state.as_str()) {
        return message(StatusCode::BAD_REQUEST, json!("state does not have a valid value"));
    }
    let name = if body["name"].is_string() { text("name") } else { "default".into() };
    if !double.book().record_status(&sha, &state, &name, &text("description")) {
        return message(StatusCode::NOT_FOUND, json!("404 Commit Not Found"));
    }
    (StatusCode::CREATED, Json(json!({"sha": sha, "status": state, "name": name}))).into_response()
}
