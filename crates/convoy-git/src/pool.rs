//! Warm work trees: a few per repository, kept between promotions.
//!
//! Checking out a large repository into a new directory costs far more than bringing an
//! existing checkout to another commit (new inodes and directory blocks versus rewriting only
//! what differs). A promotion that succeeded hands its trees back ([`return_trees`]); the next
//! promotion of the repository takes one (a `rename`, so two takers never get the same tree)
//! and [`WorkTree::make_fresh`] brings it to what a fresh clone of the mirror would be: the same
//! config, remotes, refs and HEAD, no other branches, no stash, no operation in progress, no
//! sparse checkout, and after the checkout no untracked or ignored file; `git status` must then
//! be clean, or the tree is thrown away and cloned afresh.
//!
//! A pooled tree carries two files in its `.git` (which no step may read or write): the pool it
//! belongs to, and the config it had when it was cloned.

use std::path::{Path, PathBuf};

use crate::command::{GitError, git_local, run};
use crate::mirror::Mirrors;
use crate::worktree::WorkTree;

/// Trees kept per repository: enough for a few Stages promoting into it at once.
const SLOTS: usize = 4;
/// In a pooled tree's `.git`: the pool directory it returns to.
const POOL_MARKER: &str = "convoy-pool";
/// In a pooled tree's `.git`: the config right after its clone.
const PRISTINE_CONFIG: &str = "convoy-pristine-config";
/// How deep below a promotion's work dir trees are looked for on return.
const RETURN_DEPTH: usize = 4;

