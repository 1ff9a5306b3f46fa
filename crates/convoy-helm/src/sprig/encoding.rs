//! Sprig's encodings and hashes, Helm's JSON functions (Go's `encoding/json` output: sorted keys,
//! HTML escaping, Go's float format), regular expressions (RE2 syntax; Rust's `regex` is the
//! same family) and slash paths.

use base64::Engine;
use sha2::Digest;

use crate::template::Func;
use crate::value::{Map, Value};

use super::{arity, int, plain, string};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for byte in data {
        a = (a + u32::from(*byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// Go's `encoding/json` for a float64; NaN and infinities are its error.
fn json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!("json: unsupported value: {}", crate::gofmt::float(f)));
    }
    Ok(convoy_expr::gojson::float(f))
}

/// Go's JSON of `value`; `indent` pretty-prints with that many spaces.
pub(crate) fn to_json(value: &Value, html: bool, indent: Option<usize>) -> Result<String, String> {
    fn write(value: &Value, html: bool, indent: Option<usize>, level: usize, out: &mut String) -> Result<(), String> {
        if level > 1000 {
            return Err("json: unsupported value: encountered a cycle".into());
        }
        let newline = |out: &mut String, level: usize| {
            if let Some(n) = indent {
                out.push('\n');
                out.push_str(&" ".repeat(n * level));
            }
        };
        match value {
            Value::Invalid | Value::Nil => out.push_str("null"),
            Value::Bool(b) => out.push_str(&b.to_string()),
            Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&json_float(*f)?),
            Value::String(s) => convoy_expr::gojson::write_string(out, s, html),
            Value::Object(o) => convoy_expr::gojson::write_string(out, &o.print(), html),
            Value::List(items) if items.is_empty() => out.push_str("[]"),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    write(item, html, indent, level + 1, out)?;
                }
                newline(out, level);
                out.push(']');
            }
            Value::Map(map) if map.is_empty() => out.push_str("{}"),
            Value::Map(map) => {
                out.push('{');
                for (i, (key, item)) in map.entries().iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    convoy_expr::gojson::write_string(out, key, html);
                    out.push(':');
                    if indent.is_some() {
                        out.push(' ');
                    }
                    write(item, html, indent, level + 1, out)?;
                }
                newline(out, level);
                out.push('}');
            }
        }
        Ok(())
    }
    let mut out = String::new();
    write(value, html, indent, 0, &mut out)?;
    Ok(out)
}

/// JSON (or YAML turned JSON) into template values: numbers are float64.
pub(crate) fn from_json(value: serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => Value::List(items.into_iter().map(from_json).collect()),
        serde_json::Value::Object(map) => Value::Map(map.into_iter().map(|(k, v)| (k, from_json(v))).collect()),
    }
}

fn regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("regexp: Compile({}): {e}", crate::gofmt::quote(pattern)))
}

/// Go's `$1`/`${name}` expansion in replacements, as Rust's (same syntax).
fn replace_all(re: &regex::Regex, text: &str, replacement: &str) -> String {
    re.replace_all(text, replacement).into_owned()
}

fn base(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
}

fn dir(path: &str) -> String {
    let cut = path.rfind('/').map_or(0, |i| i + 1);
    convoy_api::urls::path_clean(&path[..cut])
}

fn ext(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rfind('.').map_or(String::new(), |i| name[i..].to_owned())
}

