//! Semantic-version constraints in the syntax Kargo accepts (Masterminds semver v3):
//! `>=1.0.0 <2.0.0`, `^1.2 || ~2.0`, `1.2.x`, `1.2 - 1.4.5`, an optional `v` prefix.
//! This module parses; matching comes with discovery.

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
