//! Warehouse: defaults (reference §2.6) and subscription validation (§2.5).

use std::collections::HashMap;

use convoy_api::warehouse::{ChartSubscription, GenericSubscription, GitSubscription, ImageSubscription};
use convoy_api::{FieldPath, Subscription, Warehouse};

use super::stage::sync_shard_label;
use super::unsupported;
use crate::problem::Problems;
use crate::time::Timestamp;
use crate::urls::{normalize_chart, normalize_git, normalize_image, path_join};
use crate::{constraint, duration};

const DEFAULT_INTERVAL: &str = "5m0s";
const DEFAULT_DISCOVERY_LIMIT: i64 = 20;

pub(crate) fn default(warehouse: &mut Warehouse) {
    sync_shard_label(&mut warehouse.metadata.labels, warehouse.spec.shard.as_deref());
    let spec = &mut warehouse.spec;
    spec.interval.get_or_insert_with(|| DEFAULT_INTERVAL.to_owned());
    spec.freight_creation_policy.get_or_insert_with(|| "Automatic".to_owned());
    for subscription in &mut spec.subscriptions {
        match subscription {
            Subscription::Git(git) => {
                git.commit_selection_strategy.get_or_insert_with(|| "NewestFromBranch".to_owned());
                git.strict_semvers.get_or_insert(true);
                default_limit(&mut git.discovery_limit);
            }
            Subscription::Image(image) => {
                image.image_selection_strategy.get_or_insert_with(|| "SemVer".to_owned());
                image.strict_semvers.get_or_insert(true);
                default_limit(&mut image.discovery_limit);
            }
            Subscription::Chart(chart) => default_limit(&mut chart.discovery_limit),
            Subscription::Generic { body, .. } => default_limit(&mut body.discovery_limit),
        }
    }
}

/// Kargo treats 0 as unset.
fn default_limit(limit: &mut Option<i64>) {
    if matches!(limit, None | Some(0)) {
        *limit = Some(DEFAULT_DISCOVERY_LIMIT);
    }
}

pub(crate) fn validate(warehouse: &Warehouse, problems: &mut Problems) {
    let spec_path = FieldPath::root("spec");
    let spec = &warehouse.spec;
    if let Some(interval) = &spec.interval
        && let Err(why) = duration::parse(interval)
    {
        problems.error(spec_path.child("interval").to_string(), why);
    }
    if let Some(policy) = spec.freight_creation_policy.as_deref()
        && !["Automatic", "Manual"].contains(&policy)
    {
        unsupported(problems, &spec_path.child("freightCreationPolicy"), policy, &["Automatic", "Manual"]);
    }
    if let Some(criteria) = &spec.freight_creation_criteria
        && !criteria.expression.trim().is_empty()
    {
        let path = spec_path.child("freightCreationCriteria").child("expression");
        super::expressions::check_plain(&path, &criteria.expression, problems);
    }
    let subs_path = spec_path.child("subscriptions");
    if spec.subscriptions.is_empty() {
        problems
            .error(subs_path.to_string(), "must have at least 1 item")
            .with_hint("subscribe to at least one git repository, image repository or chart");
    }
    let mut seen: HashMap<String, FieldPath> = HashMap::new();
    for (i, subscription) in spec.subscriptions.iter().enumerate() {
        let path = subs_path.index(i).child(subscription.type_key());
        let (key, duplicate_message) = match subscription {
            Subscription::Git(git) => {
                validate_git(&path, git, problems);
                let key = format!("git:{}", normalize_git(&git.repo_url));
                (key, "subscription for Git repository already exists at".to_owned())
            }
            Subscription::Image(image) => {
                validate_image(&path, image, problems);
                let key = format!("image:{}", normalize_image(&image.repo_url));
                (key, "subscription for image repository already exists at".to_owned())
            }
            Subscription::Chart(chart) => {
                validate_chart(&path, chart, problems);
                let name = chart.name.as_deref().unwrap_or("");
                let key = format!("chart:{}", path_join(&[&normalize_chart(&chart.repo_url), name]));
                let message = if name.is_empty() {
                    "subscription for chart already exists at".to_owned()
                } else {
                    format!("subscription for chart {name:?} already exists at")
                };
                (key, message)
            }
            Subscription::Generic { body, .. } => {
                validate_generic(&path, body, problems);
                (format!("generic:{}", body.name), format!("subscription with name {:?} already exists at", body.name))
            }
        };
        if let Some(first) = seen.get(&key) {
            problems.error(path.to_string(), format!("{duplicate_message} {:?}", first.to_string()));
        } else {
            seen.insert(key, path);
        }
    }
}

