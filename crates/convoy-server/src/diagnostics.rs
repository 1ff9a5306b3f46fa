//! `GET /v1/diagnostics`: the server-side checks of `convoy doctor`, each with its fix.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use convoy_api::{Kind, ProjectConfig, Stage, Subscription, Warehouse};
use convoy_store::{Key, LabelSelector};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Action, Identity, authorize};
use crate::error::ApiError;

fn check(name: String, status: &str, message: impl Into<String>, fix: &str) -> Value {
    json!({"name": name, "status": status, "message": message.into(), "fix": fix})
}

pub async fn diagnostics(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
) -> Result<Json<Value>, ApiError> {
    if !authorize(&identity, Action::Write, "") {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "Forbidden",
            "diagnostics are for administrators",
        ));
    }
    let mut checks = Vec::new();
    checks.push(match state.store.ping().await {
        Ok(()) => check("store".into(), "ok", "the store answers and takes writes", ""),
        Err(e) => check(
            "store".into(),
            "fail",
            e.to_string(),
            "check the database (the data dir's convoy.db, or --database-url)",
        ),
    });
    if let Some(dir) = &state.data_dir {
        checks.push(disk(dir).await);
    }
    let everything = LabelSelector::everything();
    let (warehouses, _) = state.store.list(Kind::Warehouse, None, &everything).await?;
    for stored in warehouses {
        let Ok(warehouse) = serde_json::from_value::<Warehouse>(stored.object) else { continue };
        checks.extend(sources(&state, &warehouse).await);
    }
    let (stages, _) = state.store.list(Kind::Stage, None, &everything).await?;
    for stored in stages {
        let Ok(stage) = serde_json::from_value::<Stage>(stored.object) else { continue };
        checks.extend(tasks(&state, &stage).await?);
        checks.extend(remotes(&state, &stage).await?);
    }
    let (configs, _) = state.store.list(Kind::ProjectConfig, None, &everything).await?;
    for stored in configs {
        let Ok(config) = serde_json::from_value::<ProjectConfig>(stored.object) else { continue };
        checks.extend(receivers(&state, &config).await?);
    }
    Ok(Json(json!({"checks": checks})))
}

