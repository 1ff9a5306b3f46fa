//! Running an expanded promotion's steps, Kargo's rules (reference §3.2–3.4).

use std::collections::BTreeMap;
use std::time::Duration;

use convoy_api::time::Timestamp;
use convoy_api::{ALIAS_SEPARATOR, ExpressionVariable, FreightOrigin, FreightReference, PromotionStep, Warehouse};
use convoy_core::duration;
use convoy_expr::sites::{promotion_vars, step_scope};
use convoy_expr::{Evaluator, Resolver, StepOutcome};
use serde_json::{Value as Json, json};

use crate::Journal;
use crate::progress::{Phase, Progress, StepStatus};
use crate::runner::{Registry, StepContext, StepError};

/// The time, supplied so tests control it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// Who and what a promotion is about: the `ctx` variables and the promotion-level vars.
#[derive(Debug, Clone, Default)]
pub struct PromotionContext {
    pub project: String,
    pub stage: String,
    pub promotion: String,
    pub freight: String,
    pub freight_alias: String,
    pub origin: String,
    pub actor: String,
    pub work_dir: std::path::PathBuf,
    /// Stage vars then template vars.
    pub vars: Vec<ExpressionVariable>,
}

impl PromotionContext {
    fn ctx(&self, step_alias: &str) -> Json {
        json!({
            "project": self.project,
            "stage": self.stage,
            "promotion": self.promotion,
            "targetFreight": {"name": self.freight, "alias": self.freight_alias, "origin": {"name": self.origin}},
            "meta": {"promotion": {"actor": self.actor}, "step": {"alias": step_alias}},
        })
    }
}

/// Where a run stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A step is not done yet; call `run` again (after `retry_after`, if given).
    Running {
        retry_after: Option<Duration>,
        message: Option<String>,
    },
    Finished {
        phase: Phase,
    },
}

/// How long to wait before trying again after the journal could not be written.
const JOURNAL_RETRY: Duration = Duration::from_secs(1);

/// Writes the journal; when that fails, the promotion does not advance: the outcome asks the
/// caller to run again, which resumes from what the journal last recorded (so a step may run
/// twice, but none is skipped and none runs unrecorded).
async fn record(journal: &mut dyn Journal, progress: &Progress) -> Result<(), Outcome> {
    journal.record(progress).await.map_err(|e| Outcome::Running {
        retry_after: Some(JOURNAL_RETRY),
        message: Some(format!("cannot record the promotion's progress ({e}); trying again")),
    })
}

pub struct Orchestrator<'a> {
    pub registry: &'a Registry,
    /// Freight, Warehouses, ConfigMaps... for the expression functions.
    pub data: &'a dyn Resolver,
    pub clock: &'a dyn Clock,
}

