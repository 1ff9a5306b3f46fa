//! Continue tokens for paged lists (Kubernetes' `limit` / `continue`): an opaque token naming
//! the revision of the first page and the last object handed out.
//!
//! Pages after the first are read from the current objects, starting after that position: an
//! object is never handed out twice or skipped, but one created or deleted between pages may be
//! missing or present (Kubernetes serves every page at the first page's revision). A token older
//! than the events the store keeps is refused with 410, as Kubernetes refuses a compacted one.

use convoy_store::{Store, StoreError};

use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub revision: i64,
    pub project: String,
    pub name: String,
}

impl Position {
    pub fn new(revision: i64, project: &str, name: &str) -> Position {
        Position { revision, project: project.to_owned(), name: name.to_owned() }
    }

    pub fn encode(&self) -> String {
        convoy_controllers::base64::encode(format!("{}\0{}\0{}", self.revision, self.project, self.name).as_bytes())
    }

    pub fn decode(token: &str) -> Result<Position, ApiError> {
        let invalid =
            || ApiError::bad_request("invalid continue token: pass metadata.continue of the previous page unchanged");
        let bytes = convoy_controllers::base64::decode(token).ok_or_else(invalid)?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.splitn(3, '\0');
        let (Some(revision), Some(project), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        Ok(Position { revision: revision.parse().map_err(|_| invalid())?, project: project.into(), name: name.into() })
    }

    /// Refuses a token whose revision the store no longer keeps events for.
    pub async fn check_current(&self, store: &dyn Store) -> Result<(), ApiError> {
        match store.events_since(self.revision, 1).await {
            Err(StoreError::RevisionTooOld { .. }) => Err(ApiError::new(
                axum::http::StatusCode::GONE,
                "Expired",
                "the continue token has expired (the store no longer keeps its revision); list again from the first page",
            )),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let position = Position::new(42, "p", "name.with.dots");
        assert_eq!(Position::decode(&position.encode()).unwrap(), position);
        assert!(Position::decode("not base64!").is_err());
        assert!(
            Position::decode(&convoy_controllers::base64::encode(b"x\0p\0n")).is_err(),
            "revision must be a number"
        );
        assert!(Position::decode(&convoy_controllers::base64::encode(b"42")).is_err(), "three parts");
    }
}
