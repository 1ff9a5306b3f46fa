//! Single sign-on for the web UI (authorization code + PKCE) and what clients need to start it.
//!
//! ```text
//!  GET /auth/login?next=/p/shop ──▶ 303 to the issuer (state, nonce, S256 challenge; the
//!                                    verifier in a 10-minute cookie, SameSite=Lax)
//!  issuer ──▶ GET /auth/callback?code&state ──▶ code exchanged, ID token verified (nonce too)
//!        ──▶ the session cookie holds the ID token ──▶ a same-site hop to `next`
//! ```

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::oidc::{Oidc, PublicConfig, form_body, pkce};

const FLOW_COOKIE: &str = "convoy_sso";

/// `GET /v1/auth/config`: the issuer and clients, for `convoy login --sso`.
pub async fn public_config(State(state): State<Arc<AppState>>) -> Result<Json<PublicConfig>, ApiError> {
    let oidc = configured(&state)?;
    Ok(Json(PublicConfig {
        issuer: oidc.config.issuer.clone(),
        client_id: oidc.config.client_id.clone(),
        cli_client_id: oidc.config.cli_client_id.clone(),
        scope: oidc.config.scope(),
    }))
}

fn configured(state: &AppState) -> Result<&Oidc, ApiError> {
    state.oidc.as_deref().ok_or_else(|| {
        ApiError::not_found("single sign-on is not configured on this server (convoy server --oidc-issuer ...)")
    })
}

/// What the browser keeps between leaving for the issuer and coming back.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    verifier: String,
    nonce: String,
    next: String,
    redirect_uri: String,
}

#[derive(Deserialize)]
pub struct Start {
    #[serde(default)]
    next: Option<String>,
}

/// This server's callback URL as the browser reaches it.
fn redirect_uri(headers: &HeaderMap, secure: bool) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    // A Host header that is not a host name only breaks this sign-in (the issuer checks the URI).
    let host: String =
        host.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')).collect();
    format!("{}://{host}/auth/callback", if secure { "https" } else { "http" })
}

/// `GET /auth/login`: off to the issuer.
pub async fn start(State(state): State<Arc<AppState>>, headers: HeaderMap, Query(query): Query<Start>) -> Response {
    let oidc = match configured(&state) {
        Ok(oidc) => oidc,
        Err(e) => return e.into_response(),
    };
    let discovery = match oidc.discovery().await {
        Ok(d) => d,
        Err(e) => {
            return convoy_ui::sign_in_failed(
                query.next.as_deref(),
                &format!("Single sign-on is unavailable: {e}"),
                true,
            );
        }
    };
    let (verifier, challenge) = pkce();
    let flow = Flow {
        state: uuid::Uuid::new_v4().simple().to_string(),
        verifier,
        nonce: uuid::Uuid::new_v4().simple().to_string(),
        next: convoy_ui::local_path(query.next.as_deref()),
        redirect_uri: redirect_uri(&headers, state.secure_cookies),
    };
    let scope = oidc.config.scope();
    let query = form_body(&[
        ("response_type", "code"),
        ("client_id", &oidc.config.client_id),
        ("redirect_uri", &flow.redirect_uri),
        ("scope", &scope),
        ("state", &flow.state),
        ("nonce", &flow.nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let separator = if discovery.authorization_endpoint.contains('?') { '&' } else { '?' };
    let mut response = Redirect::to(&format!("{}{separator}{query}", discovery.authorization_endpoint)).into_response();
    let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&flow).unwrap_or_default());
    // Lax: the issuer sends the browser back with a cross-site navigation.
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!("{FLOW_COOKIE}={value}; Path=/auth; HttpOnly; SameSite=Lax; Max-Age=600{secure}");
    if let Ok(cookie) = cookie.parse() {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

fn flow_of(headers: &HeaderMap) -> Option<Flow> {
    let cookies = headers.get_all(header::COOKIE);
    let value = cookies
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(&format!("{FLOW_COOKIE}=")).map(str::to_owned))?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(value).ok()?).ok()
}

/// `GET /auth/callback`: the code for an ID token, the session, and on to `next`.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Response {
    let oidc = match configured(&state) {
        Ok(oidc) => oidc,
        Err(e) => return e.into_response(),
    };
    let fail = |next: Option<&str>, why: String| {
        convoy_ui::sign_in_failed(next, &format!("Single sign-on failed: {why}"), true)
    };
    let Some(flow) = flow_of(&headers) else {
        return fail(None, "this browser did not start a sign-in here (or took over 10 minutes); try again".into());
    };
    if let Some(error) = &query.error {
        let detail = query.error_description.as_deref().unwrap_or("");
        return fail(Some(&flow.next), format!("the issuer answered {error} {detail}"));
    }
    let (Some(code), Some(returned)) = (&query.code, &query.state) else {
        return fail(Some(&flow.next), "the issuer sent no code".into());
    };
    if !crate::auth::constant_time_eq(returned.as_bytes(), flow.state.as_bytes()) {
        return fail(Some(&flow.next), "the sign-in's state does not match; try again".into());
    }
    let id_token = match oidc.exchange(code, &flow.verifier, &flow.redirect_uri).await {
        Ok(token) => token,
        Err(e) => return fail(Some(&flow.next), e),
    };
    let claims = match oidc.verify(&id_token, &[oidc.config.client_id.as_str()]).await {
        Ok(claims) => claims,
        Err(e) => return fail(Some(&flow.next), format!("the ID token is not accepted: {e}")),
    };
    if claims["nonce"].as_str() != Some(flow.nonce.as_str()) {
        return fail(Some(&flow.next), "the ID token's nonce does not match this sign-in".into());
    }
    // A same-site hop: a SameSite=Strict cookie set during a cross-site navigation is not sent
    // on its redirects, so the next page is asked for from this page.
    let next = convoy_ui::local_path(Some(&flow.next));
    let escaped = next.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed in · Convoy</title><meta http-equiv=\"refresh\" content=\"0;url={escaped}\"></head><body><p>Signed in. <a href=\"{escaped}\">Continue</a></p></body></html>"
    );
    let mut response = (StatusCode::OK, Html(page)).into_response();
    let session = convoy_ui::session::start_cookie(&id_token, state.secure_cookies);
    let ended = format!("{FLOW_COOKIE}=; Path=/auth; HttpOnly; SameSite=Lax; Max-Age=0");
    for cookie in [session, ended] {
        if let Ok(value) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
