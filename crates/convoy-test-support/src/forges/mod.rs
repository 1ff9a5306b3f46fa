//! Doubles of the forges' REST APIs, written from their public documentation
//! (`shared/reference/forges.md` §2): endpoints, status codes, pagination, rate-limit headers and
//! error bodies as each forge answers them.
//!
//! One [`ForgeDouble`] per test: its state (pull requests, branch heads, knobs, a request
//! journal) is shared by the five API flavours; each flavour's module maps that state to the
//! forge's routes and JSON. Backed by a bare repository ([`ForgeDouble::backed_by`]), the double
//! also serves it over git's smart HTTP at the forge's clone URL, reads branch heads from it and
//! merges for real (`git merge-tree`), so SHAs, fast-forwards and conflicts are git's.

pub mod azure;
pub mod bitbucket;
pub mod bitbucket_dc;
mod git_http;
pub mod gitea;
pub mod github;
pub mod gitlab;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, MutexGuard};

/// Which forge's API the double speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// GitHub Enterprise Server's layout (`/api/v3`; also served at `/` as api.github.com).
    GitHub,
    GitLab,
    Gitea,
    /// Bitbucket Cloud (`/2.0`, reached through an API-URL override for the double's host).
    Bitbucket,
    /// Bitbucket Data Center (`/rest/api/latest`; clone URLs under `/scm/`).
    BitbucketDataCenter,
    /// Azure DevOps Server's layout (`/{collection}/{project}/_apis`).
    Azure,
}

impl Flavor {
    pub const ALL: [Flavor; 6] =
        [Flavor::GitHub, Flavor::GitLab, Flavor::Gitea, Flavor::Bitbucket, Flavor::BitbucketDataCenter, Flavor::Azure];

    /// The step's `provider` value.
    pub fn provider(self) -> &'static str {
        match self {
            Flavor::GitHub => "github",
            Flavor::GitLab => "gitlab",
            Flavor::Gitea => "gitea",
            Flavor::Bitbucket | Flavor::BitbucketDataCenter => "bitbucket",
            Flavor::Azure => "azure",
        }
    }
}

/// A pull request as the double keeps it (each flavour renders it in its forge's words).
#[derive(Debug, Clone)]
pub struct Pull {
    pub number: i64,
    pub title: String,
    pub body: String,
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    pub open: bool,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    /// GitHub's words, used by every flavour: `clean`, `dirty` (conflicts), `unknown` (being
    /// computed), `blocked`, `draft`.
    pub mergeable_state: String,
    pub labels: Vec<String>,
    pub created_at: String,
    /// The merge method a merge used (the forge's word).
    pub merged_with: Option<String>,
}

pub(crate) struct Book {
    pub(crate) flavor: Flavor,
    pub(crate) pulls: Vec<Pull>,
    pub(crate) token: Option<String>,
    pub(crate) page_size: usize,
    pub(crate) forbid_writes: bool,
    /// The next request is refused for a rate limit: (status, seconds to reset, as a secondary
    /// limit with `retry-after`).
    pub(crate) rate_limited: Option<(u16, u64, bool)>,
    pub(crate) disallowed_methods: Vec<String>,
    pub(crate) requests: Vec<String>,
    pub(crate) base: String,
    branches: std::collections::BTreeMap<String, String>,
    pub(crate) git_dir: Option<PathBuf>,
    /// How many more reads of a PR still say "mergeability being computed" after a change.
    pub(crate) not_ready_reads: u32,
    /// The repository's labels (Gitea applies labels by id).
    pub(crate) labels_known: Vec<(i64, String)>,
    /// Commits made through GitHub's Git data API: SHA, and whether GitHub verified them.
    pub(crate) api_commits: Vec<(String, bool)>,
    /// The next PR creation happens, but its answer is lost (502).
    pub(crate) lose_next_create: bool,
    pub(crate) statuses: Vec<Status>,
}

/// A commit status as a forge received it (in that forge's words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub sha: String,
    pub state: String,
    pub context: String,
    pub description: String,
}

