//! Verification as Argo Rollouts' AnalysisRuns decide it, pure: a measurement's outcome from
//! its conditions, a metric's phase from its measurements, the run's phase from its metrics.

use std::time::Duration;

use serde_json::Value;

/// One metric of an AnalysisTemplate (`spec.metrics[]`), with Argo's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub interval: Option<Duration>,
    /// Measurements to take; `None` with an interval means until a limit ends it.
    pub count: Option<u32>,
    pub failure_limit: u32,
    pub inconclusive_limit: u32,
    pub consecutive_error_limit: u32,
    pub success_condition: Option<String>,
    pub failure_condition: Option<String>,
    pub provider: Value,
}

impl Metric {
    /// Reads `spec.metrics[i]`; durations are Argo's (`30s`, `5m`).
    pub fn from_spec(metric: &Value) -> Result<Metric, String> {
        let name = metric["name"].as_str().unwrap_or("").to_owned();
        let at = |field: &str| format!("metric {name:?}: {field}");
        let number = |field: &str, default: u32| -> Result<u32, String> {
            match &metric[field] {
                Value::Null => Ok(default),
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| format!("{}: must be a whole number", at(field))),
                Value::String(s) => s.parse().map_err(|_| format!("{}: {s:?} must be a whole number", at(field))),
                _ => Err(format!("{}: must be a whole number", at(field))),
            }
        };
        let interval = match metric["interval"].as_str() {
            Some(text) => Some(crate::duration::parse(text).map_err(|e| format!("{}: {e}", at("interval")))?),
            None => None,
        };
        let count = match metric["count"] {
            Value::Null => None,
            _ => Some(number("count", 1)?),
        };
        let provider = metric["provider"].clone();
        if !provider.is_object() {
            return Err(format!("{}: a metric needs a provider", at("provider")));
        }
        Ok(Metric {
            name: name.clone(),
            // Argo: without an interval a metric is measured once.
            count: count.or(if interval.is_none() { Some(1) } else { None }),
            interval,
            failure_limit: number("failureLimit", 0)?,
            inconclusive_limit: number("inconclusiveLimit", 0)?,
            consecutive_error_limit: number("consecutiveErrorLimit", 4)?,
            success_condition: metric["successCondition"].as_str().filter(|c| !c.is_empty()).map(str::to_owned),
            failure_condition: metric["failureCondition"].as_str().filter(|c| !c.is_empty()).map(str::to_owned),
            provider,
        })
    }
}

/// A measurement's (or a metric's, or a run's) phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    Successful,
    Failed,
    Inconclusive,
    Error,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Running => "Running",
            Phase::Successful => "Successful",
            Phase::Failed => "Failed",
            Phase::Inconclusive => "Inconclusive",
            Phase::Error => "Error",
        }
    }
}

/// A measurement's outcome from its conditions' values (`None` when a condition is not set):
/// failure wins; a success condition that does not hold fails, or is inconclusive when a failure
/// condition exists and did not hold either; no conditions at all succeed.
pub fn measurement(success: Option<bool>, failure: Option<bool>) -> Phase {
    match (success, failure) {
        (_, Some(true)) => Phase::Failed,
        (Some(true), _) => Phase::Successful,
        (Some(false), Some(false)) => Phase::Inconclusive,
        (Some(false), None) => Phase::Failed,
        (None, _) => Phase::Successful,
    }
}

/// A metric's phase from its measurements so far (oldest first).
pub fn metric_phase(metric: &Metric, measurements: &[Phase]) -> Phase {
    let count = |p: Phase| measurements.iter().filter(|m| **m == p).count() as u32;
    let trailing_errors = measurements.iter().rev().take_while(|m| **m == Phase::Error).count() as u32;
    if count(Phase::Failed) > metric.failure_limit {
        return Phase::Failed;
    }
    if count(Phase::Inconclusive) > metric.inconclusive_limit {
        return Phase::Inconclusive;
    }
    if trailing_errors > metric.consecutive_error_limit {
        return Phase::Error;
    }
    match metric.count {
        Some(n) if measurements.len() as u32 >= n => Phase::Successful,
        _ => Phase::Running,
    }
}

/// The run's phase: any metric Failed, Error or Inconclusive decides it (in that order); it
/// succeeds when every metric has.
pub fn run_phase(metrics: &[Phase]) -> Phase {
    for decisive in [Phase::Failed, Phase::Error, Phase::Inconclusive] {
        if metrics.contains(&decisive) {
            return decisive;
        }
    }
    if metrics.iter().all(|p| *p == Phase::Successful) { Phase::Successful } else { Phase::Running }
}

