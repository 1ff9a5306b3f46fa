//! Verification results as commit statuses on the pull requests a promotion opened (beyond
//! Kargo): when a Stage's verification starts, and when it ends, every PR its last Promotion
//! opened with `git-open-pr` gets a `convoy/<stage>` status on its head commit, so reviewers see
//! in the forge whether the change they merged verified. Failures to post are logged and
//! recorded as events; they never change the verification.

use std::sync::Arc;
use std::time::Duration;

use convoy_api::{Kind, Stage};
use convoy_core::analysis::Phase;
use convoy_engine::Resources;
use convoy_forge::{ApiOverrides, CheckState, CommitStatus, Provider};
use convoy_store::{Key, Store};
use serde_json::Value;

/// A PR a promotion opened: where, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpenedPr {
    pub repo_url: String,
    pub provider: Option<String>,
    pub insecure: bool,
    pub number: i64,
    pub url: String,
}

/// The PRs `git-open-pr` steps of a stored Promotion opened (read from the config the engine
/// recorded, evaluated, and the steps' outputs).
pub(crate) fn opened_prs(promotion: &Value) -> Vec<OpenedPr> {
    let steps = promotion.pointer("/spec/steps").and_then(Value::as_array).cloned().unwrap_or_default();
    let metadata =
        promotion.pointer("/status/stepExecutionMetadata").and_then(Value::as_array).cloned().unwrap_or_default();
    let state = promotion.pointer("/status/state").cloned().unwrap_or(Value::Null);
    steps
        .iter()
        .enumerate()
        .filter(|(_, step)| step["uses"] == "git-open-pr")
        .filter_map(|(i, step)| {
            let alias = step["as"].as_str().map_or_else(|| format!("step-{}", i + 1), str::to_owned);
            let recorded = metadata.iter().find(|m| m["alias"] == alias.as_str())?;
            let config = &recorded["config"];
            let output = &state[alias.as_str()]["pr"];
            Some(OpenedPr {
                repo_url: config["repoURL"].as_str()?.to_owned(),
                provider: config["provider"].as_str().map(str::to_owned),
                insecure: config["insecureSkipTLSVerify"] == true,
                number: output["id"].as_i64()?,
                url: output["url"].as_str().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

fn state_of(phase: Phase) -> CheckState {
    match phase {
        Phase::Running => CheckState::Pending,
        Phase::Successful => CheckState::Success,
        Phase::Failed => CheckState::Failure,
        Phase::Error | Phase::Inconclusive => CheckState::Error,
    }
}

/// Posts `phase` (with `message`) on the head of every PR the Stage's last Promotion opened.
pub(crate) async fn post(store: &Arc<dyn Store>, stage: &Stage, phase: Phase, message: &str) {
    let project = stage.metadata.namespace();
    // The Stage as stored now: the snapshot verification started from may predate the record
    // of its last Promotion.
    let current = crate::status::load::<Stage>(&**store, Kind::Stage, project, stage.metadata.name()).await;
    let Ok(Some(current)) = current else { return };
    let Some(last) = current.status.as_ref().and_then(|s| s.last_promotion.as_ref()) else {
        tracing::debug!(stage = %stage.metadata.name(), "no last Promotion: no PR to post a status on");
        return;
    };
    let Ok(Some(promotion)) = store.get(&Key::new(Kind::Promotion, project, &last.name)).await else { return };
    let prs = opened_prs(&promotion.object);
    if prs.is_empty() {
        return;
    }
    let overrides = ApiOverrides::from_env().unwrap_or_default();
    let resources = crate::resources::StoreResources { store: store.clone() };
    let description = match (phase, message.is_empty()) {
        (Phase::Running, _) => format!("verifying the promotion to {}", stage.metadata.name()),
        (_, true) => format!("verification {}", phase.as_str()),
        (_, false) => format!("verification {}: {message}", phase.as_str()),
    };
    for pr in prs {
        let status = CommitStatus {
            state: state_of(phase),
            context: format!("convoy/{}", stage.metadata.name()),
            description: description.clone(),
            target_url: pr.url.clone(),
        };
        if let Err(e) = post_one(&resources, &overrides, project, &pr, &status).await {
            tracing::warn!(stage = %stage.metadata.name(), pr = %pr.url, error = %e, "cannot post the verification status");
            let about = crate::events::Involved { kind: "Stage", project, name: stage.metadata.name() };
            let text = format!("the verification status was not posted on {}: {e}", pr.url);
            crate::events::record(&**store, about, "CommitStatusNotPosted", &text, true).await;
        }
    }
}

async fn post_one(
    resources: &dyn Resources,
    overrides: &ApiOverrides,
    project: &str,
    pr: &OpenedPr,
    status: &CommitStatus,
) -> Result<(), String> {
    let provider = Provider::for_url(&pr.repo_url, pr.provider.as_deref())?;
    let repository = overrides.repository(&pr.repo_url, provider)?;
    let token = resources
        .git_credentials(project, &pr.repo_url)
        .await
        .map_err(|e| e.to_string())?
        .map(|c| c.password)
        .filter(|p| !p.is_empty());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .danger_accept_invalid_certs(pr.insecure)
        .build()
        .map_err(|e| e.to_string())?;
    let forge = convoy_forge::connect(repository, token, http);
    let head = forge.get(pr.number).await.map_err(|e| e.to_string())?.head_sha;
    forge.set_status(&head, status).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_prs_a_promotion_opened_are_read_from_its_record() {
        let promotion = json!({
            "spec": {"steps": [
                {"uses": "git-push", "as": "push"},
                {"uses": "git-open-pr", "as": "open", "config": {"repoURL": "${{ vars.repo }}"}},
                {"uses": "git-open-pr"},
                {"uses": "git-wait-for-pr", "as": "wait"},
            ]},
            "status": {
                "stepExecutionMetadata": [
                    {"alias": "push", "config": {}},
                    {"alias": "open", "config": {"repoURL": "https://github.com/o/r", "provider": "github"}},
                    {"alias": "step-3", "config": {"repoURL": "https://gitlab.com/g/p"}},
                ],
                "state": {
                    "open": {"pr": {"id": 7, "url": "https://github.com/o/r/pull/7"}},
                    "step-3": {},
                },
            },
        });
        let prs = super::opened_prs(&promotion);
        assert_eq!(prs.len(), 1, "a skipped open (no pr.id) posts nothing: {prs:?}");
        assert_eq!(
            (prs[0].repo_url.as_str(), prs[0].provider.as_deref(), prs[0].number),
            ("https://github.com/o/r", Some("github"), 7),
            "the evaluated config, not the template"
        );
    }
}
