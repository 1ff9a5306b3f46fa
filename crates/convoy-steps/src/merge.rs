//! `yaml-merge`: YAML files merged in order, each over the result so far.

use async_trait::async_trait;
use convoy_engine::{StepContext, StepError, StepResult, StepRunner};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::basic::write_atomically;
use crate::config::decode;
use crate::paths::resolve;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MergeConfig {
    in_files: Vec<String>,
    out_file: String,
    #[serde(default)]
    ignore_missing_files: bool,
}

pub(crate) struct YamlMerge;

#[async_trait]
impl StepRunner for YamlMerge {
    fn kind(&self) -> &'static str {
        "yaml-merge"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: MergeConfig = decode(self.kind(), &context.config)?;
        if config.in_files.is_empty() {
            return Err(StepError::terminal("invalid yaml-merge config: inFiles: must have at least 1 item"));
        }
        let mut merged: Option<Value> = None;
        let mut used = Vec::new();
        for file in &config.in_files {
            let path = resolve(&context.work_dir, file)?;
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && config.ignore_missing_files => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(StepError::terminal(format!(
                        "{file} does not exist; set ignoreMissingFiles: true to skip missing files"
                    )));
                }
                Err(e) => return Err(StepError::terminal(format!("cannot read {file}: {e}"))),
            };
            let overlay: Value =
                crate::yamledit::from_str(&text).map_err(|e| StepError::terminal(format!("{file}: {e}")))?;
            merged = Some(match merged {
                None => overlay,
                Some(base) => merge(base, overlay),
            });
            used.push(file.as_str());
        }
        let text = match merged {
            None | Some(Value::Null) => String::new(),
            Some(value) => serde_yaml::to_string(&value).map_err(|e| StepError::terminal(e.to_string()))?,
        };
        let out = resolve(&context.work_dir, &config.out_file)?;
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StepError::terminal(format!("cannot create {}: {e}", parent.display())))?;
        }
        write_atomically(&out, text.as_bytes(), 0o644)?;
        let mut output = Map::new();
        let sources = used.iter().map(|f| format!("- {f}")).collect::<Vec<_>>().join("\n");
        output
            .insert("commitMessage".into(), json!(format!("Merged YAML files into {}\n\n{sources}", config.out_file)));
        Ok(StepResult::succeeded(output))
    }
}

/// Mappings merge key by key, recursively; anything else (scalars, sequences) in the overlay
/// replaces what was there; a `null` in the overlay removes the key.
pub(crate) fn merge(base: Value, overlay: Value) -> Value {
    match (base, overlay) {
        (Value::Object(mut base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match (base.remove(&key), value) {
                    (_, Value::Null) => {}
                    (Some(old), new) => {
                        base.insert(key, merge(old, new));
                    }
                    (None, new) => {
                        base.insert(key, new);
                    }
                }
            }
            Value::Object(base)
        }
        (_, overlay) => overlay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kargo_documented_merge() {
        // The example of Kargo's yaml-merge documentation.
        let files = ["service:\n  enabled: false\n", "service:\n  enabled: true\n", "service:\n  type: LoadBalancer\n"];
        let merged = files.iter().map(|f| serde_yaml::from_str::<Value>(f).unwrap()).reduce(merge).unwrap();
        assert_eq!(merged, json!({"service": {"enabled": true, "type": "LoadBalancer"}}));
    }

    #[test]
    fn sequences_replace_and_null_removes() {
        let base = json!({"list": [1, 2, 3], "keep": 1, "drop": {"a": 1}, "nested": {"x": 1, "y": 2}});
        let overlay = json!({"list": [4], "drop": null, "nested": {"y": 3}, "scalar": "new"});
        assert_eq!(merge(base, overlay), json!({"list": [4], "keep": 1, "nested": {"x": 1, "y": 3}, "scalar": "new"}));
    }
}
