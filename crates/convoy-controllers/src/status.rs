//! Reading and writing objects' status from controllers and actions: typed loads, and
//! read-modify-write of `status` retried on conflicts.

use convoy_api::Kind;
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
        let mut status = stored.object.get("status").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
        change(&mut status);
        match store.put_status(key.clone(), status, Some(stored.revision)).await {
            Ok(_) => return Ok(()),
            Err(convoy_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!("the status of {key} kept changing under us"))
}
