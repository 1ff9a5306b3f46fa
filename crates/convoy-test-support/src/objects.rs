//! Builders for Kargo objects in project `p` unless told otherwise: each starts with what Kargo
//! requires and adds what a test names, then gives JSON ([`Builder::json`], what the store and
//! the API take) or the typed object ([`Builder::typed`]).

use serde_json::{Value, json};

/// A document under construction.
#[derive(Debug, Clone)]
pub struct Builder(Value);

impl Builder {
    fn new(kind: &str, name: &str) -> Builder {
        Builder(json!({
            "apiVersion": convoy_api::KARGO_API_VERSION,
            "kind": kind,
            "metadata": {"name": name, "namespace": "p"},
        }))
    }

    pub fn json(&self) -> Value {
        self.0.clone()
    }

    /// The typed object; panics (a broken test) when the built JSON does not decode.
    pub fn typed<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.0.clone()).unwrap_or_else(|e| panic!("{e}: {:#}", self.0))
    }

    pub fn project(mut self, project: &str) -> Builder {
        self.0["metadata"]["namespace"] = json!(project);
        self
    }

    /// Sets any field by JSON pointer-like path segments, e.g. `set(&["spec", "shard"], json!("a"))`.
    pub fn set(mut self, path: &[&str], value: Value) -> Builder {
        *self.at(path) = value;
        self
    }

    /// The value at `path`, made (as `null`) where it is missing.
    fn at(&mut self, path: &[&str]) -> &mut Value {
        path.iter().fold(&mut self.0, |node, segment| &mut node[*segment])
    }

    pub fn status(self, status: Value) -> Builder {
        self.set(&["status"], status)
    }

    fn push(mut self, path: &[&str], item: Value) -> Builder {
        match self.at(path) {
            Value::Array(items) => items.push(item),
            other => *other = json!([item]),
        }
        self
    }

    // ---- Stage ---------------------------------------------------------------------------

    /// Requests Freight of `warehouse` straight from it.
    pub fn direct(self, warehouse: &str) -> Builder {
        self.push(
            &["spec", "requestedFreight"],
            json!({"origin": {"kind": "Warehouse", "name": warehouse}, "sources": {"direct": true}}),
        )
    }

    /// Requests Freight of `warehouse` verified in `upstream` Stages.
    pub fn upstream(self, warehouse: &str, upstream: &[&str]) -> Builder {
        self.push(
            &["spec", "requestedFreight"],
            json!({"origin": {"kind": "Warehouse", "name": warehouse}, "sources": {"stages": upstream}}),
        )
    }

    /// Sets a field of the last `requestedFreight` entry's `sources` (`requiredSoakTime`, ...).
    pub fn sources(mut self, field: &str, value: Value) -> Builder {
        if let Some(Value::Array(requests)) = self.0.pointer_mut("/spec/requestedFreight")
            && let Some(last) = requests.last_mut()
        {
            last["sources"][field] = value;
        }
        self
    }

    /// The promotion template's steps.
    pub fn steps(self, steps: Value) -> Builder {
        self.set(&["spec", "promotionTemplate"], json!({"spec": {"steps": steps}}))
    }

    /// Verification by these AnalysisTemplates.
    pub fn verification(self, templates: &[&str]) -> Builder {
        let refs: Vec<Value> = templates.iter().map(|t| json!({"name": t})).collect();
        self.set(&["spec", "verification"], json!({"analysisTemplates": refs}))
    }

    // ---- Freight -------------------------------------------------------------------------

    pub fn image(self, repo: &str, tag: &str) -> Builder {
        self.push(&["images"], json!({"repoURL": repo, "tag": tag}))
    }

    pub fn discovered(self, at: &str) -> Builder {
        self.set(&["discoveredAt"], json!(at))
    }

    // ---- Promotion -----------------------------------------------------------------------

    /// A phase (and, when it is a finished one, the `status.freight` and `finishedAt` Kargo writes).
    pub fn phase(mut self, phase: &str) -> Builder {
        let freight = self.0["spec"]["freight"].clone();
        let origin = self.0["status"]["freight"]["origin"].clone();
        self.0["status"]["phase"] = json!(phase);
        self.0["status"]["freight"] = json!({"name": freight, "origin": if origin.is_null() { json!({"kind": "Warehouse", "name": "w"}) } else { origin }});
        if matches!(phase, "Succeeded" | "Failed" | "Errored" | "Aborted") {
            self.0["status"]["finishedAt"] = json!("2024-05-01T11:30:00Z");
        }
        self
    }
}

/// A Stage with nothing requested yet (add [`Builder::direct`] or [`Builder::upstream`]).
pub fn stage(name: &str) -> Builder {
    Builder::new("Stage", name).set(&["spec"], json!({}))
}

/// Freight of Warehouse `warehouse` (add artifacts with [`Builder::image`]).
pub fn freight(name: &str, warehouse: &str) -> Builder {
    Builder::new("Freight", name).set(&["origin"], json!({"kind": "Warehouse", "name": warehouse}))
}

/// A Promotion of `freight` into `stage`, Pending until [`Builder::phase`] says otherwise.
pub fn promotion(name: &str, stage: &str, freight: &str) -> Builder {
    Builder::new("Promotion", name)
        .set(&["spec"], json!({"stage": stage, "freight": freight, "steps": [{"uses": "fail"}]}))
        .set(&["metadata", "creationTimestamp"], json!("2024-05-01T11:00:00Z"))
}
