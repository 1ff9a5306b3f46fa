//! GitHub's Git data API over the backing repository, as documented: `git/ref/heads/x`
//! (singular; 404 when missing), `compare/{base}...{head}` (status, merge base, commits oldest
//! first with trees and parents), `git/commits` (422 for an unknown tree or parent; commits
//! without author or committer are the token's, signed and `verified`), `git/refs` (create: 422
//! when it exists; update: 422 `Update is not a fast forward` unless `force`; delete: 204/422).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::super::{ForgeDouble, git, git_as};
use super::{admit, error};

/// The identity GitHub gives API commits made with an App's token.
const APP_NAME: &str = "convoy-promoter[bot]";
const APP_EMAIL: &str = "1+convoy-promoter[bot]@users.noreply.github.com";

/// The request admitted as every GitHub request is, and the repository behind the double.
#[expect(clippy::result_large_err, reason = "the refusal is the response the handler returns as is")]
fn open(
    double: &ForgeDouble,
    headers: &HeaderMap,
    (owner, repo): (&str, &str),
    line: String,
    write: bool,
) -> Result<std::path::PathBuf, Response> {
    admit(double, headers, owner, repo, line, write)?;
    double.book().git_dir.clone().ok_or_else(|| error(StatusCode::CONFLICT, "Git Repository is empty."))
}

