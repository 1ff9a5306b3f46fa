//! The orchestrator's rules (reference §3.2–3.5), one test each, with fake step runners.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use convoy_api::{ExpressionVariable, PromotionStep};
use convoy_engine::{
    NoJournal, Orchestrator, Outcome, Phase, Progress, PromotionContext, Registry, StepContext, StepError, StepResult,
    StepRunner, StepStatus,
};
use convoy_expr::NoData;
use convoy_test_support::clock::ManualClock;
use serde_json::{Map, Value, json};

/// A runner whose behaviour is a function of how often it has been called.
struct Fake {
    kind: &'static str,
    calls: AtomicUsize,
    configs: Mutex<Vec<Value>>,
    behave: fn(usize, &StepContext) -> Result<StepResult, StepError>,
    propagates: bool,
}

#[async_trait]
impl StepRunner for Fake {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn propagates_task_output(&self) -> bool {
        self.propagates
    }
    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.configs.lock().unwrap().push(context.config.clone());
        (self.behave)(n, context)
    }
}

fn fake(kind: &'static str, behave: fn(usize, &StepContext) -> Result<StepResult, StepError>) -> Arc<Fake> {
    Arc::new(Fake { kind, calls: AtomicUsize::new(0), configs: Mutex::new(Vec::new()), behave, propagates: false })
}

fn ok_with_config(_: usize, c: &StepContext) -> Result<StepResult, StepError> {
    let mut output = Map::new();
    output.insert("config".into(), c.config.clone());
    Ok(StepResult::succeeded(output))
}

struct World {
    registry: Registry,
    ok: Arc<Fake>,
    clock: ManualClock,
}

fn world() -> World {
    let ok = fake("ok", ok_with_config);
    let mut registry = Registry::default();
    registry.register(ok.clone());
    registry.register(fake("boom", |_, _| Err(StepError::terminal("disk on fire"))));
    registry.register(fake("fail", |_, _| Err(StepError::failed("failed: told to"))));
    registry.register(fake("flaky", |n, _| {
        if n < 3 {
            Err(StepError::retryable(format!("attempt {n} failed")))
        } else {
            Ok(StepResult::succeeded(Map::new()))
        }
    }));
    registry.register(fake("poll", |n, _| {
        if n < 3 {
            Ok(StepResult::running("waiting", Duration::from_secs(30)))
        } else {
            Ok(StepResult::succeeded(Map::new()))
        }
    }));
    registry.register(fake("never", |_, _| Ok(StepResult::running("still waiting", Duration::from_secs(10)))));
    registry.register(Arc::new(Fake {
        kind: "compose-output",
        calls: AtomicUsize::new(0),
        configs: Mutex::new(Vec::new()),
        behave: ok_with_config,
        propagates: true,
    }));
    World { registry, ok, clock: ManualClock::default() }
}

fn step(alias: &str, uses: &str) -> PromotionStep {
    PromotionStep { uses: Some(uses.into()), alias: Some(alias.into()), ..PromotionStep::default() }
}

fn with_if(mut s: PromotionStep, condition: &str) -> PromotionStep {
    s.condition = Some(condition.into());
    s
}

fn with_config(mut s: PromotionStep, config: Value) -> PromotionStep {
    s.config = Some(config);
    s
}

fn context() -> PromotionContext {
    PromotionContext {
        project: "p".into(),
        stage: "dev".into(),
        promotion: "dev.01hx.abc1234".into(),
        freight: "abc1234".into(),
        vars: vec![ExpressionVariable { name: "env".into(), value: Some("env/${{ ctx.stage }}".into()) }],
        ..PromotionContext::default()
    }
}

async fn run(world: &World, steps: &[PromotionStep], progress: &mut Progress) -> Outcome {
    let orchestrator = Orchestrator { registry: &world.registry, data: &NoData, clock: &world.clock };
    orchestrator.run(&context(), steps, progress, &mut NoJournal).await
}

fn statuses(progress: &Progress) -> Vec<(String, StepStatus)> {
    progress.step_execution_metadata.iter().map(|m| (m.alias.clone(), m.status)).collect()
}

