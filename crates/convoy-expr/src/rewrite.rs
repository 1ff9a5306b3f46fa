//! Source rewrites applied before expr-lang compiles an expression, for two gaps between
//! expr-lang (Rust) and Go's expr as Kargo uses it.
//!
//! 1. Map literals with list, map or computed values (`{"a": [1]}`, `[{"t": vars.x}]`) make
//!    expr-lang 2.1 panic; every map literal becomes `__map("a", [1])`, a function building the
//!    same map.
//! 2. `semverParse(v).Major()` calls methods of Go's `*semver.Version`; Convoy's version is a
//!    map, so those method calls become field reads (`.Major`).
//!
//! And one for safety: 3. ranges `a..b` become `__range((a), (b))`, which charges the memory
//! budget before building the list (see `budget`).

use crate::budget::RANGE_FUNCTION;
use crate::functions::{MAP_FUNCTION, SEMVER_METHODS};

pub(crate) fn rewrite(code: &str) -> String {
    rewrite_ranges(&rewrite_methods(&rewrite_map_literals(code)))
}

/// One lexical piece of an expression: what range operands are made of.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// Text that never ends an operand: names, numbers, strings, `.`, `+`, `*`, spaces...
    Part(String),
    /// A bracketed group, its inside already rewritten.
    Group(String),
    /// An operator or word binding looser than `..` (or `..` itself): operands stop there.
    Boundary(String),
}

const LOOSER_OPERATORS: [&str; 17] =
    ["..", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "<", ">", ",", ":", "?", ";", "|", "="];
const LOOSER_WORDS: [&str; 10] =
    ["and", "or", "in", "contains", "startsWith", "endsWith", "matches", "let", "if", "else"];

