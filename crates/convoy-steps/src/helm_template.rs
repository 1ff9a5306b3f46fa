//! `helm-template` (reference §3.8; `helm-rendering.md` §1): a chart in the work dir rendered by
//! Convoy's own Helm (`convoy-helm`), no helm binary: values files and `setValues` composed as
//! Kargo composes them, then written to one file, a Helm-layout tree or one file per object.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use convoy_engine::{StepContext, StepError, StepResult, StepRunner};
use convoy_helm::chart::Chart;
use convoy_helm::render::{Options, Rendered, block, render_parts};
use convoy_helm::{Map, Value};
use serde::Deserialize;
use serde_json::Map as JsonMap;

use crate::config::decode;
use crate::paths::resolve;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    path: String,
    out_path: String,
    #[serde(default)]
    out_layout: Option<String>,
    release_name: String,
    #[serde(default)]
    use_release_name: bool,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    values_files: Vec<String>,
    #[serde(default)]
    ignore_missing_value_files: bool,
    #[serde(default)]
    set_values: Vec<SetValue>,
    #[serde(default)]
    build_dependencies: bool,
    #[serde(default, rename = "includeCRDs")]
    include_crds: bool,
    #[serde(default)]
    disable_hooks: bool,
    #[serde(default)]
    skip_tests: bool,
    #[serde(default)]
    kube_version: Option<String>,
    #[serde(default)]
    api_versions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetValue {
    key: String,
    value: String,
    #[serde(default)]
    literal: bool,
}

pub(crate) struct HelmTemplate {
    /// For `buildDependencies`: where dependency charts are fetched from, with which credentials.
    pub(crate) registries: convoy_discovery::registry::Registries,
    pub(crate) resources: std::sync::Arc<dyn convoy_engine::Resources>,
}

fn invalid(message: impl std::fmt::Display) -> StepError {
    StepError::terminal(format!("invalid helm-template config: {message}"))
}

/// Helm's release-name rule.
fn check_release_name(name: &str) -> Result<(), StepError> {
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.len() > 53 || !name.split('.').all(label) {
        return Err(StepError::failed(format!(
            "failed to render chart: release name {name:?}: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"
        )));
    }
    Ok(())
}

fn compose_values(config: &Config, work_dir: &Path) -> Result<Map, StepError> {
    let values = Map::default();
    for (i, file) in config.values_files.iter().enumerate() {
        let path = resolve(work_dir, file)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && config.ignore_missing_value_files => continue,
            Err(e) => {
                return Err(StepError::failed(format!("failed to compose values: valuesFiles[{i}] {file}: {e}")));
            }
        };
        match convoy_helm::yaml_in::from_yaml(&text) {
            Ok(Value::Map(m)) => values.merge(&m),
            Ok(Value::Nil) => {}
            Ok(_) => {
                return Err(StepError::failed(format!("failed to compose values: failed to parse {file}: not a map")));
            }
            Err(e) => return Err(StepError::failed(format!("failed to compose values: failed to parse {file}: {e}"))),
        }
    }
    // Every --set first, then every --set-literal, each in list order (as Kargo applies them).
    for entry in config.set_values.iter().filter(|s| !s.literal) {
        convoy_helm::strvals::set(&values, &format!("{}={}", entry.key, entry.value))
            .map_err(|e| StepError::failed(format!("failed to compose values: failed parsing --set data: {e}")))?;
    }
    for entry in config.set_values.iter().filter(|s| s.literal) {
        convoy_helm::strvals::set_literal(&values, &format!("{}={}", entry.key, entry.value)).map_err(|e| {
            StepError::failed(format!("failed to compose values: failed parsing --set-literal data: {e}"))
        })?;
    }
    Ok(values)
}

fn write(path: &Path, text: &str, append: bool) -> Result<(), StepError> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| StepError::failed(format!("failed to write rendered chart: {e}")))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| StepError::failed(format!("failed to write rendered chart: {}: {e}", path.display())))?;
    file.write_all(text.as_bytes()).map_err(|e| StepError::failed(format!("failed to write rendered chart: {e}")))
}

