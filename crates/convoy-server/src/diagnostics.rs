//! `GET /v1/diagnostics`: the server-side checks of `convoy doctor`, each with its fix.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use convoy_api::{Kind, ProjectConfig, Stage, Subscription, Warehouse};
use convoy_store::{Key, LabelSelector};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Identity, authorize};
use crate::error::ApiError;

/// How long one source or remote may take to answer before its check fails.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// Stages whose remotes are probed at once (each probe is a git process).
const STAGES_AT_ONCE: usize = 8;

fn check(name: String, status: &str, message: impl Into<String>, fix: &str) -> Value {
    json!({"name": name, "status": status, "message": message.into(), "fix": fix})
}

pub async fn diagnostics(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
) -> Result<Json<Value>, ApiError> {
    // The checks use every project's credentials: for those who may read every Secret.
    let request = convoy_core::access::Request { verb: "list", resource: "secrets", project: "", name: "" };
    authorize(&*state.store, &identity, request).await?;
    let mut checks = Vec::new();
    checks.push(match state.store.ping().await {
        Ok(()) => check("store".into(), "ok", "the store answers and takes writes", ""),
        Err(e) => {
            let message = e.to_string();
            let fix = store_fix(&message);
            check("store".into(), "fail", message, fix)
        }
    });
    let stalled = convoy_controllers::heartbeat::stalled(convoy_controllers::heartbeat::stall_after());
    checks.push(if !stalled.is_empty() {
        let names: Vec<String> = stalled.iter().map(|(n, age)| format!("{n} ({} s)", age.as_secs())).collect();
        check(
            "controllers".into(),
            "fail",
            format!("loops without a finished pass: {}", names.join(", ")),
            "restart this replica (its /healthz fails, so a supervisor does it); report the hang with the server log",
        )
    } else if state.leading.load(std::sync::atomic::Ordering::SeqCst) {
        check("controllers".into(), "ok", "this replica runs the controllers", "")
    } else {
        check(
            "controllers".into(),
            "ok",
            "standby: another replica runs the controllers; this one takes over when that one stops",
            "",
        )
    });
    if let Some(dir) = &state.data_dir {
        checks.push(disk(dir).await);
    }
    let everything = LabelSelector::everything();
    let (warehouses, _) = state.store.list(Kind::Warehouse, None, &everything).await?;
    let warehouses: Vec<Warehouse> =
        warehouses.into_iter().filter_map(|stored| serde_json::from_value(stored.object).ok()).collect();
    checks.extend(sources(&state, &warehouses).await);
    let (stages, _) = state.store.list(Kind::Stage, None, &everything).await?;
    let (tasks, _) = state.store.list(Kind::PromotionTask, None, &everything).await?;
    let uses_argocd = stages.iter().chain(tasks.iter()).any(|s| {
        let steps = s.object.pointer("/spec/promotionTemplate/spec/steps").or_else(|| s.object.pointer("/spec/steps"));
        steps
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|step| step["uses"].as_str().is_some_and(|u| u.starts_with("argocd-")))
    });
    checks.extend(argocd(&state, uses_argocd).await);
    // Stages are checked a few at a time (each may wait on a remote for PROBE_TIMEOUT), in order.
    let stages: Vec<Stage> =
        stages.into_iter().filter_map(|stored| serde_json::from_value(stored.object).ok()).collect();
    // Owned Stages and a shared state: the checks run as futures of their own.
    let per_stage = futures::stream::iter(stages.into_iter().map(|stage| {
        let state = state.clone();
        async move { stage_checks(&state, &stage).await }
    }))
    .buffered(STAGES_AT_ONCE)
    .collect::<Vec<_>>()
    .await;
    for found in per_stage {
        checks.extend(found?);
    }
    let (configs, _) = state.store.list(Kind::ProjectConfig, None, &everything).await?;
    for stored in configs {
        let Ok(config) = serde_json::from_value::<ProjectConfig>(stored.object) else { continue };
        let project = config.metadata.name();
        checks.extend(receivers(&state, project, project, &config.spec.webhook_receivers).await?);
    }
    if let Some(stored) = state.store.get(&Key::new(Kind::ClusterConfig, "", "cluster")).await?
        && let Ok(config) = serde_json::from_value::<convoy_api::ClusterConfig>(stored.object)
    {
        let secrets = crate::webhooks::CLUSTER_SECRETS_PROJECT;
        checks.extend(receivers(&state, "cluster", secrets, &config.spec.webhook_receivers).await?);
    }
    Ok(Json(json!({"checks": checks})))
}

