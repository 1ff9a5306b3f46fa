//! A chart as Helm loads it from a directory (`helm-rendering.md` §3): `Chart.yaml`, the
//! default `values.yaml`, `templates/`, subcharts under `charts/`, `crds/`, and every other
//! file for `.Files`.

use std::path::Path;

use crate::helmignore::Rules;
use crate::value::{Map, Value};

/// A chart's files: paths relative to its root, and their bytes.
type Files = Vec<(String, Vec<u8>)>;

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
    /// `values.schema.json`, checked against the chart's part of the final values.
    pub schema: Option<Vec<u8>>,
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
        let ignore_file = dir.join(".helmignore");
        let ignore = match std::fs::symlink_metadata(&ignore_file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("{}: {e}", ignore_file.display())),
            // Its rules are quoted in errors: a link must not quote a file from elsewhere.
            Ok(meta) if !meta.is_file() => {
                return Err(format!("{}: not a regular file; it is not followed", ignore_file.display()));
            }
            Ok(_) => std::fs::read_to_string(&ignore_file).map_err(|e| format!("{}: {e}", ignore_file.display()))?,
        };
        let rules = Rules::parse(&ignore).map_err(|e| format!("{}/{e}", dir.display()))?;
        let mut entries = Vec::new();
        walk(dir, dir, &rules, &mut entries)?;
        Chart::from_files(entries, dir)
    }

    /// Loads a packaged chart (`.tgz`): its top directory stripped; absolute paths, `..` and
    /// files at the archive's root refused; at most 100 MiB in all and 5 MiB per file.
    pub fn load_archive(bytes: &[u8], label: &Path) -> Result<Chart, String> {
        use std::io::Read;
        if !bytes.starts_with(&[0x1f, 0x8b]) {
            return Err(format!("{}: not a gzip-compressed chart archive", label.display()));
        }
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        let mut entries = Vec::new();
        let mut total: u64 = 0;
        for entry in archive.entries().map_err(|e| format!("{}: {e}", label.display()))? {
            let mut entry = entry.map_err(|e| format!("{}: {e}", label.display()))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path =
                entry.path().map_err(|e| format!("{}: {e}", label.display()))?.to_string_lossy().replace('\\', "/");
            if path.starts_with('/') || path.split('/').any(|p| p == "..") {
                return Err(format!(
                    "{}: chart illegally contains content outside the base directory: {path:?}",
                    label.display()
                ));
            }
            let Some((_, relative)) = path.split_once('/') else {
                if path == "Chart.yaml" {
                    return Err(format!("{}: chart yaml not in base directory", label.display()));
                }
                continue;
            };
            let size = entry.header().size().unwrap_or(0);
            total += size;
            if size > MAX_FILE || total > 100 << 20 {
                return Err(format!(
                    "{}: chart archive is larger than allowed (5 MiB a file, 100 MiB in all)",
                    label.display()
                ));
            }
            let mut data = Vec::with_capacity(size as usize);
            entry
                .by_ref()
                .take(MAX_FILE + 1)
                .read_to_end(&mut data)
                .map_err(|e| format!("{}: {e}", label.display()))?;
            entries.push((relative.to_owned(), data));
        }
        Chart::from_files(entries, label)
    }

    fn from_files(entries: Vec<(String, Vec<u8>)>, dir: &Path) -> Result<Chart, String> {
        let mut meta = None;
        let mut values = Map::default();
        let mut templates = Vec::new();
        let mut files = Vec::new();
        let mut schema = None;
        let mut requirements = None;
        let mut sub_dirs: Vec<(String, Files)> = Vec::new();
        let mut archives: Vec<(String, Vec<u8>)> = Vec::new();
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
                if let Some((_, inner)) = rest.split_once('/') {
                    match sub_dirs.iter_mut().find(|(d, _)| d == first) {
                        Some((_, files)) => files.push((inner.to_owned(), bytes)),
                        None => sub_dirs.push((first.to_owned(), vec![(inner.to_owned(), bytes)])),
                    }
                    continue;
                }
                if first.ends_with(".tgz") || first.ends_with(".tar.gz") {
                    archives.push((first.to_owned(), bytes));
                    continue;
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
                "values.schema.json" => schema = Some(bytes),
                // Helm 2's dependency list (apiVersion v1 charts); also in `.Files` there.
                "requirements.yaml" => {
                    requirements = Some(crate::yaml_in::from_yaml(&text()).map_err(|e| format!("{path}: {e}"))?);
                    files.push((path, bytes));
                }
                "Chart.lock" | "requirements.lock" => {}
                p if p.starts_with("templates/") => templates.push((path.clone(), text())),
                _ => files.push((path, bytes)),
            }
        }
        let meta = meta.ok_or_else(|| format!("{}: Chart.yaml file is missing", dir.display()))?;
        if let Some(Value::Map(requirements)) = requirements
            && let Some(dependencies) = requirements.get("dependencies")
            && meta.get("apiVersion").is_none_or(|v| crate::sprig::to_string_value(&v) == "v1")
        {
            meta.insert("dependencies", dependencies);
        }
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
        for (sub, entries) in sub_dirs {
            charts.push(Chart::from_files(entries, &dir.join("charts").join(sub))?);
        }
        for (name, bytes) in archives {
            charts.push(Chart::load_archive(&bytes, &dir.join("charts").join(name))?);
        }
        Ok(Chart { meta, values, templates, files, schema, charts })
    }
}

