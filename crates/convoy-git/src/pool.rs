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
    /// The pool of trees of the mirror at `mirror`.
    fn pool_of(&self, mirror: &Path) -> PathBuf {
        let name = mirror.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        self.root().join("trees").join(name)
    }

    /// Moves a pooled tree of `mirror` to `dest`; false when none is free.
    pub(crate) fn take_pooled(&self, mirror: &Path, dest: &Path) -> bool {
        let pool = self.pool_of(mirror);
        (0..SLOTS).any(|slot| std::fs::rename(pool.join(slot.to_string()), dest).is_ok())
    }

    /// Marks a newly cloned tree at `dest` as one that may return to the pool of `mirror`.
    pub(crate) fn adopt(&self, mirror: &Path, dest: &Path) -> std::io::Result<()> {
        let git_dir = dest.join(".git");
        std::fs::write(git_dir.join(POOL_MARKER), self.pool_of(mirror).to_string_lossy().as_bytes())?;
        std::fs::copy(git_dir.join("config"), git_dir.join(PRISTINE_CONFIG)).map(|_| ())
    }
}

impl WorkTree {
    /// Brings a tree taken from the pool to what a fresh clone of `mirror` would be, on the
    /// mirror's default branch and ready for [`WorkTree::checkout`].
    pub(crate) async fn make_fresh(&self, mirror: &Path) -> Result<(), GitError> {
        let git_dir = self.dir.join(".git");
        let fail =
            |what: &str, e: std::io::Error| GitError { operation: "reuse".into(), message: format!("{what}: {e}") };
        // Leave sparse mode while its config is still there, so every file comes back.
        let _ = self.git(&["sparse-checkout", "disable"], "sparse-checkout").await;
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
        let mut head = git_local(Some(mirror));
        head.args(["symbolic-ref", "--short", "HEAD"]);
        let default = run(head, "symbolic-ref").await?;
        crate::refs::check_ref_name("branch", &default)?;
        // No local branch or stash but the default branch, where a clone puts it.
        let mut list = git_local(Some(&self.dir));
        list.args(["for-each-ref", "--format=%(refname)", "refs/heads", "refs/stash"]);
        let remote_default = format!("refs/remotes/origin/{default}");
        self.git(&["checkout", "--quiet", "--force", "--detach", &remote_default, "--"], "checkout").await?;
        for reference in run(list, "for-each-ref").await?.lines().filter(|l| !l.is_empty()) {
            self.git(&["update-ref", "-d", "--end-of-options", reference], "update-ref").await?;
        }
        let local_default = format!("refs/heads/{default}");
        self.git(&["update-ref", "--end-of-options", &local_default, &remote_default], "update-ref").await?;
        self.git(&["symbolic-ref", "HEAD", &local_default], "symbolic-ref").await?;
        self.git(&["symbolic-ref", "refs/remotes/origin/HEAD", &remote_default], "symbolic-ref").await?;
        Ok(())
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
