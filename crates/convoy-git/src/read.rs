//! Reading a mirror for discovery: refresh only when the remote moved, commits of a branch
//! with their changed paths, and tags with their commits.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::command::{Credentials, GitError, git, run};
use crate::mirror::Mirrors;

/// A commit as discovery sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub subject: String,
    /// `Name <email>`.
    pub author: String,
    pub committer: String,
    /// RFC 3339.
    pub commit_date: String,
    /// Paths the commit changed (relative to the repository root).
    pub paths: Vec<String>,
}

/// A tag and the commit it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInfo {
    pub name: String,
    pub id: String,
    /// The tag's date for annotated tags, the commit's for lightweight ones (RFC 3339).
    pub creator_date: String,
    pub subject: String,
    pub author: String,
    pub committer: String,
    /// Annotated tags only.
    pub tagger: String,
    pub annotation: String,
}

const FIELD: char = '\u{1f}';
const RECORD: char = '\u{1e}';

impl Mirrors {
    /// The mirror of `url`, fetched unless it was brought up to date within `fresh_within`
    /// or `ls-remote` shows the remote's refs are what the mirror has. Many Warehouses on one
    /// repository therefore cost one fetch per cycle.
    pub async fn refresh(
        &self,
        url: &str,
        credentials: Option<&Credentials>,
        fresh_within: Duration,
    ) -> Result<PathBuf, GitError> {
        crate::refs::check_remote(url)?;
        let path = self.path_of(url);
        let lock = self.repo_lock(&path);
        let _guard = lock.lock().await;
        let identity = Credentials::identity(credentials);
        if self.synced_within(&path, fresh_within) && self.verified_within(&path, &identity, fresh_within) {
            return Ok(path);
        }
        if path.join("HEAD").exists() {
            // Also the access check: these credentials must reach the remote themselves.
            let mut remote = git(None, credentials.map(|c| (c, url)));
            remote.args(["ls-remote", "--", url]);
            let remote_refs = refs(&run(remote, "ls-remote").await?);
            self.mark_verified(&path, &identity);
            let mut local = git(Some(&path), None);
            local.args(["show-ref", "--head"]);
            let local_refs = refs(&run(local, "show-ref").await.unwrap_or_default());
            if !remote_refs.is_empty() && remote_refs.iter().all(|r| local_refs.contains(r)) {
                self.unchanged.fetch_add(1, Ordering::SeqCst);
                self.mark_synced(&path);
                return Ok(path);
            }
        }
        self.fetch_or_clone(&path, url, credentials).await?;
        self.mark_synced(&path);
        self.mark_verified(&path, &identity);
        Ok(path)
    }

    /// Commits reachable from `branch` (the default branch when `None`), newest first.
    pub async fn commits(
        &self,
        url: &str,
        branch: Option<&str>,
        skip: usize,
        count: usize,
    ) -> Result<Vec<CommitInfo>, GitError> {
        let path = self.path_of(url);
        let reference = match branch {
            Some(b) => {
                crate::refs::check_ref_name("branch", b)?;
                format!("refs/heads/{b}")
            }
            None => "HEAD".to_owned(),
        };
        let mut log = git(Some(&path), None);
        log.args([
            "log",
            &format!("--skip={skip}"),
            &format!("--max-count={count}"),
            "--name-only",
            "--no-renames",
            "--format=%x1e%H%x1f%an <%ae>%x1f%cn <%ce>%x1f%cI%x1f%s%x1f",
            "--end-of-options",
            &reference,
            "--",
        ]);
        let text = run(log, "log").await?;
        let mut commits = Vec::new();
        for record in text.split(RECORD).filter(|r| !r.trim().is_empty()) {
            let fields: Vec<&str> = record.splitn(6, FIELD).collect();
            let [id, author, committer, date, subject, paths] = fields[..] else { continue };
            commits.push(CommitInfo {
                id: id.trim().to_owned(),
                subject: subject.to_owned(),
                author: author.to_owned(),
                committer: committer.to_owned(),
                commit_date: date.to_owned(),
                paths: paths.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            });
        }
        Ok(commits)
    }

    /// Every tag of the mirror of `url`.
    pub async fn tags(&self, url: &str) -> Result<Vec<TagInfo>, GitError> {
        let path = self.path_of(url);
        let format = [
            "%(refname:strip=2)",
            "%(objectname)",
            "%(*objectname)",
            "%(creatordate:iso-strict)",
            "%(subject)",
            "%(*subject)",
            "%(authorname) %(authoremail)",
            "%(*authorname) %(*authoremail)",
            "%(committername) %(committeremail)",
            "%(*committername) %(*committeremail)",
            "%(taggername) %(taggeremail)",
            "%(contents)",
        ]
        .join("%1f");
        let mut list = git(Some(&path), None);
        list.args(["for-each-ref", &format!("--format={format}%1e"), "refs/tags"]);
        let text = run(list, "for-each-ref").await?;
        let pick = |direct: &str, peeled: &str| {
            if peeled.trim().is_empty() { direct.trim() } else { peeled.trim() }.to_owned()
        };
        let mut tags = Vec::new();
        for record in text.split(RECORD).map(|r| r.trim_start_matches('\n')).filter(|r| !r.is_empty()) {
            let f: Vec<&str> = record.split(FIELD).collect();
            if f.len() < 12 {
                continue;
            }
            let annotated = !f[2].is_empty();
            tags.push(TagInfo {
                name: f[0].to_owned(),
                id: pick(f[1], f[2]),
                creator_date: f[3].to_owned(),
                subject: if annotated { String::new() } else { f[4].to_owned() },
                author: pick(f[6], f[7]),
                committer: pick(f[8], f[9]),
                tagger: if annotated { f[10].trim().to_owned() } else { String::new() },
                annotation: if annotated { f[11].trim().to_owned() } else { String::new() },
            });
        }
        // Annotated tags carry the commit's subject through a second look-up.
        for tag in tags.iter_mut().filter(|t| t.subject.is_empty()) {
            let mut show = git(Some(&path), None);
            show.args(["log", "-1", "--format=%s", "--end-of-options", &tag.id]);
            tag.subject = run(show, "log").await.unwrap_or_default();
        }
        Ok(tags)
    }
}

