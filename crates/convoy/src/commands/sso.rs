//! `convoy login --sso`: the ID token from the server's OpenID Connect issuer, by a loopback
//! redirect to this machine's browser (RFC 8252, with PKCE) or by the device flow (RFC 8628).

use std::time::Duration;

use anyhow::{Context, bail};
use convoy_server::oidc::{self, Discovery, PublicConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the browser sign-in may take.
const BROWSER_WAIT: Duration = Duration::from_secs(300);
/// The browser's request to the loopback listener is small; anything longer is not it.
const MAX_REQUEST: usize = 16 * 1024;

/// A browser can be opened here: `$BROWSER`, or a desktop session with `xdg-open`.
pub fn browser_available() -> bool {
    if std::env::var_os("BROWSER").is_some_and(|b| !b.is_empty()) {
        return true;
    }
    let desktop = std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    desktop && which("xdg-open")
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

fn open_browser(url: &str) {
    let program = std::env::var("BROWSER").ok().filter(|b| !b.is_empty()).unwrap_or_else(|| "xdg-open".into());
    let _ = std::process::Command::new(program)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Signs in; `device` forces the device flow.
pub async fn sign_in(public: &PublicConfig, device: bool) -> anyhow::Result<String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build()?;
    let url = format!("{}/.well-known/openid-configuration", public.issuer.trim_end_matches('/'));
    let response = http.get(&url).send().await.with_context(|| format!("cannot reach the issuer at {url}"))?;
    let discovery: Discovery = oidc::bounded_json(response).await.map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    if !device && browser_available() {
        match loopback(&http, &discovery, public).await {
            Ok(token) => return Ok(token),
            Err(e) => eprintln!("warning: the browser sign-in did not finish ({e:#}); using the device flow"),
        }
    }
    let started = oidc::device::start(&http, &discovery, &public.cli_client_id, &public.scope)
        .await
        .map_err(anyhow::Error::msg)?;
    let link = started.verification_uri_complete.clone().unwrap_or_else(|| started.verification_uri.clone());
    eprintln!("To sign in, open this link in a browser (on any machine) and confirm the code {}:", started.user_code);
    eprintln!("  {link}");
    oidc::device::finish(&http, &discovery, &public.cli_client_id, &started).await.map_err(anyhow::Error::msg)
}

/// The authorization code flow with a redirect to a listener on 127.0.0.1.
async fn loopback(http: &reqwest::Client, discovery: &Discovery, public: &PublicConfig) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let redirect_uri = format!("http://127.0.0.1:{}/callback", listener.local_addr()?.port());
    let (verifier, challenge) = oidc::pkce();
    let (state, _) = oidc::pkce();
    let query = oidc::form_body(&[
        ("response_type", "code"),
        ("client_id", &public.cli_client_id),
        ("redirect_uri", &redirect_uri),
        ("scope", &public.scope),
        ("state", &state),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let separator = if discovery.authorization_endpoint.contains('?') { '&' } else { '?' };
    let url = format!("{}{separator}{query}", discovery.authorization_endpoint);
    eprintln!("Opening a browser to sign in; if none opens, visit:");
    eprintln!("  {url}");
    open_browser(&url);
    let params = tokio::time::timeout(BROWSER_WAIT, callback(&listener))
        .await
        .map_err(|_| anyhow::anyhow!("no answer from the browser within {} s", BROWSER_WAIT.as_secs()))??;
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some(error) = get("error") {
        bail!("the issuer answered {error} {}", get("error_description").unwrap_or_default());
    }
    if get("state").as_deref() != Some(state.as_str()) {
        bail!("the answer's state does not match this sign-in");
    }
    let code = get("code").context("the issuer sent no code")?;
    oidc::exchange_code(http, discovery, &public.cli_client_id, &code, &verifier, &redirect_uri)
        .await
        .map_err(anyhow::Error::msg)
}

/// Waits for the browser's `GET /callback?...`; answers it and returns its query parameters.
async fn callback(listener: &tokio::net::TcpListener) -> anyhow::Result<Vec<(String, String)>> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
            let read = stream.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            request.extend_from_slice(&buffer[..read]);
        }
        let line = String::from_utf8_lossy(&request).lines().next().unwrap_or("").to_owned();
        let target = line.strip_prefix("GET ").and_then(|rest| rest.split(' ').next()).unwrap_or("");
        let Some(query) = target.strip_prefix("/callback?") else {
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            continue;
        };
        let page = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Convoy</title></head><body><p id=\"signed-in\">Signed in to Convoy. You can close this tab.</p></body></html>";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        return Ok(query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect());
    }
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_components_are_decoded() {
        assert_eq!(super::decode("a%20b+c%2Fd"), "a b c/d");
        assert_eq!(super::decode("100%"), "100%");
        assert_eq!(super::decode("%zz"), "%zz");
    }
}
