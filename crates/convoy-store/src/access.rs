//! What the store keeps for access control beside the objects: API tokens (by hash) and the
//! append-only audit trail.

use serde::{Deserialize, Serialize};

/// A role given to a token: a system role (`project` empty) or a role of a project.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Grant {
    #[serde(default)]
    pub project: String,
    pub role: String,
}

/// A named API token. Only the SHA-256 of its value is kept; names are never reused (a revoked
/// token keeps its row), so an actor named in the audit trail is always the same token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    pub name: String,
    #[serde(skip)]
    pub hash: String,
    /// The project the token was made for; empty for a system token.
    #[serde(default)]
    pub project: String,
    pub grants: Vec<Grant>,
    pub created_at: String,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// One accepted or refused write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// Assigned by the store, increasing in the order records were appended.
    #[serde(default)]
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    /// `token:NAME`, `user:SUBJECT`, `receiver:PROJECT/NAME`, or `convoy` for the server itself.
    pub actor: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    pub verb: String,
    #[serde(default)]
    pub project: String,
    pub kind: String,
    #[serde(default)]
    pub name: String,
    /// What changed, or why the write was refused.
    pub summary: String,
    pub request_id: String,
    #[serde(default)]
    pub source: String,
    /// `allowed` or `refused`.
    pub outcome: String,
    /// The HTTP status answered.
    pub status: u16,
}

/// Which audit records to read: newest first, at most `limit`, before the id `before`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only these projects (empty: all).
    pub projects: Vec<String>,
    /// Records at or after this time (RFC 3339).
    pub since: Option<String>,
    pub actor: Option<String>,
    pub before: Option<i64>,
    pub limit: usize,
}

impl AuditQuery {
    /// Whether `record` is one the query asks for (for stores that filter in memory).
    pub fn matches(&self, record: &AuditRecord) -> bool {
        (self.projects.is_empty() || self.projects.contains(&record.project))
            && self.since.as_ref().is_none_or(|since| record.at.as_str() >= since.as_str())
            && self.actor.as_ref().is_none_or(|actor| &record.actor == actor)
            && self.before.is_none_or(|before| record.id < before)
    }
}
