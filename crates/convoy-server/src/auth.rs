//! Bearer tokens: only hashes are kept; the admin token is created on first start.

use std::collections::HashSet;
use std::path::Path;

use sha2::{Digest, Sha256};

/// Hex SHA-256 of a token.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.trim().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random token (two v4 UUIDs: 244 random bits).
pub fn new_token() -> String {
    format!("cvy_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// Who made a request. One identity for now; project roles come later, through [`authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Admin,
}

impl Identity {
    /// How events and annotations name this identity.
    pub fn name(&self) -> &'static str {
        match self {
            Identity::Admin => "admin",
        }
    }
}

/// What a request wants to do, for [`authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Write,
}

/// The single place that decides whether an identity may act. Every handler goes through it.
pub fn authorize(identity: &Identity, _action: Action, _project: &str) -> bool {
    matches!(identity, Identity::Admin)
}

/// The tokens the server accepts, by hash.
#[derive(Debug, Default)]
pub struct Tokens(HashSet<String>);

impl Tokens {
    pub fn from_hashes(hashes: impl IntoIterator<Item = String>) -> Tokens {
        Tokens(hashes.into_iter().collect())
    }

    pub fn identify(&self, header: Option<&str>) -> Option<Identity> {
        let token = header?.strip_prefix("Bearer ")?.trim();
        (!token.is_empty() && self.0.contains(&hash_token(token))).then_some(Identity::Admin)
    }
}

/// Writes the admin token to `path` as one line, readable only by the owner.
pub fn write_token_file(path: &Path, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    writeln!(file, "{token}")
}
