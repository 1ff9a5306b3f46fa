//! Git subscriptions: commits of a branch (NewestFromBranch) or tags (SemVer, Lexical,
//! NewestTag), read from the shared mirror.

use std::time::Duration;

use convoy_api::GitSubscription;
use convoy_git::{CommitInfo, Credentials, Mirrors, TagInfo};
use serde_json::{Map, Value, json};

use crate::DiscoveryError;
use crate::select::{
    PathSelector, TagFilter, by_lexical, by_newest, by_semver, compare_times, expression_holds, paths_qualify,
};

/// How long a mirror counts as fresh: Warehouses on one repository within one cycle share a fetch.
pub const FRESH_WITHIN: Duration = Duration::from_secs(2);
/// The most commits a branch walk reads looking for qualifying ones.
const MAX_WALK: usize = 10_000;

/// Discovers commits for one subscription: `{repoURL, commits: [...]}` in Kargo's shape,
/// newest (or greatest) first, at most `discoveryLimit`.
pub async fn discover(
    mirrors: &Mirrors,
    sub: &GitSubscription,
    credentials: Option<&Credentials>,
    recheck: bool,
) -> Result<Value, DiscoveryError> {
    let limit = sub.discovery_limit.unwrap_or(20).clamp(1, 100) as usize;
    let fresh_within = if recheck { Duration::ZERO } else { FRESH_WITHIN };
    mirrors.refresh(&sub.repo_url, credentials, fresh_within).await.map_err(|e| {
        DiscoveryError::source(
            &sub.repo_url,
            e.to_string(),
            "check the repository URL and its credentials Secret (kargo.akuity.io/cred-type: git)",
        )
    })?;
    let strategy = sub.commit_selection_strategy.as_deref().unwrap_or("NewestFromBranch");
    let commits = match strategy {
        "NewestFromBranch" | "" => from_branch(mirrors, sub, limit).await?,
        "SemVer" | "Lexical" | "NewestTag" => {
            let tags = mirrors
                .tags(&sub.repo_url)
                .await
                .map_err(|e| DiscoveryError::source(&sub.repo_url, e.to_string(), ""))?;
            select_tags(sub, strategy, tags, limit)?
        }
        other => {
            return Err(DiscoveryError::config(format!(
                "commitSelectionStrategy {other:?} is not one of NewestFromBranch, SemVer, Lexical, NewestTag"
            )));
        }
    };
    if commits.is_empty() {
        return Err(DiscoveryError::nothing(&sub.repo_url, nothing_hint(sub, strategy)));
    }
    Ok(json!({"repoURL": sub.repo_url, "commits": commits}))
}

fn nothing_hint(sub: &GitSubscription, strategy: &str) -> String {
    match strategy {
        "NewestFromBranch" | "" => format!(
            "no commit of branch {} passed the filters (includePaths, excludePaths, expressionFilter, since); loosen them or check the branch",
            sub.branch.as_deref().unwrap_or("(default)")
        ),
        _ => "no tag passed the filters (allowTagsRegexes, ignoreTagsRegexes, semverConstraint, strictSemvers, expressionFilter); loosen them or push a matching tag".into(),
    }
}

async fn from_branch(mirrors: &Mirrors, sub: &GitSubscription, limit: usize) -> Result<Vec<Value>, DiscoveryError> {
    let include = selectors("includePaths", &sub.include_paths)?;
    let exclude = selectors("excludePaths", &sub.exclude_paths)?;
    let branch = sub.branch.as_deref().filter(|b| !b.is_empty());
    let mut found = Vec::new();
    let mut read = 0;
    // Growing batches: most subscriptions stop in the first one.
    let mut batch = (limit * 2).max(50);
    while found.len() < limit && read < MAX_WALK {
        let commits = mirrors
            .commits(&sub.repo_url, branch, read, batch)
            .await
            .map_err(|e| DiscoveryError::source(&sub.repo_url, e.to_string(), "check that the branch exists"))?;
        let done = commits.len() < batch;
        read += commits.len();
        for commit in commits {
            if let Some(since) = sub.since.as_deref()
                && compare_times(&commit.commit_date, since).is_lt()
            {
                return Ok(found);
            }
            if !paths_qualify(&commit.paths, &include, &exclude) {
                continue;
            }
            if let Some(code) = sub.expression_filter.as_deref().filter(|c| !c.is_empty()) {
                let env = commit_env(&commit);
                if !expression_holds(code, &env)
                    .map_err(|e| DiscoveryError::config(format!("expressionFilter: {e}")))?
                {
                    continue;
                }
            }
            found.push(json!({
                "id": commit.id,
                "branch": branch.unwrap_or_default(),
                "subject": commit.subject,
                "author": commit.author,
                "committer": commit.committer,
                "creatorDate": commit.commit_date,
            }));
            if found.len() == limit {
                break;
            }
        }
        if done {
            break;
        }
        batch *= 2;
    }
    Ok(found)
}

