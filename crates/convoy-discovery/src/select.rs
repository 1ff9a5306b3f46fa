//! Selection strategies and filters, as pure functions over what a source listed (reference §6).

use std::cmp::Ordering;

use convoy_core::constraint::Constraint;
use convoy_expr::semver::Version;
use regex::Regex;
use serde_json::{Map, Value};

/// Tag filters shared by git and image subscriptions.
#[derive(Debug, Default)]
pub struct TagFilter {
    pub allow: Vec<Regex>,
    pub ignore: Vec<Regex>,
    /// Exact names to skip (git's deprecated `ignoreTags`).
    pub ignore_exact: Vec<String>,
}

impl TagFilter {
    /// Compiles the regexes; the error names the field and the pattern.
    pub fn new(allow: &[String], ignore: &[String]) -> Result<TagFilter, String> {
        let compile = |field: &str, patterns: &[String]| {
            patterns
                .iter()
                .map(|p| Regex::new(p).map_err(|e| format!("{field}: {p:?} is not a valid regular expression: {e}")))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(TagFilter {
            allow: compile("allowTagsRegexes", allow)?,
            ignore: compile("ignoreTagsRegexes", ignore)?,
            ignore_exact: Vec::new(),
        })
    }

    /// Allowed by some allow pattern (or there are none) and by no ignore rule.
    pub fn allows(&self, tag: &str) -> bool {
        (self.allow.is_empty() || self.allow.iter().any(|r| r.is_match(tag)))
            && !self.ignore.iter().any(|r| r.is_match(tag))
            && !self.ignore_exact.iter().any(|t| t == tag)
    }
}

/// A tag read as a semantic version: an optional `v`, and with `strict`, exactly
/// `MAJOR.MINOR.PATCH` (pre-release and build metadata allowed).
pub fn semver_of(tag: &str, strict: bool) -> Option<Version> {
    let version = Version::parse(tag).ok()?;
    if strict {
        let body = tag.strip_prefix('v').unwrap_or(tag);
        let core = body.split(['-', '+']).next().unwrap_or(body);
        if core.split('.').count() != 3 {
            return None;
        }
    }
    Some(version)
}

/// Names ordered greatest semantic version first, keeping only versions that parse (strictly,
/// when asked) and satisfy `constraint`. Equal versions keep their input order.
pub fn by_semver<'a>(
    names: impl IntoIterator<Item = &'a str>,
    strict: bool,
    constraint: Option<&Constraint>,
) -> Vec<&'a str> {
    let mut versions: Vec<(Version, &str)> = names
        .into_iter()
        .filter_map(|n| semver_of(n, strict).map(|v| (v, n)))
        .filter(|(v, _)| constraint.is_none_or(|c| c.matches(v)))
        .collect();
    // Equal versions (`1.0`, `1.0.0`, `v1.0.0`, build metadata) in descending byte order of
    // the tag, as Kargo breaks the tie.
    versions.sort_by(|a, b| b.0.precedence(&a.0).then_with(|| b.1.cmp(a.1)));
    versions.into_iter().map(|(_, n)| n).collect()
}

/// Names in descending lexical (byte) order.
pub fn by_lexical<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_by(|a, b| b.cmp(a));
    names
}

/// Items newest first by an RFC 3339 time (ties: name descending, for a stable order).
pub fn by_newest<T>(items: &mut [T], time: impl Fn(&T) -> &str, name: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| match compare_times(time(b), time(a)) {
        Ordering::Equal => name(b).cmp(name(a)),
        other => other,
    });
}

/// Compares RFC 3339 times (as instants, whatever their offsets); unparsable ones sort first.
pub fn compare_times(a: &str, b: &str) -> Ordering {
    let parse = |t: &str| convoy_api::time::Timestamp::parse(t).ok();
    parse(a).cmp(&parse(b))
}

/// A path selector of `includePaths` / `excludePaths`.
#[derive(Debug)]
pub enum PathSelector {
    Glob(String),
    Regex(Regex),
    /// A directory (or file) and everything below it.
    Prefix(String),
}

impl PathSelector {
    pub fn parse(text: &str) -> Result<PathSelector, String> {
        if let Some(glob) = text.strip_prefix("glob:") {
            return Ok(PathSelector::Glob(glob.to_owned()));
        }
        for prefix in ["regex:", "regexp:"] {
            if let Some(pattern) = text.strip_prefix(prefix) {
                return Regex::new(pattern)
                    .map(PathSelector::Regex)
                    .map_err(|e| format!("{text:?} is not a valid regular expression: {e}"));
            }
        }
        Ok(PathSelector::Prefix(text.trim_start_matches("./").trim_end_matches('/').to_owned()))
    }

    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathSelector::Glob(glob) => glob_match(glob, path),
            PathSelector::Regex(regex) => regex.is_match(path),
            PathSelector::Prefix(prefix) => {
                prefix.is_empty()
                    || path == prefix
                    || path.strip_prefix(prefix.as_str()).is_some_and(|r| r.starts_with('/'))
            }
        }
    }
}

/// Whether a commit that changed `paths` qualifies: at least one path included (every path is
/// when there are no include selectors) and not excluded.
pub fn paths_qualify(paths: &[String], include: &[PathSelector], exclude: &[PathSelector]) -> bool {
    if include.is_empty() && exclude.is_empty() {
        return true;
    }
    paths
        .iter()
        .any(|p| (include.is_empty() || include.iter().any(|s| s.matches(p))) && !exclude.iter().any(|s| s.matches(p)))
}

