//! Running git: a scrubbed environment, credentials per call, errors with redacted text.

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

use crate::redact;

/// Username and password (or token) for one repository. Never logged.
#[derive(Clone, Default)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"***").finish()
    }
}

impl Credentials {
    /// Who these credentials speak for, as a key: a hash, never the secret itself.
    pub(crate) fn identity(credentials: Option<&Credentials>) -> String {
        use sha1::{Digest, Sha1};
        credentials.map_or_else(String::new, |c| {
            let digest = Sha1::new().chain_update(&c.username).chain_update([0]).chain_update(&c.password).finalize();
            digest.iter().map(|b| format!("{b:02x}")).collect()
        })
    }
}

/// The author and committer of commits.
#[derive(Debug, Clone)]
pub struct Signature {
    pub name: String,
    pub email: String,
}

impl Default for Signature {
    fn default() -> Self {
        Signature { name: "Convoy".into(), email: "no-reply@convoy.invalid".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("git {operation} failed: {message}")]
pub struct GitError {
    pub operation: String,
    /// git's own words, with credentials redacted.
    pub message: String,
}

impl GitError {
    /// What most likely fixes it, read from git's own words: the network, the credentials, the
    /// URL, or the server's policy; `None` when git's words do not say.
    pub fn likely_fix(&self) -> Option<&'static str> {
        let m = self.message.to_ascii_lowercase();
        let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
        if any(&["could not resolve host", "name or service not known", "temporary failure in name resolution"]) {
            Some("the host name does not resolve: check the URL's host and the Convoy server's DNS")
        } else if any(&[
            "connection refused",
            "failed to connect",
            "timed out",
            "network is unreachable",
            "no route to host",
        ]) {
            Some(
                "nothing answers at that address: check the URL and that the Convoy server can reach it (proxy, firewall)",
            )
        } else if any(&["--allow-file-remotes"]) {
            Some("use a network URL, or start the server with --allow-file-remotes (trials only)")
        } else if any(&[
            "could not read username",
            "authentication failed",
            "403",
            "401",
            "permission denied",
            "access denied",
            "not authorized",
        ]) {
            Some(
                "the remote refused the credentials: add or fix a Secret labelled kargo.akuity.io/cred-type: git whose repoURL matches, with access to this repository",
            )
        } else if any(&["not found", "does not appear to be a git repository", "does not exist"]) {
            Some("no repository at that URL: check the repoURL")
        } else {
            None
        }
    }
}

/// A git command with nothing inherited that could change its behaviour: no `GIT_*` variables,
/// no global or system config, no hooks, no fsmonitor, and only network transports (plus
/// local ones when [`crate::allow_file_remotes`] said so). With `access`, the credentials are
/// offered only to the URL's own scheme and host.
pub(crate) fn git(dir: Option<&Path>, access: Option<(&Credentials, &str)>) -> Command {
    git_with(dir, access, crate::refs::file_remotes_allowed())
}

/// [`git`] for Convoy's own local operations (a work tree cloned from its mirror).
pub(crate) fn git_local(dir: Option<&Path>) -> Command {
    git_with(dir, None, true)
}

fn git_with(dir: Option<&Path>, access: Option<(&Credentials, &str)>, allow_file: bool) -> Command {
    let mut command = Command::new("git");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GIT_") {
            command.env_remove(&key);
        }
    }
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .env("LC_ALL", "C");
    let file = if allow_file { "always" } else { "never" };
    let settings = [
        "core.hooksPath=/dev/null",
        "core.fsmonitor=false",
        "protocol.allow=never",
        "protocol.https.allow=always",
        "protocol.http.allow=always",
        "protocol.ssh.allow=always",
        "protocol.git.allow=always",
        &format!("protocol.file.allow={file}"),
        "submodule.recurse=false",
    ];
    for setting in settings {
        command.arg("-c").arg(setting);
    }
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    if let Some((credentials, url)) = access {
        // The helper reads the values from this process's environment: they never appear in
        // arguments (visible to other users) or in git's configuration. It answers only for
        // the scheme and host of the URL the credentials belong to, so a redirect elsewhere
        // gets nothing.
        command
            .env("CONVOY_GIT_ORIGIN", origin_of(url))
            .env("CONVOY_GIT_USERNAME", &credentials.username)
            .env("CONVOY_GIT_PASSWORD", &credentials.password)
            .arg("-c")
            .arg("credential.helper=")
            .arg("-c")
            .arg(CREDENTIAL_HELPER);
    }
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command
}