fn validate_git(path: &FieldPath, git: &GitSubscription, problems: &mut Problems) {
    let url_path = path.child("repoURL").to_string();
    match git_url_form(&git.repo_url) {
        GitUrlForm::Invalid => {
            problems
                .error(&url_path, "must be a valid Git repository URL")
                .with_hint("use https://host/org/repo.git (ssh://, git@host:path and file:// also work)");
        }
        GitUrlForm::Ssh => {
            problems
                .warning(&url_path, "SSH URLs are deprecated by Kargo since v1.10 and removed in v1.13")
                .with_hint("use an https:// URL with credentials in a Secret labelled kargo.akuity.io/cred-type: git");
        }
        GitUrlForm::Http | GitUrlForm::File => {}
    }
    if let Some(branch) = &git.branch
        && (branch.len() > 255 || !valid_branch(branch))
    {
        problems.error(path.child("branch").to_string(), "must be a valid branch name");
    }
    if let Some(strategy) = git.commit_selection_strategy.as_deref() {
        const STRATEGIES: &[&str] = &["Lexical", "NewestFromBranch", "NewestTag", "SemVer"];
        if !STRATEGIES.contains(&strategy) {
            unsupported(problems, &path.child("commitSelectionStrategy"), strategy, STRATEGIES);
        }
    }
    check_constraint(&path.child("semverConstraint"), git.semver_constraint.as_deref(), problems);
    check_regexes(&path.child("allowTagsRegexes"), &git.allow_tags_regexes, problems);
    check_regexes(&path.child("ignoreTagsRegexes"), &git.ignore_tags_regexes, problems);
    if git.allow_tags.is_some() {
        problems.warning(path.child("allowTags").to_string(), "deprecated").with_hint("use allowTagsRegexes");
    }
    if !git.ignore_tags.is_empty() {
        problems.warning(path.child("ignoreTags").to_string(), "deprecated").with_hint("use ignoreTagsRegexes");
    }
    if let Some(filter) = git.expression_filter.as_deref().filter(|f| !f.trim().is_empty()) {
        super::expressions::check_plain(&path.child("expressionFilter"), filter, problems);
    }
    check_path_selectors(&path.child("includePaths"), &git.include_paths, problems);
    check_path_selectors(&path.child("excludePaths"), &git.exclude_paths, problems);
    if let Some(since) = &git.since
        && let Err(why) = Timestamp::parse(since)
    {
        problems.error(path.child("since").to_string(), why);
    }
    check_limit(&path.child("discoveryLimit"), git.discovery_limit, problems);
}

enum GitUrlForm {
    Http,
    Ssh,
    File,
    Invalid,
}

/// Kargo's git URL pattern (http(s), ssh, SCP-style), plus `file://` as Convoy's extension.
fn git_url_form(url: &str) -> GitUrlForm {
    if let Some(path) = url.strip_prefix("file://") {
        return if path.starts_with('/') && path.len() > 1 { GitUrlForm::File } else { GitUrlForm::Invalid };
    }
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    let host_ok = |h: &str| h.split('.').all(word);
    for (scheme, form) in [("https://", GitUrlForm::Http), ("http://", GitUrlForm::Http), ("ssh://", GitUrlForm::Ssh)] {
        if let Some(rest) = url.strip_prefix(scheme) {
            let Some(slash) = rest.find('/') else { return GitUrlForm::Invalid };
            let authority = &rest[..slash];
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let (host, port) = host_port.split_once(':').map_or((host_port, None), |(h, p)| (h, Some(p)));
            let port_ok = port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
            return if host_ok(host) && port_ok { form } else { GitUrlForm::Invalid };
        }
    }
    match url.split_once('@') {
        Some((user, rest)) if word(user) => match rest.split_once(':') {
            Some((host, _)) if host_ok(host) => GitUrlForm::Ssh,
            _ => GitUrlForm::Invalid,
        },
        _ => GitUrlForm::Invalid,
    }
}

