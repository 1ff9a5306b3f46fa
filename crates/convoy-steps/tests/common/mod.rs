//! What the step tests share: a wall clock, and git run in a directory (convoy-git's).

#![allow(dead_code, unused_imports, reason = "each test binary uses its own part")]

use convoy_api::time::Timestamp;
use convoy_engine::Clock;

pub struct Now;

impl Clock for Now {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

pub use convoy_git::testing::git as sh;

/// The project's git credentials: `bot` and this token (what a forge's API is called with).
pub struct Token(pub &'static str);

#[async_trait::async_trait]
impl convoy_engine::Resources for Token {
    async fn set_freight_alias(&self, _: &str, _: &str, _: &str) -> Result<(), convoy_engine::ResourceError> {
        Ok(())
    }
    async fn set_metadata(
        &self,
        _: &str,
        _: convoy_api::Kind,
        _: &str,
        _: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), convoy_engine::ResourceError> {
        Ok(())
    }
    async fn git_credentials(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<convoy_engine::RepoCredentials>, convoy_engine::ResourceError> {
        Ok(Some(convoy_engine::RepoCredentials { username: "bot".into(), password: self.0.into() }))
    }
}