impl Book {
    pub(crate) fn branch_head(&self, branch: &str) -> Option<String> {
        if let Some(sha) = self.branches.get(branch) {
            return Some(sha.clone());
        }
        let git_dir = self.git_dir.as_ref()?;
        git(git_dir, &["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}^{{commit}}")]).ok()
    }

    pub(crate) fn pull(&mut self, number: i64) -> Option<&mut Pull> {
        self.pulls.iter_mut().find(|p| p.number == number)
    }

    /// Opens a PR; `None` when either branch is missing.
    pub(crate) fn open(
        &mut self,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
        labels: Vec<String>,
    ) -> Option<Pull> {
        let head_sha = self.branch_head(head)?;
        self.branch_head(base)?;
        let number = self.pulls.len() as i64 + 1;
        let pull = Pull {
            number,
            title: title.into(),
            body: body.into(),
            head_ref: head.into(),
            head_sha,
            base_ref: base.into(),
            open: true,
            merged: false,
            // Forges compute a test merge for open PRs (GitHub, Azure report it).
            merge_commit_sha: Some(format!("{:040x}", 0xdef000 + number)),
            mergeable_state: "clean".into(),
            labels,
            created_at: format!("2026-01-01T00:01:{:02}Z", number % 60),
            merged_with: None,
        };
        self.pulls.push(pull.clone());
        Some(pull)
    }

    /// Merges PR `number` with `method` (`merge`, `squash`, `rebase`/fast-forward): in the
    /// backing repository when there is one (the target branch moves), else with an invented
    /// commit. `Err` is the reason a forge gives for not merging.
    pub(crate) fn merge(&mut self, number: i64, method: &str) -> Result<String, MergeRefusal> {
        let git_dir = self.git_dir.clone();
        let pull = self.pull(number).ok_or(MergeRefusal::NotFound)?;
        if !pull.open {
            return Err(MergeRefusal::Closed);
        }
        match pull.mergeable_state.as_str() {
            "dirty" => return Err(MergeRefusal::Conflicts),
            "unknown" | "draft" | "blocked" => return Err(MergeRefusal::NotReady),
            _ => {}
        }
        let (head, base) = (pull.head_ref.clone(), pull.base_ref.clone());
        let sha = match git_dir {
            Some(dir) => merge_in_git(&dir, &head, &base, method, &pull.title)?,
            None => format!("{:040x}", 0x5eed000 + number),
        };
        pull.open = false;
        pull.merged = true;
        pull.merge_commit_sha = Some(sha.clone());
        pull.merged_with = Some(method.to_owned());
        Ok(sha)
    }

    /// Records a commit status on `sha` (a full SHA or, as Bitbucket takes, a prefix of one);
    /// `false` when the repository has no such commit.
    pub(crate) fn record_status(&mut self, sha: &str, state: &str, context: &str, description: &str) -> bool {
        let known = match &self.git_dir {
            Some(dir) => {
                sha.len() >= 7 && git(dir, &["rev-parse", "--verify", "--quiet", &format!("{sha}^{{commit}}")]).is_ok()
            }
            None => self.pulls.iter().any(|p| p.head_sha.starts_with(sha)),
        };
        if known {
            let status = Status {
                sha: sha.into(),
                state: state.into(),
                context: context.into(),
                description: description.into(),
            };
            self.statuses.push(status);
        }
        known
    }

    /// The 502 a create answers when its answer is to be lost (the PR exists all the same).
    pub(crate) fn lost_create(&mut self) -> Option<axum::response::Response> {
        use axum::response::IntoResponse;
        if !std::mem::take(&mut self.lose_next_create) {
            return None;
        }
        Some((axum::http::StatusCode::BAD_GATEWAY, "Bad Gateway").into_response())
    }

    /// Answers a "being computed" read: true while `not_ready_reads` lasts.
    pub(crate) fn computing(&mut self) -> bool {
        if self.not_ready_reads > 0 {
            self.not_ready_reads -= 1;
            return true;
        }
        false
    }

    /// Rows `page` (from 1) of `items`, `size` at a time, and whether more follow.
    pub(crate) fn page<T: Clone>(items: &[T], page: usize, size: usize) -> (Vec<T>, bool) {
        let page = page.max(1);
        let size = size.max(1);
        let rows = items.iter().skip((page - 1) * size).take(size).cloned().collect();
        (rows, page * size < items.len())
    }
}

/// Why a merge did not happen.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum MergeRefusal {
    NotFound,
    Closed,
    Conflicts,
    NotReady,
    /// A fast-forward asked for where the target has moved on.
    NotFastForward,
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    git_as(dir, args, ("Forge", "forge@example.com"))
}

/// git in the bare repository `dir`, committing as `who` (name, email).
pub(crate) fn git_as(dir: &Path, args: &[&str], (name, email): (&str, &str)) -> Result<String, String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", email)
        .env("GIT_COMMITTER_NAME", name)
        .env("GIT_COMMITTER_EMAIL", email)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// What the forge's merge button does to the repository.