fn commit_env(commit: &CommitInfo) -> Map<String, Value> {
    let mut env = Map::new();
    env.insert("id".into(), json!(commit.id));
    env.insert("commitDate".into(), json!(commit.commit_date));
    env.insert("author".into(), json!(commit.author));
    env.insert("committer".into(), json!(commit.committer));
    env.insert("subject".into(), json!(commit.subject));
    env
}

fn selectors(field: &str, texts: &[String]) -> Result<Vec<PathSelector>, DiscoveryError> {
    texts.iter().map(|t| PathSelector::parse(t).map_err(|e| DiscoveryError::config(format!("{field}: {e}")))).collect()
}

/// Tag strategies: filter, order, limit (pure; `tags` as the mirror lists them).
pub fn select_tags(
    sub: &GitSubscription,
    strategy: &str,
    tags: Vec<TagInfo>,
    limit: usize,
) -> Result<Vec<Value>, DiscoveryError> {
    let mut filter =
        TagFilter::new(&sub.allow_tags_regexes, &sub.ignore_tags_regexes).map_err(DiscoveryError::config)?;
    if let Some(allow) = sub.allow_tags.as_deref().filter(|a| !a.is_empty()) {
        filter.allow.push(regex::Regex::new(allow).map_err(|e| DiscoveryError::config(format!("allowTags: {e}")))?);
    }
    filter.ignore_exact = sub.ignore_tags.clone();
    let mut kept = Vec::new();
    for tag in tags {
        if !filter.allows(&tag.name) {
            continue;
        }
        if let Some(code) = sub.expression_filter.as_deref().filter(|c| !c.is_empty()) {
            let mut env = Map::new();
            for (k, v) in [
                ("tag", &tag.name),
                ("id", &tag.id),
                ("creatorDate", &tag.creator_date),
                ("author", &tag.author),
                ("committer", &tag.committer),
                ("subject", &tag.subject),
                ("tagger", &tag.tagger),
                ("annotation", &tag.annotation),
            ] {
                env.insert(k.into(), json!(v));
            }
            if !expression_holds(code, &env).map_err(|e| DiscoveryError::config(format!("expressionFilter: {e}")))? {
                continue;
            }
        }
        kept.push(tag);
    }
    let ordered: Vec<TagInfo> = match strategy {
        "SemVer" => {
            let constraint = match sub.semver_constraint.as_deref().filter(|c| !c.is_empty()) {
                Some(c) => Some(
                    convoy_core::constraint::parse(c)
                        .map_err(|e| DiscoveryError::config(format!("semverConstraint: {e}")))?,
                ),
                None => None,
            };
            let names = by_semver(
                kept.iter().map(|t| t.name.as_str()),
                sub.strict_semvers.unwrap_or(true),
                constraint.as_ref(),
            );
            names.iter().filter_map(|n| kept.iter().find(|t| t.name == *n).cloned()).collect()
        }
        "Lexical" => {
            let names = by_lexical(kept.iter().map(|t| t.name.as_str()));
            names.iter().filter_map(|n| kept.iter().find(|t| t.name == *n).cloned()).collect()
        }
        _ => {
            by_newest(&mut kept, |t| &t.creator_date, |t| &t.name);
            kept
        }
    };
    Ok(ordered
        .into_iter()
        .take(limit)
        .map(|t| {
            json!({
                "id": t.id,
                "tag": t.name,
                "subject": t.subject,
                "author": t.author,
                "committer": t.committer,
                "creatorDate": t.creator_date,
            })
        })
        .collect())
}
