//! Azure DevOps' Git pull-request API as documented, in Azure DevOps Server's layout
//! (`/{collection}/{project}/_apis/git/repositories/{repo}/…`, the same routes Services serves
//! under `dev.azure.com/{org}`): every call needs `api-version`; Basic auth with the PAT as the
//! password (`X-TFS-FedAuthRedirect: Suppress` turns a sign-in page into 401); list by
//! `searchCriteria.*` with full ref names, paged by `$top`/`$skip`; create 201 (409 TF401179);
//! completion by `PATCH status: completed`, asynchronous (the answer still says `active`);
//! 429 TF400733 with `Retry-After`.

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Book, ForgeDouble, Gate, MergeRefusal, Pull, header};

const COLLECTION: &str = "acme";
const PROJECT: &str = "ops";
const REPO: &str = "config";
const REPO_ID: &str = "3411ebc1-d5aa-464f-9615-0b527bc66719";
const STRATEGIES: [&str; 4] = ["noFastForward", "squash", "rebase", "rebaseMerge"];

pub(super) fn routes(_: ForgeDouble) -> axum::Router<ForgeDouble> {
    let repo = "/{collection}/{project}/_apis/git/repositories/{repo}";
    axum::Router::new()
        .route(repo, get(repository))
        .route(&format!("{repo}/pullrequests"), get(list).post(create))
        .route(&format!("{repo}/pullrequests/{{id}}"), get(one).patch(complete))
        .route(&format!("{repo}/commits/{{sha}}/statuses"), axum::routing::post(status))
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"$id": "1", "innerException": null, "message": message, "typeName": "Microsoft.TeamFoundation.Git.Server.GitPullRequestException", "typeKey": "GitPullRequestException", "errorCode": 0, "eventId": 3000});
    (status, Json(body)).into_response()
}

type Coordinates = (String, String, String);

#[expect(clippy::result_large_err, reason = "the refusal is the response the handler returns as is")]
fn admit(
    double: &ForgeDouble,
    headers: &HeaderMap,
    (collection, project, repo): &Coordinates,
    query: &str,
    line: String,
    write: bool,
) -> Result<(), Response> {
    let token = super::basic_password(header(headers, "authorization"));
    match double.gate(line, token, write) {
        Ok(()) => {}
        Err(Gate::RateLimited { seconds, .. }) => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'Global' in namespace 'User'.",
            );
            let h = response.headers_mut();
            h.insert("retry-after", HeaderValue::from_str(&seconds.to_string()).expect("digits"));
            h.insert("x-ratelimit-resource", HeaderValue::from_static("Global"));
            h.insert(
                "x-ratelimit-reset",
                HeaderValue::from_str(&(super::now() + seconds).to_string()).expect("digits"),
            );
            return Err(response);
        }
        Err(Gate::Unauthorized) if header(headers, "x-tfs-fedauthredirect") == "Suppress" => {
            return Err((StatusCode::UNAUTHORIZED, "").into_response());
        }
        // Without the header, a browser's sign-in page.
        Err(Gate::Unauthorized) => {
            return Err((StatusCode::NON_AUTHORITATIVE_INFORMATION, "<html>Sign in</html>").into_response());
        }
        Err(Gate::Forbidden) => {
            return Err(error(
                StatusCode::FORBIDDEN,
                "TF401027: You need the Git 'PullRequestContribute' permission to perform this action.",
            ));
        }
    }
    if !query.split('&').any(|p| p.starts_with("api-version=")) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "No api-version was supplied for the request. The version must be supplied either as part of the Accept header or as query parameter.",
        ));
    }
    if collection != COLLECTION || project != PROJECT || (repo != REPO && repo != REPO_ID) {
        return Err(error(
            StatusCode::NOT_FOUND,
            &format!(
                "TF401019: The Git repository with name or identifier {repo} does not exist or you do not have permissions for the operation you are attempting."
            ),
        ));
    }
    Ok(())
}

fn web_url(book: &Book) -> String {
    format!("{}/{COLLECTION}/{PROJECT}/_git/{REPO}", book.base)
}

