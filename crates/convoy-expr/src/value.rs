//! Moving values between JSON (configs, contexts) and expr-lang, and rendering results.

use expr::Value;
use serde_json::{Map, Number, Value as Json};

/// Key marking a map that stands for a parsed semantic version; such a map renders as its
/// version string, as Kargo's `*semver.Version` marshals.
pub(crate) const SEMVER_MARKER: &str = "\u{0}semver";

pub fn to_expr(json: &Json) -> Value {
    match json {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(to_expr).collect()),
        Json::Object(map) => Value::Map(map.iter().map(|(k, v)| (k.clone(), to_expr(v))).collect()),
    }
}

/// The JSON form of an expr value. Non-finite floats have no JSON form.
pub fn to_json(value: &Value) -> Result<Json, String> {
    Ok(match value {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Integer(i) => Json::Number((*i).into()),
        Value::Float(f) => Json::Number(
            Number::from_f64(*f).ok_or_else(|| format!("json: unsupported value: {}", crate::gojson::float(*f)))?,
        ),
        Value::String(s) => Json::String(s.clone()),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Bytes(bytes) => Json::String(String::from_utf8_lossy(bytes).into_owned()),
        Value::Map(map) => {
            if let (Some(_), Some(Value::String(text))) = (map.get(SEMVER_MARKER), map.get("String")) {
                return Ok(Json::String(text.clone()));
            }
            if let Some(Value::String(name)) = map.get(crate::functions::STRUCT_MARKER) {
                return struct_json(name, map);
            }
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), to_json(v)?);
            }
            Json::Object(out)
        }
        Value::KeyedMap(pairs) => {
            let mut out = Map::new();
            for (k, v) in pairs {
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => render(other)?,
                };
                out.insert(key, to_json(v)?);
            }
            Json::Object(out)
        }
        other => Json::String(other.to_string()),
    })
}

/// A Go struct renders with its JSON field names, empty `omitempty` fields left out. Kargo's
/// artifact types mark every field `omitempty` (`repoURL` included); FreightOrigin none.
fn struct_json(name: &str, map: &expr::__private::IndexMap<String, Value>) -> Result<Json, String> {
    let fields: &[(&str, &str, bool)] = match name {
        "FreightOrigin" => &[("Kind", "kind", false), ("Name", "name", false)],
        "GitCommit" => &[
            ("RepoURL", "repoURL", true),
            ("ID", "id", true),
            ("Branch", "branch", true),
            ("Tag", "tag", true),
            ("Message", "message", true),
            ("Author", "author", true),
            ("Committer", "committer", true),
        ],
        "Image" => &[
            ("RepoURL", "repoURL", true),
            ("Tag", "tag", true),
            ("Digest", "digest", true),
            ("Annotations", "annotations", true),
        ],
        "Chart" => &[("RepoURL", "repoURL", true), ("Name", "name", true), ("Version", "version", true)],
        _ => &[],
    };
    let mut out = Map::new();
    for (key, value) in map.iter().filter(|(k, _)| k.as_str() != crate::functions::STRUCT_MARKER) {
        let json = to_json(value)?;
        match fields.iter().find(|(go, _, _)| go == key) {
            Some((_, tag, omit_empty)) => {
                let empty = matches!(&json, Json::String(s) if s.is_empty())
                    || matches!(&json, Json::Object(m) if m.is_empty());
                if !(*omit_empty && empty) {
                    out.insert((*tag).to_owned(), json);
                }
            }
            None => {
                out.insert(key.clone(), json);
            }
        }
    }
    Ok(Json::Object(out))
}

/// How one expression's result enters the surrounding text: strings as they are, everything
/// else as Go's JSON encoding.
pub fn render(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Ok(crate::gojson::marshal(&to_json(other)?)),
    }
}

/// Kargo's coercion of a whole templated field (reference §4.1): quoted stays a string, then
/// number, bool, JSON, and finally the string itself.
pub fn coerce(result: String) -> Result<Json, String> {
    let (body, had_newline) = match result.strip_suffix('\n') {
        Some(body) => (body, true),
        None => (result.as_str(), false),
    };
    let restore = |s: &str| if had_newline { format!("{s}\n") } else { s.to_owned() };
    if body.len() > 1 && body.starts_with('"') && body.ends_with('"') {
        return Ok(Json::String(restore(&body[1..body.len() - 1])));
    }
    if let Some(f) = go_parse_float(body) {
        return number(f);
    }
    match body {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => return Ok(Json::Bool(true)),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => return Ok(Json::Bool(false)),
        _ => {}
    }
    if let Ok(json) = serde_json::from_str::<Json>(body) {
        return Ok(json);
    }
    Ok(Json::String(restore(body)))
}

