//! Dry runs: every step runs in a throwaway work dir, except those with an effect outside it,
//! and commits are replaced by the diff they would have made.

use std::sync::Arc;

use async_trait::async_trait;
use convoy_engine::{NoResources, Registry, StepContext, StepError, StepResult, StepRunner};
use convoy_git::{Mirrors, WorkTree};
use serde_json::{Map, json};

use crate::config::decode;
use crate::git::CommitConfig;
use crate::paths::resolve;

/// Kinds whose effect reaches outside the work dir; a dry run skips them (`http` only when
/// its method is not GET or HEAD).
pub const EFFECTFUL: &[&str] = &[
    "git-push",
    "set-metadata",
    "set-freight-alias",
    "argocd-update",
    "git-open-pr",
    "git-merge-pr",
    "github-push",
    "oci-push",
];

/// The built-in steps for a dry run.
pub fn registry(mirrors: Arc<Mirrors>) -> Registry {
    let mut registry = crate::builtin(mirrors, Arc::new(NoResources));
    for kind in EFFECTFUL {
        registry.register(Arc::new(Skip(kind)));
    }
    registry.register(Arc::new(DiffInsteadOfCommit));
    registry.register(Arc::new(ReadOnlyHttp));
    registry
}

fn skipped() -> StepResult {
    let mut result = StepResult::succeeded(Map::new());
    result.message = Some("skipped: it has effects outside the work tree (dry run)".into());
    result
}

/// `http` requests that only read (GET, HEAD) run; the others are skipped.
struct ReadOnlyHttp;

#[async_trait]
impl StepRunner for ReadOnlyHttp {
    fn kind(&self) -> &'static str {
        "http"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let method = context.config.get("method").and_then(|m| m.as_str()).unwrap_or("GET").to_ascii_uppercase();
        if matches!(method.as_str(), "GET" | "HEAD" | "") {
            crate::http::Http.run(context).await
        } else {
            Ok(skipped())
        }
    }
}

struct Skip(&'static str);

#[async_trait]
impl StepRunner for Skip {
    fn kind(&self) -> &'static str {
        self.0
    }

    async fn run(&self, _context: &StepContext) -> Result<StepResult, StepError> {
        Ok(skipped())
    }
}

/// Stages what changed and reports the diff instead of committing.
struct DiffInsteadOfCommit;

#[async_trait]
impl StepRunner for DiffInsteadOfCommit {
    fn kind(&self) -> &'static str {
        "git-commit"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: CommitConfig = decode(self.kind(), &context.config)?;
        let dir = resolve(&context.work_dir, &config.path)?;
        let work_tree = WorkTree::open(&dir, None).await.map_err(|e| StepError::terminal(e.message))?;
        let diff = work_tree.staged_diff().await.map_err(|e| StepError::terminal(e.message))?;
        let mut output = Map::new();
        output.insert("commit".into(), json!(""));
        output.insert("diff".into(), json!(diff));
        output.insert("path".into(), json!(config.path));
        output.insert("message".into(), json!(config.message));
        let mut result = StepResult::succeeded(output);
        result.message = Some("not committed (dry run)".into());
        Ok(result)
    }
}
