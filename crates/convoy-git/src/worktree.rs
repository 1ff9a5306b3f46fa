//! A work tree of one promotion: check out, commit, push.

use std::path::PathBuf;

use crate::command::{Credentials, GitError, Signature, git, run};
use crate::mirror::Mirrors;

/// What to check out (Kargo's git-clone `checkout[]` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// The remote's default branch.
    Default,
    /// A branch; with `create`, an empty new branch when the remote has none.
    Branch {
        name: String,
        create: bool,
    },
    Commit(String),
    Tag(String),
}

#[derive(Debug, Clone)]
pub struct WorkTree {
    pub dir: PathBuf,
    pub url: String,
    pub(crate) credentials: Option<Credentials>,
}

/// Where a push landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    pub branch: String,
    pub commit: String,
    /// How many pushes it took (more than one when other pushes landed first).
    pub attempts: u32,
}

impl WorkTree {
    /// A work tree made earlier (by a git-clone step), found by its directory.
    pub async fn open(dir: &std::path::Path, credentials: Option<Credentials>) -> Result<WorkTree, GitError> {
        if !dir.join(".git").exists() {
            return Err(GitError {
                operation: "open".into(),
                message: format!("{} is not a git work tree; clone it first with git-clone", dir.display()),
            });
        }
        let mut command = git(Some(dir), None);
        command.args(["remote", "get-url", "origin"]);
        let url = run(command, "remote get-url").await?;
        Ok(WorkTree { dir: dir.to_owned(), url, credentials })
    }

    pub(crate) async fn git(&self, args: &[&str], operation: &str) -> Result<String, GitError> {
        let mut command = git(Some(&self.dir), self.credentials.as_ref().map(|c| (c, self.url.as_str())));
        command.args(args);
        run(command, operation).await
    }

    pub(crate) async fn checkout(&self, checkout: &Checkout) -> Result<(), GitError> {
        match checkout {
            Checkout::Default => self.git(&["checkout", "--quiet", "--force"], "checkout").await.map(|_| ()),
            Checkout::Commit(id) => {
                crate::refs::check_commit(id)?;
                let target = format!("{id}^{{commit}}");
                self.git(&["checkout", "--quiet", "--force", "--detach", &target, "--"], "checkout").await.map(|_| ())
            }
            Checkout::Tag(tag) => {
                crate::refs::check_ref_name("tag", tag)?;
                let target = format!("refs/tags/{tag}");
                self.git(&["checkout", "--quiet", "--force", "--detach", &target, "--"], "checkout").await.map(|_| ())
            }
            Checkout::Branch { name, create } => {
                crate::refs::check_ref_name("branch", name)?;
                let remote = format!("refs/remotes/origin/{name}");
                if self.git(&["rev-parse", "--verify", "--quiet", &remote], "rev-parse").await.is_ok() {
                    return self
                        .git(&["checkout", "--quiet", "--force", "-B", name, &remote, "--"], "checkout")
                        .await
                        .map(|_| ());
                }
                if !create {
                    return Err(GitError {
                        operation: "checkout".into(),
                        message: format!(
                            "branch {name:?} does not exist in {}; set create: true to start it",
                            crate::redact(&self.url)
                        ),
                    });
                }
                self.git(&["checkout", "--quiet", "--orphan", name, "--"], "checkout").await?;
                // An orphan branch starts empty, as Kargo's created branches do.
                let _ = self.git(&["rm", "-r", "-f", "--quiet", "--ignore-unmatch", "."], "rm").await;
                Ok(())
            }
        }
    }

    pub async fn head(&self) -> Result<String, GitError> {
        self.git(&["rev-parse", "HEAD"], "rev-parse").await
    }

    /// Stages everything changed and returns what a commit would record, as a patch.
    pub async fn staged_diff(&self) -> Result<String, GitError> {
        self.git(&["add", "--all"], "add").await?;
        self.git(&["diff", "--cached", "--no-color"], "diff").await
    }

    /// Commits everything changed; with nothing to commit, returns the current commit.
    pub async fn commit(&self, message: &str, author: &Signature) -> Result<String, GitError> {
        self.git(&["add", "--all"], "add").await?;
        let changes = self.git(&["status", "--porcelain"], "status").await?;
        if changes.is_empty()
            && let Ok(head) = self.head().await
        {
            return Ok(head);
        }
        let name = format!("user.name={}", author.name);
        let email = format!("user.email={}", author.email);
        self.git(&["-c", &name, "-c", &email, "commit", "--quiet", "--allow-empty", "-m", message], "commit").await?;
        self.head().await
    }