fn tokens(chars: &[char]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`') {
            let end = string_end(chars, i);
            out.push(Token::Part(chars[i..end].iter().collect()));
            i = end;
            continue;
        }
        if matches!(c, '(' | '[' | '{') {
            let close = matching(chars, i);
            let inner = rewrite_ranges(&chars[i + 1..close.min(chars.len())].iter().collect::<String>());
            let closing = chars.get(close).map(char::to_string).unwrap_or_default();
            out.push(Token::Group(format!("{c}{inner}{closing}")));
            i = close + 1;
            continue;
        }
        if c.is_alphanumeric() || c == '_' || c == '$' || c == '#' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$' | '#')) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // A number's decimal point (`1.5`) is part of it; `1..5` is a range.
            let word = if word.bytes().all(|b| b.is_ascii_digit())
                && chars.get(i) == Some(&'.')
                && chars.get(i + 1).is_some_and(char::is_ascii_digit)
            {
                let fraction_end = i + 1 + chars[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                let number: String = chars[start..fraction_end].iter().collect();
                i = fraction_end;
                number
            } else {
                word
            };
            out.push(if LOOSER_WORDS.contains(&word.as_str()) { Token::Boundary(word) } else { Token::Part(word) });
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if let Some(op) = LOOSER_OPERATORS.iter().find(|op| rest.starts_with(**op)) {
            out.push(Token::Boundary((*op).to_owned()));
            i += op.len();
            continue;
        }
        out.push(Token::Part(c.to_string()));
        i += 1;
    }
    out
}

fn text(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Token::Part(s) | Token::Group(s) | Token::Boundary(s) => s.as_str(),
        })
        .collect()
}

/// `a..b` becomes `__range((a), (b))`: `..` binds looser than arithmetic and tighter than
/// comparisons, so its operands run to the nearest looser operator at the same bracket depth.
fn rewrite_ranges(code: &str) -> String {
    if !code.contains("..") {
        return code.to_owned();
    }
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = tokens(&chars);
    while let Some(at) = tokens.iter().position(|t| *t == Token::Boundary("..".into())) {
        let start = tokens[..at].iter().rposition(|t| matches!(t, Token::Boundary(_))).map_or(0, |p| p + 1);
        let end =
            tokens[at + 1..].iter().position(|t| matches!(t, Token::Boundary(_))).map_or(tokens.len(), |p| at + 1 + p);
        let (left, right) = (text(&tokens[start..at]), text(&tokens[at + 1..end]));
        // Keep the spaces around the operands outside the call.
        let lead: String = left.chars().take_while(|c| c.is_whitespace()).collect();
        let trail: String = right.chars().rev().take_while(|c| c.is_whitespace()).collect();
        let call = format!("{lead}{RANGE_FUNCTION}(({}), ({})){trail}", left.trim(), right.trim());
        tokens.splice(start..end, [Token::Group(call)]);
    }
    text(&tokens)
}

/// How deep brackets may nest in one expression.
pub const MAX_BRACKET_DEPTH: usize = 12;

/// Refuses unbalanced or deeply nested brackets before expr-lang's parser sees them: its
/// grammar tries `a[x]` and `a[x:y]` (and a map literal and a predicate after `{`) by parsing
/// the inside again, so each level that fails doubles the work. A 120-character expression
/// with unclosed brackets took minutes (found by fuzzing); within this depth it takes
/// milliseconds.
pub(crate) fn check_brackets(code: &str) -> Result<(), String> {
    let chars: Vec<char> = code.chars().collect();
    let mut open: Vec<char> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = string_end(&chars, i);
                continue;
            }
            c @ ('(' | '[' | '{') => {
                open.push(c);
                if open.len() > MAX_BRACKET_DEPTH {
                    return Err(format!(
                        "brackets nest deeper than {MAX_BRACKET_DEPTH} levels; split the expression into vars"
                    ));
                }
            }
            c @ (')' | ']' | '}') => {
                let opener = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if open.pop() != Some(opener) {
                    return Err(format!("unbalanced brackets: {c:?} at column {} closes nothing open", i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    match open.last() {
        Some(c) => Err(format!("unbalanced brackets: a {c:?} is never closed")),
        None => Ok(()),
    }
}

/// Index just past the string literal starting at `start`.
pub(crate) fn string_end(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == '\\' && quote != '`' {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// Index of the bracket closing the one at `open`, or the end.
fn matching(chars: &[char], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = string_end(chars, i);
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

/// Splits at `sep` where no bracket or string is open.
fn split_top(chars: &[char], sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut depth, mut start, mut i) = (0i32, 0, 0);
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = string_end(chars, i);
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(chars[start..i].iter().collect());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(chars[start..].iter().collect());
    parts
}

fn rewrite_map_literals(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`') {
            let end = string_end(&chars, i);
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if c == '{' && starts_value(&chars, i) {
            let close = matching(&chars, i);
            if let Some(replacement) = map_literal(&chars[i + 1..close.min(chars.len())]) {
                out.push_str(&replacement);
                i = close + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// A `{` opens a map literal where a value is expected; after `if cond` or `else` it opens a
/// block (the previous token then ends in a word character or a closing bracket).
fn starts_value(chars: &[char], at: usize) -> bool {
    let previous = chars[..at].iter().rev().find(|c| !c.is_whitespace());
    !previous.is_some_and(|p| p.is_alphanumeric() || matches!(p, '_' | ')' | ']' | '}' | '"' | '\''))
}

/// `__map(k, v, ...)` for a map literal; `None` keeps what is not one (a block, `{}`).
fn map_literal(body: &[char]) -> Option<String> {
    let entries = split_top(body, ',');
    let mut pairs = Vec::new();
    for entry in entries.iter().filter(|e| !e.trim().is_empty()) {
        let entry_chars: Vec<char> = entry.chars().collect();
        let parts = split_top(&entry_chars, ':');
        if parts.len() < 2 {
            return None;
        }
        let key = parts[0].trim();
        let value = parts[1..].join(":");
        let value_trimmed = value.trim();
        let key = if key.starts_with(['"', '\'']) { key.to_owned() } else { format!("{key:?}") };
        pairs.push(format!("{key}, {}", rewrite_map_literals(value_trimmed)));
    }
    (!pairs.is_empty()).then(|| format!("{MAP_FUNCTION}({})", pairs.join(", ")))
}

/// `.Major()` and friends become `.Major` (see the module docs). `.String()` is rewritten only
/// when the expression uses `semverParse`, as temporal values have a real `String()` method.
fn rewrite_methods(code: &str) -> String {
    let rewrite_string = code.contains("semverParse");
    let mut out = String::with_capacity(code.len());
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`') {
            let end = string_end(&chars, i);
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if c == '.' {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            let mut after = end;
            while after < chars.len() && chars[after] == ' ' {
                after += 1;
            }
            let empty_call =
                chars.get(after) == Some(&'(') && chars[after + 1..].iter().find(|c| **c != ' ') == Some(&')');
            let applies = SEMVER_METHODS.contains(&name.as_str()) && (name != "String" || rewrite_string);
            if empty_call && applies {
                out.push('.');
                out.push_str(&name);
                let close = chars[after + 1..].iter().position(|c| *c == ')').map_or(chars.len(), |p| after + 1 + p);
                i = close + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_calls() {
        assert_eq!(rewrite_methods("semverParse(v).IncMinor().String()"), "semverParse(v).IncMinor.String");
        assert_eq!(rewrite_methods("x.Major( ) + 'a.Major()'"), "x.Major + 'a.Major()'");
        assert_eq!(rewrite_methods("now().String()"), "now().String()");
    }

    #[test]
    fn brackets() {
        assert!(check_brackets("f(a[1], {x: '}'}) + \"(\"").is_ok());
        assert!(check_brackets("a[1").unwrap_err().contains("never closed"));
        assert!(check_brackets("a]").unwrap_err().contains("closes nothing"));
        assert!(check_brackets("f(a]").is_err());
        let deep = "a[".repeat(MAX_BRACKET_DEPTH + 1) + "1" + &"]".repeat(MAX_BRACKET_DEPTH + 1);
        assert!(check_brackets(&deep).unwrap_err().contains("deeper than"));
    }

    #[test]
    fn ranges() {
        assert_eq!(rewrite_ranges("len(0..1000000000)"), "len(__range((0), (1000000000)))");
        assert_eq!(rewrite_ranges("1 + 2..n * 3"), "__range((1 + 2), (n * 3))");
        assert_eq!(rewrite_ranges("x in 1..3"), "x in __range((1), (3))");
        assert_eq!(rewrite_ranges("map(1..len(a.b), # * 2)"), "map(__range((1), (len(a.b))), # * 2)");
        assert_eq!(rewrite_ranges("a ? 1..2 : 3..4"), "a ? __range((1), (2)) : __range((3), (4))");
        assert_eq!(rewrite_ranges("'a..b' + x.y"), "'a..b' + x.y");
        assert_eq!(rewrite_ranges("1.5 + 2"), "1.5 + 2");
        assert_eq!(rewrite_ranges("let n = 5; 0..n"), "let n = 5; __range((0), (n))");
        assert_eq!(rewrite_ranges("[0..2, 3]"), "[__range((0), (2)), 3]");
    }

    #[test]
    fn map_literals() {
        assert_eq!(rewrite_map_literals("{\"a\": [1]}"), "__map(\"a\", [1])");
        assert_eq!(
            rewrite_map_literals("f({a: {b: [1, 2]}, c: 3})"),
            "f(__map(\"a\", __map(\"b\", [1, 2]), \"c\", 3))"
        );
        assert_eq!(rewrite_map_literals("{\"a\": 1}"), "__map(\"a\", 1)");
        assert_eq!(rewrite_map_literals("{}"), "{}");
        assert_eq!(rewrite_map_literals("if x { [1] } else { [2] }"), "if x { [1] } else { [2] }");
        assert_eq!(rewrite_map_literals("'{\"a\": [1]}'"), "'{\"a\": [1]}'");
        assert_eq!(rewrite_map_literals("{\"a\": x ? [1] : [2]}"), "__map(\"a\", x ? [1] : [2])");
    }
}
