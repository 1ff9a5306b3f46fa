//! Semantic-version constraints in the syntax Kargo accepts (Masterminds semver v3):
//! `>=1.0.0 <2.0.0`, `^1.2 || ~2.0`, `1.2.x`, `1.2 - 1.4.5`, an optional `v` prefix.
//! Matching follows Masterminds v3: wildcards make ranges, and a comparator without a
//! pre-release never matches a pre-release version.

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

/// A version with parts possibly missing or wildcarded (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialVersion {
    pub major: Option<u64>,
    pub minor: Option<u64>,
    pub patch: Option<u64>,
    pub pre: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparator {
    Compare(Op, PartialVersion),
    /// `a - b`
    Range(PartialVersion, PartialVersion),
}

/// OR of ANDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub alternatives: Vec<Vec<Comparator>>,
}

/// Parses a constraint; the error reads like Masterminds' (`improper constraint: ...`).
pub fn parse(text: &str) -> Result<Constraint, String> {
    let improper = || format!("improper constraint: {text}");
    let mut alternatives = Vec::new();
    for group in text.split("||") {
        let tokens: Vec<&str> = group.split([',', ' ', '\t']).filter(|t| !t.is_empty()).collect();
        if tokens.is_empty() {
            return Err(improper());
        }
        let mut comparators = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let (op, rest) = split_operator(tokens[i]);
            let (version_text, consumed) =
                if rest.is_empty() { (*tokens.get(i + 1).ok_or_else(improper)?, 2) } else { (rest, 1) };
            let version = parse_version(version_text).ok_or_else(improper)?;
            i += consumed;
            if op.is_none() && tokens.get(i) == Some(&"-") {
                let upper = parse_version(tokens.get(i + 1).ok_or_else(improper)?).ok_or_else(improper)?;
                comparators.push(Comparator::Range(version, upper));
                i += 2;
                continue;
            }
            comparators.push(Comparator::Compare(op.unwrap_or(Op::Eq), version));
        }
        alternatives.push(comparators);
    }
    Ok(Constraint { alternatives })
}

use std::cmp::Ordering;

use convoy_expr::semver::Version;

impl Constraint {
    /// Whether `version` satisfies any alternative (all comparators of it).
    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|all| all.iter().all(|c| c.matches(version)))
    }
}

impl Comparator {
    pub fn matches(&self, v: &Version) -> bool {
        match self {
            Comparator::Range(low, high) => {
                Comparator::Compare(Op::Ge, low.clone()).matches(v)
                    && Comparator::Compare(Op::Le, high.clone()).matches(v)
            }
            Comparator::Compare(op, c) => {
                if !v.pre.is_empty() && c.pre.is_empty() {
                    return false;
                }
                let floor = c.floor();
                let (low, high) = c.range(*op);
                match op {
                    Op::Eq if !c.is_partial() => v.precedence(&floor) == Ordering::Equal,
                    Op::Ne if !c.is_partial() => v.precedence(&floor) != Ordering::Equal,
                    Op::Eq => in_range(v, &low, high.as_ref()),
                    Op::Ne => !in_range(v, &low, high.as_ref()),
                    Op::Ge => v.precedence(&floor) != Ordering::Less,
                    Op::Lt => v.precedence(&floor) == Ordering::Less,
                    // Past the whole wildcard range (`>1.2` is `>=1.3.0`), or past the version.
                    Op::Gt => match high {
                        Some(high) if c.is_partial() => v.precedence(&high) != Ordering::Less,
                        _ => v.precedence(&floor) == Ordering::Greater,
                    },
                    // Within or below the wildcard range (`<=1.2` is `<1.3.0`).
                    Op::Le => match high {
                        Some(high) if c.is_partial() => v.precedence(&high) == Ordering::Less,
                        _ => v.precedence(&floor) != Ordering::Greater,
                    },
                    Op::Tilde | Op::Caret => in_range(v, &low, high.as_ref()),
                }
            }
        }
    }
}

