//! What steps may change in the store (`set-metadata`, `set-freight-alias`), with the same
//! admission as the API.

use std::sync::Arc;

use async_trait::async_trait;
use convoy_api::{Kind, Resource};
use convoy_engine::Resources;
use convoy_store::{Key, Store, StoreError};
use serde_json::{Map, Value, json};

use super::promotions::update_status;
use crate::writes::{Mode, plan};

pub struct StoreResources {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl Resources for StoreResources {
    async fn set_freight_alias(&self, project: &str, freight: &str, alias: &str) -> Result<(), String> {
        let key = Key::new(Kind::Freight, project, freight);
        for _ in 0..10 {
            let stored = self.store.get(&key).await.map_err(|e| e.to_string())?;
            let stored = stored.ok_or_else(|| format!("Freight {freight:?} not found in project {project:?}"))?;
            let Ok(Some(Resource::Freight(mut object))) = Resource::decode(&stored.object) else {
                return Err(format!("the stored Freight {freight:?} does not decode"));
            };
            object.alias = Some(alias.to_owned());
            let outcome = plan(&*self.store, vec![Resource::Freight(object)], Mode::Apply).await.map_err(|e| {
                let details: Vec<String> = e.details.iter().map(|d| format!("{}: {}", d.path, d.message)).collect();
                format!("{}: {}", e.message, details.join("; "))
            })?;
            let Some(write) = outcome.into_iter().next().and_then(|o| o.write) else {
                return Ok(()); // already has this alias
            };
            match self.store.apply(vec![write]).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.to_string()),
            }
        }
        Err(format!("Freight {freight:?} kept changing under us"))
    }

    async fn set_metadata(
        &self,
        project: &str,
        kind: Kind,
        name: &str,
        values: &Map<String, Value>,
    ) -> Result<(), String> {
        let key = Key::new(kind, project, name);
        if self.store.get(&key).await.map_err(|e| e.to_string())?.is_none() {
            return Err(format!("{kind} {name:?} not found in project {project:?}"));
        }
        update_status(&*self.store, &key, |status| {
            if !status.get("metadata").is_some_and(Value::is_object) {
                status["metadata"] = json!({});
            }
            for (k, v) in values {
                status["metadata"][k] = v.clone();
            }
        })
        .await
    }
}
