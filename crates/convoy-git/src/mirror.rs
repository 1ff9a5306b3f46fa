//! One bare mirror per repository, shared by every promotion (and, later, discovery).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sha1::{Digest, Sha1};

use crate::command::{Credentials, GitError, git, git_local, run};
use crate::worktree::{Checkout, WorkTree};

/// One work tree to make from a mirror (see [`Mirrors::work_trees`]).
pub struct TreeRequest<'a> {
    pub dest: &'a Path,
    pub checkout: &'a Checkout,
    /// Directories of a cone-mode sparse checkout; empty for the whole tree.
    pub sparse: &'a [String],
    /// Whose pooled trees it may reuse (the project): owners never share a tree.
    pub owner: &'a str,
}

/// Mirrors under one directory (`DATA_DIR/git`).
pub struct Mirrors {
    root: PathBuf,
    repo_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    push_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    fetches: AtomicUsize,
    /// When each mirror was last known to match its remote (see `Mirrors::refresh`).
    pub(crate) synced: Mutex<HashMap<PathBuf, std::time::Instant>>,
    /// When the remote last answered each mirror's users, by credential identity: a mirror
    /// filled with one project's credentials is served to another only after the remote
    /// accepted that project's own (see `Mirrors::refresh`).
    pub(crate) verified: Mutex<HashMap<(PathBuf, String), std::time::Instant>>,
    pub(crate) unchanged: AtomicUsize,
    reused: AtomicUsize,
}

impl Mirrors {
    pub fn new(root: impl Into<PathBuf>) -> Mirrors {
        Mirrors {
            root: root.into(),
            repo_locks: Mutex::default(),
            push_locks: Mutex::default(),
            fetches: AtomicUsize::new(0),
            synced: Mutex::default(),
            verified: Mutex::default(),
            unchanged: AtomicUsize::new(0),
            reused: AtomicUsize::new(0),
        }
    }

