//! `fail`, `compose-output`, `file-write`.

use async_trait::async_trait;
use convoy_engine::{StepContext, StepError, StepResult, StepRunner};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::decode;
use crate::paths::resolve;

pub(crate) struct Fail;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailConfig {
    #[serde(default)]
    message: String,
}

#[async_trait]
impl StepRunner for Fail {
    fn kind(&self) -> &'static str {
        "fail"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: FailConfig = decode(self.kind(), &context.config)?;
        Err(StepError::failed(if config.message.is_empty() {
            "failed".to_owned()
        } else {
            format!("failed: {}", config.message)
        }))
    }
}

/// Its config becomes its output, which also becomes the output of its task.
pub(crate) struct ComposeOutput;

#[async_trait]
impl StepRunner for ComposeOutput {
    fn kind(&self) -> &'static str {
        "compose-output"
    }

    fn propagates_task_output(&self) -> bool {
        true
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        match &context.config {
            Value::Object(map) => Ok(StepResult::succeeded(map.clone())),
            Value::Null => Ok(StepResult::succeeded(Map::new())),
            _ => Err(StepError::terminal("invalid compose-output config: must be an object")),
        }
    }
}

pub(crate) struct FileWrite;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileWriteConfig {
    path: String,
    contents: String,
    #[serde(default)]
    overwrite: bool,
    #[serde(default)]
    permissions: Option<String>,
}

#[async_trait]
impl StepRunner for FileWrite {
    fn kind(&self) -> &'static str {
        "file-write"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: FileWriteConfig = decode(self.kind(), &context.config)?;
        let mode = match config.permissions.as_deref() {
            None => 0o644,
            Some(p) if p.len() == 4 && p.starts_with('0') && p[1..].bytes().all(|b| (b'0'..=b'7').contains(&b)) => {
                u32::from_str_radix(&p[1..], 8).unwrap_or(0o644)
            }
            Some(p) => {
                return Err(StepError::terminal(format!(
                    "invalid file-write config: permissions: {p:?} does not match ^0[0-7]{{3}}$"
                )));
            }
        };
        let path = resolve(&context.work_dir, &config.path)?;
        if path.exists() && !config.overwrite {
            return Err(StepError::terminal(format!("{} exists; set overwrite: true to replace it", config.path)));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StepError::terminal(format!("cannot create {}: {e}", parent.display())))?;
        }
        write_atomically(&path, config.contents.as_bytes(), mode)?;
        Ok(StepResult::succeeded(Map::new()))
    }
}

/// Writes through a temporary file and a rename, so a crash never leaves half a file.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8], mode: u32) -> Result<(), StepError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| StepError::terminal(format!("cannot write {}: {e}", path.display()));
    let tmp = path.with_extension("convoy-tmp");
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}
