//! Native verification (no Argo Rollouts): a Stage's `spec.verification.analysisTemplates` are
//! read from the store and their metrics measured here, for the `web` and `prometheus`
//! providers, with Argo's conditions, counts and limits (`convoy_core::analysis`). The outcome
//! replaces the `Running` record in the Stage's current `freightHistory` entry; the Stage
//! controller then marks the Freight verified. A restart re-runs a verification left `Running`.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use convoy_api::stage::StageStatus;
use convoy_api::time::Timestamp;
use convoy_api::{Kind, Stage};
use convoy_core::analysis::{Metric, Phase, json_path, measurement, metric_phase, run_phase, substitute};
use convoy_store::{Key, Store};
use serde_json::{Value, json};

use crate::status::update_typed_status;

/// Largest response a metric reads.
const MAX_BODY: usize = 1 << 20;

/// Where a metric's measurements come from: the providers' services (`web`, `prometheus`) in
/// production; a test may answer without a network, so its timers are the only waits.
#[async_trait::async_trait]
pub trait Measurer: Send + Sync {
    /// One measurement: the value conditions see as `result`.
    async fn take(&self, metric: &Metric) -> Result<Value, String>;
}

pub struct Verifier {
    store: Arc<dyn Store>,
    measurer: Arc<dyn Measurer>,
    in_flight: Mutex<HashSet<String>>,
}

