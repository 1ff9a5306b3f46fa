//! What may reach git as a ref name, a commit id or a remote URL.
//!
//! Step values (branches, tags, commits, repoURLs) come from whoever writes a Stage. A value
//! such as `--upload-pack=touch /tmp/x` given where git expects a ref is read as an option and
//! runs a command on `file://` and ssh remotes. Every value is checked here before git sees it,
//! by git's own rules (`git check-ref-format`), and is then passed after `--end-of-options`.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::command::GitError;

static FILE_REMOTES_ALLOWED: AtomicBool = AtomicBool::new(false);

/// Allows `file://` URLs and local paths as remotes, process-wide (`convoy server
/// --allow-file-remotes`). Off by default: with it, any Stage could read or push any repository
/// on the host, other projects' mirrors included.
pub fn allow_file_remotes(allow: bool) {
    FILE_REMOTES_ALLOWED.store(allow, Ordering::SeqCst);
}

pub(crate) fn file_remotes_allowed() -> bool {
    FILE_REMOTES_ALLOWED.load(Ordering::SeqCst)
}

fn invalid(what: &str, value: &str, why: &str) -> GitError {
    GitError { operation: "check".into(), message: format!("{what} {value:?} is not valid: {why}") }
}

/// A branch or tag name by `git check-ref-format --allow-onelevel`, and not an option.
pub fn check_ref_name(what: &str, name: &str) -> Result<(), GitError> {
    let fail = |why: &str| Err(invalid(what, name, why));
    if name.is_empty() {
        return fail("it is empty");
    }
    if name.starts_with('-') {
        return fail("it may not start with '-'");
    }
    if name == "@" {
        return fail("it may not be '@'");
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return fail("it may not start or end with '/' or contain '//'");
    }
    if name.ends_with('.') || name.contains("..") || name.contains("@{") {
        return fail("it may not end with '.' or contain '..' or '@{'");
    }
    if let Some(c) = name.chars().find(|c| c.is_ascii_control() || " ~^:?*[\\".contains(*c)) {
        return fail(&format!("it may not contain {c:?}"));
    }
    if name.split('/').any(|part| part.starts_with('.') || part.ends_with(".lock")) {
        return fail("no part of it may start with '.' or end with '.lock'");
    }
    Ok(())
}

/// A commit id: 4 to 64 hexadecimal digits (abbreviated or full, SHA-1 or SHA-256).
pub fn check_commit(id: &str) -> Result<(), GitError> {
    if (4..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(invalid("commit", id, "a commit is named by 4 to 64 hexadecimal digits"))
    }
}

/// Whether git would read `url` as a path on this host (`file://`, `/srv/repo.git`, `../x`).
pub fn is_local(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("file:") {
        return true;
    }
    if url.contains("://") {
        return false;
    }
    // scp-like `host:path` is ssh, unless a '/' comes before the ':' (git's own rule).
    match (url.find(':'), url.find('/')) {
        (Some(colon), Some(slash)) => slash < colon,
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// A remote URL git may be given: not an option, not a transport helper (`ext::`, `fd::`),
/// and local only when file remotes are allowed.
pub fn check_remote(url: &str) -> Result<(), GitError> {
    let fail = |why: String| Err(GitError { operation: "check".into(), message: why });
    let shown = crate::redact(url);
    if url.is_empty() || url.starts_with('-') || url.chars().any(|c| c.is_ascii_control()) {
        return fail(format!("repository URL {shown:?} is not a URL"));
    }
    let scheme_end = url.find("://").unwrap_or(usize::MAX);
    if url.find("::").is_some_and(|i| i < scheme_end) {
        return fail(format!(
            "repository URL {shown:?} names a git transport helper; use https://, http://, ssh:// or git@host:path"
        ));
    }
    if is_local(url) && !file_remotes_allowed() {
        return fail(format!(
            "repository URL {shown:?} is on this host; local repositories are remotes only when the server \
             runs with --allow-file-remotes (use an https:// or ssh URL)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_names_as_git_check_ref_format() {
        for ok in ["main", "env/dev", "release-1.2", "feature/x_y", "v1.0.0", "a.b"] {
            assert!(check_ref_name("branch", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x",
            "--upload-pack=touch /tmp/x",
            "@",
            "a..b",
            "a/.b",
            "x.lock",
            "a b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "/a",
            "a/",
            "a//b",
            "a.",
            "a@{1}",
            "a\nb",
        ] {
            assert!(check_ref_name("branch", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn commits_are_hex() {
        assert!(check_commit("0123abcd").is_ok());
        assert!(check_commit(&"a".repeat(40)).is_ok());
        assert!(check_commit("--output=/tmp/x").is_err());
        assert!(check_commit("HEAD").is_err());
        assert!(check_commit("abc").is_err());
    }

    #[test]
    fn local_urls() {
        for local in ["file:///srv/x.git", "FILE:///x", "/srv/x.git", "./x", "x", "../a:b"] {
            assert!(is_local(local), "{local}");
        }
        for remote in ["https://h/x.git", "ssh://git@h/x", "git@github.com:o/r.git", "http://h:8080/x"] {
            assert!(!is_local(remote), "{remote}");
        }
        for bad in ["ext::sh -c touch% /tmp/x", "fd::3", "--upload-pack=x", "https://h/x\n"] {
            assert!(check_remote(bad).is_err(), "{bad}");
        }
    }
}
