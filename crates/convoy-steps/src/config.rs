//! Decoding a step's evaluated config with Kargo's error text, and what the `*-update` steps share.

use convoy_engine::StepError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub(crate) fn decode<T: DeserializeOwned>(kind: &str, config: &Value) -> Result<T, StepError> {
    convoy_engine::decode_config(kind, config)
}

/// One `updates[]` entry of `yaml-update`, `json-update` and `toml-update`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Update {
    pub key: String,
    pub value: Value,
}

/// The config of the `*-update` steps.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateConfig {
    pub path: String,
    pub updates: Vec<Update>,
}

impl UpdateConfig {
    pub fn decode(kind: &str, config: &Value) -> Result<UpdateConfig, StepError> {
        let config: UpdateConfig = decode(kind, config)?;
        if config.updates.is_empty() {
            return Err(StepError::terminal(format!("invalid {kind} config: updates: must have at least 1 item")));
        }
        Ok(config)
    }

    /// Kargo's `commitMessage` output: `Updated <path>` and one `- key: value` line per update.
    pub fn commit_message(&self) -> String {
        let lines: Vec<String> = self
            .updates
            .iter()
            .map(|u| format!("- {}: {}", u.key, u.value.as_str().map_or_else(|| u.value.to_string(), str::to_owned)))
            .collect();
        format!("Updated {}\n\n{}", self.path, lines.join("\n"))
    }
}

/// One `outputs[]` entry of the `*-parse` and `http` steps.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NamedExpression {
    pub name: String,
    pub from_expression: String,
}

/// Splits a dotted key (`a.b.0.c`); `\.` is a literal dot inside a part.
/// Credentials of `kind` (`image`, `helm`) for `url` from the project's Secrets, as the git
/// client and the registry client take them.
pub(crate) async fn source_credentials(
    resources: &dyn convoy_engine::Resources,
    project: &str,
    kind: &str,
    url: &str,
) -> Result<Option<convoy_git::Credentials>, StepError> {
    let found = resources
        .source_credentials(project, kind, url)
        .await
        .map_err(|e| e.into_step_error("cannot look up credentials"))?;
    Ok(found.map(|c| convoy_git::Credentials { username: c.username, password: c.password }))
}

pub(crate) fn key_parts(key: &str) -> Vec<String> {
    key.replace("\\.", "\u{0}").split('.').map(|p| p.replace('\u{0}', ".")).collect()
}
