//! YAML text in the layout of Go's `gopkg.in/yaml.v3` `Marshal` (what Kargo's `asYAML` uses):
//! four-space indentation, sorted map keys, strings quoted only when they would read back as
//! something else.

use serde_json::Value as Json;

pub fn marshal(value: &Json) -> String {
    let mut out = String::new();
    match value {
        Json::Object(m) if !m.is_empty() => mapping(&mut out, value, 0),
        Json::Array(a) if !a.is_empty() => sequence(&mut out, value, 0),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

const INDENT: usize = 4;

fn mapping(out: &mut String, value: &Json, depth: usize) {
    let Json::Object(map) = value else { return };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        pad(out, depth);
        out.push_str(&scalar_string(key));
        out.push(':');
        child(out, &map[key], depth + INDENT);
    }
}

fn sequence(out: &mut String, value: &Json, depth: usize) {
    let Json::Array(items) = value else { return };
    for item in items {
        pad(out, depth);
        out.push('-');
        match item {
            Json::Object(m) if !m.is_empty() => {
                // The first key shares the dash's line; the rest align under it.
                let mut nested = String::new();
                mapping(&mut nested, item, depth + 2);
                out.push(' ');
                out.push_str(nested.trim_start());
            }
            Json::Array(a) if !a.is_empty() => {
                out.push('\n');
                sequence(out, item, depth + INDENT);
            }
            scalar => {
                out.push(' ');
                push_scalar(out, scalar, depth + 2);
            }
        }
    }
}

fn child(out: &mut String, value: &Json, depth: usize) {
    match value {
        Json::Object(m) if !m.is_empty() => {
            out.push('\n');
            mapping(out, value, depth);
        }
        Json::Array(a) if !a.is_empty() => {
            out.push('\n');
            sequence(out, value, depth);
        }
        scalar => {
            out.push(' ');
            push_scalar(out, scalar, depth);
        }
    }
}

fn push_scalar(out: &mut String, value: &Json, depth: usize) {
    if let Json::String(s) = value
        && s.contains('\n')
    {
        let chomp = if s.ends_with('\n') { "" } else { "-" };
        out.push('|');
        out.push_str(chomp);
        out.push('\n');
        for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
            if !line.is_empty() {
                pad(out, depth);
                out.push_str(line);
            }
            out.push('\n');
        }
        return;
    }
    out.push_str(&inline(value));
    out.push('\n');
}

fn inline(value: &Json) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => crate::gojson::number(n),
        Json::String(s) => scalar_string(s),
        Json::Array(_) => "[]".into(),
        Json::Object(_) => "{}".into(),
    }
}

fn pad(out: &mut String, depth: usize) {
    out.extend(std::iter::repeat_n(' ', depth));
}

/// Plain when it reads back as the same string; double quotes when it would read as another
/// type; single quotes when it only contains characters plain style cannot start or hold.
fn scalar_string(s: &str) -> String {
    if s.is_empty() || resolves_to_non_string(s) {
        return crate::quote::go_quote(s);
    }
    if needs_quotes(s) {
        if s.chars().any(|c| c.is_control()) {
            return crate::quote::go_quote(s);
        }
        return format!("'{}'", s.replace('\'', "''"));
    }
    s.to_owned()
}

fn resolves_to_non_string(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let words = ["null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf", ".nan"];
    words.contains(&lower.as_str()) || s.parse::<f64>().is_ok() || s.starts_with("0x") || s.starts_with("0o")
}

fn needs_quotes(s: &str) -> bool {
    let first = s.chars().next().unwrap_or(' ');
    let indicators = ['-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`'];
    let starts_badly = indicators.contains(&first) && !(first == '-' && s.len() > 1 && !s.starts_with("- "));
    starts_badly
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(|c| c.is_control() && c != '\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layout_of_yaml_v3() {
        assert_eq!(marshal(&json!({"b": 1, "a": "x"})), "a: x\nb: 1\n");
        assert_eq!(marshal(&json!({"a": {"b": [1, 2]}})), "a:\n    b:\n        - 1\n        - 2\n");
        assert_eq!(marshal(&json!([{"q": 1, "m": 2}])), "- m: 2\n  q: 1\n");
        // yaml.v3 quotes YAML 1.1 booleans such as n and yes
        assert_eq!(marshal(&json!({"n": "yes"})), "\"n\": \"yes\"\n");
        assert_eq!(marshal(&json!({"s": "true", "t": "a: b", "e": ""})), "e: \"\"\ns: \"true\"\nt: 'a: b'\n");
        assert_eq!(marshal(&json!({"m": "l1\nl2"})), "m: |-\n    l1\n    l2\n");
        assert_eq!(marshal(&json!("plain")), "plain\n");
        assert_eq!(marshal(&json!({})), "{}\n");
    }
}