fn pairs(items: &[(&str, StepStatus)]) -> Vec<(String, StepStatus)> {
    items.iter().map(|(a, s)| ((*a).to_owned(), *s)).collect()
}

use StepStatus::*;

#[tokio::test]
async fn steps_run_in_order_and_the_promotion_succeeds() {
    let w = world();
    let mut p = Progress::default();
    let outcome = run(&w, &[step("a", "ok"), step("b", "ok")], &mut p).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded });
    assert_eq!(statuses(&p), pairs(&[("a", Succeeded), ("b", Succeeded)]));
    assert_eq!(p.current_step, 1, "currentStep is the last index");
    assert!(p.step_execution_metadata.iter().all(|m| m.started_at.is_some() && m.finished_at.is_some()));
}

#[tokio::test]
async fn a_failure_skips_later_default_steps_but_not_always_and_failure() {
    let w = world();
    let mut p = Progress::default();
    let steps = [
        step("a", "fail"),
        step("b", "ok"),
        with_if(step("c", "ok"), "${{ always() }}"),
        with_if(step("d", "ok"), "${{ failure() }}"),
        with_if(step("e", "ok"), "${{ success() }}"),
    ];
    let outcome = run(&w, &steps, &mut p).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Failed });
    assert_eq!(
        statuses(&p),
        pairs(&[("a", Failed), ("b", Skipped), ("c", Succeeded), ("d", Succeeded), ("e", Skipped)])
    );
    assert_eq!(p.meta("a").unwrap().message.as_deref(), Some("failed: told to"));
}

#[tokio::test]
async fn continue_on_error_neither_skips_nor_fails() {
    let w = world();
    let mut p = Progress::default();
    let mut tolerated = step("a", "boom");
    tolerated.continue_on_error = true;
    let steps = [tolerated, step("b", "ok"), with_if(step("c", "ok"), "${{ success() }}")];
    assert_eq!(run(&w, &steps, &mut p).await, Outcome::Finished { phase: Phase::Succeeded });
    assert_eq!(statuses(&p), pairs(&[("a", Errored), ("b", Succeeded), ("c", Succeeded)]));
    assert!(p.meta("a").unwrap().continue_on_error);
}

#[tokio::test]
async fn if_false_skips_and_non_boolean_if_errors() {
    let w = world();
    let mut p = Progress::default();
    let steps = [
        with_if(step("a", "ok"), "${{ ctx.stage == 'prod' }}"),
        with_if(step("b", "ok"), "${{ ctx.stage }}"),
        step("c", "ok"),
    ];
    assert_eq!(run(&w, &steps, &mut p).await, Outcome::Finished { phase: Phase::Errored });
    assert_eq!(statuses(&p), pairs(&[("a", Skipped), ("b", Errored), ("c", Skipped)]));
    assert_eq!(
        p.meta("b").unwrap().message.as_deref(),
        Some("error checking if step \"b\" should be skipped: expression must evaluate to a boolean, got string")
    );
}

#[tokio::test]
async fn unknown_kinds_error_and_the_run_goes_on() {
    let w = world();
    let mut p = Progress::default();
    let steps = [step("a", "git-clon"), with_if(step("b", "ok"), "${{ always() }}")];
    assert_eq!(run(&w, &steps, &mut p).await, Outcome::Finished { phase: Phase::Errored });
    assert!(p.meta("a").unwrap().message.as_deref().unwrap().starts_with("step kind \"git-clon\" is not registered"));
    assert_eq!(p.meta("b").unwrap().status, Succeeded);
}

#[tokio::test]
async fn known_kinds_not_built_yet_say_so() {
    let w = world();
    let mut p = Progress::default();
    run(&w, &[step("render", "helm-template")], &mut p).await;
    assert_eq!(
        p.meta("render").unwrap().message.as_deref(),
        Some("step \"render\": step kind \"helm-template\" is not supported by this version of Convoy yet")
    );
}

struct AbortAfterFirst(usize);

