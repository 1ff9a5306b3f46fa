//! A simulated Argo CD application controller over the [`KubeApi`] double, reacting as Argo CD
//! documents (reference `argocd.md` §5.4): a refresh annotation is consumed with a comparison
//! (`reconciledAt`, `sync`); an `operation` becomes an `operationState` that runs
//! (`Running` → `Succeeded`/`Failed`, one write each, `operation` cleared at the end), followed
//! by a refresh (`Synced`, health `Progressing`, then the configured health). Each stored write is
//! one watch event, as in a cluster.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::kube_api::{KubeApi, applications};

/// How the next syncs of an Application end.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Synced, then the health given (`Healthy`, `Degraded`, ...).
    Succeed { health: String },
    /// The operation fails with this message.
    Fail(String),
    /// The operation stays `Running` (a sync window, a hook that never ends).
    Hang,
}

type Resolver = Arc<dyn Fn(&str, &str) -> Option<String> + Send + Sync>;

#[derive(Clone)]
pub struct ArgoCdSim {
    api: KubeApi,
    outcomes: Arc<Mutex<HashMap<String, Outcome>>>,
    resolve: Resolver,
}

fn now() -> String {
    convoy_api::time::Timestamp::now().to_string()
}

impl ArgoCdSim {
    /// Starts reacting to changes of Applications; `resolve(repoURL, targetRevision)` gives the
    /// revision a source resolves to (none: the target revision as written).
    pub fn start(api: &KubeApi, resolve: impl Fn(&str, &str) -> Option<String> + Send + Sync + 'static) -> ArgoCdSim {
        let sim = ArgoCdSim { api: api.clone(), outcomes: Arc::default(), resolve: Arc::new(resolve) };
        let mut changes = api.subscribe();
        let worker = sim.clone();
        tokio::spawn(async move {
            while let Ok(change) = changes.recv().await {
                if change.resource != applications() {
                    continue;
                }
                let namespace = change.object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
                let name = change.object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                worker.reconcile(namespace, name).await;
            }
        });
        sim
    }

    /// How the syncs of `name` end from now on (default: succeed, then `Healthy`).
    pub fn set_outcome(&self, name: &str, outcome: Outcome) {
        self.outcomes.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned(), outcome);
    }

    fn outcome(&self, name: &str) -> Outcome {
        let outcomes = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        outcomes.get(name).cloned().unwrap_or(Outcome::Succeed { health: "Healthy".into() })
    }

    fn resolved(&self, app: &Value) -> Vec<String> {
        sources(app)
            .iter()
            .map(|s| {
                let repo = s["repoURL"].as_str().unwrap_or("");
                let target = s["targetRevision"].as_str().unwrap_or("HEAD");
                (self.resolve)(repo, target).unwrap_or_else(|| target.to_owned())
            })
            .collect()
    }

    async fn write(&self, namespace: &str, name: &str, edit: impl FnOnce(&mut Value)) {
        self.api.modify(&applications(), namespace, name, edit);
        // Let watchers see each write on its own, as separate writes to a cluster would be.
        tokio::task::yield_now().await;
    }

    async fn reconcile(&self, namespace: &str, name: &str) {
        let Some(app) = self.api.object(&applications(), namespace, name) else { return };
        let operation = app.get("operation").filter(|o| !o.is_null()).cloned();
        let phase = app.pointer("/status/operationState/phase").and_then(Value::as_str).unwrap_or("");
        let idle = matches!(phase, "" | "Succeeded" | "Failed" | "Error");
        if let Some(operation) = operation.filter(|_| idle) {
            return self.run_operation(namespace, name, &app, operation).await;
        }
        let refresh_asked = app.pointer("/metadata/annotations/argocd.argoproj.io~1refresh").is_some();
        if refresh_asked {
            let revisions = self.resolved(&app);
            let multi = app.pointer("/spec/sources").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            self.write(namespace, name, |a| {
                a["metadata"]["annotations"].as_object_mut().map(|m| m.remove("argocd.argoproj.io/refresh"));
                a["status"]["reconciledAt"] = json!(now());
                let synced = a["status"]["sync"]["revision"].as_str().map(str::to_owned);
                let in_sync = multi || synced.as_deref() == revisions.first().map(String::as_str);
                a["status"]["sync"]["status"] = json!(if in_sync { "Synced" } else { "OutOfSync" });
            })
            .await;
        }
    }

    async fn run_operation(&self, namespace: &str, name: &str, app: &Value, operation: Value) {
        let started = now();
        self.write(namespace, name, |a| {
            a["status"]["operationState"] = json!({"operation": operation, "phase": "Running", "startedAt": started});
        })
        .await;
        if operation.get("sync").is_none_or(Value::is_null) {
            return self
                .complete(namespace, name, "Error", "Invalid operation request: no operation specified", None)
                .await;
        }
        let revisions = self.resolved(app);
        let multi = app.pointer("/spec/sources").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
        let result = if multi {
            json!({"revisions": revisions})
        } else {
            json!({"revision": revisions.first().cloned().unwrap_or_default()})
        };
        self.write(namespace, name, |a| {
            a["status"]["operationState"]["syncResult"] = result.clone();
            a["status"]["operationState"]["message"] = json!("one or more tasks are running");
        })
        .await;
        match self.outcome(name) {
            Outcome::Hang => {}
            Outcome::Fail(message) => self.complete(namespace, name, "Failed", &message, None).await,
            Outcome::Succeed { health } => {
                self.complete(namespace, name, "Succeeded", "successfully synced (all tasks run)", Some(&revisions))
                    .await;
                self.write(namespace, name, |a| {
                    a["status"]["reconciledAt"] = json!(now());
                    a["status"]["sync"] = if multi {
                        json!({"status": "Synced", "revisions": revisions})
                    } else {
                        json!({"status": "Synced", "revision": revisions.first().cloned().unwrap_or_default()})
                    };
                    a["status"]["health"] = json!({"status": "Progressing", "lastTransitionTime": now()});
                })
                .await;
                self.write(namespace, name, |a| {
                    a["status"]["health"] = json!({"status": health, "lastTransitionTime": now()});
                })
                .await;
            }
        }
    }

    async fn complete(&self, namespace: &str, name: &str, phase: &str, message: &str, synced: Option<&[String]>) {
        self.write(namespace, name, |a| {
            let state = &mut a["status"]["operationState"];
            state["phase"] = json!(phase);
            state["message"] = json!(message);
            state["finishedAt"] = json!(now());
            if let Some(object) = a.as_object_mut() {
                object.remove("operation");
            }
            if synced.is_some() {
                a["status"]["history"] = json!([{"id": 1, "deployedAt": now()}]);
            }
        })
        .await;
    }
}

fn sources(app: &Value) -> Vec<Value> {
    match app.pointer("/spec/sources").and_then(Value::as_array) {
        Some(s) if !s.is_empty() => s.clone(),
        _ => app.pointer("/spec/source").cloned().into_iter().collect(),
    }
}

/// An Application as a cluster would hold it: one git source, authorised for `stages`
/// (`project:stage`, comma-separated; empty: no annotation).
pub fn application(name: &str, repo: &str, target_revision: &str, path: &str, stages: &str) -> Value {
    let mut app = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "labels": {"app.kubernetes.io/part-of": "guestbook"}},
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "source": {"repoURL": repo, "targetRevision": target_revision, "path": path},
        },
    });
    if !stages.is_empty() {
        app["metadata"]["annotations"] = json!({"kargo.akuity.io/authorized-stage": stages});
    }
    app
}
