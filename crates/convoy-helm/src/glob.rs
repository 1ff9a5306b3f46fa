//! The two glob dialects charts meet: Go's `filepath.Match` (`.helmignore`) and gobwas/glob
//! with `/` as separator (`.Files.Glob`: `**` crosses directories, `{a,b}` alternatives,
//! `[!x]` negated classes). Matched by dynamic programming over pattern × name, so a hostile
//! pattern costs at most their product, never exponential backtracking.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Go's `path/filepath.Match`: `*`, `?`, `[^a-z]`, `\` escapes.
    GoPath,
    /// gobwas/glob as Helm compiles it (`glob.Compile(pattern, '/')`).
    Gobwas,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    /// `?`: one character but the separator.
    One,
    /// `*`: any run without the separator.
    Any,
    /// `**` (gobwas): any run at all.
    AnyDeep,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Brace alternatives expand to at most this many patterns.
const MAX_ALTERNATIVES: usize = 1024;

/// Whether `name` matches `pattern`; a malformed pattern is an error, as in Go.
pub(crate) fn matches(pattern: &str, name: &str, dialect: Dialect) -> Result<bool, String> {
    let patterns = match dialect {
        Dialect::GoPath => vec![pattern.to_owned()],
        Dialect::Gobwas => expand_braces(pattern)?,
    };
    let name: Vec<char> = name.chars().collect();
    for pattern in patterns {
        if match_tokens(&tokens(&pattern, dialect)?, &name) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Checks a pattern without matching anything (Helm parses `.helmignore` rules this way).
pub(crate) fn check(pattern: &str, dialect: Dialect) -> Result<(), String> {
    match dialect {
        Dialect::GoPath => tokens(pattern, dialect).map(drop),
        Dialect::Gobwas => expand_braces(pattern)?.iter().try_for_each(|p| tokens(p, dialect).map(drop)),
    }
}

fn tokens(pattern: &str, dialect: Dialect) -> Result<Vec<Token>, String> {
    let bad = || Err("syntax error in pattern".to_owned());
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => out.push(Token::Char(escaped)),
                None => return bad(),
            },
            '?' => out.push(Token::One),
            '*' if dialect == Dialect::Gobwas && chars.peek() == Some(&'*') => {
                chars.next();
                out.push(Token::AnyDeep);
            }
            '*' => out.push(Token::Any),
            '[' => {
                let negation = if dialect == Dialect::GoPath { '^' } else { '!' };
                let negated = chars.peek() == Some(&negation) && chars.next().is_some();
                let mut ranges = Vec::new();
                loop {
                    let low = match chars.next() {
                        None => return bad(),
                        Some(']') if !ranges.is_empty() || dialect == Dialect::Gobwas => break,
                        Some(']') => return bad(),
                        Some('-') if dialect == Dialect::GoPath => return bad(),
                        Some('\\') => chars.next().ok_or("syntax error in pattern")?,
                        Some(c) => c,
                    };
                    let high = if chars.peek() == Some(&'-') {
                        chars.next();
                        match chars.next() {
                            None | Some(']') => return bad(),
                            Some('\\') => chars.next().ok_or("syntax error in pattern")?,
                            Some(c) => c,
                        }
                    } else {
                        low
                    };
                    if high < low {
                        return bad();
                    }
                    ranges.push((low, high));
                }
                out.push(Token::Class { negated, ranges });
            }
            c => out.push(Token::Char(c)),
        }
    }
    Ok(out)
}

fn one_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Char(expected) => *expected == c,
        Token::One => c != '/',
        Token::Class { negated, ranges } => ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated,
        Token::Any | Token::AnyDeep => false,
    }
}

