//! `argocd-update`: point Applications' sources at what was promoted, ask Argo CD to sync, and
//! wait until it has synced the desired revisions (Kargo's algorithm, reference §2).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use convoy_engine::{StepContext, StepError, StepResult, StepRunner};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::application::{App, PROMOTION_INFO, REFRESH_ANNOTATION, is_completed, merge_diff};
use crate::authorize::{AUTHORIZED_STAGE_ANNOTATION, authorized_stages};
use crate::client::{ArgoCd, KubeError};
use crate::select::{AppRef, resolve};

pub const KIND: &str = "argocd-update";
/// Kargo's words, then how to turn the integration on.
const DISABLED: &str = "Argo CD integration is disabled on this controller; cannot update Argo CD Application resources (start convoy server with --kubeconfig FILE for the cluster running Argo CD; see docs/argocd.md)";
/// How long a waiting step sleeps when no Application change wakes it first.
pub(crate) const LOOK_AGAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    apps: Vec<AppUpdate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppUpdate {
    #[serde(flatten)]
    target: AppRef,
    sources: Option<Vec<SourceUpdate>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SourceUpdate {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    #[serde(default)]
    pub chart: String,
    #[serde(default)]
    pub desired_revision: String,
    #[serde(default)]
    pub update_target_revision: bool,
    pub kustomize: Option<KustomizeUpdate>,
    pub helm: Option<HelmUpdate>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KustomizeUpdate {
    #[serde(default)]
    pub images: Vec<KustomizeImage>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct KustomizeImage {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub new_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HelmUpdate {
    pub images: Vec<HelmParameter>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HelmParameter {
    pub key: String,
    pub value: String,
}

/// Kargo's schema checks that serde alone does not make, as `<field path>: <reason>`.
fn check(config: &Config) -> Vec<String> {
    let mut errors = Vec::new();
    if config.apps.is_empty() {
        errors.push("apps: Array must have at least 1 items".to_owned());
    }
    for (i, app) in config.apps.iter().enumerate() {
        errors.extend(app.target.check().into_iter().map(|e| format!("apps.{i}.{e}")));
        let Some(sources) = &app.sources else { continue };
        if sources.is_empty() {
            errors.push(format!("apps.{i}.sources: Array must have at least 1 items"));
        }
        for (j, source) in sources.iter().enumerate() {
            let at = format!("apps.{i}.sources.{j}");
            if source.repo_url.is_empty() {
                errors.push(format!("{at}.repoURL: String length must be greater than or equal to 1"));
            }
            if source.update_target_revision && source.desired_revision.is_empty() {
                errors.push(format!("{at}.desiredRevision: is required when updateTargetRevision is true"));
            }
            for (k, image) in source.kustomize.iter().flat_map(|k| k.images.iter()).enumerate() {
                if image.tag.is_some() && image.digest.is_some() {
                    errors.push(format!("{at}.kustomize.images.{k}: tag and digest are mutually exclusive"));
                }
                if image.new_name.as_deref() == Some("") {
                    errors.push(format!(
                        "{at}.kustomize.images.{k}.newName: String length must be greater than or equal to 1"
                    ));
                }
            }
            if let Some(helm) = &source.helm {
                if helm.images.is_empty() {
                    errors.push(format!("{at}.helm.images: Array must have at least 1 items"));
                }
                for (k, parameter) in helm.images.iter().enumerate() {
                    if parameter.key.is_empty() {
                        errors.push(format!(
                            "{at}.helm.images.{k}.key: String length must be greater than or equal to 1"
                        ));
                    }
                }
            }
        }
    }
    errors
}

pub struct ArgoCdUpdate {
    pub argocd: Option<Arc<ArgoCd>>,
}

#[async_trait]
impl StepRunner for ArgoCdUpdate {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn default_timeout(&self) -> Option<Duration> {
        Some(crate::STEP_TIMEOUT)
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: Config = crate::decode(KIND, &context.config)?;
        crate::refuse(KIND, check(&config))?;
        let Some(argocd) = &self.argocd else { return Err(StepError::retryable(DISABLED)) };
        let mut phases = Vec::new();
        let mut checked = Vec::new();
        for entry in &config.apps {
            let namespace = entry.target.namespace_or(argocd.namespace());
            let apps = resolve(argocd, &entry.target, namespace).await.map_err(StepError::retryable)?;
            let apps = authorized(apps, &entry.target, namespace, context).map_err(StepError::retryable)?;
            let updates = entry.sources.as_deref().unwrap_or_default();
            if !updates.is_empty() && apps.len() > 1 {
                compatible(&apps, updates).map_err(StepError::retryable)?;
            }
            for app in &apps {
                let view = App(app);
                let desired = desired_revisions(view, updates);
                checked.push(json!({"name": view.name(), "namespace": view.namespace(), "desiredRevisions": desired}));
                let phase = match must_sync(view, &context.promotion, &desired) {
                    Decision::Wait(phase) | Decision::Done(phase) => phase,
                    Decision::Sync(reason) => {
                        tracing::debug!(application = view.name(), reason, "starting a sync");
                        sync(argocd, view.namespace(), view.name(), updates, context).await?;
                        "Running".to_owned()
                    }
                };
                if matches!(phase.as_str(), "Failed" | "Error") {
                    let message = view.0.pointer("/status/operationState/message").and_then(Value::as_str);
                    return Err(StepError::retryable(format!(
                        "Argo CD Application {:?} in namespace {:?} failed with: {}",
                        view.name(),
                        view.namespace(),
                        message.unwrap_or("")
                    )));
                }
                if !phase.is_empty() {
                    phases.push(phase);
                }
            }
        }
        let health_check = json!({"uses": KIND, "config": {"apps": checked}});
        match aggregate(&phases) {
            Some("Running" | "Terminating") => {
                Ok(StepResult::running("waiting for Argo CD to sync the Applications", LOOK_AGAIN))
            }
            Some("Succeeded") => {
                let mut result = StepResult::succeeded(Map::new());
                result.health_check = Some(health_check);
                Ok(result)
            }
            _ => Err(StepError::retryable(format!(
                "could not determine promotion step status from operation phases: [{}]",
                phases.join(" ")
            ))),
        }
    }
}

/// Drops the Applications that do not name this Stage in their authorization annotation;
/// fails when none is left.
fn authorized(apps: Vec<Value>, target: &AppRef, namespace: &str, context: &StepContext) -> Result<Vec<Value>, String> {
    let found = apps.len();
    let allowed: Vec<Value> = apps
        .into_iter()
        .filter(|app| {
            let view = App(app);
            let value = view.annotation(AUTHORIZED_STAGE_ANNOTATION).unwrap_or("");
            match authorized_stages(value) {
                Ok(stages) => stages.iter().any(|(p, s)| *p == context.project && *s == context.stage),
                Err(e) => {
                    tracing::info!(application = view.name(), namespace, error = %e, "cannot read the authorized-stage annotation");
                    false
                }
            }
        })
        .collect();
    if !allowed.is_empty() {
        return Ok(allowed);
    }
    Err(match &target.name {
        Some(name) => format!("Argo CD Application {name:?} in namespace {namespace:?} is not authorized"),
        None => format!(
            "found {found} Application(s) matching selector in namespace {namespace:?}, but none are authorized for Stage {}:{}",
            context.project, context.stage
        ),
    })
}

/// Several Applications chosen by one selector must all accept the source updates; otherwise
/// none is changed.
fn compatible(apps: &[Value], updates: &[SourceUpdate]) -> Result<(), String> {
    let failures: Vec<String> = apps
        .iter()
        .filter_map(|app| {
            let view = App(app);
            desired_sources(view, updates, &desired_revisions(view, updates))
                .err()
                .map(|e| format!("Application {:?} in namespace {:?}: {e}", view.name(), view.namespace()))
        })
        .collect();
    if failures.is_empty() {
        return Ok(());
    }
    let shown = if failures.len() > 3 {
        format!("{} incompatible (showing first 3)", failures.len())
    } else {
        format!("{} incompatible", failures.len())
    };
    Err(format!(
        "selected Applications must have compatible sources; {shown}. No Applications were updated:\n{}",
        failures.iter().take(3).cloned().collect::<Vec<_>>().join("\n")
    ))
}

/// Per source of the Application, the `desiredRevision` of the first update with byte-equal
/// `repoURL` and `chart` (Kargo's exact comparison, unlike the normalised one of
/// [`desired_sources`]).
pub(crate) fn desired_revisions(app: App<'_>, updates: &[SourceUpdate]) -> Vec<String> {
    app.sources()
        .iter()
        .map(|source| {
            let repo = source["repoURL"].as_str().unwrap_or("");
            let chart = source["chart"].as_str().unwrap_or("");
            updates
                .iter()
                .find(|u| u.repo_url == repo && u.chart == chart)
                .map(|u| u.desired_revision.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// Does update `u` apply to `source`? Charts compare exactly; git URLs normalised.
fn accepts(source: &Value, update: &SourceUpdate) -> bool {
    let repo = source["repoURL"].as_str().unwrap_or("");
    let chart = source["chart"].as_str().unwrap_or("");
    if !chart.is_empty() || !update.chart.is_empty() {
        return repo == update.repo_url && chart == update.chart;
    }
    convoy_api::urls::normalize_git(repo) == convoy_api::urls::normalize_git(&update.repo_url)
}

/// The Application's sources with every update applied to the first source accepting it.
pub(crate) fn desired_sources(
    app: App<'_>,
    updates: &[SourceUpdate],
    desired: &[String],
) -> Result<Vec<Value>, String> {
    let mut sources: Vec<Value> = app.sources().into_iter().cloned().collect();
    if sources.len() != desired.len() {
        return Err(format!(
            "Argo CD Application {:?} in namespace {:?} has {} sources but {} desired revisions",
            app.name(),
            app.namespace(),
            sources.len(),
            desired.len()
        ));
    }
    for update in updates {
        let Some(index) = sources.iter().position(|s| accepts(s, update)) else {
            let chart = if update.chart.is_empty() { String::new() } else { format!(" and chart {:?}", update.chart) };
            return Err(format!(
                "no source of Argo CD Application {:?} in namespace {:?} matched update for source with repoURL {}{chart}",
                app.name(),
                app.namespace(),
                update.repo_url
            ));
        };
        let source = &mut sources[index];
        if update.update_target_revision && !desired[index].is_empty() {
            source["targetRevision"] = json!(desired[index]);
        }
        let images = update.kustomize.as_ref().map(|k| k.images.as_slice()).unwrap_or_default();
        if !images.is_empty() {
            let images: Vec<String> = images.iter().map(kustomize_image).collect();
            if !source["kustomize"].is_object() {
                source["kustomize"] = json!({});
            }
            source["kustomize"]["images"] = json!(images);
        }
        if let Some(helm) = &update.helm {
            if !source["helm"].is_object() {
                source["helm"] = json!({});
            }
            if !source["helm"]["parameters"].is_array() {
                source["helm"]["parameters"] = json!([]);
            }
            let parameters = source["helm"]["parameters"].as_array_mut().expect("just made an array");
            for image in &helm.images {
                let entry = json!({"name": image.key, "value": image.value});
                match parameters.iter_mut().find(|p| p["name"] == image.key.as_str()) {
                    Some(existing) => *existing = entry,
                    None => parameters.push(entry),
                }
            }
        }
    }
    Ok(sources)
}

/// Kustomize's image override: `repo[=newName](@digest|:tag)`.
fn kustomize_image(image: &KustomizeImage) -> String {
    let mut text = image.repo_url.clone();
    if let Some(new_name) = &image.new_name {
        text.push('=');
        text.push_str(new_name);
    }
    match (&image.digest, &image.tag) {
        (Some(digest), _) => text.push_str(&format!("@{digest}")),
        (None, tag) => text.push_str(&format!(":{}", tag.as_deref().unwrap_or(""))),
    }
    text
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// An operation is under way: its phase.
    Wait(String),
    /// This promotion's operation finished with the desired revisions: its phase.
    Done(String),
    /// Start (or restart) a sync, and why.
    Sync(String),
}

/// Kargo's `mustPerformUpdate`: whether to ask for a sync now, from the Application as read.
pub(crate) fn must_sync(app: App<'_>, promotion: &str, desired: &[String]) -> Decision {
    let Some(state) = app.operation_state() else { return Decision::Sync("no operation state".into()) };
    let phase = app.operation_phase().to_owned();
    // Whoever started it, an operation under way is waited for.
    if !is_completed(&phase) {
        return Decision::Wait(phase);
    }
    match app.operation_promotion() {
        None => return Decision::Sync("the last operation was not Convoy's and has completed".into()),
        Some(other) if other != promotion => {
            return Decision::Sync(format!("the last operation was for Promotion {other} and has completed"));
        }
        Some(_) => {}
    }
    let Some(result) = state.get("syncResult").filter(|r| r.is_object()) else {
        return Decision::Sync("operation completed without a sync result".into());
    };
    if desired.is_empty() {
        return Decision::Done(phase);
    }
    let observed = crate::application::revisions_at(Some(result));
    let mismatch =
        desired.iter().enumerate().any(|(i, want)| !want.is_empty() && observed.get(i) != Some(&want.as_str()));
    if mismatch {
        return Decision::Sync(format!(
            "sync result revisions [{}] do not match desired revisions [{}]",
            observed.join(" "),
            desired.join(" ")
        ));
    }
    Decision::Done(phase)
}

/// Kargo's order of operation phases: the first present decides the step.
pub(crate) fn aggregate(phases: &[String]) -> Option<&str> {
    let rank = |p: &str| match p {
        "Failed" => 0,
        "Error" => 1,
        "Running" => 2,
        "Terminating" => 3,
        "Succeeded" => 4,
        _ => 5,
    };
    phases.iter().map(String::as_str).min_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)))
}

/// The operation Kargo writes: the Application's sync options and retry policy, who asked
/// (`automated` when no person did), and which Promotion.
pub(crate) fn operation(app: App<'_>, promotion: &str, actor: &str) -> Value {
    let mut sync = Map::new();
    if let Some(options) = app.0.pointer("/spec/syncPolicy/syncOptions").filter(|o| o.is_array()) {
        sync.insert("syncOptions".into(), options.clone());
    }
    let mut retry = Map::new();
    for field in ["limit", "backoff"] {
        if let Some(value) = app.0.pointer(&format!("/spec/syncPolicy/retry/{field}")) {
            retry.insert(field.into(), value.clone());
        }
    }
    // Auto-promotions are the controller's (`controller:...`): no person asked for them.
    let person = match actor.split(':').collect::<Vec<_>>().as_slice() {
        _ if actor.is_empty() || actor == "unknown actor" || actor.starts_with("controller:") => None,
        [_, who] => Some(*who),
        _ => Some(actor),
    };
    let initiated_by = match person {
        Some(who) => json!({"username": who}),
        None => json!({"username": "kargo-controller", "automated": true}),
    };
    json!({
        "sync": sync,
        "initiatedBy": initiated_by,
        "info": [
            {"name": "Reason", "value": "Promotion triggered a sync of this Application resource."},
            {"name": PROMOTION_INFO, "value": promotion},
        ],
        "retry": retry,
    })
}

/// Writes the desired sources, a hard refresh and the sync operation onto the live Application
/// in one merge patch guarded by its `resourceVersion`; a conflict reads again (5 attempts).
async fn sync(
    argocd: &ArgoCd,
    namespace: &str,
    name: &str,
    updates: &[SourceUpdate],
    context: &StepContext,
) -> Result<(), StepError> {
    let failed = |e: String| {
        StepError::retryable(format!(
            "error syncing Argo CD Application {name:?} in namespace {namespace:?}: error patching Argo CD Application {name:?}: {e}"
        ))
    };
    let mut attempt = 0;
    let patched = loop {
        attempt += 1;
        let live = match argocd.get(namespace, name).await {
            Ok(Some(live)) => live,
            Ok(None) => {
                return Err(failed(format!(
                    "unable to get unstructured object for Application {name:?} in namespace {namespace:?}: not found"
                )));
            }
            Err(e) => {
                return Err(failed(format!(
                    "unable to get unstructured object for Application {name:?} in namespace {namespace:?}: {e}"
                )));
            }
        };
        let modified = with_sync(&live, updates, context).map_err(failed)?;
        let mut patch = merge_diff(&live, &modified);
        patch["metadata"]["resourceVersion"] = json!(App(&live).resource_version());
        match argocd.merge_patch(namespace, name, &patch).await {
            Ok(patched) => break patched,
            Err(KubeError::Conflict(_)) if attempt < 5 => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(e) => return Err(failed(format!("failed to patch the object: {e}"))),
        }
    };
    argocd.record_event(namespace, started_event(App(&patched))).await;
    Ok(())
}

/// The live Application as the sync request leaves it.
fn with_sync(live: &Value, updates: &[SourceUpdate], context: &StepContext) -> Result<Value, String> {
    let app = App(live);
    let mut modified = live.clone();
    if !modified["metadata"]["annotations"].is_object() {
        modified["metadata"]["annotations"] = json!({});
    }
    modified["metadata"]["annotations"][REFRESH_ANNOTATION] = json!("hard");
    if !updates.is_empty() {
        let desired = desired_revisions(app, updates);
        let sources = desired_sources(app, updates, &desired).map_err(|e| {
            format!(
                "error building desired sources for Argo CD Application {:?} in namespace {:?}: {e}",
                app.name(),
                app.namespace()
            )
        })?;
        if app.is_multi_source() {
            modified["spec"]["sources"] = json!(sources);
        } else if let Some(source) = sources.into_iter().next() {
            modified["spec"]["source"] = source;
        }
    }
    modified["operation"] = operation(app, &context.promotion, &context.actor);
    if let Some(status) = modified.get_mut("status").and_then(Value::as_object_mut) {
        status.remove("operationState");
    }
    Ok(modified)
}

/// Kargo's `OperationStarted` Event.
fn started_event(app: App<'_>) -> Value {
    let now = convoy_api::time::Timestamp::now().to_string();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let sources = app.sources();
    let target = match sources.as_slice() {
        [] => "initiated sync".to_owned(),
        [one] => format!("initiated sync to {}", one["targetRevision"].as_str().unwrap_or("")),
        many => format!("initiated sync to {} sources", many.len()),
    };
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{}.{nanos:x}", app.name()), "namespace": app.namespace(), "annotations": {"user": "kargo-controller"}},
        "type": "Normal",
        "reason": "OperationStarted",
        "message": format!("kargo-controller {target}"),
        "source": {"component": "kargo-controller"},
        "involvedObject": {
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "namespace": app.namespace(),
            "name": app.name(), "uid": app.0.pointer("/metadata/uid").cloned().unwrap_or(Value::Null),
            "resourceVersion": app.resource_version(),
        },
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    })
}

#[cfg(test)]
mod tests;
