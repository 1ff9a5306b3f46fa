//! Edits a JSON text in place, as sjson (which Kargo's `json-update` uses) does: only the bytes
//! of the value being set change; a new key is added after the last member of its object, on
//! its own line with the siblings' indentation when the object spans lines.

use serde_json::Value;

/// Sets `value` at `path` (object keys and list indexes; an index equal to the length, or
/// `-1`, appends) and returns the edited text. Missing objects on the way are created.
pub fn set(text: &str, path: &[String], value: &Value) -> Result<String, String> {
    let start = skip_space(text, 0);
    if start == text.len() {
        return Err("the file is empty".into());
    }
    let (from, to, replacement) = edit(text, start, path, value)?;
    Ok(format!("{}{replacement}{}", &text[..from], &text[to..]))
}

/// The byte range to replace and what to put there, for `path` under the value at `at`.
fn edit(text: &str, at: usize, path: &[String], value: &Value) -> Result<(usize, usize, String), String> {
    let end = value_end(text, at)?;
    let Some((part, rest)) = path.split_first() else {
        return Ok((at, end, compact(value)));
    };
    match text.as_bytes()[at] {
        b'{' => edit_object(text, at, part, rest, value),
        b'[' => edit_array(text, at, part, rest, value),
        // `null` on the way becomes an object holding the rest of the path.
        b'n' if &text[at..end] == "null" => Ok((at, end, compact(&nest(path, value)))),
        _ => Err(format!("{part:?} is inside a value that is not an object or list")),
    }
}

fn edit_object(
    text: &str,
    open: usize,
    part: &str,
    rest: &[String],
    value: &Value,
) -> Result<(usize, usize, String), String> {
    let bytes = text.as_bytes();
    let mut at = skip_space(text, open + 1);
    // The last member: where its key starts and where its value ends.
    let mut last: Option<(usize, usize, usize)> = None;
    while bytes.get(at) == Some(&b'"') {
        let key_end = string_end(text, at)?;
        let key: String = serde_json::from_str(&text[at..key_end]).map_err(|e| e.to_string())?;
        let colon = skip_space(text, key_end);
        if bytes.get(colon) != Some(&b':') {
            return Err(format!("expected ':' at byte {colon}"));
        }
        let value_start = skip_space(text, colon + 1);
        if key == part {
            return edit(text, value_start, rest, value);
        }
        let value_end = value_end(text, value_start)?;
        last = Some((at, colon, value_end));
        at = skip_space(text, value_end);
        if bytes.get(at) == Some(&b',') {
            at = skip_space(text, at + 1);
        }
    }
    if bytes.get(at) != Some(&b'}') {
        return Err(format!("expected '}}' at byte {at}"));
    }
    let member_value = compact(&nest(rest, value));
    let key = compact(&Value::String(part.to_owned()));
    Ok(match last {
        None => (open + 1, at, format!("{key}:{member_value}")),
        Some((key_start, colon, value_end)) => {
            let separator = if text[colon + 1..].starts_with(' ') { ": " } else { ":" };
            let line_start = text[..key_start].rfind('\n').map(|n| n + 1);
            let member = match line_start {
                // The object spans lines: the new member goes on a line of its own.
                Some(line) if text[line..key_start].trim().is_empty() => {
                    format!(",\n{}{key}{separator}{member_value}", &text[line..key_start])
                }
                // One line: the gap after the previous comma, else a space when `: ` is used.
                _ => {
                    let before = text[..key_start].trim_end();
                    let gap = if before.ends_with(',') {
                        &text[before.len()..key_start]
                    } else if separator == ": " {
                        " "
                    } else {
                        ""
                    };
                    format!(",{gap}{key}{separator}{member_value}")
                }
            };
            (value_end, value_end, member)
        }
    })
}

fn edit_array(
    text: &str,
    open: usize,
    part: &str,
    rest: &[String],
    value: &Value,
) -> Result<(usize, usize, String), String> {
    let bytes = text.as_bytes();
    let wanted: Option<usize> = match part {
        "-1" => None,
        _ => Some(part.parse().map_err(|_| format!("{part:?} is not an index of a list"))?),
    };
    let mut at = skip_space(text, open + 1);
    let mut index = 0;
    let mut last_end = None;
    while bytes.get(at) != Some(&b']') {
        if Some(index) == wanted {
            return edit(text, at, rest, value);
        }
        let end = value_end(text, at)?;
        last_end = Some(end);
        index += 1;
        at = skip_space(text, end);
        if bytes.get(at) == Some(&b',') {
            at = skip_space(text, at + 1);
        } else if bytes.get(at) != Some(&b']') {
            return Err(format!("expected ',' or ']' at byte {at}"));
        }
    }
    if wanted.is_some_and(|w| w != index) {
        return Err(format!("index {part} is past the end of a list of {index}"));
    }
    let item = compact(&nest(rest, value));
    Ok(match last_end {
        None => (open + 1, at, item),
        Some(end) => (end, end, format!(",{item}")),
    })
}