impl Orchestrator<'_> {
    /// Runs from `progress.current_step`; steps already finished are never run again.
    pub async fn run(
        &self,
        context: &PromotionContext,
        steps: &[PromotionStep],
        progress: &mut Progress,
        journal: &mut dyn Journal,
    ) -> Outcome {
        for (i, step) in steps.iter().enumerate().skip(progress.current_step) {
            let alias = step.alias.clone().unwrap_or_else(|| format!("step-{}", i + 1));
            progress.current_step = i;
            let status = progress.meta_mut(&alias, step.continue_on_error).status;
            let started = progress.meta(&alias).is_some_and(|m| m.started_at.is_some());
            if status.is_finished() {
                continue;
            }
            if let Some(message) = journal.abort_requested().await {
                if let Err(outcome) = self.finish(progress, &alias, StepStatus::Aborted, Some(message), journal).await {
                    return outcome;
                }
                return Outcome::Finished { phase: Phase::Aborted };
            }
            if !started {
                match self.should_skip(context, step, &alias, progress) {
                    Ok(false) => {}
                    Ok(true) => {
                        if let Err(outcome) = self.finish(progress, &alias, StepStatus::Skipped, None, journal).await {
                            return outcome;
                        }
                        continue;
                    }
                    Err(message) => {
                        let message = format!("error checking if step {alias:?} should be skipped: {message}");
                        if let Err(outcome) =
                            self.finish(progress, &alias, StepStatus::Errored, Some(message), journal).await
                        {
                            return outcome;
                        }
                        continue;
                    }
                }
            }
            let kind = step.uses.clone().unwrap_or_default();
            let Some(runner) = self.registry.get(&kind) else {
                let message = if convoy_core::steps::KARGO_STEP_KINDS.contains(&kind.as_str()) {
                    format!("step {alias:?}: step kind {kind:?} is not supported by this version of Convoy yet")
                } else {
                    format!(
                        "step kind {kind:?} is not registered; verify the kind is correct; Convoy runs: {}",
                        self.registry.kinds().join(", ")
                    )
                };
                if let Err(outcome) = self.finish(progress, &alias, StepStatus::Errored, Some(message), journal).await {
                    return outcome;
                }
                continue;
            };
            let now = self.clock.now();
            {
                let meta = progress.meta_mut(&alias, step.continue_on_error);
                if meta.started_at.is_none() {
                    meta.started_at = Some(now.to_string());
                    meta.error_count = 0;
                }
            }
            let config = match self.step_config(context, step, &alias, progress) {
                Ok((config, shown)) => {
                    progress.meta_mut(&alias, step.continue_on_error).config = Some(shown);
                    config
                }
                Err(message) => {
                    let message = Some(format!("failed to build step context: {message}"));
                    if let Err(outcome) = self.finish(progress, &alias, StepStatus::Errored, message, journal).await {
                        return outcome;
                    }
                    continue;
                }
            };
            let step_context = StepContext {
                alias: alias.clone(),
                config,
                project: context.project.clone(),
                stage: context.stage.clone(),
                promotion: context.promotion.clone(),
                work_dir: context.work_dir.clone(),
                freight: self.data.freight_collection(),
                actor: context.actor.clone(),
                previous_output: progress.state.get(&alias).cloned(),
            };
            let timeout = timeout_of(step).or_else(|| runner.default_timeout());
            // Nothing runs that the journal does not know has started.
            if let Err(outcome) = record(journal, progress).await {
                return outcome;
            }
            journal.starting(&alias).await;
            match runner.run(&step_context).await {
                Ok(result) if result.status == StepStatus::Running => {
                    progress.meta_mut(&alias, step.continue_on_error).message = result.message.clone();
                    // A step that looks again compares with what it saw (`argocd-wait`).
                    if !result.output.is_empty() {
                        self.store_output(progress, &alias, result.output, false);
                    }
                    if let Some(message) = timed_out(progress, &alias, timeout, self.clock.now()) {
                        if let Err(outcome) =
                            self.finish(progress, &alias, StepStatus::Errored, Some(message), journal).await
                        {
                            return outcome;
                        }
                        continue;
                    }
                    if let Err(outcome) = record(journal, progress).await {
                        return outcome;
                    }
                    // Asked again no later than when the step would time out (Kargo's requeue).
                    let retry_after = match (result.retry_after, time_left(progress, &alias, timeout, self.clock.now()))
                    {
                        (Some(after), Some(left)) => Some(after.min(left)),
                        (after, left) => after.or(left),
                    };
                    return Outcome::Running { retry_after, message: result.message };
                }
                Ok(result) => {
                    self.store_output(progress, &alias, result.output, runner.propagates_task_output());
                    if let Some(check) = result.health_check {
                        progress.health_checks.push(check);
                    }
                    if let Err(outcome) = self.finish(progress, &alias, result.status, result.message, journal).await {
                        return outcome;
                    }
                }
                Err(mut error) => {
                    error.message = from_work_dir(&error.message, &context.work_dir);
                    let output = error.output.clone();
                    self.store_output(progress, &alias, output, false);
                    if let Some(outcome) = self.on_error(progress, step, &alias, error, timeout, journal).await {
                        return outcome;
                    }
                }
            }
        }
        progress.current_step = steps.len().saturating_sub(1);
        if let Err(outcome) = record(journal, progress).await {
            return outcome;
        }
        Outcome::Finished { phase: progress.final_phase() }
    }

    /// A step's error: terminal ends it; otherwise it counts against the threshold and the
    /// step runs again (returns the `Running` outcome).
    async fn on_error(
        &self,
        progress: &mut Progress,
        step: &PromotionStep,
        alias: &str,
        error: StepError,
        timeout: Option<Duration>,
        journal: &mut dyn Journal,
    ) -> Option<Outcome> {
        if error.terminal {
            let (status, message) = if error.failed {
                (StepStatus::Failed, error.message)
            } else {
                (StepStatus::Errored, format!("an unrecoverable error occurred: {}", error.message))
            };
            return self.finish(progress, alias, status, Some(message), journal).await.err();
        }
        let threshold = step.retry.as_ref().and_then(|r| r.error_threshold).filter(|t| *t > 0).unwrap_or(1);
        let count = {
            let meta = progress.meta_mut(alias, step.continue_on_error);
            meta.error_count += 1;
            meta.error_count
        };
        if count >= threshold {
            let message = format!("step {alias:?} met error threshold of {threshold}: {}", error.message);
            return self.finish(progress, alias, StepStatus::Errored, Some(message), journal).await.err();
        }
        if let Some(message) = timed_out(progress, alias, timeout, self.clock.now()) {
            return self.finish(progress, alias, StepStatus::Errored, Some(message), journal).await.err();
        }
        let message = format!("{}; step will be retried", error.message);
        progress.meta_mut(alias, step.continue_on_error).message = Some(message.clone());
        if let Err(outcome) = record(journal, progress).await {
            return Some(outcome);
        }
        Some(Outcome::Running { retry_after: None, message: Some(message) })
    }

    async fn finish(
        &self,
        progress: &mut Progress,
        alias: &str,
        status: StepStatus,
        message: Option<String>,
        journal: &mut dyn Journal,
    ) -> Result<(), Outcome> {
        let now = self.clock.now().to_string();
        let meta = progress.meta_mut(alias, false);
        meta.status = status;
        meta.message = message;
        meta.finished_at = Some(now);
        // The journal is written before the next step starts: a crash resumes after this one.
        record(journal, progress).await
    }

    fn store_output(
        &self,
        progress: &mut Progress,
        alias: &str,
        output: serde_json::Map<String, Json>,
        propagate: bool,
    ) {
        if propagate && let Some((task_alias, _)) = alias.split_once(ALIAS_SEPARATOR) {
            let merged = progress.state.entry(task_alias.to_owned()).or_insert_with(|| json!({}));
            if let Json::Object(map) = merged {
                map.extend(output.clone());
            }
        }
        progress.state.insert(alias.to_owned(), Json::Object(output));
    }

    /// `if` empty: skip after an earlier failure. `if` set: a template that must be a boolean.
    fn should_skip(
        &self,
        context: &PromotionContext,
        step: &PromotionStep,
        alias: &str,
        progress: &Progress,
    ) -> Result<bool, String> {
        let Some(condition) = step.condition.as_deref().filter(|c| !c.trim().is_empty()) else {
            return Ok(progress.has_failures());
        };
        let resolver = StepData { data: self.data, progress, alias, secrets: Default::default() };
        let evaluator = Evaluator::new(&resolver);
        let scope = self.scope(&evaluator, context, step, alias, progress)?;
        match evaluator.template(condition, &scope).map_err(|e| e.to_string())? {
            Json::Bool(run) => Ok(!run),
            other => Err(format!("expression must evaluate to a boolean, got {}", go_type(&other))),
        }
    }

    /// The step's configuration, evaluated; and the same with every Secret value read masked,
    /// to be recorded.
    fn step_config(
        &self,
        context: &PromotionContext,
        step: &PromotionStep,
        alias: &str,
        progress: &Progress,
    ) -> Result<(Json, Json), String> {
        let resolver = StepData { data: self.data, progress, alias, secrets: Default::default() };
        let evaluator = Evaluator::new(&resolver);
        let scope = self.scope(&evaluator, context, step, alias, progress)?;
        let config = match &step.config {
            Some(config) => evaluator.config(config, &scope).map_err(|e| format!("failed to get step config: {e}"))?,
            None => json!({}),
        };
        let shown = crate::masking::mask(&config, &resolver.secrets.lock().unwrap_or_else(|e| e.into_inner()));
        Ok((config, shown))
    }

    fn scope(
        &self,
        evaluator: &Evaluator<'_>,
        context: &PromotionContext,
        step: &PromotionStep,
        alias: &str,
        progress: &Progress,
    ) -> Result<convoy_expr::Scope, String> {
        let ctx = context.ctx(alias);
        let vars = promotion_vars(evaluator, &ctx, &context.vars).map_err(|e| e.to_string())?;
        let metas: serde_json::Map<String, Json> = progress
            .step_execution_metadata
            .iter()
            .map(|m| (m.alias.clone(), serde_json::to_value(m).unwrap_or(Json::Null)))
            .collect();
        step_scope(evaluator, &ctx, &vars, alias, &step.vars, &progress.state, &Json::Object(metas))
            .map_err(|e| e.to_string())
    }
}

