//! `copy`, `delete`, `json-update`, `yaml-parse`, `json-parse`, `toml-parse`, `kustomize-build`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use convoy_engine::{StepContext, StepError, StepResult, StepRunner};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::basic::write_atomically;
use crate::config::{NamedExpression, UpdateConfig, decode, key_parts};
use crate::paths::{is_git_dir, resolve, resolve_leaf, within};

fn io(what: &str, path: &Path, e: std::io::Error) -> StepError {
    // The OS's words without Rust's `(os error N)`; the engine shows the path from the work dir.
    let text = e.to_string();
    let words = text.rfind(" (os error ").map_or(text.as_str(), |at| &text[..at]).to_lowercase();
    StepError::terminal(format!("cannot {what} {}: {words}", path.display()))
}

/// `*` matches any run of characters but `/`; `**` any run at all; `?` one character.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p {
            [] => t.is_empty(),
            [b'*', b'*', rest @ ..] => (0..=t.len()).any(|i| go(rest, &t[i..])),
            [b'*', rest @ ..] => (0..=t.len()).take_while(|i| !t[..*i].contains(&b'/')).any(|i| go(rest, &t[i..])),
            [b'?', rest @ ..] => !t.is_empty() && t[0] != b'/' && go(rest, &t[1..]),
            [c, rest @ ..] => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// gitignore-style lines (`copy` and `untar`'s `ignore`): blank and `#` lines are skipped; a
/// pattern without `/` matches a name at any depth.
pub(crate) struct Ignore(Vec<String>);

impl Ignore {
    pub(crate) fn parse(text: &str) -> Ignore {
        Ignore(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| l.trim_start_matches('/').trim_end_matches('/').to_owned())
                .collect(),
        )
    }

    /// Whether the path (relative, `/`-separated) is ignored.
    pub(crate) fn matches(&self, relative: &str) -> bool {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        self.0.iter().any(|p| glob_match(p, relative) || (!p.contains('/') && glob_match(p, name)))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CopyConfig {
    in_path: String,
    out_path: String,
    #[serde(default)]
    ignore: Option<String>,
}

pub(crate) struct Copy;

#[async_trait]
impl StepRunner for Copy {
    fn kind(&self) -> &'static str {
        "copy"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: CopyConfig = decode(self.kind(), &context.config)?;
        let from = resolve(&context.work_dir, &config.in_path)?;
        let to = resolve(&context.work_dir, &config.out_path)?;
        let ignore = Ignore::parse(config.ignore.as_deref().unwrap_or_default());
        copy_tree(&context.work_dir, &from, &to, "", &|relative| ignore.matches(relative), &mut Copied::default())?;
        Ok(StepResult::succeeded(Map::new()))
    }
}

/// What one `copy` may write: a repository's tree, not a disk's worth.
const MAX_COPY_BYTES: u64 = 4 << 30;
const MAX_COPY_ENTRIES: u64 = 200_000;

/// Bytes and entries copied so far, against [`MAX_COPY_BYTES`] and [`MAX_COPY_ENTRIES`].
#[derive(Default)]
struct Copied {
    bytes: u64,
    entries: u64,
}

impl Copied {
    fn add(&mut self, bytes: u64) -> Result<(), StepError> {
        self.bytes += bytes;
        self.entries += 1;
        if self.bytes > MAX_COPY_BYTES || self.entries > MAX_COPY_ENTRIES {
            return Err(StepError::terminal(format!(
                "copy: more than {} GiB or {MAX_COPY_ENTRIES} files; copy a smaller directory or use ignore",
                MAX_COPY_BYTES >> 30
            )));
        }
        Ok(())
    }
}