/// `reach[j]`: the tokens so far can consume exactly `name[..j]`.
fn match_tokens(tokens: &[Token], name: &[char]) -> bool {
    let mut reach = vec![false; name.len() + 1];
    reach[0] = true;
    for token in tokens {
        let mut next = vec![false; name.len() + 1];
        match token {
            Token::Any | Token::AnyDeep => {
                for j in 0..=name.len() {
                    next[j] = reach[j] || (j > 0 && next[j - 1] && (*token == Token::AnyDeep || name[j - 1] != '/'));
                }
            }
            single => {
                for j in 0..name.len() {
                    next[j + 1] = reach[j] && one_matches(single, name[j]);
                }
            }
        }
        reach = next;
        if !reach.contains(&true) {
            return false;
        }
    }
    reach[name.len()]
}

/// `a{b,c{d,e}}f` → `abf`, `acdf`, `acef`.
fn expand_braces(pattern: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let Some(open) = first_unescaped(&chars, '{') else { return Ok(vec![pattern.to_owned()]) };
    let (mut depth, mut close, mut commas) = (0, None, Vec::new());
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    let close = close.ok_or("unexpected end of input: unclosed {")?;
    let prefix: String = chars[..open].iter().collect();
    let suffix: String = chars[close + 1..].iter().collect();
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for pair in bounds.windows(2) {
        let alternative: String = chars[pair[0] + 1..pair[1]].iter().collect();
        for expanded in expand_braces(&format!("{prefix}{alternative}{suffix}"))? {
            out.push(expanded);
            if out.len() > MAX_ALTERNATIVES {
                return Err(format!("more than {MAX_ALTERNATIVES} alternatives in pattern"));
            }
        }
    }
    Ok(out)
}

fn first_unescaped(chars: &[char], wanted: char) -> Option<usize> {
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == wanted {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(pattern: &str, name: &str) -> bool {
        matches(pattern, name, Dialect::GoPath).unwrap()
    }

    fn gobwas(pattern: &str, name: &str) -> bool {
        matches(pattern, name, Dialect::Gobwas).unwrap()
    }

    /// Cases from Go's documented `filepath.Match` rules.
    #[test]
    fn go_path_match() {
        assert!(go("abc", "abc"));
        assert!(go("*", "abc"));
        assert!(go("*c", "abc"));
        assert!(!go("a*", "ab/c"));
        assert!(go("a*/b", "abc/b"));
        assert!(!go("a*/b", "a/c/b"));
        assert!(go("a*b*c*d*e*/f", "axbxcxdxe/f"));
        assert!(!go("a*b?c*x", "abxbbxdbxebxczzy"));
        assert!(go("ab[c]", "abc"));
        assert!(go("ab[b-d]", "abc"));
        assert!(!go("ab[e-g]", "abc"));
        assert!(go("ab[^e-g]", "abc"));
        assert!(!go("a?b", "a/b"));
        assert!(go("a\\*b", "a*b"));
        assert!(!go("a\\*b", "ab"));
        assert!(go("[\\-]", "-"));
        for bad in ["[", "[^", "a[", "[]a]", "\\", "[x-]", "[-a]"] {
            assert!(matches(bad, "a", Dialect::GoPath).is_err(), "{bad}");
        }
    }

    #[test]
    fn gobwas_glob_with_separator() {
        assert!(gobwas("files/*", "files/a.txt"));
        assert!(!gobwas("files/*", "files/sub/a.txt"));
        assert!(gobwas("files/**", "files/sub/a.txt"));
        assert!(gobwas("**.json", "dashboards/a/b.json"));
        assert!(gobwas("*.{yaml,yml}", "a.yml"));
        assert!(!gobwas("*.{yaml,yml}", "a.json"));
        assert!(gobwas("{a,b{c,d}}/x", "bd/x"));
        assert!(gobwas("[!a]*", "bcd"));
        assert!(!gobwas("[!a]*", "abc"));
        assert!(gobwas("?.txt", "a.txt"));
    }

    #[test]
    fn hostile_patterns_stay_cheap() {
        let name = "a".repeat(2000);
        assert!(!gobwas(&format!("{}b", "*a".repeat(200)), &name));
        let braces = "{a,b}".repeat(20);
        assert!(matches(&braces, "a", Dialect::Gobwas).unwrap_err().contains("alternatives"));
    }
}