fn timeout_of(step: &PromotionStep) -> Option<Duration> {
    step.retry
        .as_ref()
        .and_then(|r| r.timeout.as_deref())
        .and_then(|t| duration::parse(t).ok())
        .filter(|d| !d.is_zero())
}

/// Checked after the step ran (it may run once past the deadline), as Kargo does.
/// A message with the promotion's working directory written as `.`, as step configs name paths:
/// `cannot read ./chart`, not the server's own layout.
fn from_work_dir(message: &str, work_dir: &std::path::Path) -> String {
    let root = work_dir.display().to_string();
    if root.is_empty() || root == "/" {
        return message.to_owned();
    }
    message.replace(&format!("{root}/"), "./").replace(&root, ".")
}

/// How long until the step times out, plus a second (timestamps have seconds).
fn time_left(progress: &Progress, alias: &str, timeout: Option<Duration>, now: Timestamp) -> Option<Duration> {
    let timeout = timeout?;
    let started = progress.meta(alias)?.started_at.as_deref().and_then(|s| Timestamp::parse(s).ok())?;
    let elapsed = Duration::from_secs(u64::try_from(now.seconds() - started.seconds()).unwrap_or(0));
    Some(timeout.saturating_sub(elapsed) + Duration::from_secs(1))
}

fn timed_out(progress: &Progress, alias: &str, timeout: Option<Duration>, now: Timestamp) -> Option<String> {
    let timeout = timeout?;
    let started = progress.meta(alias)?.started_at.as_deref().and_then(|s| Timestamp::parse(s).ok())?;
    let elapsed = Duration::from_secs(u64::try_from(now.seconds() - started.seconds()).unwrap_or(0));
    (elapsed > timeout).then(|| format!("step {alias:?} timed out after {}", duration::format(timeout)))
}

