//! `toml-update` (existing scalar values changed in place, every other byte kept) and the TOML
//! reading of `toml-parse`.

use async_trait::async_trait;
use convoy_engine::{StepContext, StepError, StepResult, StepRunner};
use serde_json::{Map, Value as Json, json};
use toml_edit::{DocumentMut, Item, Table, Value};

use crate::basic::write_atomically;
use crate::config::{UpdateConfig, key_parts};
use crate::paths::resolve;

pub(crate) struct TomlUpdate;

#[async_trait]
impl StepRunner for TomlUpdate {
    fn kind(&self) -> &'static str {
        "toml-update"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config = UpdateConfig::decode(self.kind(), &context.config)?;
        let path = resolve(&context.work_dir, &config.path)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| StepError::terminal(format!("cannot read {}: {e}", config.path)))?;
        let mut document: DocumentMut =
            text.parse().map_err(|e| StepError::terminal(format!("{}: not valid TOML: {e}", config.path)))?;
        for update in &config.updates {
            set_scalar(&mut document, &update.key, &update.value)
                .map_err(|e| StepError::terminal(format!("{}: {}: {e}", config.path, update.key)))?;
        }
        write_atomically(&path, document.to_string().as_bytes(), 0o644)?;
        let mut output = Map::new();
        output.insert("commitMessage".into(), json!(config.commit_message()));
        Ok(StepResult::succeeded(output))
    }
}

/// Replaces the existing scalar at `key`, keeping its surrounding whitespace and comments.
pub(crate) fn set_scalar(document: &mut DocumentMut, key: &str, new: &Json) -> Result<(), String> {
    let replacement = match new {
        Json::String(s) => Value::from(s.as_str()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(f)) => Value::from(f),
            _ => return Err(format!("{n} does not fit a TOML number")),
        },
        _ => return Err("toml-update sets scalar values (string, number, boolean) only".into()),
    };
    let parts = key_parts(key);
    let target = in_table(document.as_table_mut(), &parts)?;
    if matches!(target, Value::Array(_) | Value::InlineTable(_)) {
        return Err("the key holds an array or table; toml-update changes scalar values only".into());
    }
    let decor = target.decor().clone();
    *target = replacement;
    *target.decor_mut() = decor;
    Ok(())
}

fn missing(part: &str) -> String {
    format!("{part:?} does not exist; toml-update changes existing keys only")
}

fn in_table<'a>(table: &'a mut Table, parts: &[String]) -> Result<&'a mut Value, String> {
    let (first, rest) = parts.split_first().ok_or("empty key")?;
    let item = table.get_mut(first).ok_or_else(|| missing(first))?;
    in_item(item, rest)
}

fn in_item<'a>(item: &'a mut Item, parts: &[String]) -> Result<&'a mut Value, String> {
    match item {
        Item::Value(value) => in_value(value, parts),
        Item::Table(table) if !parts.is_empty() => in_table(table, parts),
        Item::ArrayOfTables(tables) if !parts.is_empty() => {
            let index = index(&parts[0], tables.len())?;
            let table = tables.get_mut(index).ok_or_else(|| missing(&parts[0]))?;
            if parts.len() == 1 {
                return Err("the key names a table; toml-update changes scalar values only".into());
            }
            in_table(table, &parts[1..])
        }
        _ => Err("the key names a table; toml-update changes scalar values only".into()),
    }
}

fn in_value<'a>(value: &'a mut Value, parts: &[String]) -> Result<&'a mut Value, String> {
    let Some((first, rest)) = parts.split_first() else {
        return Ok(value);
    };
    match value {
        Value::InlineTable(table) => in_value(table.get_mut(first).ok_or_else(|| missing(first))?, rest),
        Value::Array(array) => {
            let index = index(first, array.len())?;
            in_value(array.get_mut(index).ok_or_else(|| missing(first))?, rest)
        }
        _ => Err(format!("{first:?} is inside a value that is not a table or array")),
    }
}

