//! The backing repository over git's smart HTTP, at the forge's clone URL (`/acme/config.git`,
//! `/acme/ops/_git/config`, ...): `git http-backend` run as a CGI program per request, the
//! token checked as the forge's git endpoint checks it (Basic, any user name).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt;

use super::ForgeDouble;

/// The git service paths a clone URL is followed by.
const SERVICES: [&str; 3] = ["/info/refs", "/git-upload-pack", "/git-receive-pack"];

pub(super) async fn serve(State(double): State<ForgeDouble>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let Some(service) = SERVICES.iter().find(|s| path.ends_with(*s)) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let (git_dir, token) = {
        let book = double.book();
        (book.git_dir.clone(), book.token.clone())
    };
    let Some(git_dir) = git_dir else {
        return (StatusCode::NOT_FOUND, "no repository behind this double").into_response();
    };
    let headers = request.headers();
    if let Some(token) = token
        && super::basic_password(super::header(headers, "authorization")).as_deref() != Some(token.as_str())
    {
        let mut refusal = (StatusCode::UNAUTHORIZED, "authentication required").into_response();
        refusal.headers_mut().insert("www-authenticate", HeaderValue::from_static("Basic realm=\"forge\""));
        return refusal;
    }
    let method = request.method().to_string();
    let [content_type, encoding, protocol] =
        ["content-type", "content-encoding", "git-protocol"].map(|name| super::header(headers, name).to_owned());
    let body: Bytes = match axum::body::to_bytes(request.into_body(), 256 * 1024 * 1024).await {
        Ok(body) => body,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let root = git_dir.parent().expect("a bare repository has a parent directory");
    let name = git_dir.file_name().expect("a bare repository has a name").to_string_lossy().into_owned();
    let mut child = match tokio::process::Command::new("git")
        .args(["-c", "safe.directory=*", "-c", "http.receivepack=true", "http-backend"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{name}{service}"))
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", method)
        .env("CONTENT_TYPE", content_type)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", encoding)
        .env("GIT_PROTOCOL", protocol)
        .env("REMOTE_USER", "forge-user")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let mut stdin = child.stdin.take().expect("piped");
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let output = match child.wait_with_output().await {
        Ok(output) => output,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let _ = writer.await;
    cgi_response(&output.stdout)
}

/// A CGI program's output (headers, a blank line, the body) as an HTTP response.
fn cgi_response(output: &[u8]) -> Response {
    let split = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| output.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((end, gap)) = split else {
        return (StatusCode::BAD_GATEWAY, "git http-backend said nothing usable").into_response();
    };
    let mut response = Response::new(Body::from(output[end + gap..].to_vec()));
    for line in String::from_utf8_lossy(&output[..end]).lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().and_then(|c| c.parse().ok()).unwrap_or(500);
            *response.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        } else if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::try_from(name.trim()), HeaderValue::from_str(value))
        {
            response.headers_mut().append(name, value);
        }
    }
    response
}
