//! The Go objects of a chart's top-level object: `.Capabilities` (with `.KubeVersion` and
//! `.APIVersions.Has`) and `.Files`.

use std::sync::Arc;

use crate::value::{Map, Object, Value};

/// client-go v0.34's group versions (§5.1), which `.Capabilities.APIVersions.Has` knows.
pub(super) const API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1alpha1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// `.Capabilities`.
#[derive(Debug)]
pub(super) struct Capabilities {
    pub(super) version: String,
    pub(super) major: String,
    pub(super) minor: String,
    pub(super) api_versions: Vec<String>,
}

impl Object for Capabilities {
    fn type_name(&self) -> &'static str {
        "*chartutil.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(Arc::new(KubeVersion {
                version: self.version.clone(),
                major: self.major.clone(),
                minor: self.minor.clone(),
            }))),
            "APIVersions" => Some(Value::Object(Arc::new(ApiVersions(self.api_versions.clone())))),
            "HelmVersion" => Some(Value::map([
                ("Version", Value::from("v3.19")),
                ("GitCommit", Value::from("")),
                ("GitTreeState", Value::from("")),
                ("GoVersion", Value::from("")),
            ])),
            _ => None,
        }
    }
    fn method(&self, _: &str, _: &[Value]) -> Option<Result<Value, String>> {
        None
    }
    fn print(&self) -> String {
        format!("{{{} [..]}}", self.version)
    }
}

#[derive(Debug)]
struct KubeVersion {
    version: String,
    major: String,
    minor: String,
}

impl Object for KubeVersion {
    fn type_name(&self) -> &'static str {
        "chartutil.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" => Some(Value::from(self.version.as_str())),
            "Major" => Some(Value::from(self.major.as_str())),
            "Minor" => Some(Value::from(self.minor.as_str())),
            _ => None,
        }
    }
    fn method(&self, _: &str, _: &[Value]) -> Option<Result<Value, String>> {
        None
    }
    fn print(&self) -> String {
        self.version.clone()
    }
}

#[derive(Debug)]
struct ApiVersions(Vec<String>);

impl Object for ApiVersions {
    fn type_name(&self) -> &'static str {
        "chartutil.VersionSet"
    }
    fn field(&self, _: &str) -> Option<Value> {
        None
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Has").then(|| match args {
            [Value::String(v)] => Ok(Value::Bool(self.0.iter().any(|a| a == v))),
            _ => Err("wrong type for value; expected string".into()),
        })
    }
    fn print(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
}

/// `.Files`: the chart's other files (Helm's `chart.Files`, a map of path to bytes; bytes are
/// text here).
#[derive(Debug)]
pub(super) struct Files(pub(super) Vec<(String, Vec<u8>)>);

impl Files {
    fn get(&self, path: &str) -> Option<String> {
        self.0.iter().find(|(p, _)| p == path).map(|(_, b)| String::from_utf8_lossy(b).into_owned())
    }

    /// `path.Base(name)` → content, as sigs.k8s.io/yaml writes it, trailing newline trimmed.
    fn as_yaml(&self, encode: impl Fn(&[u8]) -> String) -> Result<Value, String> {
        if self.0.is_empty() {
            return Ok(Value::from(""));
        }
        let map = Map::default();
        for (path, bytes) in &self.0 {
            map.insert(path.rsplit('/').next().unwrap_or(path), Value::from(encode(bytes)));
        }
        let text = crate::yaml_out::to_yaml(&Value::Map(map))?;
        Ok(Value::from(text.strip_suffix('\n').unwrap_or(&text).to_owned()))
    }
}

