//! Where an object lives: kind, project (empty for cluster-scoped kinds) and name.

use std::fmt;

use convoy_api::Kind;
use serde_json::Value;

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub kind: Kind,
    pub project: String,
    pub name: String,
}

impl Key {
    pub fn new(kind: Kind, project: &str, name: &str) -> Key {
        let project = if kind.is_cluster_scoped() { String::new() } else { project.to_owned() };
        Key { kind, project, name: name.to_owned() }
    }

    /// Whether the key sorts after a list position `(project, name)` (always, without one).
    pub fn is_after(&self, position: Option<(&str, &str)>) -> bool {
        position.is_none_or(|(p, n)| (self.project.as_str(), self.name.as_str()) > (p, n))
    }

    /// The key of a JSON object in Kargo's shape.
    pub fn of(object: &Value) -> Result<Key, StoreError> {
        let field = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).unwrap_or("");
        let kind = Kind::from_type(field("/apiVersion"), field("/kind")).ok_or_else(|| {
            StoreError::Invalid(format!("unknown kind {:?} {:?}", field("/apiVersion"), field("/kind")))
        })?;
        let name = field("/metadata/name");
        if name.is_empty() {
            return Err(StoreError::Invalid("metadata.name is required".into()));
        }
        let project = field("/metadata/namespace");
        if !kind.is_cluster_scoped() && project.is_empty() {
            return Err(StoreError::Invalid(format!("{kind} {name:?} needs metadata.namespace (its project)")));
        }
        Ok(Key::new(kind, project, name))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.project.is_empty() {
            write!(f, "{} {:?}", self.kind, self.name)
        } else {
            write!(f, "{} {:?} in project {:?}", self.kind, self.name, self.project)
        }
    }
}
