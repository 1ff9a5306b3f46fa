//! Values YAML as Helm reads it (sigs.k8s.io/yaml over yaml.v2, `helm-rendering.md` §4.1):
//! YAML 1.1 scalars (`yes`/`on`/`y` are true, `0755` is octal, timestamps stay strings), then
//! the JSON step: every number a float64, every key a string (`on:` is the key `"true"`),
//! `.inf`/`.nan` an error. Merge keys (`<<`) and aliases are expanded, within limits.

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::value::{Map, Value};

/// Deeper collections than this are refused (a hostile values file cannot exhaust the stack).
const MAX_DEPTH: usize = 200;
/// Aliases may expand the document to at most this many times its own nodes.
const MAX_EXPANSION: usize = 100;

enum Frame {
    Map { map: Map, key: Option<String>, anchor: usize },
    List { items: Vec<Value>, anchor: usize },
}

/// The first document of `text` (empty: `Nil`). Errors say the line.
pub fn from_yaml(text: &str) -> Result<Value, String> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Value> = std::collections::HashMap::new();
    let mut root: Option<Value> = None;
    let (mut own, mut expanded) = (0usize, 0usize);
    for event in Parser::new_from_str(text) {
        let (event, span) =
            event.map_err(|e| format!("yaml: line {}: {}", e.marker().line(), libyaml_words(e.info())))?;
        let line = span.start.line();
        let finished: Option<(Value, usize)> = match event {
            Event::DocumentEnd if root.is_some() => break,
            Event::Scalar(text, style, anchor, _) => {
                own += 1;
                // A key stays text: the JSON step makes every key a string.
                if matches!(stack.last(), Some(Frame::Map { key: None, .. })) {
                    let key = match resolve(&text, style, line)? {
                        Value::String(s) => s,
                        Value::Nil => "null".to_owned(),
                        other => crate::gofmt::print_value(&other),
                    };
                    if let Some(Frame::Map { key: slot, .. }) = stack.last_mut() {
                        *slot = Some(key);
                    }
                    continue;
                }
                Some((resolve(&text, style, line)?, anchor))
            }
            Event::Alias(id) => {
                own += 1;
                let value =
                    anchors.get(&id).cloned().ok_or_else(|| format!("yaml: line {line}: unknown anchor referenced"))?;
                expanded += size(&value);
                if expanded > MAX_EXPANSION * own.max(100) {
                    return Err(format!("yaml: line {line}: document contains excessive aliasing"));
                }
                if matches!(stack.last(), Some(Frame::Map { key: None, .. })) {
                    let Value::String(key) = value else {
                        return Err(format!("yaml: line {line}: a map key must be a scalar"));
                    };
                    if let Some(Frame::Map { key: slot, .. }) = stack.last_mut() {
                        *slot = Some(key);
                    }
                    continue;
                }
                Some((value, 0))
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                own += 1;
                if matches!(stack.last(), Some(Frame::Map { key: None, .. })) {
                    return Err(format!("yaml: line {line}: invalid map key: a collection"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("yaml: line {line}: exceeded max depth of {MAX_DEPTH}"));
                }
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map { map: Map::default(), key: None, anchor }
                } else {
                    Frame::List { items: Vec::new(), anchor }
                });
                None
            }
            Event::MappingEnd | Event::SequenceEnd => match stack.pop() {
                Some(Frame::Map { map, anchor, .. }) => Some((Value::Map(map), anchor)),
                Some(Frame::List { items, anchor }) => Some((Value::List(items), anchor)),
                None => None,
            },
            _ => None,
        };
        let Some((value, anchor)) = finished else { continue };
        if anchor != 0 {
            anchors.insert(anchor, value.clone());
        }
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::List { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => {
                let key = key.take().unwrap_or_default();
                if key == "<<" {
                    merge_key(map, value, line)?;
                } else {
                    map.insert(key, value);
                }
            }
        }
    }
    Ok(root.unwrap_or(Value::Nil))
}

/// The parser's messages in libyaml's words, where they name the same error (Helm's texts
/// come from libyaml via yaml.v2).
fn libyaml_words(message: &str) -> &str {
    match message {
        "simple key expected" => "could not find expected ':'",
        other => other,
    }
}

