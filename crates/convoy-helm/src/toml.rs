//! Helm's `toToml` (BurntSushi/toml's encoder: plain keys first, then tables, keys sorted,
//! nested tables and their keys indented by two spaces, floats always with a decimal point,
//! nulls left out) and `fromToml` (TOML read into template values).

use crate::value::{Map, Value};

pub(crate) fn to_toml(value: &Value) -> Result<String, String> {
    let Value::Map(map) = value else {
        return Err(format!("toml: top-level values must be Go maps or structs; got {}", value.type_name()));
    };
    let mut out = String::new();
    table(map, &[], &mut out)?;
    Ok(out)
}

fn is_table(value: &Value) -> bool {
    matches!(value, Value::Map(_))
}

fn is_table_array(value: &Value) -> bool {
    matches!(value, Value::List(items) if !items.is_empty() && items.iter().all(is_table))
}

fn key_text(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        key.to_owned()
    } else {
        quoted(key)
    }
}

fn quoted(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn inline(value: &Value) -> Result<String, String> {
    Ok(match value {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => "nan".into(),
        Value::Float(f) if f.is_infinite() => if *f > 0.0 { "inf" } else { "-inf" }.into(),
        Value::Float(f) => {
            let text = format!("{f}");
            if text.contains(['.', 'e', 'E']) { text } else { format!("{text}.0") }
        }
        Value::String(s) => quoted(s),
        Value::List(items) => {
            let parts: Result<Vec<String>, String> = items.iter().filter(|v| !v.is_nil()).map(inline).collect();
            format!("[{}]", parts?.join(", "))
        }
        Value::Map(map) => {
            let mut entries = map.entries();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let parts: Result<Vec<String>, String> = entries
                .iter()
                .filter(|(_, v)| !v.is_nil())
                .map(|(k, v)| Ok(format!("{} = {}", key_text(k), inline(v)?)))
                .collect();
            format!("{{{}}}", parts?.join(", "))
        }
        other => return Err(format!("toml: unsupported type: {}", other.type_name())),
    })
}

fn table(map: &Map, path: &[String], out: &mut String) -> Result<(), String> {
    let mut entries = map.entries();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let key_indent = "  ".repeat(path.len().min(64));
    for (key, value) in &entries {
        if value.is_nil() || is_table(value) || is_table_array(value) {
            continue;
        }
        out.push_str(&format!("{key_indent}{} = {}\n", key_text(key), inline(value)?));
    }
    for (key, value) in &entries {
        let mut child: Vec<String> = path.to_vec();
        child.push(key.clone());
        let header = child.iter().map(|k| key_text(k)).collect::<Vec<_>>().join(".");
        let header_indent = "  ".repeat(child.len() - 1);
        match value {
            Value::Map(sub) => {
                if child.len() == 1 && !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&format!("{header_indent}[{header}]\n"));
                table(sub, &child, out)?;
            }
            Value::List(items) if is_table_array(value) => {
                for item in items {
                    if child.len() == 1 && !out.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(&format!("{header_indent}[[{header}]]\n"));
                    if let Value::Map(sub) = item {
                        table(sub, &child, out)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// TOML text as template values; an error is a map with it under `Error`, as Helm answers.
pub(crate) fn from_toml(text: &str) -> Value {
    match text.parse::<toml_edit::DocumentMut>() {
        Ok(document) => table_value(document.as_table()),
        Err(e) => Value::map([("Error", Value::from(e.to_string().trim().to_owned()))]),
    }
}

fn table_value(table: &toml_edit::Table) -> Value {
    Value::Map(table.iter().map(|(k, item)| (k.to_owned(), item_value(item))).collect())
}

fn item_value(item: &toml_edit::Item) -> Value {
    match item {
        toml_edit::Item::Value(value) => value_of(value),
        toml_edit::Item::Table(table) => table_value(table),
        toml_edit::Item::ArrayOfTables(tables) => Value::List(tables.iter().map(table_value).collect()),
        toml_edit::Item::None => Value::Nil,
    }
}

fn value_of(value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(s) => Value::from(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::Int64(*i.value()),
        toml_edit::Value::Float(f) => Value::Float(*f.value()),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::from(d.value().to_string()),
        toml_edit::Value::Array(items) => Value::List(items.iter().map(value_of).collect()),
        toml_edit::Value::InlineTable(table) => {
            Value::Map(table.iter().map(|(k, v)| (k.to_owned(), value_of(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_toml_as_burntsushi_encodes() {
        let value = Value::map([
            ("name", Value::from("web \"app\"")),
            ("replicas", Value::Float(3.0)),
            ("ratio", Value::Float(0.5)),
            ("count", Value::Int64(7)),
            ("ports", Value::List(vec![Value::Float(80.0), Value::Float(443.0)])),
            ("skipped", Value::Nil),
            (
                "image",
                Value::map([("tag", Value::from("1.0")), ("pull", Value::map([("policy", Value::from("Always"))]))]),
            ),
            (
                "hosts",
                Value::List(vec![Value::map([("name", Value::from("a"))]), Value::map([("name", Value::from("b"))])]),
            ),
        ]);
        assert_eq!(
            to_toml(&value).unwrap(),
            "count = 7\nname = \"web \\\"app\\\"\"\nports = [80.0, 443.0]\nratio = 0.5\nreplicas = 3.0\n\n\
             [[hosts]]\n  name = \"a\"\n\n[[hosts]]\n  name = \"b\"\n\n\
             [image]\n  tag = \"1.0\"\n  [image.pull]\n    policy = \"Always\"\n"
        );
        assert!(to_toml(&Value::from("x")).is_err());
    }

    #[test]
    fn from_toml_reads_tables_and_reports_errors_in_the_map() {
        let Value::Map(map) = from_toml("a = 1\n[b]\nc = \"d\"\n[[e]]\nf = 1.5\n") else { panic!("a map") };
        assert_eq!(map.get("a"), Some(Value::Int64(1)));
        let Some(Value::Map(b)) = map.get("b") else { panic!("a table") };
        assert_eq!(b.get("c"), Some(Value::from("d")));
        let Value::Map(bad) = from_toml("a = ") else { panic!("a map") };
        assert!(bad.get("Error").is_some());
    }
}