impl Object for Files {
    fn type_name(&self) -> &'static str {
        "chart.Files"
    }
    fn field(&self, name: &str) -> Option<Value> {
        // Go looks for a method before a map key.
        match name {
            "AsConfig" | "AsSecrets" => self.method(name, &[]).map(|r| r.unwrap_or(Value::Invalid)),
            _ => Some(self.get(name).map_or(Value::Nil, Value::from)),
        }
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let argument = || match args {
            [Value::String(p)] => Ok(p.clone()),
            _ => Err("wrong type for value; expected string".to_owned()),
        };
        Some(match name {
            "Get" | "GetBytes" => argument().map(|path| Value::from(self.get(&path).unwrap_or_default())),
            "Lines" => argument().map(|path| match self.get(&path) {
                None => Value::List(Vec::new()),
                Some(text) => {
                    let text = text.strip_suffix('\n').unwrap_or(&text);
                    Value::List(text.split('\n').map(Value::from).collect())
                }
            }),
            "Glob" => argument().and_then(|pattern| {
                let mut matched = Vec::new();
                for (path, bytes) in &self.0 {
                    if crate::glob::matches(&pattern, path, crate::glob::Dialect::Gobwas)? {
                        matched.push((path.clone(), bytes.clone()));
                    }
                }
                Ok(Value::Object(Arc::new(Files(matched))))
            }),
            "AsConfig" => self.as_yaml(|bytes| String::from_utf8_lossy(bytes).into_owned()),
            "AsSecrets" => {
                use base64::Engine;
                self.as_yaml(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            _ => return None,
        })
    }
    fn print(&self) -> String {
        let mut paths: Vec<&str> = self.0.iter().map(|(p, _)| p.as_str()).collect();
        paths.sort_unstable();
        format!("map[{}]", paths.join(" "))
    }
    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        let mut files: Vec<&(String, Vec<u8>)> = self.0.iter().collect();
        // Go ranges over a map in key order.
        files.sort_by_key(|(path, _)| path);
        Some(
            files
                .into_iter()
                .map(|(path, bytes)| {
                    (Value::from(path.clone()), Value::from(String::from_utf8_lossy(bytes).into_owned()))
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str) -> Result<String, String> {
        let files = Files(vec![
            ("config/app.conf".into(), b"port=80\n".to_vec()),
            ("config/db.conf".into(), b"host=db".to_vec()),
            ("dashboards/a/one.json".into(), b"{}".to_vec()),
            ("README.md".into(), b"line one\nline two\n".to_vec()),
        ]);
        let mut set = crate::engine::new_set();
        set.add("t", source).map_err(|e| e.to_string())?;
        set.execute("t", &Value::map([("Files", Value::Object(Arc::new(files)))])).map_err(|e| e.to_string())
    }

    /// Helm's "Accessing Files Inside Templates" guide: Glob, AsConfig, AsSecrets, Lines, range.
    #[test]
    fn files_glob_as_config_as_secrets_and_lines() {
        assert_eq!(
            render(r#"{{ (.Files.Glob "config/*").AsConfig }}"#).unwrap(),
            "app.conf: |\n  port=80\ndb.conf: host=db"
        );
        assert_eq!(render(r#"{{ (.Files.Glob "config/db.*").AsSecrets }}"#).unwrap(), "db.conf: aG9zdD1kYg==");
        assert_eq!(
            render(r#"{{ range $path, $_ := .Files.Glob "**.json" }}{{ $path }} {{ end }}"#).unwrap(),
            "dashboards/a/one.json "
        );
        assert_eq!(
            render(r#"{{ len (.Files.Glob "*.json") }} {{ len (.Files.Glob "**.{conf,md}") }}"#).unwrap(),
            "0 3"
        );
        assert_eq!(
            render(r#"{{ range .Files.Lines "README.md" }}[{{ . }}]{{ end }}"#).unwrap(),
            "[line one][line two]"
        );
        assert_eq!(
            render(r#"{{ .Files.Lines "missing" | len }} {{ .Files.Get "missing" | quote }}"#).unwrap(),
            "0 \"\""
        );
        assert_eq!(render(r#"{{ if .Files.Glob "nothing/*" }}yes{{ else }}no{{ end }}"#).unwrap(), "no");
        assert_eq!(render(r#"{{ (.Files.Glob "nothing/*").AsConfig | quote }}"#).unwrap(), "\"\"");
        assert!(render(r#"{{ .Files.Glob "{a" }}"#).unwrap_err().contains("unclosed"));
    }
}