#[async_trait]
impl convoy_engine::Journal for AbortAfterFirst {
    async fn record(&mut self, _: &Progress) -> Result<(), convoy_engine::JournalError> {
        Ok(())
    }
    async fn abort_requested(&mut self) -> Option<String> {
        self.0 += 1;
        (self.0 > 1).then(|| "Promotion terminated per user request".to_owned())
    }
}

#[tokio::test]
async fn abort_stops_before_the_next_step() {
    let w = world();
    let mut p = Progress::default();
    let orchestrator = Orchestrator { registry: &w.registry, data: &NoData, clock: &w.clock };
    let outcome =
        orchestrator.run(&context(), &[step("a", "ok"), step("b", "ok")], &mut p, &mut AbortAfterFirst(0)).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Aborted });
    assert_eq!(statuses(&p), pairs(&[("a", Succeeded), ("b", Aborted)]));
    assert_eq!(p.meta("b").unwrap().message.as_deref(), Some("Promotion terminated per user request"));
}

#[tokio::test]
async fn terminal_errors_are_unrecoverable() {
    let w = world();
    let mut p = Progress::default();
    assert_eq!(run(&w, &[step("a", "boom")], &mut p).await, Outcome::Finished { phase: Phase::Errored });
    assert_eq!(p.meta("a").unwrap().message.as_deref(), Some("an unrecoverable error occurred: disk on fire"));
}

#[tokio::test]
async fn retryable_errors_count_against_the_threshold() {
    let w = world();
    // default threshold 1: the first error ends the step
    let mut p = Progress::default();
    assert_eq!(run(&w, &[step("a", "flaky")], &mut p).await, Outcome::Finished { phase: Phase::Errored });
    assert_eq!(p.meta("a").unwrap().message.as_deref(), Some("step \"a\" met error threshold of 1: attempt 1 failed"));
    // threshold 3: two errors are retried, the third call succeeds
    let w = world();
    let mut retried = step("a", "flaky");
    retried.retry = Some(convoy_api::PromotionStepRetry { timeout: None, error_threshold: Some(3) });
    let mut p = Progress::default();
    let first = run(&w, std::slice::from_ref(&retried), &mut p).await;
    assert_eq!(
        first,
        Outcome::Running { retry_after: None, message: Some("attempt 1 failed; step will be retried".into()) }
    );
    assert_eq!((p.current_step, p.meta("a").unwrap().error_count), (0, 1));
    assert!(matches!(run(&w, std::slice::from_ref(&retried), &mut p).await, Outcome::Running { .. }));
    assert_eq!(run(&w, &[retried], &mut p).await, Outcome::Finished { phase: Phase::Succeeded });
}

#[tokio::test]
async fn running_steps_are_polled_and_time_out() {
    let w = world();
    let mut p = Progress::default();
    let steps = [step("a", "poll"), step("b", "ok")];
    let outcome = run(&w, &steps, &mut p).await;
    assert_eq!(
        outcome,
        Outcome::Running { retry_after: Some(Duration::from_secs(30)), message: Some("waiting".into()) }
    );
    assert_eq!(p.meta("a").unwrap().status, Running);
    assert!(p.meta("b").is_none(), "later steps wait");
    run(&w, &steps, &mut p).await;
    assert_eq!(run(&w, &steps, &mut p).await, Outcome::Finished { phase: Phase::Succeeded });

    let w = world();
    let mut bounded = step("a", "never");
    bounded.retry = Some(convoy_api::PromotionStepRetry { timeout: Some("5m".into()), error_threshold: None });
    let mut p = Progress::default();
    assert!(matches!(run(&w, std::slice::from_ref(&bounded), &mut p).await, Outcome::Running { .. }));
    w.clock.advance(std::time::Duration::from_secs(301));
    assert_eq!(run(&w, &[bounded], &mut p).await, Outcome::Finished { phase: Phase::Errored });
    assert_eq!(p.meta("a").unwrap().message.as_deref(), Some("step \"a\" timed out after 5m0s"));
}

