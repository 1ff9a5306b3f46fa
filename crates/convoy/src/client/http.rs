//! HTTP calls to the server, with the version header and errors mapped to exit codes.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::Settings;

/// Why a call failed; decides the exit code (3 for unreachable or unauthenticated).
#[derive(Debug)]
pub enum ClientError {
    Unreachable(String),
    Unauthenticated(String),
    /// The server answered with an error document.
    Api {
        status: StatusCode,
        body: Value,
    },
}

impl ClientError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Unreachable(_) | ClientError::Unauthenticated(_) => 3,
            _ => 1,
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Unreachable(m) | ClientError::Unauthenticated(m) => f.write_str(m),
            ClientError::Api { status, body } => {
                let message = body.get("message").and_then(Value::as_str).unwrap_or("request failed");
                write!(f, "{message} ({status})")
            }
        }
    }
}

impl std::error::Error for ClientError {}

pub struct Client {
    http: reqwest::Client,
    pub settings: Settings,
}

/// Items per page when the CLI reads a list.
pub const LIST_PAGE: usize = 500;

/// Percent-encodes a query value (continue tokens are base64: `+`, `/` and `=` need it).
pub fn query_encode(value: &str) -> String {
    convoy_server::oidc::percent(value)
}

impl Client {
    /// A client for `settings.server`, verifying an https server with the given certificate
    /// authority (only it), the system's roots, or not at all when asked.
    pub fn new(settings: Settings) -> anyhow::Result<Client> {
        let mut builder = reqwest::Client::builder().user_agent(concat!("convoy/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &settings.tls.certificate_authority {
            let pem = std::fs::read(path).map_err(|e| {
                anyhow::anyhow!("--certificate-authority {}: {}", path.display(), crate::output::plain_io(&e))
            })?;
            let certificates =
                reqwest::Certificate::from_pem_bundle(&pem).ok().filter(|c| !c.is_empty()).ok_or_else(|| {
                    anyhow::anyhow!("--certificate-authority {}: no PEM certificate in it", path.display())
                })?;
            builder = builder.tls_certs_only(certificates);
        }
        if settings.tls.insecure_skip_tls_verify {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(|e| anyhow::anyhow!("cannot set up the HTTP client: {e}"))?;
        Ok(Client { http, settings })
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut builder = self
            .http
            .request(method, format!("{}{path}", self.settings.server))
            .header(convoy_server::CLIENT_VERSION_HEADER, env!("CARGO_PKG_VERSION"));
        if let Some(token) = &self.settings.token {
            builder = builder.bearer_auth(token.trim());
        }
        builder
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(Value, Option<String>), ClientError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.header("content-type", "application/yaml").body(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let server_version = response
            .headers()
            .get(convoy_server::SERVER_VERSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(&e))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status == StatusCode::UNAUTHORIZED {
            // Why (expired, revoked) when the server says; then how to sign in again.
            let why = body.get("message").and_then(Value::as_str).filter(|m| !m.starts_with("a valid bearer token"));
            let why = why.map(|m| format!("{m}; ")).unwrap_or_default();
            return Err(ClientError::Unauthenticated(format!(
                "the server at {} refused the token (401): {why}run `convoy login --server {} --token-file DATA_DIR/admin-token` (or with a token of your own)",
                self.settings.server, self.settings.server
            )));
        }
        // 403 is an answer, not a sign-in problem: the server names the missing permission.
        if !status.is_success() {
            return Err(ClientError::Api { status, body });
        }
        Ok((body, server_version))
    }

    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.send(Method::GET, path, None).await.map(|(v, _)| v)
    }

    /// A whole list, fetched in pages of [`LIST_PAGE`] (`limit` / `continue`), so that no single
    /// response holds a large project; the items in order, with the first page's metadata.
    pub async fn list(&self, path: &str) -> Result<Value, ClientError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut list = self.get(&format!("{path}{separator}limit={LIST_PAGE}")).await?;
        let mut items = list["items"].as_array().cloned().unwrap_or_default();
        while let Some(token) = list.pointer("/metadata/continue").and_then(Value::as_str).map(str::to_owned) {
            let page =
                self.get(&format!("{path}{separator}limit={LIST_PAGE}&continue={}", query_encode(&token))).await?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            list["metadata"] = page["metadata"].clone();
        }
        if let Some(metadata) = list["metadata"].as_object_mut() {
            metadata.remove("continue");
        }
        list["items"] = Value::Array(items);
        Ok(list)
    }

    /// The raw streaming response of a watch.
    pub async fn stream(&self, path: &str) -> Result<reqwest::Response, ClientError> {
        let response = self.request(Method::GET, path).send().await.map_err(|e| self.unreachable(&e))?;
        match response.status() {
            s if s.is_success() => Ok(response),
            StatusCode::UNAUTHORIZED => Err(ClientError::Unauthenticated("the server refused the token".into())),
            status => Err(ClientError::Api { status, body: response.json().await.unwrap_or(Value::Null) }),
        }
    }

    /// The HTTP client, set up with this server's TLS settings.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A failed request in words: the cause from reqwest's sources, and what to do.
    pub fn unreachable(&self, e: &reqwest::Error) -> ClientError {
        // reqwest's own words are generic ("error sending request"): the cause is in its sources.
        let mut cause = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            cause = format!("{cause}: {inner}");
            source = inner.source();
        }
        let hint = if cause.contains("CaUsedAsEndEntity") {
            "the server presents a CA certificate as its own: give it a server certificate (basicConstraints CA:FALSE) signed by that CA, and that CA to --certificate-authority"
        } else if cause.contains("certificate") || cause.contains("UnknownIssuer") {
            "the server's certificate is not trusted: pass --certificate-authority FILE (the CA that signed it), or --insecure-skip-tls-verify for a test server"
        } else {
            "is `convoy server` running? (set --server or CONVOY_SERVER)"
        };
        ClientError::Unreachable(format!("cannot reach the Convoy server at {}: {cause}; {hint}", self.settings.server))
    }
}