/// Copies `from` to `to`. Links are copied as links, and only when they still point inside the
/// work dir from where they land; whatever already stands at a destination name is replaced,
/// never written through.
fn copy_tree(
    work_dir: &Path,
    from: &Path,
    to: &Path,
    relative: &str,
    ignored: &dyn Fn(&str) -> bool,
    copied: &mut Copied,
) -> Result<(), StepError> {
    let metadata = std::fs::symlink_metadata(from).map_err(|e| io("read", from, e))?;
    let kind = metadata.file_type();
    copied.add(if kind.is_file() { metadata.len() } else { 0 })?;
    let existing = std::fs::symlink_metadata(to).ok().map(|m| m.file_type());
    // A link or file at the destination is replaced, not followed.
    if existing.is_some_and(|t| t.is_symlink() || (t.is_file() && !kind.is_file())) {
        std::fs::remove_file(to).map_err(|e| io("replace", to, e))?;
    }
    if kind.is_symlink() {
        let target = std::fs::read_link(from).map_err(|e| io("read", from, e))?;
        let parent = to.parent().unwrap_or(to);
        if target.is_absolute() || within(work_dir, &parent.join(&target)).is_err() {
            return Err(StepError::terminal(format!(
                "copy: {} is a symbolic link to {}, outside the promotion's working directory; \
                 remove it from the repository or list it in ignore",
                from.strip_prefix(work_dir).unwrap_or(from).display(),
                target.display()
            )));
        }
        create_parent(to)?;
        return std::os::unix::fs::symlink(&target, to).map_err(|e| io("link", to, e));
    }
    if kind.is_file() {
        create_parent(to)?;
        std::fs::copy(from, to).map_err(|e| io("copy", from, e))?;
        return Ok(());
    }
    if !kind.is_dir() {
        return Err(StepError::terminal(format!(
            "copy: {} is not a file, directory or link",
            from.strip_prefix(work_dir).unwrap_or(from).display()
        )));
    }
    std::fs::create_dir_all(to).map_err(|e| io("create", to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| io("list", from, e))? {
        let entry = entry.map_err(|e| io("list", from, e))?;
        if is_git_dir(&entry.file_name()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if relative.is_empty() { name.clone() } else { format!("{relative}/{name}") };
        if ignored(&child) {
            continue;
        }
        copy_tree(work_dir, &entry.path(), &to.join(entry.file_name()), &child, ignored, copied)?;
    }
    Ok(())
}

fn create_parent(path: &Path) -> Result<(), StepError> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|e| io("create", parent, e)),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeleteConfig {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    paths_are_globs: bool,
    #[serde(default)]
    strict: bool,
}

pub(crate) struct Delete;

#[async_trait]
impl StepRunner for Delete {
    fn kind(&self) -> &'static str {
        "delete"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: DeleteConfig = decode(self.kind(), &context.config)?;
        let mut targets: Vec<String> = config.paths.clone();
        match (&config.path, targets.is_empty()) {
            (Some(p), true) => targets.push(p.clone()),
            (None, false) => {}
            _ => return Err(StepError::terminal("invalid delete config: set exactly one of path or paths")),
        }
        let mut matched = Vec::new();
        for target in &targets {
            if config.paths_are_globs {
                let found = walk(&context.work_dir, "")
                    .into_iter()
                    .filter(|rel| glob_match(target.trim_start_matches("./"), rel));
                for relative in found {
                    matched.push(resolve_leaf(&context.work_dir, &relative)?);
                }
            } else {
                let path = resolve_leaf(&context.work_dir, target)?;
                if std::fs::symlink_metadata(&path).is_ok() {
                    matched.push(path);
                } else if config.strict {
                    return Err(StepError::terminal(format!("{target} does not exist (strict: true)")));
                }
            }
        }
        for path in matched {
            // A link is removed itself; its target is left alone.
            let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            let removed = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            removed
                .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
                .map_err(|e| io("delete", &path, e))?;
        }
        Ok(StepResult::succeeded(Map::new()))
    }
}

/// Every path below `root`, without entering linked directories or `.git`.
fn walk(root: &Path, relative: &str) -> Vec<String> {
    let dir = if relative.is_empty() { root.to_owned() } else { root.join(relative) };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if is_git_dir(&entry.file_name()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if relative.is_empty() { name } else { format!("{relative}/{name}") };
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(root, &child));
        }
        out.push(child);
    }
    out
}

/// Sets values by dotted key (`a.b.0.c`), editing the text in place: every other byte of the
/// file is kept. Each edit is read back.
pub(crate) struct JsonUpdate;

#[async_trait]
impl StepRunner for JsonUpdate {
    fn kind(&self) -> &'static str {
        "json-update"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config = UpdateConfig::decode(self.kind(), &context.config)?;
        let path = resolve(&context.work_dir, &config.path)?;
        let mut text = std::fs::read_to_string(&path).map_err(|e| io("read", &path, e))?;
        serde_json::from_str::<Value>(&text)
            .map_err(|e| StepError::terminal(format!("{}: not valid JSON: {e}", config.path)))?;
        for update in &config.updates {
            let keys = key_parts(&update.key);
            let fail = |e: String| StepError::terminal(format!("{}: {}: {e}", config.path, update.key));
            text = crate::jsonedit::set(&text, &keys, &update.value).map_err(fail)?;
            let document: Value =
                serde_json::from_str(&text).map_err(|e| fail(format!("the edit broke the file: {e}")))?;
            if read_back(&document, &keys) != Some(&update.value) {
                return Err(fail("the edit did not read back; please report this".into()));
            }
        }
        write_atomically(&path, text.as_bytes(), 0o644)?;
        let mut output = Map::new();
        output.insert("commitMessage".into(), json!(config.commit_message()));
        Ok(StepResult::succeeded(output))
    }
}

