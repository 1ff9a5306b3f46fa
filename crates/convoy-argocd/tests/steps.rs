//! `argocd-update`, `argocd-wait` and the health checks against the Kubernetes API double, with
//! the simulated Argo CD controller reacting to what the steps write.

use std::sync::Arc;
use std::time::Duration;

use convoy_argocd::{ArgoCd, health, update::ArgoCdUpdate, wait::ArgoCdWait};
use convoy_engine::{StepContext, StepError, StepResult, StepRunner, StepStatus};
use convoy_test_support::argocd::{ArgoCdSim, Outcome, application};
use convoy_test_support::kube_api::{KubeApi, applications, events};
use serde_json::{Value, json};

const REPO: &str = "https://git.example.com/org/deploy";

fn world() -> (KubeApi, ArgoCdSim, Arc<ArgoCd>) {
    let api = KubeApi::new();
    // `stage/dev` resolves to the commit the promotion pushed.
    let sim = ArgoCdSim::start(&api, |_, target| (target == "stage/dev").then(|| "c0ffee".to_owned()));
    let argocd = Arc::new(ArgoCd::new(api.client(), "argocd"));
    (api, sim, argocd)
}

fn context(config: Value) -> StepContext {
    StepContext {
        alias: "sync".into(),
        config,
        project: "guestbook".into(),
        stage: "dev".into(),
        promotion: "dev.01jexample.c0ffee".into(),
        work_dir: std::env::temp_dir(),
        freight: Vec::new(),
        actor: String::new(),
        previous_output: None,
    }
}

