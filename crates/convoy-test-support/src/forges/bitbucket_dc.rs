//! Bitbucket Data Center's REST API (`/rest/api/latest`) as documented: PRs of a project's
//! repository, listed `OUTGOING` from a ref and paged by `start`/`nextPageStart`/`isLastPage`;
//! create 201 (409 `DuplicatePullRequestException`); the merge check (`GET …/merge`: `canMerge`,
//! `conflicted`, `vetoes`) and the merge at a `version` (409 when out of date), the merge commit
//! in `properties.mergeCommit`; build statuses (`POST …/commits/{sha}/builds`, 204); Bearer auth
//! and `{"errors": [...]}` bodies.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Book, ForgeDouble, Gate, MergeRefusal, Pull, header};

const PROJECT: &str = "ACME";
const SLUG: &str = "config";
const STRATEGIES: [&str; 7] = ["no-ff", "ff", "ff-only", "rebase-no-ff", "rebase-ff-only", "squash", "squash-ff-only"];

pub(super) fn routes(_: ForgeDouble) -> axum::Router<ForgeDouble> {
    let repo = "/rest/api/latest/projects/{key}/repos/{slug}";
    axum::Router::new()
        .route(&format!("{repo}/pull-requests"), get(list).post(create))
        .route(&format!("{repo}/pull-requests/{{id}}"), get(one))
        .route(&format!("{repo}/pull-requests/{{id}}/merge"), get(check).post(merge))
        .route(&format!("{repo}/commits/{{sha}}/builds"), post(build))
}

fn error(status: StatusCode, message: &str, exception: &str) -> Response {
    let body = json!({"errors": [{"context": null, "message": message, "exceptionName": exception}]});
    (status, Json(body)).into_response()
}

#[expect(clippy::result_large_err, reason = "the refusal is the response the handler returns as is")]
fn admit(
    double: &ForgeDouble,
    headers: &HeaderMap,
    (key, slug): (&str, &str),
    line: String,
    write: bool,
) -> Result<(), Response> {
    let token = header(headers, "authorization").strip_prefix("Bearer ").map(str::to_owned);
    match double.gate(line, token, write) {
        Ok(()) => {}
        Err(Gate::RateLimited { seconds }) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests", "");
            response.headers_mut().insert("retry-after", HeaderValue::from_str(&seconds.to_string()).expect("digits"));
            return Err(response);
        }
        Err(Gate::Unauthorized) => {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "Authentication failed. Please check your credentials and try again.",
                "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException",
            ));
        }
        Err(Gate::Forbidden) => {
            return Err(error(
                StatusCode::FORBIDDEN,
                "You are not permitted to access this resource",
                "com.atlassian.bitbucket.AuthorisationException",
            ));
        }
    }
    if key != PROJECT || slug != SLUG {
        return Err(error(
            StatusCode::NOT_FOUND,
            &format!("Repository {key}/{slug} does not exist."),
            "com.atlassian.bitbucket.repository.NoSuchRepositoryException",
        ));
    }
    Ok(())
}

fn reference(branch: &str, commit: &str) -> Value {
    json!({"id": format!("refs/heads/{branch}"), "displayId": branch, "latestCommit": commit,
        "repository": {"slug": SLUG, "project": {"key": PROJECT}}})
}

fn pull_json(book: &Book, pull: &Pull) -> Value {
    let state = match (pull.open, pull.merged) {
        (true, _) => "OPEN",
        (false, true) => "MERGED",
        (false, false) => "DECLINED",
    };
    let mut value = json!({
        "id": pull.number,
        "version": 0,
        "title": pull.title,
        "description": pull.body,
        "state": state,
        "open": pull.open,
        "closed": !pull.open,
        "draft": pull.mergeable_state == "draft",
        "fromRef": reference(&pull.head_ref, &pull.head_sha),
        "toRef": reference(&pull.base_ref, &book.branch_head(&pull.base_ref).unwrap_or_default()),
        "createdDate": 1_767_225_600_000_i64 + pull.number,
        "links": {"self": [{"href": format!("{}/projects/{PROJECT}/repos/{SLUG}/pull-requests/{}", book.base, pull.number)}]},
    });
    if pull.merged {
        let commit = pull.merge_commit_sha.clone().unwrap_or_default();
        value["properties"] = json!({"mergeCommit": {"id": commit, "displayId": &commit[..commit.len().min(11)]}});
    }
    value
}

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    state: Option<String>,
    direction: Option<String>,
    at: Option<String>,
    start: Option<usize>,
    limit: Option<usize>,
}

