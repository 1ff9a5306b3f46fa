//! `http`, `http-download` and `untar` against a real HTTP server on 127.0.0.1, with archives
//! made by the system's `tar`.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use common::Now;
use convoy_api::PromotionStep;
use convoy_engine::{NoJournal, NoResources, Orchestrator, Outcome, Phase, Progress, PromotionContext, StepStatus};
use convoy_git::Mirrors;
use serde_json::json;

/// Serves: `/build` (pending twice, then done, with an `X-Build` header), `/broken` (500),
/// `/flaky` (503 once, then 200), `/missing` (404 with a JSON message), `/config` (YAML),
/// `/echo` (POST: method, body, query and a header back as JSON), `/chart.tgz` (the archive).
async fn serve(archive: Vec<u8>) -> String {
    let polls = Arc::new(AtomicUsize::new(0));
    let flaky = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/flaky",
            get(move || {
                let n = flaky.fetch_add(1, Ordering::SeqCst);
                async move { if n == 0 { (StatusCode::SERVICE_UNAVAILABLE, "busy") } else { (StatusCode::OK, "fine") } }
            }),
        )
        .route(
            "/missing",
            get(|| async {
                (StatusCode::NOT_FOUND, [("content-type", "application/json")], r#"{"message": "resource not found"}"#)
            }),
        )
        .route(
            "/config",
            get(|| async { ([("content-type", "application/yaml")], "version: \"2.0\"\nfeatures: [a, b]\n") }),
        )
        .route(
            "/build",
            get(move || {
                let n = polls.fetch_add(1, Ordering::SeqCst);
                async move {
                    let state = if n < 2 { "pending" } else { "done" };
                    (
                        [("content-type", "application/json"), ("x-build", "42")],
                        json!({"state": state, "version": "1.2.3"}).to_string(),
                    )
                }
            }),
        )
        .route("/broken", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "down") }))
        .route(
            "/echo",
            post(|headers: HeaderMap, uri: axum::http::Uri, body: String| async move {
                let token = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                axum::Json(json!({"body": body, "query": uri.query(), "auth": token}))
            }),
        )
        .route("/chart.tgz", get(move || async move { archive }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn archive(dir: &Path) -> Vec<u8> {
    let src = dir.join("pack/chart/templates");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("deploy.yaml"), "kind: Deployment\n").unwrap();
    std::fs::write(dir.join("pack/chart/Chart.yaml"), "name: app\nversion: 1.2.3\n").unwrap();
    std::fs::write(dir.join("pack/chart/notes.tmp"), "scratch").unwrap();
    let out = dir.join("chart.tgz");
    let status =
        Command::new("tar").arg("-czf").arg(&out).arg("-C").arg(dir.join("pack")).arg("chart").status().unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

async fn run_to_end(
    registry: &convoy_engine::Registry,
    context: &PromotionContext,
    plan: &[PromotionStep],
) -> (Phase, Progress, usize) {
    let orchestrator = Orchestrator { registry, data: &convoy_expr::NoData, clock: &Now };
    let mut progress = Progress::default();
    let mut waits = 0;
    loop {
        match orchestrator.run(context, plan, &mut progress, &mut NoJournal).await {
            Outcome::Finished { phase } => return (phase, progress, waits),
            Outcome::Running { retry_after, .. } => {
                waits += 1;
                assert!(waits < 20, "still running: {:#?}", progress.step_execution_metadata);
                tokio::time::sleep(retry_after.unwrap_or_default()).await;
            }
        }
    }
}

#[tokio::test]
async fn http_polls_until_success_then_downloads_and_unpacks() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve(archive(dir.path())).await;
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let registry = convoy_steps::builtin(Arc::new(Mirrors::new(dir.path().join("m"))), Arc::new(NoResources));
    let context = PromotionContext { work_dir: work.clone(), ..PromotionContext::default() };
    let plan: Vec<PromotionStep> = serde_json::from_value(json!([
        {"uses": "http", "as": "wait", "config": {
            "url": format!("{base}/build"), "pollInterval": "0.02s",
            "successExpression": "response.status == 200 && response.body.state == 'done'",
            "failureExpression": "response.body.state == 'failed'",
            "outputs": [
                {"name": "version", "fromExpression": "response.body.version"},
                {"name": "build", "fromExpression": "response.header('X-Build')"},
                {"name": "type", "fromExpression": "response.headers['Content-Type'][0]"}
            ]}},
        {"uses": "http", "as": "post", "config": {
            "url": format!("{base}/echo"), "method": "POST", "body": "{\"v\": \"${{ outputs.wait.version }}\"}",
            "headers": [{"name": "Authorization", "value": "Bearer t0ken"}],
            "queryParams": [{"name": "stage", "value": "qa env"}],
            "outputs": [{"name": "echo", "fromExpression": "response.body"}]}},
        {"uses": "http-download", "as": "download", "config": {"url": format!("{base}/chart.tgz"), "outPath": "./chart.tgz"}},
        {"uses": "untar", "as": "unpack", "config": {"inPath": "./chart.tgz", "outPath": "./out", "stripComponents": 1, "ignore": "*.tmp"}}
    ]))
    .unwrap();
    let (phase, progress, waits) = run_to_end(&registry, &context, &plan).await;
    assert_eq!(phase, Phase::Succeeded, "{:#?}", progress.step_execution_metadata);
    assert_eq!(waits, 2, "two pending answers, then done");
    assert_eq!(progress.state["wait"], json!({"version": "1.2.3", "build": "42", "type": "application/json"}));
    assert_eq!(
        progress.state["post"]["echo"],
        json!({"body": "{\"v\":\"1.2.3\"}", "query": "stage=qa+env", "auth": "Bearer t0ken"})
    );
    assert_eq!(std::fs::read_to_string(work.join("out/Chart.yaml")).unwrap(), "name: app\nversion: 1.2.3\n");
    assert!(work.join("out/templates/deploy.yaml").exists());
    assert!(!work.join("out/notes.tmp").exists(), "ignored");
}

#[tokio::test]
async fn http_failures_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve(Vec::new()).await;
    std::fs::write(dir.path().join("exists"), "x").unwrap();
    let registry = convoy_steps::builtin(Arc::new(Mirrors::new(dir.path().join("m"))), Arc::new(NoResources));
    let context = PromotionContext { work_dir: dir.path().to_owned(), ..PromotionContext::default() };
    let plan: Vec<PromotionStep> = serde_json::from_value(json!([
        {"uses": "http", "as": "plain", "retry": {"timeout": "1s"}, "config": {"url": format!("{base}/broken"), "pollInterval": "0.15s"}},
        {"uses": "http", "as": "criteria", "if": "${{ always() }}", "config": {"url": format!("{base}/broken"), "failureExpression": "response.status >= 500"}},
        {"uses": "http", "as": "detail", "if": "${{ always() }}", "config": {"url": format!("{base}/missing"),
            "successExpression": "response.status == 200", "failureExpression": "response.status >= 400 && response.status < 500",
            "errorExpression": "response.body?.message ?? response.body?.error"}},
        {"uses": "http", "as": "scheme", "if": "${{ always() }}", "config": {"url": "file:///etc/passwd"}},
        {"uses": "http-download", "as": "overwrite", "if": "${{ always() }}", "config": {"url": format!("{base}/chart.tgz"), "outPath": "./exists"}},
        {"uses": "untar", "as": "notar", "if": "${{ always() }}", "config": {"inPath": "./exists", "outPath": "./out"}}
    ]))
    .unwrap();
    let (phase, progress, _) = run_to_end(&registry, &context, &plan).await;
    assert_eq!(phase, Phase::Errored, "an invalid config errors, which outranks the failures");
    let meta = |alias: &str| progress.meta(alias).unwrap().clone();
    // Without criteria a non-2xx answer is asked again until the step's timeout.
    assert_eq!(meta("plain").status, StepStatus::Errored);
    assert!(meta("plain").message.unwrap().contains("timed out"), "{:?}", meta("plain").message);
    assert_eq!(meta("criteria").status, StepStatus::Failed);
    assert!(meta("criteria").message.unwrap().contains("HTTP (500) response met failure criteria"));
    // Kargo's documented example: the message errorExpression extracts, quoted.
    assert!(
        meta("detail").message.unwrap().contains(r#"HTTP (404) response met failure criteria: "resource not found""#),
        "{:?}",
        meta("detail").message
    );
    assert!(meta("scheme").message.unwrap().contains("invalid http config: url: the scheme must be http or https"));
    assert!(meta("overwrite").message.unwrap().contains("set allowOverwrite: true"));
    assert!(meta("notar").message.unwrap().contains("cannot unpack ./exists"));
}

/// Without criteria, a non-2xx answer is asked again and a later 2xx succeeds; bodies are read
/// by media type (YAML, plain text as a string); only a failureExpression, unmet, keeps asking.
#[tokio::test]
async fn http_retries_non_2xx_and_reads_bodies_by_type() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve(Vec::new()).await;
    let registry = convoy_steps::builtin(Arc::new(Mirrors::new(dir.path().join("m"))), Arc::new(NoResources));
    let context = PromotionContext { work_dir: dir.path().to_owned(), ..PromotionContext::default() };
    let plan: Vec<PromotionStep> = serde_json::from_value(json!([
        {"uses": "http", "as": "flaky", "config": {"url": format!("{base}/flaky"), "pollInterval": "0.02s",
            "outputs": [{"name": "body", "fromExpression": "response.body"}]}},
        {"uses": "http", "as": "yaml", "config": {"url": format!("{base}/config"),
            "outputs": [{"name": "version", "fromExpression": "response.body.version"}, {"name": "features", "fromExpression": "response.body.features"}]}}
    ]))
    .unwrap();
    let (phase, progress, waits) = run_to_end(&registry, &context, &plan).await;
    assert_eq!(phase, Phase::Succeeded, "{:#?}", progress.step_execution_metadata);
    assert_eq!(waits, 1, "one 503, then 200");
    assert_eq!(progress.state["flaky"]["body"], json!("fine"), "text/plain is a string");
    assert_eq!(progress.state["yaml"], json!({"version": "2.0", "features": ["a", "b"]}));

    let plan: Vec<PromotionStep> = serde_json::from_value(json!([
        {"uses": "http", "as": "unmet", "retry": {"timeout": "1s"}, "config": {"url": format!("{base}/build"), "pollInterval": "0.15s",
            "failureExpression": "response.body.state == 'failed'"}}
    ]))
    .unwrap();
    let (phase, progress, waits) = run_to_end(&registry, &context, &plan).await;
    assert_eq!(phase, Phase::Errored, "{:#?}", progress.step_execution_metadata);
    assert!(waits >= 1, "an unmet failureExpression alone keeps asking");
}

