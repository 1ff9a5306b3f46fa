//! `/p/{project}/events` (the project's event log, newest first, live) and `/doctor` (the
//! server's checks, read from `/v1/diagnostics` by the page's script: the API is the only door).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use convoy_api::time::Timestamp;
use convoy_api::{Event, Kind};
use maud::html;
use serde::Deserialize;

use crate::Ui;
use crate::view::{ago, encode, fragment, list, shell, signed_in};

/// Events shown; the CLI (`convoy events`) pages through all of them.
const SHOWN: usize = 200;

#[derive(Deserialize, Default)]
pub struct EventsQuery {
    #[serde(default)]
    fragment: Option<String>,
}

pub async fn page(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path(project): Path<String>,
    Query(query): Query<EventsQuery>,
) -> Response {
    let here = format!("/p/{}/events", encode(&project));
    let session = match signed_in(&ui, &headers, &here, Some(&project)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut events: Vec<Event> = match list(&ui, Kind::Event, &project).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let when = |e: &Event| e.last_timestamp.clone().or(e.metadata.creation_timestamp.clone()).unwrap_or_default();
    events.sort_by_cached_key(|e| std::cmp::Reverse(when(e)));
    let now = Timestamp::now();
    let body = html! {
        table {
            thead { tr { th { "When" } th { "Reason" } th { "About" } th { "Message" } } }
            tbody {
                @for e in events.iter().take(SHOWN) {
                    @let about = format!("{}/{}", e.involved_object["kind"].as_str().unwrap_or(""), e.involved_object["name"].as_str().unwrap_or(""));
                    tr {
                        td.muted { (ago(Some(&when(e)), now)) }
                        td { @if e.event_type == "Warning" { span.badge.warn { (e.reason) } } @else { (e.reason) } }
                        td { (about) }
                        td { (e.message) }
                    }
                }
            }
        }
        @if events.len() > SHOWN { p.muted { "The newest " (SHOWN) " of " (events.len()) "; " code { "convoy -p " (project) " events" } " lists all." } }
    };
    if query.fragment.as_deref() == Some("live") {
        return fragment(body);
    }
    shell("Events", Some(&session), Some(&project), html! { h1 { "Events of " (project) } div #live { (body) } })
}

pub async fn doctor(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    let session = match signed_in(&ui, &headers, "/doctor", None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    shell(
        "Doctor",
        Some(&session),
        None,
        html! {
            h1 { "Doctor" }
            p.muted { "The server's own checks (" code { "convoy doctor" } " also checks the client's machine)." }
            table #doctor aria-live="polite" {
                thead { tr { th { "Check" } th { "Status" } th { "What" } th { "Fix" } } }
                tbody { tr { td colspan="4" { "Checking…" } } }
            }
            noscript { p { "This page needs JavaScript; " code { "convoy doctor" } " gives the same." } }
        },
    )
}
