//! Prometheus metrics, derived from the store's changes (so every write path counts, the API's
//! and the controllers' alike): Kargo v1.12's promotion metrics under a `convoy_` prefix, and
//! lead time per Stage (Freight discovered → verified there). Rendered in Prometheus' text
//! format by [`Metrics::render`]; gauges are sampled from the in-memory view at scrape.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use convoy_api::Kind;
use convoy_api::time::Timestamp;
use convoy_store::{CachedStore, Change, EventType, Key, WatchEvent};
use convoy_telemetry::{Buckets as Histogram, escape as label};
use serde_json::Value;

/// Seconds: a promotion or step takes from well under a second to hours.
const DURATION_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0];
/// Seconds: Freight reaches a Stage within minutes (dev) to weeks (prod).
const LEAD_TIME_BUCKETS: &[f64] = &[60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0, 259200.0, 604800.0, 2419200.0];

#[derive(Default)]
struct State {
    created: BTreeMap<String, u64>,
    errored: BTreeMap<String, u64>,
    promotion_duration: BTreeMap<(String, String), Histogram>,
    step_duration: BTreeMap<(String, String, String), Histogram>,
    lead_time: BTreeMap<(String, String), Histogram>,
    /// Finished Promotions by (project, Stage, phase): deployment frequency per Stage.
    promotions_by_stage: BTreeMap<(String, String, String), u64>,
    /// Finished verifications by (project, Stage, phase): with the above, change failure rate.
    verifications: BTreeMap<(String, String, String), u64>,
    /// Verification records already counted (Stage, record id).
    verifications_seen: HashSet<(Key, String)>,
    /// Since when a Stage has been failing (its last Promotion or verification failed), until
    /// a verification succeeds there: time to restore.
    failing_since: BTreeMap<(String, String), Timestamp>,
    time_to_restore: BTreeMap<(String, String), Histogram>,
    /// Promotions already counted as finished, and (Freight, Stage) pairs already counted as
    /// verified: a later write to them is not a new event.
    finished: HashSet<Key>,
    verified: HashSet<(Key, String)>,
}

pub struct Metrics {
    cache: Arc<CachedStore>,
    state: Mutex<State>,
}

fn text_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn seconds_between(from: &str, to: &str) -> Option<f64> {
    let (from, to) = (Timestamp::parse(from).ok()?, Timestamp::parse(to).ok()?);
    Some((to.seconds() - from.seconds()).max(0) as f64)
}

fn is_terminal(phase: &str) -> bool {
    matches!(phase, "Succeeded" | "Failed" | "Errored" | "Aborted")
}

