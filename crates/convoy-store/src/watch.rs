//! Watching: replay events after a revision, then follow new ones.

use std::sync::Arc;

use futures::Stream;
use serde_json::Value;

use crate::{Result, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        match text {
            "ADDED" => Some(EventType::Added),
            "MODIFIED" => Some(EventType::Modified),
            "DELETED" => Some(EventType::Deleted),
            _ => None,
        }
    }
}

/// One change: the revision it was committed at and the object after it (before it, for a
/// deletion).
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    pub revision: i64,
    pub event_type: EventType,
    pub object: Value,
}

pub type WatchStream = std::pin::Pin<Box<dyn Stream<Item = Result<WatchEvent>> + Send>>;

/// Every event after `since`, then new ones as they are committed, in revision order. The
/// first item is an error if `since` is older than the store keeps.
pub fn follow(store: Arc<dyn Store>, since: i64) -> WatchStream {
    Box::pin(futures::stream::unfold(
        (store, since, Vec::<WatchEvent>::new()),
        |(store, mut last, mut buffer)| async move {
            loop {
                if !buffer.is_empty() {
                    let event = buffer.remove(0);
                    last = event.revision;
                    return Some((Ok(event), (store, last, buffer)));
                }
                match store.events_since(last, 500).await {
                    Err(e) => return Some((Err(e), (store, i64::MAX, buffer))),
                    Ok(events) if events.is_empty() => {
                        if last == i64::MAX {
                            return None;
                        }
                        store.changed_after(last).await;
                    }
                    Ok(events) => buffer = events,
                }
            }
        },
    ))
}