/// Calls the step as the engine does: again while it says Running (carrying its output).
async fn until_done(step: &dyn StepRunner, mut context: StepContext) -> (Result<StepResult, StepError>, usize) {
    for call in 1..=200 {
        let result = step.run(&context).await;
        match &result {
            Ok(r) if r.status == StepStatus::Running => {
                if !r.output.is_empty() {
                    context.previous_output = Some(Value::Object(r.output.clone()));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            _ => return (result, call),
        }
    }
    panic!("the step never finished");
}

fn update_config() -> Value {
    json!({"apps": [{"name": "guestbook-dev", "sources": [{"repoURL": REPO, "desiredRevision": "c0ffee"}]}]})
}

#[tokio::test]
async fn argocd_update_syncs_to_the_desired_revision_and_registers_its_health_check() {
    let (api, _sim, argocd) = world();
    api.apply(&applications(), application("guestbook-dev", REPO, "stage/dev", "dev", "guestbook:dev"));
    let step = ArgoCdUpdate { argocd: Some(argocd.clone()) };
    let (result, calls) = until_done(&step, context(update_config())).await;
    let result = result.unwrap();
    assert_eq!(result.status, StepStatus::Succeeded);
    assert!(calls >= 2, "the first call only asks for the sync");
    assert_eq!(
        result.health_check,
        Some(
            json!({"uses": "argocd-update", "config": {"apps": [{"name": "guestbook-dev", "namespace": "argocd", "desiredRevisions": ["c0ffee"]}]}})
        )
    );
    let app = api.object(&applications(), "argocd", "guestbook-dev").unwrap();
    assert_eq!(app.pointer("/status/operationState/syncResult/revision"), Some(&json!("c0ffee")));
    let operation = app.pointer("/status/operationState/operation").unwrap();
    assert_eq!(operation["initiatedBy"], json!({"username": "kargo-controller", "automated": true}));
    assert_eq!(operation["info"][1], json!({"name": "kargo.akuity.io/promotion", "value": "dev.01jexample.c0ffee"}));
    // One write by Convoy, a merge patch guarded by the version it read.
    let patches: Vec<String> = api.requests().into_iter().filter(|r| r.starts_with("PATCH")).collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    let recorded = api.list(&events());
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["reason"], "OperationStarted");
    assert_eq!(recorded[0]["message"], "kargo-controller initiated sync to stage/dev");
    // The registered check, run now, finds the Stage healthy.
    let health = health::assess(Some(&argocd), &[result.health_check.unwrap()]).await;
    assert_eq!((health.state, health.issues.clone()), (health::State::Healthy, vec![]));
    assert_eq!(health.condition(), ("True", "Healthy", "Stage is healthy (performed 1 health checks)".to_owned()));
    assert_eq!(health.output[0]["applicationStatuses"][0]["Name"], "guestbook-dev");
    assert!(health.output[0]["applicationStatuses"][0].get("reconciledAt").is_none());
}

#[tokio::test]
async fn an_application_without_this_stage_in_its_annotation_is_not_touched() {
    let (api, _sim, argocd) = world();
    api.apply(&applications(), application("guestbook-dev", REPO, "stage/dev", "dev", ""));
    api.apply(&applications(), application("other", REPO, "stage/dev", "dev", "guestbook:prod, other:dev"));
    let step = ArgoCdUpdate { argocd: Some(argocd) };
    let error = step.run(&context(update_config())).await.unwrap_err();
    assert_eq!(error.message, "Argo CD Application \"guestbook-dev\" in namespace \"argocd\" is not authorized");
    let selector = json!({"apps": [{"selector": {"matchLabels": {"app.kubernetes.io/part-of": "guestbook"}}}]});
    let error = step.run(&context(selector)).await.unwrap_err();
    assert_eq!(
        error.message,
        "found 2 Application(s) matching selector in namespace \"argocd\", but none are authorized for Stage guestbook:dev"
    );
    let globbed = application("globbed", REPO, "stage/dev", "dev", "guestbook:*");
    api.apply(&applications(), globbed);
    let error = step.run(&context(json!({"apps": [{"name": "globbed"}]}))).await.unwrap_err();
    assert_eq!(error.message, "Argo CD Application \"globbed\" in namespace \"argocd\" is not authorized");
    assert!(api.requests().iter().all(|r| !r.starts_with("PATCH")), "nothing written");
}

#[tokio::test]
async fn a_failed_sync_fails_the_step_with_argo_cds_message() {
    let (api, sim, argocd) = world();
    api.apply(&applications(), application("guestbook-dev", REPO, "stage/dev", "dev", "guestbook:dev"));
    sim.set_outcome("guestbook-dev", Outcome::Fail("one or more objects failed to apply".into()));
    let step = ArgoCdUpdate { argocd: Some(argocd) };
    let config = json!({"apps": [{"name": "guestbook-dev"}]});
    let (result, _) = until_done(&step, context(config)).await;
    let error = result.unwrap_err();
    assert!(!error.terminal, "counted against the error threshold, as Kargo");
    assert_eq!(
        error.message,
        "Argo CD Application \"guestbook-dev\" in namespace \"argocd\" failed with: one or more objects failed to apply"
    );
}

#[tokio::test]
async fn missing_applications_a_forbidden_cluster_and_no_cluster_say_what_is_wrong() {
    let (api, _sim, argocd) = world();
    let step = ArgoCdUpdate { argocd: Some(argocd.clone()) };
    let error = step.run(&context(update_config())).await.unwrap_err();
    assert_eq!(error.message, "unable to find Argo CD Application \"guestbook-dev\" in namespace \"argocd\"");
    api.deny("get", "applications");
    let error = step.run(&context(update_config())).await.unwrap_err();
    assert!(
        error.message.starts_with("error finding Argo CD Application \"guestbook-dev\" in namespace \"argocd\": "),
        "{}",
        error.message
    );
    assert!(error.message.contains("forbidden"), "{}", error.message);
    let offline = ArgoCdUpdate { argocd: None };
    let error = offline.run(&context(update_config())).await.unwrap_err();
    let kargo = "Argo CD integration is disabled on this controller; cannot update Argo CD Application resources";
    assert!(error.message.starts_with(kargo), "Kargo's words first: {}", error.message);
    assert!(error.message.contains("--kubeconfig"), "then how to connect a cluster: {}", error.message);
}

#[tokio::test]
async fn bad_configs_fail_for_good_naming_the_field() {
    let step = ArgoCdUpdate { argocd: None };
    let cases = [
        (json!({"apps": []}), "invalid argocd-update config: apps: Array must have at least 1 items"),
        (
            json!({"apps": [{"name": "a", "selector": {"matchLabels": {"x": "y"}}}]}),
            "invalid argocd-update config: apps.0.name: exactly one of name and selector must be set",
        ),
        (
            json!({"apps": [{"name": "a", "sources": [{"repoURL": "r", "updateTargetRevision": true}]}]}),
            "invalid argocd-update config: apps.0.sources.0.desiredRevision: is required when updateTargetRevision is true",
        ),
    ];
    for (config, message) in cases {
        let error = step.run(&context(config)).await.unwrap_err();
        assert!(error.failed && error.terminal, "{message}");
        assert_eq!(error.message, message);
    }
    let error = step.run(&context(json!({"apps": [{"name": "a", "nmespace": "x"}]}))).await.unwrap_err();
    assert!(error.message.starts_with("invalid argocd-update config: "), "{}", error.message);
    assert!(error.message.contains("nmespace"), "{}", error.message);
}

#[tokio::test]
async fn argocd_wait_waits_for_health_and_notices_a_regression() {
    let (api, sim, argocd) = world();
    api.apply(&applications(), application("guestbook-dev", REPO, "stage/dev", "dev", ""));
    let step = ArgoCdWait { argocd: Some(argocd.clone()) };
    let config = json!({"apps": [{"name": "guestbook-dev"}]});
    // Nothing synced yet: not ready, output records what was seen.
    let first = step.run(&context(config.clone())).await.unwrap();
    assert_eq!(first.status, StepStatus::Running);
    // Argo CD syncs (someone else asked), health ends Healthy.
    api.modify(&applications(), "argocd", "guestbook-dev", |a| a["operation"] = json!({"sync": {}}));
    let (result, _) = until_done(&step, context(config.clone())).await;
    let result = result.unwrap();
    assert_eq!(result.output["healthStatus"], json!({"argocd/guestbook-dev": "Healthy"}));
    // Later it degrades: a wait that saw it healthy stops for good.
    sim.set_outcome("guestbook-dev", Outcome::Succeed { health: "Degraded".into() });
    api.modify(&applications(), "argocd", "guestbook-dev", |a| a["status"]["health"]["status"] = json!("Degraded"));
    let mut again = context(config);
    again.previous_output = Some(Value::Object(result.output));
    let error = step.run(&again).await.unwrap_err();
    assert!(error.terminal);
    assert_eq!(
        error.message,
        "Argo CD Application \"guestbook-dev\" in namespace \"argocd\" health has regressed from Healthy to Degraded"
    );
    assert_eq!(error.output["healthStatus"], json!({"argocd/guestbook-dev": "Degraded"}));
}

#[tokio::test]
async fn health_follows_the_application() {
    let (api, _sim, argocd) = world();
    api.apply(&applications(), application("guestbook-dev", REPO, "stage/dev", "dev", "guestbook:dev"));
    let step = ArgoCdUpdate { argocd: Some(argocd.clone()) };
    let (result, _) = until_done(&step, context(update_config())).await;
    let checks = vec![result.unwrap().health_check.unwrap()];
    api.modify(&applications(), "argocd", "guestbook-dev", |a| a["status"]["health"]["status"] = json!("Degraded"));
    let health = health::assess(Some(&argocd), &checks).await;
    assert_eq!(health.state, health::State::Unhealthy);
    assert_eq!(
        health.issues,
        vec!["Argo CD Application \"guestbook-dev\" in namespace \"argocd\" has health state \"Degraded\"".to_owned()]
    );
    assert_eq!(
        health.condition(),
        ("False", "Unhealthy", "Stage is unhealthy (1 issues in 1 health checks)".to_owned())
    );
    // Synced to another revision since: unhealthy, naming the source.
    api.modify(&applications(), "argocd", "guestbook-dev", |a| {
        a["status"]["health"]["status"] = json!("Healthy");
        a["status"]["sync"]["revision"] = json!("deadbeef");
    });
    let health = health::assess(Some(&argocd), &checks).await;
    assert_eq!(health.state, health::State::Unhealthy);
    assert!(health.issues[0].contains("does not match the desired revision \"c0ffee\""), "{:?}", health.issues);
    // Gone: unknown.
    let gone = health::assess(
        Some(&argocd),
        &[json!({"uses": "argocd-update", "config": {"apps": [{"name": "nope", "namespace": "argocd"}]}})],
    )
    .await;
    assert_eq!(gone.state, health::State::Unknown);
    assert_eq!(gone.condition().1, "Unknown");
    assert_eq!(gone.output[0]["applicationStatuses"][0]["health"]["status"], "Unknown");
    // Not refreshed since its last operation: not trusted, and a refresh is asked for.
    api.modify(&applications(), "argocd", "guestbook-dev", |a| {
        a["status"]["reconciledAt"] = json!("2000-01-01T00:00:00Z")
    });
    let stale = health::assess(Some(&argocd), &checks).await;
    assert_eq!(stale.state, health::State::Unknown);
    assert!(stale.issues[0].ends_with("Application health status not trusted"), "{:?}", stale.issues);
}

/// A name or namespace from a Stage's step config ends up in a request path: nothing that is not
/// a Kubernetes name gets there, so no request reaches another resource.
#[tokio::test]
async fn hostile_names_never_reach_the_api() {
    let (api, _sim, argocd) = world();
    let update = ArgoCdUpdate { argocd: Some(argocd.clone()) };
    let wait = ArgoCdWait { argocd: Some(argocd) };
    let hostile = [
        json!({"apps": [{"name": "x/../../../../api/v1/namespaces/kube-system/secrets/token"}]}),
        json!({"apps": [{"name": "..", "namespace": "argocd"}]}),
        json!({"apps": [{"name": "guestbook", "namespace": "kube-system/secrets"}]}),
        json!({"apps": [{"name": "guestbook%2F..%2Fsecrets"}]}),
        json!({"apps": [{"selector": {"matchLabels": {"a": "b"}}, "namespace": "../../api/v1"}]}),
    ];
    for config in hostile {
        let error = update.run(&context(config.clone())).await.unwrap_err();
        assert!(error.message.contains("invalid"), "{config}: {}", error.message);
        let error = wait.run(&context(config.clone())).await.unwrap_err();
        assert!(error.message.contains("invalid"), "{config}: {}", error.message);
    }
    assert_eq!(api.requests(), Vec::<String>::new(), "not one request was sent");
}

/// The next change's `namespace/name`, if one comes within 5 s.
async fn next(changes: &mut tokio::sync::mpsc::Receiver<convoy_argocd::AppChange>) -> Option<String> {
    let change = tokio::time::timeout(Duration::from_secs(5), changes.recv()).await.ok().flatten()?;
    let app = change.new.or(change.old)?;
    Some(format!("{}/{}", app["metadata"]["namespace"].as_str()?, app["metadata"]["name"].as_str()?))
}

/// The watch that wakes Promotions and Stages covers every namespace by default, or only the
/// Argo CD namespace when asked (for a service account bound by a namespaced Role).
#[tokio::test]
async fn the_watch_covers_every_namespace_or_only_argo_cds() {
    let api = KubeApi::new();
    api.apply(&applications(), application("guestbook-dev", REPO, "stage/dev", "dev", ""));
    let mut elsewhere = application("team-app", REPO, "main", ".", "");
    elsewhere["metadata"]["namespace"] = json!("team-a");
    api.apply(&applications(), elsewhere);
    let mut everywhere = ArgoCd::new(api.client(), "argocd").watch();
    let mut seen = vec![next(&mut everywhere).await.unwrap(), next(&mut everywhere).await.unwrap()];
    seen.sort();
    assert_eq!(seen, vec!["argocd/guestbook-dev", "team-a/team-app"]);

    let mut only = ArgoCd::new(api.client(), "argocd").watching_namespace_only().watch();
    assert_eq!(next(&mut only).await.as_deref(), Some("argocd/guestbook-dev"));
    api.modify(&applications(), "team-a", "team-app", |a| a["status"] = json!({"health": {"status": "Degraded"}}));
    api.modify(&applications(), "argocd", "guestbook-dev", |a| a["status"] = json!({"health": {"status": "Degraded"}}));
    assert_eq!(next(&mut only).await.as_deref(), Some("argocd/guestbook-dev"), "team-a's change is not seen");
    assert_eq!(next(&mut everywhere).await.as_deref(), Some("team-a/team-app"));
    assert!(
        api.requests().iter().any(|r| r.contains("/namespaces/argocd/applications?") && r.contains("watch=true")),
        "{:?}",
        api.requests()
    );
}