fn merge_in_git(dir: &Path, head: &str, base: &str, method: &str, title: &str) -> Result<String, MergeRefusal> {
    let head_sha = git(dir, &["rev-parse", &format!("refs/heads/{head}")]).map_err(|_| MergeRefusal::NotFound)?;
    let base_sha = git(dir, &["rev-parse", &format!("refs/heads/{base}")]).map_err(|_| MergeRefusal::NotFound)?;
    let fast_forward = matches!(method, "rebase" | "fast_forward" | "fast-forward-only" | "ff" | "rebase_fast_forward");
    let sha = if fast_forward {
        git(dir, &["merge-base", "--is-ancestor", &base_sha, &head_sha]).map_err(|_| MergeRefusal::NotFastForward)?;
        head_sha
    } else {
        let tree =
            git(dir, &["merge-tree", "--write-tree", &base_sha, &head_sha]).map_err(|_| MergeRefusal::Conflicts)?;
        let tree = tree.lines().next().unwrap_or_default().to_owned();
        let message = format!("Merge pull request: {title}");
        let squash = matches!(method, "squash" | "squash_fast_forward");
        let mut args = vec!["commit-tree", tree.as_str(), "-p", base_sha.as_str()];
        if !squash {
            args.extend(["-p", head_sha.as_str()]);
        }
        args.extend(["-m", message.as_str()]);
        git(dir, &args).map_err(|_| MergeRefusal::Conflicts)?
    };
    git(dir, &["update-ref", &format!("refs/heads/{base}"), &sha, &base_sha]).map_err(|_| MergeRefusal::NotReady)?;
    Ok(sha)
}

/// The double: serve it, then point a repository URL (or an API-URL override) at it.
#[derive(Clone)]
pub struct ForgeDouble {
    pub(crate) inner: Arc<Mutex<Book>>,
}

impl ForgeDouble {
    /// A double of `flavor` for the repository every flavour names `acme/config` (GitLab:
    /// `acme/team/config`; Azure: collection `acme`, project `ops`, repository `config`) that
    /// accepts `token` (none: any request).
    pub fn new(flavor: Flavor, token: Option<&str>) -> ForgeDouble {
        let book = Book {
            flavor,
            pulls: Vec::new(),
            token: token.map(str::to_owned),
            page_size: 100,
            forbid_writes: false,
            rate_limited: None,
            disallowed_methods: Vec::new(),
            requests: Vec::new(),
            base: String::new(),
            branches: Default::default(),
            git_dir: None,
            not_ready_reads: 0,
            labels_known: vec![(1, "kargo".into()), (2, "promotion".into())],
            api_commits: Vec::new(),
            lose_next_create: false,
            statuses: Vec::new(),
        };
        ForgeDouble { inner: Arc::new(Mutex::new(book)) }
    }