    pub async fn current_branch(&self) -> Result<String, GitError> {
        self.git(&["symbolic-ref", "--short", "HEAD"], "symbolic-ref").await.map_err(|_| GitError {
            operation: "push".into(),
            message: "the work tree is not on a branch (a commit or tag was checked out); set targetBranch".into(),
        })
    }

    /// Pushes HEAD to `branch` (the current branch when `None`). Pushes to one branch are
    /// serialised; a rejected push fetches, rebases and tries again, up to `max_attempts`.
    pub async fn push(
        &self,
        mirrors: &Mirrors,
        branch: Option<&str>,
        force: bool,
        max_attempts: u32,
    ) -> Result<PushOutcome, GitError> {
        let branch = match branch {
            Some(b) => b.to_owned(),
            None => self.current_branch().await?,
        };
        crate::refs::check_ref_name("branch", &branch)?;
        let lock = mirrors.push_lock(&self.url, &branch);
        let _guard = lock.lock().await;
        let refspec = format!("HEAD:refs/heads/{branch}");
        let max_attempts = max_attempts.max(1);
        for attempt in 1..=max_attempts {
            let mut args = vec!["push", "--quiet", "--end-of-options", "origin", refspec.as_str()];
            if force {
                args.insert(1, "--force");
            }
            match self.git(&args, "push").await {
                Ok(_) => return Ok(PushOutcome { branch, commit: self.head().await?, attempts: attempt }),
                Err(e) if attempt < max_attempts && is_rejection(&e) => {
                    tracing::info!(branch = %branch, attempt, "push rejected; fetching and rebasing");
                    let fetched = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
                    self.git(&["fetch", "--quiet", "--end-of-options", "origin", &fetched], "fetch").await?;
                    let upstream = format!("refs/remotes/origin/{branch}");
                    let name = "user.name=Convoy".to_owned();
                    let email = "user.email=no-reply@convoy.invalid".to_owned();
                    if let Err(conflict) = self
                        .git(&["-c", &name, "-c", &email, "rebase", "--quiet", "--end-of-options", &upstream], "rebase")
                        .await
                    {
                        let _ = self.git(&["rebase", "--abort"], "rebase").await;
                        return Err(GitError {
                            operation: "push".into(),
                            message: format!(
                                "{branch} moved and this change does not rebase onto it: {}",
                                conflict.message
                            ),
                        });
                    }
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// An annotated tag on HEAD; returns the tagged commit.
    pub async fn tag(&self, name: &str, message: &str, force: bool, tagger: &Signature) -> Result<String, GitError> {
        let user = format!("user.name={}", tagger.name);
        let email = format!("user.email={}", tagger.email);
        crate::refs::check_ref_name("tag", name)?;
        let mut args = vec!["-c", &user, "-c", &email, "tag", "--annotate", "-m", message];
        if force {
            args.push("--force");
        }
        args.extend(["--end-of-options", name]);
        self.git(&args, "tag").await?;
        self.head().await
    }

    /// Pushes tag `name`; a tag already on the remote with the same target counts as pushed.
    pub async fn push_tag(&self, name: &str, force: bool) -> Result<String, GitError> {
        crate::refs::check_ref_name("tag", name)?;
        let local = self.git(&["rev-parse", &format!("refs/tags/{name}^{{commit}}")], "rev-parse").await?;
        let refname = format!("refs/tags/{name}");
        let remote = self
            .git(&["ls-remote", "--end-of-options", "origin", &format!("{refname}^{{}}"), &refname], "ls-remote")
            .await?;
        // For an annotated tag the peeled line (`^{}`) names the commit.
        let landed = remote.lines().filter_map(|l| l.split_whitespace().next()).any(|id| id == local);
        if !landed {
            let mut args = vec!["push", "--quiet", "--end-of-options", "origin", refname.as_str()];
            if force {
                args.insert(1, "--force");
            }
            self.git(&args, "push").await?;
        }
        Ok(local)
    }

    /// Limits the checked-out files to these directories (cone mode; files at the top level stay).
    pub async fn set_sparse(&self, directories: &[String]) -> Result<(), GitError> {
        let mut args = vec!["sparse-checkout", "set", "--cone", "--"];
        args.extend(directories.iter().map(String::as_str));
        self.git(&args, "sparse-checkout").await.map(|_| ())
    }

    /// Records the author for later commits in this work tree (git-clone's `author`).
    pub async fn set_author(&self, author: &Signature) -> Result<(), GitError> {
        self.git(&["config", "--local", "--end-of-options", "user.name", &author.name], "config").await?;
        self.git(&["config", "--local", "--end-of-options", "user.email", &author.email], "config").await.map(|_| ())
    }

    /// The author recorded by [`WorkTree::set_author`], if any.
    pub async fn configured_author(&self) -> Option<Signature> {
        let name = self.git(&["config", "--local", "--get", "user.name"], "config").await.ok()?;
        let email = self.git(&["config", "--local", "--get", "user.email"], "config").await.ok()?;
        Some(Signature { name, email })
    }

    /// Ships HEAD's objects to `refs/kargo/staging/<name>` (forced), a ref no branch list
    /// shows: `github-push` then builds the commits through GitHub's API from those trees.
    pub async fn push_staging(&self, name: &str) -> Result<String, GitError> {
        let reference = format!("refs/kargo/staging/{name}");
        crate::refs::check_ref_name("staging ref", &reference)?;
        let refspec = format!("HEAD:{reference}");
        self.git(&["push", "--quiet", "--force", "--end-of-options", "origin", &refspec], "push").await?;
        Ok(reference)
    }

    /// Brings the remote `branch` in and rebases HEAD onto it (other promotions' pushes).
    /// A rebase that does not apply cleanly is undone and reported.
    pub async fn rebase_onto_remote(&self, branch: &str) -> Result<(), GitError> {
        crate::refs::check_ref_name("branch", branch)?;
        let fetched = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
        self.git(&["fetch", "--quiet", "--end-of-options", "origin", &fetched], "fetch").await?;
        let upstream = format!("refs/remotes/origin/{branch}");
        let name = "user.name=Convoy".to_owned();
        let email = "user.email=no-reply@convoy.invalid".to_owned();
        if let Err(conflict) =
            self.git(&["-c", &name, "-c", &email, "rebase", "--quiet", "--end-of-options", &upstream], "rebase").await
        {
            let _ = self.git(&["rebase", "--abort"], "rebase").await;
            return Err(GitError {
                operation: "push".into(),
                message: format!("{branch} moved and this change does not rebase onto it: {}", conflict.message),
            });
        }
        Ok(())
    }

    /// Makes the local `branch` the remote's (after commits were made on the remote's side):
    /// fetched and checked out, HEAD the remote's head.
    pub async fn reset_to_remote(&self, branch: &str) -> Result<String, GitError> {
        crate::refs::check_ref_name("branch", branch)?;
        let fetched = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
        self.git(&["fetch", "--quiet", "--end-of-options", "origin", &fetched], "fetch").await?;
        let remote = format!("refs/remotes/origin/{branch}");
        self.git(&["checkout", "--quiet", "--force", "-B", branch, &remote, "--"], "checkout").await?;
        self.head().await
    }

    /// Whether `commit` is already on the remote `branch` (so a resumed push can be skipped).
    pub async fn remote_has(&self, branch: &str, commit: &str) -> Result<bool, GitError> {
        crate::refs::check_ref_name("branch", branch)?;
        crate::refs::check_commit(commit)?;
        let refs = self
            .git(&["ls-remote", "--end-of-options", "origin", &format!("refs/heads/{branch}")], "ls-remote")
            .await?;
        let Some(remote_head) = refs.split_whitespace().next() else { return Ok(false) };
        if remote_head == commit {
            return Ok(true);
        }
        let fetched = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
        self.git(&["fetch", "--quiet", "--end-of-options", "origin", &fetched], "fetch").await?;
        Ok(self
            .git(&["merge-base", "--is-ancestor", "--end-of-options", commit, remote_head], "merge-base")
            .await
            .is_ok())
    }
}

fn is_rejection(error: &GitError) -> bool {
    let m = &error.message;
    m.contains("rejected")
        || m.contains("non-fast-forward")
        || m.contains("fetch first")
        || m.contains("cannot lock ref")
}
