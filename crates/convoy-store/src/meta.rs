//! Metadata the store owns: uid, resourceVersion, generation, creationTimestamp.

use serde_json::{Value, json};

/// Sets the store-owned metadata of `object` for a write at `revision`. `previous` is the
/// stored version being replaced, if any: uid and creation time carry over, and the generation
/// goes up only when something besides `status` and `metadata` changed.
pub fn stamp(object: &mut Value, revision: i64, previous: Option<&Value>) {
    let (uid, created, generation) = match previous {
        Some(old) => {
            let uid = old.pointer("/metadata/uid").cloned().unwrap_or(Value::Null);
            let created = old.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null);
            let old_generation = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
            let generation = if content_of(old) == content_of(object) { old_generation } else { old_generation + 1 };
            (uid, created, generation)
        }
        None => (json!(uuid::Uuid::new_v4().to_string()), json!(now_rfc3339()), 1),
    };
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    let meta = &mut object["metadata"];
    meta["uid"] = uid;
    meta["creationTimestamp"] = created;
    meta["generation"] = json!(generation);
    meta["resourceVersion"] = json!(revision.to_string());
}

/// Everything but `metadata` and `status`: what a spec change is.
fn content_of(object: &Value) -> Value {
    let mut content = object.clone();
    if let Value::Object(map) = &mut content {
        map.remove("metadata");
        map.remove("status");
    }
    content
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    convoy_api::time::Timestamp::now().to_string()
}
