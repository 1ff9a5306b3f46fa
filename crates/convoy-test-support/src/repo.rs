//! Git repositories built from a short script, served as `file://` bare repositories:
//!
//! ```text
//! write env/dev/app.yaml: image: 1.0.0\n      (\n in the text is a newline)
//! commit first                                  (adds everything, commits, pushes)
//! tag v1.0.0                                    (tags HEAD, pushes the tag)
//! branch release                                (creates and switches to it)
//! switch main
//! ```
//!
//! Commits have a fixed author and date, so their ids are the same on every run.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A bare repository (`bare`, what Convoy reads) and the clone the script works in.
#[derive(Debug)]
pub struct Repo {
    pub bare: PathBuf,
    work: PathBuf,
}

impl Repo {
    /// Makes `DIR/NAME.git` (branch `main`) and runs `script` in a clone of it.
    pub fn build(dir: &Path, name: &str, script: &str) -> Repo {
        let bare = dir.join(format!("{name}.git"));
        let work = dir.join(format!("{name}.work"));
        git(dir, &["init", "--quiet", "--bare", "-b", "main", path(&bare)]);
        git(dir, &["clone", "--quiet", path(&bare), path(&work)]);
        git(&work, &["checkout", "--quiet", "-b", "main"]);
        let repo = Repo { bare, work };
        repo.run(script);
        repo
    }

    /// Runs more of the script (see the module documentation).
    pub fn run(&self, script: &str) {
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
            match verb {
                "write" => {
                    let (file, text) = rest.split_once(": ").unwrap_or((rest.trim_end_matches(':'), ""));
                    let target = self.work.join(file);
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent).expect("create directories");
                    }
                    std::fs::write(&target, text.replace("\\n", "\n")).expect("write file");
                }
                "commit" => {
                    git(&self.work, &["add", "--all"]);
                    git(&self.work, &["commit", "--quiet", "--allow-empty", "-m", rest]);
                    let branch = git(&self.work, &["rev-parse", "--abbrev-ref", "HEAD"]);
                    git(&self.work, &["push", "--quiet", "origin", &branch]);
                }
                "tag" => {
                    git(&self.work, &["tag", rest]);
                    git(&self.work, &["push", "--quiet", "origin", rest]);
                }
                "branch" => {
                    git(&self.work, &["checkout", "--quiet", "-b", rest]);
                }
                "switch" => {
                    git(&self.work, &["checkout", "--quiet", rest]);
                }
                other => panic!("unknown repo script verb {other:?} in {line:?}"),
            }
        }
    }

    /// The `file://` URL of the bare repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// The commit id `rev` (a branch, tag or `HEAD`) names.
    pub fn id(&self, rev: &str) -> String {
        git(&self.work, &["rev-parse", rev])
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Runs git with a fixed identity and date, and without the user's or system's configuration.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env("GIT_AUTHOR_DATE", "2024-05-01T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-05-01T12:00:00Z")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_builds_branches_tags_and_the_same_ids_every_time() {
        let script = "write a.txt: one\\ntwo\ncommit first\ntag v1.0.0\nbranch release\nwrite b.txt: b\ncommit second\nswitch main";
        let dir = tempfile_dir();
        let repo = Repo::build(&dir, "r", script);
        // Read back from the bare repository, independently of the script's clone.
        let show = |rev: &str| git(&repo.bare, &["show", rev]);
        assert_eq!(show("main:a.txt"), "one\ntwo");
        assert_eq!(git(&repo.bare, &["rev-parse", "v1.0.0^{commit}"]), git(&repo.bare, &["rev-parse", "main"]));
        assert_eq!(show("release:b.txt"), "b");
        assert_eq!(git(&repo.bare, &["rev-list", "--count", "release"]), "2");
        let again = Repo::build(&dir.join("again"), "r", script);
        assert_eq!(again.id("release"), repo.id("release"), "fixed author and dates: same ids");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("convoy-test-support-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("again")).unwrap();
        dir
    }
}