/// Free space where work trees and mirrors go.
async fn disk(dir: &std::path::Path) -> Value {
    let name = "disk".to_owned();
    let out = tokio::process::Command::new("df").arg("-Pk").arg(dir).output().await;
    let free_kib = out.ok().and_then(|o| {
        String::from_utf8_lossy(&o.stdout).lines().nth(1).and_then(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
    });
    match free_kib {
        None => {
            check(name, "warn", format!("cannot tell the free space of {}", dir.display()), "install coreutils' df")
        }
        Some(k) if k < 100 * 1024 => check(
            name,
            "fail",
            format!("{} MiB free in {}", k / 1024, dir.display()),
            "free space: clones and work trees need room",
        ),
        Some(k) if k < 1024 * 1024 => check(
            name,
            "warn",
            format!("{} MiB free in {}", k / 1024, dir.display()),
            "free space: large repositories need more than 1 GiB",
        ),
        Some(k) => check(name, "ok", format!("{} GiB free in {}", k / (1024 * 1024), dir.display()), ""),
    }
}

/// Each subscription's source answers with the project's credentials.
async fn sources(state: &AppState, warehouse: &Warehouse) -> Vec<Value> {
    let project = warehouse.metadata.namespace();
    let mut out = Vec::new();
    for subscription in &warehouse.spec.subscriptions {
        let Subscription::Git(git) = subscription else { continue };
        let name =
            format!("warehouse {project}/{} source {}", warehouse.metadata.name(), convoy_git::redact(&git.repo_url));
        let credentials =
            crate::controllers::resources::credentials_of_kind(&*state.store, project, "git", &git.repo_url)
                .await
                .ok()
                .flatten()
                .map(|c| convoy_git::Credentials { username: c.username, password: c.password });
        out.push(match convoy_git::ls_remote(&git.repo_url, credentials.as_ref()).await {
            Ok(_) => check(name, "ok", "reachable", ""),
            Err(e) => check(
                name,
                "fail",
                e.to_string(),
                "check the repoURL, and that a Secret labelled kargo.akuity.io/cred-type: git matches it (convoy create credentials)",
            ),
        });
    }
    out
}

/// Every PromotionTask a Stage's template references exists.
async fn tasks(state: &AppState, stage: &Stage) -> Result<Vec<Value>, ApiError> {
    let project = stage.metadata.namespace();
    let mut out = Vec::new();
    let steps = stage.spec.promotion_template.as_ref().map(|t| t.spec.steps.clone()).unwrap_or_default();
    for step in steps {
        let Some(task) = &step.task else { continue };
        let cluster = task.kind.as_deref() == Some("ClusterPromotionTask");
        let key = if cluster {
            Key::new(Kind::ClusterPromotionTask, "", &task.name)
        } else {
            Key::new(Kind::PromotionTask, project, &task.name)
        };
        let name = format!("stage {project}/{} task {}", stage.metadata.name(), task.name);
        out.push(if state.store.get(&key).await?.is_some() {
            check(name, "ok", "present", "")
        } else {
            check(
                name,
                "fail",
                format!("{} {:?} not found", if cluster { "ClusterPromotionTask" } else { "PromotionTask" }, task.name),
                "apply the task, or change the Stage's template",
            )
        });
    }
    Ok(out)
}

/// Every repository a Stage's steps clone accepts pushes with the project's credentials.
async fn remotes(state: &AppState, stage: &Stage) -> Result<Vec<Value>, ApiError> {
    let project = stage.metadata.namespace();
    let Some(template) = &stage.spec.promotion_template else { return Ok(Vec::new()) };
    let projects = std::iter::once(project.to_owned()).collect();
    let view = crate::writes::load_view(&*state.store, &projects).await?;
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
        let credentials = crate::controllers::resources::credentials_of_kind(&*state.store, project, "git", &url)
            .await
            .ok()
            .flatten()
            .map(|c| convoy_git::Credentials { username: c.username, password: c.password });
        let scratch = tempfile::tempdir()
            .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "Internal", e.to_string()))?;
        out.push(match convoy_git::probe_push(&url, credentials.as_ref(), scratch.path()).await {
            Ok(()) => check(name, "ok", "pushes are accepted (dry run)", ""),
            Err(e) => check(
                name,
                "fail",
                e.to_string(),
                "give the credentials Secret for this repository write access, and check the URL",
            ),
        });
    }
    Ok(out)
}

/// Every webhook receiver has its Secret, with the key its provider reads.
async fn receivers(state: &AppState, config: &ProjectConfig) -> Result<Vec<Value>, ApiError> {
    let project = config.metadata.name();
    let mut out = Vec::new();
    for receiver in &config.spec.webhook_receivers {
        let name = format!("receiver {project}/{}", receiver.name);
        let Some(kind) = receiver.providers().first().copied() else { continue };
        let secret = [
            &receiver.github,
            &receiver.gitlab,
            &receiver.gitea,
            &receiver.dockerhub,
            &receiver.quay,
            &receiver.harbor,
        ]
        .into_iter()
        .flatten()
        .map(|r| r.secret_ref.name.clone())
        .next()
        .or_else(|| receiver.generic.as_ref().map(|g| g.secret_ref.name.clone()));
        let Some(secret) = secret else {
            out.push(check(
                name,
                "warn",
                format!("{kind} receivers are not served by this version of Convoy"),
                "use github, gitlab, gitea, dockerhub, quay, harbor or generic",
            ));
            continue;
        };
        let key = match kind {
            "gitlab" => "secret-token",
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
                format!("Secret {secret:?} with key {key:?} is missing"),
                "create the Secret in the project with that key; the receiver serves nothing until then",
            )
        });
    }
    Ok(out)
}
