//! The GitHub forge against the GitHub double (written from GitHub's REST documentation):
//! open, find existing, wait merged/closed/open, merge with each method, 401/403/404 and rate
//! limits.

use convoy_forge::{Forge, ForgeError, GitHub, Merge, NewPullRequest, Provider, Repository};
use convoy_test_support::forges::{Flavor, ForgeDouble};

const TOKEN: &str = "ghp_test";
const HEAD: &str = "1111111111111111111111111111111111111111";
const MAIN: &str = "2222222222222222222222222222222222222222";

async fn forge(token: Option<&str>) -> (ForgeDouble, GitHub) {
    let double = ForgeDouble::new(Flavor::GitHub, Some(TOKEN));
    let api = double.serve().await;
    double.set_branch("kargo/promotion/prod.1", HEAD);
    double.set_branch("main", MAIN);
    let mut repository = Repository::of("https://github.example.com/acme/config.git", Provider::GitHub).unwrap();
    repository.api = api;
    (double, GitHub::new(repository, token.map(str::to_owned), reqwest::Client::new()))
}

fn request() -> NewPullRequest {
    NewPullRequest {
        source_branch: "kargo/promotion/prod.1".into(),
        target_branch: "main".into(),
        title: "Promote to prod".into(),
        description: "Freight abc".into(),
        labels: vec!["kargo".into()],
    }
}

#[tokio::test]
async fn open_then_find_it_instead_of_opening_another() {
    let (double, github) = forge(Some(TOKEN)).await;
    assert_eq!(github.find_open("kargo/promotion/prod.1", "main", HEAD).await.unwrap(), None);
    let opened = github.create(&request()).await.unwrap();
    assert!(opened.open && !opened.merged && opened.head_sha == HEAD, "{opened:?}");
    assert!(opened.url.ends_with("/acme/config/pull/1"), "{}", opened.url);
    assert_eq!(opened.merge_commit, None, "an open PR's test-merge SHA is not its merge commit");
    assert_eq!(double.pulls()[0].labels, ["kargo"], "labels applied in a second call");
    let found = github.find_open("kargo/promotion/prod.1", "main", HEAD).await.unwrap();
    assert_eq!(found.map(|p| p.number), Some(1));
    // The head filter is sent as owner:branch (a bare branch would be ignored by GitHub).
    assert!(
        double.requests().iter().any(|r| r.contains("Some(\"acme:kargo/promotion/prod.1\")")),
        "{:?}",
        double.requests()
    );
    // Another head commit, or another target: not the same PR.
    assert_eq!(github.find_open("kargo/promotion/prod.1", "main", MAIN).await.unwrap(), None);
    assert_eq!(github.find_open("kargo/promotion/prod.1", "release", HEAD).await.unwrap(), None);
    // Opening again is GitHub's 422, said as such.
    let again = github.create(&request()).await.unwrap_err();
    assert!(
        matches!(&again, ForgeError::Refused(m) if m.contains("A pull request already exists for acme:kargo/promotion/prod.1")),
        "{again}"
    );
}