/// Every regular file under `dir` that `.helmignore` keeps, in lexical order, paths relative
/// to `root` with `/`.
fn walk(root: &Path, dir: &Path, rules: &Rules, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    names.sort();
    for path in names {
        let relative = path.strip_prefix(root).map_err(|e| e.to_string())?.to_string_lossy().replace('\\', "/");
        if rules.ignores(&relative, std::fs::metadata(&path).is_ok_and(|m| m.is_dir())) {
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
            walk(root, &path, rules, out)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzipped tar of `files`, names written raw (so hostile ones can be made).
    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            let raw = &mut header.as_gnu_mut().expect("a GNU header").name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    const CHART: &[u8] = b"apiVersion: v2\nname: demo\nversion: 1.0.0\n";

    #[test]
    fn packaged_charts_load_with_their_top_directory_stripped() {
        let bytes = archive(&[
            ("demo/Chart.yaml", CHART),
            ("demo/templates/cm.yaml", b"kind: ConfigMap\n"),
            ("demo/values.yaml", b"a: 1\n"),
        ]);
        let chart = Chart::load_archive(&bytes, Path::new("demo.tgz")).unwrap();
        assert_eq!(chart.name(), "demo");
        assert_eq!(chart.templates[0].0, "templates/cm.yaml");
        assert_eq!(chart.values.get("a"), Some(Value::Float(1.0)));
    }

    #[test]
    fn hostile_archives_are_refused() {
        let escape = archive(&[("demo/Chart.yaml", CHART), ("demo/../../etc/cron.d/x", b"boom")]);
        assert!(Chart::load_archive(&escape, Path::new("x.tgz")).unwrap_err().contains("outside the base directory"));
        let absolute = archive(&[("/etc/passwd", b"x")]);
        assert!(Chart::load_archive(&absolute, Path::new("x.tgz")).unwrap_err().contains("outside the base directory"));
        let root = archive(&[("Chart.yaml", CHART)]);
        assert!(Chart::load_archive(&root, Path::new("x.tgz")).unwrap_err().contains("not in base directory"));
        let big = vec![b'a'; (MAX_FILE + 1) as usize];
        let large = archive(&[("demo/Chart.yaml", CHART), ("demo/files/big", &big)]);
        assert!(Chart::load_archive(&large, Path::new("x.tgz")).unwrap_err().contains("larger than allowed"));
        assert!(Chart::load_archive(b"PK\x03\x04", Path::new("x.zip")).unwrap_err().contains("not a gzip"));
        let named = archive(&[("demo/Chart.yaml", b"apiVersion: v2\nname: ../up\nversion: 1.0.0\n")]);
        assert!(Chart::load_archive(&named, Path::new("x.tgz")).unwrap_err().contains("is invalid"));
    }
}
