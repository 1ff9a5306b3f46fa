//! Image and chart discovery against a real registry (`docker-registry`, distribution v2) and a
//! static Helm repository; pagination, token exchange and 429 against a local server that
//! produces them (the real registry ignores `?n=` and has no token service).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use convoy_api::{ChartSubscription, ImageSubscription};
use convoy_discovery::registry::Registries;
use convoy_discovery::testing::{Pusher, start_registry};
use convoy_git::Credentials;
use serde_json::{Value, json};

fn image_sub(value: Value) -> ImageSubscription {
    serde_json::from_value(value).unwrap()
}

#[tokio::test]
async fn images_from_a_real_registry() {
    let dir = tempfile::tempdir().unwrap();
    let Some(registry) = start_registry(dir.path(), None) else { return };
    let pusher = Pusher { client: reqwest::Client::new(), base: format!("http://{}", registry.address), auth: None };
    let mut digests = std::collections::HashMap::new();
    for (tag, created) in [
        ("1.0.0", "2024-01-03T00:00:00Z"),
        ("1.2.0", "2024-01-01T00:00:00Z"),
        ("v1.10.0", "2024-01-02T00:00:00Z"),
        ("2.0.0-rc.1", "2024-01-04T00:00:00Z"),
        ("1.3", "2024-01-05T00:00:00Z"),
        ("latest", "2024-01-06T00:00:00Z"),
    ] {
        digests.insert(tag, pusher.image("team/app", tag, "amd64", created).await.0);
    }
    let registries = Registries::new();
    let repo = format!("{}/team/app", registry.address);
    let discover = |sub: Value| {
        let registries = &registries;
        async move { convoy_discovery::image::discover(registries, &image_sub(sub), None).await }
    };
    let tags = |found: &Value| {
        found["references"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["tag"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };

    // SemVer, strict by default: `1.3` and `latest` are out; greatest first.
    let found = discover(json!({"repoURL": repo})).await.unwrap();
    assert_eq!(tags(&found), ["2.0.0-rc.1", "v1.10.0", "1.2.0", "1.0.0"]);
    assert_eq!(found["references"][1]["digest"], json!(digests["v1.10.0"]), "the digest is the manifest's sha256");
    assert_eq!(found["references"][1]["annotations"]["org.opencontainers.image.source"], "https://example.com/app");
    let found = discover(json!({"repoURL": repo, "constraint": "^1.2", "strictSemvers": false})).await.unwrap();
    assert_eq!(tags(&found), ["v1.10.0", "1.3", "1.2.0"]);
    let found = discover(json!({"repoURL": repo, "imageSelectionStrategy": "Lexical", "ignoreTagsRegexes": ["^latest$"], "discoveryLimit": 2})).await.unwrap();
    assert_eq!(tags(&found), ["v1.10.0", "2.0.0-rc.1"]);
    let found =
        discover(json!({"repoURL": repo, "imageSelectionStrategy": "NewestBuild", "allowTagsRegexes": ["^[0-9v]"]}))
            .await
            .unwrap();
    assert_eq!(tags(&found), ["1.3", "2.0.0-rc.1", "1.0.0", "v1.10.0", "1.2.0"]);
    assert_eq!(found["references"][0]["createdAt"], "2024-01-05T00:00:00Z");
    let found =
        discover(json!({"repoURL": repo, "imageSelectionStrategy": "Digest", "constraint": "latest"})).await.unwrap();
    assert_eq!(found["references"][0]["digest"], json!(digests["latest"]));

    // Nothing matches: the error says which filters to look at.
    let error = discover(json!({"repoURL": repo, "constraint": ">=5"})).await.unwrap_err();
    assert!(error.message.contains("discovered nothing") && error.message.contains("constraint"), "{error}");
    let error = discover(json!({"repoURL": repo, "allowTags": "^v"})).await.unwrap_err();
    assert_eq!(error.message, "AllowTags is deprecated and unsupported as of v1.11.0; use AllowTagsRegexes instead");
    let error = discover(json!({"repoURL": format!("{}/team/missing", registry.address)})).await.unwrap_err();
    assert!(error.message.contains("not found"), "{error}");
}

#[tokio::test]
async fn the_platform_of_a_multi_arch_index() {
    let dir = tempfile::tempdir().unwrap();
    let Some(registry) = start_registry(dir.path(), None) else { return };
    let pusher = Pusher { client: reqwest::Client::new(), base: format!("http://{}", registry.address), auth: None };
    let (amd64, amd64_size) = pusher.image("multi", "amd64-only", "amd64", "2024-01-01T00:00:00Z").await;
    let (arm64, arm64_size) = pusher.image("multi", "arm64-only", "arm64", "2024-01-01T00:00:00Z").await;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd64, "size": amd64_size, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm64, "size": arm64_size, "platform": {"os": "linux", "architecture": "arm64"}}
        ]
    });
    let index_digest = pusher.manifest("multi", "1.0.0", "application/vnd.oci.image.index.v1+json", &index).await;
    let registries = Registries::new();
    let repo = format!("{}/multi", registry.address);
    let found = |platform: Option<&str>| {
        let mut sub = json!({"repoURL": repo, "allowTagsRegexes": ["^1"]});
        if let Some(p) = platform {
            sub["platform"] = json!(p);
        }
        let registries = &registries;
        async move { convoy_discovery::image::discover(registries, &image_sub(sub), None).await }
    };
    assert_eq!(found(Some("linux/arm64")).await.unwrap()["references"][0]["digest"], json!(arm64));
    assert_eq!(found(Some("linux/amd64")).await.unwrap()["references"][0]["digest"], json!(amd64));
    assert_eq!(found(None).await.unwrap()["references"][0]["digest"], json!(index_digest), "no platform: the index");
    assert!(found(Some("linux/s390x")).await.unwrap_err().message.contains("platform"));
}