impl Metrics {
    /// Starts counting from what the view holds now (nothing already finished counts again).
    pub fn start(cache: Arc<CachedStore>) -> Arc<Metrics> {
        let mut state = State::default();
        for stored in cache.objects(Kind::Promotion, None) {
            if is_terminal(text_at(&stored.object, "/status/phase")) {
                state.finished.insert(stored.key.clone());
            }
        }
        for stored in cache.objects(Kind::Freight, None) {
            for stage in stored.object.pointer("/status/verifiedIn").and_then(Value::as_object).into_iter().flatten() {
                state.verified.insert((stored.key.clone(), stage.0.clone()));
            }
        }
        for stored in cache.objects(Kind::Stage, None) {
            for (id, _, _) in finished_verifications(&stored.object) {
                state.verifications_seen.insert((stored.key.clone(), id));
            }
        }
        let metrics = Arc::new(Metrics { cache: cache.clone(), state: Mutex::new(state) });
        let mut changes = cache.subscribe();
        let observer = metrics.clone();
        tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(Change::Event(event)) => observer.observe(&event),
                    Ok(Change::Resynced) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        metrics
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts what one committed change means.
    pub fn observe(&self, event: &WatchEvent) {
        let Ok(key) = Key::of(&event.object) else { return };
        let object = &event.object;
        let mut state = self.lock();
        match (key.kind, event.event_type) {
            (Kind::Promotion, EventType::Added) => *state.created.entry(key.project.clone()).or_default() += 1,
            (Kind::Promotion, EventType::Deleted) => {
                state.finished.remove(&key);
            }
            (Kind::Promotion, EventType::Modified) => {
                let phase = text_at(object, "/status/phase");
                if !is_terminal(phase) || !state.finished.insert(key.clone()) {
                    return;
                }
                if phase == "Errored" {
                    *state.errored.entry(key.project.clone()).or_default() += 1;
                }
                let stage = text_at(object, "/spec/stage").to_owned();
                if matches!(phase, "Failed" | "Errored")
                    && let Ok(at) = Timestamp::parse(text_at(object, "/status/finishedAt"))
                {
                    state.failing_since.entry((key.project.clone(), stage.clone())).or_insert(at);
                }
                *state.promotions_by_stage.entry((key.project.clone(), stage, phase.to_owned())).or_default() += 1;
                let started = text_at(object, "/metadata/creationTimestamp");
                if let Some(took) = seconds_between(started, text_at(object, "/status/finishedAt")) {
                    let histogram = state
                        .promotion_duration
                        .entry((key.project.clone(), phase.to_owned()))
                        .or_insert_with(|| Histogram::new(DURATION_BUCKETS));
                    histogram.observe(took);
                }
                let steps = object.pointer("/spec/steps").and_then(Value::as_array).cloned().unwrap_or_default();
                let metas = object.pointer("/status/stepExecutionMetadata").and_then(Value::as_array);
                for (i, meta) in metas.into_iter().flatten().enumerate() {
                    let kind = steps.get(i).and_then(|s| s["uses"].as_str()).unwrap_or("unknown").to_owned();
                    let status = meta["status"].as_str().unwrap_or("Unknown").to_owned();
                    let took = seconds_between(text_at(meta, "/startedAt"), text_at(meta, "/finishedAt"));
                    if let Some(took) = took {
                        let histogram = state
                            .step_duration
                            .entry((key.project.clone(), kind, status))
                            .or_insert_with(|| Histogram::new(DURATION_BUCKETS));
                        histogram.observe(took);
                    }
                }
            }
            (Kind::Stage, EventType::Deleted) => {
                state.verifications_seen.retain(|(k, _)| *k != key);
                state.failing_since.remove(&(key.project.clone(), key.name.clone()));
            }
            (Kind::Stage, _) => {
                let mut records = finished_verifications(object);
                // Oldest first: a failure then a success in one write restores in order.
                records.sort_by_key(|r| r.2);
                for (id, phase, finished) in records {
                    if !state.verifications_seen.insert((key.clone(), id)) {
                        continue;
                    }
                    let stage = (key.project.clone(), key.name.clone());
                    *state.verifications.entry((stage.0.clone(), stage.1.clone(), phase.clone())).or_default() += 1;
                    let Some(finished) = finished else { continue };
                    if phase == "Successful" {
                        if let Some(since) = state.failing_since.remove(&stage) {
                            let took = (finished.seconds() - since.seconds()).max(0) as f64;
                            state
                                .time_to_restore
                                .entry(stage)
                                .or_insert_with(|| Histogram::new(LEAD_TIME_BUCKETS))
                                .observe(took);
                        }
                    } else if matches!(phase.as_str(), "Failed" | "Error") {
                        state.failing_since.entry(stage).or_insert(finished);
                    }
                }
            }
            (Kind::Freight, EventType::Deleted) => state.verified.retain(|(k, _)| *k != key),
            (Kind::Freight, _) => {
                let discovered = object
                    .get("discoveredAt")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| text_at(object, "/metadata/creationTimestamp"));
                let verified_in = object.pointer("/status/verifiedIn").and_then(Value::as_object);
                for (stage, record) in verified_in.into_iter().flatten() {
                    if !state.verified.insert((key.clone(), stage.clone())) {
                        continue;
                    }
                    if let Some(lead) = seconds_between(discovered, text_at(record, "/verifiedAt")) {
                        let histogram = state
                            .lead_time
                            .entry((key.project.clone(), stage.clone()))
                            .or_insert_with(|| Histogram::new(LEAD_TIME_BUCKETS));
                        histogram.observe(lead);
                    }
                }
            }
            _ => {}
        }
    }

