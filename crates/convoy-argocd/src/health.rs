//! Stage health from the checks `argocd-update` registered (Kargo's `pkg/health`, reference §4):
//! each Application's freshness, error conditions, synced revisions and Argo CD health, merged
//! into one state with the issues that explain it.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::application::App;
use crate::client::ArgoCd;

/// Health states, least severe first (the merge keeps the most severe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Healthy,
    NotApplicable,
    Progressing,
    Unknown,
    Unhealthy,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Healthy => "Healthy",
            State::NotApplicable => "NotApplicable",
            State::Progressing => "Progressing",
            State::Unknown => "Unknown",
            State::Unhealthy => "Unhealthy",
        }
    }
}

/// The outcome of a Stage's health checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub state: State,
    pub issues: Vec<String>,
    /// One `{"applicationStatuses": [...]}` per check that produced output.
    pub output: Vec<Value>,
    /// How many checks ran (the condition's message counts them).
    pub checks: usize,
}

impl Health {
    fn note(&mut self, state: State, issue: Option<String>) {
        self.state = self.state.max(state);
        self.issues.extend(issue);
    }

    /// `status.health` as Kargo writes it.
    pub fn status(&self) -> Value {
        let mut status = json!({"status": self.state.as_str()});
        if !self.issues.is_empty() {
            status["issues"] = json!(self.issues);
        }
        if !self.output.is_empty() {
            status["output"] = json!(self.output);
        }
        status
    }

    /// The `Healthy` condition: status, reason, message.
    pub fn condition(&self) -> (&'static str, &'static str, String) {
        match self.state {
            State::Healthy => {
                ("True", "Healthy", format!("Stage is healthy (performed {} health checks)", self.checks))
            }
            State::Unhealthy => (
                "False",
                "Unhealthy",
                format!("Stage is unhealthy ({} issues in {} health checks)", self.issues.len(), self.checks),
            ),
            other => ("Unknown", other.as_str(), String::new()),
        }
    }
}

