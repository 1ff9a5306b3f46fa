//! A chart as Helm loads it from a directory (`helm-rendering.md` §3): `Chart.yaml`, the
//! default `values.yaml`, `templates/`, subcharts under `charts/`, `crds/`, and every other
//! file for `.Files`.

use std::path::Path;

use crate::value::{Map, Value};

/// A file over this size is refused, as Helm refuses it.
const MAX_FILE: u64 = 5 << 20;

#[derive(Debug, Clone)]
pub struct Chart {
    /// `Chart.yaml`.
    pub meta: Map,
    /// `values.yaml` (a map, possibly empty).
    pub values: Map,
    /// Paths relative to the chart (`templates/a.yaml`) and their text.
    pub templates: Vec<(String, String)>,
    /// Every other file (README, `crds/…`, extra values files), for `.Files`.
    pub files: Vec<(String, Vec<u8>)>,
    pub charts: Vec<Chart>,
}

impl Chart {
    pub fn name(&self) -> String {
        self.meta.get("name").map(|v| crate::sprig::to_string_value(&v)).unwrap_or_default()
    }

    pub fn meta_text(&self, field: &str) -> String {
        match self.meta.get(field) {
            None | Some(Value::Nil) => String::new(),
            Some(v) => crate::sprig::to_string_value(&v),
        }
    }

    pub fn is_library(&self) -> bool {
        self.meta_text("type").eq_ignore_ascii_case("library")
    }

    /// The `crds/` files (`.yaml`, `.yml`, `.json`), in load order.
    pub fn crds(&self) -> impl Iterator<Item = &(String, Vec<u8>)> {
        self.files.iter().filter(|(path, _)| {
            let lower = path.to_ascii_lowercase();
            lower.starts_with("crds/")
                && (lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json"))
        })
    }

    /// Loads the chart in directory `dir`.
    pub fn load_dir(dir: &Path) -> Result<Chart, String> {
        let mut entries = Vec::new();
        walk(dir, dir, &mut entries)?;
        Chart::from_files(entries, dir)
    }

    fn from_files(entries: Vec<(String, Vec<u8>)>, dir: &Path) -> Result<Chart, String> {
        let mut meta = None;
        let mut values = Map::default();
        let mut templates = Vec::new();
        let mut files = Vec::new();
        let mut sub_dirs: Vec<String> = Vec::new();
        for (path, mut bytes) in entries {
            // A UTF-8 byte order mark is removed.
            if bytes.starts_with(&[0xef, 0xbb, 0xbf]) {
                bytes.drain(..3);
            }
            if let Some(rest) = path.strip_prefix("charts/") {
                let first = rest.split('/').next().unwrap_or(rest);
                if first.starts_with('_') || first.starts_with('.') {
                    continue;
                }
                if rest.contains('/') {
                    if !sub_dirs.iter().any(|d| d == first) {
                        sub_dirs.push(first.to_owned());
                    }
                    continue;
                }
                if first.ends_with(".tgz") || first.ends_with(".tar.gz") {
                    return Err(format!("{}: packaged subcharts (charts/{first}) are not read yet", dir.display()));
                }
                files.push((path, bytes));
                continue;
            }
            let text = || String::from_utf8_lossy(&bytes).into_owned();
            match path.as_str() {
                "Chart.yaml" => match crate::yaml_in::from_yaml(&text())? {
                    Value::Map(m) => meta = Some(m),
                    _ => return Err(format!("{}: Chart.yaml is not a map", dir.display())),
                },
                "values.yaml" => match crate::yaml_in::from_yaml(&text())
                    .map_err(|e| format!("{}/values.yaml: {e}", dir.display()))?
                {
                    Value::Map(m) => values = m,
                    Value::Nil => {}
                    _ => return Err(format!("{}/values.yaml: not a map", dir.display())),
                },
                p if p.starts_with("templates/") => templates.push((path.clone(), text())),
                _ => files.push((path, bytes)),
            }
        }
        let meta = meta.ok_or_else(|| format!("{}: Chart.yaml file is missing", dir.display()))?;
        for field in ["apiVersion", "name", "version"] {
            if meta.get(field).is_none_or(|v| v.is_nil()) {
                return Err(format!("validation: chart.metadata.{field} is required"));
            }
        }
        let name = crate::sprig::to_string_value(&meta.get("name").unwrap_or(Value::Nil));
        if name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(format!("validation: chart.metadata.name {name:?} is invalid"));
        }
        let kind = meta.get("type").map(|v| crate::sprig::to_string_value(&v)).unwrap_or_default();
        if !kind.is_empty() && kind != "application" && kind != "library" {
            return Err("validation: chart.metadata.type must be application or library".into());
        }
        let mut charts = Vec::new();
        for sub in sub_dirs {
            charts.push(Chart::load_dir(&dir.join("charts").join(sub))?);
        }
        Ok(Chart { meta, values, templates, files, charts })
    }
}

/// Every regular file under `dir`, in lexical order, paths relative to `root` with `/`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    names.sort();
    for path in names {
        let relative = path.strip_prefix(root).map_err(|e| e.to_string())?.to_string_lossy().replace('\\', "/");
        // Helm's default ignore: dot files directly under templates/.
        if relative.starts_with("templates/.") {
            continue;
        }
        // Links are followed only while they stay inside the chart: a chart from a repository
        // must not read the server's files into a manifest.
        let link = std::fs::symlink_metadata(&path).map_err(|e| format!("{relative}: {e}"))?;
        if link.file_type().is_symlink() {
            let target = std::fs::canonicalize(&path).map_err(|e| format!("{relative}: {e}"))?;
            let inside = std::fs::canonicalize(root).map_err(|e| e.to_string())?;
            if !target.starts_with(&inside) {
                return Err(format!("{relative}: a link to {} leaves the chart; it is not followed", target.display()));
            }
        }
        let meta = std::fs::metadata(&path).map_err(|e| format!("{relative}: {e}"))?;
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else if meta.is_file() {
            if meta.len() > MAX_FILE {
                return Err(format!("{relative}: file is larger than the maximum of 5 MiB"));
            }
            out.push((relative, std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?));
        } else {
            return Err(format!("{relative}: cannot load irregular file as it has file mode type bits set"));
        }
    }
    Ok(())
}