/// `outPath/<relative>` inside the work dir (a chart's paths never leave it).
fn target(work_dir: &Path, out_path: &str, relative: &str) -> Result<PathBuf, StepError> {
    resolve(work_dir, &format!("{}/{relative}", out_path.trim_end_matches('/')))
}

/// Helm's layout: each template's documents appended to `outPath/[release/]<path>`, CRDs under
/// `outPath/<chart>/crds/` (never under the release name), hooks appended after.
fn write_helm_layout(rendered: &Rendered, config: &Config, work_dir: &Path) -> Result<(), StepError> {
    let prefix = if config.use_release_name { format!("{}/", config.release_name) } else { String::new() };
    let mut written: Vec<PathBuf> = Vec::new();
    let mut emit = |relative: &str, source: &str, text: &str, always_append: bool| -> Result<(), StepError> {
        let path = target(work_dir, &config.out_path, relative)?;
        let append = always_append || written.contains(&path);
        write(&path, &block(source, text), append)?;
        written.push(path);
        Ok(())
    };
    for (path, text) in &rendered.crds {
        emit(path, path, text, false)?;
    }
    for (path, text) in &rendered.manifests {
        emit(&format!("{prefix}{path}"), path, text, false)?;
    }
    for hook in &rendered.hooks {
        // Kargo appends a hook to a file already on disk.
        emit(&format!("{prefix}{}", hook.path), &hook.path, &hook.text, true)?;
    }
    Ok(())
}

/// `[group-]kind[-namespace]-name.yaml`, lowercased; `resource-0.yaml` when it cannot be told.
fn flat_name(document: &str) -> Result<String, StepError> {
    let head = convoy_helm::yaml_in::from_yaml(document).ok();
    let text = |path: &[&str]| -> String {
        let mut current = head.clone();
        for key in path {
            current = match current {
                Some(Value::Map(m)) => m.get(key),
                _ => None,
            };
        }
        match current {
            Some(Value::String(s)) => s,
            _ => String::new(),
        }
    };
    let (api, kind, namespace, name) =
        (text(&["apiVersion"]), text(&["kind"]), text(&["metadata", "namespace"]), text(&["metadata", "name"]));
    if kind.is_empty() || name.is_empty() {
        return Ok("resource-0.yaml".into());
    }
    let mut parts = Vec::new();
    if let Some((group, _)) = api.rsplit_once('/') {
        parts.push(group.replace('.', "_"));
    }
    parts.push(kind);
    if !namespace.is_empty() {
        parts.push(namespace);
    }
    parts.push(name);
    let file = format!("{}.yaml", parts.join("-")).to_lowercase();
    if file.contains(['/', '\\']) || file.starts_with('.') {
        return Err(StepError::failed(format!(
            "failed to write rendered chart: unsafe generated resource filename {file:?}"
        )));
    }
    Ok(file)
}

/// One file per document, no trailing newline; later documents of the same name win.
fn write_flat_layout(rendered: &Rendered, config: &Config, work_dir: &Path) -> Result<(), StepError> {
    let mut documents: Vec<String> = Vec::new();
    for text in std::iter::once(rendered.manifest()).chain(rendered.hooks.iter().map(|h| h.text.clone())) {
        let mut current = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("---") {
                let rest = rest.trim();
                if !rest.is_empty() && !rest.starts_with('#') {
                    return Err(StepError::failed(format!(
                        "failed to write rendered chart: invalid Yaml document separator: {line}"
                    )));
                }
                documents.push(std::mem::take(&mut current));
                continue;
            }
            current.push_str(line);
            current.push('\n');
        }
        documents.push(current);
    }
    for document in documents.iter().map(|d| d.trim()).filter(|d| !d.is_empty()) {
        let file = flat_name(document)?;
        write(&target(work_dir, &config.out_path, &file)?, document, false)?;
    }
    Ok(())
}