fn index(part: &str, len: usize) -> Result<usize, String> {
    match part.parse::<usize>() {
        Ok(i) if i < len => Ok(i),
        Ok(i) => Err(format!("index {i} is past the end of an array of {len}")),
        Err(_) => Err(format!("{part:?} is not an index of an array")),
    }
}

/// A TOML document as JSON (dates and times become their TOML text).
pub(crate) fn to_json(text: &str) -> Result<Json, String> {
    let document: DocumentMut = text.parse().map_err(|e| format!("not valid TOML: {e}"))?;
    Ok(table_to_json(document.as_table()))
}

fn table_to_json(table: &Table) -> Json {
    Json::Object(table.iter().map(|(k, item)| (k.to_owned(), item_to_json(item))).collect())
}

fn item_to_json(item: &Item) -> Json {
    match item {
        Item::None => Json::Null,
        Item::Value(value) => value_to_json(value),
        Item::Table(table) => table_to_json(table),
        Item::ArrayOfTables(tables) => Json::Array(tables.iter().map(table_to_json).collect()),
    }
}

fn value_to_json(value: &Value) -> Json {
    match value {
        Value::String(s) => json!(s.value()),
        Value::Integer(i) => json!(i.value()),
        Value::Float(f) => json!(f.value()),
        Value::Boolean(b) => json!(b.value()),
        Value::Datetime(d) => json!(d.value().to_string()),
        Value::Array(array) => Json::Array(array.iter().map(value_to_json).collect()),
        Value::InlineTable(table) => {
            Json::Object(table.iter().map(|(k, v)| (k.to_owned(), value_to_json(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARGO: &str = r#"# the package
[package]
name = "app"   # its name
version = "1.0.0" # bumped by promotions

[dependencies]
"example.com/lib" = { version = "0.3", features = ["a"] }
values = [1, 2, 3]

[[bin]]
name = "one"
"#;

    fn updated(key: &str, value: Json) -> Result<String, String> {
        let mut document: DocumentMut = CARGO.parse().unwrap();
        set_scalar(&mut document, key, &value)?;
        Ok(document.to_string())
    }

    #[test]
    fn changes_only_the_value() {
        let expected = CARGO.replace(r#"version = "1.0.0" # bumped"#, r#"version = "2.0.0" # bumped"#);
        assert_eq!(updated("package.version", json!("2.0.0")).unwrap(), expected);
        let expected = CARGO.replace("values = [1, 2, 3]", "values = [1, 7, 3]");
        assert_eq!(updated("dependencies.values.1", json!(7)).unwrap(), expected);
        let expected = CARGO.replace(r#"version = "0.3""#, r#"version = "0.4""#);
        assert_eq!(updated(r"dependencies.example\.com/lib.version", json!("0.4")).unwrap(), expected);
        let expected = CARGO.replace(r#"name = "one""#, r#"name = "two""#);
        assert_eq!(updated("bin.0.name", json!("two")).unwrap(), expected);
    }

    #[test]
    fn refuses_what_it_cannot_do_in_place() {
        assert!(updated("package.missing", json!("x")).unwrap_err().contains("existing keys only"));
        assert!(updated("package", json!("x")).unwrap_err().contains("names a table"));
        assert!(updated("dependencies.values", json!(1)).unwrap_err().contains("scalar"));
        assert!(updated("dependencies.values.3", json!(1)).unwrap_err().contains("past the end"));
        assert!(updated("package.version", json!({"a": 1})).unwrap_err().contains("scalar"));
    }

    #[test]
    fn reads_as_json() {
        let value = to_json(CARGO).unwrap();
        assert_eq!(value["package"]["version"], json!("1.0.0"));
        assert_eq!(value["dependencies"]["example.com/lib"]["features"], json!(["a"]));
        assert_eq!(value["bin"][0]["name"], json!("one"));
        assert!(to_json("a = ").is_err());
    }
}
