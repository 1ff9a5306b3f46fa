//! Credentials go only where they belong: a Helm index pointing at another host, and a
//! registry token earned by one project's credentials, must not carry them elsewhere.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use convoy_discovery::registry::Registries;
use convoy_git::Credentials;
use serde_json::json;

/// Each request's path and Authorization header.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A server recording the Authorization header of every request it gets.
async fn recorder(app: axum::Router, seen: Seen) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app =
        app.layer(axum::middleware::from_fn(move |request: axum::extract::Request, next: axum::middleware::Next| {
            let seen = seen.clone();
            async move {
                let auth = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
                seen.lock().unwrap().push((request.uri().path().to_owned(), auth));
                next.run(request).await
            }
        }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

#[tokio::test]
async fn chart_credentials_stay_with_the_repository_host() {
    let elsewhere_seen = Arc::new(Mutex::new(Vec::new()));
    let elsewhere = recorder(
        axum::Router::new().route("/app-1.0.0.tgz", axum::routing::get(|| async { "archive" })),
        elsewhere_seen.clone(),
    )
    .await;
    let repo_seen = Arc::new(Mutex::new(Vec::new()));
    let index = format!(
        "apiVersion: v1\nentries:\n  app:\n  - {{name: app, version: 1.0.0, urls: [\"http://{elsewhere}/app-1.0.0.tgz\"]}}\n  - {{name: app, version: 2.0.0, urls: [\"app-2.0.0.tgz\"]}}\n"
    );
    let repo = recorder(
        axum::Router::new()
            .route("/charts/index.yaml", axum::routing::get(move || async move { index }))
            .route("/charts/app-2.0.0.tgz", axum::routing::get(|| async { "archive two" })),
        repo_seen.clone(),
    )
    .await;
    let registries = Registries::new();
    let credentials = Credentials { username: "alice".into(), password: "s3cret".into() };
    let repository = format!("http://{repo}/charts");
    let bytes =
        convoy_discovery::chart::archive(&registries, &repository, "app", "1.0.0", Some(&credentials)).await.unwrap();
    assert_eq!(bytes, b"archive");
    let downloads = elsewhere_seen.lock().unwrap().clone();
    assert_eq!(downloads, vec![("/app-1.0.0.tgz".to_owned(), None)], "credentials went to another host");
    // The repository's own host gets them ("alice:s3cret" in base64).
    let bytes =
        convoy_discovery::chart::archive(&registries, &repository, "app", "2.0.0", Some(&credentials)).await.unwrap();
    assert_eq!(bytes, b"archive two");
    let basic = Some("Basic YWxpY2U6czNjcmV0".to_owned());
    assert!(repo_seen.lock().unwrap().iter().all(|(_, auth)| *auth == basic), "{:?}", repo_seen.lock().unwrap());
}

#[tokio::test]
async fn a_token_earned_with_credentials_is_not_lent_to_anyone_else() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let realm = format!("http://{address}/token");
    let app = axum::Router::new()
        .route(
            "/token",
            axum::routing::get(|headers: HeaderMap| async move {
                // "bot:pw" in base64.
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Basic Ym90OnB3") {
                    return (StatusCode::UNAUTHORIZED, "").into_response();
                }
                axum::Json(json!({"token": "t0k3n"})).into_response()
            }),
        )
        .route(
            "/v2/private/tags/list",
            axum::routing::get(move |headers: HeaderMap| {
                let realm = realm.clone();
                async move {
                    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer t0k3n") {
                        let challenge =
                            format!("Bearer realm=\"{realm}\",service=\"test\",scope=\"repository:private:pull\"");
                        return (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)], "").into_response();
                    }
                    axum::Json(json!({"name": "private", "tags": ["1.0.0"]})).into_response()
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let registries = Registries::new();
    let tags = |credentials: Option<Credentials>| {
        let registries = &registries;
        async move {
            let name = convoy_discovery::registry::ImageName::parse(&format!("{address}/private")).unwrap();
            registries.tags(&name, credentials.as_ref()).await
        }
    };
    let with = Credentials { username: "bot".into(), password: "pw".into() };
    assert_eq!(tags(Some(with)).await.unwrap(), vec!["1.0.0".to_owned()]);
    let error = tags(None).await.unwrap_err();
    assert!(error.message.contains("401") || error.message.contains("token service"), "{error}");
    let wrong = Credentials { username: "bot".into(), password: "guess".into() };
    assert!(tags(Some(wrong)).await.is_err(), "other credentials get no token either");
}