impl Mirrors {
    /// The pool of trees of the mirror at `mirror` that `owner` (a project) may reuse. Owners
    /// never share trees: a tree may hold objects of its last promotion that were never pushed.
    fn pool_of(&self, mirror: &Path, owner: &str) -> PathBuf {
        use sha1::{Digest, Sha1};
        let name = mirror.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let owner: String = Sha1::digest(owner.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
        self.root().join("trees").join(name).join(owner)
    }

    /// Moves a pooled tree of `mirror` owned by `owner` to `dest`; false when none is free.
    pub(crate) fn take_pooled(&self, mirror: &Path, owner: &str, dest: &Path) -> bool {
        let pool = self.pool_of(mirror, owner);
        (0..SLOTS).any(|slot| std::fs::rename(pool.join(slot.to_string()), dest).is_ok())
    }

    /// Marks a newly cloned tree at `dest` as one that may return to `owner`'s pool of `mirror`.
    pub(crate) fn adopt(&self, mirror: &Path, owner: &str, dest: &Path) -> std::io::Result<()> {
        let git_dir = dest.join(".git");
        std::fs::write(git_dir.join(POOL_MARKER), self.pool_of(mirror, owner).to_string_lossy().as_bytes())?;
        std::fs::copy(git_dir.join("config"), git_dir.join(PRISTINE_CONFIG)).map(|_| ())
    }
}

impl WorkTree {
    /// Brings a tree taken from the pool to what a fresh clone of `mirror` would be, on the
    /// mirror's default branch and ready for [`WorkTree::checkout`], in three git processes:
    /// the working tree is left for that checkout to rewrite (only what differs).
    pub(crate) async fn make_fresh(&self, mirror: &Path) -> Result<(), GitError> {
        let git_dir = self.dir.join(".git");
        let fail =
            |what: &str, e: std::io::Error| GitError { operation: "reuse".into(), message: format!("{what}: {e}") };
        // Leave sparse mode while its config is still there, so every file comes back.
        if git_dir.join("info/sparse-checkout").exists() {
            self.git(&["sparse-checkout", "disable"], "sparse-checkout").await?;
        }
        for leftover in [
            "rebase-merge",
            "rebase-apply",
            "sequencer",
            "logs",
            "MERGE_HEAD",
            "MERGE_MSG",
            "CHERRY_PICK_HEAD",
            "REVERT_HEAD",
            "ORIG_HEAD",
            "FETCH_HEAD",
            "BISECT_LOG",
            "index.lock",
            "info/sparse-checkout",
        ] {
            let path = git_dir.join(leftover);
            let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            if let Err(e) = removed
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(fail(leftover, e));
            }
        }
        std::fs::copy(git_dir.join(PRISTINE_CONFIG), git_dir.join("config")).map_err(|e| fail("config", e))?;
        // The mirror's branches and tags, as a clone maps them; objects are shared already.
        let mut fetch = git_local(Some(&self.dir));
        fetch
            .args(["fetch", "--quiet", "--prune", "--force", "--no-tags", "--end-of-options"])
            .arg(mirror)
            .args(["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]);
        run(fetch, "fetch").await?;
        let head = std::fs::read_to_string(mirror.join("HEAD")).map_err(|e| fail("the mirror's HEAD", e))?;
        let default = head.trim().strip_prefix("ref: refs/heads/").unwrap_or("main").to_owned();
        crate::refs::check_ref_name("branch", &default)?;
        // No local branch or stash but the default branch, where a clone puts it; HEAD and
        // origin/HEAD name it, as a clone's do (symbolic refs are plain files).
        let branches =
            self.git(&["for-each-ref", "--format=%(refname)", "refs/heads", "refs/stash"], "for-each-ref").await?;
        let local_default = format!("refs/heads/{default}");
        let remote_default = format!("refs/remotes/origin/{default}");
        let mut transaction: String = branches
            .lines()
            .filter(|r| !r.is_empty() && *r != local_default)
            .map(|r| format!("delete {r}\n"))
            .collect();
        transaction.push_str(&format!("update {local_default} {remote_default}\n"));
        self.update_refs(&transaction).await?;
        std::fs::write(git_dir.join("HEAD"), format!("ref: {local_default}\n")).map_err(|e| fail("HEAD", e))?;
        let origin_head = git_dir.join("refs/remotes/origin/HEAD");
        std::fs::write(&origin_head, format!("ref: {remote_default}\n")).map_err(|e| fail("origin/HEAD", e))?;
        Ok(())
    }

    /// One `git update-ref --stdin` transaction.
    async fn update_refs(&self, transaction: &str) -> Result<(), GitError> {
        use tokio::io::AsyncWriteExt;
        let mut command = git_local(Some(&self.dir));
        command.args(["update-ref", "--stdin"]).stdin(std::process::Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| GitError { operation: "update-ref".into(), message: format!("cannot run git: {e}") })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(transaction.as_bytes())
                .await
                .map_err(|e| GitError { operation: "update-ref".into(), message: e.to_string() })?;
        }
        let output = child
            .wait_with_output()
            .await
            .map_err(|e| GitError { operation: "update-ref".into(), message: e.to_string() })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(GitError {
                operation: "update-ref".into(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }

    /// After the checkout: nothing untracked or ignored, and `git status` clean, as in a fresh
    /// clone; an error means the tree must not be used.
    pub(crate) async fn verify_fresh(&self) -> Result<(), GitError> {
        self.git(&["clean", "-ffdxq"], "clean").await?;
        let status = self.git(&["status", "--porcelain", "--ignored", "--untracked-files=all"], "status").await?;
        if status.is_empty() {
            Ok(())
        } else {
            Err(GitError { operation: "reuse".into(), message: format!("the reused tree is not clean: {status}") })
        }
    }
}

/// Hands the pooled trees under `work_dir` (a finished promotion's) back to their pools; a tree
/// with no free slot is deleted. Call only when the promotion succeeded: a failed one may have
/// left state that is cheaper to throw away than to inspect.
pub fn return_trees(work_dir: &Path) {
    fn visit(dir: &Path, depth: usize) {
        let marker = dir.join(".git").join(POOL_MARKER);
        if let Ok(pool) = std::fs::read_to_string(&marker) {
            let pool = PathBuf::from(pool.trim());
            let _ = std::fs::create_dir_all(&pool);
            let returned = (0..SLOTS).any(|slot| {
                let target = pool.join(slot.to_string());
                !target.exists() && std::fs::rename(dir, &target).is_ok()
            });
            if !returned {
                let _ = std::fs::remove_dir_all(dir);
            }
            return;
        }
        if depth == 0 {
            return;
        }
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            // Never into links: a step may have made one (inside the work dir) to anything.
            if entry.file_type().is_ok_and(|t| t.is_dir()) && entry.file_name() != ".git" {
                visit(&entry.path(), depth - 1);
            }
        }
    }
    visit(work_dir, RETURN_DEPTH);
}
