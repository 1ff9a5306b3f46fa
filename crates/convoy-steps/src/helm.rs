//! `helm-update-chart`, natively (no helm binary): sets dependency versions in Chart.yaml, then
//! does what `helm dependency update` does: resolves each dependency's version (or range) to the
//! newest matching one, puts the archives in `charts/`, writes `Chart.lock` with Helm's digest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use convoy_discovery::registry::Registries;
use convoy_engine::{Resources, StepContext, StepError, StepResult, StepRunner};
use convoy_expr::gojson;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::basic::write_atomically;
use crate::config::decode;
use crate::paths::{resolve, within};
use crate::yamledit::set_values;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChartUpdate {
    repository: String,
    name: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HelmUpdateConfig {
    path: String,
    #[serde(default)]
    charts: Vec<ChartUpdate>,
}

pub(crate) struct HelmUpdateChart {
    pub(crate) registries: Registries,
    pub(crate) resources: Arc<dyn Resources>,
}

#[async_trait]
impl StepRunner for HelmUpdateChart {
    fn kind(&self) -> &'static str {
        "helm-update-chart"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: HelmUpdateConfig = decode(self.kind(), &context.config)?;
        let dir = resolve(&context.work_dir, &config.path)?;
        let chart_file = within(&context.work_dir, &dir.join("Chart.yaml"))?;
        let text = std::fs::read_to_string(&chart_file)
            .map_err(|e| StepError::terminal(format!("cannot read {}/Chart.yaml: {e}", config.path)))?;
        let chart: Value = crate::yamledit::from_str(&text)
            .map_err(|e| StepError::terminal(format!("{}/Chart.yaml: {e}", config.path)))?;
        let mut dependencies: Vec<Value> = chart["dependencies"].as_array().cloned().unwrap_or_default();
        // 1. The versions given in the config, into Chart.yaml (comments kept).
        let mut edits = Vec::new();
        for (i, update) in config.charts.iter().enumerate() {
            let index = dependencies
                .iter()
                .position(|d| {
                    d["name"] == update.name.as_str()
                        && same_repository(d["repository"].as_str().unwrap_or(""), &update.repository)
                })
                .ok_or_else(|| {
                    StepError::terminal(format!(
                        "charts[{i}]: {}/Chart.yaml has no dependency {:?} from {}",
                        config.path, update.name, update.repository
                    ))
                })?;
            dependencies[index]["version"] = json!(update.version);
            edits.push((format!("dependencies.{index}.version"), json!(update.version)));
        }
        if !edits.is_empty() {
            let edited = set_values(&text, &edits)
                .map_err(|e| StepError::terminal(format!("{}/Chart.yaml: {e}", config.path)))?;
            write_atomically(&chart_file, edited.as_bytes(), 0o644)?;
        }
        // 2. `helm dependency update`: resolve, download, lock.
        let vendor = Vendor {
            registries: &self.registries,
            resources: &*self.resources,
            project: &context.project,
            work_dir: &context.work_dir,
            chart_dir: dir,
        };
        let changes = vendor.update(&dependencies).await?;
        let mut output = Map::new();
        let mut message = format!("Updated chart dependencies for {}", config.path);
        if !changes.is_empty() {
            message.push_str("\n\n");
            message.push_str(&changes.join("\n"));
        }
        output.insert("commitMessage".into(), json!(message));
        Ok(StepResult::succeeded(output))
    }
}

/// Brings a chart's dependencies into its `charts/` as `helm dependency update` (ranges
/// resolved, `Chart.lock` written) and `helm dependency build` (the lock's versions) do.
pub(crate) struct Vendor<'a> {
    pub(crate) registries: &'a Registries,
    pub(crate) resources: &'a dyn Resources,
    pub(crate) project: &'a str,
    pub(crate) work_dir: &'a Path,
    /// The chart's directory, inside `work_dir`.
    pub(crate) chart_dir: PathBuf,
}

/// Helm's message when Chart.lock no longer matches Chart.yaml's dependencies.
const LOCK_OUT_OF_SYNC: &str =
    "the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml). Please update the dependencies";

