//! `/p/{project}/live`: one Server-Sent Event, `changed`, whenever an object of the project
//! changes; the page then fetches its live region again (app.js batches bursts).

use std::convert::Infallible;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream;

use crate::Ui;
use crate::session;

/// Events read per look at the store's log.
const BATCH: usize = 1000;

#[derive(serde::Deserialize)]
pub struct LiveQuery {
    /// The revision the page was rendered at (changes after it are announced).
    since: Option<i64>,
}

pub async fn stream(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path(project): Path<String>,
    Query(query): Query<LiveQuery>,
) -> Response {
    let Some(token) = session::session_token(&headers) else {
        return (StatusCode::UNAUTHORIZED, "sign in again").into_response();
    };
    match ui.gate.readable(&token, vec![project.clone()]).await {
        Err(_) => return (StatusCode::UNAUTHORIZED, "sign in again").into_response(),
        Ok(readable) if readable.is_empty() => {
            return (StatusCode::FORBIDDEN, "no role in this project").into_response();
        }
        Ok(_) => {}
    }
    let current = match ui.store.current_revision().await {
        Ok(revision) => revision,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    };
    // From the page's revision (a change between rendering and connecting is announced at once);
    // a revision from the future is today's.
    let since = query.since.filter(|s| (0..=current).contains(s)).unwrap_or(current);
    let changes = stream::unfold((ui.store.clone(), since), move |(store, mut since)| {
        let project = project.clone();
        async move {
            loop {
                store.changed_after(since).await;
                let events = match store.events_since(since, BATCH).await {
                    Ok(events) => events,
                    // The log moved on past us: whatever happened, the page looks again.
                    Err(_) => {
                        since = store.current_revision().await.ok()?;
                        return Some((
                            Ok::<_, Infallible>(Event::default().event("changed").data(since.to_string())),
                            (store, since),
                        ));
                    }
                };
                let Some(last) = events.last().map(|e| e.revision) else { continue };
                since = last;
                let ours = events.iter().any(|e| {
                    e.object.pointer("/metadata/namespace").and_then(|v| v.as_str()) == Some(project.as_str())
                });
                if ours {
                    return Some((Ok(Event::default().event("changed").data(since.to_string())), (store, since)));
                }
            }
        }
    });
    Sse::new(changes).keep_alive(KeepAlive::default()).into_response()
}
