//! `http` (a request whose response decides success, failure, error or "ask again") and
//! `http-download`.
//!
//! Response bodies are bounded: what expressions see is capped at [`MAX_RESPONSE_BYTES`], a
//! download at [`MAX_DOWNLOAD_BYTES`]. Header values are never logged or put in messages.

use std::time::Duration;

use async_trait::async_trait;
use convoy_engine::{StepContext, StepError, StepResult, StepRunner};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::{NamedExpression, decode};
use crate::paths::resolve;

pub(crate) const MAX_RESPONSE_BYTES: usize = 2 << 20;
pub(crate) const MAX_DOWNLOAD_BYTES: u64 = 1 << 30;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How soon a request whose response met neither criterion is sent again (Kargo's default).
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameValue {
    name: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct HttpConfig {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    query_params: Vec<NameValue>,
    /// Sent as is when a string; anything else (a template may evaluate to an object) as JSON.
    #[serde(default)]
    body: Option<Value>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
    #[serde(default)]
    proxy: Option<String>,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    poll_interval: Option<String>,
    #[serde(default)]
    response_content_type: Option<String>,
    #[serde(default)]
    success_expression: Option<String>,
    #[serde(default)]
    failure_expression: Option<String>,
    #[serde(default)]
    error_expression: Option<String>,
    #[serde(default)]
    outputs: Vec<NamedExpression>,
}

fn duration(kind: &str, field: &str, text: Option<&str>, default: Duration) -> Result<Duration, StepError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(t) => convoy_core::duration::parse(t)
            .map_err(|e| StepError::terminal(format!("invalid {kind} config: {field}: {e}"))),
    }
}

/// A client for one step's settings; redirects are followed (up to 10), cookies are not kept.
fn client(kind: &str, timeout: Duration, insecure: bool, proxy: Option<&str>) -> Result<reqwest::Client, StepError> {
    let mut builder = reqwest::Client::builder().timeout(timeout).danger_accept_invalid_certs(insecure);
    if let Some(proxy) = proxy.filter(|p| !p.is_empty()) {
        let proxy = reqwest::Proxy::all(proxy)
            .map_err(|e| StepError::terminal(format!("invalid {kind} config: proxy: {e}")))?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|e| StepError::terminal(format!("cannot build an HTTP client: {e}")))
}

fn request(
    client: &reqwest::Client,
    kind: &str,
    method: &str,
    url: &str,
    headers: &[NameValue],
    query: &[NameValue],
) -> Result<reqwest::RequestBuilder, StepError> {
    let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| StepError::terminal(format!("invalid {kind} config: method: {method:?} is not an HTTP method")))?;
    let mut parsed =
        reqwest::Url::parse(url).map_err(|e| StepError::terminal(format!("invalid {kind} config: url: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(StepError::terminal(format!("invalid {kind} config: url: the scheme must be http or https")));
    }
    if !query.is_empty() {
        parsed.query_pairs_mut().extend_pairs(query.iter().map(|q| (&q.name, &q.value)));
    }
    let mut builder = client.request(method, parsed);
    for header in headers {
        builder = builder.header(&header.name, &header.value);
    }
    Ok(builder)
}

/// The URL without credentials or query, for messages.
fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "(invalid URL)".into(),
    }
}

pub(crate) struct Http;

