//! `/login` (paste a token), `/logout`.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::Ui;
use crate::session;
use crate::view::shell;

#[derive(Deserialize)]
pub struct Next {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct Credentials {
    token: String,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct Logout {
    #[serde(default)]
    csrf: String,
}

/// Only paths of this site: `/p/x`, never `//evil.example` or `https://...`.
pub fn local(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path.to_owned(),
        _ => "/".to_owned(),
    }
}

/// The sign-in page, with an error when a sign-in failed (401).
pub fn failed(next: Option<&str>, error: &str, sso: bool) -> Response {
    let mut response = form_page(&local(next), Some(error), sso);
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response
}

fn form_page(next: &str, error: Option<&str>, sso: bool) -> Response {
    shell(
        "Sign in",
        None,
        None,
        html! {
            form.login method="post" action="/login" {
                h1 { "Sign in to Convoy" }
                @if let Some(error) = error { p.error role="alert" { (error) } }
                @if sso {
                    a.button.primary #sso href={ "/auth/login?next=" (crate::view::encode(next)) } { "Sign in with single sign-on" }
                    p.muted { "or with a token:" }
                }
                label for="token" { "Token" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                input type="hidden" name="next" value=(next);
                p.muted { "The admin token is in the server's data directory (" code { "admin-token" } ")." }
                button.primary type="submit" { "Sign in" }
            }
        },
    )
}

pub async fn form(State(ui): State<Ui>, Query(query): Query<Next>) -> Response {
    form_page(&local(query.next.as_deref()), None, ui.sso)
}

pub async fn submit(State(ui): State<Ui>, headers: HeaderMap, Form(credentials): Form<Credentials>) -> Response {
    let next = local(credentials.next.as_deref());
    if !session::same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "a sign-in from another site is refused").into_response();
    }
    let token = credentials.token.trim();
    let refused = if token.is_empty() { Some(String::new()) } else { ui.gate.sign_in(token).await.err() };
    if let Some(why) = refused {
        let message = if why.is_empty() || why.starts_with("a valid bearer token") {
            "That token is not valid on this server. Check it, or ask for a new one.".to_owned()
        } else {
            why
        };
        let mut response = form_page(&next, Some(&message), ui.sso);
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return response;
    }
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = session::start_cookie(token, ui.secure_cookies).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub async fn logout(headers: HeaderMap, Form(form): Form<Logout>) -> Response {
    let valid = session::session_token(&headers).is_some_and(|t| session::same(&form.csrf, &session::csrf_for(&t)));
    if !valid || !session::same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "sign-out needs the page's CSRF token").into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(value) = session::end_cookie().parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
