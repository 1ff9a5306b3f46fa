//! The `labelSelector` query grammar of the Kubernetes API (api-concepts): `k=v`, `k==v`,
//! `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, joined by commas. Written from the
//! grammar, not from Convoy's renderer, so that it checks what Convoy sends.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector(Vec<Term>);

fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn valid_word(word: &str, allow_slash: bool) -> bool {
    !word.is_empty()
        && word.len() <= 316
        && word.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') || (allow_slash && c == '/'))
}

fn set(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("expected a (set) in {text:?}"))?;
    let values: Vec<String> = inner.split(',').map(|v| v.trim().to_owned()).collect();
    if values.iter().any(|v| !v.is_empty() && !valid_word(v, false)) {
        return Err(format!("invalid value in set {text:?}"));
    }
    Ok(values)
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut terms = Vec::new();
        if text.trim().is_empty() {
            return Ok(Selector(terms));
        }
        for part in split_top_level(text) {
            let part = part.trim();
            let key_ok =
                |k: &str| if valid_word(k, true) { Ok(k.to_owned()) } else { Err(format!("invalid label key {k:?}")) };
            let value_ok = |v: &str| {
                let v = v.trim();
                if v.is_empty() || valid_word(v, false) {
                    Ok(v.to_owned())
                } else {
                    Err(format!("invalid label value {v:?}"))
                }
            };
            let term = if let Some(key) = part.strip_prefix('!') {
                Term::Absent(key_ok(key.trim())?)
            } else if let Some((k, v)) = part.split_once("!=") {
                Term::NotEquals(key_ok(k.trim())?, value_ok(v)?)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Term::Equals(key_ok(k.trim())?, value_ok(v)?)
            } else if let Some((k, rest)) = part.split_once(" notin ").or_else(|| part.split_once(" notin(")) {
                let rest = if part.contains(" notin(") { format!("({rest}") } else { rest.to_owned() };
                Term::NotIn(key_ok(k.trim())?, set(&rest)?)
            } else if let Some((k, rest)) = part.split_once(" in ").or_else(|| part.split_once(" in(")) {
                let rest = if part.contains(" in(") { format!("({rest}") } else { rest.to_owned() };
                Term::In(key_ok(k.trim())?, set(&rest)?)
            } else {
                Term::Exists(key_ok(part)?)
            };
            terms.push(term);
        }
        Ok(Selector(terms))
    }

    /// Whether an object's labels satisfy every term (`!=` and `notin` match a missing key).
    pub fn matches(&self, object: &Value) -> bool {
        let label = |k: &str| object.pointer("/metadata/labels").and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|term| match term {
            Term::Equals(k, v) => label(k) == Some(v),
            Term::NotEquals(k, v) => label(k) != Some(v),
            Term::In(k, values) => label(k).is_some_and(|l| values.iter().any(|v| v == l)),
            Term::NotIn(k, values) => label(k).is_none_or(|l| !values.iter().any(|v| v == l)),
            Term::Exists(k) => label(k).is_some(),
            Term::Absent(k) => label(k).is_none(),
        })
    }
}