#[async_trait]
impl StepRunner for HelmTemplate {
    fn kind(&self) -> &'static str {
        "helm-template"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: Config = decode(self.kind(), &context.config)?;
        for (field, value) in
            [("path", &config.path), ("outPath", &config.out_path), ("releaseName", &config.release_name)]
        {
            if value.is_empty() {
                return Err(invalid(format!("{field}: String length must be greater than or equal to 1")));
            }
        }
        let layout = config.out_layout.clone().unwrap_or_else(|| "helm".into());
        if !matches!(layout.as_str(), "helm" | "flat") {
            return Err(invalid(format!(
                "outLayout: must be one of the following: \"helm\", \"flat\"; got {layout:?}"
            )));
        }
        let work_dir = context.work_dir.clone();
        let values = compose_values(&config, &work_dir)?;
        if config.build_dependencies {
            let chart_dir = resolve(&work_dir, &config.path)?;
            if !chart_dir.is_dir() {
                return Err(StepError::failed(format!(
                    "failed to build chart dependencies: {:?} is not a chart directory",
                    config.path
                )));
            }
            let vendor = crate::helm::Vendor {
                registries: &self.registries,
                resources: &*self.resources,
                project: &context.project,
                work_dir: &work_dir,
                chart_dir,
            };
            vendor.build().await.map_err(|mut e| {
                e.message = format!("failed to build chart dependencies: {}", e.message);
                e
            })?;
        }
        let options = Options {
            release_name: config.release_name.clone(),
            namespace: config.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| context.project.clone()),
            kube_version: config.kube_version.clone(),
            api_versions: config.api_versions.clone(),
            include_crds: config.include_crds,
            skip_tests: config.skip_tests,
            disable_hooks: config.disable_hooks,
        };
        let rendered = tokio::task::spawn_blocking(move || -> Result<(Rendered, Config), StepError> {
            let chart_dir = resolve(&work_dir, &config.path)?;
            let chart = if chart_dir.is_file() {
                let bytes = std::fs::read(&chart_dir)
                    .map_err(|e| StepError::failed(format!("failed to load chart from {:?}: {e}", config.path)))?;
                Chart::load_archive(&bytes, Path::new(&config.path))
            } else {
                Chart::load_dir(&chart_dir)
            }
            .map_err(|e| StepError::failed(format!("failed to load chart from {:?}: {e}", config.path)))?;
            let missing: Vec<String> = match chart.meta.get("dependencies") {
                Some(Value::List(deps)) => deps
                    .iter()
                    .filter_map(|d| match d {
                        Value::Map(m) => m.get("name").map(|n| convoy_helm::gofmt::print_value(&n)),
                        _ => None,
                    })
                    .filter(|name| !chart.charts.iter().any(|c| c.name() == *name))
                    .collect(),
                _ => Vec::new(),
            };
            if !missing.is_empty() {
                return Err(StepError::failed(format!(
                    "missing chart dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
                    missing.join(", ")
                )));
            }
            check_release_name(&options.release_name)?;
            let rendered = render_parts(&chart, &values, &options)
                .map_err(|e| StepError::failed(format!("failed to render chart: {e}")))?;
            Ok((rendered, config))
        })
        .await
        .map_err(|e| StepError::retryable(format!("the renderer stopped: {e}")))?;
        let (rendered, config) = rendered?;
        let file_mode = config.out_path.ends_with(".yaml") || config.out_path.ends_with(".yml");
        if file_mode {
            write(&resolve(&context.work_dir, &config.out_path)?, &rendered.to_text(), false)?;
        } else if layout == "flat" {
            write_flat_layout(&rendered, &config, &context.work_dir)?;
        } else {
            write_helm_layout(&rendered, &config, &context.work_dir)?;
        }
        Ok(StepResult::succeeded(JsonMap::new()))
    }
}
