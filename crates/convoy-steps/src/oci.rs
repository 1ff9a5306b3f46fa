//! `oci-download` (one layer of an image or chart into the work tree) and `oci-push` (copy or
//! retag an image, index or chart, optionally annotated), with the project's `image` or `helm`
//! credentials for each side.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use convoy_discovery::oci::{self, Reference};
use convoy_discovery::registry::Registries;
use convoy_engine::{Resources, StepContext, StepError, StepResult, StepRunner};
use serde::Deserialize;
use serde_json::{Map, json};

use crate::basic::write_atomically;
use crate::config::decode;
use crate::paths::resolve;

/// Kargo's cap on a downloaded layer.
const MAX_DOWNLOAD: usize = 100 << 20;
/// Kargo's cap on what `oci-push` carries (each blob is held in memory once).
const MAX_PUSH_BLOB: usize = 1 << 30;

fn reference(kind: &str, field: &str, text: &str) -> Result<Reference, StepError> {
    Reference::parse(text).map_err(|e| StepError::terminal(format!("invalid {kind} config: {field}: {e}")))
}

async fn credentials(
    resources: &dyn Resources,
    project: &str,
    reference: &Reference,
) -> Result<Option<convoy_git::Credentials>, StepError> {
    let kind = if reference.chart { "helm" } else { "image" };
    crate::config::source_credentials(resources, project, kind, &reference.repository_url()).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DownloadConfig {
    image_ref: String,
    out_path: String,
    #[serde(default)]
    allow_overwrite: bool,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
}

pub(crate) struct OciDownload {
    pub(crate) registries: Registries,
    pub(crate) resources: Arc<dyn Resources>,
}

#[async_trait]
impl StepRunner for OciDownload {
    fn kind(&self) -> &'static str {
        "oci-download"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let kind = self.kind();
        let config: DownloadConfig = decode(kind, &context.config)?;
        let _ = config.insecure_skip_tls_verify;
        let source = reference(kind, "imageRef", &config.image_ref)?;
        let out = resolve(&context.work_dir, &config.out_path)?;
        if out.exists() && !config.allow_overwrite {
            return Err(StepError::terminal(format!(
                "{} exists; set allowOverwrite: true to replace it",
                config.out_path
            )));
        }
        let credentials = credentials(&*self.resources, &context.project, &source).await?;
        let media_type = config.media_type.as_deref().filter(|m| !m.is_empty());
        let bytes = oci::download_layer(&self.registries, &source, media_type, credentials.as_ref(), MAX_DOWNLOAD)
            .await
            .map_err(|e| StepError::retryable(e.message))?;
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StepError::terminal(format!("cannot create {}: {e}", parent.display())))?;
        }
        write_atomically(&out, &bytes, 0o600)?;
        Ok(StepResult::succeeded(Map::new()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PushConfig {
    /// The source; `srcRef` is the name older Kargo documentation uses.
    #[serde(alias = "srcRef")]
    image_ref: String,
    dest_ref: String,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
}

pub(crate) struct OciPush {
    pub(crate) registries: Registries,
    pub(crate) resources: Arc<dyn Resources>,
}

#[async_trait]
impl StepRunner for OciPush {
    fn kind(&self) -> &'static str {
        "oci-push"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let kind = self.kind();
        let config: PushConfig = decode(kind, &context.config)?;
        let _ = config.insecure_skip_tls_verify;
        let source = reference(kind, "imageRef", &config.image_ref)?;
        let destination = reference(kind, "destRef", &config.dest_ref)?;
        let Some(tag) = destination.tag().map(str::to_owned) else {
            return Err(StepError::terminal(format!(
                "invalid {kind} config: destRef: name a tag (host/repository:tag)"
            )));
        };
        let source_credentials = credentials(&*self.resources, &context.project, &source).await?;
        let destination_credentials = credentials(&*self.resources, &context.project, &destination).await?;
        let copy = oci::Copy {
            source: &source,
            source_credentials: source_credentials.as_ref(),
            destination: &destination,
            destination_credentials: destination_credentials.as_ref(),
            annotations: &config.annotations,
            limit: MAX_PUSH_BLOB,
        };
        let digest = oci::copy(&self.registries, &copy).await.map_err(|e| StepError::retryable(e.message))?;
        let mut output = Map::new();
        output.insert("image".into(), json!(destination.to_string()));
        output.insert("digest".into(), json!(digest));
        output.insert("tag".into(), json!(tag));
        Ok(StepResult::succeeded(output))
    }
}
