//! SQL storage for Convoy: one file in the data dir (SQLite, WAL) or a PostgreSQL database.
//!
//! ```text
//!  objects(kind, project, name, revision, body)     current state, one row per object
//!  events(revision, event_type, kind, ..., body)     change log for watch, compacted
//!  counters('revision')                              the global revision
//!  api_tokens(name, hash, project, grants, ...)      API tokens by hash, never reused
//!  audit(id, at, project, actor, body)              the append-only audit trail
//! ```
//!
//! Writes run in one transaction each set, under one lock (an in-process mutex for SQLite,
//! `pg_advisory_xact_lock` for PostgreSQL), so revisions commit in order across replicas.

mod access;
mod schema;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use store::{Backend, SqlStore, WRITE_DURATION};