impl Vendor<'_> {
    /// Each dependency at the version given or the newest its range allows, into `charts/`,
    /// then the lock. Returns the changes, `- name: old -> new`.
    pub(crate) async fn update(&self, dependencies: &[Value]) -> Result<Vec<String>, StepError> {
        let lock_file = within(self.work_dir, &self.chart_dir.join("Chart.lock"))?;
        let previous = previous_lock(&lock_file);
        let mut locked = Vec::new();
        let mut changes = Vec::new();
        for dependency in dependencies {
            let (name, repository) = self.checked(dependency)?;
            let range = dependency["version"].as_str().unwrap_or_default();
            let version = match self.local_chart(repository)? {
                Some(local) => local_version(&local, name, range)?,
                None => self.resolve(repository, name, range).await?,
            };
            self.fetch(name, repository, &version).await?;
            let old = previous
                .as_ref()
                .and_then(|p| p.iter().find(|d| d["name"] == name))
                .and_then(|d| d["version"].as_str())
                .unwrap_or("");
            if old != version {
                changes.push(format!("- {name}: {} -> {version}", if old.is_empty() { "(none)" } else { old }));
            }
            locked.push(json!({"name": name, "repository": repository, "version": version}));
        }
        write_lock(&lock_file, dependencies, &locked)?;
        Ok(changes)
    }

    /// `helm dependency build`: the versions Chart.lock names, once the lock is known to match
    /// Chart.yaml; without a lock, an update.
    pub(crate) async fn build(&self) -> Result<(), StepError> {
        let chart_file = within(self.work_dir, &self.chart_dir.join("Chart.yaml"))?;
        let text = std::fs::read_to_string(&chart_file)
            .map_err(|e| StepError::failed(format!("cannot read {}: {e}", chart_file.display())))?;
        let chart: Value =
            crate::yamledit::from_str(&text).map_err(|e| StepError::failed(format!("Chart.yaml: {e}")))?;
        let dependencies = chart["dependencies"].as_array().cloned().unwrap_or_default();
        if dependencies.is_empty() {
            return Ok(());
        }
        let lock_file = within(self.work_dir, &self.chart_dir.join("Chart.lock"))?;
        let lock: Option<Value> =
            std::fs::read_to_string(&lock_file).ok().and_then(|t| crate::yamledit::from_str(&t).ok());
        let Some(lock) = lock else {
            return self.update(&dependencies).await.map(drop);
        };
        let locked = lock["dependencies"].as_array().cloned().unwrap_or_default();
        if lock["digest"].as_str() != Some(lock_digest(&dependencies, &locked).as_str()) {
            return Err(StepError::failed(LOCK_OUT_OF_SYNC));
        }
        for dependency in &locked {
            let (name, repository) = self.checked(dependency)?;
            let version = dependency["version"].as_str().unwrap_or_default();
            self.fetch(name, repository, version).await?;
        }
        Ok(())
    }

    /// The dependency's name and repository, refused where they cannot be fetched safely.
    fn checked<'d>(&self, dependency: &'d Value) -> Result<(&'d str, &'d str), StepError> {
        let name = dependency["name"].as_str().unwrap_or_default();
        let repository = dependency["repository"].as_str().unwrap_or_default();
        if repository.is_empty() || repository.starts_with('@') || repository.starts_with("alias:") {
            return Err(StepError::terminal(format!(
                "dependency {name:?}: repository {repository:?} is not supported; use an https://, oci:// or file:// repository URL"
            )));
        }
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(StepError::terminal(format!(
                "{}: dependency name {name:?} is not a chart name (no slashes, no leading dot)",
                self.chart_dir.display()
            )));
        }
        Ok((name, repository))
    }

    /// A `file://` dependency's directory (relative to the chart), which must stay inside the
    /// work dir; `None` for a remote repository.
    fn local_chart(&self, repository: &str) -> Result<Option<PathBuf>, StepError> {
        let Some(path) = repository.strip_prefix("file://") else { return Ok(None) };
        let dir = within(self.work_dir, &self.chart_dir.join(path))?;
        if !dir.join("Chart.yaml").is_file() {
            return Err(StepError::terminal(format!("{repository}: no chart there (Chart.yaml is missing)")));
        }
        Ok(Some(dir))
    }

    /// `charts/NAME-VERSION.tgz`, downloaded (or packaged from a `file://` directory) unless it
    /// is there; other versions of NAME removed.
    async fn fetch(&self, name: &str, repository: &str, version: &str) -> Result<(), StepError> {
        if version.is_empty() || version.contains(['/', '\\']) || version.starts_with('.') {
            return Err(StepError::terminal(format!("dependency {name:?}: {version:?} is not a version")));
        }
        let charts_dir = within(self.work_dir, &self.chart_dir.join("charts"))?;
        let archive = within(self.work_dir, &charts_dir.join(format!("{name}-{version}.tgz")))?;
        let local = self.local_chart(repository)?;
        if archive.exists() && local.is_none() {
            return Ok(());
        }
        let bytes = match &local {
            Some(dir) => package(dir, name)?,
            None => {
                let kind = if repository.starts_with("oci://") { "image" } else { "helm" };
                let credentials =
                    crate::config::source_credentials(self.resources, self.project, kind, repository).await?;
                convoy_discovery::chart::archive(self.registries, repository, name, version, credentials.as_ref())
                    .await
                    .map_err(|e| StepError::retryable(e.message))?
            }
        };
        std::fs::create_dir_all(&charts_dir).map_err(|e| StepError::terminal(format!("cannot create charts/: {e}")))?;
        remove_other_versions(&charts_dir, name, version)?;
        write_atomically(&archive, &bytes, 0o644)
    }

    /// An exact version as given, or the newest version matching a range.
    async fn resolve(&self, repository: &str, name: &str, range: &str) -> Result<String, StepError> {
        if convoy_expr::semver::Version::parse(range).is_ok()
            && !range.contains(['x', 'X', '*'])
            && range.split('.').count() == 3
        {
            return Ok(range.to_owned());
        }
        let constraint = convoy_core::constraint::parse(if range.is_empty() { "*" } else { range })
            .map_err(|e| StepError::terminal(format!("dependency {name:?}: version: {e}")))?;
        let kind = if repository.starts_with("oci://") { "image" } else { "helm" };
        let credentials = crate::config::source_credentials(self.resources, self.project, kind, repository).await?;
        let versions = convoy_discovery::chart::versions(self.registries, repository, name, credentials.as_ref())
            .await
            .map_err(|e| StepError::retryable(e.message))?;
        convoy_discovery::select::by_semver(versions.iter().map(String::as_str), false, Some(&constraint))
            .first()
            .map(|v| (*v).to_owned())
            .ok_or_else(|| {
                StepError::terminal(format!("dependency {name:?}: no version in {repository} satisfies {range:?}"))
            })
    }
}

