//! Every role × every API route → allowed or refused, from a table written from Kargo's role
//! definitions (not from the code): a route added to the server without a row here fails.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use convoy_server::{AppState, router};
use convoy_store::{Grant, MemoryStore, Store, TokenRecord};
use tower::ServiceExt;

/// The identities: a token each, with one role.
const ROLES: &[(&str, &str, &str)] = &[
    ("SA", "", "kargo-admin"),
    ("SV", "", "kargo-viewer"),
    ("SU", "", "kargo-user"),
    ("SC", "", "kargo-project-creator"),
    ("PA", "shop", "kargo-admin"),
    ("PP", "shop", "kargo-promoter"),
    ("PV", "shop", "kargo-viewer"),
    ("OA", "bank", "kargo-admin"),
];

const ALL: &str = "SA SV SU SC PA PP PV OA";

/// (method, route as registered, concrete path, body, who is allowed). `*` = public (no token).
const TABLE: &[(&str, &str, &str, &str, &str)] = &[
    ("GET", "/healthz", "/healthz", "", "*"),
    ("GET", "/readyz", "/readyz", "", "*"),
    ("GET", "/version", "/version", "", "*"),
    ("POST", "/webhooks/{kind}/{hash}", "/webhooks/github/nosuch", "{}", "*"),
    ("GET", "/v1/openapi.json", "/v1/openapi.json", "", ALL),
    ("GET", "/v1/auth/config", "/v1/auth/config", "", "*"),
    ("GET", "/auth/login", "/auth/login?next=/", "", "*"),
    ("GET", "/auth/callback", "/auth/callback?code=x&state=y", "", "*"),
    ("POST", "/v1/apply", "/v1/apply?dryRun=true", STAGE_PROD, "SA PA"),
    ("GET", "/v1/diagnostics", "/v1/diagnostics", "", "SA"),
    ("GET", "/v1/audit", "/v1/audit", "", "SA SV PA OA"),
    ("GET", "/v1/tokens", "/v1/tokens", "", "SA"),
    ("POST", "/v1/tokens", "/v1/tokens", r#"{"name":"NAME","role":"kargo-viewer"}"#, "SA"),
    ("DELETE", "/v1/tokens/{name}", "/v1/tokens/nosuch", "", "SA"),
    ("GET", "/v1/roles", "/v1/roles", "", "SA SV"),
    ("POST", "/v1/roles/{role}/grants", "/v1/roles/kargo-viewer/grants", r#"{"tokens":["nosuch"]}"#, "SA"),
    ("POST", "/v1/roles/{role}/revocations", "/v1/roles/kargo-viewer/revocations", r#"{"tokens":["nosuch"]}"#, "SA"),
    ("GET", "/v1/projects/{project}/tokens", "/v1/projects/shop/tokens", "", "SA PA"),
    (
        "POST",
        "/v1/projects/{project}/tokens",
        "/v1/projects/shop/tokens",
        r#"{"name":"NAME","role":"kargo-viewer"}"#,
        "SA PA",
    ),
    ("DELETE", "/v1/projects/{project}/tokens/{name}", "/v1/projects/shop/tokens/nosuch", "", "SA PA"),
    (
        "POST",
        "/v1/projects/{project}/roles/{role}/grants",
        "/v1/projects/shop/roles/kargo-viewer/grants",
        r#"{"claims":[{"name":"groups","values":["eng"]}]}"#,
        "SA PA",
    ),
    (
        "POST",
        "/v1/projects/{project}/roles/{role}/revocations",
        "/v1/projects/shop/roles/kargo-viewer/revocations",
        r#"{"claims":[{"name":"groups","values":["eng"]}]}"#,
        "SA PA",
    ),
    (
        "POST",
        "/v1/projects/{project}/stages/{stage}/promote",
        "/v1/projects/shop/stages/prod/promote",
        r#"{"freight":"nosuch"}"#,
        "SA PA PP",
    ),
    (
        "POST",
        "/v1/projects/{project}/stages/{stage}/promote-downstream",
        "/v1/projects/shop/stages/test/promote-downstream",
        r#"{"freight":"nosuch"}"#,
        "SA PA PP",
    ),
    ("POST", "/v1/projects/{project}/stages/{stage}/verify", "/v1/projects/shop/stages/prod/verify", "", "SA PA"),
    ("POST", "/v1/projects/{project}/stages/{stage}/refresh", "/v1/projects/shop/stages/prod/refresh", "", "SA PA"),
    (
        "POST",
        "/v1/projects/{project}/warehouses/{warehouse}/refresh",
        "/v1/projects/shop/warehouses/app/refresh",
        "",
        "SA PA",
    ),
    (
        "POST",
        "/v1/projects/{project}/freight/{freight}/approve",
        "/v1/projects/shop/freight/nosuch/approve",
        r#"{"stage":"prod"}"#,
        "SA PA PP",
    ),
    (
        "POST",
        "/v1/projects/{project}/promotions/{promotion}/abort",
        "/v1/projects/shop/promotions/nosuch/abort",
        "",
        "SA PA",
    ),
    ("GET", "/v1/{plural}", "/v1/clusterconfigs", "", "SA SV SU SC"),
    ("GET", "/v1/{plural}/{name}", "/v1/clusterconfigs/cluster", "", "SA SV SU SC"),
    ("PUT", "/v1/{plural}/{name}", "/v1/projects/shop?dryRun=true", PROJECT_SHOP, "SA PA"),
    ("DELETE", "/v1/{plural}/{name}", "/v1/projects/shop?dryRun=true", "", "SA PA"),
    ("GET", "/v1/projects/{project}/{plural}", "/v1/projects/shop/stages", "", "SA SV PA PP PV"),
    ("POST", "/v1/projects/{project}/{plural}", "/v1/projects/shop/stages?dryRun=true", STAGE_QA, "SA PA"),
    ("GET", "/v1/projects/{project}/{plural}/{name}", "/v1/projects/shop/stages/prod", "", "SA SV PA PP PV"),
    ("PUT", "/v1/projects/{project}/{plural}/{name}", "/v1/projects/shop/stages/prod?dryRun=true", STAGE_PROD, "SA PA"),
    ("DELETE", "/v1/projects/{project}/{plural}/{name}", "/v1/projects/shop/stages/prod?dryRun=true", "", "SA PA"),
    (
        "PATCH",
        "/v1/projects/{project}/{plural}/{name}",
        "/v1/projects/shop/stages/prod?dryRun=true",
        r#"{"metadata":{"labels":{"a":"b"}}}"#,
        "SA PA",
    ),
];

const PROJECT_SHOP: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: shop}\n";
const STAGE_PROD: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: prod, namespace: shop}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: app}\n    sources: {stages: [test]}\n  promotionTemplate:\n    spec:\n      steps:\n      - uses: git-clear\n";
const STAGE_QA: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: qa, namespace: shop}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: app}\n    sources: {direct: true}\n  promotionTemplate:\n    spec:\n      steps:\n      - uses: git-clear\n";