/// Replaces `{{args.NAME}}` in every string of `value` (Argo's argument substitution).
pub fn substitute(value: &Value, args: &std::collections::BTreeMap<String, String>) -> Value {
    match value {
        Value::String(s) => {
            let mut out = s.clone();
            for (name, v) in args {
                out = out
                    .replace(&format!("{{{{args.{name}}}}}", name = name), v)
                    .replace(&format!("{{{{ args.{name} }}}}"), v);
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, args)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), substitute(v, args))).collect()),
        other => other.clone(),
    }
}

/// Reads `{$.a.b[0].c}` (the JSONPath subset web metrics use) from `document`.
pub fn json_path(document: &Value, path: &str) -> Option<Value> {
    let inner = path.trim().trim_start_matches('{').trim_end_matches('}').trim();
    let inner = inner.strip_prefix('$').unwrap_or(inner);
    let mut node = document;
    for part in inner.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            node = node.get(key)?;
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            node = node.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(node.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metric(count: Option<u32>, failure_limit: u32, inconclusive_limit: u32) -> Metric {
        Metric {
            name: "m".into(),
            interval: Some(Duration::from_secs(1)),
            count,
            failure_limit,
            inconclusive_limit,
            consecutive_error_limit: 4,
            success_condition: None,
            failure_condition: None,
            provider: json!({}),
        }
    }

    #[test]
    fn measurements_from_conditions() {
        use Phase::*;
        assert_eq!(measurement(Some(true), None), Successful);
        assert_eq!(measurement(Some(false), None), Failed);
        assert_eq!(measurement(None, Some(true)), Failed);
        assert_eq!(measurement(None, Some(false)), Successful);
        assert_eq!(measurement(Some(false), Some(false)), Inconclusive);
        assert_eq!(measurement(Some(true), Some(true)), Failed, "failure wins");
        assert_eq!(measurement(None, None), Successful);
    }

    #[test]
    fn metric_phases_follow_the_limits() {
        use Phase::*;
        // count 3, failureLimit 1: one failure is tolerated, two are not.
        let m = metric(Some(3), 1, 0);
        assert_eq!(metric_phase(&m, &[Failed]), Running);
        assert_eq!(metric_phase(&m, &[Failed, Successful, Successful]), Successful);
        assert_eq!(metric_phase(&m, &[Failed, Failed]), Failed);
        // inconclusiveLimit 0: the first inconclusive ends it.
        assert_eq!(metric_phase(&metric(Some(3), 0, 0), &[Inconclusive]), Inconclusive);
        // Errors: more than consecutiveErrorLimit (4) in a row; a success in between resets.
        assert_eq!(metric_phase(&metric(Some(9), 0, 0), &[Error; 4]), Running);
        assert_eq!(metric_phase(&metric(Some(9), 0, 0), &[Error; 5]), Error);
        assert_eq!(metric_phase(&metric(Some(9), 0, 0), &[Error, Error, Error, Successful, Error, Error]), Running);
        // No count with an interval: runs until a limit ends it.
        assert_eq!(metric_phase(&metric(None, 0, 0), &[Successful; 50]), Running);
    }

    #[test]
    fn run_phases() {
        use Phase::*;
        assert_eq!(run_phase(&[Successful, Successful]), Successful);
        assert_eq!(run_phase(&[Successful, Running]), Running);
        assert_eq!(run_phase(&[Inconclusive, Failed]), Failed);
        assert_eq!(run_phase(&[Error, Inconclusive]), Error);
    }

    #[test]
    fn spec_defaults_args_and_paths() {
        let m = Metric::from_spec(&json!({"name": "ok", "provider": {"web": {"url": "http://x/{{args.service}}"}}}))
            .unwrap();
        assert_eq!(
            (m.count, m.failure_limit, m.consecutive_error_limit),
            (Some(1), 0, 4),
            "measured once without interval"
        );
        let m = Metric::from_spec(
            &json!({"name": "ok", "interval": "5s", "count": "3", "failureLimit": 1, "provider": {"web": {}}}),
        )
        .unwrap();
        assert_eq!((m.count, m.interval, m.failure_limit), (Some(3), Some(Duration::from_secs(5)), 1));
        assert!(Metric::from_spec(&json!({"name": "bad"})).unwrap_err().contains("provider"));
        let args = [("service".to_owned(), "api".to_owned())].into_iter().collect();
        assert_eq!(
            substitute(&json!({"url": "http://x/{{args.service}}/health"}), &args),
            json!({"url": "http://x/api/health"})
        );
        let doc = json!({"data": {"checks": [{"ok": true}]}});
        assert_eq!(json_path(&doc, "{$.data.checks[0].ok}"), Some(json!(true)));
        assert_eq!(json_path(&doc, "{$.data.missing}"), None);
    }
}
