//! Kargo's sharding: a replica started with a shard name handles the Stages, Promotions and
//! Warehouses labelled `kargo.akuity.io/shard: <name>`; replicas without one handle the
//! unlabelled ones (and the unsharded work: garbage collection, receiver paths).

use serde_json::Value;

/// The store lock whose holder runs the controllers (per shard: `controllers/<name>`).
pub const CONTROLLERS_LEASE: &str = "controllers";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shard {
    name: Option<String>,
}

impl Shard {
    /// `None` is the default shard. A name must be a DNS label, as Kubernetes label values
    /// Convoy writes from `spec.shard` are.
    pub fn new(name: Option<&str>) -> Result<Shard, String> {
        match name.filter(|n| !n.is_empty()) {
            None => Ok(Shard::default()),
            Some(n) if n.len() <= 63 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) => {
                Ok(Shard { name: Some(n.to_owned()) })
            }
            Some(n) => {
                Err(format!("shard {n:?} is not a valid label value: use up to 63 letters, digits, '-', '_' or '.'"))
            }
        }
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The default shard also does the work no label assigns.
    pub fn is_default(&self) -> bool {
        self.name.is_none()
    }

    /// Whether this shard's controllers handle `object`.
    pub fn handles(&self, object: &Value) -> bool {
        let label = object.pointer("/metadata/labels/kargo.akuity.io~1shard").and_then(Value::as_str);
        label.filter(|l| !l.is_empty()) == self.name.as_deref()
    }

    /// The lease held by the one replica running this shard's controllers.
    pub fn lease(&self) -> String {
        match &self.name {
            None => CONTROLLERS_LEASE.to_owned(),
            Some(name) => format!("{CONTROLLERS_LEASE}/{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Shard;

    #[test]
    fn shards_handle_their_label_and_the_default_the_rest() {
        let labelled = json!({"metadata": {"labels": {"kargo.akuity.io/shard": "east"}}});
        let unlabelled = json!({"metadata": {"name": "dev"}});
        let empty = json!({"metadata": {"labels": {"kargo.akuity.io/shard": ""}}});
        let (default, east, west) =
            (Shard::new(None).unwrap(), Shard::new(Some("east")).unwrap(), Shard::new(Some("west")).unwrap());
        assert!(!default.handles(&labelled) && default.handles(&unlabelled) && default.handles(&empty));
        assert!(east.handles(&labelled) && !east.handles(&unlabelled));
        assert!(!west.handles(&labelled));
        assert_eq!((default.lease(), east.lease()), ("controllers".to_owned(), "controllers/east".to_owned()));
        assert!(Shard::new(Some("no spaces")).unwrap_err().contains("not a valid label value"));
        assert_eq!(Shard::new(Some("")).unwrap(), default);
    }
}