#[async_trait]
impl StepRunner for Http {
    fn kind(&self) -> &'static str {
        "http"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let kind = self.kind();
        let config: HttpConfig = decode(kind, &context.config)?;
        let timeout = duration(kind, "timeout", config.timeout.as_deref(), DEFAULT_TIMEOUT)?;
        let poll = duration(kind, "pollInterval", config.poll_interval.as_deref(), DEFAULT_POLL_INTERVAL)?;
        let client = client(kind, timeout, config.insecure_skip_tls_verify, config.proxy.as_deref())?;
        let method = config.method.as_deref().filter(|m| !m.is_empty()).unwrap_or("GET");
        let mut builder = request(&client, kind, method, &config.url, &config.headers, &config.query_params)?;
        match &config.body {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => builder = builder.body(text.clone()),
            Some(other) => builder = builder.body(other.to_string()),
        }
        let response = builder
            .send()
            .await
            .map_err(|e| StepError::retryable(format!("{method} {}: {}", shown(&config.url), e.without_url())))?;
        let response = Response::read(response, config.response_content_type.as_deref()).await?;
        let evaluator = response.evaluator();
        let scope = response.scope()?;
        let test = |field: &str, expression: &Option<String>| -> Result<Option<bool>, StepError> {
            let Some(code) = expression.as_deref().filter(|c| !c.trim().is_empty()) else { return Ok(None) };
            let value = evaluator
                .expression(&rewrite_header_calls(code), &scope)
                .map_err(|e| StepError::terminal(format!("{field}: {e}")))?;
            match value {
                Value::Bool(b) => Ok(Some(b)),
                other => Err(StepError::terminal(format!("{field} must evaluate to a boolean, got {other}"))),
            }
        };
        let status = response.status;
        // Both criteria are evaluated before either decides, as Kargo does.
        let failure = test("failureExpression", &config.failure_expression)?;
        let success = test("successExpression", &config.success_expression)?;
        match (success, failure) {
            (_, Some(true)) => {
                let mut message = format!("HTTP ({status}) response met failure criteria");
                if let Some(detail) = error_detail(&evaluator, &scope, config.error_expression.as_deref())? {
                    message.push_str(&format!(": {}", Value::String(detail)));
                }
                return Err(StepError::failed(message));
            }
            (Some(true), _) => {}
            // Without criteria a 2xx status succeeds; anything else is asked again (Kargo's
            // non-terminal Failed), until the step's `retry.timeout` if it has one.
            (None, None) if (200..300).contains(&status) => {}
            (None, None) => {
                return Ok(StepResult::running(
                    format!("HTTP ({status}) response is not successful (2xx); asking again"),
                    poll,
                ));
            }
            _ => {
                return Ok(StepResult::running(
                    format!("HTTP ({status}) response met neither success nor failure criteria; asking again"),
                    poll,
                ));
            }
        }
        let mut output = Map::new();
        for named in &config.outputs {
            let value = evaluator
                .expression(&rewrite_header_calls(&named.from_expression), &scope)
                .map_err(|e| StepError::terminal(format!("output {:?}: {e}", named.name)))?;
            output.insert(named.name.clone(), value);
        }
        Ok(StepResult::succeeded(output))
    }
}

/// The message `errorExpression` extracts from a response that met the failure criteria. Only
/// an expression that does not compile is an error; one that fails to evaluate, or yields
/// anything but a non-empty string, leaves the default message.
fn error_detail(
    evaluator: &convoy_expr::Evaluator<'_>,
    scope: &convoy_expr::Scope,
    expression: Option<&str>,
) -> Result<Option<String>, StepError> {
    let Some(code) = expression.filter(|c| !c.trim().is_empty()) else { return Ok(None) };
    let code = rewrite_header_calls(code);
    convoy_expr::check_syntax(&code).map_err(|e| StepError::terminal(format!("errorExpression: {e}")))?;
    Ok(match evaluator.expression(&code, scope) {
        Ok(Value::String(text)) if !text.is_empty() => Some(text),
        _ => None,
    })
}

/// What the http step's expressions see as `response`.
struct Response {
    status: u16,
    /// Canonical header name → values, as Go's `http.Header`.
    headers: Map<String, Value>,
    body: Value,
}

impl Response {
    async fn read(mut response: reqwest::Response, content_type: Option<&str>) -> Result<Response, StepError> {
        let status = response.status().as_u16();
        let mut headers = Map::new();
        for (name, value) in response.headers() {
            let entry = headers.entry(canonical(name.as_str())).or_insert_with(|| json!([]));
            if let Value::Array(values) = entry {
                values.push(json!(value.to_str().unwrap_or_default()));
            }
        }
        let declared = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let media_type = content_type.filter(|c| !c.is_empty()).unwrap_or(declared);
        let media_type = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let mut bytes = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| StepError::retryable(format!("reading the response: {e}")))?
        {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(StepError::terminal(format!(
                    "the response body is larger than {} MiB, the most the http step reads",
                    MAX_RESPONSE_BYTES >> 20
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Response { status, headers, body: parse_body(&media_type, &bytes)? })
    }

    fn scope(&self) -> Result<convoy_expr::Scope, StepError> {
        let mut values = Map::new();
        values.insert("response".into(), json!({"status": self.status, "headers": self.headers, "body": self.body}));
        convoy_expr::Scope::from_json(&values).map_err(|e| StepError::terminal(e.to_string()))
    }

    fn evaluator(&self) -> convoy_expr::Evaluator<'static> {
        let mut evaluator = convoy_expr::Evaluator::new(&convoy_expr::NoData);
        let headers = self.headers.clone();
        evaluator.add_function(HEADER_FUNCTION, move |args| {
            let [Value::String(name)] = args else { return Err("header() takes one header name".into()) };
            Ok(headers.get(&canonical(name)).and_then(|v| v.get(0)).cloned().unwrap_or(json!("")))
        });
        evaluator
    }
}

/// `response.body` by media type, as Kargo reads it: JSON (any value), YAML, plain text as a
/// string; other types are tried as JSON and are otherwise an empty map, as is an empty body.
fn parse_body(media_type: &str, bytes: &[u8]) -> Result<Value, StepError> {
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    match media_type {
        "application/json" => serde_json::from_slice(bytes)
            .map_err(|e| StepError::retryable(format!("the response body is not valid JSON: {e}"))),
        "application/yaml" | "text/yaml" | "application/x-yaml" => {
            crate::yamledit::from_str(&String::from_utf8_lossy(bytes))
                .map_err(|e| StepError::retryable(format!("the response body is {e}")))
        }
        "text/plain" => Ok(Value::String(String::from_utf8_lossy(bytes).into_owned())),
        _ => Ok(serde_json::from_slice(bytes).unwrap_or_else(|_| json!({}))),
    }
}

const HEADER_FUNCTION: &str = "__responseHeader";

/// `response.header(name)` is a method in Kargo; here it is a function over the captured headers.
fn rewrite_header_calls(code: &str) -> String {
    code.replace("response.header(", &format!("{HEADER_FUNCTION}("))
}

/// Go's canonical header form: `content-type` → `Content-Type`.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DownloadConfig {
    url: String,
    out_path: String,
    #[serde(default)]
    allow_overwrite: bool,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    query_params: Vec<NameValue>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
    #[serde(default)]
    timeout: Option<String>,
}

