//! `/p/{project}/live`: one Server-Sent Event, `changed`, whenever an object of the project
//! changes; the page then fetches its live region again (app.js batches bursts).

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream;

use crate::Ui;
use crate::session;

/// Events read per look at the store's log.
const BATCH: usize = 1000;

pub async fn stream(State(ui): State<Ui>, headers: HeaderMap, Path(project): Path<String>) -> Response {
    let Some(token) = session::session_token(&headers) else {
        return (StatusCode::UNAUTHORIZED, "sign in again").into_response();
    };
    if ui.gate.sign_in(&token).await.is_err() {
        return (StatusCode::UNAUTHORIZED, "sign in again").into_response();
    }
    if ui.gate.readable(&token, vec![project.clone()]).await.is_empty() {
        return (StatusCode::FORBIDDEN, "no role in this project").into_response();
    }
    let since = match ui.store.current_revision().await {
        Ok(revision) => revision,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    };
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
