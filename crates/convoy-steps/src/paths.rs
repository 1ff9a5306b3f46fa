//! Step paths: relative to the promotion's work dir, never leaving it, never into `.git`.
//!
//! Neither the step's values nor the repositories it checks out are trusted. A Stage may name
//! `./out/.git/config` (and so make the next `git add` run a command through `core.fsmonitor`),
//! and a repository may hold a link `x -> /proc/self/environ`. Every path a step opens comes
//! from here: components are walked one by one, links are followed only while they stay
//! inside the work dir (at most [`MAX_LINKS`] of them), and no component may be `.git`.
//! Steps run one at a time per work dir and nothing else writes there, so a path resolved here
//! still means the same file when the step opens it.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use convoy_engine::StepError;

/// Links followed in one path before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;

/// Whether a file name is git's directory (`.GIT` too: some filesystems ignore case).
pub(crate) fn is_git_dir(name: &OsStr) -> bool {
    name.eq_ignore_ascii_case(".git")
}

/// `relative` (a step's value) as a path inside `work_dir`, every link in it followed.
pub(crate) fn resolve(work_dir: &Path, relative: &str) -> Result<PathBuf, StepError> {
    if Path::new(relative).is_absolute() {
        return Err(outside(relative));
    }
    walk(work_dir, relative, Path::new(relative), true)
}

/// Like [`resolve`], but the last component is not followed when it is a link: what `delete`
/// removes is the link itself.
pub(crate) fn resolve_leaf(work_dir: &Path, relative: &str) -> Result<PathBuf, StepError> {
    if Path::new(relative).is_absolute() {
        return Err(outside(relative));
    }
    walk(work_dir, relative, Path::new(relative), false)
}

/// A path built by joining onto one [`resolve`] returned (`dir/Chart.yaml`), checked again.
pub(crate) fn within(work_dir: &Path, path: &Path) -> Result<PathBuf, StepError> {
    let root = root_of(work_dir);
    let relative = path
        .strip_prefix(&root)
        .or_else(|_| path.strip_prefix(work_dir))
        .map_err(|_| StepError::terminal(format!("{} is outside the promotion's working directory", path.display())))?;
    walk(work_dir, &relative.to_string_lossy(), relative, true)
}

fn root_of(work_dir: &Path) -> PathBuf {
    std::fs::canonicalize(work_dir).unwrap_or_else(|_| work_dir.to_owned())
}

fn outside(relative: &str) -> StepError {
    StepError::terminal(format!(
        "path {relative:?} must be relative to the promotion's working directory and stay inside it"
    ))
}

fn walk(work_dir: &Path, shown: &str, relative: &Path, follow_leaf: bool) -> Result<PathBuf, StepError> {
    let root = root_of(work_dir);
    let mut out = root.clone();
    let mut pending: VecDeque<OsString> = parts(relative).ok_or_else(|| outside(shown))?;
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            if out == root {
                return Err(outside(shown));
            }
            out.pop();
            continue;
        }
        if is_git_dir(&part) {
            return Err(StepError::terminal(format!(
                "path {shown:?} reaches into a .git directory; steps may not change git's own files \
                 (use the git-* steps)"
            )));
        }
        let candidate = out.join(&part);
        let is_leaf = pending.is_empty();
        let is_link = std::fs::symlink_metadata(&candidate).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link || (is_leaf && !follow_leaf) {
            out = candidate;
            continue;
        }
        links += 1;
        let target = std::fs::read_link(&candidate).map_err(|e| StepError::terminal(format!("{shown}: {e}")))?;
        let escapes = || {
            StepError::terminal(format!(
                "{shown:?}: {} is a symbolic link to {}, outside the promotion's working directory; \
                 Convoy does not follow it (remove the link from the repository or point it inside)",
                candidate.strip_prefix(&root).unwrap_or(&candidate).display(),
                target.display()
            ))
        };
        if links > MAX_LINKS {
            return Err(StepError::terminal(format!("{shown:?}: too many levels of symbolic links")));
        }
        let target_parts = if target.is_absolute() {
            out = root.clone();
            target.strip_prefix(&root).ok().and_then(parts).ok_or_else(escapes)?
        } else {
            parts(&target).ok_or_else(escapes)?
        };
        // A relative target climbs from the link's directory; it may not climb above the root.
        let mut depth = out.strip_prefix(&root).map(|p| p.components().count()).unwrap_or(0);
        for p in &target_parts {
            if p == ".." {
                depth = depth.checked_sub(1).ok_or_else(escapes)?;
            } else {
                depth += 1;
            }
        }
        for p in target_parts.into_iter().rev() {
            pending.push_front(p);
        }
    }
    Ok(out)
}

/// The components of a relative path; `None` for an absolute one.
fn parts(path: &Path) -> Option<VecDeque<OsString>> {
    let mut out = VecDeque::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => out.push_back(OsString::from("..")),
            Component::Normal(part) => out.push_back(part.to_owned()),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn stays_inside() {
        let base = Path::new("/nonexistent/work/p");
        assert_eq!(resolve(base, "./out/a.yaml").unwrap(), Path::new("/nonexistent/work/p/out/a.yaml"));
        assert_eq!(resolve(base, "out/../src").unwrap(), Path::new("/nonexistent/work/p/src"));
        assert!(resolve(base, "../escape").is_err());
        assert!(resolve(base, "out/../../escape").is_err());
        assert!(resolve(base, "/etc/passwd").is_err());
    }

    #[test]
    fn refuses_git_directories() {
        let base = Path::new("/nonexistent/work/p");
        for path in ["./out/.git/config", "out/.GIT/hooks/x", ".git", "a/../.git/config"] {
            let error = resolve(base, path).unwrap_err().to_string();
            assert!(error.contains(".git directory"), "{path}: {error}");
        }
        assert!(resolve(base, "out/.gitignore").is_ok());
        assert!(resolve(base, "out/.github/workflows/x.yaml").is_ok());
    }

    #[test]
    fn follows_links_only_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("base")).unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        symlink("../base", root.join("src/inside")).unwrap();
        symlink("/etc", root.join("src/abs-out")).unwrap();
        symlink("../../..", root.join("src/up")).unwrap();
        symlink(root.join("base"), root.join("src/abs-in")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        symlink("../out/.git", root.join("src/to-git")).unwrap();

        assert_eq!(resolve(&root, "src/inside/a.yaml").unwrap(), root.join("base/a.yaml"));
        assert_eq!(resolve(&root, "src/abs-in/a.yaml").unwrap(), root.join("base/a.yaml"));
        assert!(resolve(&root, "src/abs-out/hostname").is_err());
        assert!(resolve(&root, "src/up/etc/hostname").is_err());
        assert!(resolve(&root, "loop/x").is_err());
        assert!(resolve(&root, "src/to-git/config").is_err());
        // The link itself, not its target, for delete.
        assert_eq!(resolve_leaf(&root, "src/abs-out").unwrap(), root.join("src/abs-out"));
        assert!(resolve(&root, "src/abs-out").is_err());
        assert!(within(&root, &root.join("src/abs-out/passwd")).is_err());
        assert_eq!(within(&root, &root.join("src/inside/x")).unwrap(), root.join("base/x"));
    }
}
