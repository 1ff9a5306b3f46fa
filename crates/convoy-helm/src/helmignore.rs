//! `.helmignore` (Helm's `pkg/ignore`): one rule a line, `#` comments, Go `filepath.Match`
//! globs without `**`; a rule with `/` matches the path from the chart's root, one without
//! matches the base name; a trailing `/` matches directories only; and Helm's reading of `!`:
//! a negated rule that does *not* match ignores the path. `templates/.?*` always applies.

use crate::glob::{Dialect, check, matches};

#[derive(Debug)]
struct Rule {
    pattern: String,
    negate: bool,
    directories_only: bool,
    /// Matched against the whole relative path, not only its last element.
    whole_path: bool,
}

#[derive(Debug)]
pub(crate) struct Rules(Vec<Rule>);

impl Rules {
    /// Helm's defaults and the chart's `.helmignore` text.
    pub(crate) fn parse(text: &str) -> Result<Rules, String> {
        let mut rules = Vec::new();
        for (number, line) in std::iter::once("templates/.?*").chain(text.lines()).enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |why: &str| Err(format!(".helmignore:{number}: {why}: {line:?}"));
            if line.contains("**") {
                return fail("double-star (**) syntax is not supported");
            }
            if check(line, Dialect::GoPath).is_err() {
                return fail("syntax error in pattern");
            }
            let mut pattern = line;
            let negate = pattern.starts_with('!');
            if negate {
                pattern = &pattern[1..];
            }
            let directories_only = pattern.ends_with('/');
            pattern = pattern.trim_end_matches('/');
            let anchored = pattern.starts_with('/');
            pattern = pattern.trim_start_matches('/');
            let whole_path = anchored || pattern.contains('/');
            rules.push(Rule { pattern: pattern.to_owned(), negate, directories_only, whole_path });
        }
        Ok(Rules(rules))
    }

    /// Whether `path` (relative to the chart's root, with `/`) is left out.
    pub(crate) fn ignores(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." {
            return false;
        }
        let base = path.rsplit('/').next().unwrap_or(path);
        for rule in &self.0 {
            let subject = if rule.whole_path { path } else { base };
            let matched = matches(&rule.pattern, subject, Dialect::GoPath).unwrap_or(false);
            if rule.negate {
                if (rule.directories_only && !is_dir) || !matched {
                    return true;
                }
                continue;
            }
            if rule.directories_only && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_as_helm_reads_them() {
        let rules = Rules::parse("# comment\n\n*.swp\n.git/\nci/\n/top.txt\ndocs/*.md\n").unwrap();
        assert!(rules.ignores("a.swp", false));
        assert!(rules.ignores("templates/deep/a.swp", false));
        assert!(rules.ignores(".git", true));
        assert!(!rules.ignores(".git", false), "a trailing / matches directories only");
        assert!(rules.ignores("ci", true));
        assert!(rules.ignores("top.txt", false));
        assert!(!rules.ignores("sub/top.txt", false), "a rule with / matches the whole path");
        assert!(rules.ignores("docs/a.md", false));
        assert!(!rules.ignores("docs/sub/a.md", false));
        assert!(rules.ignores("templates/.hidden", false), "Helm's default rule");
        assert!(!rules.ignores("templates/deployment.yaml", false));
        assert!(!rules.ignores("values.yaml", false));
    }

    #[test]
    fn a_negated_rule_ignores_what_it_does_not_match() {
        let rules = Rules::parse("!keep.txt\n").unwrap();
        assert!(rules.ignores("other.txt", false));
        assert!(!rules.ignores("keep.txt", false));
    }

    #[test]
    fn bad_rules_are_errors_with_their_line() {
        assert!(Rules::parse("a/**/b\n").unwrap_err().contains("double-star"));
        assert!(Rules::parse("ok\n[\n").unwrap_err().contains(".helmignore:2: syntax error"));
    }
}