fn pull_json(book: &Book, pull: &Pull, completing: bool) -> Value {
    let status = match (pull.open || completing, pull.merged) {
        (true, _) => "active",
        (false, true) => "completed",
        (false, false) => "abandoned",
    };
    let merge_status = match pull.mergeable_state.as_str() {
        "dirty" => "conflicts",
        "unknown" => "queued",
        "blocked" => "rejectedByPolicy",
        _ => "succeeded",
    };
    json!({
        "pullRequestId": pull.number,
        "codeReviewId": pull.number,
        "status": status,
        "isDraft": pull.mergeable_state == "draft",
        "mergeStatus": merge_status,
        "title": pull.title,
        "description": pull.body,
        "sourceRefName": format!("refs/heads/{}", pull.head_ref),
        "targetRefName": format!("refs/heads/{}", pull.base_ref),
        "lastMergeSourceCommit": {"commitId": pull.head_sha},
        "lastMergeCommit": pull.merge_commit_sha.as_ref().map(|sha| json!({"commitId": sha})),
        "repository": {"id": REPO_ID, "name": REPO, "webUrl": web_url(book), "project": {"name": PROJECT}},
        "creationDate": pull.created_at,
        "labels": pull.labels.iter().map(|l| json!({"name": l, "active": true})).collect::<Vec<_>>(),
        "_links": {"web": {"href": format!("{}/pullrequest/{}", web_url(book), pull.number)}},
    })
}

async fn repository(
    State(double): State<ForgeDouble>,
    Path(at): Path<Coordinates>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let raw = raw.unwrap_or_default();
    if let Err(refused) = admit(&double, &headers, &at, &raw, format!("GET repository {}", at.2), false) {
        return refused;
    }
    let book = double.book();
    Json(json!({"id": REPO_ID, "name": REPO, "webUrl": web_url(&book), "remoteUrl": web_url(&book), "defaultBranch": "refs/heads/main", "project": {"name": PROJECT}}))
        .into_response()
}

async fn list(
    State(double): State<ForgeDouble>,
    Path(at): Path<Coordinates>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let raw = raw.unwrap_or_default();
    if let Err(refused) = admit(&double, &headers, &at, &raw, format!("GET pullrequests?{raw}"), false) {
        return refused;
    }
    let book = double.book();
    let status = query.get("searchCriteria.status").map_or("active", String::as_str);
    let source = query.get("searchCriteria.sourceRefName");
    let target = query.get("searchCriteria.targetRefName");
    let matching: Vec<Value> = book
        .pulls
        .iter()
        .map(|p| pull_json(&book, p, false))
        .filter(|p| status == "all" || p["status"] == status)
        .filter(|p| source.is_none_or(|s| p["sourceRefName"] == s.as_str()))
        .filter(|p| target.is_none_or(|t| p["targetRefName"] == t.as_str()))
        .collect();
    let skip: usize = query.get("$skip").and_then(|v| v.parse().ok()).unwrap_or(0);
    let top: usize = query.get("$top").and_then(|v| v.parse().ok()).unwrap_or(101).min(book.page_size);
    let rows: Vec<Value> = matching.iter().skip(skip).take(top).cloned().collect();
    Json(json!({"value": rows, "count": rows.len()})).into_response()
}

async fn one(
    State(double): State<ForgeDouble>,
    Path((collection, project, repo, id)): Path<(String, String, String, i64)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let raw = raw.unwrap_or_default();
    let at = (collection, project, repo);
    if let Err(refused) = admit(&double, &headers, &at, &raw, format!("GET pullrequests/{id}"), false) {
        return refused;
    }
    let mut book = double.book();
    let computing = book.computing();
    match book.pulls.iter().find(|p| p.number == id) {
        Some(pull) => {
            let mut value = pull_json(&book, pull, false);
            if computing && pull.open {
                value["mergeStatus"] = json!("queued");
            }
            Json(value).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "TF401180: The requested pull request was not found."),
    }
}

