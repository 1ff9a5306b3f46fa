//! `set-metadata` and `set-freight-alias`: the steps that change stored resources, through
//! [`Resources`] (admission included).

use std::sync::Arc;

use async_trait::async_trait;
use convoy_api::Kind;
use convoy_engine::{Resources, StepContext, StepError, StepResult, StepRunner};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::decode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataUpdate {
    kind: String,
    name: String,
    values: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetMetadataConfig {
    updates: Vec<MetadataUpdate>,
}

pub(crate) struct SetMetadata(pub(crate) Arc<dyn Resources>);

#[async_trait]
impl StepRunner for SetMetadata {
    fn kind(&self) -> &'static str {
        "set-metadata"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: SetMetadataConfig = decode(self.kind(), &context.config)?;
        if config.updates.is_empty() {
            return Err(StepError::terminal("invalid set-metadata config: updates: must have at least 1 item"));
        }
        // Check every entry before writing any, so a bad one leaves nothing half-applied.
        let mut targets = Vec::new();
        for (i, update) in config.updates.iter().enumerate() {
            let kind = match update.kind.as_str() {
                "Stage" => Kind::Stage,
                "Freight" => Kind::Freight,
                other => {
                    return Err(StepError::terminal(format!(
                        "invalid set-metadata config: updates[{i}].kind: {other:?} must be Stage or Freight"
                    )));
                }
            };
            if update.name.is_empty() {
                return Err(StepError::terminal(format!(
                    "invalid set-metadata config: updates[{i}].name: must not be empty"
                )));
            }
            targets.push((kind, update));
        }
        for (kind, update) in targets {
            self.0
                .set_metadata(&context.project, kind, &update.name, &update.values)
                .await
                .map_err(|e| e.into_step_error(&format!("cannot set metadata of {kind} {:?}", update.name)))?;
        }
        Ok(StepResult::succeeded(Map::new()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetAliasConfig {
    name: String,
    alias: String,
}

pub(crate) struct SetFreightAlias(pub(crate) Arc<dyn Resources>);

#[async_trait]
impl StepRunner for SetFreightAlias {
    fn kind(&self) -> &'static str {
        "set-freight-alias"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: SetAliasConfig = decode(self.kind(), &context.config)?;
        for (field, value) in [("name", &config.name), ("alias", &config.alias)] {
            if value.is_empty() {
                return Err(StepError::terminal(format!(
                    "invalid set-freight-alias config: {field}: must not be empty"
                )));
            }
        }
        self.0
            .set_freight_alias(&context.project, &config.name, &config.alias)
            .await
            .map_err(|e| e.into_step_error(&format!("cannot set the alias of Freight {:?}", config.name)))?;
        Ok(StepResult::succeeded(Map::new()))
    }
}
