//! What steps may change in the store (`set-metadata`, `set-freight-alias`), with the same
//! admission as the API.

use std::sync::Arc;

use async_trait::async_trait;
use convoy_api::{Kind, Resource};
use convoy_engine::{RepoCredentials, ResourceError, Resources};
use convoy_store::{Key, LabelSelector, Store, StoreError};
use serde_json::{Map, Value};

use crate::status::update_typed_status;
use crate::writes::{Mode, plan};

pub struct StoreResources {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl Resources for StoreResources {
    async fn set_freight_alias(&self, project: &str, freight: &str, alias: &str) -> Result<(), ResourceError> {
        let key = Key::new(Kind::Freight, project, freight);
        for _ in 0..10 {
            let stored = self.store.get(&key).await.map_err(unavailable)?;
            let stored = stored.ok_or_else(|| {
                ResourceError::Refused(format!("Freight {freight:?} not found in project {project:?}"))
            })?;
            let Ok(Some(Resource::Freight(mut object))) = Resource::decode(&stored.object) else {
                return Err(ResourceError::Refused(format!("the stored Freight {freight:?} does not decode")));
            };
            object.alias = Some(alias.to_owned());
            let outcome =
                plan(&*self.store, vec![Resource::Freight(object)], Mode::Apply).await.map_err(|e| match e {
                    crate::writes::WriteError::Store(e) => unavailable(e),
                    refused => ResourceError::Refused(refused.to_string()),
                })?;
            let Some(write) = outcome.into_iter().next().and_then(|o| o.write) else {
                return Ok(()); // already has this alias
            };
            match self.store.apply(vec![write]).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(ResourceError::Unavailable(format!("Freight {freight:?} kept changing under us")))
    }

    async fn set_metadata(
        &self,
        project: &str,
        kind: Kind,
        name: &str,
        values: &Map<String, Value>,
    ) -> Result<(), ResourceError> {
        let key = Key::new(kind, project, name);
        if self.store.get(&key).await.map_err(unavailable)?.is_none() {
            return Err(ResourceError::Refused(format!("{kind} {name:?} not found in project {project:?}")));
        }
        let set = |metadata: &mut std::collections::BTreeMap<String, Value>| {
            metadata.extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
        };
        let written = match kind {
            Kind::Stage => {
                update_typed_status(&*self.store, &key, |s: &mut convoy_api::stage::StageStatus| set(&mut s.metadata))
                    .await
            }
            Kind::Freight => {
                update_typed_status(&*self.store, &key, |s: &mut convoy_api::freight::FreightStatus| {
                    set(&mut s.metadata)
                })
                .await
            }
            other => return Err(ResourceError::Refused(format!("{other} has no status metadata"))),
        };
        written.map_err(ResourceError::Unavailable)
    }

    async fn git_credentials(&self, project: &str, repo_url: &str) -> Result<Option<RepoCredentials>, ResourceError> {
        credentials_of_kind(&*self.store, project, "git", repo_url).await.map_err(ResourceError::Unavailable)
    }

    async fn source_credentials(
        &self,
        project: &str,
        kind: &str,
        url: &str,
    ) -> Result<Option<RepoCredentials>, ResourceError> {
        credentials_of_kind(&*self.store, project, kind, url).await.map_err(ResourceError::Unavailable)
    }

    async fn exclusive(&self, name: &str) -> Result<Box<dyn Send + Sync>, ResourceError> {
        let lease = self.store.lead(name).await.map_err(unavailable)?;
        Ok(Box::new(lease))
    }

    async fn git_author(&self) -> Option<(String, String)> {
        let stored = self.store.get(&Key::new(Kind::ClusterConfig, "", "cluster")).await.ok()??;
        let client = stored.object.pointer("/spec/gitClient")?;
        let field = |name: &str| client.get(name).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        Some((field("name")?, field("email")?))
    }
}

fn unavailable(e: impl std::fmt::Display) -> ResourceError {
    ResourceError::Unavailable(e.to_string())
}

/// Credentials of `kind` (`git`, `image`, `helm`) for `url` from the project's Secrets, else
/// from the shared project's.
pub async fn credentials_of_kind(
    store: &dyn Store,
    project: &str,
    kind: &str,
    url: &str,
) -> Result<Option<RepoCredentials>, String> {
    let selector = LabelSelector::parse(&format!("kargo.akuity.io/cred-type={kind}")).map_err(|e| e.to_string())?;
    let normalize: fn(&str) -> String = match kind {
        "git" => convoy_api::urls::normalize_git,
        "image" => convoy_api::urls::normalize_image,
        "helm" => convoy_api::urls::normalize_chart,
        _ => str::to_owned,
    };
    // The project's own Secrets first, then the shared ones (Kargo's shared-resources namespace).
    for namespace in [project, convoy_api::SHARED_RESOURCES_PROJECT] {
        let (secrets, _) = store.list(Kind::Secret, Some(namespace), &selector).await.map_err(|e| e.to_string())?;
        if let Some(found) = match_credentials(secrets.iter().map(|s| &s.object), url, normalize) {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Kargo's choice among credential Secrets (sorted by name, as the store lists them): a Secret
/// whose `repoURL` equals the repository's (both normalized) wins; otherwise the first whose
/// `repoURL` is a pattern (`repoURLIsRegex: "true"`) matching it.
fn match_credentials<'a>(
    secrets: impl Iterator<Item = &'a Value>,
    repo_url: &str,
    normalize: fn(&str) -> String,
) -> Option<RepoCredentials> {
    let wanted = normalize(repo_url);
    let decoded = |secret: &Value, key: &str| -> Option<String> {
        let text = secret.pointer(&format!("/data/{key}"))?.as_str()?;
        String::from_utf8(crate::base64::decode(text)?).ok()
    };
    let mut by_pattern = None;
    for secret in secrets {
        let Some(url) = decoded(secret, "repoURL") else { continue };
        let credentials = || {
            Some(RepoCredentials {
                username: decoded(secret, "username").unwrap_or_default(),
                password: decoded(secret, "password")?,
            })
        };
        if decoded(secret, "repoURLIsRegex").as_deref() == Some("true") {
            if by_pattern.is_none() && regex::Regex::new(&url).is_ok_and(|r| r.is_match(&wanted)) {
                by_pattern = credentials();
            }
        } else if normalize(&url) == wanted
            && let Some(found) = credentials()
        {
            return Some(found);
        }
    }
    by_pattern
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(name: &str, data: &[(&str, &str)]) -> Value {
        let data: Map<String, Value> =
            data.iter().map(|(k, v)| ((*k).to_owned(), json!(crate::base64::encode(v.as_bytes())))).collect();
        json!({"metadata": {"name": name}, "data": data})
    }

    #[test]
    fn exact_beats_pattern_and_urls_are_normalized() {
        let secrets = [
            secret(
                "a-pattern",
                &[
                    ("repoURL", "^https://git\\.example\\.com/"),
                    ("repoURLIsRegex", "true"),
                    ("username", "bot"),
                    ("password", "p1"),
                ],
            ),
            secret(
                "b-exact",
                &[("repoURL", "https://git.example.com/team/config"), ("username", "me"), ("password", "p2")],
            ),
        ];
        let found =
            |url: &str| match_credentials(secrets.iter(), url, convoy_api::urls::normalize_git).map(|c| c.password);
        assert_eq!(found("https://git.example.com/team/config.git"), Some("p2".into()), "normalized exact match");
        assert_eq!(found("https://git.example.com/other/repo"), Some("p1".into()), "pattern match");
        assert_eq!(found("https://elsewhere.example.com/x"), None);
    }
}
