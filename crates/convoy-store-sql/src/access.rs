//! Tokens and the audit trail in SQL.

use convoy_store::{AuditQuery, AuditRecord, Grant, Result, StoreError, TokenRecord};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::store::{Backend, SqlStore, backend_error};

const TOKEN_COLUMNS: &str = "name, hash, project, grants, created_at, created_by, expires_at, last_used_at, revoked_at";

fn token_of(row: &AnyRow) -> Result<TokenRecord> {
    let text = |column: &str| -> Result<String> { row.try_get(column).map_err(backend_error) };
    let optional = |column: &str| -> Result<Option<String>> { row.try_get(column).map_err(backend_error) };
    let grants: Vec<Grant> = serde_json::from_str(&text("grants")?).map_err(backend_error)?;
    Ok(TokenRecord {
        name: text("name")?,
        hash: text("hash")?,
        project: text("project")?,
        grants,
        created_at: text("created_at")?,
        created_by: text("created_by")?,
        expires_at: optional("expires_at")?,
        last_used_at: optional("last_used_at")?,
        revoked_at: optional("revoked_at")?,
    })
}

fn no_token(name: &str) -> StoreError {
    StoreError::Invalid(format!("no token named {name:?}"))
}

impl SqlStore {
    pub(crate) async fn sql_tokens(&self) -> Result<Vec<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await.map_err(backend_error)?;
        rows.iter().map(token_of).collect()
    }

    pub(crate) async fn sql_token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE hash = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_error)?;
        row.as_ref().map(token_of).transpose()
    }

    pub(crate) async fn sql_create_token(&self, token: TokenRecord) -> Result<()> {
        let grants = serde_json::to_string(&token.grants).map_err(backend_error)?;
        let sql = format!(
            "INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&token.name)
            .bind(&token.hash)
            .bind(&token.project)
            .bind(grants)
            .bind(&token.created_at)
            .bind(&token.created_by)
            .bind(token.expires_at.clone())
            .bind(token.last_used_at.clone())
            .bind(token.revoked_at.clone())
            .execute(self.pool())
            .await
            .map_err(backend_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Exists(format!("token {:?}", token.name)));
        }
        Ok(())
    }

    pub(crate) async fn sql_set_token_grants(&self, name: &str, grants: &[Grant]) -> Result<()> {
        let grants = serde_json::to_string(grants).map_err(backend_error)?;
        let done = sqlx::query("UPDATE api_tokens SET grants = $1 WHERE name = $2")
            .bind(grants)
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(backend_error)?;
        if done.rows_affected() == 0 {
            return Err(no_token(name));
        }
        Ok(())
    }

    pub(crate) async fn sql_revoke_token(&self, name: &str, at: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(backend_error)?;
        if done.rows_affected() == 1 {
            return Ok(true);
        }
        let exists = sqlx::query("SELECT 1 FROM api_tokens WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_error)?;
        match exists {
            Some(_) => Ok(false),
            None => Err(no_token(name)),
        }
    }

    pub(crate) async fn sql_token_used(&self, name: &str, at: &str) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE name = $2")
            .bind(at)
            .bind(name)
            .execute(self.pool())
            .await
            .map(|_| ())
            .map_err(backend_error)
    }

    pub(crate) async fn sql_append_audit(&self, records: Vec<AuditRecord>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        // Ids in append order across replicas: appends take turns, like object writes.
        let _turn = self.write_turn().await;
        let mut tx = self.pool().begin().await.map_err(backend_error)?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7011)").execute(&mut *tx).await.map_err(backend_error)?;
        }
        let last: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS last FROM audit")
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get("last"))
            .map_err(backend_error)?;
        let mut rows = Vec::with_capacity(records.len());
        for (i, mut record) in records.into_iter().enumerate() {
            record.id = last + 1 + i as i64;
            let body = serde_json::to_string(&record).map_err(backend_error)?;
            rows.push((record, body));
        }
        // An apply of 30,000 objects is 30,000 records: a few hundred statements, not 30,000.
        for chunk in rows.chunks(crate::store::ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO audit (id, at, project, actor, body) VALUES {}",
                crate::store::placeholders(chunk.len(), 5)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (record, body) in chunk {
                query = query.bind(record.id).bind(&record.at).bind(&record.project).bind(&record.actor).bind(body);
            }
            query.execute(&mut *tx).await.map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)
    }

    pub(crate) async fn sql_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let mut conditions = Vec::new();
        let mut parameter = 0;
        let mut next = || {
            parameter += 1;
            format!("${parameter}")
        };
        if !query.projects.is_empty() {
            let list: Vec<String> = query.projects.iter().map(|_| next()).collect();
            conditions.push(format!("project IN ({})", list.join(", ")));
        }
        if query.since.is_some() {
            conditions.push(format!("at >= {}", next()));
        }
        if query.actor.is_some() {
            conditions.push(format!("actor = {}", next()));
        }
        if query.before.is_some() {
            conditions.push(format!("id < {}", next()));
        }
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!("SELECT body FROM audit {filter} ORDER BY id DESC LIMIT {}", query.limit.min(100_000));
        let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
        for project in &query.projects {
            statement = statement.bind(project);
        }
        if let Some(since) = &query.since {
            statement = statement.bind(since);
        }
        if let Some(actor) = &query.actor {
            statement = statement.bind(actor);
        }
        if let Some(before) = query.before {
            statement = statement.bind(before);
        }
        let rows = statement.fetch_all(self.pool()).await.map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                let body: String = row.try_get("body").map_err(backend_error)?;
                serde_json::from_str(&body).map_err(backend_error)
            })
            .collect()
    }

    pub(crate) async fn sql_prune_audit(&self, before: &str) -> Result<u64> {
        sqlx::query("DELETE FROM audit WHERE at < $1")
            .bind(before)
            .execute(self.pool())
            .await
            .map(|done| done.rows_affected())
            .map_err(backend_error)
    }
}