async fn create(
    State(double): State<ForgeDouble>,
    Path(at): Path<Coordinates>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let raw = raw.unwrap_or_default();
    if let Err(refused) = admit(&double, &headers, &at, &raw, "POST pullrequests".into(), true) {
        return refused;
    }
    let text = |f: &str| body[f].as_str().unwrap_or("").to_owned();
    let (Some(source), Some(target)) = (
        text("sourceRefName").strip_prefix("refs/heads/").map(str::to_owned),
        text("targetRefName").strip_prefix("refs/heads/").map(str::to_owned),
    ) else {
        return error(
            StatusCode::BAD_REQUEST,
            "TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches",
        );
    };
    let mut book = double.book();
    if book.pulls.iter().any(|p| p.open && p.head_ref == source && p.base_ref == target) {
        return error(
            StatusCode::CONFLICT,
            "TF401179: An active pull request for the source and target branch already exists.",
        );
    }
    let labels: Vec<String> =
        body["labels"].as_array().into_iter().flatten().filter_map(|l| l["name"].as_str().map(str::to_owned)).collect();
    let Some(pull) = book.open(&source, &target, &text("title"), &text("description"), labels) else {
        return error(
            StatusCode::BAD_REQUEST,
            "TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches",
        );
    };
    if let Some(lost) = book.lost_create() {
        return lost;
    }
    (StatusCode::CREATED, Json(pull_json(&book, &pull, false))).into_response()
}

async fn complete(
    State(double): State<ForgeDouble>,
    Path((collection, project, repo, id)): Path<(String, String, String, i64)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let raw = raw.unwrap_or_default();
    let strategy = body.pointer("/completionOptions/mergeStrategy").and_then(Value::as_str).unwrap_or("noFastForward");
    let at = (collection, project, repo);
    if let Err(refused) =
        admit(&double, &headers, &at, &raw, format!("PATCH pullrequests/{id} strategy={strategy}"), true)
    {
        return refused;
    }
    if body["status"] != "completed" {
        return error(StatusCode::BAD_REQUEST, "only completion is modelled by this double");
    }
    let mut book = double.book();
    if !STRATEGIES.contains(&strategy) || book.disallowed_methods.iter().any(|m| m == strategy) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("TF401398: The merge strategy {strategy} is not allowed by policy."),
        );
    }
    let Some(pull) = book.pulls.iter().find(|p| p.number == id).cloned() else {
        return error(StatusCode::NOT_FOUND, "TF401180: The requested pull request was not found.");
    };
    if body.pointer("/lastMergeSourceCommit/commitId").and_then(Value::as_str) != Some(pull.head_sha.as_str()) {
        return error(
            StatusCode::CONFLICT,
            "TF401192: The pull request cannot be completed because the source branch was updated. Please try again.",
        );
    }
    let method = match strategy {
        "squash" => "squash",
        "rebase" => "rebase",
        _ => "merge",
    };
    match book.merge(id, method) {
        // Completion is asynchronous: this answer still says active.
        Ok(_) => {
            let pull = book.pull(id).expect("merged");
            pull.merged_with = Some(strategy.to_owned());
            let pull = pull.clone();
            Json(pull_json(&book, &pull, true)).into_response()
        }
        Err(MergeRefusal::Closed) => {
            error(StatusCode::BAD_REQUEST, "TF401181: The pull request cannot be edited due to its state.")
        }
        Err(_) => {
            error(StatusCode::CONFLICT, "TF401190: The pull request cannot be completed because it has conflicts.")
        }
    }
}

async fn status(
    State(double): State<ForgeDouble>,
    Path((collection, project, repo, sha)): Path<(String, String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let raw = raw.unwrap_or_default();
    let at = (collection, project, repo);
    if let Err(refused) = admit(&double, &headers, &at, &raw, format!("POST commits/{sha}/statuses"), true) {
        return refused;
    }
    let state = body["state"].as_str().unwrap_or_default().to_owned();
    if !["pending", "succeeded", "failed", "error", "notApplicable"].contains(&state.as_str()) {
        return error(StatusCode::BAD_REQUEST, "TF400898: An Internal Error Occurred. The state is not valid.");
    }
    let context = format!(
        "{}/{}",
        body.pointer("/context/genre").and_then(Value::as_str).unwrap_or_default(),
        body.pointer("/context/name").and_then(Value::as_str).unwrap_or_default()
    );
    let description = body["description"].as_str().unwrap_or_default().to_owned();
    if !double.book().record_status(&sha, &state, &context, &description) {
        return error(StatusCode::NOT_FOUND, &format!("TF401175: The commit {sha} does not exist."));
    }
    (StatusCode::CREATED, Json(json!({"state": state, "context": body["context"]}))).into_response()
}
