//! `git-open-pr`, `git-wait-for-pr` and `git-merge-pr` through the engine against each forge's
//! double (GitHub, GitLab, Gitea, Bitbucket Cloud and Data Center, Azure DevOps), each with a
//! real bare
//! repository behind it: the step fetches the branches over git's smart HTTP from the double,
//! the PR is opened through the forge's API, merges are real merges in that repository.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{Now, sh};
use convoy_api::PromotionStep;
use convoy_engine::{NoJournal, Orchestrator, Outcome, Phase, Progress, PromotionContext, Registry};
use convoy_forge::ApiOverrides;
use convoy_git::Mirrors;
use convoy_test_support::forges::{Flavor, ForgeDouble};
use serde_json::{Value, json};

const TOKEN: &str = "forge-token-1";
const SOURCE: &str = "kargo/promotion/prod.1";

struct Forge {
    flavor: Flavor,
    double: ForgeDouble,
    url: String,
    registry: Registry,
    bare: PathBuf,
    work: PathBuf,
    _dir: tempfile::TempDir,
}

/// A repository with `main` and a promotion branch that changes one file, behind a double of
/// `flavor`.
async fn forge(flavor: Flavor) -> Forge {
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("config.git");
    sh(dir.path(), &["init", "--quiet", "--bare", "--initial-branch=main", bare.to_str().unwrap()]);
    let work = dir.path().join("work");
    sh(dir.path(), &["clone", "--quiet", bare.to_str().unwrap(), work.to_str().unwrap()]);
    sh(&work, &["checkout", "--quiet", "-b", "main"]);
    std::fs::write(work.join("app.yaml"), "tag: 1\n").unwrap();
    sh(&work, &["add", "."]);
    sh(&work, &["commit", "--quiet", "-m", "start"]);
    sh(&work, &["push", "--quiet", "origin", "main"]);
    sh(&work, &["checkout", "--quiet", "-b", SOURCE]);
    std::fs::write(work.join("app.yaml"), "tag: 2\n").unwrap();
    sh(&work, &["commit", "--quiet", "-am", "Promote prod to 2\n\nFreight 9f3a, from the test"]);
    sh(&work, &["push", "--quiet", "origin", SOURCE]);
    let double = ForgeDouble::new(flavor, Some(TOKEN));
    let base = double.serve().await;
    double.backed_by(&bare);
    let url = double.repo_url();
    // Bitbucket Cloud is reached where the operator points bitbucket.org (here: the double).
    let host = base.trim_start_matches("http://");
    let overrides = if flavor == Flavor::Bitbucket {
        ApiOverrides::parse(&format!("{host}={}", double.api_url())).unwrap()
    } else {
        ApiOverrides::default()
    };
    let mirrors = Arc::new(Mirrors::new(dir.path().join("mirrors")));
    let registry = convoy_steps::builtin_with(mirrors, Arc::new(common::Token(TOKEN)), overrides);
    Forge { flavor, double, url, registry, bare, work, _dir: dir }
}

impl Forge {
    fn step(&self, uses: &str, alias: &str, mut config: Value) -> PromotionStep {
        config["repoURL"] = json!(self.url);
        config["provider"] = json!(self.flavor.provider());
        PromotionStep {
            uses: Some(uses.into()),
            alias: Some(alias.into()),
            config: Some(config),
            ..PromotionStep::default()
        }
    }

    async fn run(&self, steps: &[PromotionStep], progress: &mut Progress) -> Outcome {
        let orchestrator = Orchestrator { registry: &self.registry, data: &convoy_expr::NoData, clock: &Now };
        let context = PromotionContext {
            project: "p".into(),
            stage: "prod".into(),
            promotion: "prod.1".into(),
            work_dir: self._dir.path().join("promotion"),
            ..PromotionContext::default()
        };
        orchestrator.run(&context, steps, progress, &mut NoJournal).await
    }

    fn open(&self) -> PromotionStep {
        self.step("git-open-pr", "open", json!({"sourceBranch": SOURCE, "targetBranch": "main", "labels": ["kargo"]}))
    }

    fn head(&self, branch: &str) -> String {
        sh(&self.bare, &["rev-parse", &format!("refs/heads/{branch}")])
    }
}

