//! `argocd-wait`: wait until Applications are healthy, synced and idle (or suspended, or
//! degraded), as Kargo's step does (reference §3). Needs no authorization annotation.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use convoy_engine::{StepContext, StepError, StepResult, StepRunner};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::application::App;
use crate::client::ArgoCd;
use crate::select::{AppRef, resolve};

pub const KIND: &str = "argocd-wait";
/// Kargo's words, then how to turn the integration on.
const DISABLED: &str = "Argo CD integration is disabled on this controller; cannot wait for Argo CD Application resources (start convoy server with --kubeconfig FILE for the cluster running Argo CD; see docs/argocd.md)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaitFor {
    Health,
    Sync,
    Operation,
    Suspended,
    Degraded,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AppWait {
    #[serde(flatten)]
    target: AppRef,
    wait_for: Option<Vec<WaitFor>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    apps: Vec<AppWait>,
}

fn check(config: &Config) -> Vec<String> {
    let mut errors = Vec::new();
    if config.apps.is_empty() {
        errors.push("apps: Array must have at least 1 items".to_owned());
    }
    for (i, app) in config.apps.iter().enumerate() {
        errors.extend(app.target.check().into_iter().map(|e| format!("apps.{i}.{e}")));
        if let Some(wait_for) = &app.wait_for {
            if wait_for.is_empty() {
                errors.push(format!("apps.{i}.waitFor: Array must have at least 1 items"));
            }
            if wait_for.iter().enumerate().any(|(j, w)| wait_for[..j].contains(w)) {
                errors.push(format!("apps.{i}.waitFor: array items must be unique"));
            }
        }
    }
    errors
}

/// What one Application's state means for the wait.
#[derive(Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    NotReady,
    /// Ask Argo CD to refresh (its health predates the last operation), then not ready.
    Refresh,
    /// The wait can never succeed.
    Broken(String),
}

/// Kargo's checks for one Application, in order; `previous` is the health seen last time.
pub fn readiness(app: App<'_>, wait_for: &[WaitFor], previous: Option<&str>) -> Readiness {
    let conditions = app.error_conditions();
    if !conditions.is_empty() {
        let lines: Vec<String> = conditions
            .iter()
            .map(|(kind, message)| {
                format!(
                    "Argo CD Application {:?} in namespace {:?} has {kind:?} condition: {message}",
                    app.name(),
                    app.namespace()
                )
            })
            .collect();
        return Readiness::Broken(lines.join("\n"));
    }
    let wants = |w: WaitFor| wait_for.contains(&w);
    let in_progress = app.0.get("operation").is_some_and(|o| !o.is_null())
        || (app.operation_state().is_some() && app.finished_at().is_empty());
    if wants(WaitFor::Operation) && in_progress {
        return Readiness::NotReady;
    }
    let health_wanted = wants(WaitFor::Health) || wants(WaitFor::Suspended) || wants(WaitFor::Degraded);
    if health_wanted && !app.refreshed_since_operation() {
        return Readiness::Refresh;
    }
    let health = app.health();
    if wants(WaitFor::Health)
        && health == "Degraded"
        && previous.is_some_and(|p| !p.is_empty() && p != "Degraded" && p != "Unknown")
    {
        return Readiness::Broken(format!(
            "Argo CD Application {:?} in namespace {:?} health has regressed from {} to {health}",
            app.name(),
            app.namespace(),
            previous.unwrap_or("")
        ));
    }
    let healthy = (wants(WaitFor::Health) && health == "Healthy")
        || (wants(WaitFor::Suspended) && health == "Suspended")
        || (wants(WaitFor::Degraded) && health == "Degraded");
    if health_wanted && !healthy {
        return Readiness::NotReady;
    }
    if wants(WaitFor::Sync) && app.sync_status() != "Synced" {
        return Readiness::NotReady;
    }
    Readiness::Ready
}

pub struct ArgoCdWait {
    pub argocd: Option<Arc<ArgoCd>>,
}

#[async_trait]
impl StepRunner for ArgoCdWait {
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
        let previous: Map<String, Value> =
            context.previous_output.as_ref().and_then(|o| o["healthStatus"].as_object().cloned()).unwrap_or_default();
        let mut found = Vec::new();
        for entry in &config.apps {
            let namespace = entry.target.namespace_or(argocd.namespace());
            let apps = resolve(argocd, &entry.target, namespace).await.map_err(StepError::retryable)?;
            found.push((entry, apps));
        }
        let mut health = previous.clone();
        let mut ready = true;
        for (entry, apps) in &found {
            let wait_for =
                entry.wait_for.clone().unwrap_or_else(|| vec![WaitFor::Health, WaitFor::Sync, WaitFor::Operation]);
            for app in apps {
                let view = App(app);
                let key = format!("{}/{}", view.namespace(), view.name());
                if !view.health().is_empty() {
                    health.insert(key.clone(), json!(view.health()));
                }
                let seen = previous.get(&key).and_then(Value::as_str);
                match readiness(view, &wait_for, seen) {
                    Readiness::Ready => {}
                    Readiness::NotReady => ready = false,
                    Readiness::Refresh => {
                        argocd.hard_refresh(view.namespace(), view.name()).await;
                        ready = false;
                    }
                    Readiness::Broken(message) => {
                        let mut error = StepError::terminal(message);
                        error.output.insert("healthStatus".into(), json!(health));
                        return Err(error);
                    }
                }
            }
        }
        let mut output = Map::new();
        output.insert("healthStatus".into(), json!(health));
        if ready {
            return Ok(StepResult::succeeded(output));
        }
        let mut result = StepResult::running("waiting for Argo CD Applications", crate::update::LOOK_AGAIN);
        result.output = output;
        Ok(result)
    }
}
