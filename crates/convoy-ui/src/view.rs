//! What every page shares: the session guard, the page shell, status badges, times, and typed
//! reads from the store.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use convoy_api::Kind;
use convoy_api::time::Timestamp;
use convoy_store::{Key, LabelSelector};
use maud::{DOCTYPE, Markup, html};
use serde::de::DeserializeOwned;

use crate::Ui;
use crate::assets::{CSS_NAME, JS_NAME};
use crate::session;

/// A signed-in browser: its token (never shown) and CSRF token (given to the page).
pub struct Session {
    pub csrf: String,
    /// The store's revision before the page read anything: its live stream starts there, so a
    /// change made while the page was being rendered is not missed.
    pub revision: i64,
}

/// The session, or the response that sends the browser to sign in; with a project, one whose
/// token may read it (else 403, as the API would answer).
pub async fn signed_in(ui: &Ui, headers: &HeaderMap, here: &str, project: Option<&str>) -> Result<Session, Response> {
    let to_sign_in = || {
        let next: String = here.chars().filter(|c| c.is_ascii_graphic() && *c != '"').collect();
        Redirect::to(&format!("/login?next={}", encode(&next))).into_response()
    };
    let Some(token) = session::session_token(headers) else { return Err(to_sign_in()) };
    let readable = match project {
        Some(project) => ui.gate.readable(&token, vec![project.to_owned()]).await.map(|r| !r.is_empty()),
        None => ui.gate.sign_in(&token).await.map(|()| true),
    };
    let Ok(readable) = readable else { return Err(to_sign_in()) };
    if let Some(project) = project.filter(|_| !readable) {
        let message = format!("this sign-in has no role in project {project:?}; ask one of its admins for one");
        return Err(
            (StatusCode::FORBIDDEN, shell("Forbidden", None, None, html! { main { p { (message) } } })).into_response()
        );
    }
    let revision = ui.store.current_revision().await.unwrap_or(0);
    Ok(Session { csrf: session::csrf_for(&token), revision })
}

pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A whole page: `live` is the project whose changes refresh the `#live` region.
pub fn shell(title: &str, session: Option<&Session>, live: Option<&str>, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(s) = session { meta name="csrf-token" content=(s.csrf); }
                title { (title) " · Convoy" }
                link rel="stylesheet" href={ "/assets/" (*CSS_NAME) };
            }
            body data-live=[live.map(|p| format!("/p/{}/live?since={}", encode(p), session.map_or(0, |s| s.revision)))] {
                header.top {
                    a.brand href="/" { "Convoy" }
                    nav aria-label="main" {
                        @if let Some(project) = live {
                            a href={ "/p/" (encode(project)) } { "Pipeline" }
                            a href={ "/p/" (encode(project)) "/freight" } { "Freight" }
                            a href={ "/p/" (encode(project)) "/events" } { "Events" }
                        }
                        @if session.is_some() { a href="/doctor" { "Doctor" } }
                    }
                    @if let Some(s) = session {
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
                div #status role="status" aria-live="polite" {}
                dialog #promote aria-label="Promote" {
                    div.body {}
                    p { button type="button" data-close { "Close" } }
                }
                script src={ "/assets/" (*JS_NAME) } defer {}
            }
        }
    };
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], markup.into_string())
        .into_response()
}

/// Only the live region (`?fragment=live`).
pub fn fragment(markup: Markup) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], markup.into_string())
        .into_response()
}

pub fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, html! { p.error { (what) } }.into_string()).into_response()
}

pub fn store_error(e: impl std::fmt::Display) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, format!("the store did not answer: {e}")).into_response()
}

/// A phase or status as a badge that differs in shape, not only colour.
pub fn badge(word: &str) -> Markup {
    let class = match word {
        "Succeeded" | "Healthy" | "True" | "Successful" | "Verified" => "ok",
        "Failed" | "Errored" | "Error" | "Unhealthy" | "Degraded" | "False" => "bad",
        "" => return html! {},
        _ => "warn",
    };
    html! { span.badge.(class) { (word) } }
}

/// "3m ago" from an RFC 3339 time.
pub fn ago(at: Option<&str>, now: Timestamp) -> String {
    let Some(at) = at.and_then(|t| Timestamp::parse(t).ok()) else { return String::new() };
    let seconds = (now.0 - at.0).max(0);
    match seconds {
        0..60 => format!("{seconds}s ago"),
        60..3600 => format!("{}m ago", seconds / 60),
        3600..86400 => format!("{}h ago", seconds / 3600),
        _ => format!("{}d ago", seconds / 86400),
    }
}

/// Every object of `kind` in `project`, decoded (objects that do not decode are skipped).
pub async fn list<T: DeserializeOwned>(ui: &Ui, kind: Kind, project: &str) -> Result<Vec<T>, Response> {
    let (stored, _) = ui.store.list(kind, Some(project), &LabelSelector::everything()).await.map_err(store_error)?;
    Ok(stored.into_iter().filter_map(|s| serde_json::from_value(s.object).ok()).collect())
}

/// The project's Freight as stored, newest first (`discoveredAt`, else creation, then name).
/// Decoding every Freight of a large project would be most of a page's time: pages decode only
/// what they show, with [`decode`].
pub async fn freight_newest_first(ui: &Ui, project: &str) -> Result<Vec<serde_json::Value>, Response> {
    let (stored, _) =
        ui.store.list(Kind::Freight, Some(project), &LabelSelector::everything()).await.map_err(store_error)?;
    let mut values: Vec<serde_json::Value> = stored.into_iter().map(|s| s.object).collect();
    values.sort_by_cached_key(|v| {
        let text = |p: &str| v.pointer(p).and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
        let when = Some(text("/discoveredAt"))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| text("/metadata/creationTimestamp"));
        std::cmp::Reverse((when, text("/metadata/name")))
    });
    Ok(values)
}

/// A stored object as its type (`None` when it does not decode).
pub fn decode<T: DeserializeOwned>(value: &serde_json::Value) -> Option<T> {
    T::deserialize(value).ok()
}

/// A Freight's alias, else its name, from the stored object.
pub fn alias_of(value: &serde_json::Value) -> &str {
    value["alias"]
        .as_str()
        .or_else(|| value.pointer("/metadata/name").and_then(serde_json::Value::as_str))
        .unwrap_or("")
}

pub async fn get<T: DeserializeOwned>(ui: &Ui, kind: Kind, project: &str, name: &str) -> Result<Option<T>, Response> {
    let stored = ui.store.get(&Key::new(kind, project, name)).await.map_err(store_error)?;
    Ok(stored.and_then(|s| serde_json::from_value(s.object).ok()))
}