const CREDENTIAL_HELPER: &str = "credential.helper=!f() { test \"$1\" = get || exit 0; p=; h=; \
while IFS= read -r l; do case \"$l\" in protocol=*) p=\"${l#protocol=}\";; host=*) h=\"${l#host=}\";; esac; done; \
test \"$p://$h\" = \"$CONVOY_GIT_ORIGIN\" || exit 0; \
echo \"username=$CONVOY_GIT_USERNAME\"; echo \"password=$CONVOY_GIT_PASSWORD\"; }; f";

/// `scheme://host[:port]` of a URL, lower-cased, as git's credential protocol names it.
pub(crate) fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return String::new() };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase())
}

/// git commands run, by operation (`fetch`, `clone`, `push`, ...) and result.
pub static OPERATIONS: convoy_telemetry::Counter<2> = convoy_telemetry::Counter::new(
    "convoy_git_operations_total",
    "git commands run, by operation and result.",
    ["operation", "result"],
);
pub static DURATION: convoy_telemetry::Histogram<1> = convoy_telemetry::Histogram::new(
    "convoy_git_operation_duration_seconds",
    "How long git commands took, by operation.",
    ["operation"],
    convoy_telemetry::LATENCY_BUCKETS,
);

/// Runs git and returns its trimmed stdout.
pub(crate) async fn run(mut command: Command, operation: &str) -> Result<String, GitError> {
    let started = std::time::Instant::now();
    let output = command.output().await;
    DURATION.observe([operation], started.elapsed());
    let ok = output.as_ref().is_ok_and(|o| o.status.success());
    OPERATIONS.inc([operation, if ok { "ok" } else { "error" }]);
    let output = output.map_err(|e| GitError {
        operation: operation.to_owned(),
        message: format!("cannot run git: {e}; is git installed and on PATH?"),
    })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let message = stderr.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("; ");
    Err(GitError { operation: operation.to_owned(), message: redact(&message) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the credential helper answers git for `host` (`git credential fill`).
    async fn fill(url: &str, protocol: &str, host: &str) -> String {
        use tokio::io::AsyncWriteExt;
        let credentials = Credentials { username: "bot".into(), password: "s3cr3t".into() };
        let mut command = git(None, Some((&credentials, url)));
        command.args(["credential", "fill"]).stdin(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("protocol={protocol}\nhost={host}\n\n").as_bytes()).await.unwrap();
        drop(stdin);
        let output = child.wait_with_output().await.unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    #[tokio::test]
    async fn credentials_go_only_to_their_own_host() {
        let url = "https://git.example.com:8443/team/config.git";
        assert!(fill(url, "https", "git.example.com:8443").await.contains("password=s3cr3t"));
        // A redirect to another host, port or scheme gets nothing (git then fails to prompt).
        for (protocol, host) in
            [("https", "evil.example"), ("https", "git.example.com"), ("http", "git.example.com:8443")]
        {
            let answer = fill(url, protocol, host).await;
            assert!(!answer.contains("s3cr3t"), "{protocol}://{host}: {answer}");
        }
    }

    #[test]
    fn fixes_follow_gits_words() {
        let fix = |message: &str| GitError { operation: "ls-remote".into(), message: message.into() }.likely_fix();
        let dns = "fatal: unable to access 'https://git.invalid/x/': Could not resolve host: git.invalid";
        assert!(fix(dns).unwrap().contains("does not resolve"));
        let refused = "fatal: unable to access 'http://127.0.0.1:1/x/': Failed to connect to 127.0.0.1 port 1";
        assert!(fix(refused).unwrap().contains("nothing answers"));
        let auth = "fatal: could not read Username for 'https://h': terminal prompts disabled";
        assert!(fix(auth).unwrap().contains("refused the credentials"));
        assert!(fix("remote: Repository not found.").unwrap().contains("no repository"));
        assert_eq!(fix("something else entirely"), None);
    }

    #[test]
    fn origins() {
        assert_eq!(origin_of("https://user:pw@Git.Example.com:8443/x.git"), "https://git.example.com:8443");
        assert_eq!(origin_of("http://h/x"), "http://h");
        assert_eq!(origin_of("git@h:x"), "");
    }
}
