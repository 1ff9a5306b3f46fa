//! The step kinds Kargo v1.11.2 knows (reference §3.8), and which of them Convoy runs.

/// Every built-in step kind of Kargo v1.11.2.
pub const KARGO_STEP_KINDS: &[&str] = &[
    "argocd-update",
    "argocd-wait",
    "compose-output",
    "copy",
    "delete",
    "fail",
    "file-write",
    "git-clear",
    "git-clone",
    "git-commit",
    "git-merge-pr",
    "git-open-pr",
    "git-push",
    "git-tag",
    "git-wait-for-pr",
    "github-push",
    "helm-template",
    "helm-update-chart",
    "http",
    "http-download",
    "json-parse",
    "json-update",
    "kustomize-build",
    "kustomize-set-image",
    "oci-download",
    "oci-push",
    "set-freight-alias",
    "set-metadata",
    "toml-parse",
    "toml-update",
    "untar",
    "yaml-merge",
    "yaml-parse",
    "yaml-update",
];

/// Step kinds this build of Convoy can execute (the registry of `convoy-steps`; a test there
/// keeps the two lists equal). Lint warns about the other known kinds.
pub const CONVOY_RUNS: &[&str] = &[
    "compose-output",
    "copy",
    "delete",
    "fail",
    "file-write",
    "git-clear",
    "git-clone",
    "git-commit",
    "git-push",
    "git-tag",
    "helm-update-chart",
    "http",
    "http-download",
    "json-parse",
    "json-update",
    "kustomize-build",
    "kustomize-set-image",
    "oci-download",
    "oci-push",
    "set-freight-alias",
    "set-metadata",
    "toml-parse",
    "toml-update",
    "untar",
    "yaml-merge",
    "yaml-parse",
    "yaml-update",
];

/// What Convoy can do with a step kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepSupport {
    Runs,
    /// Kargo has it; Convoy does not run it yet.
    NotYet,
    Unknown,
}

pub fn support(kind: &str) -> StepSupport {
    if CONVOY_RUNS.contains(&kind) {
        StepSupport::Runs
    } else if KARGO_STEP_KINDS.contains(&kind) {
        StepSupport::NotYet
    } else {
        StepSupport::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_without_duplicates_and_convoy_runs_only_kargo_kinds() {
        for list in [KARGO_STEP_KINDS, CONVOY_RUNS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
        // Kargo v1.11.2 has 34 built-in kinds (reference §3.8, `tar` is main-only).
        assert_eq!(KARGO_STEP_KINDS.len(), 34);
        for kind in CONVOY_RUNS {
            assert!(KARGO_STEP_KINDS.contains(kind), "{kind}");
        }
    }
}