#[tokio::test]
async fn finished_steps_are_not_run_again_on_resume() {
    let w = world();
    let mut p = Progress::default();
    let steps = [step("a", "ok"), step("b", "poll")];
    assert!(matches!(run(&w, &steps, &mut p).await, Outcome::Running { .. }));
    assert_eq!(w.ok.calls.load(Ordering::SeqCst), 1);
    // Resume from a persisted copy, as after a restart.
    let mut restored: Progress = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
    restored.current_step = 0;
    run(&w, &steps, &mut restored).await;
    run(&w, &steps, &mut restored).await;
    assert_eq!(w.ok.calls.load(Ordering::SeqCst), 1, "step a ran once in all");
    assert_eq!(restored.final_phase(), Phase::Succeeded);
}

#[tokio::test]
async fn configs_are_templated_with_vars_outputs_and_task_outputs() {
    let w = world();
    let mut p = Progress::default();
    let mut with_vars = with_config(
        step("task-1::b", "ok"),
        json!({
            "path": "${{ vars.env }}/${{ vars.local }}",
            "previous": "${{ outputs['task-1::a'].config.value }}",
            "sibling": "${{ task.outputs.a.config.value }}",
        }),
    );
    with_vars.vars = vec![ExpressionVariable {
        name: "local".into(),
        value: Some("${{ outputs['task-1::a'].config.value }}-x".into()),
    }];
    let steps = [
        with_config(step("task-1::a", "ok"), json!({"value": "${{ ctx.promotion }}"})),
        with_vars,
        with_config(step("task-1::result", "compose-output"), json!({"answer": 42})),
        with_config(step("after", "ok"), json!({"fromTask": "${{ outputs['task-1'].config.answer }}"})),
    ];
    assert_eq!(run(&w, &steps, &mut p).await, Outcome::Finished { phase: Phase::Succeeded });
    assert_eq!(
        p.state["task-1::b"]["config"],
        json!({"path": "env/dev/dev.01hx.abc1234-x", "previous": "dev.01hx.abc1234", "sibling": "dev.01hx.abc1234"})
    );
    assert_eq!(p.state["task-1"]["config"], json!({"answer": 42}), "compose-output propagates to the task alias");
    assert_eq!(p.state["after"]["config"], json!({"fromTask": 42}));
}

#[tokio::test]
async fn bad_config_errors_the_step() {
    let w = world();
    let mut p = Progress::default();
    let steps = [with_config(step("a", "ok"), json!({"x": "${{ 1 + }}"}))];
    assert_eq!(run(&w, &steps, &mut p).await, Outcome::Finished { phase: Phase::Errored });
    let message = p.meta("a").unwrap().message.clone().unwrap();
    assert!(
        message.starts_with("failed to build step context: failed to get step config: x: syntax error"),
        "{message}"
    );
}

#[tokio::test]
async fn status_reads_the_same_task_namespace() {
    let w = world();
    let mut p = Progress::default();
    let mut tolerated = step("task-1::check", "boom");
    tolerated.continue_on_error = true;
    let steps = [
        step("check", "ok"),
        tolerated,
        with_config(
            with_if(step("task-1::report", "ok"), "${{ always() }}"),
            json!({"seen": "${{ status('check') }}"}),
        ),
    ];
    run(&w, &steps, &mut p).await;
    assert_eq!(p.state["task-1::report"]["config"]["seen"], json!("Errored"), "status() resolves within task-1");
}

#[test]
fn final_phase_is_the_worst_counted_status() {
    let meta = |alias: &str, status: StepStatus, coe: bool| convoy_engine::StepMeta {
        alias: alias.into(),
        status,
        continue_on_error: coe,
        ..Default::default()
    };
    let phase = |metas: Vec<convoy_engine::StepMeta>| {
        Progress { step_execution_metadata: metas, ..Progress::default() }.final_phase()
    };
    assert_eq!(phase(vec![meta("a", Succeeded, false), meta("b", Skipped, false)]), Phase::Succeeded);
    assert_eq!(phase(vec![meta("a", Aborted, false), meta("b", Succeeded, false)]), Phase::Aborted);
    assert_eq!(phase(vec![meta("a", Failed, false), meta("b", Aborted, false)]), Phase::Failed);
    assert_eq!(phase(vec![meta("a", Failed, false), meta("b", Errored, false)]), Phase::Errored);
    assert_eq!(phase(vec![meta("a", Errored, true), meta("b", Succeeded, false)]), Phase::Succeeded);
}