/// `^[a-zA-Z0-9]([a-zA-Z0-9._\/-]*[a-zA-Z0-9_-])?$`
fn valid_branch(branch: &str) -> bool {
    let b = branch.as_bytes();
    let middle = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/' | b'-');
    let last = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-');
    match b {
        [] => false,
        [only] => only.is_ascii_alphanumeric(),
        [first, mid @ .., end] => first.is_ascii_alphanumeric() && mid.iter().all(middle) && last(end),
    }
}

fn validate_image(path: &FieldPath, image: &ImageSubscription, problems: &mut Problems) {
    if !valid_image_repo(&image.repo_url) {
        let hint = if image.repo_url.contains("://") {
            "write the repository without a scheme, e.g. ghcr.io/org/app"
        } else if image.repo_url.rsplit('/').next().is_some_and(|last| last.contains(':')) {
            "remove the tag: the Warehouse chooses tags itself"
        } else {
            "use host[:port]/path, e.g. ghcr.io/org/app"
        };
        problems.error(path.child("repoURL").to_string(), "must be a valid image repository URL").with_hint(hint);
    }
    const STRATEGIES: &[&str] = &["Digest", "Lexical", "NewestBuild", "SemVer"];
    let strategy = image.image_selection_strategy.as_deref().unwrap_or("SemVer");
    if !STRATEGIES.contains(&strategy) {
        unsupported(problems, &path.child("imageSelectionStrategy"), strategy, STRATEGIES);
    }
    let constraint = image.constraint.as_deref().unwrap_or("");
    if strategy == "Digest" && constraint.is_empty() {
        problems
            .error(path.child("constraint").to_string(), "must be set when imageSelectionStrategy is Digest")
            .with_hint("name the mutable tag to follow, e.g. constraint: latest");
    }
    if strategy == "SemVer" {
        check_constraint(&path.child("constraint"), Some(constraint), problems);
    }
    if let Some(platform) = &image.platform {
        let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
        // Kargo parses it as an OCI platform: `os/arch` or `os/arch/variant`.
        let parts: Vec<&str> = platform.split('/').collect();
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| word(p)) {
            problems
                .error(path.child("platform").to_string(), "must be in format <os>/<arch>")
                .with_hint("e.g. linux/amd64, or with a variant linux/arm64/v8");
        }
    }
    if image.allow_tags.is_some() {
        problems
            .error(
                path.child("allowTags").to_string(),
                "AllowTags is deprecated and unsupported as of v1.11.0; use AllowTagsRegexes instead",
            )
            .with_hint("move the pattern to allowTagsRegexes: [\"...\"]");
    }
    if !image.ignore_tags.is_empty() {
        problems
            .error(
                path.child("ignoreTags").to_string(),
                "IgnoreTags is deprecated and unsupported as of v1.11.0; use IgnoreTagsRegexes instead",
            )
            .with_hint("move the tags to ignoreTagsRegexes as anchored patterns, e.g. ^latest$");
    }
    check_regexes(&path.child("allowTagsRegexes"), &image.allow_tags_regexes, problems);
    check_regexes(&path.child("ignoreTagsRegexes"), &image.ignore_tags_regexes, problems);
    check_limit(&path.child("discoveryLimit"), image.discovery_limit, problems);
}