    pub(crate) fn book(&self) -> MutexGuard<'_, Book> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn flavor(&self) -> Flavor {
        self.book().flavor
    }

    /// Serves on 127.0.0.1; the base URL (scheme, host and port).
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        self.book().base = base.clone();
        let api = match self.flavor() {
            Flavor::GitHub => github::routes(self.clone()),
            Flavor::GitLab => gitlab::routes(self.clone()),
            Flavor::Gitea => gitea::routes(self.clone()),
            Flavor::Bitbucket => bitbucket::routes(self.clone()),
            Flavor::BitbucketDataCenter => bitbucket_dc::routes(self.clone()),
            Flavor::Azure => azure::routes(self.clone()),
        };
        let router = api.fallback(git_http::serve).with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.ok() });
        base
    }

    /// The repository URL a step names for this double (also its git clone URL once
    /// [`ForgeDouble::backed_by`] is called).
    pub fn repo_url(&self) -> String {
        let book = self.book();
        let base = &book.base;
        match book.flavor {
            // Bitbucket: the step reaches the API through an override for this host.
            Flavor::GitHub | Flavor::Gitea | Flavor::Bitbucket => format!("{base}/acme/config.git"),
            Flavor::GitLab => format!("{base}/acme/team/config.git"),
            Flavor::BitbucketDataCenter => format!("{base}/scm/ACME/config.git"),
            Flavor::Azure => format!("{base}/acme/ops/_git/config"),
        }
    }

    /// The API root (for an override: Bitbucket Cloud's is not on the repository's host).
    pub fn api_url(&self) -> String {
        let book = self.book();
        match book.flavor {
            Flavor::GitHub => format!("{}/api/v3", book.base),
            Flavor::GitLab => format!("{}/api/v4", book.base),
            Flavor::Gitea => format!("{}/api/v1", book.base),
            Flavor::Bitbucket => format!("{}/2.0", book.base),
            Flavor::BitbucketDataCenter => format!("{}/rest/api/latest", book.base),
            Flavor::Azure => format!("{}/acme", book.base),
        }
    }

    /// The head of `branch` (as pushed to the forge).
    pub fn set_branch(&self, branch: &str, sha: &str) {
        self.book().branches.insert(branch.into(), sha.into());
    }

    /// Branch heads come from this bare repository, which the double also serves over git's
    /// smart HTTP and merges into.
    pub fn backed_by(&self, git_dir: &Path) {
        self.book().git_dir = Some(git_dir.to_owned());
    }

    /// Pages of at most `size` items.
    pub fn page_size(&self, size: usize) {
        self.book().page_size = size.max(1);
    }

    /// Writes answer the forge's 403.
    pub fn forbid_writes(&self) {
        self.book().forbid_writes = true;
    }

    /// The next request is refused for a rate limit that resets in `seconds`: `status` (403
    /// or 429 on GitHub; 429 elsewhere); with `retry_after`, GitHub's secondary limit.
    pub fn rate_limit_next(&self, status: u16, seconds: u64, retry_after: bool) {
        self.book().rate_limited = Some((status, seconds, retry_after));
    }

    /// Refuse a merge method as the repository's settings do.
    pub fn disallow_method(&self, method: &str) {
        self.book().disallowed_methods.push(method.to_owned());
    }

    /// The next PR creation succeeds on the forge but answers 502, as if the connection
    /// dropped: a client that retries must find the PR, not open a second one.
    pub fn lose_next_create(&self) {
        self.book().lose_next_create = true;
    }

    /// The next `reads` reads of a PR say its mergeability is still being computed.
    pub fn computing_for(&self, reads: u32) {
        self.book().not_ready_reads = reads;
    }

    /// A PR opened by someone else (a person, another tool).
    pub fn add(&self, head_ref: &str, head_sha: &str, base_ref: &str) -> i64 {
        let mut book = self.book();
        book.branches.entry(head_ref.into()).or_insert_with(|| head_sha.into());
        book.branches.entry(base_ref.into()).or_insert_with(|| format!("{:040x}", 0xba5e));
        let number = book.pulls.len() as i64 + 1;
        let pull = book.open(head_ref, base_ref, &format!("PR {number}"), "", Vec::new()).expect("branches set");
        book.pull(pull.number).expect("just added").head_sha = head_sha.into();
        book.pull(pull.number).expect("just added").created_at = format!("2026-01-01T00:00:{:02}Z", number % 60);
        number
    }

    /// A reviewer merges the PR (the test pushes `merge_commit` to the git remote itself).
    pub fn merge_by_hand(&self, number: i64, merge_commit: &str) {
        if let Some(pull) = self.book().pull(number) {
            pull.open = false;
            pull.merged = true;
            pull.merge_commit_sha = Some(merge_commit.into());
        }
    }

    /// A reviewer presses the merge button: a real merge in the backing repository (`merge`,
    /// `squash` or `rebase`); the new head of the target branch.
    pub fn merge(&self, number: i64, method: &str) -> Result<String, String> {
        self.book().merge(number, method).map_err(|refusal| format!("{refusal:?}"))
    }

    /// A reviewer closes the PR without merging it.
    pub fn close(&self, number: i64) {
        if let Some(pull) = self.book().pull(number) {
            pull.open = false;
        }
    }

    /// A PR's mergeability in GitHub's words (`clean`, `dirty`, `unknown`, `blocked`, `draft`).
    pub fn set_mergeable_state(&self, number: i64, state: &str) {
        if let Some(pull) = self.book().pull(number) {
            pull.mergeable_state = state.into();
        }
    }

    /// Commits made through GitHub's Git data API (`github-push`): SHA, verified.
    pub fn api_commits(&self) -> Vec<(String, bool)> {
        self.book().api_commits.clone()
    }

    /// Commit statuses received, oldest first.
    pub fn statuses(&self) -> Vec<Status> {
        self.book().statuses.clone()
    }

    pub fn pulls(&self) -> Vec<Pull> {
        self.book().pulls.clone()
    }

    /// Every request, as `METHOD path?query` (the path as sent, encoding intact).
    pub fn requests(&self) -> Vec<String> {
        self.book().requests.clone()
    }
}

/// Why a request was turned away before its handler ran.
pub(crate) enum Gate {
    RateLimited { seconds: u64 },
    Unauthorized,
    Forbidden,
}

impl ForgeDouble {
    /// Journals the request, then applies what every forge checks first: a pending rate
    /// limit, the token (`given`, as the flavour read it from its auth header), write access.
    pub(crate) fn gate(&self, line: String, given: Option<String>, write: bool) -> Result<(), Gate> {
        let mut book = self.book();
        book.requests.push(line);
        if let Some((_, seconds, _)) = book.rate_limited.take() {
            return Err(Gate::RateLimited { seconds });
        }
        if let Some(token) = &book.token
            && given.as_deref() != Some(token.as_str())
        {
            return Err(Gate::Unauthorized);
        }
        if write && book.forbid_writes {
            return Err(Gate::Forbidden);
        }
        Ok(())
    }
}

/// The value of header `name`, or "".
pub(crate) fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Seconds since the epoch, for reset headers.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// The token of an `Authorization: Basic` header (the password; any user name).
pub(crate) fn basic_password(header: &str) -> Option<String> {
    use base64::Engine;
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(_, password)| password.to_owned())
}