    /// Every metric in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let state = self.lock();
        counter(&mut out, "convoy_promotions_created_total", "Promotions created, by project.", &state.created);
        counter(
            &mut out,
            "convoy_promotions_errored_total",
            "Promotions that ended Errored, by project.",
            &state.errored,
        );
        let _ = writeln!(
            out,
            "# HELP convoy_stage_promotions_total Finished Promotions by Stage and phase (deployment frequency)."
        );
        let _ = writeln!(out, "# TYPE convoy_stage_promotions_total counter");
        for ((project, stage, phase), count) in &state.promotions_by_stage {
            let _ = writeln!(
                out,
                "convoy_stage_promotions_total{{project=\"{}\",stage=\"{}\",phase=\"{}\"}} {count}",
                label(project),
                label(stage),
                label(phase)
            );
        }
        let _ = writeln!(
            out,
            "# HELP convoy_stage_verifications_total Finished verifications by Stage and phase (change failure rate: failed over all)."
        );
        let _ = writeln!(out, "# TYPE convoy_stage_verifications_total counter");
        for ((project, stage, phase), count) in &state.verifications {
            let _ = writeln!(
                out,
                "convoy_stage_verifications_total{{project=\"{}\",stage=\"{}\",phase=\"{}\"}} {count}",
                label(project),
                label(stage),
                label(phase)
            );
        }
        let mut running: BTreeMap<String, u64> = BTreeMap::new();
        for stored in self.cache.objects(Kind::Promotion, None) {
            if !is_terminal(text_at(&stored.object, "/status/phase")) {
                *running.entry(stored.key.project.clone()).or_default() += 1;
            }
        }
        let _ = writeln!(out, "# HELP convoy_promotions_non_terminal Promotions pending or running, by project.");
        let _ = writeln!(out, "# TYPE convoy_promotions_non_terminal gauge");
        for (project, count) in &running {
            let _ = writeln!(out, "convoy_promotions_non_terminal{{project=\"{}\"}} {count}", label(project));
        }
        let mut reasons: BTreeMap<(String, String), u64> = BTreeMap::new();
        for stored in self.cache.objects(Kind::Stage, None) {
            let conditions = stored.object.pointer("/status/conditions").and_then(Value::as_array);
            let ready = conditions.into_iter().flatten().find(|c| c["type"] == "Ready");
            let reason = ready.and_then(|c| c["reason"].as_str()).unwrap_or("Unknown").to_owned();
            *reasons.entry((stored.key.project.clone(), reason)).or_default() += 1;
        }
        let _ = writeln!(out, "# HELP convoy_stages_by_ready_reason Stages by the reason of their Ready condition.");
        let _ = writeln!(out, "# TYPE convoy_stages_by_ready_reason gauge");
        for ((project, reason), count) in &reasons {
            let _ = writeln!(
                out,
                "convoy_stages_by_ready_reason{{project=\"{}\",reason=\"{}\"}} {count}",
                label(project),
                label(reason)
            );
        }
        histograms(
            &mut out,
            "convoy_promotion_duration_seconds",
            "From a Promotion's creation to its end, by project and terminal phase.",
            state.promotion_duration.iter().map(|((p, phase), h)| (vec![("project", p), ("terminalPhase", phase)], h)),
        );
        histograms(
            &mut out,
            "convoy_promotion_step_duration_seconds",
            "Each step's run, by project, step kind and terminal status.",
            state.step_duration.iter().map(|((p, kind, status), h)| {
                (vec![("project", p), ("stepKind", kind), ("terminalStatus", status)], h)
            }),
        );
        histograms(
            &mut out,
            "convoy_stage_lead_time_seconds",
            "From Freight's discovery to its verification in a Stage, by project and Stage.",
            state.lead_time.iter().map(|((p, stage), h)| (vec![("project", p), ("stage", stage)], h)),
        );
        histograms(
            &mut out,
            "convoy_stage_time_to_restore_seconds",
            "From a Stage's failed Promotion or verification to its next successful verification, by project and Stage.",
            state.time_to_restore.iter().map(|((p, stage), h)| (vec![("project", p), ("stage", stage)], h)),
        );
        out
    }
}