fn message(progress: &Progress) -> String {
    progress.step_execution_metadata.last().and_then(|m| m.message.clone()).unwrap_or_default()
}

/// Open, open again (adopted, not duplicated), wait while open, merge for real, wait → the
/// merge commit.
async fn open_adopt_wait_merge(flavor: Flavor) {
    let forge = forge(flavor).await;
    let mut progress = Progress::default();
    assert_eq!(forge.run(&[forge.open()], &mut progress).await, Outcome::Finished { phase: Phase::Succeeded });
    let id = progress.state["open"]["pr"]["id"].as_i64().expect("pr.id");
    let url = progress.state["open"]["pr"]["url"].as_str().expect("pr.url").to_owned();
    let pulls = forge.double.pulls();
    assert_eq!(pulls.len(), 1);
    assert_eq!((pulls[0].title.as_str(), pulls[0].body.as_str()), ("Promote prod to 2", "Freight 9f3a, from the test"));
    assert_eq!(pulls[0].head_sha, forge.head(SOURCE));
    // Bitbucket has no labels on pull requests.
    if !matches!(flavor, Flavor::Bitbucket | Flavor::BitbucketDataCenter) {
        assert_eq!(pulls[0].labels, ["kargo"], "labels sent the forge's way");
    }
    assert!(url.ends_with(&id.to_string()), "{url}");

    // A retry or a restart that lost the output: the open PR is adopted.
    let mut again = Progress::default();
    assert_eq!(forge.run(&[forge.open()], &mut again).await, Outcome::Finished { phase: Phase::Succeeded });
    assert_eq!(again.state["open"]["pr"], progress.state["open"]["pr"]);
    assert_eq!(forge.double.pulls().len(), 1, "{:?}", forge.double.requests());

    let wait = forge.step("git-wait-for-pr", "wait", json!({"prNumber": id, "pollInterval": "5s"}));
    let mut waiting = Progress::default();
    match forge.run(std::slice::from_ref(&wait), &mut waiting).await {
        Outcome::Running { retry_after, .. } => assert_eq!(retry_after, Some(std::time::Duration::from_secs(5))),
        other => panic!("an open PR keeps the step running: {other:?}"),
    }
    assert_eq!(waiting.state["wait"]["pr"]["url"], json!(url));

    let merge = forge.step("git-merge-pr", "merge", json!({"prNumber": id}));
    let mut merging = Progress::default();
    assert_eq!(
        forge.run(&[merge], &mut merging).await,
        Outcome::Finished { phase: Phase::Succeeded },
        "{}",
        message(&merging)
    );
    let main = forge.head("main");
    assert_eq!(merging.state["merge"]["commit"], json!(main), "the merge commit the forge made");
    assert_eq!(sh(&forge.bare, &["show", "main:app.yaml"]), "tag: 2");

    assert_eq!(forge.run(&[wait], &mut waiting).await, Outcome::Finished { phase: Phase::Succeeded });
    assert_eq!(waiting.state["wait"]["commit"], json!(main));
    assert_eq!(waiting.state["wait"]["pr"]["merged"], json!(true));
}

