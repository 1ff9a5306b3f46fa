//! Watch as Server-Sent Events: `event: ADDED|MODIFIED|DELETED`, `id: <revision>`,
//! `data: <object>`. Without a resume point the current objects come first as `ADDED`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use convoy_api::Kind;
use convoy_store::{LabelSelector, WatchEvent, follow};
use futures::{Stream, StreamExt, stream};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;
use convoy_controllers::writes::redact;

pub async fn stream(
    state: Arc<AppState>,
    kind: Kind,
    project: Option<String>,
    selector: LabelSelector,
    resume: Option<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let (initial, since) = match resume {
        Some(revision) => {
            // Fail now (410) rather than mid-stream when the revision is gone.
            state.store.events_since(revision, 1).await?;
            (Vec::new(), revision)
        }
        None => {
            let (items, revision) = state.store.list(kind, project.as_deref(), &selector).await?;
            let initial = items
                .into_iter()
                .map(|s| WatchEvent {
                    revision: s.revision,
                    event_type: convoy_store::EventType::Added,
                    object: s.object,
                })
                .collect();
            (initial, revision)
        }
    };
    let live = follow(state.store.clone(), since).filter_map(move |event| {
        let keep = match &event {
            Ok(e) => matches_watch(e, kind, project.as_deref(), &selector),
            Err(_) => true,
        };
        async move { keep.then_some(event) }
    });
    let events = stream::iter(initial.into_iter().map(Ok)).chain(live).map(|event| {
        Ok(match event {
            Ok(e) => Event::default()
                .event(e.event_type.as_str())
                .id(e.revision.to_string())
                .data(redact(e.object).to_string()),
            Err(e) => {
                Event::default().event("ERROR").data(json!({"code": "Expired", "message": e.to_string()}).to_string())
            }
        })
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn matches_watch(event: &WatchEvent, kind: Kind, project: Option<&str>, selector: &LabelSelector) -> bool {
    let object = &event.object;
    let field = |p: &str| object.pointer(p).and_then(|v| v.as_str()).unwrap_or("");
    Kind::from_type(field("/apiVersion"), field("/kind")) == Some(kind)
        && project.is_none_or(|p| field("/metadata/namespace") == p)
        && selector.matches(object)
}
