//! Dry runs of a promotion: the admitted Promotion's steps run in a throwaway work dir with
//! the dry-run step registry (no push, no outside effect, commits reported as diffs); nothing
//! is stored.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use convoy_api::{Freight, Kind, Promotion, Stage};
use convoy_engine::{NoJournal, Orchestrator, Outcome, Progress};
use convoy_store::Store;
use serde_json::{Value, json};

use crate::promotions::{WallClock, expression_data, promotion_context};
use crate::status::load;

/// How long a dry run may wait on steps that poll.
const LIMIT: Duration = Duration::from_secs(120);

/// Runs `promotion` (already admitted, so its tasks are expanded) and reports
/// `{phase, message, steps: [{alias, uses, status, message}], diffs: [{alias, path, message, diff}]}`.
pub async fn dry_run(
    store: &dyn Store,
    mirrors: Arc<convoy_git::Mirrors>,
    data_dir: &Path,
    promotion: &Promotion,
) -> Result<Value, String> {
    let project = promotion.metadata.namespace();
    let stage = load::<Stage>(store, Kind::Stage, project, &promotion.spec.stage)
        .await?
        .ok_or_else(|| format!("Stage {:?} not found in project {project:?}", promotion.spec.stage))?;
    let freight = load::<Freight>(store, Kind::Freight, project, &promotion.spec.freight)
        .await?
        .ok_or_else(|| format!("Freight {:?} not found in project {project:?}", promotion.spec.freight))?;
    let work_root = data_dir.join("work");
    std::fs::create_dir_all(&work_root).map_err(|e| format!("cannot create {}: {e}", work_root.display()))?;
    let work_dir = tempfile::Builder::new()
        .prefix("dry-run-")
        .tempdir_in(&work_root)
        .map_err(|e| format!("cannot make a work dir under {}: {e}", work_root.display()))?;
    let registry = convoy_steps::dry_run::registry(mirrors);
    let data = expression_data(store, project, &stage, &freight).await?;
    let context = promotion_context(promotion, &freight, work_dir.path().to_owned());
    let orchestrator = Orchestrator { registry: &registry, data: &data, clock: &WallClock };
    let mut progress = Progress::default();
    let started = Instant::now();
    let phase = loop {
        match orchestrator.run(&context, &promotion.spec.steps, &mut progress, &mut NoJournal).await {
            Outcome::Finished { phase } => break phase,
            Outcome::Running { retry_after, message } if started.elapsed() < LIMIT => {
                tracing::debug!(message = message.unwrap_or_default(), "dry run waiting on a step");
                tokio::time::sleep(retry_after.unwrap_or(Duration::from_secs(1)).min(Duration::from_secs(5))).await;
            }
            Outcome::Running { .. } => {
                return Err(format!(
                    "a step was still running after {} s; dry runs do not wait longer",
                    LIMIT.as_secs()
                ));
            }
        }
    };
    if phase == convoy_engine::Phase::Succeeded {
        convoy_git::return_trees(work_dir.path());
    }
    Ok(report(promotion, phase, &progress))
}

fn report(promotion: &Promotion, phase: convoy_engine::Phase, progress: &Progress) -> Value {
    let steps: Vec<Value> = progress
        .step_execution_metadata
        .iter()
        .map(|meta| {
            let uses = promotion.spec.steps.iter().find(|s| s.alias.as_deref() == Some(&meta.alias)).map(|s| &s.uses);
            json!({"alias": meta.alias, "uses": uses, "status": meta.status.as_str(), "message": meta.message})
        })
        .collect();
    let diffs: Vec<Value> = progress
        .state
        .iter()
        .filter_map(|(alias, output)| {
            let diff = output.get("diff")?.as_str()?;
            Some(json!({"alias": alias, "path": output["path"], "message": output["message"], "diff": diff}))
        })
        .collect();
    json!({
        "promotion": promotion.metadata.name(),
        "stage": promotion.spec.stage,
        "freight": promotion.spec.freight,
        "phase": phase,
        "steps": steps,
        "diffs": diffs,
    })
}