/// 403 on opening, 404 on waiting, a rate limit waited out, a PR closed unmerged, a merge
/// method the forge does not know.
async fn refusals(flavor: Flavor) {
    let forge = forge(flavor).await;
    forge.double.forbid_writes();
    let mut progress = Progress::default();
    assert_eq!(forge.run(&[forge.open()], &mut progress).await, Outcome::Finished { phase: Phase::Errored });
    assert!(
        message(&progress).contains("error creating pull request") && message(&progress).contains("forbids"),
        "{}",
        message(&progress)
    );

    let wait = |n: i64| forge.step("git-wait-for-pr", "wait", json!({"prNumber": n}));
    let mut progress = Progress::default();
    assert_eq!(forge.run(&[wait(41)], &mut progress).await, Outcome::Finished { phase: Phase::Errored });
    assert!(message(&progress).contains("41 not found"), "{}", message(&progress));

    let number = forge.double.add("other", &forge.head(SOURCE), "main");
    forge.double.rate_limit_next(429, 120, false);
    let mut progress = Progress::default();
    match forge.run(&[wait(number)], &mut progress).await {
        // Bitbucket says nothing of when: a minute.
        Outcome::Running { retry_after: Some(after), .. } => {
            assert!((58..=121).contains(&after.as_secs()), "{after:?}")
        }
        other => panic!("a rate limit is waited out by the engine: {other:?}"),
    }
    forge.double.close(number);
    assert_eq!(forge.run(&[wait(number)], &mut progress).await, Outcome::Finished { phase: Phase::Failed });
    assert!(message(&progress).contains("was closed without being merged"), "{}", message(&progress));

    let other = forge.double.add("another", &forge.head(SOURCE), "main");
    let merge = forge.step("git-merge-pr", "merge", json!({"prNumber": other, "mergeMethod": "octopus"}));
    let mut progress = Progress::default();
    let outcome = forge.run(&[merge], &mut progress).await;
    if flavor == Flavor::GitHub {
        // GitHub validates the method itself (a 422 from the double's merge is not modelled:
        // it answers the method as a merge).
        let _ = outcome;
    } else {
        assert_eq!(outcome, Outcome::Finished { phase: Phase::Failed });
        assert!(message(&progress).contains("octopus"), "{}", message(&progress));
    }
}

/// A merge asked while the forge still computes mergeability (Bitbucket: while a draft) waits
/// (with `wait`), then merges.
async fn merge_waits_until_ready(flavor: Flavor) {
    let forge = forge(flavor).await;
    let mut progress = Progress::default();
    assert_eq!(forge.run(&[forge.open()], &mut progress).await, Outcome::Finished { phase: Phase::Succeeded });
    let id = progress.state["open"]["pr"]["id"].as_i64().unwrap();
    // Bitbucket Cloud has no mergeability to ask about; a draft is its only "not yet".
    let not_yet = if flavor == Flavor::Bitbucket { "draft" } else { "unknown" };
    forge.double.set_mergeable_state(id, not_yet);
    let merge = forge.step("git-merge-pr", "merge", json!({"prNumber": id, "wait": true, "pollInterval": "2s"}));
    let mut merging = Progress::default();
    match forge.run(std::slice::from_ref(&merge), &mut merging).await {
        Outcome::Running { retry_after, .. } => assert_eq!(retry_after, Some(std::time::Duration::from_secs(2))),
        other => panic!("not mergeable yet: {other:?} {}", message(&merging)),
    }
    forge.double.set_mergeable_state(id, "clean");
    assert_eq!(
        forge.run(&[merge], &mut merging).await,
        Outcome::Finished { phase: Phase::Succeeded },
        "{}",
        message(&merging)
    );
    assert_eq!(merging.state["merge"]["commit"], json!(forge.head("main")));
}

/// Each merge method the forge takes: sent as the forge's word, the target branch ends where
/// that method puts it (a merge commit with two parents, a squash with one, a fast-forward at
/// the source head).
async fn every_merge_method(flavor: Flavor) {
    let methods: &[(&str, &str)] = match flavor {
        Flavor::GitHub => &[("merge", "merge"), ("squash", "squash"), ("rebase", "ff")],
        Flavor::GitLab => &[("merge", "merge"), ("squash", "squash")],
        Flavor::Gitea => &[
            ("merge", "merge"),
            ("squash", "squash"),
            ("rebase", "ff"),
            ("rebase-merge", "merge"),
            ("fast-forward-only", "ff"),
        ],
        Flavor::Bitbucket => &[
            ("merge_commit", "merge"),
            ("squash", "squash"),
            ("fast_forward", "ff"),
            ("squash_fast_forward", "squash"),
            ("rebase_fast_forward", "ff"),
            ("rebase_merge", "merge"),
        ],
        Flavor::BitbucketDataCenter => &[
            ("no-ff", "merge"),
            ("ff", "ff"),
            ("ff-only", "ff"),
            ("rebase-no-ff", "merge"),
            ("rebase-ff-only", "ff"),
            ("squash", "squash"),
            ("squash-ff-only", "squash"),
        ],
        Flavor::Azure => {
            &[("noFastForward", "merge"), ("squash", "squash"), ("rebase", "ff"), ("rebaseMerge", "merge")]
        }
    };
    for (method, shape) in methods {
        let forge = forge(flavor).await;
        let mut progress = Progress::default();
        assert_eq!(forge.run(&[forge.open()], &mut progress).await, Outcome::Finished { phase: Phase::Succeeded });
        let id = progress.state["open"]["pr"]["id"].as_i64().unwrap();
        let source = forge.head(SOURCE);
        let merge = forge.step("git-merge-pr", "merge", json!({"prNumber": id, "mergeMethod": method}));
        let mut merging = Progress::default();
        assert_eq!(
            forge.run(&[merge], &mut merging).await,
            Outcome::Finished { phase: Phase::Succeeded },
            "{method}: {}",
            message(&merging)
        );
        let main = forge.head("main");
        assert_eq!(merging.state["merge"]["commit"], json!(main), "{method}");
        let parents = sh(&forge.bare, &["rev-list", "--parents", "-n", "1", &main]).split_whitespace().count() - 1;
        match *shape {
            "merge" => assert_eq!(parents, 2, "{method}: a merge commit"),
            "squash" => assert!(parents == 1 && main != source, "{method}: one new commit"),
            _ => assert_eq!(main, source, "{method}: fast-forward"),
        }
        assert_eq!(sh(&forge.bare, &["show", "main:app.yaml"]), "tag: 2", "{method}");
        if flavor != Flavor::GitLab {
            assert_eq!(forge.double.pulls()[0].merged_with.as_deref(), Some(*method), "sent as the forge's word");
        }
    }
}

