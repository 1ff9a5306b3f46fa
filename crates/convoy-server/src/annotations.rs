//! Requests carried by annotations (Kargo's refresh, reverify and abort): set with optimistic
//! concurrency, retried when another writer got there first.

use axum::http::StatusCode;
use convoy_store::{Key, Store, StoreError, Write};
use serde_json::{Value, json};

use crate::error::ApiError;

/// A fresh value for `kargo.akuity.io/refresh` (controllers record the one they handled).
pub fn refresh_token() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    nanos.to_string()
}

/// Sets one annotation on a stored object, as `decide` chooses from what is stored (it may
/// refuse instead); returns the value set.
pub async fn annotate(
    store: &dyn Store,
    key: &Key,
    decide: impl Fn(&Value) -> Result<(&'static str, String), ApiError>,
) -> Result<String, ApiError> {
    for _ in 0..10 {
        let stored = store.get(key).await?.ok_or_else(|| ApiError::not_found(format!("{key} not found")))?;
        let (annotation, value) = decide(&stored.object)?;
        let mut object = stored.object;
        if !object["metadata"]["annotations"].is_object() {
            object["metadata"]["annotations"] = json!({});
        }
        object["metadata"]["annotations"][annotation] = json!(value);
        match store.apply(vec![Write::Put { object, expected: Some(stored.revision) }]).await {
            Ok(_) => return Ok(value),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(StatusCode::CONFLICT, "Conflict", format!("{key} kept changing; try again")))
}

/// Asks the controller of `key` to look again now.
pub async fn request_refresh(store: &dyn Store, key: &Key, token: &str) -> Result<(), ApiError> {
    annotate(store, key, |_| Ok((convoy_api::REFRESH_ANNOTATION, token.to_owned()))).await.map(|_| ())
}
