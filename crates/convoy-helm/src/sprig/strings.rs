//! Sprig's string functions. Lengths and cuts are in bytes, as Go's are; a cut inside a UTF-8
//! sequence keeps what Go keeps, made valid text (U+FFFD).

use crate::gofmt;
use crate::template::Func;
use crate::value::Value;

use super::{arity, int, plain, string};

/// `s[from..to]` by bytes, made valid UTF-8.
fn bytes(s: &str, from: usize, to: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[from..to]).into_owned()
}

/// Sprig's `toString`: strings as they are, nil `<nil>`, everything else `%v`.
pub(crate) fn to_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Invalid | Value::Nil => "<nil>".into(),
        other => gofmt::print_value(other),
    }
}

fn indent(spaces: i64, text: &str) -> String {
    let pad = " ".repeat(spaces.max(0) as usize);
    format!("{pad}{}", text.replace('\n', &format!("\n{pad}")))
}

fn title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if at_word_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = !c.is_alphanumeric() && c != '\'' && c != '_';
    }
    out
}

/// Go's `strings.ToUpper`: each character's simple mapping (`ß` stays, not `SS`).
fn go_upper(text: &str) -> String {
    text.chars()
        .map(|c| {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(one), None) => one,
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.ToLower`: each character's simple mapping (`İ` is `i`).
fn go_lower(text: &str) -> String {
    text.chars()
        .map(|c| {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(one), None) => one,
                (Some(first), Some(_)) if c == '\u{130}' => first,
                _ => c,
            }
        })
        .collect()
}

fn words(text: &str) -> Vec<String> {
    // Boundaries: non-alphanumerics, and a lower-to-upper change.
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        // An acronym ends before its last capital when a lower-case letter follows:
        // "HTTPServer" is "HTTP" and "Server" (xstrings' word splitting).
        if c.is_lowercase() {
            let mut tail = current.chars().rev();
            if let (Some(last), Some(before)) = (tail.next(), tail.next())
                && last.is_uppercase()
                && before.is_uppercase()
            {
                current.pop();
                words.push(std::mem::replace(&mut current, last.to_string()));
            }
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

pub(super) fn all() -> Vec<(&'static str, Func)> {
    vec![
        ("hello", plain(|_| Ok(Value::from("Hello!")))),
        ("upper", plain(|a| arity("upper", &a, 1).and_then(|()| Ok(Value::from(go_upper(string(&a[0])?)))))),
        ("lower", plain(|a| arity("lower", &a, 1).and_then(|()| Ok(Value::from(go_lower(string(&a[0])?)))))),
        ("title", plain(|a| arity("title", &a, 1).and_then(|()| Ok(Value::from(title(string(&a[0])?)))))),
        (
            "untitle",
            plain(|a| {
                arity("untitle", &a, 1)?;
                let text = string(&a[0])?;
                let mut out = String::new();
                let mut start = true;
                for c in text.chars() {
                    if start && c.is_alphabetic() {
                        out.extend(c.to_lowercase());
                    } else {
                        out.push(c);
                    }
                    start = c.is_whitespace();
                }
                Ok(Value::from(out))
            }),
        ),
        ("trim", plain(|a| arity("trim", &a, 1).and_then(|()| Ok(Value::from(string(&a[0])?.trim()))))),
        (
            "trimAll",
            plain(|a| {
                arity("trimAll", &a, 2)?;
                let cut = string(&a[0])?.to_owned();
                Ok(Value::from(string(&a[1])?.trim_matches(|c| cut.contains(c))))
            }),
        ),
        (
            "trimall",
            plain(|a| {
                arity("trimall", &a, 2)?;
                let cut = string(&a[0])?.to_owned();
                Ok(Value::from(string(&a[1])?.trim_matches(|c| cut.contains(c))))
            }),
        ),
        (
            "trimSuffix",
            plain(|a| {
                arity("trimSuffix", &a, 2)?;
                let (suffix, text) = (string(&a[0])?, string(&a[1])?);
                Ok(Value::from(text.strip_suffix(suffix).unwrap_or(text)))
            }),
        ),
        (
            "trimPrefix",
            plain(|a| {
                arity("trimPrefix", &a, 2)?;
                let (prefix, text) = (string(&a[0])?, string(&a[1])?);
                Ok(Value::from(text.strip_prefix(prefix).unwrap_or(text)))
            }),
        ),
        (
            "trunc",
            plain(|a| {
                arity("trunc", &a, 2)?;
                let (n, text) = (int(&a[0])?, string(&a[1])?);
                let len = text.len() as i64;
                Ok(Value::from(match n {
                    n if n < 0 && -n < len => bytes(text, (len + n) as usize, len as usize),
                    n if n >= 0 && n < len => bytes(text, 0, n as usize),
                    _ => text.to_owned(),
                }))
            }),
        ),
        (
            "substr",
            plain(|a| {
                arity("substr", &a, 3)?;
                let (start, end, text) = (int(&a[0])?, int(&a[1])?, string(&a[2])?);
                let len = text.len() as i64;
                let cut = if start < 0 {
                    (0, end)
                } else if end < 0 || end > len {
                    (start, len)
                } else {
                    (start, end)
                };
                if cut.0 > cut.1 || cut.1 > len {
                    return Err(format!("slice bounds out of range [{}:{}]", cut.0, cut.1));
                }
                Ok(Value::from(bytes(text, cut.0 as usize, cut.1 as usize)))
            }),
        ),
        (
            "repeat",
            plain(|a| {
                arity("repeat", &a, 2)?;
                let (n, text) = (int(&a[0])?, string(&a[1])?);
                if n < 0 {
                    return Err("strings: negative Repeat count".into());
                }
                if (n as usize).saturating_mul(text.len()) > 64 << 20 {
                    return Err("repeat: the result would exceed 64 MiB".into());
                }
                Ok(Value::from(text.repeat(n as usize)))
            }),
        ),
        (
            "nospace",
            plain(|a| {
                arity("nospace", &a, 1)?;
                Ok(Value::from(string(&a[0])?.chars().filter(|c| !c.is_whitespace()).collect::<String>()))
            }),
        ),
        (
            "contains",
            plain(|a| arity("contains", &a, 2).and_then(|()| Ok(Value::Bool(string(&a[1])?.contains(string(&a[0])?))))),
        ),
        (
            "hasPrefix",
            plain(|a| {
                arity("hasPrefix", &a, 2).and_then(|()| Ok(Value::Bool(string(&a[1])?.starts_with(string(&a[0])?))))
            }),
        ),
        (
            "hasSuffix",
            plain(|a| {
                arity("hasSuffix", &a, 2).and_then(|()| Ok(Value::Bool(string(&a[1])?.ends_with(string(&a[0])?))))
            }),
        ),
        (
            "quote",
            plain(|a| {
                let quoted: Vec<String> =
                    a.iter().filter(|v| !v.is_nil()).map(|v| gofmt::quote(&to_string(v))).collect();
                Ok(Value::from(quoted.join(" ")))
            }),
        ),
        (
            "squote",
            plain(|a| {
                let quoted: Vec<String> =
                    a.iter().filter(|v| !v.is_nil()).map(|v| format!("'{}'", to_string(v))).collect();
                Ok(Value::from(quoted.join(" ")))
            }),
        ),
        (
            "cat",
            plain(|a| {
                let parts: Vec<String> = a.iter().filter(|v| !v.is_nil()).map(to_string).collect();
                Ok(Value::from(parts.join(" ")))
            }),
        ),
        (
            "indent",
            plain(|a| arity("indent", &a, 2).and_then(|()| Ok(Value::from(indent(int(&a[0])?, string(&a[1])?))))),
        ),
        (
            "nindent",
            plain(|a| {
                arity("nindent", &a, 2)
                    .and_then(|()| Ok(Value::from(format!("\n{}", indent(int(&a[0])?, string(&a[1])?)))))
            }),
        ),
        (
            "replace",
            plain(|a| {
                arity("replace", &a, 3)?;
                Ok(Value::from(string(&a[2])?.replace(string(&a[0])?, string(&a[1])?)))
            }),
        ),
        (
            "plural",
            plain(|a| {
                arity("plural", &a, 3)?;
                let (one, many, n) = (string(&a[0])?, string(&a[1])?, int(&a[2])?);
                Ok(Value::from(if n == 1 { one } else { many }))
            }),
        ),
        ("toString", plain(|a| arity("toString", &a, 1).map(|()| Value::from(to_string(&a[0]))))),
        (
            "toStrings",
            plain(|a| {
                arity("toStrings", &a, 1)?;
                let items = match &a[0] {
                    Value::List(items) => items.iter().map(|v| Value::from(to_string(v))).collect(),
                    Value::Invalid | Value::Nil => Vec::new(),
                    other => vec![Value::from(to_string(other))],
                };
                Ok(Value::List(items))
            }),
        ),
        (
            "split",
            plain(|a| {
                arity("split", &a, 2)?;
                let (sep, text) = (string(&a[0])?, string(&a[1])?);
                Ok(Value::Map(text.split(sep).enumerate().map(|(i, p)| (format!("_{i}"), Value::from(p))).collect()))
            }),
        ),
        (
            "splitList",
            plain(|a| {
                arity("splitList", &a, 2)?;
                let (sep, text) = (string(&a[0])?, string(&a[1])?);
                Ok(Value::List(text.split(sep).map(Value::from).collect()))
            }),
        ),
        (
            "splitn",
            plain(|a| {
                arity("splitn", &a, 3)?;
                let (sep, n, text) = (string(&a[0])?, int(&a[1])?, string(&a[2])?);
                let parts: Vec<&str> =
                    if n < 0 { text.split(sep).collect() } else { text.splitn(n as usize, sep).collect() };
                Ok(Value::Map(parts.into_iter().enumerate().map(|(i, p)| (format!("_{i}"), Value::from(p))).collect()))
            }),
        ),
        (
            "join",
            plain(|a| {
                arity("join", &a, 2)?;
                let sep = string(&a[0])?;
                let parts: Vec<String> = match &a[1] {
                    Value::List(items) => items.iter().filter(|v| !v.is_nil()).map(to_string).collect(),
                    Value::Invalid | Value::Nil => Vec::new(),
                    other => vec![to_string(other)],
                };
                Ok(Value::from(parts.join(sep)))
            }),
        ),
        (
            "sortAlpha",
            plain(|a| {
                arity("sortAlpha", &a, 1)?;
                let mut items: Vec<String> = match &a[0] {
                    Value::List(items) => items.iter().map(to_string).collect(),
                    other => vec![to_string(other)],
                };
                items.sort();
                Ok(Value::List(items.into_iter().map(Value::from).collect()))
            }),
        ),
        (
            "abbrev",
            plain(|a| {
                arity("abbrev", &a, 2)?;
                let (width, text) = (int(&a[0])?, string(&a[1])?);
                if width < 4 || text.len() as i64 <= width {
                    return Ok(Value::from(text));
                }
                Ok(Value::from(format!("{}...", bytes(text, 0, (width - 3) as usize))))
            }),
        ),
        (
            "initials",
            plain(|a| {
                arity("initials", &a, 1)?;
                Ok(Value::from(string(&a[0])?.split_whitespace().filter_map(|w| w.chars().next()).collect::<String>()))
            }),
        ),
        (
            "swapcase",
            plain(|a| {
                arity("swapcase", &a, 1)?;
                let swapped = string(&a[0])?
                    .chars()
                    .flat_map(|c| {
                        if c.is_uppercase() { c.to_lowercase().collect::<Vec<_>>() } else { c.to_uppercase().collect() }
                    })
                    .collect::<String>();
                Ok(Value::from(swapped))
            }),
        ),
        (
            "snakecase",
            plain(|a| {
                arity("snakecase", &a, 1)?;
                Ok(Value::from(words(string(&a[0])?).iter().map(|w| w.to_lowercase()).collect::<Vec<_>>().join("_")))
            }),
        ),
        (
            "kebabcase",
            plain(|a| {
                arity("kebabcase", &a, 1)?;
                Ok(Value::from(words(string(&a[0])?).iter().map(|w| w.to_lowercase()).collect::<Vec<_>>().join("-")))
            }),
        ),
        (
            "camelcase",
            plain(|a| {
                arity("camelcase", &a, 1)?;
                // Sprig's camelcase is PascalCase.
                Ok(Value::from(words(string(&a[0])?).iter().map(|w| title(&w.to_lowercase())).collect::<String>()))
            }),
        ),
    ]
}
