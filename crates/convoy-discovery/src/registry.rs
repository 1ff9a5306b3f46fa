//! A small OCI distribution client: tags (paginated), manifests and blobs, with the bearer-token
//! exchange registries use, Basic credentials, and a per-registry budget that honours 429 and
//! `Retry-After`. Plain HTTP only for registries on loopback (after HTTPS fails), as Docker does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use convoy_git::Credentials;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::DiscoveryError;

/// Registry API calls, by registry host and HTTP status (`429`: rate limited; `error`: no
/// answer).
pub static REQUESTS: convoy_telemetry::Counter<2> = convoy_telemetry::Counter::new(
    "convoy_registry_requests_total",
    "Container registry API requests, by registry and status code (429 = rate limited, error = no answer).",
    ["registry", "code"],
);

/// Largest manifest, config or chart archive read.
pub const MAX_DOCUMENT: usize = 32 << 20;
/// Pages of a tag list followed at most.
const MAX_PAGES: usize = 100;
/// Longest `Retry-After` honoured before giving up for this cycle.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

pub const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// `host[:port]` and repository path of an image reference (`nginx` is Docker Hub's `library/nginx`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    pub registry: String,
    pub repository: String,
}

impl ImageName {
    pub fn parse(reference: &str) -> Result<ImageName, String> {
        let reference = reference.trim();
        if reference.is_empty() || reference.contains("://") || reference.contains('@') {
            return Err(format!(
                "{reference:?} is not an image repository (host[:port]/path, without tag, digest or scheme)"
            ));
        }
        let (first, rest) = reference.split_once('/').unwrap_or(("", reference));
        let is_host = first.contains('.') || first.contains(':') || first == "localhost";
        let (registry, repository) = if is_host {
            (first.to_owned(), rest.to_owned())
        } else {
            let path = if first.is_empty() { reference.to_owned() } else { format!("{first}/{rest}") };
            let path = if path.contains('/') { path } else { format!("library/{path}") };
            ("registry-1.docker.io".to_owned(), path)
        };
        let registry = match registry.as_str() {
            "docker.io" | "index.docker.io" => "registry-1.docker.io".to_owned(),
            _ => registry,
        };
        Ok(ImageName { registry, repository })
    }

    pub fn on_loopback(&self) -> bool {
        let host = self.registry.rsplit_once(':').map_or(self.registry.as_str(), |(h, _)| h);
        host == "localhost" || host.starts_with("127.") || host == "[::1]"
    }
}

/// Who a request speaks for, as a token cache key: a hash of the credentials (empty when
/// anonymous), never the credentials themselves.
fn identity(credentials: Option<&Credentials>) -> String {
    use sha2::{Digest, Sha256};
    credentials.map_or_else(String::new, |c| {
        let digest = Sha256::new().chain_update(&c.username).chain_update([0]).chain_update(&c.password).finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    })
}

/// Shared by every Warehouse: tokens and the rate budget are per registry.
#[derive(Default)]
pub struct Registries {
    client: reqwest::Client,
    /// Bearer tokens by registry, scope and the credentials that obtained them: a project
    /// without credentials never reuses a token another project's credentials earned.
    tokens: Mutex<HashMap<(String, String, String), String>>,
    /// Requests in flight per registry are limited (at most 4 at once).
    budgets: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
    /// Whether a loopback (or insecure) registry answered over plain HTTP.
    plain_http: Mutex<HashMap<String, bool>>,
    /// Registries the operator marked insecure (`CONVOY_INSECURE_REGISTRIES`): certificates
    /// are not verified and plain HTTP is tried after HTTPS, as for loopback ones.
    insecure: Vec<String>,
    /// The client for them.
    insecure_client: reqwest::Client,
}

/// The variable listing insecure registries, comma-separated `host[:port]`s (Docker's
/// `insecure-registries`).
pub const INSECURE_REGISTRIES: &str = "CONVOY_INSECURE_REGISTRIES";

/// Whether `registry` may be reached over plain HTTP: on loopback, or listed as insecure.
pub fn allows_plain_http(name: &ImageName, insecure: &[String]) -> bool {
    name.on_loopback() || is_listed(name, insecure)
}

fn is_listed(name: &ImageName, insecure: &[String]) -> bool {
    insecure.iter().any(|r| r.eq_ignore_ascii_case(&name.registry))
}

