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

/// A git command with nothing inherited that could change its behaviour.
pub(crate) fn git(dir: Option<&Path>, credentials: Option<&Credentials>) -> Command {
    let mut command = Command::new("git");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GIT_") {
            command.env_remove(&key);
        }
    }
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("LC_ALL", "C")
        .arg("-c")
        .arg("core.hooksPath=/dev/null")
        .arg("-c")
        .arg("protocol.file.allow=always")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(credentials) = credentials {
        // The helper reads the values from this process's environment: they never appear in
        // arguments (visible to other users) or in git's configuration.
        command
            .env("CONVOY_GIT_USERNAME", &credentials.username)
            .env("CONVOY_GIT_PASSWORD", &credentials.password)
            .arg("-c")
            .arg("credential.helper=")
            .arg("-c")
            .arg("credential.helper=!f() { echo \"username=$CONVOY_GIT_USERNAME\"; echo \"password=$CONVOY_GIT_PASSWORD\"; }; f");
    }
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command
}

/// Runs git and returns its trimmed stdout.
pub(crate) async fn run(mut command: Command, operation: &str) -> Result<String, GitError> {
    let output = command.output().await.map_err(|e| GitError {
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