#[tokio::test]
async fn dry_runs_send_reads_and_skip_writes() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve(Vec::new()).await;
    let registry = convoy_steps::dry_run::registry(Arc::new(Mirrors::new(dir.path().join("m"))));
    let context = PromotionContext { work_dir: dir.path().to_owned(), ..PromotionContext::default() };
    let plan: Vec<PromotionStep> = serde_json::from_value(json!([
        {"uses": "http", "as": "write", "config": {"url": format!("{base}/echo"), "method": "POST", "outputs": [{"name": "echo", "fromExpression": "response.body"}]}},
        {"uses": "http", "as": "read", "config": {"url": format!("{base}/build"), "outputs": [{"name": "state", "fromExpression": "response.body.state"}]}}
    ]))
    .unwrap();
    let (phase, progress, _) = run_to_end(&registry, &context, &plan).await;
    assert_eq!(phase, Phase::Succeeded, "{:#?}", progress.step_execution_metadata);
    assert!(progress.meta("write").unwrap().message.clone().unwrap().contains("skipped"));
    assert_eq!(progress.state.get("write").and_then(|o| o.get("echo")), None, "the POST was not sent");
    assert_eq!(progress.state["read"]["state"], json!("pending"), "the GET was sent");
}

/// helm-update-chart against a static Helm repository: a range resolves to the newest match,
/// a given version is written into Chart.yaml (comments kept), archives land in charts/, and
/// Chart.lock records the resolution; running again changes nothing.
#[tokio::test]
async fn helm_update_chart_from_an_http_repository() {
    let index = "apiVersion: v1\nentries:\n  redis:\n  - {name: redis, version: 17.3.7, urls: [charts/redis-17.3.7.tgz]}\n  - {name: redis, version: 17.4.0, urls: [charts/redis-17.4.0.tgz]}\n  - {name: redis, version: 18.0.0, urls: [charts/redis-18.0.0.tgz]}\n  common:\n  - {name: common, version: 2.1.0, urls: [charts/common-2.1.0.tgz]}\n  - {name: common, version: 2.2.0, urls: [charts/common-2.2.0.tgz]}\n";
    let app = Router::new().route("/repo/index.yaml", get(move || async move { index })).route(
        "/repo/charts/{file}",
        get(|axum::extract::Path(file): axum::extract::Path<String>| async move { format!("archive {file}") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let repo = format!("http://{}/repo", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("chart");
    std::fs::create_dir_all(chart.join("charts")).unwrap();
    std::fs::write(chart.join("charts/redis-17.3.7.tgz"), "stale").unwrap();
    let chart_yaml = format!(
        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: redis # cache\n  version: \">=17.0.0 <18.0.0\"\n  repository: {repo}\n- name: common\n  version: 2.1.0 # pinned\n  repository: {repo}/\n"
    );
    std::fs::write(chart.join("Chart.yaml"), &chart_yaml).unwrap();
    let registry = convoy_steps::builtin(Arc::new(Mirrors::new(dir.path().join("m"))), Arc::new(NoResources));
    let context = PromotionContext { work_dir: dir.path().to_owned(), ..PromotionContext::default() };
    let plan: Vec<PromotionStep> = serde_json::from_value(json!([
        {"uses": "helm-update-chart", "as": "update", "config": {"path": "./chart", "charts": [{"repository": repo, "name": "common", "version": "2.2.0"}]}}
    ]))
    .unwrap();
    let (phase, progress, _) = run_to_end(&registry, &context, &plan).await;
    assert_eq!(phase, Phase::Succeeded, "{:#?}", progress.step_execution_metadata);
    assert_eq!(
        std::fs::read_to_string(chart.join("Chart.yaml")).unwrap(),
        chart_yaml.replace("version: 2.1.0 # pinned", "version: 2.2.0 # pinned"),
        "only the given version changed; the range stays"
    );
    assert_eq!(std::fs::read_to_string(chart.join("charts/redis-17.4.0.tgz")).unwrap(), "archive redis-17.4.0.tgz");
    assert_eq!(std::fs::read_to_string(chart.join("charts/common-2.2.0.tgz")).unwrap(), "archive common-2.2.0.tgz");
    assert!(!chart.join("charts/redis-17.3.7.tgz").exists(), "the old archive is gone");
    let lock = std::fs::read_to_string(chart.join("Chart.lock")).unwrap();
    let parsed: serde_json::Value = serde_yaml::from_str(&lock).unwrap();
    assert_eq!(parsed["dependencies"][0], json!({"name": "redis", "repository": repo, "version": "17.4.0"}));
    assert_eq!(parsed["dependencies"][1]["version"], "2.2.0");
    assert!(parsed["digest"].as_str().unwrap().starts_with("sha256:"));
    let message = progress.state["update"]["commitMessage"].as_str().unwrap();
    assert!(
        message.contains("- redis: (none) -> 17.4.0") && message.contains("- common: (none) -> 2.2.0"),
        "{message}"
    );
    // Again: same resolution, Chart.lock byte for byte the same.
    let (phase, _, _) = run_to_end(&registry, &context, &plan).await;
    assert_eq!(phase, Phase::Succeeded);
    assert_eq!(std::fs::read_to_string(chart.join("Chart.lock")).unwrap(), lock);
}
