//! The data directory: private to the server's user, locked against a second server.
//!
//! It holds the admin token, every project's credentials (in the SQLite database) and the git
//! mirrors, so it is 0700 and the database files are 0600; a directory others can read is
//! refused at start-up with the command that fixes it.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub fn create_private_dir(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))
}

/// Refuses a data dir that other users can read, write or enter.
pub fn check_private_dir(dir: &Path) -> Result<(), String> {
    let mode = std::fs::metadata(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "the data directory {} is open to other users (mode {:o}); it holds credentials and the admin \
             token: run `chmod 700 {}` and start again",
            dir.display(),
            mode & 0o777,
            dir.display()
        ));
    }
    Ok(())
}

/// Creates the SQLite database 0600 before SQLite does (its WAL and shared-memory files take
/// the database's mode), and narrows the mode of files made by earlier versions.
pub fn private_database_files(database: &Path) -> Result<(), String> {
    let fail = |path: &Path, e: std::io::Error| format!("cannot secure {}: {e}", path.display());
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(database).map_err(|e| fail(database, e))?;
    for suffix in ["", "-wal", "-shm"] {
        let path = database.with_file_name(format!(
            "{}{suffix}",
            database.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
        ));
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| fail(&path, e))?;
        }
    }
    Ok(())
}

/// Takes the data dir's lock: SQLite is one process's store.
pub fn lock_data_dir(dir: &Path, required: bool) -> Result<std::fs::File, String> {
    let path = dir.join("convoy.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another convoy server is using the data directory {}; stop it first (replicas share a PostgreSQL database: --database-url)",
            dir.display()
        )),
        Err(std::fs::TryLockError::Error(e)) if required => Err(format!(
            "cannot lock the data directory {} ({e}): its filesystem may not support locks, so nothing would stop \
             a second server from corrupting the database; use a local filesystem, or pass --no-data-dir-lock \
             if you are sure only one server uses it",
            dir.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot lock the data directory; make sure only one server uses it");
            Ok(file)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_directory_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = check_private_dir(dir.path()).unwrap_err();
        assert!(error.contains("chmod 700"), "{error}");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(check_private_dir(dir.path()).is_ok());
    }

    #[test]
    fn database_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("convoy.db");
        std::fs::write(dir.path().join("convoy.db-wal"), b"").unwrap();
        std::fs::set_permissions(dir.path().join("convoy.db-wal"), std::fs::Permissions::from_mode(0o644)).unwrap();
        private_database_files(&database).unwrap();
        for name in ["convoy.db", "convoy.db-wal"] {
            let mode = std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
}
