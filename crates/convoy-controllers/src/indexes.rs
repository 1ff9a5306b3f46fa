//! The relations the controllers follow, as indexes of the in-memory view: who must look again
//! when an object changes is a look-up, never a scan of the project.
//!
//! | index | objects | filed under |
//! |---|---|---|
//! | `promotion-stage` | Promotions | `spec.stage` |
//! | `stage-upstream` | Stages | each `requestedFreight[].sources.stages[]` (its upstream Stages) |
//! | `stage-origin` | Stages | each `requestedFreight[].origin` (`Warehouse/<name>`) |
//! | `freight-origin` | Freight | `origin` |
//! | `freight-in` | Freight | each Stage of `status.currentlyIn` |

use convoy_api::Kind;
use convoy_store::Index;
use serde_json::Value;

pub const PROMOTION_STAGE: &str = "promotion-stage";
pub const STAGE_UPSTREAM: &str = "stage-upstream";
pub const STAGE_ORIGIN: &str = "stage-origin";
pub const FREIGHT_ORIGIN: &str = "freight-origin";
pub const FREIGHT_IN: &str = "freight-in";

/// Every index the controllers use; the server's view is built with them.
pub fn all() -> Vec<Index> {
    vec![
        Index { kind: Kind::Promotion, name: PROMOTION_STAGE, values: promotion_stage },
        Index { kind: Kind::Stage, name: STAGE_UPSTREAM, values: stage_upstream },
        Index { kind: Kind::Stage, name: STAGE_ORIGIN, values: stage_origins },
        Index { kind: Kind::Freight, name: FREIGHT_ORIGIN, values: freight_origin },
        Index { kind: Kind::Freight, name: FREIGHT_IN, values: freight_in },
    ]
}

/// `Warehouse/<name>`, as `FreightOrigin::key` (an origin without a kind is a Warehouse).
pub fn origin_key(origin: &Value) -> Option<String> {
    let name = origin.get("name").and_then(Value::as_str)?;
    let kind = origin.get("kind").and_then(Value::as_str).filter(|k| !k.is_empty()).unwrap_or("Warehouse");
    Some(format!("{kind}/{name}"))
}

fn promotion_stage(object: &Value) -> Vec<String> {
    object.pointer("/spec/stage").and_then(Value::as_str).map(str::to_owned).into_iter().collect()
}

fn requests(object: &Value) -> impl Iterator<Item = &Value> {
    object.pointer("/spec/requestedFreight").and_then(Value::as_array).into_iter().flatten()
}

fn stage_upstream(object: &Value) -> Vec<String> {
    let mut names: Vec<String> = requests(object)
        .filter_map(|r| r.pointer("/sources/stages").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn stage_origins(object: &Value) -> Vec<String> {
    let mut keys: Vec<String> = requests(object).filter_map(|r| r.get("origin").and_then(origin_key)).collect();
    keys.sort();
    keys.dedup();
    keys
}

fn freight_origin(object: &Value) -> Vec<String> {
    object.get("origin").and_then(origin_key).into_iter().collect()
}

fn freight_in(object: &Value) -> Vec<String> {
    object
        .pointer("/status/currentlyIn")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stages_are_filed_under_their_upstream_stages_and_origins_once_each() {
        let stage = json!({"spec": {"requestedFreight": [
            {"origin": {"kind": "Warehouse", "name": "app"}, "sources": {"stages": ["test", "uat"]}},
            {"origin": {"name": "config"}, "sources": {"stages": ["test"]}},
        ]}});
        assert_eq!(stage_upstream(&stage), ["test", "uat"]);
        assert_eq!(stage_origins(&stage), ["Warehouse/app", "Warehouse/config"]);
        assert!(stage_upstream(&json!({"spec": {}})).is_empty());
    }

    #[test]
    fn freight_is_filed_under_its_origin_and_the_stages_it_is_in() {
        let freight = json!({"origin": {"kind": "Warehouse", "name": "app"},
                             "status": {"currentlyIn": {"dev": {}, "test": {}}, "verifiedIn": {"qa": {}}}});
        assert_eq!(freight_origin(&freight), ["Warehouse/app"]);
        assert_eq!(freight_in(&freight), ["dev", "test"]);
    }
}
