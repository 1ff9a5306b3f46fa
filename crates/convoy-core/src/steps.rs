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

/// Step kinds only the Akuity Platform (Kargo's commercial edition) runs; `snow-` is a prefix.
pub const AKUITY_PLATFORM_STEP_KINDS: &[&str] = &[
    "gh-create-issue",
    "get-user-input",
    "gha-dispatch-workflow",
    "gha-wait-for-workflow",
    "jira",
    "send-message",
    "snow-",
    "tf-apply",
    "tf-output",
    "tf-plan",
    "wait-for-approval",
];

/// Step kinds open-source Kargo had and removed, with what replaced them.
pub const REMOVED_STEP_KINDS: &[(&str, &str)] = &[(
    "helm-update-image",
    "removed in Kargo v1.3: set the image's tag in the values file with yaml-update (key e.g. image.tag, value ${{ imageFrom(vars.imageRepo).Tag }})",
)];

/// What Convoy can do with a step kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepSupport {
    Runs,
    /// Kargo has it; Convoy does not run it yet.
    NotYet,
    /// Only the Akuity Platform has it (or a CustomPromotionStep, also a Platform feature).
    AkuityPlatform,
    /// Kargo removed it; the text says what replaced it.
    Removed(&'static str),
    Unknown,
}

pub fn support(kind: &str) -> StepSupport {
    if CONVOY_RUNS.contains(&kind) {
        StepSupport::Runs
    } else if KARGO_STEP_KINDS.contains(&kind) {
        StepSupport::NotYet
    } else if let Some((_, instead)) = REMOVED_STEP_KINDS.iter().find(|(k, _)| *k == kind) {
        StepSupport::Removed(instead)
    } else if AKUITY_PLATFORM_STEP_KINDS.iter().any(|k| if k.ends_with('-') { kind.starts_with(k) } else { *k == kind })
    {
        StepSupport::AkuityPlatform
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

    #[test]
    fn platform_and_removed_kinds_are_named_as_such() {
        assert_eq!(support("jira"), StepSupport::AkuityPlatform);
        assert_eq!(support("snow-create-ticket"), StepSupport::AkuityPlatform);
        assert_eq!(support("tf-plan"), StepSupport::AkuityPlatform);
        assert!(matches!(support("helm-update-image"), StepSupport::Removed(why) if why.contains("yaml-update")));
        // Every kind of Kargo v1.11.2 runs: nothing is "not yet".
        assert!(
            KARGO_STEP_KINDS.iter().all(|k| support(k) == StepSupport::Runs),
            "{:?}",
            KARGO_STEP_KINDS.iter().filter(|k| support(k) != StepSupport::Runs).collect::<Vec<_>>()
        );
        assert_eq!(support("snow"), StepSupport::Unknown);
        assert_eq!(support("git-clonee"), StepSupport::Unknown);
    }
}