/// Doublestar globs: `*` any run without `/`, `**` any run including `/` (and `**/` also
/// nothing), `?` one character but `/`.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p {
            [] => t.is_empty(),
            [b'*', b'*', b'/', rest @ ..] => go(rest, t) || (0..t.len()).any(|i| t[i] == b'/' && go(rest, &t[i + 1..])),
            [b'*', b'*', rest @ ..] => (0..=t.len()).any(|i| go(rest, &t[i..])),
            [b'*', rest @ ..] => (0..=t.len()).take_while(|i| !t[..*i].contains(&b'/')).any(|i| go(rest, &t[i..])),
            [b'?', rest @ ..] => !t.is_empty() && t[0] != b'/' && go(rest, &t[1..]),
            [c, rest @ ..] => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

/// Evaluates an `expressionFilter` (or criteria) over `env`; the result must be a boolean or a
/// string that reads as one.
pub fn expression_holds(code: &str, env: &Map<String, Value>) -> Result<bool, String> {
    let scope = convoy_expr::Scope::from_json(env).map_err(|e| e.to_string())?;
    let value =
        convoy_expr::Evaluator::new(&convoy_expr::NoData).expression(code, &scope).map_err(|e| e.to_string())?;
    truthy(&value).ok_or_else(|| format!("expression {code:?} must evaluate to a boolean, got {value}"))
}

pub(crate) fn truthy(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "true" | "True" | "TRUE" | "1" | "t" | "T" => Some(true),
            "false" | "False" | "FALSE" | "0" | "f" | "F" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_order_strictness_and_constraints() {
        let tags = ["v1.2.0", "1.10.0", "1.9.3", "2.0.0-rc.1", "latest", "1.2", "v2.0.0"];
        assert_eq!(by_semver(tags, true, None), ["v2.0.0", "2.0.0-rc.1", "1.10.0", "1.9.3", "v1.2.0"]);
        assert_eq!(by_semver(tags, false, None), ["v2.0.0", "2.0.0-rc.1", "1.10.0", "1.9.3", "v1.2.0", "1.2"]);
        let constraint = convoy_core::constraint::parse("^1.2").unwrap();
        assert_eq!(by_semver(tags, true, Some(&constraint)), ["1.10.0", "1.9.3", "v1.2.0"]);
        // Ties: Masterminds compares these as equal (build metadata ignored); Kargo orders
        // them by the tag text, greatest first.
        let ties = ["1.0", "1.0.0+b1", "v1.0.0", "1.0.0", "1.0.0+b2"];
        assert_eq!(by_semver(ties, false, None), ["v1.0.0", "1.0.0+b2", "1.0.0+b1", "1.0.0", "1.0"]);
    }

    #[test]
    fn lexical_and_newest() {
        assert_eq!(by_lexical(["a", "c", "b10", "b9"]), ["c", "b9", "b10", "a"]);
        let mut items =
            vec![("x", "2024-01-01T00:00:00Z"), ("y", "2024-01-01T02:00:00+01:00"), ("z", "2023-12-31T00:00:00Z")];
        by_newest(&mut items, |i| i.1, |i| i.0);
        assert_eq!(items.iter().map(|i| i.0).collect::<Vec<_>>(), ["y", "x", "z"], "offsets are honoured");
    }

    #[test]
    fn tag_filters() {
        let filter = TagFilter::new(&["^v".into()], &["-rc".into()]).unwrap();
        assert!(filter.allows("v1.0.0"));
        assert!(!filter.allows("1.0.0"));
        assert!(!filter.allows("v1.0.0-rc.1"));
        assert!(TagFilter::new(&["(".into()], &[]).unwrap_err().contains("allowTagsRegexes"));
    }

    #[test]
    fn path_selectors() {
        let include = [PathSelector::parse("apps/guestbook").unwrap()];
        let exclude =
            [PathSelector::parse("glob:**/*.md").unwrap(), PathSelector::parse("regex:^apps/guestbook/tmp/").unwrap()];
        let qualifies = |paths: &[&str]| {
            paths_qualify(&paths.iter().map(|p| p.to_string()).collect::<Vec<_>>(), &include, &exclude)
        };
        assert!(qualifies(&["apps/guestbook/deploy.yaml"]));
        assert!(!qualifies(&["apps/guestbook-old/deploy.yaml"]), "a prefix is a directory, not a string prefix");
        assert!(!qualifies(&["apps/guestbook/README.md"]));
        assert!(!qualifies(&["apps/guestbook/tmp/x"]));
        assert!(qualifies(&["docs/a.md", "apps/guestbook/values.yaml"]), "one qualifying path is enough");
        assert!(
            glob_match("**/*.yaml", "a.yaml")
                && glob_match("**/*.yaml", "x/y/a.yaml")
                && !glob_match("*.yaml", "x/a.yaml")
        );
    }

    #[test]
    fn expression_filters() {
        let env: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"subject": "fix: x", "author": "a <a@e>"})).unwrap();
        assert_eq!(expression_holds("subject startsWith 'fix'", &env), Ok(true));
        assert_eq!(expression_holds("'false'", &env), Ok(false));
        assert!(expression_holds("42", &env).unwrap_err().contains("boolean"));
    }
}