/// YAML 1.1's merge key: the mapping's own keys win over merged ones.
fn merge_key(map: &Map, value: Value, line: usize) -> Result<(), String> {
    let sources = match value {
        Value::Map(m) => vec![m],
        Value::List(items) => items
            .into_iter()
            .map(|i| match i {
                Value::Map(m) => Ok(m),
                _ => Err(format!("yaml: line {line}: map merge requires map or sequence of maps as the value")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(format!("yaml: line {line}: map merge requires map or sequence of maps as the value")),
    };
    for source in sources {
        for (k, v) in source.entries() {
            if !map.contains(&k) {
                map.insert(k, v);
            }
        }
    }
    Ok(())
}

fn size(value: &Value) -> usize {
    match value {
        Value::List(items) => 1 + items.iter().map(size).sum::<usize>(),
        Value::Map(m) => 1 + m.entries().iter().map(|(_, v)| size(v)).sum::<usize>(),
        _ => 1,
    }
}

/// A scalar through yaml.v2's YAML 1.1 resolver and the JSON step.
fn resolve(text: &str, style: ScalarStyle, line: usize) -> Result<Value, String> {
    if style != ScalarStyle::Plain {
        return Ok(Value::from(text));
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Nil),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Ok(Value::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Ok(Value::Bool(false));
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN"
        | ".NAN" => {
            return Err(format!("error converting YAML to JSON: json: unsupported value: {text} (line {line})"));
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Ok(Value::from(text));
    }
    if let Some(n) = go_parse_int(text) {
        return Ok(Value::Float(n as f64));
    }
    let float_like = {
        let body = text.trim_start_matches(['-', '+']);
        !body.is_empty()
            && body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+' | '_'))
            && body.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.')
    };
    if float_like && let Ok(f) = text.replace('_', "").parse::<f64>() {
        return Ok(Value::Float(f));
    }
    Ok(Value::from(text))
}

/// Go's `strconv.ParseInt(s, 0, 64)`: `0x`, `0o`, `0b`, a leading-0 octal, underscores
/// between digits of a prefixed or decimal number.
fn go_parse_int(text: &str) -> Option<i64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let digits: String = digits.trim_start_matches('_').chars().filter(|c| *c != '_').collect();
    if digits.is_empty() {
        return None;
    }
    let n = i64::from_str_radix(&digits, radix).ok()?;
    Some(if negative { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(value: &Value, key: &str) -> Value {
        match value {
            Value::Map(m) => m.get(key).unwrap_or(Value::Invalid),
            _ => Value::Invalid,
        }
    }

    #[test]
    fn yaml_1_1_scalars_then_json_numbers() {
        let values = from_yaml(
            "a: yes\nb: off\nc: y\nd: 0755\ne: 1_000\nf: 08\ng: 0x1F\nh: 1.5\ni: 2001-12-14\nj: ~\nk: \"yes\"\nl: 1e3\nm: v1\nbig: 12345678901234567890\n",
        )
        .unwrap();
        let expect = [
            ("a", Value::Bool(true)),
            ("b", Value::Bool(false)),
            ("c", Value::Bool(true)),
            ("d", Value::Float(493.0)),
            ("e", Value::Float(1000.0)),
            ("f", Value::Float(8.0)),
            ("g", Value::Float(31.0)),
            ("h", Value::Float(1.5)),
            ("i", Value::from("2001-12-14")),
            ("j", Value::Nil),
            ("k", Value::from("yes")),
            ("l", Value::Float(1000.0)),
            ("m", Value::from("v1")),
            ("big", Value::Float(12345678901234567890.0)),
        ];
        for (key, value) in expect {
            assert_eq!(get(&values, key), value, "{key}");
        }
    }

    #[test]
    fn keys_become_strings_and_merges_apply() {
        let values = from_yaml("on: 1\n1: x\nbase: &b {x: 1, z: 2}\nuse:\n  <<: *b\n  z: 3\n").unwrap();
        assert_eq!(get(&values, "true"), Value::Float(1.0));
        assert_eq!(get(&values, "1"), Value::from("x"));
        let used = get(&values, "use");
        assert_eq!((get(&used, "x"), get(&used, "z")), (Value::Float(1.0), Value::Float(3.0)));
        // YAML 1.1: `y` and `n` are booleans, keys included (a classic Helm surprise).
        let yes = from_yaml("y: 1\nn: 2\n").unwrap();
        assert_eq!((get(&yes, "true"), get(&yes, "false")), (Value::Float(1.0), Value::Float(2.0)));
    }

    #[test]
    fn hostile_documents_are_refused() {
        assert!(from_yaml("a: .inf").unwrap_err().contains("unsupported value"));
        let deep = format!("{}1{}", "[".repeat(500), "]".repeat(500));
        assert!(from_yaml(&deep).is_err(), "too deep");
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 { "a".to_owned() } else { format!("l{}", i - 1) };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(from_yaml(&bomb).unwrap_err().contains("excessive aliasing"));
        assert!(from_yaml("a: [1\n").is_err());
        assert_eq!(from_yaml("").unwrap(), Value::Nil);
    }
}