/// A journal whose store is down from the `fails_from`-th write on, and back after `heals_at`.
struct FlakyJournal {
    writes: usize,
    fails_from: usize,
    heals_at: usize,
    /// The statuses of the steps each successful write recorded.
    recorded: Vec<Vec<(String, StepStatus)>>,
}

#[async_trait]
impl convoy_engine::Journal for FlakyJournal {
    async fn record(&mut self, progress: &Progress) -> Result<(), convoy_engine::JournalError> {
        self.writes += 1;
        if (self.fails_from..self.heals_at).contains(&self.writes) {
            return Err(convoy_engine::JournalError("database is locked".into()));
        }
        self.recorded.push(statuses(progress));
        Ok(())
    }
}

/// A journal write that fails stops the promotion from advancing: no later step runs until the
/// journal has recorded the one before it, and the run resumes once writes work again.
#[tokio::test]
async fn a_failed_journal_write_stops_the_promotion_from_advancing() {
    let w = world();
    let orchestrator = Orchestrator { registry: &w.registry, data: &NoData, clock: &w.clock };
    let steps = [step("a", "ok"), step("b", "ok")];
    // Writes: 1 = a starts, 2 = a finished (fails), ...
    let mut journal = FlakyJournal { writes: 0, fails_from: 2, heals_at: 3, recorded: Vec::new() };
    let mut p = Progress::default();
    let outcome = orchestrator.run(&context(), &steps, &mut p, &mut journal).await;
    let Outcome::Running { retry_after, message } = outcome else { panic!("{outcome:?}") };
    assert_eq!(retry_after, Some(Duration::from_secs(1)));
    assert!(message.unwrap().contains("database is locked"));
    assert_eq!(w.ok.calls.load(Ordering::SeqCst), 1, "b did not start while a's end was unrecorded");
    // The caller runs again from what it holds; the journal works again.
    let outcome = orchestrator.run(&context(), &steps, &mut p, &mut journal).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded });
    assert_eq!(w.ok.calls.load(Ordering::SeqCst), 2, "a was not repeated, b ran once");
    assert_eq!(journal.recorded.last().unwrap(), &pairs(&[("a", Succeeded), ("b", Succeeded)]));
}

/// A project with one Secret.
struct WithSecret;

impl convoy_expr::Resolver for WithSecret {
    fn secret(&self, name: &str) -> std::collections::BTreeMap<String, String> {
        match name {
            "creds" => [("password".to_owned(), "s3cr3t-value".to_owned())].into(),
            _ => Default::default(),
        }
    }
}

#[tokio::test]
async fn the_evaluated_config_is_recorded_with_secret_values_masked() {
    let w = world();
    let mut p = Progress::default();
    let mut using_secret = with_config(
        step("push", "ok"),
        json!({
            "path": "${{ vars.env }}",
            "url": "https://bot:${{ secret('creds').password }}@git.example.com/r.git",
            "header": "${{ vars.auth }}",
        }),
    );
    // Through a var and a string function, it is still the Secret's text.
    using_secret.vars =
        vec![ExpressionVariable { name: "auth".into(), value: Some("Bearer ${{ secret('creds').password }}".into()) }];
    let orchestrator = Orchestrator { registry: &w.registry, data: &WithSecret, clock: &w.clock };
    let outcome = orchestrator.run(&context(), &[using_secret], &mut p, &mut NoJournal).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded });
    // The step itself was given the real value.
    assert_eq!(p.state["push"]["config"]["url"], json!("https://bot:s3cr3t-value@git.example.com/r.git"));
    let recorded = p.step_execution_metadata[0].config.clone().expect("the evaluated config is recorded");
    assert_eq!(
        recorded,
        json!({"path": "env/dev", "url": "https://bot:*****@git.example.com/r.git", "header": "Bearer *****"})
    );
}