/// A request to a registry, for [`Registries::send`].
pub struct Call<'a> {
    pub method: Method,
    /// `/v2/...`, with its query.
    pub path: &'a str,
    pub accept: Option<&'a str>,
    /// Content type and bytes (kept whole so that a retry can send them again).
    pub body: Option<(&'a str, Vec<u8>)>,
    /// Asks for push rights as well as pull.
    pub push: bool,
    /// The largest response body read.
    pub limit: usize,
}

impl<'a> Call<'a> {
    /// A request that writes (push scope) with a body; its answer is read up to 1 MiB.
    pub fn write(method: Method, path: &'a str, content_type: &'a str, body: Vec<u8>) -> Call<'a> {
        Call { method, path, accept: None, body: Some((content_type, body)), push: true, limit: 1 << 20 }
    }
}

pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Registries {
    /// A client; registries listed in `CONVOY_INSECURE_REGISTRIES` are insecure.
    pub fn new() -> Registries {
        let listed = std::env::var(INSECURE_REGISTRIES).unwrap_or_default();
        Registries::with_insecure(
            listed.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect(),
        )
    }

    /// A client for which `insecure` registries are reached without certificate checks and,
    /// after HTTPS fails, over plain HTTP.
    pub fn with_insecure(insecure: Vec<String>) -> Registries {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap_or_default();
        let insecure_client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap_or_default();
        Registries { client, insecure_client, insecure, ..Registries::default() }
    }

    fn client_for(&self, name: &ImageName) -> &reqwest::Client {
        if is_listed(name, &self.insecure) { &self.insecure_client } else { &self.client }
    }

    fn budget(&self, registry: &str) -> Arc<tokio::sync::Semaphore> {
        let mut budgets = self.budgets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        budgets.entry(registry.to_owned()).or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(4))).clone()
    }

    fn scheme(&self, name: &ImageName) -> &'static str {
        let plain = self.plain_http.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if plain.get(&name.registry).copied().unwrap_or(false) { "http" } else { "https" }
    }

    /// GET (or HEAD) of a registry path (`/v2/<repo>/...`), with authentication and retries.
    pub async fn fetch(
        &self,
        name: &ImageName,
        method: Method,
        path: &str,
        accept: Option<&str>,
        credentials: Option<&Credentials>,
    ) -> Result<Fetched, DiscoveryError> {
        let call = Call { method, path, accept, body: None, push: false, limit: MAX_DOCUMENT };
        self.send(name, &call, credentials).await
    }

    /// One request, with authentication (a token with push rights when `call.push`), retries
    /// on 429 and the loopback plain-HTTP fallback.
    pub async fn send(
        &self,
        name: &ImageName,
        call: &Call<'_>,
        credentials: Option<&Credentials>,
    ) -> Result<Fetched, DiscoveryError> {
        let _permit = self.budget(&name.registry).acquire_owned().await;
        let actions = if call.push { "pull,push" } else { "pull" };
        let scope = format!("repository:{}:{actions}", name.repository);
        let (method, path, accept) = (&call.method, call.path, call.accept);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let scheme = self.scheme(name);
            let url = format!("{scheme}://{}{path}", name.registry);
            let mut request = self.client_for(name).request(method.clone(), &url);
            if let Some(accept) = accept {
                request = request.header(ACCEPT, accept);
            }
            if let Some((content_type, body)) = &call.body {
                request = request.header(reqwest::header::CONTENT_TYPE, *content_type).body(body.clone());
            }
            let token_key = (name.registry.clone(), scope.clone(), identity(credentials));
            let token = self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&token_key).cloned();
            request = match (&token, credentials) {
                (Some(token), _) => request.header(AUTHORIZATION, format!("Bearer {token}")),
                (None, Some(c)) => request.basic_auth(&c.username, Some(&c.password)),
                (None, None) => request,
            };
            let response = match request.send().await {
                Ok(r) => {
                    REQUESTS.inc([&name.registry, r.status().as_str()]);
                    r
                }
                Err(e) if e.is_connect() || e.is_request() => {
                    // A loopback registry without TLS: try plain HTTP once. `scheme` is this
                    // request's: a concurrent request may have switched the registry already.
                    if allows_plain_http(name, &self.insecure) && scheme == "https" {
                        self.plain_http
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .insert(name.registry.clone(), true);
                        continue;
                    }
                    return Err(unreachable(name, e));
                }
                Err(e) => {
                    REQUESTS.inc([&name.registry, "error"]);
                    return Err(unreachable(name, e));
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            if status == StatusCode::TOO_MANY_REQUESTS && attempts <= 3 {
                let wait = retry_after(&headers).unwrap_or(Duration::from_secs(1 << attempts));
                if wait > MAX_RETRY_AFTER {
                    return Err(DiscoveryError::source(
                        &name.registry,
                        format!("rate limited (429); the registry asks to wait {} s", wait.as_secs()),
                        "discovery tries again next cycle",
                    ));
                }
                tracing::info!(registry = %name.registry, wait_ms = wait.as_millis() as u64, "registry rate limit; waiting");
                tokio::time::sleep(wait).await;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && token.is_none() && attempts <= 2 {
                let challenge = headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                if challenge.to_ascii_lowercase().starts_with("bearer") {
                    let token = self.exchange(name, &challenge, &scope, credentials).await?;
                    self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(token_key, token);
                    continue;
                }
                if credentials.is_none() {
                    return Err(DiscoveryError::source(
                        &name.registry,
                        "the registry requires credentials (401)".into(),
                        "add a Secret labelled kargo.akuity.io/cred-type: image whose repoURL matches this image",
                    ));
                }
            }
            if status == StatusCode::UNAUTHORIZED {
                // A cached token may have expired: drop it so the next call exchanges again.
                self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&token_key);
                return Err(DiscoveryError::source(
                    &name.registry,
                    "the registry rejected the credentials (401)".into(),
                    "check the username and password of the image credentials Secret",
                ));
            }
            let body = read_bounded(response, &name.registry, call.limit).await?;
            return Ok(Fetched { status, headers, body });
        }
    }

    /// The bearer-token exchange of the distribution spec: `GET realm?service=..&scope=..`.
    async fn exchange(
        &self,
        name: &ImageName,
        challenge: &str,
        scope: &str,
        credentials: Option<&Credentials>,
    ) -> Result<String, DiscoveryError> {
        let params = challenge_params(challenge);
        let realm = params
            .get("realm")
            .ok_or_else(|| DiscoveryError::source(&name.registry, "a Bearer challenge without a realm".into(), ""))?;
        let mut url = reqwest::Url::parse(realm)
            .map_err(|e| DiscoveryError::source(&name.registry, format!("token realm: {e}"), ""))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = params.get("service") {
                query.append_pair("service", service);
            }
            query.append_pair("scope", params.get("scope").map_or(scope, String::as_str));
        }
        let mut request = self.client.get(url);
        if let Some(c) = credentials {
            request = request.basic_auth(&c.username, Some(&c.password));
        }
        let response = request.send().await.map_err(|e| unreachable(name, e))?;
        if !response.status().is_success() {
            return Err(DiscoveryError::source(
                &name.registry,
                format!("the token service answered {}", response.status().as_u16()),
                "check the image credentials Secret",
            ));
        }
        let body = read_bounded(response, &name.registry, MAX_DOCUMENT).await?;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| DiscoveryError::source(&name.registry, format!("token response: {e}"), ""))?;
        value["token"]
            .as_str()
            .or(value["access_token"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| DiscoveryError::source(&name.registry, "the token response has no token".into(), ""))
    }

    /// Every tag, following `Link: <...>; rel="next"` pages.
    pub async fn tags(
        &self,
        name: &ImageName,
        credentials: Option<&Credentials>,
    ) -> Result<Vec<String>, DiscoveryError> {
        let mut path = format!("/v2/{}/tags/list?n=1000", name.repository);
        let mut tags = Vec::new();
        for _ in 0..MAX_PAGES {
            let (page, next) = self.tags_page(name, &path, credentials).await?;
            tags.extend(page);
            match next {
                Some(next) => path = next,
                None => return Ok(tags),
            }
        }
        Ok(tags)
    }

    /// Whether the repository answers a one-tag listing with these credentials.
    pub async fn probe(&self, name: &ImageName, credentials: Option<&Credentials>) -> Result<(), DiscoveryError> {
        let path = format!("/v2/{}/tags/list?n=1", name.repository);
        self.tags_page(name, &path, credentials).await.map(|_| ())
    }

    /// The tags of one page and the path of the next.
    async fn tags_page(
        &self,
        name: &ImageName,
        path: &str,
        credentials: Option<&Credentials>,
    ) -> Result<(Vec<String>, Option<String>), DiscoveryError> {
        let fetched = self.fetch(name, Method::GET, path, None, credentials).await?;
        if fetched.status == StatusCode::NOT_FOUND {
            return Err(DiscoveryError::source(
                &name.registry,
                format!("repository {} not found", name.repository),
                "check the image repoURL",
            ));
        }
        if !fetched.status.is_success() {
            return Err(DiscoveryError::source(
                &name.registry,
                format!("listing tags answered {}", fetched.status.as_u16()),
                "",
            ));
        }
        let page: Value = serde_json::from_slice(&fetched.body)
            .map_err(|e| DiscoveryError::source(&name.registry, format!("tag list: {e}"), ""))?;
        let tags = page["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect();
        Ok((tags, next_page(&fetched.headers)))
    }
}

