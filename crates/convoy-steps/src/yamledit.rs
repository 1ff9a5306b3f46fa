//! Editing YAML in place, keeping comments and layout, and checking every edit by reading the
//! result back.

use std::str::FromStr;

use serde_json::Value;
use yaml_edit::Document;
use yaml_edit::path::YamlPath;

/// A Kargo key (`a.b.0.c`, `\.` for a literal dot) as a yaml-edit path (`a.b[0].c`).
pub fn to_edit_path(key: &str) -> String {
    let mut segments: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                current.push_str("\\.");
                chars.next();
            }
            '.' => segments.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    segments.push(current);
    let mut path = String::new();
    for segment in segments {
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) && !path.is_empty() {
            path.push_str(&format!("[{segment}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
        }
    }
    path
}

/// Vets YAML from a repository or the network before a parser without limits reads it: nesting
/// and alias expansion are capped (`convoy_api::yaml::check_limits`). serde_yaml's own limits
/// come after it has read every event, which takes minutes for a 100,000-deep document.
pub(crate) fn check(text: &str) -> Result<(), String> {
    convoy_api::yaml::check_limits(text)
        .map_err(|e| format!("not valid YAML: line {}, column {}: {}", e.position.line, e.position.column, e.message))
}

/// [`check`], then serde_yaml.
pub(crate) fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    check(text)?;
    serde_yaml::from_str(text).map_err(|e| format!("not valid YAML: {e}"))
}

/// Sets each `(key, value)` in the YAML text; scalar values only.
pub fn set_values(text: &str, updates: &[(String, Value)]) -> Result<String, String> {
    check(text)?;
    let document = Document::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    for (key, value) in updates {
        let path = to_edit_path(key);
        let result = match value {
            Value::String(s) => document.try_set_path(&path, s.as_str()),
            Value::Bool(b) => document.try_set_path(&path, *b),
            Value::Number(n) if n.is_i64() => document.try_set_path(&path, n.as_i64().unwrap_or_default()),
            Value::Number(n) => document.try_set_path(&path, n.as_f64().unwrap_or_default()),
            Value::Null => document.try_set_path(&path, Option::<String>::None),
            _ => return Err(format!("{key}: only strings, numbers, booleans and null can be set")),
        };
        result.map_err(|e| format!("{key}: {e}"))?;
    }
    let edited = document.to_string();
    verify(&edited, updates)?;
    Ok(edited)
}

/// Reads the edited text back and checks every key holds what was set.
fn verify(edited: &str, updates: &[(String, Value)]) -> Result<(), String> {
    let parsed: Value = serde_yaml::from_str(edited).map_err(|e| format!("the edit produced invalid YAML: {e}"))?;
    for (key, expected) in updates {
        let mut node = &parsed;
        for part in split_key(key) {
            node = match node {
                Value::Object(map) => map.get(&part).unwrap_or(&Value::Null),
                Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)).unwrap_or(&Value::Null),
                _ => &Value::Null,
            };
        }
        let same = node == expected || (node.as_f64().is_some() && node.as_f64() == expected.as_f64());
        if !same {
            return Err(format!("{key}: after the edit the file holds {node} instead of {expected}"));
        }
    }
    Ok(())
}

fn split_key(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                current.push('.');
                chars.next();
            }
            '.' => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        assert_eq!(to_edit_path("image.tag"), "image.tag");
        assert_eq!(to_edit_path("images.0.newTag"), "images[0].newTag");
        assert_eq!(to_edit_path("annotations.kargo\\.akuity\\.io/x"), "annotations.kargo\\.akuity\\.io/x");
    }

    #[test]
    fn edits_keep_comments_and_are_verified() {
        let text = "# values\nimage:\n  repository: app # keep me\n  tag: 1.0.0\nreplicas: 1\n";
        let edited = set_values(text, &[("image.tag".into(), json!("1.30")), ("replicas".into(), json!(3))]).unwrap();
        assert!(edited.contains("# values") && edited.contains("# keep me"), "{edited}");
        let parsed: Value = serde_yaml::from_str(&edited).unwrap();
        assert_eq!(parsed["image"]["tag"], json!("1.30"), "a number-looking string stays a string");
        assert_eq!(parsed["replicas"], json!(3));
        assert!(set_values("a: [1", &[("a".into(), json!(1))]).is_err());
    }

    #[test]
    fn hostile_files_are_refused_before_editing() {
        let deep = "a: ".to_owned() + &"[".repeat(100_000) + &"]".repeat(100_000);
        let mut laughs = String::from("a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
        for level in 1..=9 {
            laughs.push_str(&format!("a{level}: &a{level} [{}]\n", vec![format!("*a{}", level - 1); 10].join(",")));
        }
        for text in [deep, laughs] {
            let started = std::time::Instant::now();
            let error = set_values(&text, &[("b".into(), json!(1))]).unwrap_err();
            assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
            assert!(error.contains("deeper than 64") || error.contains("aliases expand"), "{error}");
        }
    }
}