/// `^(\w+([\.-]\w+)*(:[\d]+)?/)?(\w+([\.-]\w+)*)(/\w+([\.-]\w+)*)*$`
fn valid_image_repo(repo: &str) -> bool {
    let component = |s: &str| {
        let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_');
        !s.is_empty() && s.split(['.', '-']).all(word)
    };
    let mut parts: Vec<&str> = repo.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return false;
    }
    if parts.len() > 1
        && let Some((host, port)) = parts[0].split_once(':')
    {
        if !component(host) || port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        parts.remove(0);
    }
    parts.into_iter().all(component)
}

fn validate_chart(path: &FieldPath, chart: &ChartSubscription, problems: &mut Problems) {
    let url = &chart.repo_url;
    let rest = ["https://", "http://", "oci://"].iter().find_map(|p| url.strip_prefix(p));
    let host_ok = rest.is_some_and(|r| {
        let host_port = r.split('/').next().unwrap_or("");
        let (host, port) = host_port.split_once(':').map_or((host_port, None), |(h, p)| (h, Some(p)));
        !host.is_empty()
            && host.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()))
    });
    if !host_ok {
        problems
            .error(path.child("repoURL").to_string(), "must be a valid Helm repository URL")
            .with_hint("use https://host/path for a chart repository or oci://host/path/chart for an OCI chart");
    }
    let name = chart.name.as_deref().unwrap_or("");
    if url.starts_with("oci://") && !name.is_empty() {
        problems
            .error(path.child("name").to_string(), "must be empty if repoURL starts with oci://")
            .with_hint("an OCI repoURL already names the chart: put it at the end of repoURL");
    }
    if (url.starts_with("http://") || url.starts_with("https://")) && name.is_empty() {
        problems
            .error(path.child("name").to_string(), "must be non-empty if repoURL starts with http:// or https://")
            .with_hint("name the chart within the repository");
    }
    check_constraint(&path.child("semverConstraint"), chart.semver_constraint.as_deref(), problems);
    check_limit(&path.child("discoveryLimit"), chart.discovery_limit, problems);
}

fn validate_generic(path: &FieldPath, body: &GenericSubscription, problems: &mut Problems) {
    if body.name.is_empty() {
        problems.error(path.child("name").to_string(), "must be at least 1 character long");
    }
    check_limit(&path.child("discoveryLimit"), body.discovery_limit, problems);
}

fn check_limit(path: &FieldPath, limit: Option<i64>, problems: &mut Problems) {
    match limit {
        Some(n) if n < 1 => {
            problems.error(path.to_string(), "must be >= 1");
        }
        Some(n) if n > 100 => {
            problems.error(path.to_string(), "must be <= 100");
        }
        _ => {}
    }
}

fn check_constraint(path: &FieldPath, text: Option<&str>, problems: &mut Problems) {
    if let Some(text) = text.filter(|t| !t.trim().is_empty())
        && let Err(why) = constraint::parse(text)
    {
        problems
            .error(path.to_string(), why)
            .with_hint("use semver ranges such as ^1.2.0, >=1.0.0 <2.0.0 or 1.x || 2.x");
    }
}

fn check_regexes(path: &FieldPath, patterns: &[String], problems: &mut Problems) {
    for (i, pattern) in patterns.iter().enumerate() {
        check_regex(&path.index(i), pattern, problems);
    }
}

fn check_regex(path: &FieldPath, pattern: &str, problems: &mut Problems) {
    if let Err(e) = regex::Regex::new(pattern) {
        let last_line = e.to_string().lines().last().unwrap_or("").trim().to_owned();
        problems.error(path.to_string(), format!("invalid regular expression: {last_line}"));
    }
}

/// `glob:` and `regex:`/`regexp:` selectors must compile; anything else is a path prefix.
fn check_path_selectors(path: &FieldPath, selectors: &[String], problems: &mut Problems) {
    for (i, selector) in selectors.iter().enumerate() {
        let pattern = selector.strip_prefix("regex:").or_else(|| selector.strip_prefix("regexp:"));
        if let Some(pattern) = pattern {
            check_regex(&path.index(i), pattern, problems);
        }
    }
}