fn unreachable(name: &ImageName, e: reqwest::Error) -> DiscoveryError {
    DiscoveryError::source(
        &name.registry,
        format!("cannot reach the registry: {}", e.without_url()),
        "check the image repoURL and that the registry is reachable from the Convoy server",
    )
}

/// The body, or an error past `limit` bytes (never a silently cut one).
async fn read_bounded(
    mut response: reqwest::Response,
    registry: &str,
    limit: usize,
) -> Result<Vec<u8>, DiscoveryError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| DiscoveryError::source(registry, format!("reading a response: {}", e.without_url()), ""))?
    {
        if body.len() + chunk.len() > limit {
            return Err(DiscoveryError::source(registry, format!("a response is larger than {} MiB", limit >> 20), ""));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers.get("retry-after")?.to_str().ok()?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The path and query of a `Link: </v2/...?last=x&n=100>; rel="next"` header.
pub fn next_page(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    let (target, params) = link.split_once(';')?;
    if !params.contains("rel=\"next\"") && !params.contains("rel=next") {
        return None;
    }
    let target = target.trim().trim_start_matches('<').trim_end_matches('>');
    match reqwest::Url::parse(target) {
        Ok(url) => Some(format!("{}{}", url.path(), url.query().map(|q| format!("?{q}")).unwrap_or_default())),
        Err(_) => Some(target.to_owned()),
    }
}

/// `Bearer realm="...",service="...",scope="..."` as a map.
pub fn challenge_params(challenge: &str) -> HashMap<String, String> {
    let rest = challenge.split_once(' ').map_or("", |(_, r)| r);
    let mut params = HashMap::new();
    let mut rest = rest.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.insert(key, value.to_owned());
        rest = remaining.trim_start_matches(',').trim();
    }
    params
}

#[cfg(test)]
mod tests {

    #[test]
    fn plain_http_only_for_loopback_and_listed_registries() {
        let name = |r: &str| super::ImageName::parse(r).unwrap();
        let listed = vec!["registry.lab:5000".to_owned()];
        assert!(super::allows_plain_http(&name("127.0.0.1:5000/app"), &[]));
        assert!(super::allows_plain_http(&name("localhost:5000/app"), &[]));
        assert!(super::allows_plain_http(&name("registry.lab:5000/app"), &listed));
        assert!(!super::allows_plain_http(&name("registry.lab/app"), &listed), "the port is part of the name");
        assert!(!super::allows_plain_http(&name("ghcr.io/o/app"), &listed));
    }

    use super::*;

    #[test]
    fn image_names() {
        let parse = |r: &str| ImageName::parse(r).map(|n| (n.registry, n.repository));
        assert_eq!(parse("nginx"), Ok(("registry-1.docker.io".into(), "library/nginx".into())));
        assert_eq!(parse("bitnami/redis"), Ok(("registry-1.docker.io".into(), "bitnami/redis".into())));
        assert_eq!(parse("docker.io/library/nginx"), Ok(("registry-1.docker.io".into(), "library/nginx".into())));
        assert_eq!(parse("ghcr.io/org/app"), Ok(("ghcr.io".into(), "org/app".into())));
        assert_eq!(parse("localhost:5000/app"), Ok(("localhost:5000".into(), "app".into())));
        assert_eq!(parse("127.0.0.1:5000/team/app"), Ok(("127.0.0.1:5000".into(), "team/app".into())));
        assert!(parse("https://ghcr.io/app").is_err());
    }

    #[test]
    fn challenges_and_links() {
        let params = challenge_params(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:app:pull""#,
        );
        assert_eq!(params["realm"], "https://auth.example.com/token");
        assert_eq!(params["service"], "registry.example.com");
        assert_eq!(params["scope"], "repository:app:pull");
        let mut headers = HeaderMap::new();
        headers.insert("link", "</v2/app/tags/list?last=b&n=2>; rel=\"next\"".parse().unwrap());
        assert_eq!(next_page(&headers).as_deref(), Some("/v2/app/tags/list?last=b&n=2"));
    }
}
