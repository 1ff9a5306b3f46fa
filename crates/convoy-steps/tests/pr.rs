//! `git-wait-for-pr` and `git-merge-pr` through the engine, against the GitHub double (an
//! Enterprise-style address: the repoURL's host with `provider: github`, API under `/api/v3`).
//! Every forge's double, with a real repository behind it: `forges.rs`.

mod common;

use std::sync::Arc;

use common::Now;
use convoy_api::PromotionStep;
use convoy_engine::{NoJournal, Orchestrator, Outcome, Phase, Progress, PromotionContext};
use convoy_git::Mirrors;
use convoy_test_support::forges::{Flavor, ForgeDouble};
use serde_json::{Value, json};

const TOKEN: &str = "ghp_step";
const HEAD: &str = "1111111111111111111111111111111111111111";

async fn double() -> (ForgeDouble, String) {
    let double = ForgeDouble::new(Flavor::GitHub, Some(TOKEN));
    let base = double.serve().await;
    (double, format!("{base}/acme/config"))
}

fn step(uses: &str, config: Value) -> PromotionStep {
    PromotionStep {
        uses: Some(uses.into()),
        alias: Some("pr".into()),
        config: Some(config),
        ..PromotionStep::default()
    }
}

async fn run(steps: &[PromotionStep], progress: &mut Progress) -> Outcome {
    let mirrors = Arc::new(Mirrors::new(std::env::temp_dir().join("convoy-pr-test-mirrors")));
    let registry = convoy_steps::builtin(mirrors, Arc::new(common::Token(TOKEN)));
    let orchestrator = Orchestrator { registry: &registry, data: &convoy_expr::NoData, clock: &Now };
    let context = PromotionContext {
        project: "p".into(),
        stage: "prod".into(),
        promotion: "prod.1".into(),
        ..PromotionContext::default()
    };
    orchestrator.run(&context, steps, progress, &mut NoJournal).await
}

#[tokio::test]
async fn waiting_polls_while_open_and_ends_with_the_merge_commit() {
    let (double, url) = double().await;
    let number = double.add("kargo/promotion/prod.1", HEAD, "main");
    let wait = [step(
        "git-wait-for-pr",
        json!({"repoURL": url, "prNumber": number, "provider": "github", "pollInterval": "45s"}),
    )];
    let mut progress = Progress::default();
    match run(&wait, &mut progress).await {
        Outcome::Running { retry_after, .. } => assert_eq!(retry_after, Some(std::time::Duration::from_secs(45))),
        other => panic!("an open PR keeps the step running: {other:?}"),
    }
    assert_eq!(progress.state["pr"]["pr"]["open"], json!(true));
    assert!(progress.state["pr"].get("commit").is_none(), "no commit before the merge: {}", progress.state["pr"]);
    double.merge_by_hand(number, "3333333333333333333333333333333333333333");
    assert_eq!(run(&wait, &mut progress).await, Outcome::Finished { phase: Phase::Succeeded });
    assert_eq!(progress.state["pr"]["commit"], json!("3333333333333333333333333333333333333333"));
    assert_eq!(progress.state["pr"]["pr"]["merged"], json!(true));
}

#[tokio::test]
async fn a_pr_closed_unmerged_fails_the_promotion() {
    let (double, url) = double().await;
    let number = double.add("kargo/promotion/prod.1", HEAD, "main");
    double.close(number);
    let wait = [step("git-wait-for-pr", json!({"repoURL": url, "prNumber": number, "provider": "github"}))];
    let mut progress = Progress::default();
    assert_eq!(run(&wait, &mut progress).await, Outcome::Finished { phase: Phase::Failed });
    let message = progress.step_execution_metadata[0].message.clone().unwrap_or_default();
    assert!(message.contains(&format!("pull request {number} was closed without being merged")), "{message}");
}

#[tokio::test]
async fn a_missing_pr_and_a_rate_limit_are_told_apart() {
    let (double, url) = double().await;
    let wait = [step("git-wait-for-pr", json!({"repoURL": url, "prNumber": 7, "provider": "github"}))];
    double.rate_limit_next(429, 90, false);
    let mut progress = Progress::default();
    match run(&wait, &mut progress).await {
        Outcome::Running { retry_after: Some(after), .. } => assert!((88..=91).contains(&after.as_secs()), "{after:?}"),
        other => panic!("a rate limit is waited out by the engine: {other:?}"),
    }
    assert_eq!(run(&wait, &mut progress).await, Outcome::Finished { phase: Phase::Errored });
    let message = progress.step_execution_metadata[0].message.clone().unwrap_or_default();
    assert!(message.contains("pull request 7 not found in acme/config"), "{message}");
}

#[tokio::test]
async fn merging_with_a_method_and_waiting_when_not_ready() {
    let (double, url) = double().await;
    let number = double.add("kargo/promotion/prod.1", HEAD, "main");
    let merge = [step(
        "git-merge-pr",
        json!({"repoURL": url, "prNumber": number, "provider": "github", "mergeMethod": "squash"}),
    )];
    let mut progress = Progress::default();
    assert_eq!(run(&merge, &mut progress).await, Outcome::Finished { phase: Phase::Succeeded });
    assert!(progress.state["pr"]["commit"].as_str().is_some_and(|c| c.len() == 40), "{}", progress.state["pr"]);
    assert_eq!(double.pulls()[0].merged_with.as_deref(), Some("squash"));

    let busy = double.add("other", HEAD, "main");
    double.set_mergeable_state(busy, "unknown");
    let no_wait = [step("git-merge-pr", json!({"repoURL": url, "prNumber": busy, "provider": "github"}))];
    let mut progress = Progress::default();
    assert_eq!(run(&no_wait, &mut progress).await, Outcome::Finished { phase: Phase::Failed });
    let message = progress.step_execution_metadata[0].message.clone().unwrap_or_default();
    assert!(message.contains("is not ready to merge and wait is disabled"), "{message}");
    let wait = [step("git-merge-pr", json!({"repoURL": url, "prNumber": busy, "provider": "github", "wait": true}))];
    let mut progress = Progress::default();
    assert!(matches!(run(&wait, &mut progress).await, Outcome::Running { .. }));
}