/// The forge created the PR but the answer was lost: the retry adopts it.
async fn a_lost_answer_is_not_a_second_pr(flavor: Flavor) {
    let forge = forge(flavor).await;
    forge.double.lose_next_create();
    let mut progress = Progress::default();
    let first = forge.run(&[forge.open()], &mut progress).await;
    assert_ne!(first, Outcome::Finished { phase: Phase::Succeeded });
    assert!(message(&progress).contains("502"), "{}", message(&progress));
    let mut again = Progress::default();
    assert_eq!(forge.run(&[forge.open()], &mut again).await, Outcome::Finished { phase: Phase::Succeeded });
    assert_eq!(forge.double.pulls().len(), 1, "{:?}", forge.double.requests());
    assert_eq!(again.state["open"]["pr"]["id"], json!(forge.double.pulls()[0].number));
}

macro_rules! every_forge {
    ($($name:ident: $flavor:expr;)*) => {$(
        mod $name {
            use super::*;

            #[tokio::test]
            async fn open_adopt_wait_and_merge() {
                open_adopt_wait_merge($flavor).await;
            }

            #[tokio::test]
            async fn refusals_are_told_apart() {
                refusals($flavor).await;
            }

            #[tokio::test]
            async fn a_merge_waits_until_the_forge_says_mergeable() {
                merge_waits_until_ready($flavor).await;
            }

            #[tokio::test]
            async fn merges_with_each_method() {
                every_merge_method($flavor).await;
            }

            #[tokio::test]
            async fn a_lost_create_answer_is_adopted_on_retry() {
                a_lost_answer_is_not_a_second_pr($flavor).await;
            }
        }
    )*};
}

every_forge! {
    github: Flavor::GitHub;
    gitlab: Flavor::GitLab;
    gitea: Flavor::Gitea;
    bitbucket: Flavor::Bitbucket;
    bitbucket_data_center: Flavor::BitbucketDataCenter;
    azure: Flavor::Azure;
}

#[tokio::test]
async fn no_changes_between_the_branches_opens_nothing() {
    let forge = forge(Flavor::GitHub).await;
    sh(&forge.work, &["checkout", "--quiet", "-b", "same", "main"]);
    sh(&forge.work, &["commit", "--quiet", "--allow-empty", "-m", "empty"]);
    sh(&forge.work, &["push", "--quiet", "origin", "same"]);
    let open = forge.step("git-open-pr", "open", json!({"sourceBranch": "same", "targetBranch": "main"}));
    let mut progress = Progress::default();
    assert_eq!(forge.run(&[open], &mut progress).await, Outcome::Finished { phase: Phase::Succeeded });
    assert_eq!(
        progress.step_execution_metadata[0].status,
        convoy_engine::StepStatus::Skipped,
        "{:?}",
        progress.step_execution_metadata
    );
    assert!(forge.double.pulls().is_empty());
}