impl Verifier {
    pub fn new(store: Arc<dyn Store>) -> Arc<Verifier> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap_or_default();
        Verifier::with_measurer(store, Arc::new(Providers { client }))
    }

    pub fn with_measurer(store: Arc<dyn Store>, measurer: Arc<dyn Measurer>) -> Arc<Verifier> {
        Arc::new(Verifier { store, measurer, in_flight: Mutex::default() })
    }

    /// Starts verification `id` of `stage` unless it is already being run.
    pub fn ensure(self: &Arc<Self>, stage: &Stage, id: &str) {
        if !self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.to_owned()) {
            return;
        }
        let (verifier, stage, id) = (self.clone(), stage.clone(), id.to_owned());
        tokio::spawn(async move {
            crate::pr_status::post(&verifier.store, &stage, Phase::Running, "").await;
            let (phase, message, metric_results) = match verifier.analyse(&stage, &id).await {
                Ok(outcome) => outcome,
                Err(message) => (Phase::Error, message, Vec::new()),
            };
            match verifier.record(&stage, &id, phase, &message, &metric_results).await {
                Ok(()) => {
                    let reason = match phase {
                        Phase::Successful => "FreightVerificationSucceeded",
                        Phase::Failed => "FreightVerificationFailed",
                        Phase::Inconclusive => "FreightVerificationInconclusive",
                        Phase::Error | Phase::Running => "FreightVerificationErrored",
                    };
                    let about = crate::events::Involved {
                        kind: "Stage",
                        project: stage.metadata.namespace(),
                        name: stage.metadata.name(),
                    };
                    let text =
                        if message.is_empty() { format!("verification {}", phase.as_str()) } else { message.clone() };
                    crate::events::record(&*verifier.store, about, reason, &text, phase != Phase::Successful).await;
                    crate::pr_status::post(&verifier.store, &stage, phase, &message).await;
                }
                Err(e) => {
                    tracing::warn!(stage = %stage.metadata.name(), error = %e, "cannot record the verification outcome")
                }
            }
            verifier.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
        });
    }

    /// The run's phase, its message, and each metric's result with its measurements (the shape
    /// of Argo Rollouts' `AnalysisRun.status.metricResults`, which Kargo's UI shows).
    async fn analyse(&self, stage: &Stage, id: &str) -> Result<(Phase, String, Vec<Value>), String> {
        let project = stage.metadata.namespace();
        let verification = stage.spec.verification.as_ref().ok_or("the Stage no longer asks for verification")?;
        let args = self.arguments(stage)?;
        let mut metrics = Vec::new();
        for reference in &verification.analysis_templates {
            // A ClusterAnalysisTemplate is shared by every project; an AnalysisTemplate is the project's.
            let (kind, key) = match reference.kind.as_deref().filter(|k| !k.is_empty()) {
                None | Some("AnalysisTemplate") => {
                    ("AnalysisTemplate", Key::new(Kind::AnalysisTemplate, project, &reference.name))
                }
                Some("ClusterAnalysisTemplate") => {
                    ("ClusterAnalysisTemplate", Key::new(Kind::ClusterAnalysisTemplate, "", &reference.name))
                }
                Some(other) => {
                    return Err(format!(
                        "{other} {:?}: use AnalysisTemplate or ClusterAnalysisTemplate",
                        reference.name
                    ));
                }
            };
            let stored = self.store.get(&key).await.map_err(|e| e.to_string())?.ok_or_else(|| {
                if kind == "AnalysisTemplate" {
                    format!("AnalysisTemplate {:?} not found in project {project:?}", reference.name)
                } else {
                    format!("ClusterAnalysisTemplate {:?} not found", reference.name)
                }
            })?;
            let spec = &stored.object["spec"];
            let mut template_args = args.clone();
            for arg in spec["args"].as_array().into_iter().flatten() {
                let name = arg["name"].as_str().unwrap_or("").to_owned();
                if let std::collections::btree_map::Entry::Vacant(slot) = template_args.entry(name) {
                    let value = arg["value"].as_str().ok_or_else(|| {
                        format!(
                            "{kind} {:?}: argument {:?} has no value; set it in the Stage's verification.args",
                            reference.name,
                            slot.key()
                        )
                    })?;
                    slot.insert(value.to_owned());
                }
            }
            for metric in spec["metrics"].as_array().into_iter().flatten() {
                let metric = Metric::from_spec(&substitute(metric, &template_args))
                    .map_err(|e| format!("{kind} {:?}: {e}", reference.name))?;
                metrics.push(metric);
            }
        }
        if metrics.is_empty() {
            return Err("the AnalysisTemplates define no metrics".into());
        }
        let outcomes = futures::future::join_all(metrics.iter().map(|m| self.measure(stage, id, m))).await;
        let phases: Vec<Phase> = outcomes.iter().map(|o| o.phase).collect();
        let phase = run_phase(&phases);
        let message = metrics
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| o.phase != Phase::Successful)
            .map(|(m, o)| format!("metric {:?} {}: {}", m.name, o.phase.as_str(), o.detail))
            .collect::<Vec<_>>()
            .join("; ");
        let results = metrics.iter().zip(&outcomes).map(|(m, o)| o.result(&m.name)).collect();
        Ok((phase, message, results))
    }

    /// Stage `verification.args`, evaluated as templates with `ctx.project`, `ctx.stage` and the
    /// Stage's `vars` (reference §4.5).
    fn arguments(&self, stage: &Stage) -> Result<BTreeMap<String, String>, String> {
        let Some(verification) = &stage.spec.verification else { return Ok(BTreeMap::new()) };
        let evaluator = convoy_expr::Evaluator::new(&convoy_expr::NoData);
        let mut scope = convoy_expr::Scope::default();
        scope
            .insert("ctx", &json!({"project": stage.metadata.namespace(), "stage": stage.metadata.name()}))
            .map_err(|e| e.to_string())?;
        evaluator.vars(&stage.spec.vars, &mut scope).map_err(|e| e.to_string())?;
        let mut args = BTreeMap::new();
        for arg in &verification.args {
            let value =
                evaluator.template(&arg.value, &scope).map_err(|e| format!("verification.args {:?}: {e}", arg.name))?;
            args.insert(arg.name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned));
        }
        Ok(args)
    }

    /// Measures until the metric's phase is decided.
    async fn measure(&self, stage: &Stage, id: &str, metric: &Metric) -> Measured {
        let mut phases = Vec::new();
        let mut measurements = std::collections::VecDeque::new();
        loop {
            if !self.still_running(stage, id).await {
                let detail = "stopped: the verification is no longer running".to_owned();
                return Measured { phase: Phase::Error, detail, phases, measurements };
            }
            let started = Timestamp::now().to_string();
            let (outcome, value, last) = match self.measurer.take(metric).await {
                Ok(result) => match evaluate(metric, &result) {
                    Ok(phase) => (phase, Some(result.to_string()), format!("result {result}")),
                    Err(e) => (Phase::Error, Some(result.to_string()), e),
                },
                Err(e) => (Phase::Error, None, e),
            };
            let mut measurement =
                json!({"phase": outcome.as_str(), "startedAt": started, "finishedAt": Timestamp::now().to_string()});
            match value {
                Some(value) => measurement["value"] = json!(value),
                None => measurement["message"] = json!(last),
            }
            measurements.push_back(measurement);
            if measurements.len() > MEASUREMENTS_KEPT {
                measurements.pop_front();
            }
            phases.push(outcome);
            let phase = metric_phase(metric, &phases);
            if phase != Phase::Running {
                let detail = format!("{} measurement(s), last {last}", phases.len());
                return Measured { phase, detail, phases, measurements };
            }
            tokio::time::sleep(metric.interval.unwrap_or(Duration::from_secs(1))).await;
        }
    }
}