    /// How many clones and fetches have reached remotes (for tests and metrics).
    pub fn fetch_count(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn lock(map: &Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(key.to_owned()).or_default().clone()
    }

    pub(crate) fn repo_lock(&self, path: &Path) -> Arc<tokio::sync::Mutex<()>> {
        Self::lock(&self.repo_locks, &path.display().to_string())
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Where the mirror of `url` lives: named by the hash of the normalised URL.
    pub fn path_of(&self, url: &str) -> PathBuf {
        let normalized = convoy_api::urls::normalize_git(url);
        let hash: String = Sha1::digest(normalized.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        self.root.join(format!("{hash}.git"))
    }

    /// Brings the mirror of `url` up to date: a mirror clone the first time, then an
    /// incremental fetch. One sync per repository at a time.
    pub async fn sync(&self, url: &str, credentials: Option<&Credentials>) -> Result<PathBuf, GitError> {
        crate::refs::check_remote(url)?;
        let path = self.path_of(url);
        let lock = self.repo_lock(&path);
        let _guard = lock.lock().await;
        self.fetch_or_clone(&path, url, credentials).await?;
        Ok(path)
    }

    /// Fetches into the mirror at `path`, or makes it; the caller holds the repository's lock.
    pub(crate) async fn fetch_or_clone(
        &self,
        path: &Path,
        url: &str,
        credentials: Option<&Credentials>,
    ) -> Result<(), GitError> {
        if path.join("HEAD").exists() {
            let mut fetch = git(Some(path), credentials.map(|c| (c, url)));
            fetch.args(["fetch", "--prune", "--quiet", "origin"]);
            run(fetch, "fetch").await?;
        } else {
            std::fs::create_dir_all(&self.root)
                .map_err(|e| GitError { operation: "clone".into(), message: e.to_string() })?;
            let partial = path.with_extension("partial");
            let _ = std::fs::remove_dir_all(&partial);
            let mut clone = git(None, credentials.map(|c| (c, url)));
            clone.args(["clone", "--mirror", "--quiet", "--", url]).arg(&partial);
            run(clone, "clone").await?;
            // Only a complete mirror takes the final name: a crash mid-clone leaves no half mirror.
            std::fs::rename(&partial, path)
                .map_err(|e| GitError { operation: "clone".into(), message: e.to_string() })?;
        }
        self.fetches.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// A work tree of `url` at `dest`, made from the mirror brought up to date; `origin` points
    /// at the real remote so pushes go there.
    pub async fn work_tree(
        &self,
        url: &str,
        credentials: Option<&Credentials>,
        dest: &Path,
        checkout: &Checkout,
    ) -> Result<WorkTree, GitError> {
        let request = TreeRequest { dest, checkout, sparse: &[], owner: "" };
        let mut trees = self.work_trees(url, credentials, std::slice::from_ref(&request)).await?;
        Ok(trees.remove(0))
    }

    /// Several work trees of one repository (a git-clone step's `checkout` list) for the cost
    /// of one look at the remote: `ls-remote`, and a fetch only when its refs moved. A sparse
    /// tree is limited before its files are checked out, so only the cone is written.
    pub async fn work_trees(
        &self,
        url: &str,
        credentials: Option<&Credentials>,
        requests: &[TreeRequest<'_>],
    ) -> Result<Vec<WorkTree>, GitError> {
        let mirror = self.refresh(url, credentials, std::time::Duration::ZERO).await?;
        let mut trees = Vec::with_capacity(requests.len());
        for request in requests {
            let tree =
                WorkTree { dir: request.dest.to_owned(), url: url.to_owned(), credentials: credentials.cloned() };
            if self.take_pooled(&mirror, request.owner, request.dest) {
                match self.prepare_reused(&tree, &mirror, request).await {
                    Ok(()) => {
                        self.reused.fetch_add(1, Ordering::SeqCst);
                        trees.push(tree);
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(dir = %request.dest.display(), error = %e, "a pooled work tree could not be reused; cloning afresh");
                        std::fs::remove_dir_all(request.dest)
                            .map_err(|e| GitError { operation: "reuse".into(), message: e.to_string() })?;
                    }
                }
            }
            let mut clone = git_local(None);
            clone.args(["clone", "--shared", "--no-checkout", "--quiet", "--"]).arg(&mirror).arg(request.dest);
            run(clone, "clone").await?;
            let mut set_url = git_local(Some(request.dest));
            set_url.args(["remote", "set-url", "--", "origin", url]);
            run(set_url, "remote set-url").await?;
            if let Err(e) = self.adopt(&mirror, request.owner, request.dest) {
                tracing::warn!(dir = %request.dest.display(), error = %e, "this work tree will not be pooled");
            }
            if !request.sparse.is_empty() {
                tree.set_sparse(request.sparse).await?;
            }
            tree.checkout(request.checkout).await?;
            trees.push(tree);
        }
        Ok(trees)
    }

    /// A tree taken from the pool, made like a fresh clone and checked out as `request` asks.
    async fn prepare_reused(&self, tree: &WorkTree, mirror: &Path, request: &TreeRequest<'_>) -> Result<(), GitError> {
        tree.make_fresh(mirror).await?;
        let mut set_url = git_local(Some(request.dest));
        set_url.args(["remote", "set-url", "--", "origin", &tree.url]);
        run(set_url, "remote set-url").await?;
        if !request.sparse.is_empty() {
            tree.set_sparse(request.sparse).await?;
        }
        tree.checkout(request.checkout).await?;
        tree.verify_fresh().await
    }

    /// How many work trees were taken from the pool instead of cloned (for tests and metrics).
    pub fn reused_count(&self) -> usize {
        self.reused.load(Ordering::SeqCst)
    }

    /// Serialises pushes to one branch of one repository (across promotions in this process).
    pub(crate) fn push_lock(&self, url: &str, branch: &str) -> Arc<tokio::sync::Mutex<()>> {
        Self::lock(&self.push_locks, &format!("{}#{branch}", convoy_api::urls::normalize_git(url)))
    }
}