/// The Argo CD cluster: reachable, serving Applications, and letting Convoy read, watch and
/// patch them. Without one, a check only when some Stage or task uses an `argocd-*` step.
async fn argocd(state: &AppState, used: bool) -> Option<Value> {
    const RBAC: &str = "grant the service account get, list, watch and patch on applications.argoproj.io (docs/argocd.md has the ClusterRole)";
    let Some(argocd) = &state.argocd else {
        return used.then(|| {
            check(
                "argocd".into(),
                "fail",
                "Stages use argocd-update or argocd-wait, but no Kubernetes cluster is configured",
                "start the server with --kubeconfig FILE (or KUBECONFIG, or in a Pod) pointing at the cluster running Argo CD",
            )
        });
    };
    match tokio::time::timeout(PROBE_TIMEOUT, argocd.probe()).await {
        Err(_) => {
            let fix = "check the cluster address in the kubeconfig";
            return Some(check("argocd".into(), "fail", "the Kubernetes API did not answer in 20 s", fix));
        }
        Ok(Err(convoy_argocd::KubeError::NotFound)) => {
            return Some(check(
                "argocd".into(),
                "fail",
                "the cluster does not serve argoproj.io/v1alpha1 Applications",
                "install Argo CD in this cluster, or point --kubeconfig at the one that runs it",
            ));
        }
        Ok(Err(e)) => return Some(check("argocd".into(), "fail", format!("cannot list Applications: {e}"), RBAC)),
        Ok(Ok(())) => {}
    }
    let mut missing = Vec::new();
    for verb in ["get", "list", "watch", "patch"] {
        match argocd.can(verb).await {
            Ok(true) => {}
            Ok(false) => missing.push(verb),
            Err(e) => return Some(check("argocd".into(), "warn", format!("cannot ask what Convoy may do: {e}"), RBAC)),
        }
    }
    Some(if missing.is_empty() {
        let watched = if argocd.watches_namespace_only() { "watched there" } else { "watched in every namespace" };
        let message = format!("Applications in namespace {:?} can be read and patched, {watched}", argocd.namespace());
        check("argocd".into(), "ok", message, "")
    } else {
        let message =
            format!("Convoy may not {} Applications in namespace {:?}", missing.join(", "), argocd.namespace());
        check("argocd".into(), "fail", message, RBAC)
    })
}

fn store_fix(message: &str) -> &'static str {
    if message.contains("read-only") || message.contains("readonly") {
        "the database refuses writes: point --database-url at the primary, not a standby, or make the data dir's convoy.db writable"
    } else {
        "check the database: the data dir's convoy.db, or the server behind --database-url"
    }
}

/// Free space where work trees and mirrors go.
async fn disk(dir: &std::path::Path) -> Value {
    let out = tokio::process::Command::new("df").arg("-Pk").arg(dir).output().await;
    let free_kib = out.ok().and_then(|o| {
        String::from_utf8_lossy(&o.stdout).lines().nth(1).and_then(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
    });
    let (status, fix) = disk_status(free_kib);
    let message = match free_kib {
        None => format!("cannot tell the free space of {}", dir.display()),
        Some(k) if k < 1024 * 1024 => format!("{} MiB free in {}", k / 1024, dir.display()),
        Some(k) => format!("{} GiB free in {}", k / (1024 * 1024), dir.display()),
    };
    check("disk".into(), status, message, fix)
}

/// Below 100 MiB a clone can fail half-way; below 1 GiB large repositories will.
fn disk_status(free_kib: Option<u64>) -> (&'static str, &'static str) {
    match free_kib {
        None => ("warn", "install coreutils' df"),
        Some(k) if k < 100 * 1024 => ("fail", "free space: clones and work trees need room"),
        Some(k) if k < 1024 * 1024 => ("warn", "free space: large repositories need more than 1 GiB"),
        Some(_) => ("ok", ""),
    }
}

/// Each subscription's source answers with the project's credentials; every source is asked
/// at once, each within [`PROBE_TIMEOUT`].
async fn sources(state: &AppState, warehouses: &[Warehouse]) -> Vec<Value> {
    let registries = &convoy_discovery::registry::Registries::new();
    let probes = warehouses.iter().flat_map(|warehouse| {
        warehouse.spec.subscriptions.iter().filter_map(move |subscription| {
            let url = subscription.repo_url()?;
            Some(source(state, registries, warehouse, subscription, url))
        })
    });
    futures::future::join_all(probes).await
}

async fn source(
    state: &AppState,
    registries: &convoy_discovery::registry::Registries,
    warehouse: &Warehouse,
    subscription: &Subscription,
    url: &str,
) -> Value {
    let project = warehouse.metadata.namespace();
    let name = format!("warehouse {project}/{} source {}", warehouse.metadata.name(), convoy_git::redact(url));
    let kind = convoy_discovery::credential_kind(subscription);
    let credentials = credentials(state, project, kind, url).await;
    let probe = convoy_discovery::probe(registries, subscription, credentials.as_ref());
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(())) => check(name, "ok", "reachable", ""),
        // The problem in the message, the fix once, in the fix column: git's own words say
        // which fix (network, credentials, URL); registries name the Secret kind to add.
        Ok(Err(e)) => {
            let fix = match (kind, &e.hint) {
                ("git", Some(hint)) => hint.clone(),
                _ => source_fix(kind),
            };
            check(name, "fail", e.problem(), &fix)
        }
        Err(_) => no_answer(name),
    }
}

