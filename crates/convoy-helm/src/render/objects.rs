//! The Go objects of a chart's top-level object: `.Capabilities` (with `.KubeVersion` and
//! `.APIVersions.Has`) and `.Files`.

use std::sync::Arc;

use crate::value::{Object, Value};

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

/// `.Files`: the chart's other files.
#[derive(Debug)]
pub(super) struct Files(pub(super) Vec<(String, Vec<u8>)>);

impl Object for Files {
    fn type_name(&self) -> &'static str {
        "chart.Files"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(
            self.0
                .iter()
                .find(|(p, _)| p == name)
                .map_or(Value::Nil, |(_, b)| Value::from(String::from_utf8_lossy(b).into_owned())),
        )
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let path = match args {
            [Value::String(p)] => p.clone(),
            _ => return Some(Err("wrong type for value; expected string".into())),
        };
        let content = self.0.iter().find(|(p, _)| *p == path).map(|(_, b)| String::from_utf8_lossy(b).into_owned());
        match name {
            "Get" => Some(Ok(Value::from(content.unwrap_or_default()))),
            "Lines" => Some(Ok(Value::List(content.unwrap_or_default().split('\n').map(Value::from).collect()))),
            _ => None,
        }
    }
    fn print(&self) -> String {
        format!("map[{}]", self.0.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(" "))
    }
}