/// Measurements kept per metric in the record (the newest; the counts cover them all).
const MEASUREMENTS_KEPT: usize = 10;

/// One metric's outcome.
struct Measured {
    phase: Phase,
    detail: String,
    phases: Vec<Phase>,
    measurements: std::collections::VecDeque<Value>,
}

impl Measured {
    /// As Argo Rollouts' `metricResults[]` entry.
    fn result(&self, name: &str) -> Value {
        let count = |p: Phase| self.phases.iter().filter(|x| **x == p).count();
        json!({
            "name": name,
            "phase": self.phase.as_str(),
            "count": self.phases.len(),
            "successful": count(Phase::Successful),
            "failed": count(Phase::Failed),
            "inconclusive": count(Phase::Inconclusive),
            "error": count(Phase::Error),
            "message": self.detail,
            "measurements": self.measurements,
        })
    }
}

/// The `web` and `prometheus` providers, over HTTP.
struct Providers {
    client: reqwest::Client,
}

#[async_trait::async_trait]
impl Measurer for Providers {
    async fn take(&self, metric: &Metric) -> Result<Value, String> {
        if let Some(web) = metric.provider.get("web") {
            let url = web["url"].as_str().ok_or("web provider: url is required")?;
            let method = web["method"].as_str().unwrap_or("GET");
            let method = reqwest::Method::from_bytes(method.as_bytes())
                .map_err(|_| format!("web provider: {method:?} is not an HTTP method"))?;
            let mut request = self.client.request(method, url);
            if let Some(seconds) = web["timeoutSeconds"].as_u64() {
                request = request.timeout(Duration::from_secs(seconds));
            }
            for header in web["headers"].as_array().into_iter().flatten() {
                request = request.header(header["key"].as_str().unwrap_or(""), header["value"].as_str().unwrap_or(""));
            }
            if let Some(body) = web["body"].as_str() {
                request = request.body(body.to_owned());
            }
            let response = request.send().await.map_err(|e| format!("web provider: {}", e.without_url()))?;
            if !response.status().is_success() {
                return Err(format!("web provider: HTTP {}", response.status().as_u16()));
            }
            let body = read(response).await?;
            let document: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            return match web["jsonPath"].as_str() {
                Some(path) => json_path(&document, path).ok_or_else(|| format!("web provider: nothing at {path}")),
                None => Ok(document),
            };
        }
        if let Some(prometheus) = metric.provider.get("prometheus") {
            let address = prometheus["address"].as_str().ok_or("prometheus provider: address is required")?;
            let query = prometheus["query"].as_str().ok_or("prometheus provider: query is required")?;
            let mut url = reqwest::Url::parse(&format!("{}/api/v1/query", address.trim_end_matches('/')))
                .map_err(|e| format!("prometheus provider: address: {e}"))?;
            url.query_pairs_mut().append_pair("query", query);
            let response =
                self.client.get(url).send().await.map_err(|e| format!("prometheus provider: {}", e.without_url()))?;
            let body = read(response).await?;
            let document: Value = serde_json::from_slice(&body).map_err(|e| format!("prometheus provider: {e}"))?;
            if document["status"] != "success" {
                return Err(format!("prometheus provider: {}", document["error"].as_str().unwrap_or("query failed")));
            }
            let number = |v: &Value| v.as_str().and_then(|s| s.parse::<f64>().ok()).map_or(Value::Null, |f| json!(f));
            let data = &document["data"];
            return Ok(match data["resultType"].as_str() {
                Some("scalar") => number(&data["result"][1]),
                _ => Value::Array(
                    data["result"].as_array().into_iter().flatten().map(|r| number(&r["value"][1])).collect(),
                ),
            });
        }
        let provider = metric.provider.as_object().and_then(|p| p.keys().next().cloned()).unwrap_or_default();
        Err(format!(
            "metric provider {provider:?} is not supported by Convoy's native verification (web and prometheus are)"
        ))
    }
}

