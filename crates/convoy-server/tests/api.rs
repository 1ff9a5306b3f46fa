//! The HTTP API in-process (router + oneshot), over the in-memory store.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use convoy_server::{AppState, router};
use convoy_store::{MemoryStore, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "test-token";

async fn app() -> axum::Router {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    convoy_server::add_admin_token(&*store, TOKEN).await.unwrap();
    router(Arc::new(AppState::new(store).await.unwrap()))
}

async fn call(app: &axum::Router, method: &str, path: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path).header("content-type", "application/yaml");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app.clone().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned())))
}

const PROJECT: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: p}\n";
const WAREHOUSE: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: p}\nspec:\n  subscriptions:\n  - image: {repoURL: ghcr.io/example/app}\n";

/// Every route of the API, with a method it answers.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/apply"),
    ("GET", "/v1/diagnostics"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/projects"),
    ("GET", "/v1/projects/p"),
    ("PUT", "/v1/projects/p"),
    ("DELETE", "/v1/projects/p"),
    ("GET", "/v1/clusterpromotiontasks"),
    ("GET", "/v1/projects/p/stages"),
    ("POST", "/v1/projects/p/promotions"),
    ("POST", "/v1/projects/p/stages/s/promote"),
    ("POST", "/v1/projects/p/stages/s/promote-downstream"),
    ("POST", "/v1/projects/p/stages/s/verify"),
    ("POST", "/v1/projects/p/stages/s/refresh"),
    ("POST", "/v1/projects/p/warehouses/w/refresh"),
    ("POST", "/v1/projects/p/freight/f/approve"),
    ("POST", "/v1/projects/p/promotions/x/abort"),
    ("GET", "/v1/projects/p/stages/s"),
    ("PUT", "/v1/projects/p/stages/s"),
    ("PATCH", "/v1/projects/p/stages/s"),
    ("DELETE", "/v1/projects/p/stages/s"),
    ("GET", "/v1/projects/p/stages?watch=true"),
    ("GET", "/no/such/path"),
    ("DELETE", "/v1"),
];