/// `(object, ref)` pairs of `ls-remote` / `show-ref` output.
fn refs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(char::is_whitespace))
        .map(|(id, name)| (id.trim().to_owned(), name.trim().to_owned()))
        .filter(|(_, name)| name.starts_with("refs/heads/") || name.starts_with("refs/tags/"))
        .collect()
}

impl Mirrors {
    fn synced_within(&self, path: &std::path::Path, within: Duration) -> bool {
        let synced = self.synced.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        synced.get(path).is_some_and(|at| at.elapsed() < within)
    }

    fn verified_within(&self, path: &std::path::Path, identity: &str, within: Duration) -> bool {
        let verified = self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        verified.get(&(path.to_owned(), identity.to_owned())).is_some_and(|at| at.elapsed() < within)
    }

    fn mark_verified(&self, path: &std::path::Path, identity: &str) {
        let mut verified = self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        verified.insert((path.to_owned(), identity.to_owned()), Instant::now());
    }

    fn mark_synced(&self, path: &std::path::Path) {
        let mut synced = self.synced.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        synced.insert(path.to_owned(), Instant::now());
    }

    /// How many `ls-remote` checks found nothing new (for tests and metrics).
    pub fn unchanged_count(&self) -> usize {
        self.unchanged.load(Ordering::SeqCst)
    }
}

/// Two branches of a mirror, as `git-open-pr` needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchPair {
    pub source_head: String,
    /// The source head commit's full message.
    pub source_message: String,
    /// Whether the two branches' trees are the same (nothing to propose).
    pub same_tree: bool,
}

impl Mirrors {
    /// `source` against `target` in the mirror of `url` (brought up to date by the caller).
    /// Errors name the branch that does not exist.
    pub async fn branch_pair(&self, url: &str, source: &str, target: &str) -> Result<BranchPair, GitError> {
        crate::refs::check_ref_name("sourceBranch", source)?;
        crate::refs::check_ref_name("targetBranch", target)?;
        let path = self.path_of(url);
        let resolve = |branch: &str, what: &str| {
            let mut command = git(Some(&path), None);
            command.args([
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &format!("refs/heads/{branch}^{what}"),
            ]);
            command
        };
        let exists = |branch: &str, field: &str| GitError {
            operation: "check".into(),
            message: format!("{field} branch {branch:?} does not exist in {}", crate::redact::redact(url)),
        };
        let source_head = run(resolve(source, "{commit}"), "rev-parse").await.map_err(|_| exists(source, "source"))?;
        let target_tree = run(resolve(target, "{tree}"), "rev-parse").await.map_err(|_| exists(target, "target"))?;
        let source_tree = run(resolve(source, "{tree}"), "rev-parse").await?;
        let mut message = git(Some(&path), None);
        message.args(["log", "-1", "--format=%B", "--end-of-options", source_head.trim()]);
        Ok(BranchPair {
            source_head: source_head.trim().to_owned(),
            source_message: run(message, "log").await?.trim_end().to_owned(),
            same_tree: source_tree.trim() == target_tree.trim(),
        })
    }
}

/// The remote's refs (`git ls-remote`): whether it answers with these credentials.
pub async fn ls_remote(url: &str, credentials: Option<&Credentials>) -> Result<String, GitError> {
    crate::refs::check_remote(url)?;
    let mut command = git(None, credentials.map(|c| (c, url)));
    command.args(["ls-remote", "--", url]);
    run(command, "ls-remote").await
}

/// Whether pushes to `url` would be accepted as far as authentication goes: a dry-run delete of
/// a branch that does not exist, from an empty repository, reaches the remote's receive-pack.
pub async fn probe_push(
    url: &str,
    credentials: Option<&Credentials>,
    scratch: &std::path::Path,
) -> Result<(), GitError> {
    crate::refs::check_remote(url)?;
    let mut init = git(None, None);
    init.args(["init", "--quiet"]).arg(scratch);
    run(init, "init").await?;
    let mut push = git(Some(scratch), credentials.map(|c| (c, url)));
    push.args(["push", "--dry-run", "--quiet", "--", url, ":refs/heads/convoy-doctor-probe"]);
    run(push, "push --dry-run").await.map(|_| ())
}
