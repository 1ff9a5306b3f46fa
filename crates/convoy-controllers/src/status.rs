//! Reading and writing objects' status from controllers and actions: typed loads, and
//! read-modify-write of `status` retried on conflicts.

use convoy_api::Kind;
use convoy_engine::Phase;
use convoy_store::{Key, Store, StoreExt};
use serde_json::{Value, json};

pub async fn load<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    kind: Kind,
    project: &str,
    name: &str,
) -> Result<Option<T>, String> {
    let stored = store.get(&Key::new(kind, project, name)).await.map_err(|e| e.to_string())?;
    stored.map(|s| serde_json::from_value(s.object).map_err(|e| e.to_string())).transpose()
}

/// Read-modify-write of a status, retried on conflicts with other writers.
pub async fn update_status(store: &dyn Store, key: &Key, change: impl Fn(&mut Value)) -> Result<(), String> {
    for _ in 0..10 {
        let stored = store.get(key).await.map_err(|e| e.to_string())?.ok_or_else(|| format!("{key} not found"))?;
        let before = stored.object.get("status").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
        let mut status = before.clone();
        change(&mut status);
        // Unchanged is not written: a write is a change event, which wakes controllers (a
        // Running step's poll would otherwise run again at once).
        if status == before {
            return Ok(());
        }
        match store.put_status(key.clone(), status, Some(stored.revision)).await {
            Ok(_) => return Ok(()),
            Err(convoy_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!("the status of {key} kept changing under us"))
}

/// [`update_status`] through a typed status: read as `T`, changed, written back whole.
pub async fn update_typed_status<T>(store: &dyn Store, key: &Key, change: impl Fn(&mut T)) -> Result<(), String>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Default,
{
    let failed = std::sync::Mutex::new(None);
    update_status(store, key, |status| {
        let mut typed: T = match serde_json::from_value(status.clone()) {
            Ok(typed) => typed,
            Err(e) => {
                *failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e.to_string());
                return;
            }
        };
        change(&mut typed);
        match serde_json::to_value(&typed) {
            Ok(value) => *status = value,
            Err(e) => *failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e.to_string()),
        }
    })
    .await?;
    match failed.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        Some(e) => Err(format!("the status of {key} does not read as its type: {e}")),
        None => Ok(()),
    }
}

/// A stored Promotion's phase, read without decoding the whole Promotion: as
/// [`convoy_api::Promotion::phase`] reads it.
pub fn promotion_phase(object: &Value) -> Option<Phase> {
    match object.pointer("/status/phase") {
        None | Some(Value::Null) => Some(Phase::Pending),
        Some(Value::String(s)) if s.is_empty() => Some(Phase::Pending),
        Some(Value::String(s)) => Phase::parse(s),
        Some(_) => None,
    }
}

/// Sets (or, with `None`, removes) one annotation of a stored object; nothing is written when it
/// already reads so.
pub async fn set_annotation(store: &dyn Store, key: &Key, name: &str, value: Option<&str>) -> Result<(), String> {
    for _ in 0..10 {
        let Some(stored) = store.get(key).await.map_err(|e| e.to_string())? else { return Ok(()) };
        let current = stored.object.pointer("/metadata/annotations").and_then(|a| a.get(name)).and_then(Value::as_str);
        if current == value {
            return Ok(());
        }
        let mut object = stored.object.clone();
        if !object["metadata"]["annotations"].is_object() {
            object["metadata"]["annotations"] = json!({});
        }
        let annotations = object["metadata"]["annotations"].as_object_mut().expect("just made an object");
        match value {
            Some(value) => annotations.insert(name.to_owned(), json!(value)),
            None => annotations.remove(name),
        };
        match store.put(object, Some(stored.revision)).await {
            Ok(_) => return Ok(()),
            Err(convoy_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!("{key} kept changing under us"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_read_as_kargo_writes_them() {
        let with = |phase: Value| json!({"status": {"phase": phase}});
        assert_eq!(promotion_phase(&json!({})), Some(Phase::Pending), "no status yet");
        assert_eq!(promotion_phase(&with(json!(""))), Some(Phase::Pending));
        assert_eq!(promotion_phase(&with(json!("Running"))), Some(Phase::Running));
        assert_eq!(promotion_phase(&with(json!("Errored"))), Some(Phase::Errored));
        assert_eq!(promotion_phase(&with(json!("running"))), None, "Kargo's phases are capitalised");
        assert_eq!(promotion_phase(&with(json!("Bogus"))), None);
        assert_eq!(promotion_phase(&with(json!(3))), None);
    }
}