#[tokio::test]
async fn every_route_needs_a_valid_token() {
    let app = app().await;
    for (method, path) in ROUTES {
        for token in [None, Some("wrong-token")] {
            let (status, body) = call(&app, method, path, token, "").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with {token:?}: {body}");
            assert_eq!(body["code"], "Unauthorized");
        }
    }
    for path in ["/healthz", "/readyz", "/version"] {
        let (status, _) = call(&app, "GET", path, None, "").await;
        assert_eq!(status, StatusCode::OK, "{path} is public");
    }
    let (status, _) = call(&app, "POST", "/webhooks/github/abc", None, "{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "webhook receivers authenticate by signature, not token");
}

#[tokio::test]
async fn apply_get_list_and_delete() {
    let app = app().await;
    let (status, body) = call(&app, "POST", "/v1/apply", Some(TOKEN), &format!("{PROJECT}---\n{WAREHOUSE}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let actions: Vec<&str> = body["items"].as_array().unwrap().iter().map(|i| i["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "created"]);
    let (_, again) = call(&app, "POST", "/v1/apply", Some(TOKEN), &format!("{PROJECT}---\n{WAREHOUSE}")).await;
    assert!(
        again["items"].as_array().unwrap().iter().all(|i| i["action"] == "unchanged"),
        "re-applying is a no-op: {again}"
    );
    let (status, warehouse) = call(&app, "GET", "/v1/projects/p/warehouses/w", Some(TOKEN), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(warehouse["spec"]["interval"], "5m0s", "admission defaulted it");
    let (_, list) = call(&app, "GET", "/v1/projects/p/warehouses", Some(TOKEN), "").await;
    assert_eq!((list["kind"].as_str(), list["items"].as_array().unwrap().len()), (Some("List"), 1));
    let (status, _) = call(&app, "DELETE", "/v1/projects/p/warehouses/w", Some(TOKEN), "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(&app, "GET", "/v1/projects/p/warehouses/w", Some(TOKEN), "").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("NotFound")));
}

#[tokio::test]
async fn apply_is_all_or_nothing_and_names_the_field() {
    let app = app().await;
    let broken = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: s, namespace: p}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n  promotionTemplate:\n    spec:\n      steps:\n      - task: {name: missing}\n";
    let (status, body) =
        call(&app, "POST", "/v1/apply", Some(TOKEN), &format!("{PROJECT}---\n{WAREHOUSE}---\n{broken}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let detail = body["details"].as_array().unwrap().iter().find(|d| d["severity"] == "error").unwrap();
    assert_eq!(detail["path"], "documents[2].spec.promotionTemplate.spec.steps[0].task.name");
    let (status, _) = call(&app, "GET", "/v1/projects/p", Some(TOKEN), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing from the set was stored");
    let (status, body) = call(
        &app,
        "POST",
        "/v1/apply",
        Some(TOKEN),
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: p}\nspec: {}\n",
    )
    .await;
    assert_eq!(
        (status, body["details"][0]["path"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("documents[0].spec"))
    );
}

#[tokio::test]
async fn stale_resource_version_is_a_conflict() {
    let app = app().await;
    call(&app, "POST", "/v1/apply", Some(TOKEN), &format!("{PROJECT}---\n{WAREHOUSE}")).await;
    let (_, current) = call(&app, "GET", "/v1/projects/p/warehouses/w", Some(TOKEN), "").await;
    let rv: i64 = current["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
    let mut changed = current.clone();
    changed["spec"]["interval"] = json!("10m");
    let (status, body) = call(&app, "PUT", "/v1/projects/p/warehouses/w", Some(TOKEN), &changed.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    changed["spec"]["interval"] = json!("15m");
    changed["metadata"]["resourceVersion"] = json!(rv.to_string());
    let (status, body) = call(&app, "PUT", "/v1/projects/p/warehouses/w", Some(TOKEN), &changed.to_string()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("Conflict")), "{body}");
}

#[tokio::test]
async fn secret_data_is_never_returned() {
    let app = app().await;
    let secret =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: p}\nstringData: {password: hunter2}\n";
    let (status, body) = call(&app, "POST", "/v1/apply", Some(TOKEN), &format!("{PROJECT}---\n{secret}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for path in ["/v1/projects/p/secrets/creds", "/v1/projects/p/secrets"] {
        let (_, body) = call(&app, "GET", path, Some(TOKEN), "").await;
        let text = body.to_string();
        assert!(!text.contains("hunter2") && !text.contains("aHVudGVyMg"), "{path}: {text}");
    }
}

#[tokio::test]
async fn old_clients_are_refused_and_versions_are_stamped() {
    let app = app().await;
    let request = Request::builder().uri("/version").header("x-convoy-version", "0.0.1").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["x-convoy-server-version"], env!("CARGO_PKG_VERSION"));
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("install convoy 0.1.0 or newer"));
}

#[tokio::test]
async fn watch_streams_events_and_resumes() {
    use futures::StreamExt;
    let app = app().await;
    call(&app, "POST", "/v1/apply", Some(TOKEN), PROJECT).await;
    let request = Request::builder()
        .uri("/v1/projects?watch=true")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body().into_data_stream();
    let mut text = String::new();
    let writer = {
        let app = app.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            call(
                &app,
                "POST",
                "/v1/apply",
                Some(TOKEN),
                "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: q}\n",
            )
            .await;
            call(&app, "DELETE", "/v1/projects/q", Some(TOKEN), "").await;
        })
    };
    while !text.contains("event: DELETED") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), body.next())
            .await
            .expect("events within 10 s")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    writer.await.unwrap();
    let events: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(events, ["ADDED", "ADDED", "DELETED"], "the existing project, then q added and deleted:\n{text}");
    let ids: Vec<i64> = text.lines().filter_map(|l| l.strip_prefix("id: ")).map(|i| i.parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // Resuming after the first live event replays only the deletion.
    let request = Request::builder()
        .uri("/v1/projects?watch=true")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("last-event-id", ids[1].to_string())
        .body(Body::empty())
        .unwrap();
    let mut resumed = app.clone().oneshot(request).await.unwrap().into_body().into_data_stream();
    let chunk =
        tokio::time::timeout(std::time::Duration::from_secs(10), resumed.next()).await.unwrap().unwrap().unwrap();
    let first = String::from_utf8_lossy(&chunk).into_owned();
    assert!(first.contains("event: DELETED") && first.contains(&format!("id: {}", ids[2])), "{first}");
}

/// `?limit=&continue=` as Kubernetes: pages in name order, a token while more follow, every
/// object exactly once; a token whose revision the store no longer keeps is 410, garbage is 400.
#[tokio::test]
async fn lists_page_with_limit_and_continue() {
    let inner: Arc<dyn Store> = Arc::new(MemoryStore::with_retention(30));
    convoy_server::add_admin_token(&*inner, TOKEN).await.unwrap();
    let cache = convoy_store::CachedStore::start(inner, vec![]).await.unwrap();
    let app = router(Arc::new(AppState::new(cache).await.unwrap()));
    let mut documents = vec![PROJECT.to_owned(), WAREHOUSE.to_owned()];
    for i in 0..7 {
        documents.push(format!("apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {{name: s{i}, namespace: p}}\nspec:\n  requestedFreight:\n  - origin: {{kind: Warehouse, name: w}}\n    sources: {{direct: true}}\n"));
    }
    let (status, body) = call(&app, "POST", "/v1/apply", Some(TOKEN), &documents.join("---\n")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut seen = Vec::new();
    let mut path = "/v1/projects/p/stages?limit=3".to_owned();
    let mut pages = 0;
    let mut first_revision = None;
    loop {
        let (status, page) = call(&app, "GET", &path, Some(TOKEN), "").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3, "a page holds at most the limit");
        seen.extend(items.iter().map(|i| i["metadata"]["name"].as_str().unwrap().to_owned()));
        let revision = page["metadata"]["resourceVersion"].clone();
        assert_eq!(
            first_revision.get_or_insert(revision.clone()),
            &revision,
            "every page names the first one's revision"
        );
        match page["metadata"]["continue"].as_str() {
            Some(token) => {
                path = format!(
                    "/v1/projects/p/stages?limit=3&continue={}",
                    token.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
                )
            }
            None => break,
        }
    }
    assert_eq!(pages, 3, "7 Stages in pages of 3");
    assert_eq!(seen, (0..7).map(|i| format!("s{i}")).collect::<Vec<_>>());
    let (status, body) = call(&app, "GET", "/v1/projects/p/stages?limit=3&continue=garbage!", Some(TOKEN), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Push the first page's revision out of the retained events: its token expires.
    let (_, first) = call(&app, "GET", "/v1/projects/p/stages?limit=3", Some(TOKEN), "").await;
    let token = first["metadata"]["continue"].as_str().unwrap().to_owned();
    for i in 0..40 {
        let patch = format!("{{\"metadata\": {{\"labels\": {{\"n\": \"{i}\"}}}}}}");
        let (status, body) = call(&app, "PATCH", "/v1/projects/p/stages/s0", Some(TOKEN), &patch).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let encoded = token.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    let (status, body) =
        call(&app, "GET", &format!("/v1/projects/p/stages?limit=3&continue={encoded}"), Some(TOKEN), "").await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert!(body["message"].as_str().unwrap().contains("list again"), "{body}");
}

/// Aliases generated within one apply are unique: 400 Freight in one call (the word pairs
/// number about 4,000, so without the set's own aliases in view some would repeat).
#[tokio::test]
async fn aliases_generated_in_one_apply_are_unique() {
    let app = app().await;
    let mut documents = vec![PROJECT.to_owned(), WAREHOUSE.to_owned()];
    for i in 0..400 {
        documents.push(format!("apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {{namespace: p}}\norigin: {{kind: Warehouse, name: w}}\nimages:\n- {{repoURL: ghcr.io/example/app, tag: '1.0.{i}'}}\n"));
    }
    let (status, body) = call(&app, "POST", "/v1/apply", Some(TOKEN), &documents.join("---\n")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = call(&app, "GET", "/v1/projects/p/freight", Some(TOKEN), "").await;
    let mut aliases: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|f| f["alias"].as_str().unwrap()).collect();
    assert_eq!(aliases.len(), 400);
    aliases.sort();
    aliases.dedup();
    assert_eq!(aliases.len(), 400, "every alias distinct");
}

/// Aliases are checked against the project's stored Freight (read from their alias label, the
/// Freight themselves are not loaded), and an alias moved away within the same set is free.
#[tokio::test]
async fn an_alias_taken_by_stored_freight_is_refused_unless_the_set_moves_it() {
    let app = app().await;
    let freight = |tag: &str, alias: &str| {
        format!(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {{namespace: p}}\nalias: {alias}\norigin: {{kind: Warehouse, name: w}}\nimages:\n- {{repoURL: ghcr.io/example/app, tag: '{tag}'}}\n"
        )
    };
    let first = [PROJECT.to_owned(), WAREHOUSE.to_owned(), freight("1.0.0", "taken")].join("---\n");
    let (status, body) = call(&app, "POST", "/v1/apply", Some(TOKEN), &first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&app, "POST", "/v1/apply", Some(TOKEN), &freight("2.0.0", "taken")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("alias already used by another piece of Freight"), "{body}");
    let moved = [freight("1.0.0", "other"), freight("2.0.0", "taken")].join("---\n");
    let (status, body) = call(&app, "POST", "/v1/apply", Some(TOKEN), &moved).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Applying the same Freight again, a second or more later, changes nothing: its discovery time
/// is the one it got when created, not the time of the second apply.
#[tokio::test]
async fn freight_applied_again_is_unchanged() {
    let app = app().await;
    let freight = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {namespace: p}\nalias: same\norigin: {kind: Warehouse, name: w}\nimages:\n- {repoURL: ghcr.io/example/app, tag: 1.0.0}\n";
    let set = format!("{PROJECT}---\n{WAREHOUSE}---\n{freight}");
    let (status, first) = call(&app, "POST", "/v1/apply", Some(TOKEN), &set).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, again) = call(&app, "POST", "/v1/apply", Some(TOKEN), &set).await;
    let actions: Vec<&str> = again["items"].as_array().unwrap().iter().map(|i| i["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["unchanged", "unchanged", "unchanged"], "{again}");
}