/// A local chart's version, which must satisfy the dependency's range (as Helm checks it).
fn local_version(dir: &Path, name: &str, range: &str) -> Result<String, StepError> {
    let text = std::fs::read_to_string(dir.join("Chart.yaml"))
        .map_err(|e| StepError::terminal(format!("dependency {name:?}: {e}")))?;
    let chart: Value = crate::yamledit::from_str(&text)
        .map_err(|e| StepError::terminal(format!("dependency {name:?}: Chart.yaml: {e}")))?;
    let version = chart["version"].as_str().unwrap_or_default().to_owned();
    if !range.is_empty() {
        let constraint = convoy_core::constraint::parse(range)
            .map_err(|e| StepError::terminal(format!("dependency {name:?}: version: {e}")))?;
        let matches = convoy_discovery::select::by_semver(std::iter::once(version.as_str()), false, Some(&constraint));
        if matches.is_empty() {
            return Err(StepError::terminal(format!(
                "dependency {name:?}: the local chart's version {version} does not satisfy {range:?}"
            )));
        }
    }
    Ok(version)
}

/// A chart directory as Helm packages it: a gzipped tar with the files under `NAME/`. Links
/// are not followed out of it.
fn package(dir: &Path, name: &str) -> Result<Vec<u8>, StepError> {
    let fail = |e: std::io::Error| StepError::terminal(format!("cannot package {}: {e}", dir.display()));
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
    builder.follow_symlinks(false);
    builder.append_dir_all(name, dir).map_err(fail)?;
    builder.into_inner().and_then(|gz| gz.finish()).map_err(fail)
}

/// Repository URLs compared as Helm users write them: case and a trailing `/` do not matter.
fn same_repository(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

fn previous_lock(path: &std::path::Path) -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(path).ok()?;
    let lock: Value = crate::yamledit::from_str(&text).ok()?;
    lock["dependencies"].as_array().cloned()
}

