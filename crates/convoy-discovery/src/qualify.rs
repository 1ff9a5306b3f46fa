//! Whether an event's ref, tag or version can matter to a subscription: a webhook refreshes a
//! Warehouse only when it can (Kargo's `MatchesRef`, `MatchesTag`, `MatchesVersion`).

use convoy_api::{ChartSubscription, GitSubscription, ImageSubscription, Subscription};

use crate::select::{TagFilter, semver_of};

/// `qualifier` is a git ref (`refs/heads/main`, `refs/tags/v1.2.0`), an image tag or a chart
/// version, as the event carries it.
pub fn wants(subscription: &Subscription, qualifier: &str) -> bool {
    match subscription {
        Subscription::Git(sub) => git_wants(sub, qualifier),
        Subscription::Image(sub) => image_wants(sub, qualifier),
        Subscription::Chart(sub) => chart_wants(sub, qualifier),
        Subscription::Generic { .. } => false,
    }
}

fn git_wants(sub: &GitSubscription, reference: &str) -> bool {
    let strategy = sub.commit_selection_strategy.as_deref().filter(|s| !s.is_empty()).unwrap_or("NewestFromBranch");
    if strategy == "NewestFromBranch" {
        let Some(branch) = reference.strip_prefix("refs/heads/") else { return false };
        // Without a branch the subscription follows the default branch, whose name the event
        // does not say: Kargo assumes `main` or `master`.
        return match sub.branch.as_deref().filter(|b| !b.is_empty()) {
            Some(wanted) => wanted == branch,
            None => branch == "main" || branch == "master",
        };
    }
    let Some(tag) = reference.strip_prefix("refs/tags/") else { return false };
    let Ok(mut filter) = TagFilter::new(&sub.allow_tags_regexes, &sub.ignore_tags_regexes) else { return false };
    if let Some(allow) = sub.allow_tags.as_deref().filter(|a| !a.is_empty()) {
        let Ok(allow) = regex::Regex::new(allow) else { return false };
        filter.allow.push(allow);
    }
    filter.ignore_exact = sub.ignore_tags.clone();
    filter.allows(tag)
        && (strategy != "SemVer"
            || semver_fits(tag, sub.strict_semvers.unwrap_or(true), sub.semver_constraint.as_deref()))
}

fn image_wants(sub: &ImageSubscription, tag: &str) -> bool {
    let Ok(filter) = TagFilter::new(&sub.allow_tags_regexes, &sub.ignore_tags_regexes) else { return false };
    if !filter.allows(tag) {
        return false;
    }
    let constraint = sub.constraint.as_deref().or(sub.semver_constraint.as_deref()).filter(|c| !c.is_empty());
    match sub.image_selection_strategy.as_deref().filter(|s| !s.is_empty()).unwrap_or("SemVer") {
        "SemVer" => semver_fits(tag, sub.strict_semvers.unwrap_or(true), constraint),
        // Digest follows one mutable tag: the constraint names it.
        "Digest" => constraint == Some(tag),
        _ => true,
    }
}

fn chart_wants(sub: &ChartSubscription, version: &str) -> bool {
    semver_fits(version, false, sub.semver_constraint.as_deref())
}

fn semver_fits(text: &str, strict: bool, constraint: Option<&str>) -> bool {
    let Some(version) = semver_of(text, strict) else { return false };
    match constraint.filter(|c| !c.is_empty()) {
        None => true,
        Some(c) => convoy_core::constraint::parse(c).is_ok_and(|c| c.matches(&version)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::wants;

    fn sub(value: serde_json::Value) -> convoy_api::Subscription {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn branches_follow_the_subscription() {
        let main = sub(json!({"git": {"repoURL": "https://github.com/o/r", "branch": "main"}}));
        let default = sub(json!({"git": {"repoURL": "https://github.com/o/r"}}));
        assert!(wants(&main, "refs/heads/main"));
        assert!(!wants(&main, "refs/heads/feature"));
        assert!(!wants(&main, "refs/tags/v1.0.0"), "a tag is not a branch push");
        assert!(wants(&default, "refs/heads/master") && wants(&default, "refs/heads/main"));
        assert!(!wants(&default, "refs/heads/develop"));
    }

    #[test]
    fn tags_pass_the_subscription_filters() {
        let semver = sub(
            json!({"git": {"repoURL": "https://github.com/o/r", "commitSelectionStrategy": "SemVer", "semverConstraint": "^1.0.0"}}),
        );
        assert!(wants(&semver, "refs/tags/v1.4.0"));
        assert!(!wants(&semver, "refs/tags/v2.0.0"), "outside the constraint");
        assert!(!wants(&semver, "refs/tags/v1.4"), "not strict");
        assert!(!wants(&semver, "refs/heads/main"));
        let lexical = sub(
            json!({"git": {"repoURL": "https://github.com/o/r", "commitSelectionStrategy": "Lexical", "allowTagsRegexes": ["^release-"]}}),
        );
        assert!(wants(&lexical, "refs/tags/release-7") && !wants(&lexical, "refs/tags/nightly-7"));
        let image =
            sub(json!({"image": {"repoURL": "ghcr.io/o/app", "constraint": "~1.2", "ignoreTagsRegexes": ["-rc"]}}));
        assert!(wants(&image, "1.2.9"));
        assert!(!wants(&image, "1.3.0") && !wants(&image, "latest"));
        let digest = sub(
            json!({"image": {"repoURL": "ghcr.io/o/app", "imageSelectionStrategy": "Digest", "constraint": "stable"}}),
        );
        assert!(wants(&digest, "stable") && !wants(&digest, "1.0.0"));
        let newest = sub(json!({"image": {"repoURL": "ghcr.io/o/app", "imageSelectionStrategy": "NewestBuild"}}));
        assert!(wants(&newest, "anything"));
        let chart = sub(json!({"chart": {"repoURL": "oci://ghcr.io/o/charts/app", "semverConstraint": ">=2.0.0"}}));
        assert!(wants(&chart, "2.1.0") && !wants(&chart, "1.9.0"));
    }
}
