//! Bitbucket Cloud's pull-request API (`/2.0`) as documented: list with repeatable `state`
//! (default `OPEN`), paged by a `next` URL in the body; commit hashes **short** (12) in PR
//! objects, full from `GET …/commit/{hash}`; create 201 (400 error object for no changes or a
//! duplicate); merge (`POST …/merge` with `merge_strategy`: 200 merged PR, 400 on conflicts);
//! Bearer auth; 429 `Rate limit for this resource has been exceeded.` without a reset header.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Book, ForgeDouble, Gate, MergeRefusal, Pull, header};

const WORKSPACE: &str = "acme";
const SLUG: &str = "config";
const STRATEGIES: [&str; 6] =
    ["merge_commit", "squash", "fast_forward", "squash_fast_forward", "rebase_fast_forward", "rebase_merge"];

pub(super) fn routes(_: ForgeDouble) -> axum::Router<ForgeDouble> {
    axum::Router::new()
        .route("/2.0/repositories/{ws}/{slug}/pullrequests", get(list).post(create))
        .route("/2.0/repositories/{ws}/{slug}/pullrequests/{id}", get(one))
        .route("/2.0/repositories/{ws}/{slug}/pullrequests/{id}/merge", post(merge))
        .route("/2.0/repositories/{ws}/{slug}/commit/{hash}", get(commit))
        .route("/2.0/repositories/{ws}/{slug}/commit/{hash}/statuses/build", post(status))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"type": "error", "error": {"message": message}}))).into_response()
}