fn unprocessable(message: &str) -> Response {
    let body = json!({"message": message, "documentation_url": "https://docs.github.com/rest/git"});
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

pub(super) async fn get_ref(
    State(double): State<ForgeDouble>,
    Path((owner, repo, reference)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let dir = match open(&double, &headers, (&owner, &repo), format!("GET git/ref/{reference}"), false) {
        Ok(dir) => dir,
        Err(refused) => return refused,
    };
    match git(&dir, &["rev-parse", "--verify", "--quiet", &format!("refs/{reference}")]) {
        Ok(sha) => {
            Json(json!({"ref": format!("refs/{reference}"), "object": {"type": "commit", "sha": sha}})).into_response()
        }
        Err(_) => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

pub(super) async fn compare(
    State(double): State<ForgeDouble>,
    Path((owner, repo, basehead)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let dir = match open(&double, &headers, (&owner, &repo), format!("GET compare/{basehead}"), false) {
        Ok(dir) => dir,
        Err(refused) => return refused,
    };
    let Some((base, head)) = basehead.split_once("...") else { return error(StatusCode::NOT_FOUND, "Not Found") };
    let (Ok(base), Ok(head)) =
        (git(&dir, &["rev-parse", "--verify", base]), git(&dir, &["rev-parse", "--verify", head]))
    else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let merge_base = git(&dir, &["merge-base", &base, &head]).unwrap_or_default();
    let count =
        |range: &str| git(&dir, &["rev-list", "--count", range]).ok().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    let (ahead, behind) = (count(&format!("{base}..{head}")), count(&format!("{head}..{base}")));
    let status = match (ahead, behind) {
        (0, 0) => "identical",
        (_, 0) => "ahead",
        (0, _) => "behind",
        _ => "diverged",
    };
    let listed = git(&dir, &["rev-list", "--reverse", "--topo-order", &format!("{base}..{head}")]).unwrap_or_default();
    let commits: Vec<Value> = listed
        .lines()
        .filter(|l| !l.is_empty())
        .map(|sha| {
            let fields =
                git(&dir, &["show", "-s", "--format=%T%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%B", sha]).unwrap_or_default();
            let parts: Vec<&str> = fields.splitn(6, '\u{1f}').collect();
            let field = |i: usize| parts.get(i).copied().unwrap_or_default();
            json!({
                "sha": sha,
                "commit": {
                    "message": field(5).trim_end(),
                    "tree": {"sha": field(0)},
                    "author": {"name": field(2), "email": field(3), "date": field(4)},
                    "committer": {"name": field(2), "email": field(3), "date": field(4)},
                },
                "parents": field(1).split_whitespace().map(|p| json!({"sha": p})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({
        "status": status,
        "ahead_by": ahead,
        "behind_by": behind,
        "total_commits": commits.len(),
        "merge_base_commit": {"sha": merge_base},
        "commits": commits,
    }))
    .into_response()
}

pub(super) async fn create_commit(
    State(double): State<ForgeDouble>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let dir = match open(&double, &headers, (&owner, &repo), "POST git/commits".into(), true) {
        Ok(dir) => dir,
        Err(refused) => return refused,
    };
    let tree = body["tree"].as_str().unwrap_or_default();
    if git(&dir, &["cat-file", "-e", &format!("{tree}^{{tree}}")]).is_err() {
        return unprocessable("Tree SHA does not exist");
    }
    let parents: Vec<&str> = body["parents"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if parents.iter().any(|p| git(&dir, &["cat-file", "-e", &format!("{p}^{{commit}}")]).is_err()) {
        return unprocessable("Parent SHA does not exist or is not a commit object");
    }
    // Sent author: that person's (unsigned). None: the token's identity, signed by GitHub.
    let author = body.get("author").filter(|a| a.is_object());
    let name = author.and_then(|a| a["name"].as_str()).unwrap_or(APP_NAME);
    let email = author.and_then(|a| a["email"].as_str()).unwrap_or(APP_EMAIL);
    let mut args = vec!["commit-tree", tree];
    for parent in &parents {
        args.extend(["-p", parent]);
    }
    args.extend(["-m", body["message"].as_str().unwrap_or_default()]);
    let sha = match git_as(&dir, &args, (name, email)) {
        Ok(sha) => sha,
        Err(e) => return unprocessable(&e),
    };
    let verified = author.is_none();
    double.book().api_commits.push((sha.clone(), verified));
    let verification = if verified {
        json!({"verified": true, "reason": "valid", "signature": "-----BEGIN PGP SIGNATURE-----", "payload": ""})
    } else {
        json!({"verified": false, "reason": "unsigned", "signature": null, "payload": null})
    };
    let value = json!({
        "sha": sha,
        "tree": {"sha": tree},
        "parents": parents.iter().map(|p| json!({"sha": p})).collect::<Vec<_>>(),
        "verification": verification,
    });
    (StatusCode::CREATED, Json(value)).into_response()
}

pub(super) async fn create_ref(
    State(double): State<ForgeDouble>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let reference = body["ref"].as_str().unwrap_or_default().to_owned();
    let dir = match open(&double, &headers, (&owner, &repo), format!("POST git/refs {reference}"), true) {
        Ok(dir) => dir,
        Err(refused) => return refused,
    };
    let sha = body["sha"].as_str().unwrap_or_default();
    if !reference.starts_with("refs/") || git(&dir, &["check-ref-format", &reference]).is_err() {
        return unprocessable("Reference name is invalid");
    }
    if git(&dir, &["rev-parse", "--verify", "--quiet", &reference]).is_ok() {
        return unprocessable("Reference already exists");
    }
    match git(&dir, &["update-ref", &reference, sha, &"0".repeat(40)]) {
        Ok(_) => (StatusCode::CREATED, Json(json!({"ref": reference, "object": {"type": "commit", "sha": sha}})))
            .into_response(),
        Err(_) => unprocessable("Object does not exist"),
    }
}

pub(super) async fn update_ref(
    State(double): State<ForgeDouble>,
    Path((owner, repo, reference)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let dir = match open(&double, &headers, (&owner, &repo), format!("PATCH git/refs/{reference}"), true) {
        Ok(dir) => dir,
        Err(refused) => return refused,
    };
    let full = format!("refs/{reference}");
    let sha = body["sha"].as_str().unwrap_or_default();
    let Ok(current) = git(&dir, &["rev-parse", "--verify", "--quiet", &full]) else {
        return unprocessable("Reference does not exist");
    };
    let fast_forward = git(&dir, &["merge-base", "--is-ancestor", &current, sha]).is_ok();
    if !fast_forward && body["force"] != true {
        return unprocessable("Update is not a fast forward");
    }
    match git(&dir, &["update-ref", &full, sha, &current]) {
        Ok(_) => Json(json!({"ref": full, "object": {"type": "commit", "sha": sha}})).into_response(),
        Err(_) => unprocessable("Object does not exist"),
    }
}

pub(super) async fn delete_ref(
    State(double): State<ForgeDouble>,
    Path((owner, repo, reference)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let dir = match open(&double, &headers, (&owner, &repo), format!("DELETE git/refs/{reference}"), true) {
        Ok(dir) => dir,
        Err(refused) => return refused,
    };
    let full = format!("refs/{reference}");
    if git(&dir, &["rev-parse", "--verify", "--quiet", &full]).is_err() {
        return unprocessable("Reference does not exist");
    }
    match git(&dir, &["update-ref", "-d", &full]) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => unprocessable(&e),
    }
}
