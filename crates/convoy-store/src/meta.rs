//! Metadata the store owns: uid, resourceVersion, generation, creationTimestamp.

use std::time::{SystemTime, UNIX_EPOCH};

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
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}
