//! The project event log: v1 Events as Kargo records them (`PromotionCreated`,
//! `PromotionSucceeded`, `FreightCreated`, `FreightApproved`, `FreightVerificationSucceeded`, ...),
//! written by the API and the controllers, read with `convoy events`.

use convoy_api::time::Timestamp;
use convoy_store::{Store, StoreExt};
use serde_json::json;

/// What an event is about.
pub struct Involved<'a> {
    pub kind: &'a str,
    pub project: &'a str,
    pub name: &'a str,
}

/// Records an event; a failure to record is logged, never passed on (the action it describes
/// already happened).
pub async fn record(store: &dyn Store, about: Involved<'_>, reason: &str, message: &str, warning: bool) {
    let now = Timestamp::now().to_string();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{}.{nanos:x}", about.name), "namespace": about.project},
        "involvedObject": {"kind": about.kind, "namespace": about.project, "name": about.name},
        "reason": reason,
        "message": message,
        "type": if warning { "Warning" } else { "Normal" },
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "source": {"component": "convoy"},
    });
    if let Err(e) = store.create(event).await {
        tracing::warn!(reason, error = %e, "cannot record an event");
    }
}