/// The project's credentials of `kind` for `url`, as the git and registry clients take them.
async fn credentials(state: &AppState, project: &str, kind: &str, url: &str) -> Option<convoy_git::Credentials> {
    let found = convoy_controllers::resources::credentials_of_kind(&*state.store, project, kind, url).await;
    found.ok().flatten().map(|c| convoy_git::Credentials { username: c.username, password: c.password })
}

/// A probe that ran out of [`PROBE_TIMEOUT`].
fn no_answer(name: String) -> Value {
    check(
        name,
        "fail",
        format!("no answer within {} s", PROBE_TIMEOUT.as_secs()),
        "check the address and that the Convoy server can reach it (proxy, firewall)",
    )
}

fn source_fix(kind: &str) -> String {
    format!(
        "check the repoURL, and that a Secret labelled kargo.akuity.io/cred-type: {kind} matches it (convoy create credentials)"
    )
}

/// A Stage's references and remotes.
async fn stage_checks(state: &AppState, stage: &Stage) -> Result<Vec<Value>, ApiError> {
    let mut found = references(state, stage).await?;
    found.extend(remotes(state, stage).await?);
    Ok(found)
}

/// Every object a Stage names exists: the PromotionTasks its template references and the
/// AnalysisTemplates its verification runs (each project-scoped or cluster-scoped).
async fn references(state: &AppState, stage: &Stage) -> Result<Vec<Value>, ApiError> {
    let project = stage.metadata.namespace();
    let steps = stage.spec.promotion_template.iter().flat_map(|t| &t.spec.steps);
    let tasks = steps.filter_map(|step| step.task.as_ref()).map(|task| {
        let kind = if task.kind.as_deref() == Some("ClusterPromotionTask") {
            Kind::ClusterPromotionTask
        } else {
            Kind::PromotionTask
        };
        ("task", kind, task.name.as_str(), "apply the task, or change the Stage's template")
    });
    let templates = stage.spec.verification.iter().flat_map(|v| &v.analysis_templates).map(|reference| {
        let kind = if reference.kind.as_deref() == Some("ClusterAnalysisTemplate") {
            Kind::ClusterAnalysisTemplate
        } else {
            Kind::AnalysisTemplate
        };
        (
            "analysis",
            kind,
            reference.name.as_str(),
            "apply the template, or change the Stage's verification; until then its verification errors",
        )
    });
    let mut out = Vec::new();
    for (role, kind, name, fix) in tasks.chain(templates) {
        let key = Key::new(kind, if kind.is_cluster_scoped() { "" } else { project }, name);
        let label = format!("stage {project}/{} {role} {name}", stage.metadata.name());
        out.push(if state.store.get(&key).await?.is_some() {
            check(label, "ok", "present", "")
        } else {
            check(label, "fail", format!("{kind} {name:?} not found"), fix)
        });
    }
    Ok(out)
}