#[tokio::test]
async fn a_missing_target_branch_and_hostile_branch_names_are_refused_before_the_forge() {
    let forge = forge(Flavor::Gitea).await;
    let open = forge.step("git-open-pr", "open", json!({"sourceBranch": SOURCE, "targetBranch": "release"}));
    let mut progress = Progress::default();
    assert_eq!(forge.run(&[open], &mut progress).await, Outcome::Finished { phase: Phase::Errored });
    assert!(message(&progress).contains("target branch \"release\" does not exist"), "{}", message(&progress));
    for hostile in ["--upload-pack=touch /tmp/x", "main..HEAD", "../../etc"] {
        let open = forge.step("git-open-pr", "open", json!({"sourceBranch": hostile, "targetBranch": "main"}));
        let mut progress = Progress::default();
        assert_eq!(forge.run(&[open], &mut progress).await, Outcome::Finished { phase: Phase::Errored }, "{hostile}");
        assert!(message(&progress).contains("invalid git-open-pr config: sourceBranch"), "{}", message(&progress));
    }
    assert!(forge.double.requests().is_empty(), "the forge was never asked: {:?}", forge.double.requests());
}

#[tokio::test]
async fn an_open_pr_on_a_later_page_is_adopted() {
    let forge = forge(Flavor::GitLab).await;
    for i in 0..4 {
        forge.double.add(&format!("other-{i}"), &format!("{i:040}"), "main");
    }
    forge.double.page_size(1);
    let mut progress = Progress::default();
    assert_eq!(forge.run(&[forge.open()], &mut progress).await, Outcome::Finished { phase: Phase::Succeeded });
    let id = progress.state["open"]["pr"]["id"].as_i64().unwrap();
    let mut again = Progress::default();
    assert_eq!(forge.run(&[forge.open()], &mut again).await, Outcome::Finished { phase: Phase::Succeeded });
    assert_eq!(again.state["open"]["pr"]["id"], json!(id));
    assert_eq!(forge.double.pulls().len(), 5, "adopted, not opened twice");
}

#[tokio::test]
async fn gitea_labels_that_do_not_exist_are_named() {
    let forge = forge(Flavor::Gitea).await;
    let open = forge.step(
        "git-open-pr",
        "open",
        json!({"sourceBranch": SOURCE, "targetBranch": "main", "labels": ["kargo", "no-such-label"]}),
    );
    let mut progress = Progress::default();
    assert_eq!(forge.run(&[open], &mut progress).await, Outcome::Finished { phase: Phase::Errored });
    assert!(
        message(&progress).contains("labels not found in repository acme/config: no-such-label"),
        "{}",
        message(&progress)
    );
    assert!(forge.double.pulls().is_empty());
}

/// A promotion's work tree of `main` (objects from the bare repository, `origin` the forge's
/// URL) with one commit (by the fixtures' author, `t <t@e>`).
fn promotion_tree(forge: &Forge) -> PathBuf {
    let out = forge._dir.path().join("promotion/out");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    sh(
        forge._dir.path(),
        &["clone", "--quiet", "--branch", "main", forge.bare.to_str().unwrap(), out.to_str().unwrap()],
    );
    sh(&out, &["remote", "set-url", "origin", &forge.url]);
    std::fs::write(out.join("app.yaml"), "tag: 3\n").unwrap();
    sh(
        &out,
        &["-c", "user.name=Ana", "-c", "user.email=ana@example.com", "commit", "--quiet", "-am", "Promote prod to 3"],
    );
    out
}

