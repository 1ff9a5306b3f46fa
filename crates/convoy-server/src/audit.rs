//! The audit trail: every write an identified caller makes through the API, accepted or
//! refused, with who, what, from where and the request id. Handlers say what they changed
//! ([`Note`]); a write route that says nothing is still recorded, from its path.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::IncomingStream;
use convoy_store::{AuditRecord, Store};

use crate::AppState;
use crate::auth::Identity;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The address a request came from (plain TCP or TLS).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, crate::tls::TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, crate::tls::TlsListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

/// One change a handler made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub verb: String,
    pub project: String,
    pub kind: String,
    pub name: String,
    pub summary: String,
}

impl Note {
    pub fn new(verb: &str, kind: &str, project: &str, name: &str, summary: impl Into<String>) -> Note {
        Note {
            verb: verb.into(),
            project: project.into(),
            kind: kind.into(),
            name: name.into(),
            summary: summary.into(),
        }
    }
}

/// What a response changed: none for a dry run; absent when the handler did not say.
#[derive(Debug, Clone, Default)]
pub struct Notes(pub Vec<Note>);

/// The message of an error response, for the record of a refused write.
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub String);

/// The request's id: the caller's `X-Request-Id` when it is a sane token, else a new one.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Attaches `notes` to a response.
pub fn noted(response: impl IntoResponse, notes: Vec<Note>) -> Response {
    let mut response = response.into_response();
    response.extensions_mut().insert(Notes(notes));
    response
}

fn request_id(request: &Request) -> String {
    let given = request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let sane = !given.is_empty()
        && given.len() <= 64
        && given.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if sane { given.to_owned() } else { uuid::Uuid::new_v4().to_string() }
}

/// Tags every request with an id (echoed in `X-Request-Id`).
pub async fn tag(mut request: Request, next: Next) -> Response {
    let id = request_id(&request);
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Records the writes of identified callers once their response is known.
pub async fn record(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let identity = request.extensions().get::<Identity>().cloned();
    let id = request.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let source = request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|ConnectInfo(Peer(address))| address.ip().to_string())
        .unwrap_or_default();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    // Anonymous requests are refused before anything is read; recording them would let anyone
    // fill the trail.
    let Some(identity) = identity else { return response };
    let status = response.status();
    let notes = response.extensions_mut().remove::<Notes>();
    let at = convoy_store::now_rfc3339();
    let record = |note: Note, outcome: &str| AuditRecord {
        id: 0,
        at: at.clone(),
        actor: identity.actor.clone(),
        groups: identity.groups.clone(),
        verb: note.verb,
        project: note.project,
        kind: note.kind,
        name: note.name,
        summary: note.summary,
        request_id: id.clone(),
        source: source.clone(),
        outcome: outcome.into(),
        status: status.as_u16(),
    };
    let records: Vec<AuditRecord> = if status.is_success() {
        match notes {
            Some(Notes(notes)) => notes.into_iter().map(|n| record(n, "allowed")).collect(),
            None => vec![record(from_path(&method, &path, format!("{method} {path}")), "allowed")],
        }
    } else {
        let why = response.extensions().get::<ErrorMessage>().map(|m| m.0.clone()).unwrap_or_default();
        vec![record(from_path(&method, &path, why), "refused")]
    };
    append(&*state.store, records).await;
    response
}

/// Appends to the trail; a store that cannot take the record is logged loudly (the write it
/// describes has happened and cannot be undone here).
pub async fn append(store: &dyn Store, records: Vec<AuditRecord>) {
    if records.is_empty() {
        return;
    }
    let (count, actor, first) =
        (records.len(), records[0].actor.clone(), format!("{} {}", records[0].verb, records[0].name));
    if let Err(e) = store.append_audit(records).await {
        tracing::error!(error = %e, count, %actor, %first, "could not record writes in the audit trail");
    }
}

/// The verb and object a write path names (`/v1/projects/p/stages/s/promote` → promote Stage s).
fn from_path(method: &Method, path: &str, summary: String) -> Note {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let verb = match *method {
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "write",
    };
    let kind_of = |plural: &str| {
        convoy_api::Kind::ALL.into_iter().find(|k| k.plural() == plural).map_or(plural.to_owned(), |k| k.name().into())
    };
    match segments.as_slice() {
        ["v1", "projects", project, plural, name, action] => {
            Note::new(action, &kind_of(plural), project, name, summary)
        }
        ["v1", "projects", project, plural, name] => Note::new(verb, &kind_of(plural), project, name, summary),
        ["v1", "projects", project, plural] => Note::new(verb, &kind_of(plural), project, "", summary),
        ["v1", plural, name, ..] => Note::new(verb, &kind_of(plural), "", name, summary),
        ["v1", plural] => Note::new(verb, &kind_of(plural), "", "", summary),
        _ => Note::new(verb, "", "", "", format!("{summary} ({path})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_object() {
        let promote = from_path(&Method::POST, "/v1/projects/shop/stages/prod/promote", "x".into());
        assert_eq!(promote, Note::new("promote", "Stage", "shop", "prod", "x"));
        let delete = from_path(&Method::DELETE, "/v1/projects/shop/freight/abc", "x".into());
        assert_eq!(delete, Note::new("delete", "Freight", "shop", "abc", "x"));
        let apply = from_path(&Method::POST, "/v1/apply", "x".into());
        assert_eq!(apply, Note::new("create", "apply", "", "", "x"));
    }
}