/// Every repository a Stage's steps clone accepts pushes with the project's credentials.
async fn remotes(state: &AppState, stage: &Stage) -> Result<Vec<Value>, ApiError> {
    let project = stage.metadata.namespace();
    let Some(template) = &stage.spec.promotion_template else { return Ok(Vec::new()) };
    let projects = std::iter::once(project.to_owned()).collect();
    let view = convoy_controllers::writes::load_view(&*state.store, &projects).await?;
    // A missing task is reported by the task check.
    let Ok(steps) = convoy_core::expand::expand_steps(project, &template.spec.steps, &template.spec.vars, &view) else {
        return Ok(Vec::new());
    };
    let evaluator = convoy_expr::Evaluator::new(&convoy_expr::NoData);
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for step in steps.iter().filter(|s| s.uses.as_deref() == Some("git-clone")) {
        let Some(written) = step.config.as_ref().and_then(|c| c.get("repoURL")).and_then(Value::as_str) else {
            continue;
        };
        let mut scope = convoy_expr::Scope::default();
        let _ = scope.insert("ctx", &json!({"project": project, "stage": stage.metadata.name()}));
        let vars: Vec<_> = stage.spec.vars.iter().chain(&template.spec.vars).chain(&step.vars).cloned().collect();
        let url = evaluator
            .vars(&vars, &mut scope)
            .ok()
            .and_then(|()| evaluator.template(written, &scope).ok())
            .and_then(|v| v.as_str().map(str::to_owned));
        let Some(url) = url else {
            let name = format!("stage {project}/{} push {written}", stage.metadata.name());
            out.push(check(name, "warn", "the repository URL depends on the Freight; cannot check it here", ""));
            continue;
        };
        if seen.contains(&url) {
            continue;
        }
        seen.push(url.clone());
        let name = format!("stage {project}/{} push {}", stage.metadata.name(), convoy_git::redact(&url));
        let credentials = credentials(state, project, "git", &url).await;
        let scratch = tempfile::tempdir()
            .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "Internal", e.to_string()))?;
        let probe = convoy_git::probe_push(&url, credentials.as_ref(), scratch.path());
        out.push(match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
            Err(_) => no_answer(name),
            Ok(Ok(())) => check(name, "ok", "pushes are accepted (dry run)", ""),
            Ok(Err(e)) => {
                let fix = e
                    .likely_fix()
                    .unwrap_or("give the credentials Secret for this repository write access, and check the URL");
                check(name, "fail", e.to_string(), fix)
            }
        });
    }
    Ok(out)
}

/// Every webhook receiver has its Secret (in `secrets_project`), with the key its provider reads.
async fn receivers(
    state: &AppState,
    owner: &str,
    secrets_project: &str,
    configured: &[convoy_api::project::WebhookReceiverConfig],
) -> Result<Vec<Value>, ApiError> {
    let project = secrets_project;
    let mut out = Vec::new();
    for receiver in configured {
        let name = format!("receiver {owner}/{}", receiver.name);
        let Some(kind) = receiver.providers().first().copied() else { continue };
        let secret = [
            &receiver.github,
            &receiver.gitlab,
            &receiver.bitbucket,
            &receiver.gitea,
            &receiver.dockerhub,
            &receiver.quay,
            &receiver.harbor,
            &receiver.azure,
        ]
        .into_iter()
        .flatten()
        .map(|r| r.secret_ref.name.clone())
        .next()
        .or_else(|| receiver.artifactory.as_ref().map(|a| a.secret_ref.name.clone()))
        .or_else(|| receiver.generic.as_ref().map(|g| g.secret_ref.name.clone()));
        let Some(secret) = secret else { continue };
        let key = match kind {
            "gitlab" | "artifactory" => "secret-token",
            "harbor" => "auth-header",
            _ => "secret",
        };
        let stored = state.store.get(&Key::new(Kind::Secret, project, &secret)).await?;
        let present = stored
            .as_ref()
            .and_then(|s| s.object.pointer(&format!("/data/{key}")))
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty());
        out.push(if present {
            check(name, "ok", format!("Secret {secret:?} has {key:?}"), "")
        } else {
            check(
                name,
                "fail",
                format!("Secret {secret:?} with key {key:?} is missing in project {project:?}"),
                "create the Secret in the project with that key; the receiver serves nothing until then",
            )
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_thresholds() {
        let status = |kib| disk_status(kib).0;
        assert_eq!(status(None), "warn");
        assert_eq!(status(Some(0)), "fail");
        assert_eq!(status(Some(100 * 1024 - 1)), "fail");
        assert_eq!(status(Some(100 * 1024)), "warn");
        assert_eq!(status(Some(1024 * 1024 - 1)), "warn");
        assert_eq!(status(Some(1024 * 1024)), "ok");
        assert!(disk_status(Some(10)).1.starts_with("free space"));
    }

    #[test]
    fn store_fixes_name_the_cause() {
        // PostgreSQL's and SQLite's own words for a database that refuses writes.
        assert!(
            store_fix("error returned from database: cannot execute UPDATE in a read-only transaction")
                .contains("standby")
        );
        assert!(
            store_fix("error returned from database: (code: 8) attempt to write a readonly database")
                .contains("writable")
        );
        assert!(store_fix("pool timed out while waiting for an open connection").starts_with("check the database"));
    }
}