/// Archives of other versions of `name` leave `charts/` (as `helm dependency update` does).
fn remove_other_versions(dir: &std::path::Path, name: &str, version: &str) -> Result<(), StepError> {
    let keep = format!("{name}-{version}.tgz");
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let is_version_of_name = file
            .strip_prefix(&format!("{name}-"))
            .and_then(|rest| rest.strip_suffix(".tgz"))
            .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit() || c == 'v'));
        if is_version_of_name && file != keep {
            std::fs::remove_file(entry.path())
                .map_err(|e| StepError::terminal(format!("cannot remove charts/{file}: {e}")))?;
        }
    }
    Ok(())
}

/// Helm's lock digest: `sha256:` + hex SHA-256 of Go's JSON of `[requested, locked]`
/// dependencies (struct field order, empty fields omitted, `<>&` escaped).
pub(crate) fn lock_digest(requested: &[Value], locked: &[Value]) -> String {
    let list = |deps: &[Value]| format!("[{}]", deps.iter().map(dependency_json).collect::<Vec<_>>().join(","));
    let json = format!("[{},{}]", list(requested), list(locked));
    format!("sha256:{}", Sha256::digest(json.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn dependency_json(dependency: &Value) -> String {
    let mut fields = vec![format!("\"name\":{}", gojson::marshal(&json!(dependency["name"].as_str().unwrap_or(""))))];
    let text = |key: &str| dependency[key].as_str().filter(|s| !s.is_empty());
    if let Some(v) = text("version") {
        fields.push(format!("\"version\":{}", gojson::marshal(&json!(v))));
    }
    fields.push(format!("\"repository\":{}", gojson::marshal(&json!(dependency["repository"].as_str().unwrap_or("")))));
    if let Some(v) = text("condition") {
        fields.push(format!("\"condition\":{}", gojson::marshal(&json!(v))));
    }
    if let Some(tags) = dependency["tags"].as_array().filter(|t| !t.is_empty()) {
        fields.push(format!("\"tags\":{}", gojson::marshal(&Value::Array(tags.clone()))));
    }
    if dependency["enabled"].as_bool() == Some(true) {
        fields.push("\"enabled\":true".into());
    }
    if let Some(values) = dependency["import-values"].as_array().filter(|t| !t.is_empty()) {
        fields.push(format!("\"import-values\":{}", gojson::marshal(&Value::Array(values.clone()))));
    }
    if let Some(v) = text("alias") {
        fields.push(format!("\"alias\":{}", gojson::marshal(&json!(v))));
    }
    format!("{{{}}}", fields.join(","))
}

/// Writes Chart.lock; an unchanged lock keeps its `generated` time, so re-running changes nothing.
fn write_lock(path: &std::path::Path, requested: &[Value], locked: &[Value]) -> Result<(), StepError> {
    let digest = lock_digest(requested, locked);
    let previous: Option<Value> = std::fs::read_to_string(path).ok().and_then(|t| crate::yamledit::from_str(&t).ok());
    let generated = match &previous {
        Some(p) if p["digest"] == digest.as_str() => p["generated"].as_str().unwrap_or_default().to_owned(),
        _ => convoy_api::time::Timestamp::now().to_string(),
    };
    let mut text = String::from("dependencies:\n");
    for d in locked {
        text.push_str(&format!(
            "- name: {}\n  repository: {}\n  version: {}\n",
            d["name"].as_str().unwrap_or(""),
            d["repository"].as_str().unwrap_or(""),
            d["version"].as_str().unwrap_or("")
        ));
    }
    text.push_str(&format!("digest: {digest}\ngenerated: \"{generated}\"\n"));
    write_atomically(path, text.as_bytes(), 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's encoding of Helm's `chart.Dependency`, written out by hand for this input.
    #[test]
    fn lock_digest_hashes_gos_json() {
        let requested = [
            json!({"name": "redis", "version": ">=17.0.0 <18", "repository": "https://charts.example.com", "condition": "redis.enabled"}),
        ];
        let locked = [json!({"name": "redis", "version": "17.3.7", "repository": "https://charts.example.com"})];
        let expected_json = r#"[[{"name":"redis","version":"\u003e=17.0.0 \u003c18","repository":"https://charts.example.com","condition":"redis.enabled"}],[{"name":"redis","version":"17.3.7","repository":"https://charts.example.com"}]]"#;
        let expected = format!(
            "sha256:{}",
            Sha256::digest(expected_json.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        assert_eq!(lock_digest(&requested, &locked), expected);
    }
}