fn in_range(v: &Version, low: &Version, high: Option<&Version>) -> bool {
    v.precedence(low) != Ordering::Less && high.is_none_or(|h| v.precedence(h) == Ordering::Less)
}

fn version(major: u64, minor: u64, patch: u64, pre: &str) -> Version {
    Version { major, minor, patch, pre: pre.to_owned(), metadata: String::new(), original: String::new() }
}

impl PartialVersion {
    fn is_partial(&self) -> bool {
        self.major.is_none() || self.minor.is_none() || self.patch.is_none()
    }

    /// Missing parts read as 0.
    fn floor(&self) -> Version {
        version(self.major.unwrap_or(0), self.minor.unwrap_or(0), self.patch.unwrap_or(0), &self.pre)
    }

    /// `[low, high)` the comparator allows for `=`, `~`, `^` and wildcard bounds; `None` is unbounded.
    fn range(&self, op: Op) -> (Version, Option<Version>) {
        let low = self.floor();
        let (major, minor, patch) = (self.major, self.minor, self.patch);
        let high = match (op, major, minor, patch) {
            (_, None, _, _) => None,
            (Op::Caret, Some(0), Some(0), Some(p)) => Some(version(0, 0, p + 1, "")),
            (Op::Caret, Some(0), Some(m), _) if m > 0 || minor.is_some() && patch.is_none() => {
                Some(version(0, m + 1, 0, ""))
            }
            (Op::Caret, Some(x), _, _) => Some(version(x + 1, 0, 0, "")),
            (Op::Tilde, Some(x), None, _) => Some(version(x + 1, 0, 0, "")),
            (Op::Tilde, Some(x), Some(m), _) => Some(version(x, m + 1, 0, "")),
            (_, Some(x), None, _) => Some(version(x + 1, 0, 0, "")),
            (_, Some(x), Some(m), None) => Some(version(x, m + 1, 0, "")),
            // Exact: the one version (with its pre-release).
            (_, Some(_), Some(_), Some(_)) => None,
        };
        (low, high)
    }
}

fn split_operator(token: &str) -> (Option<Op>, &str) {
    const OPS: &[(&str, Op)] = &[
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("~>", Op::Tilde),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ];
    OPS.iter().find_map(|(text, op)| token.strip_prefix(text).map(|rest| (Some(*op), rest))).unwrap_or((None, token))
}