/// The (id, phase, finish time) of every verification record of a Stage that has finished.
fn finished_verifications(stage: &Value) -> Vec<(String, String, Option<Timestamp>)> {
    let history = stage.pointer("/status/freightHistory").and_then(Value::as_array);
    history
        .into_iter()
        .flatten()
        .flat_map(|c| c["verificationHistory"].as_array().into_iter().flatten())
        .filter_map(|record| {
            let phase = record["phase"].as_str()?;
            let finished = !matches!(phase, "" | "Pending" | "Running");
            let at = Timestamp::parse(record["finishTime"].as_str().unwrap_or("")).ok();
            finished.then(|| (record["id"].as_str().unwrap_or("").to_owned(), phase.to_owned(), at))
        })
        .collect()
}

fn counter(out: &mut String, name: &str, help: &str, values: &BTreeMap<String, u64>) {
    convoy_telemetry::header(out, name, help, "counter");
    for (project, count) in values {
        let _ = writeln!(out, "{name}{{project=\"{}\"}} {count}", label(project));
    }
}

fn histograms<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    series: impl Iterator<Item = (Vec<(&'static str, &'a String)>, &'a Histogram)>,
) {
    convoy_telemetry::header(out, name, help, "histogram");
    for (labels, histogram) in series {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", label(v))).collect();
        histogram.render(out, name, &labels.join(","));
    }
}

#[cfg(test)]
mod tests {
    use convoy_store::MemoryStore;
    use serde_json::json;

    use super::*;

    fn stage_with(records: Value) -> WatchEvent {
        let object = json!({
            "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
            "metadata": {"name": "prod", "namespace": "shop"},
            "status": {"freightHistory": [{"id": "c1", "verificationHistory": records}]},
        });
        WatchEvent { revision: 1, event_type: EventType::Modified, object }
    }

    fn record(id: &str, phase: &str, finished: &str) -> Value {
        json!({"id": id, "phase": phase, "finishTime": finished})
    }

    /// Time to restore: from the first failure to the next success, once per failing spell.
    #[tokio::test]
    async fn time_to_restore_runs_from_the_first_failure_to_the_next_success() {
        let cache = CachedStore::start(Arc::new(MemoryStore::default()), vec![]).await.unwrap();
        let metrics = Metrics::start(cache);
        let failed = record("v1", "Failed", "2026-12-02T10:00:00Z");
        let failed_again = record("v2", "Error", "2026-12-02T10:30:00Z");
        let restored = record("v3", "Successful", "2026-12-02T11:00:00Z");
        metrics.observe(&stage_with(json!([failed])));
        metrics.observe(&stage_with(json!([failed_again, failed])));
        metrics.observe(&stage_with(json!([restored, failed_again, failed])));
        // The same records seen again change nothing.
        metrics.observe(&stage_with(json!([restored, failed_again, failed])));
        let text = metrics.render();
        let labels = "{project=\"shop\",stage=\"prod\"}";
        assert!(text.contains(&format!("convoy_stage_time_to_restore_seconds_count{labels} 1")), "{text}");
        assert!(text.contains(&format!("convoy_stage_time_to_restore_seconds_sum{labels} 3600")), "{text}");
        assert!(
            text.contains("convoy_stage_verifications_total{project=\"shop\",stage=\"prod\",phase=\"Failed\"} 1"),
            "{text}"
        );
        // A success without a failure before it is no restoration.
        let healthy = record("v4", "Successful", "2026-12-02T12:00:00Z");
        metrics.observe(&stage_with(json!([healthy, restored, failed_again, failed])));
        assert!(metrics.render().contains(&format!("convoy_stage_time_to_restore_seconds_count{labels} 1")));
    }
}