/// `value` under the keys of `path`, for members that do not exist yet.
fn nest(path: &[String], value: &Value) -> Value {
    path.iter().rev().fold(value.clone(), |inner, key| Value::Object([(key.clone(), inner)].into_iter().collect()))
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).expect("a JSON value serializes")
}

fn skip_space(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    while bytes.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
        at += 1;
    }
    at
}

/// The end of the string starting at `at` (after its closing quote).
fn string_end(text: &str, at: usize) -> Result<usize, String> {
    let bytes = text.as_bytes();
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(format!("unterminated string at byte {at}"))
}

/// The end of the value starting at `at`.
fn value_end(text: &str, at: usize) -> Result<usize, String> {
    let bytes = text.as_bytes();
    match bytes.get(at) {
        Some(b'"') => string_end(text, at),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = at;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = string_end(text, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            Err(format!("unterminated object or list at byte {at}"))
        }
        Some(_) => {
            let len = text[at..].find(|c: char| matches!(c, ',' | '}' | ']') || c.is_ascii_whitespace());
            Ok(at + len.unwrap_or(text.len() - at))
        }
        None => Err("unexpected end of the document".into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::set;

    fn path(key: &str) -> Vec<String> {
        crate::config::key_parts(key)
    }

    #[test]
    fn only_the_value_changes() {
        let text = "{\n    \"image\": {\"tag\": \"1.0.0\", \"pull\": \"Always\"},\n    \"replicas\": 2\n}\n";
        assert_eq!(
            set(text, &path("image.tag"), &json!("1.2.0")).unwrap(),
            "{\n    \"image\": {\"tag\": \"1.2.0\", \"pull\": \"Always\"},\n    \"replicas\": 2\n}\n"
        );
        assert_eq!(
            set(text, &path("replicas"), &json!(3)).unwrap(),
            "{\n    \"image\": {\"tag\": \"1.0.0\", \"pull\": \"Always\"},\n    \"replicas\": 3\n}\n"
        );
    }

    #[test]
    fn new_keys_follow_their_siblings() {
        let text = "{\n  \"a\": 1,\n  \"b\": {\"c\": true}\n}";
        assert_eq!(
            set(text, &path("d"), &json!("x")).unwrap(),
            "{\n  \"a\": 1,\n  \"b\": {\"c\": true},\n  \"d\": \"x\"\n}"
        );
        assert_eq!(
            set(text, &path("b.e.f"), &json!(1)).unwrap(),
            "{\n  \"a\": 1,\n  \"b\": {\"c\": true, \"e\": {\"f\":1}}\n}"
        );
        assert_eq!(set("{}", &path("a.b"), &json!([1])).unwrap(), "{\"a\":{\"b\":[1]}}");
        assert_eq!(set("{\"a\": null}", &path("a.b"), &json!(1)).unwrap(), "{\"a\": {\"b\":1}}");
    }

    #[test]
    fn lists_escapes_and_errors() {
        let text = "{\"list\": [1, {\"x\": \"a,]}\"}, 3], \"dotted.key\": 0}";
        assert_eq!(
            set(text, &path("list.1.x"), &json!("b")).unwrap(),
            "{\"list\": [1, {\"x\": \"b\"}, 3], \"dotted.key\": 0}"
        );
        assert_eq!(
            set(text, &path("list.3"), &json!(4)).unwrap(),
            "{\"list\": [1, {\"x\": \"a,]}\"}, 3,4], \"dotted.key\": 0}"
        );
        assert_eq!(
            set(text, &path("list.-1"), &json!(4)).unwrap(),
            "{\"list\": [1, {\"x\": \"a,]}\"}, 3,4], \"dotted.key\": 0}"
        );
        assert_eq!(
            set(text, &path("dotted\\.key"), &json!(1)).unwrap(),
            "{\"list\": [1, {\"x\": \"a,]}\"}, 3], \"dotted.key\": 1}"
        );
        assert!(set(text, &path("list.9"), &json!(1)).unwrap_err().contains("past the end"));
        assert!(set(text, &path("list.0.x"), &json!(1)).unwrap_err().contains("not an object or list"));
        assert!(set("", &path("a"), &json!(1)).is_err());
    }
}