pub(crate) struct HttpDownload;

#[async_trait]
impl StepRunner for HttpDownload {
    fn kind(&self) -> &'static str {
        "http-download"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        use tokio::io::AsyncWriteExt;
        let kind = self.kind();
        let config: DownloadConfig = decode(kind, &context.config)?;
        let out = resolve(&context.work_dir, &config.out_path)?;
        if out.exists() && !config.allow_overwrite {
            return Err(StepError::terminal(format!(
                "{} exists; set allowOverwrite: true to replace it",
                config.out_path
            )));
        }
        // The whole download, not each read, gets the timeout (default 5 minutes).
        let timeout = duration(kind, "timeout", config.timeout.as_deref(), Duration::from_secs(300))?;
        let client = client(kind, timeout, config.insecure_skip_tls_verify, None)?;
        let url = shown(&config.url);
        let mut response = request(&client, kind, "GET", &config.url, &config.headers, &config.query_params)?
            .send()
            .await
            .map_err(|e| StepError::retryable(format!("GET {url}: {}", e.without_url())))?;
        let status = response.status();
        if !status.is_success() {
            let message = format!("GET {url}: HTTP {}", status.as_u16());
            // A client error will not change by asking again.
            return Err(if status.is_client_error() {
                StepError::terminal(message)
            } else {
                StepError::retryable(message)
            });
        }
        if response.content_length().is_some_and(|n| n > MAX_DOWNLOAD_BYTES) {
            return Err(StepError::terminal(format!("GET {url}: larger than {} GiB", MAX_DOWNLOAD_BYTES >> 30)));
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StepError::terminal(format!("cannot create {}: {e}", parent.display())))?;
        }
        // Written beside the target and renamed, so a failed download leaves nothing behind.
        let partial = out.with_extension("convoy-download");
        let fail = |e: std::io::Error| StepError::terminal(format!("cannot write {}: {e}", config.out_path));
        let mut file = tokio::fs::File::create(&partial).await.map_err(fail)?;
        let mut written: u64 = 0;
        let result: Result<(), StepError> = async {
            while let Some(chunk) =
                response.chunk().await.map_err(|e| StepError::retryable(format!("GET {url}: {}", e.without_url())))?
            {
                written += chunk.len() as u64;
                if written > MAX_DOWNLOAD_BYTES {
                    return Err(StepError::terminal(format!(
                        "GET {url}: larger than {} GiB",
                        MAX_DOWNLOAD_BYTES >> 30
                    )));
                }
                file.write_all(&chunk).await.map_err(fail)?;
            }
            file.sync_all().await.map_err(fail)
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
        tokio::fs::rename(&partial, &out).await.map_err(fail)?;
        Ok(StepResult::succeeded(Map::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_canonical() {
        assert_eq!(canonical("content-type"), "Content-Type");
        assert_eq!(canonical("X-REQUEST-ID"), "X-Request-Id");
        assert_eq!(canonical("etag"), "Etag");
    }

    #[test]
    fn messages_hide_credentials() {
        assert_eq!(shown("https://user:secret@example.com/path?token=abc"), "https://example.com/path");
    }
}