/// The value at `keys` (`-1` is a list's last item).
fn read_back<'a>(document: &'a Value, keys: &[String]) -> Option<&'a Value> {
    keys.iter().try_fold(document, |node, key| match node {
        Value::Array(items) if key == "-1" => items.last(),
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        Value::Object(map) => map.get(key),
        _ => None,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParseConfig {
    path: String,
    outputs: Vec<NamedExpression>,
}

/// The formats the `*-parse` steps read.
#[derive(Clone, Copy)]
pub(crate) enum Format {
    Yaml,
    Json,
    Toml,
}

/// `yaml-parse`, `json-parse`, `toml-parse`: each output is an expression over the parsed document.
pub(crate) struct Parse(pub(crate) Format);

#[async_trait]
impl StepRunner for Parse {
    fn kind(&self) -> &'static str {
        match self.0 {
            Format::Yaml => "yaml-parse",
            Format::Json => "json-parse",
            Format::Toml => "toml-parse",
        }
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: ParseConfig = decode(self.kind(), &context.config)?;
        if config.outputs.is_empty() {
            return Err(StepError::terminal(format!(
                "invalid {} config: outputs: must have at least 1 item",
                self.kind()
            )));
        }
        let path = resolve(&context.work_dir, &config.path)?;
        let text = std::fs::read_to_string(&path).map_err(|e| io("read", &path, e))?;
        let document: Value = match self.0 {
            Format::Yaml => {
                crate::yamledit::from_str(&text).map_err(|e| StepError::terminal(format!("{}: {e}", config.path)))?
            }
            Format::Json => serde_json::from_str(&text)
                .map_err(|e| StepError::terminal(format!("{}: not valid JSON: {e}", config.path)))?,
            Format::Toml => {
                crate::toml::to_json(&text).map_err(|e| StepError::terminal(format!("{}: {e}", config.path)))?
            }
        };
        let Value::Object(map) = document else {
            return Err(StepError::terminal(format!("{}: the document must be an object", config.path)));
        };
        let scope = convoy_expr::Scope::from_json(&map).map_err(|e| StepError::terminal(e.to_string()))?;
        let evaluator = convoy_expr::Evaluator::new(&convoy_expr::NoData);
        let mut output = Map::new();
        for named in &config.outputs {
            let value = evaluator
                .expression(&named.from_expression, &scope)
                .map_err(|e| StepError::terminal(format!("output {:?}: {e}", named.name)))?;
            output.insert(named.name.clone(), value);
        }
        Ok(StepResult::succeeded(output))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BuildConfig {
    path: String,
    out_path: String,
    #[serde(default)]
    #[expect(dead_code, reason = "accepted for Kargo compatibility; only Kargo's default layout is written")]
    output_format: Option<String>,
    #[serde(default)]
    plugin: Plugins,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Plugins {
    #[serde(default)]
    helm: HelmPlugin,
}

/// What `helmCharts` charts see as `.Capabilities`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct HelmPlugin {
    kube_version: Option<String>,
    #[serde(default)]
    api_versions: Vec<String>,
}

/// Renders a kustomization with `kustomize build`, or `kubectl kustomize` when that is what
/// is installed; with `helm`, a kustomization's `helmCharts` too.
pub(crate) struct KustomizeBuild {
    pub(crate) helm: Option<PathBuf>,
}

impl KustomizeBuild {
    /// kustomize's flags for its Helm chart inflation generator.
    fn helm_flags(&self, plugin: &HelmPlugin) -> Vec<std::ffi::OsString> {
        let Some(helm) = &self.helm else { return Vec::new() };
        let mut flags: Vec<std::ffi::OsString> = vec!["--enable-helm".into(), "--helm-command".into(), helm.into()];
        if let Some(version) = &plugin.kube_version {
            flags.push(format!("--helm-kube-version={version}").into());
        }
        for api in &plugin.api_versions {
            flags.push(format!("--helm-api-versions={api}").into());
        }
        flags
    }
}

#[async_trait]
impl StepRunner for KustomizeBuild {
    fn kind(&self) -> &'static str {
        "kustomize-build"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: BuildConfig = decode(self.kind(), &context.config)?;
        let dir = resolve(&context.work_dir, &config.path)?;
        let out = resolve(&context.work_dir, &config.out_path)?;
        let attempts: [(&str, &[&str]); 2] = [("kustomize", &["build"]), ("kubectl", &["kustomize"])];
        let helm_flags = self.helm_flags(&config.plugin.helm);
        let mut rendered = None;
        for (program, args) in attempts {
            let mut command = tokio::process::Command::new(program);
            command.args(args).args(&helm_flags).arg(&dir).env(convoy_helm::CHART_ROOT_VARIABLE, &context.work_dir);
            match command.output().await {
                Ok(o) if o.status.success() => {
                    rendered = Some(o.stdout);
                    break;
                }
                Ok(o) => {
                    return Err(StepError::terminal(format!(
                        "{program} {} failed: {}",
                        args.join(" "),
                        String::from_utf8_lossy(&o.stderr).trim()
                    )));
                }
                Err(_) => continue,
            }
        }
        let rendered = rendered.ok_or_else(|| {
            StepError::terminal("neither `kustomize` nor `kubectl` (with kustomize built in) is on PATH; install one of them on the Convoy server")
        })?;
        let file = if config.out_path.ends_with(".yaml") || config.out_path.ends_with(".yml") {
            out
        } else {
            within(&context.work_dir, &out.join("manifests.yaml"))?
        };
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("create", parent, e))?;
        }
        write_atomically(&file, &rendered, 0o644)?;
        Ok(StepResult::succeeded(Map::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.yaml", "a.yaml"));
        assert!(!glob_match("*.yaml", "dir/a.yaml"));
        assert!(glob_match("**/*.yaml", "dir/sub/a.yaml"));
        assert!(glob_match("a?c", "abc"));
    }
}