pub(super) fn all() -> Vec<(&'static str, Func)> {
    vec![
        (
            "b64enc",
            plain(|a| {
                arity("b64enc", &a, 1)?;
                Ok(Value::from(base64::engine::general_purpose::STANDARD.encode(string(&a[0])?)))
            }),
        ),
        (
            "b64dec",
            plain(|a| {
                arity("b64dec", &a, 1)?;
                // A bad input gives the error's text as the value.
                Ok(Value::from(match base64::engine::general_purpose::STANDARD.decode(string(&a[0])?) {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    // Go's CorruptInputError: the offset of the first bad byte.
                    Err(base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _)) => {
                        format!("illegal base64 data at input byte {at}")
                    }
                    Err(_) => format!("illegal base64 data at input byte {}", string(&a[0])?.len()),
                }))
            }),
        ),
        (
            "sha1sum",
            plain(|a| arity("sha1sum", &a, 1).and_then(|()| Ok(Value::from(hex(&sha1::Sha1::digest(string(&a[0])?)))))),
        ),
        (
            "sha256sum",
            plain(|a| {
                arity("sha256sum", &a, 1).and_then(|()| Ok(Value::from(hex(&sha2::Sha256::digest(string(&a[0])?)))))
            }),
        ),
        (
            "sha512sum",
            plain(|a| {
                arity("sha512sum", &a, 1).and_then(|()| Ok(Value::from(hex(&sha2::Sha512::digest(string(&a[0])?)))))
            }),
        ),
        (
            "adler32sum",
            plain(|a| {
                arity("adler32sum", &a, 1)
                    .and_then(|()| Ok(Value::from(adler32(string(&a[0])?.as_bytes()).to_string())))
            }),
        ),
        // Helm's toJson: errors give "".
        (
            "toJson",
            plain(|a| arity("toJson", &a, 1).map(|()| Value::from(to_json(&a[0], true, None).unwrap_or_default()))),
        ),
        (
            "toRawJson",
            plain(|a| arity("toRawJson", &a, 1).map(|()| Value::from(to_json(&a[0], false, None).unwrap_or_default()))),
        ),
        (
            "toPrettyJson",
            plain(|a| {
                arity("toPrettyJson", &a, 1).map(|()| Value::from(to_json(&a[0], true, Some(2)).unwrap_or_default()))
            }),
        ),
        (
            "mustToJson",
            plain(|a| arity("mustToJson", &a, 1).and_then(|()| to_json(&a[0], true, None).map(Value::from))),
        ),
        (
            "fromJson",
            plain(|a| {
                arity("fromJson", &a, 1)?;
                Ok(match serde_json::from_str::<serde_json::Value>(string(&a[0])?) {
                    Ok(serde_json::Value::Object(map)) => from_json(serde_json::Value::Object(map)),
                    Ok(other) => {
                        let kind = if other.is_array() { "array" } else { "value" };
                        Value::Map(Map::from_iter([(
                            "Error".to_owned(),
                            Value::from(format!(
                                "json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
                            )),
                        )]))
                    }
                    Err(e) => Value::Map(Map::from_iter([("Error".to_owned(), Value::from(e.to_string()))])),
                })
            }),
        ),
        (
            "fromJsonArray",
            plain(|a| {
                arity("fromJsonArray", &a, 1)?;
                Ok(match serde_json::from_str::<serde_json::Value>(string(&a[0])?) {
                    Ok(serde_json::Value::Array(items)) => from_json(serde_json::Value::Array(items)),
                    Ok(_) => Value::List(vec![Value::from(
                        "json: cannot unmarshal object into Go value of type []interface {}",
                    )]),
                    Err(e) => Value::List(vec![Value::from(e.to_string())]),
                })
            }),
        ),
        (
            "regexMatch",
            plain(|a| {
                arity("regexMatch", &a, 2)?;
                Ok(Value::Bool(regex(string(&a[0])?).is_ok_and(|re| re.is_match(string(&a[1]).unwrap_or_default()))))
            }),
        ),
        (
            "mustRegexMatch",
            plain(|a| {
                arity("mustRegexMatch", &a, 2)?;
                Ok(Value::Bool(regex(string(&a[0])?)?.is_match(string(&a[1])?)))
            }),
        ),
        (
            "regexFind",
            plain(|a| {
                arity("regexFind", &a, 2)?;
                let re = regex(string(&a[0])?)?;
                Ok(Value::from(re.find(string(&a[1])?).map_or("", |m| m.as_str())))
            }),
        ),
        (
            "regexFindAll",
            plain(|a| {
                arity("regexFindAll", &a, 3)?;
                let re = regex(string(&a[0])?)?;
                let n = int(&a[2])?;
                let found = re.find_iter(string(&a[1])?).map(|m| Value::from(m.as_str()));
                Ok(Value::List(if n < 0 { found.collect() } else { found.take(n as usize).collect() }))
            }),
        ),
        (
            "regexReplaceAll",
            plain(|a| {
                arity("regexReplaceAll", &a, 3)?;
                Ok(Value::from(replace_all(&regex(string(&a[0])?)?, string(&a[1])?, string(&a[2])?)))
            }),
        ),
        (
            "regexReplaceAllLiteral",
            plain(|a| {
                arity("regexReplaceAllLiteral", &a, 3)?;
                let re = regex(string(&a[0])?)?;
                Ok(Value::from(re.replace_all(string(&a[1])?, regex::NoExpand(string(&a[2])?)).into_owned()))
            }),
        ),
        (
            "regexSplit",
            plain(|a| {
                arity("regexSplit", &a, 3)?;
                let re = regex(string(&a[0])?)?;
                let n = int(&a[2])?;
                let text = string(&a[1])?;
                let parts: Vec<Value> = if n < 0 {
                    re.split(text).map(Value::from).collect()
                } else {
                    re.splitn(text, n as usize).map(Value::from).collect()
                };
                Ok(Value::List(parts))
            }),
        ),
        (
            "regexQuoteMeta",
            plain(|a| arity("regexQuoteMeta", &a, 1).and_then(|()| Ok(Value::from(regex::escape(string(&a[0])?))))),
        ),
        ("base", plain(|a| arity("base", &a, 1).and_then(|()| Ok(Value::from(base(string(&a[0])?)))))),
        ("dir", plain(|a| arity("dir", &a, 1).and_then(|()| Ok(Value::from(dir(string(&a[0])?)))))),
        (
            "clean",
            plain(|a| {
                arity("clean", &a, 1).and_then(|()| Ok(Value::from(convoy_api::urls::path_clean(string(&a[0])?))))
            }),
        ),
        ("ext", plain(|a| arity("ext", &a, 1).and_then(|()| Ok(Value::from(ext(string(&a[0])?)))))),
        ("isAbs", plain(|a| arity("isAbs", &a, 1).and_then(|()| Ok(Value::Bool(string(&a[0])?.starts_with('/')))))),
    ]
}
