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
    // Before named tokens: one admin token per store. Kept for stores made by older versions.
    "CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS api_tokens (
        name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, project TEXT NOT NULL, grants TEXT NOT NULL,
        created_at TEXT NOT NULL, created_by TEXT NOT NULL,
        expires_at TEXT, last_used_at TEXT, revoked_at TEXT)",
    // Tokens of older versions were administrators: they keep the system kargo-admin role.
    "INSERT INTO api_tokens (name, hash, project, grants, created_at, created_by)
        SELECT name, hash, '', '[{\"project\":\"\",\"role\":\"kargo-admin\"}]', created_at, 'convoy'
        FROM tokens WHERE true ON CONFLICT DO NOTHING",
    "CREATE TABLE IF NOT EXISTS audit (
        id BIGINT PRIMARY KEY, at TEXT NOT NULL, project TEXT NOT NULL, actor TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS audit_at ON audit (at)",
];
