//! Tables, created when missing. The same statements work on SQLite and PostgreSQL.

pub(crate) const STATEMENTS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS objects (
        kind TEXT NOT NULL, project TEXT NOT NULL, name TEXT NOT NULL,
        revision BIGINT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (kind, project, name))",
    "CREATE TABLE IF NOT EXISTS events (
        revision BIGINT PRIMARY KEY, event_type TEXT NOT NULL,
        kind TEXT NOT NULL, project TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    "INSERT INTO counters (name, value) VALUES ('revision', 0) ON CONFLICT (name) DO NOTHING",
    "CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)",
];
