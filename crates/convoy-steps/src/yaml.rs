//! `yaml-update` and `kustomize-set-image`: edits that keep comments.

use async_trait::async_trait;
use convoy_engine::{StepContext, StepError, StepResult, StepRunner};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::basic::write_atomically;
use crate::config::{UpdateConfig, decode};
use crate::paths::{resolve, within};
use crate::yamledit::set_values;

pub(crate) struct YamlUpdate;

#[async_trait]
impl StepRunner for YamlUpdate {
    fn kind(&self) -> &'static str {
        "yaml-update"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config = UpdateConfig::decode(self.kind(), &context.config)?;
        let path = resolve(&context.work_dir, &config.path)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| StepError::terminal(format!("cannot read {}: {e}", config.path)))?;
        let updates: Vec<(String, Value)> = config.updates.iter().map(|u| (u.key.clone(), u.value.clone())).collect();
        let edited = set_values(&text, &updates).map_err(|e| StepError::terminal(format!("{}: {e}", config.path)))?;
        write_atomically(&path, edited.as_bytes(), 0o644)?;
        let mut output = Map::new();
        output.insert("commitMessage".into(), json!(config.commit_message()));
        Ok(StepResult::succeeded(output))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ImageConfig {
    image: String,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    new_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetImageConfig {
    path: String,
    #[serde(default)]
    images: Option<Vec<ImageConfig>>,
}

/// Sets `newTag`/`digest`/`newName` of entries of `images:` in a kustomization, as
/// `kustomize edit set image` does; images without a tag or digest take the Freight's.
pub(crate) struct KustomizeSetImage;

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[async_trait]
impl StepRunner for KustomizeSetImage {
    fn kind(&self) -> &'static str {
        "kustomize-set-image"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: SetImageConfig = decode(self.kind(), &context.config)?;
        let dir = resolve(&context.work_dir, &config.path)?;
        let file = KUSTOMIZATION_FILES.iter().map(|name| dir.join(name)).find(|p| p.exists()).ok_or_else(|| {
            StepError::terminal(format!("no kustomization.yaml, kustomization.yml or Kustomization in {}", config.path))
        })?;
        let file = within(&context.work_dir, &file)?;
        let images = match config.images {
            Some(images) => images,
            // Every image of the Freight being promoted.
            None => context
                .freight
                .iter()
                .flat_map(|f| f.images.iter())
                .map(|i| ImageConfig {
                    image: i.repo_url.clone(),
                    tag: Some(i.tag.clone()),
                    digest: None,
                    new_name: None,
                    name: None,
                })
                .collect(),
        };
        let text = std::fs::read_to_string(&file)
            .map_err(|e| StepError::terminal(format!("cannot read {}: {e}", file.display())))?;
        let current: Value =
            crate::yamledit::from_str(&text).map_err(|e| StepError::terminal(format!("{}: {e}", file.display())))?;
        let existing: Vec<String> = current
            .get("images")
            .and_then(Value::as_array)
            .map(|items| items.iter().map(|i| i["name"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default();
        let mut updates = Vec::new();
        let mut summary = Vec::new();
        let mut appended = 0;
        for image in &images {
            let (tag, digest) = match (&image.tag, &image.digest) {
                (Some(t), _) if !t.is_empty() => (Some(t.clone()), None),
                (_, Some(d)) if !d.is_empty() => (None, Some(d.clone())),
                _ => match context.freight.iter().flat_map(|f| f.images.iter()).find(|i| i.repo_url == image.image) {
                    Some(found) => (Some(found.tag.clone()), None),
                    None => {
                        return Err(StepError::terminal(format!(
                            "no tag or digest given for {} and the Freight being promoted has no such image",
                            image.image
                        )));
                    }
                },
            };
            let name = image.name.clone().unwrap_or_else(|| image.image.clone());
            let index = existing.iter().position(|n| *n == name).unwrap_or_else(|| {
                appended += 1;
                existing.len() + appended - 1
            });
            updates.push((format!("images.{index}.name"), json!(name)));
            if let Some(new_name) = &image.new_name {
                updates.push((format!("images.{index}.newName"), json!(new_name)));
            }
            if let Some(tag) = &tag {
                updates.push((format!("images.{index}.newTag"), json!(tag)));
                summary.push(format!("- {}:{tag}", image.new_name.as_deref().unwrap_or(&image.image)));
            }
            if let Some(digest) = &digest {
                updates.push((format!("images.{index}.digest"), json!(digest)));
                summary.push(format!("- {}@{digest}", image.new_name.as_deref().unwrap_or(&image.image)));
            }
        }
        let edited =
            set_values(&text, &updates).map_err(|e| StepError::terminal(format!("{}: {e}", file.display())))?;
        write_atomically(&file, edited.as_bytes(), 0o644)?;
        let noun = if images.len() == 1 { "image" } else { "images" };
        let mut output = Map::new();
        output.insert(
            "commitMessage".into(),
            json!(format!("Updated {} to use new {noun}\n\n{}", config.path, summary.join("\n"))),
        );
        Ok(StepResult::succeeded(output))
    }
}
