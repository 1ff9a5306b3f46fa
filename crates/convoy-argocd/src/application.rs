//! Reading an Argo CD `Application` (kept as JSON, so fields Convoy does not model survive a
//! write) and the fields Kargo reads: sources, operation state, sync and health.

use serde_json::{Map, Value};

pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";
/// The `operation.info` entry naming the Promotion that asked for a sync.
pub const PROMOTION_INFO: &str = "kargo.akuity.io/promotion";

/// A borrowed Application.
#[derive(Debug, Clone, Copy)]
pub struct App<'a>(pub &'a Value);

impl<'a> App<'a> {
    fn str_at(&self, pointer: &str) -> &'a str {
        self.0.pointer(pointer).and_then(Value::as_str).unwrap_or("")
    }

    pub fn name(&self) -> &'a str {
        self.str_at("/metadata/name")
    }

    pub fn namespace(&self) -> &'a str {
        self.str_at("/metadata/namespace")
    }

    pub fn resource_version(&self) -> &'a str {
        self.str_at("/metadata/resourceVersion")
    }

    pub fn labels(&self) -> Option<&'a Map<String, Value>> {
        self.0.pointer("/metadata/labels").and_then(Value::as_object)
    }

    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.0.pointer("/metadata/annotations").and_then(|a| a.get(key)).and_then(Value::as_str)
    }

    /// `spec.sources` when non-empty, else `[spec.source]`, else none.
    pub fn sources(&self) -> Vec<&'a Value> {
        match self.0.pointer("/spec/sources").and_then(Value::as_array) {
            Some(sources) if !sources.is_empty() => sources.iter().collect(),
            _ => self.0.pointer("/spec/source").filter(|s| s.is_object()).into_iter().collect(),
        }
    }

    pub fn is_multi_source(&self) -> bool {
        self.0.pointer("/spec/sources").and_then(Value::as_array).is_some_and(|s| !s.is_empty())
    }

    pub fn operation_state(&self) -> Option<&'a Value> {
        self.0.pointer("/status/operationState").filter(|s| !s.is_null())
    }

    pub fn operation_phase(&self) -> &'a str {
        self.str_at("/status/operationState/phase")
    }

    pub fn finished_at(&self) -> &'a str {
        self.str_at("/status/operationState/finishedAt")
    }

    pub fn reconciled_at(&self) -> &'a str {
        self.str_at("/status/reconciledAt")
    }

    pub fn health(&self) -> &'a str {
        self.str_at("/status/health/status")
    }

    pub fn sync_status(&self) -> &'a str {
        self.str_at("/status/sync/status")
    }

    /// The value of the operation's `kargo.akuity.io/promotion` info entry, when Kargo or
    /// Convoy asked for the operation.
    pub fn operation_promotion(&self) -> Option<&'a str> {
        self.operation_state()?
            .pointer("/operation/info")?
            .as_array()?
            .iter()
            .find(|i| i["name"] == PROMOTION_INFO)
            .map(|i| i["value"].as_str().unwrap_or(""))
    }

    /// `status.conditions` of the types that make an Application unusable.
    pub fn error_conditions(&self) -> Vec<(&'a str, &'a str)> {
        let conditions = self.0.pointer("/status/conditions").and_then(Value::as_array);
        conditions
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let kind = c["type"].as_str()?;
                matches!(kind, "ComparisonError" | "InvalidSpecError")
                    .then(|| (kind, c["message"].as_str().unwrap_or("")))
            })
            .collect()
    }

    /// The last operation finished before the last refresh started? When not, Argo CD has not
    /// compared the Application since, so its health and sync are stale (second precision;
    /// RFC 3339 strings of one format compare as times).
    pub fn refreshed_since_operation(&self) -> bool {
        let finished = self.finished_at();
        finished.is_empty() || (!self.reconciled_at().is_empty() && self.reconciled_at() >= finished)
    }

    /// `status.sync.revisions`, else `[status.sync.revision]`.
    pub fn synced_revisions(&self) -> Vec<&'a str> {
        revisions_at(self.0.pointer("/status/sync"))
    }
}

/// `revisions` of an object, else `[revision]` (Argo CD fills one or the other).
pub(crate) fn revisions_at(object: Option<&Value>) -> Vec<&str> {
    let listed: Vec<&str> = object
        .and_then(|o| o.get("revisions"))
        .and_then(Value::as_array)
        .map(|r| r.iter().map(|v| v.as_str().unwrap_or("")).collect())
        .unwrap_or_default();
    if listed.is_empty() { vec![object.and_then(|o| o["revision"].as_str()).unwrap_or("")] } else { listed }
}

/// An operation phase that will not change any more.
pub fn is_completed(phase: &str) -> bool {
    matches!(phase, "Succeeded" | "Failed" | "Error")
}

/// RFC 7386 merge patch turning `from` into `to`: changed keys, `null` for removed ones; arrays
/// and scalars whole.
pub fn merge_diff(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut patch = Map::new();
            for (key, new) in b {
                match a.get(key) {
                    Some(old) if old == new => {}
                    Some(old) if old.is_object() && new.is_object() => {
                        patch.insert(key.clone(), merge_diff(old, new));
                    }
                    _ => {
                        patch.insert(key.clone(), new.clone());
                    }
                }
            }
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                patch.insert(key.clone(), Value::Null);
            }
            Value::Object(patch)
        }
        _ => to.clone(),
    }
}