#[tokio::test]
async fn basic_auth_registry_and_helm_oci_charts() {
    let dir = tempfile::tempdir().unwrap();
    let Some(registry) = start_registry(dir.path(), Some(("alice", "s3cret"))) else { return };
    let pusher = Pusher {
        client: reqwest::Client::new(),
        base: format!("http://{}", registry.address),
        auth: Some(("alice".into(), "s3cret".into())),
    };
    for version in ["0.9.0", "1.0.0", "1.2.0+build.5", "2.0.0"] {
        // A Helm OCI chart: Helm's config and chart-content media types; `+` is `_` in tags.
        let config = format!("{{\"name\":\"app\",\"version\":\"{version}\"}}").into_bytes();
        let content = format!("chart {version}").into_bytes();
        let config_digest = pusher.blob("charts/app", &config).await;
        let content_digest = pusher.blob("charts/app", &content).await;
        let manifest = json!({
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": content_digest, "size": content.len()}]
        });
        pusher
            .manifest("charts/app", &version.replace('+', "_"), "application/vnd.oci.image.manifest.v1+json", &manifest)
            .await;
    }
    let registries = Registries::new();
    let sub: ChartSubscription = serde_json::from_value(
        json!({"repoURL": format!("oci://{}/charts/app", registry.address), "semverConstraint": "^1.0.0"}),
    )
    .unwrap();
    let error = convoy_discovery::chart::discover(&registries, &sub, None).await.unwrap_err();
    assert!(error.message.contains("requires credentials") && error.message.contains("cred-type"), "{error}");
    let wrong = Credentials { username: "alice".into(), password: "nope".into() };
    let error = convoy_discovery::chart::discover(&registries, &sub, Some(&wrong)).await.unwrap_err();
    assert!(error.message.contains("rejected the credentials"), "{error}");
    assert!(!error.message.contains("nope"), "the password is never shown");
    let right = Credentials { username: "alice".into(), password: "s3cret".into() };
    let found = convoy_discovery::chart::discover(&registries, &sub, Some(&right)).await.unwrap();
    assert_eq!(found["versions"], json!(["1.2.0+build.5", "1.0.0"]));
}