#[expect(clippy::result_large_err, reason = "the refusal is the response the handler returns as is")]
fn admit(
    double: &ForgeDouble,
    headers: &HeaderMap,
    (ws, slug): (&str, &str),
    line: String,
    write: bool,
) -> Result<(), Response> {
    let token = header(headers, "authorization").strip_prefix("Bearer ").map(str::to_owned);
    match double.gate(line, token, write) {
        Ok(()) => {}
        Err(Gate::RateLimited { .. }) => {
            return Err(error(StatusCode::TOO_MANY_REQUESTS, "Rate limit for this resource has been exceeded."));
        }
        Err(Gate::Unauthorized) => return Err(error(StatusCode::UNAUTHORIZED, "Access token expired or invalid")),
        Err(Gate::Forbidden) => {
            return Err(error(StatusCode::FORBIDDEN, "Your credentials lack one or more required privilege scopes."));
        }
    }
    if ws != WORKSPACE || slug != SLUG {
        return Err(error(StatusCode::NOT_FOUND, "Repository not found"));
    }
    Ok(())
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn pull_json(pull: &Pull) -> Value {
    let state = match (pull.open, pull.merged) {
        (true, _) => "OPEN",
        (false, true) => "MERGED",
        (false, false) => "DECLINED",
    };
    json!({
        "type": "pullrequest",
        "id": pull.number,
        "title": pull.title,
        "description": pull.body,
        "state": state,
        "draft": pull.mergeable_state == "draft",
        "source": {"branch": {"name": pull.head_ref}, "commit": {"hash": short(&pull.head_sha)}},
        "destination": {"branch": {"name": pull.base_ref}},
        "merge_commit": pull.merge_commit_sha.as_deref().filter(|_| pull.merged).map(|sha| json!({"hash": short(sha)})),
        "links": {"html": {"href": format!("https://bitbucket.org/{WORKSPACE}/{SLUG}/pull-requests/{}", pull.number)}},
        "created_on": pull.created_at,
    })
}

async fn list(
    State(double): State<ForgeDouble>,
    Path((ws, slug)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let raw = raw.unwrap_or_default();
    if let Err(refused) =
        admit(&double, &headers, (&ws, &slug), format!("GET /repositories/{ws}/{slug}/pullrequests?{raw}"), false)
    {
        return refused;
    }
    let params: Vec<(String, String)> =
        raw.split('&').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    // `state` repeats; none: OPEN only.
    let mut states: Vec<String> = params.iter().filter(|(k, _)| k == "state").map(|(_, v)| v.clone()).collect();
    if states.is_empty() {
        states.push("OPEN".into());
    }
    let book = double.book();
    let matching: Vec<Value> =
        book.pulls.iter().map(pull_json).filter(|p| states.iter().any(|s| p["state"] == s.as_str())).collect();
    let size = param("pagelen").and_then(|v| v.parse().ok()).unwrap_or(10usize).clamp(1, 50).min(book.page_size);
    let page = param("page").and_then(|v| v.parse().ok()).unwrap_or(1usize).max(1);
    let (rows, more) = Book::page(&matching, page, size);
    let mut body = json!({"pagelen": size, "size": matching.len(), "page": page, "values": rows});
    if more {
        let state_query: String = states.iter().map(|s| format!("state={s}&")).collect();
        body["next"] = json!(format!(
            "{}/2.0/repositories/{ws}/{slug}/pullrequests?{state_query}pagelen={size}&page={}",
            book.base,
            page + 1
        ));
    }
    Json(body).into_response()
}

async fn one(
    State(double): State<ForgeDouble>,
    Path((ws, slug, id)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) =
        admit(&double, &headers, (&ws, &slug), format!("GET /repositories/{ws}/{slug}/pullrequests/{id}"), false)
    {
        return refused;
    }
    let book = double.book();
    match book.pulls.iter().find(|p| p.number == id) {
        Some(pull) => Json(pull_json(pull)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Pull request not found"),
    }
}

async fn commit(
    State(double): State<ForgeDouble>,
    Path((ws, slug, hash)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) =
        admit(&double, &headers, (&ws, &slug), format!("GET /repositories/{ws}/{slug}/commit/{hash}"), false)
    {
        return refused;
    }
    let book = double.book();
    let known = book
        .pulls
        .iter()
        .flat_map(|p| [Some(p.head_sha.clone()), p.merge_commit_sha.clone()])
        .flatten()
        .find(|sha| sha.starts_with(&hash) && hash.len() >= 7);
    match known {
        Some(full) => Json(json!({"type": "commit", "hash": full})).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("Commit not found: {hash}")),
    }
}

async fn create(
    State(double): State<ForgeDouble>,
    Path((ws, slug)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) =
        admit(&double, &headers, (&ws, &slug), format!("POST /repositories/{ws}/{slug}/pullrequests"), true)
    {
        return refused;
    }
    let text = |p: &str| body.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
    let (source, target) = (text("/source/branch/name"), text("/destination/branch/name"));
    let mut book = double.book();
    if book.pulls.iter().any(|p| p.open && p.head_ref == source && p.base_ref == target) {
        return error(
            StatusCode::BAD_REQUEST,
            "Only one pull request may be open for a given source and target branch",
        );
    }
    if book.branch_head(&source).is_some() && book.branch_head(&source) == book.branch_head(&target) {
        return error(StatusCode::BAD_REQUEST, "There are no changes to be pulled");
    }
    let Some(pull) = book.open(&source, &target, &text("/title"), &text("/description"), Vec::new()) else {
        return error(StatusCode::BAD_REQUEST, &format!("{source}: branch not found"));
    };
    if let Some(lost) = book.lost_create() {
        return lost;
    }
    (StatusCode::CREATED, Json(pull_json(&pull))).into_response()
}

async fn merge(
    State(double): State<ForgeDouble>,
    Path((ws, slug, id)): Path<(String, String, i64)>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let line = format!("POST /repositories/{ws}/{slug}/pullrequests/{id}/merge strategy={}", body["merge_strategy"]);
    if let Err(refused) = admit(&double, &headers, (&ws, &slug), line, true) {
        return refused;
    }
    let strategy = body["merge_strategy"].as_str().unwrap_or("merge_commit").to_owned();
    let mut book = double.book();
    if !STRATEGIES.contains(&strategy.as_str()) || book.disallowed_methods.contains(&strategy) {
        return error(StatusCode::BAD_REQUEST, &format!("{strategy} is not an allowed merge strategy"));
    }
    let method = match strategy.as_str() {
        "merge_commit" | "rebase_merge" => "merge",
        "squash" | "squash_fast_forward" => "squash",
        _ => "fast_forward",
    };
    match book.merge(id, method) {
        Ok(_) => {
            let pull = book.pull(id).expect("merged");
            pull.merged_with = Some(strategy.clone());
            let pull = pull.clone();
            Json(pull_json(&pull)).into_response()
        }
        Err(MergeRefusal::NotFound) => error(StatusCode::NOT_FOUND, "Pull request not found"),
        Err(MergeRefusal::Closed) => error(StatusCode::BAD_REQUEST, "You can't merge a pull request that is not open"),
        Err(_) => error(StatusCode::BAD_REQUEST, "This pull request has conflicts that must be resolved"),
    }
}

async fn status(
    State(double): State<ForgeDouble>,
    Path((ws, slug, hash)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let line = format!("POST /repositories/{ws}/{slug}/commit/{hash}/statuses/build");
    if let Err(refused) = admit(&double, &headers, (&ws, &slug), line, true) {
        return refused;
    }
    let text = |f: &str| body[f].as_str().unwrap_or_default().to_owned();
    let state = text("state");
    if !["INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED"].contains(&state.as_str()) {
        return error(StatusCode::BAD_REQUEST, "state: must be one of INPROGRESS, SUCCESSFUL, FAILED, STOPPED");
    }
    if text("key").is_empty() || text("url").is_empty() {
        return error(StatusCode::BAD_REQUEST, "key and url are required");
    }
    if !double.book().record_status(&hash, &state, &text("key"), &text("description")) {
        return error(StatusCode::NOT_FOUND, &format!("Commit not found: {hash}"));
    }
    (StatusCode::CREATED, Json(json!({"type": "build", "key": text("key"), "state": state}))).into_response()
}