async fn list(
    State(double): State<ForgeDouble>,
    Path((key, slug)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let line = format!("GET pull-requests at={:?} direction={:?}", query.at, query.direction);
    if let Err(refused) = admit(&double, &headers, (&key, &slug), line, false) {
        return refused;
    }
    let book = double.book();
    let wanted = query.state.as_deref().unwrap_or("OPEN");
    // INCOMING (the default): PRs into `at`; OUTGOING: PRs from it.
    let outgoing = query.direction.as_deref() == Some("OUTGOING");
    let matching: Vec<Value> = book
        .pulls
        .iter()
        .map(|p| pull_json(&book, p))
        .filter(|p| wanted == "ALL" || p["state"] == wanted)
        .filter(|p| {
            let side = if outgoing { "/fromRef/id" } else { "/toRef/id" };
            query.at.as_deref().is_none_or(|at| p.pointer(side).and_then(Value::as_str) == Some(at))
        })
        .collect();
    let limit = query.limit.unwrap_or(25).clamp(1, 1000).min(book.page_size);
    let start = query.start.unwrap_or(0);
    let rows: Vec<Value> = matching.iter().skip(start).take(limit).cloned().collect();
    let last = start + rows.len() >= matching.len();
    let mut page = json!({"size": rows.len(), "limit": limit, "start": start, "isLastPage": last, "values": rows});
    if !last {
        page["nextPageStart"] = json!(start + limit);
    }
    Json(page).into_response()
}

async fn one(
    State(double): State<ForgeDouble>,
    Path((key, slug, id)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = admit(&double, &headers, (&key, &slug), format!("GET pull-requests/{id}"), false) {
        return refused;
    }
    let book = double.book();
    match book.pulls.iter().find(|p| p.number == id) {
        Some(pull) => Json(pull_json(&book, pull)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("Pull request {id} does not exist in {PROJECT}/{SLUG}."),
            "com.atlassian.bitbucket.pull.NoSuchPullRequestException",
        ),
    }
}

async fn create(
    State(double): State<ForgeDouble>,
    Path((key, slug)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) = admit(&double, &headers, (&key, &slug), "POST pull-requests".into(), true) {
        return refused;
    }
    let branch = |p: &str| {
        body.pointer(p).and_then(Value::as_str).and_then(|id| id.strip_prefix("refs/heads/")).unwrap_or("").to_owned()
    };
    let (source, target) = (branch("/fromRef/id"), branch("/toRef/id"));
    let text = |f: &str| body[f].as_str().unwrap_or("").to_owned();
    let mut book = double.book();
    if book.pulls.iter().any(|p| p.open && p.head_ref == source && p.base_ref == target) {
        return error(
            StatusCode::CONFLICT,
            "Only one pull request may be open for a given source and target branch",
            "com.atlassian.bitbucket.pull.DuplicatePullRequestException",
        );
    }
    if book.branch_head(&source).is_some() && book.branch_head(&source) == book.branch_head(&target) {
        return error(
            StatusCode::CONFLICT,
            &format!("Repository \"{SLUG}\" on branch \"{target}\" is already up-to-date."),
            "com.atlassian.bitbucket.pull.EmptyPullRequestException",
        );
    }
    let Some(pull) = book.open(&source, &target, &text("title"), &text("description"), Vec::new()) else {
        return error(
            StatusCode::NOT_FOUND,
            "Branch not found",
            "com.atlassian.bitbucket.repository.NoSuchBranchException",
        );
    };
    if let Some(lost) = book.lost_create() {
        return lost;
    }
    (StatusCode::CREATED, Json(pull_json(&book, &pull))).into_response()
}

async fn check(
    State(double): State<ForgeDouble>,
    Path((key, slug, id)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = admit(&double, &headers, (&key, &slug), format!("GET pull-requests/{id}/merge"), false) {
        return refused;
    }
    let mut book = double.book();
    let computing = book.computing();
    let Some(pull) = book.pulls.iter().find(|p| p.number == id) else {
        return error(StatusCode::NOT_FOUND, "Pull request not found", "");
    };
    if !pull.open {
        return error(
            StatusCode::CONFLICT,
            "The pull request is not open",
            "com.atlassian.bitbucket.pull.IllegalPullRequestStateException",
        );
    }
    let conflicted = pull.mergeable_state == "dirty";
    let vetoes: Vec<Value> = match pull.mergeable_state.as_str() {
        "blocked" => vec![
            json!({"summaryMessage": "Not all required reviewers have approved yet", "detailedMessage": "1 approval is needed"}),
        ],
        "unknown" => vec![json!({"summaryMessage": "Required builds have not finished", "detailedMessage": ""})],
        _ if computing => vec![json!({"summaryMessage": "The merge check is still running", "detailedMessage": ""})],
        _ => Vec::new(),
    };
    let can = !conflicted && vetoes.is_empty();
    let outcome = if conflicted {
        "CONFLICTED"
    } else if can {
        "CLEAN"
    } else {
        "UNKNOWN"
    };
    Json(json!({"canMerge": can, "conflicted": conflicted, "outcome": outcome, "vetoes": vetoes})).into_response()
}

#[derive(serde::Deserialize)]
struct Version {
    version: Option<i64>,
}

async fn merge(
    State(double): State<ForgeDouble>,
    Path((key, slug, id)): Path<(String, String, i64)>,
    Query(version): Query<Version>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let strategy = body["strategyId"].as_str().unwrap_or("no-ff").to_owned();
    if let Err(refused) =
        admit(&double, &headers, (&key, &slug), format!("POST pull-requests/{id}/merge strategy={strategy}"), true)
    {
        return refused;
    }
    if version.version != Some(0) {
        return error(
            StatusCode::CONFLICT,
            "You are attempting to modify a pull request based on out-of-date information.",
            "com.atlassian.bitbucket.pull.PullRequestOutOfDateException",
        );
    }
    let mut book = double.book();
    if !STRATEGIES.contains(&strategy.as_str()) || book.disallowed_methods.contains(&strategy) {
        return error(StatusCode::BAD_REQUEST, &format!("{strategy} is not an enabled merge strategy"), "");
    }
    // `ff`: a fast-forward where one is possible (always here: PR branches start from the target).
    let method = match strategy.as_str() {
        "squash" | "squash-ff-only" => "squash",
        "ff" | "ff-only" | "rebase-ff-only" => "ff",
        _ => "merge",
    };
    match book.merge(id, method) {
        Ok(_) => {
            let pull = book.pull(id).expect("merged");
            pull.merged_with = Some(strategy.clone());
            let pull = pull.clone();
            Json(pull_json(&book, &pull)).into_response()
        }
        Err(MergeRefusal::NotFound) => error(StatusCode::NOT_FOUND, "Pull request not found", ""),
        Err(_) => error(
            StatusCode::CONFLICT,
            "The pull request has conflicts and cannot be merged.",
            "com.atlassian.bitbucket.pull.PullRequestMergeVetoedException",
        ),
    }
}

async fn build(
    State(double): State<ForgeDouble>,
    Path((key, slug, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) = admit(&double, &headers, (&key, &slug), format!("POST commits/{sha}/builds"), true) {
        return refused;
    }
    let text = |f: &str| body[f].as_str().unwrap_or_default().to_owned();
    let state = text("state");
    if !["INPROGRESS", "SUCCESSFUL", "FAILED", "CANCELLED", "UNKNOWN"].contains(&state.as_str())
        || text("key").is_empty()
        || text("url").is_empty()
    {
        return error(StatusCode::BAD_REQUEST, "key, state and url are required", "");
    }
    if !double.book().record_status(&sha, &state, &text("key"), &text("description")) {
        return error(StatusCode::NOT_FOUND, &format!("Commit {sha} does not exist"), "");
    }
    StatusCode::NO_CONTENT.into_response()
}
