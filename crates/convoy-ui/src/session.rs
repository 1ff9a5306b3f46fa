//! Sign-in for browsers: the token pasted on `/login` is kept in an `HttpOnly`, `SameSite=Strict`
//! cookie, and every write made with that cookie must carry the session's CSRF token (derived
//! from the session, so every replica can check it). The API accepts the cookie in place of the
//! `Authorization` header under the same rules ([`cookie_credentials`]).

use axum::http::{HeaderMap, Method, header};
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "convoy_session";
/// The header a page's script sends its CSRF token in; forms send the field `csrf`.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session token in the request's cookie, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE && !value.is_empty()).then(|| value.to_owned())
    })
}

/// The CSRF token of a session: a hash of its token under a fixed context, so the page can be
/// given it while the cookie stays unreadable to scripts.
pub fn csrf_for(session: &str) -> String {
    let digest = Sha256::digest(format!("convoy-csrf\0{session}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares in constant time (the expected value is secret to other sites).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a cookie-authenticated request is refused before its token is even looked at.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A write without the session's CSRF token (`X-CSRF-Token`).
    MissingCsrf,
    /// A write whose `Origin` is another site.
    CrossOrigin,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::MissingCsrf => "a request with the session cookie needs the session's X-CSRF-Token header",
            Refusal::CrossOrigin => "a write from another site is refused",
        })
    }
}

/// For the API: the bearer token a cookie stands for, when the request has no `Authorization`
/// header. Every such request must carry the session's CSRF token (a script of this site's
/// pages has it; another site's cannot read it), and writes must come from this site.
pub fn cookie_credentials(method: &Method, headers: &HeaderMap) -> Option<Result<String, Refusal>> {
    let token = session_token(headers)?;
    if !matches!(*method, Method::GET | Method::HEAD) && !same_origin(headers) {
        return Some(Err(Refusal::CrossOrigin));
    }
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !same(sent, &csrf_for(&token)) {
        return Some(Err(Refusal::MissingCsrf));
    }
    Some(Ok(token))
}

/// No `Origin` (same-origin GET forms, old browsers) or one naming the `Host` the request
/// came to.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

/// The `Set-Cookie` value that starts a session (`secure`: the server speaks TLS).
pub fn start_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200{secure}")
}

pub fn end_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_cookie_write_needs_the_csrf_token_and_this_origin() {
        let token = "cvy_abc";
        let csrf = csrf_for(token);
        let cookie = format!("other=1; {COOKIE}={token}");
        let bare = headers(&[("cookie", &cookie)]);
        assert_eq!(cookie_credentials(&Method::GET, &bare), Some(Err(Refusal::MissingCsrf)), "reads too");
        assert_eq!(cookie_credentials(&Method::POST, &bare), Some(Err(Refusal::MissingCsrf)));
        let read = headers(&[("cookie", &cookie), ("x-csrf-token", &csrf)]);
        assert_eq!(cookie_credentials(&Method::GET, &read), Some(Ok(token.to_owned())));
        let wrong = headers(&[("cookie", &cookie), ("x-csrf-token", "0000")]);
        assert_eq!(cookie_credentials(&Method::POST, &wrong), Some(Err(Refusal::MissingCsrf)));
        let good = headers(&[
            ("cookie", &cookie),
            ("x-csrf-token", &csrf),
            ("host", "convoy:7070"),
            ("origin", "https://convoy:7070"),
        ]);
        assert_eq!(cookie_credentials(&Method::POST, &good), Some(Ok(token.to_owned())));
        let elsewhere = headers(&[
            ("cookie", &cookie),
            ("x-csrf-token", &csrf),
            ("host", "convoy:7070"),
            ("origin", "https://evil.example"),
        ]);
        assert_eq!(cookie_credentials(&Method::DELETE, &elsewhere), Some(Err(Refusal::CrossOrigin)));
        assert_eq!(cookie_credentials(&Method::POST, &headers(&[])), None, "no cookie: the header rules apply");
        assert_ne!(csrf_for("cvy_other"), csrf, "each session its own");
    }
}