/// Go's `%T` for a decoded JSON value.
fn go_type(value: &Json) -> &'static str {
    match value {
        Json::Null => "<nil>",
        Json::Bool(_) => "bool",
        Json::Number(_) => "float64",
        Json::String(_) => "string",
        Json::Array(_) => "[]interface {}",
        Json::Object(_) => "map[string]interface {}",
    }
}

/// The data resolver plus the outcomes of earlier steps, for `success()`, `failure()`,
/// `status()`.
struct StepData<'a> {
    data: &'a dyn Resolver,
    progress: &'a Progress,
    alias: &'a str,
    /// Every Secret value an evaluation read: masked wherever it shows in what is recorded.
    secrets: std::sync::Mutex<Vec<String>>,
}

impl StepData<'_> {
    fn note(&self, values: &BTreeMap<String, String>) {
        self.secrets.lock().unwrap_or_else(|e| e.into_inner()).extend(values.values().cloned());
    }
}

impl Resolver for StepData<'_> {
    fn project(&self) -> String {
        self.data.project()
    }
    fn requested_origins(&self) -> Vec<FreightOrigin> {
        self.data.requested_origins()
    }
    fn warehouse(&self, name: &str) -> Option<Warehouse> {
        self.data.warehouse(name)
    }
    fn freight_collection(&self) -> Vec<FreightReference> {
        self.data.freight_collection()
    }
    fn freight_metadata(&self, freight: &str) -> Option<BTreeMap<String, Json>> {
        self.data.freight_metadata(freight)
    }
    fn stage_metadata(&self, stage: &str) -> Option<BTreeMap<String, Json>> {
        self.data.stage_metadata(stage)
    }
    fn config_map(&self, name: &str) -> BTreeMap<String, String> {
        self.data.config_map(name)
    }
    fn secret(&self, name: &str) -> BTreeMap<String, String> {
        let values = self.data.secret(name);
        self.note(&values);
        values
    }
    fn shared_config_map(&self, name: &str) -> BTreeMap<String, String> {
        self.data.shared_config_map(name)
    }
    fn shared_secret(&self, name: &str) -> BTreeMap<String, String> {
        let values = self.data.shared_secret(name);
        self.note(&values);
        values
    }
    fn step_outcomes(&self) -> Vec<StepOutcome> {
        self.progress
            .step_execution_metadata
            .iter()
            .filter(|m| m.alias != self.alias)
            .map(|m| StepOutcome {
                alias: m.alias.clone(),
                status: m.status.as_str().to_owned(),
                continue_on_error: m.continue_on_error,
            })
            .collect()
    }
    fn current_step_alias(&self) -> Option<String> {
        Some(self.alias.to_owned())
    }
}
