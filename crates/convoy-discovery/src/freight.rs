//! The Freight discovery makes: the newest artifact of every subscription (element `[0]` of
//! each result), if the Warehouse's `freightCreationCriteria` holds (pure).

use convoy_api::{Chart, FreightOrigin, FreightReference, GitCommit, Image, Warehouse};
use serde_json::{Value, json};

use crate::DiscoveryError;

/// The candidate Freight (a Kargo `Freight` object without a name) for `discovered`, or `None`
/// when the criteria say no.
pub fn candidate(warehouse: &Warehouse, discovered: &Value) -> Result<Option<Value>, DiscoveryError> {
    let origin = FreightOrigin::warehouse(warehouse.metadata.name());
    let commits: Vec<GitCommit> = list(discovered, "git")
        .iter()
        .filter_map(|g| {
            let c = g.pointer("/commits/0")?;
            Some(GitCommit {
                repo_url: text(g, "repoURL"),
                id: text(c, "id"),
                branch: text(c, "branch"),
                tag: text(c, "tag"),
                message: text(c, "subject"),
                author: text(c, "author"),
                committer: text(c, "committer"),
            })
        })
        .collect();
    let images: Vec<Image> = list(discovered, "images")
        .iter()
        .filter_map(|i| {
            let r = i.pointer("/references/0")?;
            Some(Image {
                repo_url: text(i, "repoURL"),
                tag: text(r, "tag"),
                digest: text(r, "digest"),
                annotations: serde_json::from_value(r.get("annotations").cloned().unwrap_or(json!({})))
                    .unwrap_or_default(),
            })
        })
        .collect();
    let charts: Vec<Chart> = list(discovered, "charts")
        .iter()
        .filter_map(|c| {
            Some(Chart {
                repo_url: text(c, "repoURL"),
                name: text(c, "name"),
                version: c.pointer("/versions/0")?.as_str()?.to_owned(),
            })
        })
        .collect();
    if commits.len() + images.len() + charts.len() < warehouse.spec.subscriptions.len() {
        return Err(DiscoveryError::config("a subscription discovered nothing, so no Freight can be made"));
    }
    if let Some(criteria) =
        warehouse.spec.freight_creation_criteria.as_ref().filter(|c| !c.expression.trim().is_empty())
    {
        let reference = FreightReference {
            name: String::new(),
            origin: origin.clone(),
            commits: commits.clone(),
            images: images.clone(),
            charts: charts.clone(),
            artifacts: Vec::new(),
        };
        let resolver = Newest { warehouse, freight: reference };
        let value = convoy_expr::Evaluator::new(&resolver)
            .expression(&criteria.expression, &convoy_expr::Scope::default())
            .map_err(|e| DiscoveryError::config(format!("freightCreationCriteria.expression: {e}")))?;
        match crate::select::truthy(&value) {
            Some(true) => {}
            Some(false) => return Ok(None),
            None => {
                return Err(DiscoveryError::config(format!(
                    "freightCreationCriteria.expression must evaluate to a boolean, got {value}"
                )));
            }
        }
    }
    Ok(Some(json!({
        "apiVersion": "kargo.akuity.io/v1alpha1",
        "kind": "Freight",
        "metadata": {"namespace": warehouse.metadata.namespace()},
        "origin": origin,
        "commits": commits,
        "images": images,
        "charts": charts,
    })))
}

fn list<'a>(discovered: &'a Value, key: &str) -> &'a [Value] {
    discovered.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// `commitFrom()`, `imageFrom()`, `chartFrom()` over the newest discovered artifacts.
struct Newest<'a> {
    warehouse: &'a Warehouse,
    freight: FreightReference,
}

impl convoy_expr::Resolver for Newest<'_> {
    fn project(&self) -> String {
        self.warehouse.metadata.namespace().to_owned()
    }
    fn requested_origins(&self) -> Vec<FreightOrigin> {
        vec![self.freight.origin.clone()]
    }
    fn warehouse(&self, name: &str) -> Option<Warehouse> {
        (name == self.warehouse.metadata.name()).then(|| self.warehouse.clone())
    }
    fn freight_collection(&self) -> Vec<FreightReference> {
        vec![self.freight.clone()]
    }
}