#[tokio::test]
async fn finding_reads_every_page() {
    let (double, github) = forge(Some(TOKEN)).await;
    double.page_size(2);
    for i in 0..5 {
        double.add("kargo/promotion/prod.1", &format!("{i:040}"), "main");
    }
    double.add("kargo/promotion/prod.1", HEAD, "main");
    let found = github.find_open("kargo/promotion/prod.1", "main", HEAD).await.unwrap();
    assert_eq!(found.map(|p| p.number), Some(6), "the match is on the third page");
    let pages = double.requests().iter().filter(|r| r.starts_with("GET /repos/acme/config/pulls?")).count();
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn waiting_sees_open_merged_and_closed() {
    let (double, github) = forge(Some(TOKEN)).await;
    let opened = github.create(&request()).await.unwrap();
    let pr = github.get(opened.number).await.unwrap();
    assert!(pr.open && !pr.merged);
    double.merge_by_hand(opened.number, "3333333333333333333333333333333333333333");
    let pr = github.get(opened.number).await.unwrap();
    assert!(!pr.open && pr.merged);
    assert_eq!(pr.merge_commit.as_deref(), Some("3333333333333333333333333333333333333333"));
    let other = double.add("feature", HEAD, "main");
    double.close(other);
    let closed = github.get(other).await.unwrap();
    assert!(!closed.open && !closed.merged && closed.merge_commit.is_none());
    let missing = github.get(99).await.unwrap_err();
    assert!(
        matches!(&missing, ForgeError::NotFound(m) if m.contains("pull request 99 not found in acme/config")),
        "{missing}"
    );
}

#[tokio::test]
async fn merging_with_each_method_and_the_refusals() {
    let (double, github) = forge(Some(TOKEN)).await;
    for method in ["merge", "squash", "rebase"] {
        let number = double.add(&format!("b-{method}"), HEAD, "main");
        match github.merge(number, Some(method)).await.unwrap() {
            Merge::Merged(pr) => assert!(pr.merged && pr.merge_commit.is_some(), "{pr:?}"),
            other => panic!("{method}: {other:?}"),
        }
        let kept = double.pulls().into_iter().find(|p| p.number == number).unwrap();
        assert_eq!(kept.merged_with.as_deref(), Some(method));
        // Merging a merged PR again is the same answer (a step asked twice).
        assert!(matches!(github.merge(number, Some(method)).await.unwrap(), Merge::Merged(_)));
    }
    let unknown = double.add("computing", HEAD, "main");
    double.set_mergeable_state(unknown, "unknown");
    assert!(
        matches!(github.merge(unknown, None).await.unwrap(), Merge::NotReady(_)),
        "not ready while GitHub computes"
    );
    let dirty = double.add("conflicting", HEAD, "main");
    double.set_mergeable_state(dirty, "dirty");
    let error = github.merge(dirty, None).await.unwrap_err();
    assert!(error.to_string().contains("has conflicts and cannot be merged"), "{error}");
    double.disallow_method("squash");
    let squash = double.add("squash-me", HEAD, "main");
    let error = github.merge(squash, Some("squash")).await.unwrap_err();
    assert!(error.to_string().contains("Squash merges are not allowed on this repository"), "{error}");
    let closed = double.add("closed", HEAD, "main");
    double.close(closed);
    let error = github.merge(closed, None).await.unwrap_err();
    assert!(error.to_string().contains("is closed but not merged"), "{error}");
}

#[tokio::test]
async fn credentials_and_permissions_are_named() {
    let (_double, anonymous) = forge(None).await;
    let error = anonymous.get(1).await.unwrap_err();
    assert!(matches!(&error, ForgeError::Forbidden(m) if m.contains("refused the token for acme/config")), "{error}");
    let (double, github) = forge(Some(TOKEN)).await;
    double.forbid_writes();
    let error = github.create(&request()).await.unwrap_err();
    assert!(
        matches!(&error, ForgeError::Forbidden(m) if m.contains("Resource not accessible by integration")),
        "{error}"
    );
    assert!(error.to_string().contains("needs read and write access to pull requests"), "{error}");
}

#[tokio::test]
async fn rate_limits_say_when_to_come_back() {
    let (double, github) = forge(Some(TOKEN)).await;
    // Primary limit: 429 (or 403) with remaining 0 and the reset time.
    double.rate_limit_next(429, 120, false);
    match github.get(1).await.unwrap_err() {
        ForgeError::RateLimited { retry_after_secs, .. } => {
            assert!((118..=121).contains(&retry_after_secs), "{retry_after_secs}")
        }
        other => panic!("{other}"),
    }
    double.rate_limit_next(403, 300, false);
    assert!(matches!(github.get(1).await.unwrap_err(), ForgeError::RateLimited { retry_after_secs: 298..=301, .. }));
    // Secondary limit: retry-after.
    double.rate_limit_next(403, 42, true);
    assert!(matches!(github.get(1).await.unwrap_err(), ForgeError::RateLimited { retry_after_secs: 42, .. }));
    // And the next call goes through: nothing was retried behind the caller's back.
    let requests = double.requests().len();
    assert!(github.get(1).await.is_err(), "no PR 1 yet: 404");
    assert_eq!(double.requests().len(), requests + 1);
}