#[derive(Deserialize)]
struct CheckInput {
    apps: Vec<CheckedApp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckedApp {
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    desired_revisions: Vec<String>,
}

/// Runs the health checks a Promotion stored (`{"uses": ..., "config": ...}` each).
pub async fn assess(argocd: Option<&ArgoCd>, checks: &[Value]) -> Health {
    let mut health = Health { state: State::Healthy, issues: Vec::new(), output: Vec::new(), checks: checks.len() };
    for check in checks {
        let uses = check["uses"].as_str().unwrap_or("");
        if uses != crate::update::KIND {
            health.note(State::Unknown, Some(format!("no health checker registered for health check kind {uses:?}")));
            continue;
        }
        let input: CheckInput = match serde_json::from_value(check["config"].clone()) {
            Ok(input) => input,
            Err(e) => {
                let issue = format!("could not convert opaque input into argocd-update health check input: {e}");
                health.note(State::Unknown, Some(issue));
                continue;
            }
        };
        let Some(argocd) = argocd else {
            health.note(State::Unknown, Some("Argo CD integration is disabled on this controller; cannot assess the health or sync status of Argo CD Applications".into()));
            continue;
        };
        let mut statuses = Vec::new();
        for app in &input.apps {
            let namespace = if app.namespace.is_empty() { argocd.namespace() } else { &app.namespace };
            let (state, issues, status) = match argocd.get(namespace, &app.name).await {
                Ok(Some(live)) => {
                    let (state, issues) = app_health(App(&live), &app.desired_revisions);
                    if state == State::Unknown && !App(&live).refreshed_since_operation() {
                        argocd.hard_refresh(namespace, &app.name).await;
                    }
                    (state, issues, reported_status(App(&live)))
                }
                Ok(None) => (
                    State::Unknown,
                    vec![format!("unable to find Argo CD Application {:?} in namespace {namespace:?}", app.name)],
                    json!({"health": {"status": "Unknown"}, "sync": {"status": "Unknown"}}),
                ),
                Err(e) => (
                    State::Unknown,
                    vec![format!("error finding Argo CD Application {:?} in namespace {namespace:?}: {e}", app.name)],
                    json!({"health": {"status": "Unknown"}, "sync": {"status": "Unknown"}}),
                ),
            };
            health.state = health.state.max(state);
            health.issues.extend(issues);
            let mut entry = json!({"Namespace": namespace, "Name": app.name});
            if let (Some(entry), Some(status)) = (entry.as_object_mut(), status.as_object()) {
                entry.extend(status.clone());
            }
            statuses.push(entry);
        }
        health.output.push(json!({"applicationStatuses": statuses}));
    }
    health
}

/// One Application's state and issues (Kargo's checker, in its order).
pub fn app_health(app: App<'_>, desired: &[String]) -> (State, Vec<String>) {
    let (name, namespace) = (app.name(), app.namespace());
    if !app.refreshed_since_operation() {
        return (
            State::Unknown,
            vec![format!(
                "Argo CD Application {name:?} in namespace {namespace:?} was not reconciled after its most recent operation completed; Application health status not trusted"
            )],
        );
    }
    let conditions = app.error_conditions();
    if !conditions.is_empty() {
        let issues = conditions
            .iter()
            .map(|(kind, message)| {
                format!("Argo CD Application {name:?} in namespace {namespace:?} has {kind:?} condition: {message}")
            })
            .collect();
        return (State::Unhealthy, issues);
    }
    if desired.iter().any(|d| !d.is_empty()) {
        let syncing = app.0.get("operation").is_some_and(|o| o.get("sync").is_some())
            || app.operation_state().is_none()
            || app.finished_at().is_empty();
        if syncing {
            return (
                State::Unknown,
                vec![format!("Argo CD Application {name:?} in namespace {namespace:?} is being synced")],
            );
        }
        let sources = app.sources();
        if sources.len() != desired.len() {
            return (
                State::Unknown,
                vec![format!(
                    "Argo CD Application {name:?} in namespace {namespace:?} has {} sources but {} desired revisions",
                    sources.len(),
                    desired.len()
                )],
            );
        }
        let observed = app.synced_revisions();
        if observed.len() != desired.len() {
            return (
                State::Unknown,
                vec![format!(
                    "Argo CD Application {name:?} in namespace {namespace:?} has {} observed revisions but {} desired revisions",
                    observed.len(),
                    desired.len()
                )],
            );
        }
        let mismatches: Vec<String> = desired
            .iter()
            .enumerate()
            .filter(|(i, want)| !want.is_empty() && observed[*i] != want.as_str())
            .map(|(i, want)| {
                format!(
                    "Source {i} with RepoURL {} of Application {name:?} in namespace {namespace:?} does not match the desired revision {want:?}.",
                    sources[i]["repoURL"].as_str().unwrap_or("")
                )
            })
            .collect();
        if !mismatches.is_empty() {
            return (
                State::Unhealthy,
                vec![format!(
                    "Not all sources of Application {name:?} in namespace {namespace:?} are synced to the desired revisions. Issues: {}",
                    mismatches.join("; ")
                )],
            );
        }
    }
    match app.health() {
        "Healthy" => (State::Healthy, Vec::new()),
        "Progressing" | "" => (
            State::Progressing,
            vec![format!("Argo CD Application {name:?} in namespace {namespace:?} is progressing")],
        ),
        "Suspended" => {
            (State::Progressing, vec![format!("Argo CD Application {name:?} in namespace {namespace:?} is suspended")])
        }
        other => (
            State::Unhealthy,
            vec![format!("Argo CD Application {name:?} in namespace {namespace:?} has health state {other:?}")],
        ),
    }
}

/// The Application's status as the Stage reports it: without `reconciledAt` and condition
/// transition times, so that an unchanged Application leaves the Stage unchanged.
fn reported_status(app: App<'_>) -> Value {
    let mut status = app.0.get("status").cloned().unwrap_or_else(|| json!({}));
    if let Some(object) = status.as_object_mut() {
        object.remove("reconciledAt");
        object.retain(|k, _| matches!(k.as_str(), "health" | "sync" | "conditions" | "operationState"));
        if let Some(conditions) = object.get_mut("conditions").and_then(Value::as_array_mut) {
            for condition in conditions.iter_mut().filter_map(Value::as_object_mut) {
                condition.remove("lastTransitionTime");
            }
        }
    }
    status
}

/// The Applications a Promotion's health checks name, for the Stage's
/// `kargo.akuity.io/argocd-context` annotation.
pub fn context(checks: &[Value]) -> Vec<Value> {
    checks
        .iter()
        .filter(|c| c["uses"] == crate::update::KIND)
        .filter_map(|c| c.pointer("/config/apps").and_then(Value::as_array))
        .flatten()
        .map(|a| json!({"name": a["name"], "namespace": a["namespace"]}))
        .collect()
}