#[tokio::test]
async fn github_push_has_github_make_verified_commits_on_a_new_branch() {
    let forge = forge(Flavor::GitHub).await;
    let out = promotion_tree(&forge);
    let local_tree = sh(&out, &["rev-parse", "HEAD^{tree}"]);
    let push = forge.step("github-push", "push", json!({"path": "./out", "generateTargetBranch": true}));
    let push = PromotionStep {
        config: push.config.map(|mut c| {
            c.as_object_mut().unwrap().retain(|k, _| k != "repoURL" && k != "provider");
            c
        }),
        ..push
    };
    let mut progress = Progress::default();
    assert_eq!(
        forge.run(&[push], &mut progress).await,
        Outcome::Finished { phase: Phase::Succeeded },
        "{}",
        message(&progress)
    );
    let branch = "kargo/promotion/prod.1";
    let head = forge.head(branch);
    assert_eq!(progress.state["push"]["branch"], json!(branch));
    assert_eq!(progress.state["push"]["commit"], json!(head));
    assert_eq!(forge.double.api_commits(), vec![(head.clone(), true)], "made by GitHub, verified");
    assert_eq!(sh(&forge.bare, &["rev-parse", &format!("{head}^{{tree}}")]), local_tree, "the same files");
    assert_eq!(sh(&forge.bare, &["rev-parse", &format!("{head}^")]), forge.head("main"), "on top of main");
    let message = sh(&forge.bare, &["log", "-1", "--format=%an|%B", &head]);
    assert!(message.starts_with("convoy-promoter[bot]|Promote prod to 3"), "{message}");
    assert!(message.contains("Co-authored-by: t <t@e>"), "{message}");
    assert_eq!(sh(&forge.bare, &["for-each-ref", "refs/kargo"]), "", "the staging ref is gone");
    assert_eq!(sh(&out, &["rev-parse", "HEAD"]), head, "the work tree follows the remote");
}

#[tokio::test]
async fn github_push_integrates_a_push_made_meanwhile() {
    let forge = forge(Flavor::GitHub).await;
    promotion_tree(&forge);
    // Someone else lands a change on main after the promotion cloned it.
    sh(&forge.work, &["checkout", "--quiet", "main"]);
    std::fs::write(forge.work.join("other.yaml"), "x: 1\n").unwrap();
    sh(&forge.work, &["add", "."]);
    sh(&forge.work, &["commit", "--quiet", "-m", "meanwhile"]);
    sh(&forge.work, &["push", "--quiet", "origin", "main"]);
    let meanwhile = forge.head("main");
    let push = PromotionStep {
        uses: Some("github-push".into()),
        alias: Some("push".into()),
        config: Some(json!({"path": "./out", "targetBranch": "main"})),
        ..PromotionStep::default()
    };
    let mut progress = Progress::default();
    assert_eq!(
        forge.run(&[push], &mut progress).await,
        Outcome::Finished { phase: Phase::Succeeded },
        "{}",
        message(&progress)
    );
    let head = forge.head("main");
    assert_eq!(sh(&forge.bare, &["rev-parse", &format!("{head}^")]), meanwhile, "rebased onto the other change");
    assert_eq!(sh(&forge.bare, &["show", "main:app.yaml"]), "tag: 3");
    assert_eq!(sh(&forge.bare, &["show", "main:other.yaml"]), "x: 1");
    let compares = forge.double.requests().iter().filter(|r| r.starts_with("GET compare/")).count();
    assert_eq!(compares, 2, "diverged once, then ahead: {:?}", forge.double.requests());
}

#[tokio::test]
async fn github_push_without_a_token_fails_saying_so() {
    let forge = forge(Flavor::GitHub).await;
    let out = promotion_tree(&forge);
    let registry = convoy_steps::builtin_with(
        Arc::new(Mirrors::new(forge._dir.path().join("m2"))),
        Arc::new(convoy_engine::NoResources),
        ApiOverrides::default(),
    );
    let push = PromotionStep {
        uses: Some("github-push".into()),
        alias: Some("push".into()),
        config: Some(json!({"path": "./out"})),
        ..PromotionStep::default()
    };
    let orchestrator = Orchestrator { registry: &registry, data: &convoy_expr::NoData, clock: &Now };
    let context = PromotionContext {
        promotion: "prod.1".into(),
        work_dir: out.parent().unwrap().to_owned(),
        ..PromotionContext::default()
    };
    let mut progress = Progress::default();
    assert_eq!(
        orchestrator.run(&context, &[push], &mut progress, &mut NoJournal).await,
        Outcome::Finished { phase: Phase::Failed }
    );
    assert!(message(&progress).contains("no credentials found for"), "{}", message(&progress));
    assert!(forge.double.requests().is_empty());
}
