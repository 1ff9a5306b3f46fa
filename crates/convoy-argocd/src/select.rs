//! `apps[]` entries: one Application by `name`, or those matching a label `selector`.

use serde::Deserialize;
use serde_json::Value;

use crate::client::ArgoCd;
use crate::selector::LabelSelector;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppRef {
    pub name: Option<String>,
    pub selector: Option<LabelSelector>,
    pub namespace: Option<String>,
}

impl AppRef {
    /// Schema checks, as `<field>: <reason>` relative to the entry.
    pub(crate) fn check(&self) -> Vec<String> {
        let mut errors = Vec::new();
        match (&self.name, &self.selector) {
            (Some(_), Some(_)) | (None, None) => {
                errors.push("name: exactly one of name and selector must be set".to_owned())
            }
            (Some(name), None) if name.is_empty() => {
                errors.push("name: String length must be greater than or equal to 1".to_owned())
            }
            (None, Some(selector)) if selector.match_labels.is_empty() && selector.match_expressions.is_empty() => {
                errors.push("selector: must have matchLabels or matchExpressions".to_owned())
            }
            _ => {}
        }
        if self.namespace.as_deref() == Some("") {
            errors.push("namespace: String length must be greater than or equal to 1".to_owned());
        }
        errors
    }

    pub fn namespace_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.namespace.as_deref().unwrap_or(default)
    }

    /// Whether this entry designates `app` (for waking the steps that wait on it).
    pub fn designates(&self, app: crate::application::App<'_>, default_namespace: &str) -> bool {
        if self.namespace_or(default_namespace) != app.namespace() {
            return false;
        }
        match (&self.name, &self.selector) {
            (Some(name), _) => name == app.name(),
            (None, Some(selector)) => selector.matches(app.labels()),
            (None, None) => false,
        }
    }
}

/// The Applications an entry designates, with Kargo's messages when there are none.
pub(crate) async fn resolve(argocd: &ArgoCd, target: &AppRef, namespace: &str) -> Result<Vec<Value>, String> {
    if let Some(name) = &target.name {
        return match argocd.get(namespace, name).await {
            Ok(Some(app)) => Ok(vec![app]),
            Ok(None) => Err(format!("unable to find Argo CD Application {name:?} in namespace {namespace:?}")),
            Err(e) => Err(format!(
                "error finding Argo CD Application {name:?} in namespace {namespace:?}: error getting Argo CD Application {name:?} in namespace {namespace:?}: {e}"
            )),
        };
    }
    let selector = target.selector.as_ref().map(LabelSelector::to_query).transpose()?.unwrap_or_default();
    let apps = argocd
        .list(namespace, &selector)
        .await
        .map_err(|e| format!("error listing Argo CD Applications matching selector: {e}"))?;
    if apps.is_empty() {
        return Err(format!("no Argo CD Applications found matching selector in namespace {namespace:?}"));
    }
    Ok(apps)
}
