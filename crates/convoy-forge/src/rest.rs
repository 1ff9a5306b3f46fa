//! What every forge client repeats: one bounded request, rate limits read from the forge's
//! headers, `Link` paging, percent-encoding, pages that stay on the API's own origin.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::ForgeError;

/// A response this large is not one of the answers expected.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// A 429 that says nothing of when to come back is waited out this long.
pub(crate) const DEFAULT_WAIT: u64 = 60;
/// More pages than this of PRs between two branches is not a repository to page through forever.
pub(crate) const MAX_PAGES: usize = 50;

/// A forge's answer: status, JSON body (`Null` when empty or not JSON), headers.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `request`; network trouble, oversized bodies, 429s and 5xx are answered here, every
/// other status is the caller's to read.
pub(crate) async fn send(forge: &'static str, request: reqwest::RequestBuilder) -> Result<Reply, ForgeError> {
    let request = request.header("user-agent", concat!("convoy/", env!("CARGO_PKG_VERSION")));
    let response =
        request.send().await.map_err(|e| ForgeError::Unavailable(format!("{forge}: {}", without_url(&e))))?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.map_err(|e| ForgeError::Unavailable(format!("{forge}: {}", without_url(&e))))?;
    if bytes.len() > MAX_BODY {
        return Err(ForgeError::Unavailable(format!("{forge} answered {} bytes; more than expected", bytes.len())));
    }
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(ForgeError::RateLimited { forge, retry_after_secs: wait_for(&headers).unwrap_or(DEFAULT_WAIT) });
    }
    if status.is_server_error() {
        return Err(ForgeError::Unavailable(format!("{forge} answered {status}: {}", message(&body))));
    }
    Ok(Reply { status, body, headers })
}

/// How a forge's refusal is told: who refused, for which repository, and how to fix it.
pub(crate) struct Refusal<'a> {
    pub forge: &'static str,
    pub repository: &'a str,
    /// How to fix a refused token (401).
    pub token_hint: &'static str,
    /// What the token needs (403).
    pub permission_hint: &'static str,
    /// The forge's error text from a body.
    pub message: fn(&Value) -> String,
}

impl Refusal<'_> {
    /// `reply` when it succeeded or has a status in `readable` (the caller reads those); else
    /// the error its status means.
    pub(crate) fn check(&self, reply: Reply, readable: &[StatusCode]) -> Result<Reply, ForgeError> {
        if reply.status.is_success() || readable.contains(&reply.status) {
            return Ok(reply);
        }
        let (forge, repository, text) = (self.forge, self.repository, (self.message)(&reply.body));
        Err(match reply.status {
            StatusCode::UNAUTHORIZED => ForgeError::Forbidden(format!(
                "{forge} refused the token for {repository} ({text}): {}",
                self.token_hint
            )),
            StatusCode::FORBIDDEN => ForgeError::Forbidden(format!(
                "{forge} forbids this for {repository} ({text}): {}",
                self.permission_hint
            )),
            StatusCode::NOT_FOUND => ForgeError::NotFound(format!(
                "not found on {forge}: {repository} ({text}; or the token cannot see the repository)"
            )),
            s => ForgeError::Refused(format!("{forge} answered {s}: {text}")),
        })
    }
}

/// reqwest's error text without the URL (which may carry a query worth keeping out of logs).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "(the forge's API)");
    }
    text
}

/// Seconds to wait: `Retry-After`, else a reset time (`RateLimit-Reset`, `X-RateLimit-Reset`,
/// epoch seconds); at least one.
pub(crate) fn wait_for(headers: &HeaderMap) -> Option<u64> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    if let Some(seconds) = number("retry-after") {
        return Some(seconds.max(1));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
    let reset = number("ratelimit-reset").or_else(|| number("x-ratelimit-reset"))?;
    Some(reset.saturating_sub(now).max(1))
}

/// The forge's error message, from the shapes forges use: `{"message": "..."}`,
/// `{"message": ["..."]}`, `{"error": "..."}`, `{"error": {"message": "..."}}`.
pub(crate) fn message(body: &Value) -> String {
    let text = match &body["message"] {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "),
        Value::Object(_) => body["message"].to_string(),
        _ => match &body["error"] {
            Value::String(s) => s.clone(),
            other => other["message"].as_str().unwrap_or_default().to_owned(),
        },
    };
    if text.is_empty() { "no message".to_owned() } else { text }
}

/// The `rel="next"` URL of a `Link` header.
pub(crate) fn next_link(link: Option<&str>) -> Option<String> {
    link?.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        rel.contains("rel=\"next\"").then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

/// A next-page URL the forge handed out, kept only when it stays on the API's origin (the
/// token goes with it).
pub(crate) fn same_origin(next: String, api: &str) -> Option<String> {
    let origin = |url: &str| -> String {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        format!("{scheme}://{}", rest.split('/').next().unwrap_or(""))
    };
    if origin(&next).eq_ignore_ascii_case(&origin(api)) {
        Some(next)
    } else {
        tracing::warn!("a forge's next page is on another origin; not followed with the token");
        None
    }
}

/// Percent-encodes everything but unreserved characters (query values, path segments).
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_read_from_the_link_header() {
        let link = r#"<https://api.github.com/repositories/1/pulls?page=2>; rel="next", <https://api.github.com/repositories/1/pulls?page=5>; rel="last""#;
        assert_eq!(next_link(Some(link)).as_deref(), Some("https://api.github.com/repositories/1/pulls?page=2"));
        assert_eq!(next_link(Some(r#"<https://x/p?page=1>; rel="prev""#)), None);
        assert_eq!(next_link(None), None);
    }

    #[test]
    fn pages_elsewhere_are_not_followed_with_the_token() {
        let api = "https://gitea.example.com/api/v1";
        assert!(same_origin("https://gitea.example.com/api/v1/repos/o/r/pulls?page=2".into(), api).is_some());
        assert!(same_origin("https://evil.example/api/v1/repos/o/r/pulls?page=2".into(), api).is_none());
        assert!(same_origin("http://gitea.example.com/api/v1/x".into(), api).is_none(), "nor downgraded");
    }

    #[test]
    fn error_messages_in_every_shape() {
        assert_eq!(message(&serde_json::json!({"message": "Bad credentials"})), "Bad credentials");
        assert_eq!(message(&serde_json::json!({"message": ["a", "b"]})), "a; b");
        assert_eq!(message(&serde_json::json!({"error": {"message": "no changes"}})), "no changes");
        assert_eq!(message(&serde_json::json!({"error": "title is missing"})), "title is missing");
        assert_eq!(message(&Value::Null), "no message");
    }

    #[test]
    fn rate_limit_waits_come_from_the_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(wait_for(&headers), None);
        headers.insert("retry-after", "30".parse().unwrap());
        assert_eq!(wait_for(&headers), Some(30));
        let mut headers = HeaderMap::new();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        headers.insert("ratelimit-reset", (now + 100).to_string().parse().unwrap());
        assert!((98..=100).contains(&wait_for(&headers).unwrap()));
    }
}