impl Verifier {
    /// Whether the record `id` is still `Running` (an abort ends it).
    async fn still_running(&self, stage: &Stage, id: &str) -> bool {
        let key = Key::new(Kind::Stage, stage.metadata.namespace(), stage.metadata.name());
        let Ok(Some(stored)) = self.store.get(&key).await else { return false };
        stored.object["status"]["freightHistory"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["verificationHistory"].as_array().into_iter().flatten())
            .any(|r| r["id"] == id && r["phase"] == "Running")
    }

    /// Writes the outcome over the `Running` record with this id (an aborted one stays aborted).
    async fn record(
        &self,
        stage: &Stage,
        id: &str,
        phase: Phase,
        message: &str,
        metric_results: &[Value],
    ) -> Result<(), String> {
        let key = Key::new(Kind::Stage, stage.metadata.namespace(), stage.metadata.name());
        let now = Timestamp::now().to_string();
        update_typed_status(&*self.store, &key, |status: &mut StageStatus| {
            for collection in &mut status.freight_history {
                for record in &mut collection.verification_history {
                    if record["id"] == id && record["phase"] == "Running" {
                        record["phase"] = json!(phase.as_str());
                        record["finishTime"] = json!(now);
                        if !metric_results.is_empty() {
                            record["metricResults"] = json!(metric_results);
                        }
                        if message.is_empty() {
                            if let Some(map) = record.as_object_mut() {
                                map.remove("message");
                            }
                        } else {
                            record["message"] = json!(message);
                        }
                    }
                }
            }
        })
        .await
    }
}

fn evaluate(metric: &Metric, result: &Value) -> Result<Phase, String> {
    let mut scope = convoy_expr::Scope::default();
    scope.insert("result", result).map_err(|e| e.to_string())?;
    let evaluator = convoy_expr::Evaluator::new(&convoy_expr::NoData);
    let check = |condition: &Option<String>, field: &str| -> Result<Option<bool>, String> {
        let Some(code) = condition else { return Ok(None) };
        match evaluator.expression(code, &scope).map_err(|e| format!("{field}: {e}"))? {
            Value::Bool(b) => Ok(Some(b)),
            other => Err(format!("{field} must be a boolean, got {other}")),
        }
    };
    Ok(measurement(
        check(&metric.success_condition, "successCondition")?,
        check(&metric.failure_condition, "failureCondition")?,
    ))
}

async fn read(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.without_url().to_string())? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("the response is larger than {} MiB", MAX_BODY >> 20));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Prometheus query API on loopback answering a vector, as Prometheus' `/api/v1/query` does.
    async fn prometheus() -> String {
        let app = axum::Router::new().route(
            "/api/v1/query",
            axum::routing::get(|query: axum::extract::RawQuery| async move {
                let asked = query.0.unwrap_or_default();
                axum::Json(json!({
                    "status": "success",
                    "data": {"resultType": "vector", "result": [{"metric": {"q": asked}, "value": [1_700_000_000.0, "0.97"]}]}
                }))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn prometheus_vectors_are_measured_and_judged() {
        let address = prometheus().await;
        let verifier = Providers { client: reqwest::Client::new() };
        let metric = |condition: &str| {
            Metric::from_spec(&json!({
                "name": "success-rate",
                "successCondition": condition,
                "provider": {"prometheus": {"address": address, "query": "sum(rate(ok[5m]))"}}
            }))
            .unwrap()
        };
        let result = verifier.take(&metric("result[0] >= 0.95")).await.unwrap();
        assert_eq!(result, json!([0.97]));
        assert_eq!(evaluate(&metric("result[0] >= 0.95"), &result), Ok(Phase::Successful));
        assert_eq!(evaluate(&metric("result[0] >= 0.99"), &result), Ok(Phase::Failed));
        let unsupported = Metric::from_spec(&json!({"name": "dd", "provider": {"datadog": {}}})).unwrap();
        assert!(verifier.take(&unsupported).await.unwrap_err().contains("\"datadog\" is not supported"));
    }
}