const SETUP: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: shop}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: bank}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: app, namespace: shop}\nspec:\n  subscriptions:\n  - image: {repoURL: ghcr.io/example/app}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: test, namespace: shop}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: app}\n    sources: {direct: true}\n  promotionTemplate:\n    spec:\n      steps:\n      - uses: git-clear\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: shop}\nstringData: {password: hunter2}\n";

fn token_of(label: &str) -> String {
    format!("token-{label}")
}

async fn server() -> axum::Router {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    convoy_server::add_admin_token(&*store, "bootstrap").await.unwrap();
    for (label, project, role) in ROLES {
        store
            .create_token(TokenRecord {
                name: label.to_ascii_lowercase(),
                hash: convoy_server::hash_token(&token_of(label)),
                project: project.to_string(),
                grants: vec![Grant { project: project.to_string(), role: role.to_string() }],
                created_at: "2026-01-01T00:00:00Z".into(),
                created_by: "test".into(),
                expires_at: None,
                last_used_at: None,
                revoked_at: None,
            })
            .await
            .unwrap();
    }
    let app = router(Arc::new(AppState::new(store).await.unwrap()));
    for body in [SETUP, STAGE_PROD] {
        let (status, text) = call(&app, "POST", "/v1/apply", Some("bootstrap"), body).await;
        assert!(status.is_success(), "setup: {status}: {text}");
    }
    app
}

