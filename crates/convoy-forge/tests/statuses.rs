//! Commit statuses on every forge's double: each state in that forge's words, the check's name
//! where that forge keeps it, an unknown commit refused.

use convoy_forge::{CheckState, CommitStatus, Provider, Repository};
use convoy_test_support::forges::{Flavor, ForgeDouble};

const TOKEN: &str = "status-token";
const HEAD: &str = "1234567890abcdef1234567890abcdef12345678";

async fn forge(flavor: Flavor) -> (ForgeDouble, Box<dyn convoy_forge::Forge>) {
    let double = ForgeDouble::new(flavor, Some(TOKEN));
    double.serve().await;
    double.add("kargo/promotion/prod.1", HEAD, "main");
    let provider = Provider::parse(flavor.provider()).unwrap();
    let mut repository = match Repository::of(&double.repo_url(), provider) {
        Ok(repository) => repository,
        // Bitbucket Cloud's coordinates, at the double's API.
        Err(_) => Repository::of("https://bitbucket.org/acme/config", provider).unwrap(),
    };
    repository.api = double.api_url();
    (double, convoy_forge::connect(repository, Some(TOKEN.into()), reqwest::Client::new()))
}

fn status(state: CheckState) -> CommitStatus {
    CommitStatus {
        state,
        context: "convoy/prod".into(),
        description: "verification Successful".into(),
        target_url: "https://example.com/pr/1".into(),
    }
}

#[tokio::test]
async fn every_state_in_every_forge_s_words() {
    let words = [
        (Flavor::GitHub, ["pending", "success", "failure", "error"], "convoy/prod"),
        (Flavor::GitLab, ["pending", "success", "failed", "failed"], "convoy/prod"),
        (Flavor::Gitea, ["pending", "success", "failure", "error"], "convoy/prod"),
        (Flavor::Bitbucket, ["INPROGRESS", "SUCCESSFUL", "FAILED", "FAILED"], "convoy/prod"),
        (Flavor::BitbucketDataCenter, ["INPROGRESS", "SUCCESSFUL", "FAILED", "FAILED"], "convoy/prod"),
        (Flavor::Azure, ["pending", "succeeded", "failed", "error"], "convoy/prod"),
    ];
    for (flavor, expected, context) in words {
        let (double, forge) = forge(flavor).await;
        for state in [CheckState::Pending, CheckState::Success, CheckState::Failure, CheckState::Error] {
            forge.set_status(HEAD, &status(state)).await.unwrap_or_else(|e| panic!("{flavor:?}: {e}"));
        }
        let received = double.statuses();
        let states: Vec<&str> = received.iter().map(|s| s.state.as_str()).collect();
        assert_eq!(states, expected, "{flavor:?}");
        assert!(received.iter().all(|s| s.sha == HEAD && s.context == context), "{flavor:?}: {received:?}");
        let refused = forge.set_status(&"f".repeat(40), &status(CheckState::Success)).await;
        assert!(refused.is_err(), "{flavor:?}: an unknown commit is refused");
    }
}

#[tokio::test]
async fn long_descriptions_are_cut_at_140_characters() {
    let (double, forge) = forge(Flavor::GitHub).await;
    let mut long = status(CheckState::Failure);
    long.description = "é".repeat(300);
    forge.set_status(HEAD, &long).await.unwrap();
    let sent = &double.statuses()[0].description;
    assert_eq!(sent.chars().count(), 140, "{sent}");
    assert!(sent.ends_with('…'));
}