/// A static Helm repository: `index.yaml` served over HTTP.
#[tokio::test]
async fn charts_from_an_http_repository() {
    let index = "apiVersion: v1\nentries:\n  app:\n  - {name: app, version: 1.0.0}\n  - {name: app, version: 1.4.2}\n  - {name: app, version: 2.0.0-beta.1}\n  - {name: app, version: v1.5.0}\n  other:\n  - {name: other, version: 9.9.9}\n";
    let app = axum::Router::new().route("/stable/index.yaml", axum::routing::get(move || async move { index }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let registries = Registries::new();
    let discover = |sub: Value| {
        let registries = &registries;
        async move { convoy_discovery::chart::discover(registries, &serde_json::from_value(sub).unwrap(), None).await }
    };
    let repo = format!("http://{address}/stable/");
    let found = discover(json!({"repoURL": repo, "name": "app"})).await.unwrap();
    assert_eq!(found["versions"], json!(["2.0.0-beta.1", "v1.5.0", "1.4.2", "1.0.0"]));
    let found = discover(json!({"repoURL": repo, "name": "app", "semverConstraint": ">=1.1 <2"})).await.unwrap();
    assert_eq!(found["versions"], json!(["v1.5.0", "1.4.2"]));
    let error = discover(json!({"repoURL": repo, "name": "missing"})).await.unwrap_err();
    assert!(error.message.contains("no chart named \"missing\""), "{error}");
}

/// Paths a real registry does not produce: `Link` pagination, a Bearer challenge with a token
/// service that checks Basic credentials, and 429 with `Retry-After`.
#[tokio::test]
async fn pagination_token_exchange_and_rate_limits() {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let limited = Arc::new(AtomicUsize::new(0));
    let token_calls = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let realm = format!("http://{address}/token");
    let (limited2, token_calls2) = (limited.clone(), token_calls.clone());
    let app = axum::Router::new()
        .route(
            "/token",
            axum::routing::get(move |headers: HeaderMap, query: axum::extract::RawQuery| {
                let calls = token_calls2.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let basic = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
                    // "bot:pw" in base64.
                    if basic != "Basic Ym90OnB3"
                        || !query.0.unwrap_or_default().contains("scope=repository%3Apaged%3Apull")
                    {
                        return (StatusCode::UNAUTHORIZED, "").into_response();
                    }
                    axum::Json(json!({"token": "t0k3n"})).into_response()
                }
            }),
        )
        .route(
            "/v2/paged/tags/list",
            axum::routing::get(move |headers: HeaderMap, query: axum::extract::RawQuery| {
                let limited = limited2.clone();
                let realm = realm.clone();
                async move {
                    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer t0k3n") {
                        let challenge =
                            format!("Bearer realm=\"{realm}\",service=\"test\",scope=\"repository:paged:pull\"");
                        return (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)], "").into_response();
                    }
                    let query = query.0.unwrap_or_default();
                    if query.contains("last=b") && limited.fetch_add(1, Ordering::SeqCst) == 0 {
                        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "").into_response();
                    }
                    let (tags, next) = if query.contains("last=b") {
                        (json!(["1.2.0"]), None)
                    } else {
                        (json!(["1.0.0", "1.1.0"]), Some("</v2/paged/tags/list?last=b&n=2>; rel=\"next\""))
                    };
                    let mut response = axum::Json(json!({"name": "paged", "tags": tags})).into_response();
                    if let Some(link) = next {
                        response.headers_mut().insert("link", link.parse().unwrap());
                    }
                    response
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let registries = Registries::new();
    let name = convoy_discovery::registry::ImageName::parse(&format!("127.0.0.1:{}/paged", address.port())).unwrap();
    let error = registries.tags(&name, None).await.unwrap_err();
    assert!(error.message.contains("token service answered 401"), "{error}");
    let started = Instant::now();
    let credentials = Credentials { username: "bot".into(), password: "pw".into() };
    let tags = registries.tags(&name, Some(&credentials)).await.unwrap();
    assert_eq!(tags, ["1.0.0", "1.1.0", "1.2.0"], "both pages");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    assert_eq!(limited.load(Ordering::SeqCst), 2, "the limited page was asked again once");
    let before = token_calls.load(Ordering::SeqCst);
    registries.tags(&name, Some(&credentials)).await.unwrap();
    assert_eq!(token_calls.load(Ordering::SeqCst), before, "the token is reused");
}

/// Requests that start together on a fresh client all fall back from HTTPS to the loopback
/// registry's plain HTTP (not only the first one to notice).
#[tokio::test]
async fn concurrent_first_requests_find_a_plain_http_registry() {
    let dir = tempfile::tempdir().unwrap();
    let Some(registry) = start_registry(dir.path(), None) else { return };
    let pusher = Pusher { client: reqwest::Client::new(), base: format!("http://{}", registry.address), auth: None };
    for repo in ["team/a", "team/b", "team/c", "team/d"] {
        pusher.image(repo, "1.0.0", "amd64", "2024-01-01T00:00:00Z").await;
    }
    let registries = Registries::new();
    let names: Vec<_> = ["team/a", "team/b", "team/c", "team/d"]
        .iter()
        .map(|repo| convoy_discovery::registry::ImageName::parse(&format!("{}/{repo}", registry.address)).unwrap())
        .collect();
    let (a, b, c, d) = tokio::join!(
        registries.probe(&names[0], None),
        registries.probe(&names[1], None),
        registries.probe(&names[2], None),
        registries.probe(&names[3], None)
    );
    for (name, result) in names.iter().zip([a, b, c, d]) {
        assert!(result.is_ok(), "{}: {result:?}", name.repository);
    }
}

/// A registry that is not on loopback by name (`0.0.0.0:<port>` reaches the loopback listener)
/// is spoken to over HTTPS only, unless the operator lists it as insecure.
#[tokio::test]
async fn insecure_registries_are_the_listed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let Some(registry) = start_registry(dir.path(), None) else { return };
    let pusher = Pusher { client: reqwest::Client::new(), base: format!("http://{}", registry.address), auth: None };
    pusher.image("team/app", "1.0.0", "amd64", "2024-01-01T00:00:00Z").await;
    let port = registry.address.rsplit_once(':').unwrap().1;
    let name = convoy_discovery::registry::ImageName::parse(&format!("0.0.0.0:{port}/team/app")).unwrap();
    let secure = Registries::new();
    let refused = secure.probe(&name, None).await.unwrap_err();
    assert!(refused.message.contains("cannot reach"), "{}", refused.message);
    let insecure = Registries::with_insecure(vec![format!("0.0.0.0:{port}")]);
    insecure.probe(&name, None).await.unwrap();
}