async fn call(app: &axum::Router, method: &str, path: &str, token: Option<&str>, body: &str) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(path).header("content-type", "application/yaml");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app.clone().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[test]
fn every_route_has_a_row() {
    let registered: BTreeSet<(&str, &str)> = convoy_server::route_table().routes.into_iter().collect();
    let decided: BTreeSet<(&str, &str)> = TABLE.iter().map(|(m, r, ..)| (*m, *r)).collect();
    let undecided: Vec<_> = registered.difference(&decided).collect();
    assert!(undecided.is_empty(), "routes without an allow/deny row in TABLE: {undecided:?}");
    let stale: Vec<_> = decided.difference(&registered).collect();
    assert!(stale.is_empty(), "rows for routes the server does not have: {stale:?}");
}

#[tokio::test]
async fn every_role_on_every_route() {
    let app = server().await;
    let mut wrong = Vec::new();
    for (method, route, path, body, allowed) in TABLE {
        let allowed: Vec<&str> = allowed.split_whitespace().collect();
        if allowed == ["*"] {
            let (status, _) = call(&app, method, path, None, body).await;
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                wrong.push(format!("{method} {route}: public, but anonymous got {status}"));
            }
            continue;
        }
        let (status, _) = call(&app, method, path, None, body).await;
        if status != StatusCode::UNAUTHORIZED {
            wrong.push(format!("{method} {route}: anonymous got {status}, not 401"));
        }
        for (label, ..) in ROLES {
            let body = body.replace("NAME", &format!("t-{}", label.to_ascii_lowercase()));
            let (status, text) = call(&app, method, path, Some(&token_of(label)), &body).await;
            let expected = allowed.contains(label);
            let refused = status == StatusCode::FORBIDDEN;
            if expected == refused || status == StatusCode::UNAUTHORIZED {
                wrong.push(format!(
                    "{method} {route} as {label}: expected {}, got {status}: {text}",
                    if expected { "allowed" } else { "403" }
                ));
            }
            if refused && !text.contains("missing permission") {
                wrong
                    .push(format!("{method} {route} as {label}: the 403 does not name the missing permission: {text}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong decisions:\n{}", wrong.len(), wrong.join("\n"));
}

#[tokio::test]
async fn secrets_are_for_admins_and_projects_are_listed_by_role() {
    let app = server().await;
    for (label, expected) in [
        ("PA", StatusCode::OK),
        ("PV", StatusCode::FORBIDDEN),
        ("PP", StatusCode::FORBIDDEN),
        ("SV", StatusCode::FORBIDDEN),
    ] {
        let (status, text) = call(&app, "GET", "/v1/projects/shop/secrets/creds", Some(&token_of(label)), "").await;
        assert_eq!(status, expected, "{label}: {text}");
        assert!(!text.contains("hunter2"), "a Secret's value never leaves the server");
    }
    // Kargo answers 403 to a project member listing Projects; Convoy lists the ones it has.
    let names = |text: &str| -> Vec<String> {
        let list: serde_json::Value = serde_json::from_str(text).unwrap();
        list["items"].as_array().unwrap().iter().map(|p| p["metadata"]["name"].as_str().unwrap().to_owned()).collect()
    };
    let (_, text) = call(&app, "GET", "/v1/projects", Some(&token_of("PV")), "").await;
    assert_eq!(names(&text), ["shop"]);
    let (_, text) = call(&app, "GET", "/v1/projects", Some(&token_of("OA")), "").await;
    assert_eq!(names(&text), ["bank"]);
    let (_, text) = call(&app, "GET", "/v1/projects", Some(&token_of("SU")), "").await;
    assert_eq!(names(&text), ["bank", "shop"]);
    let (status, _) = call(&app, "GET", "/v1/projects/shop", Some(&token_of("OA")), "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

const ROLE_EVERYTHING: &str = "apiVersion: rbac.kargo.akuity.io/v1alpha1\nkind: Role\nmetadata: {name: root, namespace: shop}\nrules:\n- resources: ['*']\n  verbs: ['*']\n";
const ROLE_PROMOTION_WRITER: &str = "apiVersion: rbac.kargo.akuity.io/v1alpha1\nkind: Role\nmetadata: {name: writer, namespace: shop}\nrules:\n- resources: [promotions]\n  verbs: [create]\n- resources: [stages]\n  verbs: [get, list]\n";
const PROMOTION: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Promotion\nmetadata: {name: by-hand, namespace: shop}\nspec: {stage: test, freight: nosuch}\n";

#[tokio::test]
async fn roles_written_as_objects_are_held_to_the_writer_and_promotions_need_promote() {
    let app = server().await;
    // A project admin cannot write a role that gives what it does not hold itself.
    let (status, text) = call(&app, "POST", "/v1/apply", Some(&token_of("PA")), ROLE_EVERYTHING).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("a role can only grant what its granter holds"), "{text}");
    let (status, text) = call(&app, "POST", "/v1/apply", Some(&token_of("PA")), ROLE_PROMOTION_WRITER).await;
    assert!(status.is_success(), "{text}");
    // A token with create on promotions but no promote on the Stage cannot promote by writing
    // a Promotion (Kargo's Promotion webhook).
    let grant = r#"{"tokens":["pv"]}"#;
    let (status, text) =
        call(&app, "POST", "/v1/projects/shop/roles/writer/grants", Some(&token_of("PA")), grant).await;
    assert!(status.is_success(), "{text}");
    let (status, text) = call(&app, "POST", "/v1/apply", Some(&token_of("PV")), PROMOTION).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("missing permission: promote stages/test in project shop"), "{text}");
}

#[tokio::test]
async fn a_project_creator_administers_what_it_creates() {
    let app = server().await;
    let project = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: fresh}\n";
    let (status, text) = call(&app, "PUT", "/v1/projects/fresh", Some(&token_of("SC")), project).await;
    assert!(status.is_success(), "{text}");
    let warehouse = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: app, namespace: fresh}\nspec:\n  subscriptions:\n  - image: {repoURL: ghcr.io/example/app}\n";
    let (status, text) = call(&app, "POST", "/v1/apply", Some(&token_of("SC")), warehouse).await;
    assert!(status.is_success(), "the creator is the new project's admin: {text}");
    let (status, _) = call(&app, "POST", "/v1/apply", Some(&token_of("SC")), STAGE_QA).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "and nothing more");
    let other = project.replace("fresh", "other");
    let (status, _) = call(&app, "PUT", "/v1/projects/other", Some(&token_of("SU")), &other).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "kargo-user does not create projects");
}