fn parse_version(text: &str) -> Option<PartialVersion> {
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let (core, _build) = text.split_once('+').map_or((text, None), |(c, b)| (c, Some(b)));
    let (core, pre) = core.split_once('-').map_or((core, ""), |(c, p)| (c, p));
    let valid_pre =
        pre.split('.').all(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !pre.is_empty() && !valid_pre {
        return None;
    }
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let part = |i: usize| -> Option<Option<u64>> {
        match parts.get(i) {
            None | Some(&"x") | Some(&"X") | Some(&"*") => Some(None),
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse().ok().map(Some)
            }
            _ => None,
        }
    };
    Some(PartialVersion { major: part(0)?, minor: part(1)?, patch: part(2)?, pre: pre.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masterminds_syntax_parses() {
        for ok in [
            ">=1.0.0 <2.0.0",
            ">= 1.2, < 1.3",
            "^1.2 || ^2.0",
            "~1.2.3",
            "~>1.2",
            "1.2.x",
            "*",
            "v1.2.3",
            "1.2 - 1.4.5",
            ">1.0.0-beta.1",
            "=1.0.0",
            "!=1.5.0",
            "1.x || >=2.5.0 || 5.0.0 - 7.2.3",
            "^0.0",
        ] {
            assert!(parse(ok).is_ok(), "{ok} should parse");
        }
        for bad in ["", ">=", "^one", "1.2.3.4", ">=1.0.0 ||", "1.0.0 -", "~1.2.3-beta..1"] {
            assert_eq!(parse(bad), Err(format!("improper constraint: {bad}")), "{bad} should fail");
        }
    }

    /// The equivalences of the Masterminds semver README, checked on versions around each edge.
    #[test]
    fn masterminds_documented_ranges() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (">= 1.2, < 3.0.0 || >= 4.2.3", &["1.2.0", "2.9.9", "4.2.3", "5.0.0"], &["1.1.9", "3.0.0", "4.2.2"]),
            ("1.2 - 1.4.5", &["1.2.0", "1.4.5"], &["1.1.9", "1.4.6"]),
            ("2.3.4 - 4.5", &["2.3.4", "4.5.9"], &["2.3.3", "4.6.0"]),
            ("1.2.x", &["1.2.0", "1.2.9"], &["1.1.9", "1.3.0"]),
            (">= 1.2.x", &["1.2.0", "9.0.0"], &["1.1.9"]),
            ("<= 2.x", &["2.9.9", "0.1.0"], &["3.0.0"]),
            ("*", &["0.0.0", "10.0.0"], &["1.0.0-beta"]),
            ("~1.2.3", &["1.2.3", "1.2.9"], &["1.2.2", "1.3.0"]),
            ("~1", &["1.0.0", "1.9.9"], &["0.9.9", "2.0.0"]),
            ("~2.3", &["2.3.0", "2.3.9"], &["2.2.9", "2.4.0"]),
            ("~1.2.x", &["1.2.0", "1.2.9"], &["1.3.0"]),
            ("~1.x", &["1.0.0", "1.9.0"], &["2.0.0"]),
            ("^1.2.3", &["1.2.3", "1.9.9"], &["1.2.2", "2.0.0"]),
            ("^1.2.x", &["1.2.0", "1.9.9"], &["1.1.9", "2.0.0"]),
            ("^2.3", &["2.3.0", "2.9.0"], &["2.2.9", "3.0.0"]),
            ("^2.x", &["2.0.0", "2.9.9"], &["1.9.9", "3.0.0"]),
            ("^0.2.3", &["0.2.3", "0.2.9"], &["0.2.2", "0.3.0"]),
            ("^0.2", &["0.2.0", "0.2.9"], &["0.1.9", "0.3.0"]),
            ("^0.0.3", &["0.0.3"], &["0.0.2", "0.0.4"]),
            ("^0.0", &["0.0.0", "0.0.9"], &["0.1.0"]),
            ("^0", &["0.0.0", "0.9.9"], &["1.0.0"]),
            (">1.2", &["1.3.0"], &["1.2.9"]),
            ("<1.2", &["1.1.9"], &["1.2.0"]),
            ("=1.2.3", &["1.2.3", "v1.2.3"], &["1.2.4"]),
            ("!=1.2.3", &["1.2.4"], &["1.2.3"]),
            // Pre-releases only match comparators that name one.
            (">=1.2.0", &["1.2.0"], &["1.3.0-beta.1"]),
            (">=1.2.3-0", &["1.2.3-alpha", "1.3.0-beta"], &["1.2.2"]),
            ("1.0.0-beta.2", &["1.0.0-beta.2"], &["1.0.0-beta.11"]),
        ];
        for (constraint, matching, not_matching) in cases {
            let parsed = parse(constraint).unwrap();
            for v in *matching {
                assert!(parsed.matches(&Version::parse(v).unwrap()), "{constraint} should match {v}");
            }
            for v in *not_matching {
                assert!(!parsed.matches(&Version::parse(v).unwrap()), "{constraint} should not match {v}");
            }
        }
    }

    #[test]
    fn precedence_follows_semver_11() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ];
        for pair in ordered.windows(2) {
            let (a, b) = (Version::parse(pair[0]).unwrap(), Version::parse(pair[1]).unwrap());
            assert_eq!(a.precedence(&b), Ordering::Less, "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn structure() {
        let c = parse(">=1.0.0 <2 || 3.x").unwrap();
        assert_eq!(c.alternatives.len(), 2);
        assert_eq!(c.alternatives[0].len(), 2);
        let Comparator::Compare(Op::Lt, v) = &c.alternatives[0][1] else { panic!() };
        assert_eq!((v.major, v.minor), (Some(2), None));
        assert!(matches!(parse("1.2 - 1.4").unwrap().alternatives[0][0], Comparator::Range(..)));
    }
}
