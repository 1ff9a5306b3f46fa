//! Process-wide metrics for what the store's change stream cannot show: HTTP requests, git
//! and registry calls, controller passes, store writes. Each metric is a `static` of the crate
//! that measures; the binary's `/metrics` renders the list it is given. Labels are a fixed,
//! small set of values per metric (routes as templates, operations as names): never an id or a
//! URL.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Seconds: a request or a git command takes milliseconds to minutes.
pub const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Something `/metrics` shows.
pub trait Render: Sync {
    fn render(&self, out: &mut String);
}

/// A counter per label values.
pub struct Counter<const N: usize> {
    name: &'static str,
    help: &'static str,
    labels: [&'static str; N],
    values: Mutex<BTreeMap<[String; N], u64>>,
}

impl<const N: usize> Counter<N> {
    pub const fn new(name: &'static str, help: &'static str, labels: [&'static str; N]) -> Self {
        Counter { name, help, labels, values: Mutex::new(BTreeMap::new()) }
    }

    pub fn inc(&self, labels: [&str; N]) {
        let key = labels.map(str::to_owned);
        *lock(&self.values).entry(key).or_default() += 1;
    }

    /// The current value (tests).
    pub fn get(&self, labels: [&str; N]) -> u64 {
        lock(&self.values).get(&labels.map(str::to_owned)).copied().unwrap_or(0)
    }
}

impl<const N: usize> Render for Counter<N> {
    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "counter");
        for (values, count) in lock(&self.values).iter() {
            let _ = writeln!(out, "{}{} {count}", self.name, labels(&self.labels, values));
        }
    }
}

/// A gauge per label values.
pub struct Gauge<const N: usize> {
    name: &'static str,
    help: &'static str,
    labels: [&'static str; N],
    values: Mutex<BTreeMap<[String; N], i64>>,
}

impl<const N: usize> Gauge<N> {
    pub const fn new(name: &'static str, help: &'static str, labels: [&'static str; N]) -> Self {
        Gauge { name, help, labels, values: Mutex::new(BTreeMap::new()) }
    }

    pub fn set(&self, labels: [&str; N], value: i64) {
        lock(&self.values).insert(labels.map(str::to_owned), value);
    }

    pub fn get(&self, labels: [&str; N]) -> i64 {
        lock(&self.values).get(&labels.map(str::to_owned)).copied().unwrap_or(0)
    }
}

impl<const N: usize> Render for Gauge<N> {
    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "gauge");
        for (values, value) in lock(&self.values).iter() {
            let _ = writeln!(out, "{}{} {value}", self.name, labels(&self.labels, values));
        }
    }
}

/// Bucket counts, sum and count of observed values.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    pub bounds: &'static [f64],
    /// Observations at or below each bound (cumulative, as exposed).
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Buckets {
    pub fn new(bounds: &'static [f64]) -> Buckets {
        Buckets { bounds, counts: vec![0; bounds.len()], sum: 0.0, count: 0 }
    }

    pub fn observe(&mut self, value: f64) {
        for (bound, count) in self.bounds.iter().zip(self.counts.iter_mut()) {
            if value <= *bound {
                *count += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    /// The exposition lines of one series (`labels`: `k="v",...`, possibly empty).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let comma = if labels.is_empty() { "" } else { "," };
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{comma}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{comma}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// A histogram per label values.
pub struct Histogram<const N: usize> {
    name: &'static str,
    help: &'static str,
    labels: [&'static str; N],
    bounds: &'static [f64],
    values: Mutex<BTreeMap<[String; N], Buckets>>,
}

impl<const N: usize> Histogram<N> {
    pub const fn new(
        name: &'static str,
        help: &'static str,
        labels: [&'static str; N],
        bounds: &'static [f64],
    ) -> Self {
        Histogram { name, help, labels, bounds, values: Mutex::new(BTreeMap::new()) }
    }

    pub fn observe(&self, labels: [&str; N], value: Duration) {
        let bounds = self.bounds;
        lock(&self.values)
            .entry(labels.map(str::to_owned))
            .or_insert_with(|| Buckets::new(bounds))
            .observe(value.as_secs_f64());
    }

    /// How many observations (tests).
    pub fn count(&self, labels: [&str; N]) -> u64 {
        lock(&self.values).get(&labels.map(str::to_owned)).map_or(0, |b| b.count)
    }
}

impl<const N: usize> Render for Histogram<N> {
    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "histogram");
        for (values, buckets) in lock(&self.values).iter() {
            let labels = labels(&self.labels, values);
            buckets.render(out, self.name, labels.trim_start_matches('{').trim_end_matches('}'));
        }
    }
}

/// Renders every metric given, in order.
pub fn render(metrics: &[&dyn Render], out: &mut String) {
    for metric in metrics {
        metric.render(out);
    }
}

pub fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Label values are quoted with `\`, `"` and newlines escaped (the exposition format's rules).
pub fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn labels(names: &[&str], values: &[String]) -> String {
    let pairs: Vec<String> = names.iter().zip(values).map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if pairs.is_empty() { String::new() } else { format!("{{{}}}", pairs.join(",")) }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    static REQUESTS: Counter<2> = Counter::new("t_requests_total", "Requests.", ["route", "code"]);
    static LATENCY: Histogram<1> = Histogram::new("t_seconds", "Latency.", ["route"], &[0.1, 1.0]);

    #[test]
    fn renders_the_exposition_format_with_escaped_labels() {
        REQUESTS.inc(["/a", "200"]);
        REQUESTS.inc(["/a", "200"]);
        REQUESTS.inc(["/b\"x", "500"]);
        LATENCY.observe(["/a"], Duration::from_millis(50));
        LATENCY.observe(["/a"], Duration::from_millis(500));
        let mut out = String::new();
        render(&[&REQUESTS, &LATENCY], &mut out);
        let expected = "# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n\
            t_requests_total{route=\"/a\",code=\"200\"} 2\nt_requests_total{route=\"/b\\\"x\",code=\"500\"} 1\n\
            # HELP t_seconds Latency.\n# TYPE t_seconds histogram\n\
            t_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\nt_seconds_bucket{route=\"/a\",le=\"1\"} 2\n\
            t_seconds_bucket{route=\"/a\",le=\"+Inf\"} 2\nt_seconds_sum{route=\"/a\"} 0.55\nt_seconds_count{route=\"/a\"} 2\n";
        assert_eq!(out, expected);
    }
}