/// A float64 as a JSON number: integral values print without a fraction, as Go's do.
fn number(f: f64) -> Result<Json, String> {
    if !f.is_finite() {
        return Err(format!("json: unsupported value: {}", crate::gojson::float(f)));
    }
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Ok(Json::Number((f as i64).into()));
    }
    Number::from_f64(f).map(Json::Number).ok_or_else(|| "json: unsupported value".to_owned())
}

/// Go's `strconv.ParseFloat(s, 64)` for the inputs that matter: decimal and exponent forms,
/// `inf`/`infinity`/`nan` in any case, with an optional sign. Hex floats and underscores are
/// rejected like malformed input (rare in templates).
fn go_parse_float(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = unsigned.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.to_ascii_lowercase().replace("infinity", "inf").parse().ok();
    }
    let valid = unsigned.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && unsigned.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if !valid {
        return None;
    }
    s.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn coercion_rules() {
        assert_eq!(coerce("42".into()), Ok(json!(42)));
        assert_eq!(coerce("4.5".into()), Ok(json!(4.5)));
        assert_eq!(coerce("\"42\"".into()), Ok(json!("42")));
        assert_eq!(coerce("true".into()), Ok(json!(true)));
        assert_eq!(coerce("T".into()), Ok(json!(true)));
        assert_eq!(coerce("1".into()), Ok(json!(1)), "numbers before bools");
        assert_eq!(coerce("null".into()), Ok(json!(null)));
        assert_eq!(coerce("[1,\"a\"]".into()), Ok(json!([1, "a"])));
        assert_eq!(coerce("v1".into()), Ok(json!("v1")));
        assert_eq!(coerce("text\n".into()), Ok(json!("text\n")));
        assert_eq!(coerce("42\n".into()), Ok(json!(42)));
        assert_eq!(coerce("\"q\"\n".into()), Ok(json!("q\n")));
        assert!(coerce("inf".into()).is_err());
    }

    /// Kargo's JSON tags (api/v1alpha1): every artifact field is `omitempty`, the origin's none.
    #[test]
    fn artifacts_written_whole_leave_out_empty_fields_as_kargos_json_tags_say() {
        use crate::functions::go_struct;
        let s = |v: &str| Value::String(v.to_owned());
        let empty_map = || Value::Map(Default::default());
        let cases = [
            (
                go_struct("Chart", vec![("RepoURL", s("oci://r/c")), ("Name", s("")), ("Version", s(""))]),
                json!({"repoURL": "oci://r/c"}),
            ),
            (
                go_struct("Chart", vec![("RepoURL", s("")), ("Name", s("n")), ("Version", s("1.0.0"))]),
                json!({"name": "n", "version": "1.0.0"}),
            ),
            (
                go_struct(
                    "Image",
                    vec![("RepoURL", s("r")), ("Tag", s("")), ("Digest", s("sha256:1")), ("Annotations", empty_map())],
                ),
                json!({"repoURL": "r", "digest": "sha256:1"}),
            ),
            (
                go_struct(
                    "Image",
                    vec![("RepoURL", s("")), ("Tag", s("")), ("Digest", s("")), ("Annotations", empty_map())],
                ),
                json!({}),
            ),
            (
                go_struct(
                    "GitCommit",
                    vec![
                        ("RepoURL", s("u")),
                        ("ID", s("abc")),
                        ("Branch", s("")),
                        ("Tag", s("")),
                        ("Message", s("")),
                        ("Author", s("")),
                        ("Committer", s("")),
                    ],
                ),
                json!({"repoURL": "u", "id": "abc"}),
            ),
            (
                go_struct("FreightOrigin", vec![("Kind", s("Warehouse")), ("Name", s(""))]),
                json!({"kind": "Warehouse", "name": ""}),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(to_json(&value).unwrap(), expected);
        }
    }
}