#[tokio::test]
async fn ui_pages_follow_the_same_roles() {
    let app = server().await;
    let page = |path: &'static str, label: &'static str| {
        let app = app.clone();
        async move {
            let request = Request::builder()
                .uri(path)
                .header("cookie", format!("convoy_session={}", token_of(label)))
                .body(Body::empty())
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let (status, text) = page("/", "PV").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("/p/shop") && !text.contains("/p/bank"), "a viewer of shop sees shop only");
    assert_eq!(page("/p/shop", "PV").await.0, StatusCode::OK);
    assert_eq!(page("/p/shop", "OA").await.0, StatusCode::FORBIDDEN);
    assert_eq!(page("/p/shop/stages/test", "OA").await.0, StatusCode::FORBIDDEN);
    assert_eq!(page("/p/bank", "OA").await.0, StatusCode::OK);
}

/// A page's live stream starts at the revision the page was rendered at: a change made in
/// between is announced as soon as the stream opens (the page would otherwise miss it).
#[tokio::test]
async fn the_live_stream_announces_changes_made_since_the_page_was_rendered() {
    use futures::StreamExt;
    let app = server().await;
    let request = Request::builder()
        .uri("/p/shop/live?since=1")
        .header("cookie", format!("convoy_session={}", token_of("PV")))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body().into_data_stream();
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), body.next())
        .await
        .expect("announced at once, not at the next change")
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk).into_owned();
    assert!(text.contains("event: changed"), "{text}");
}
