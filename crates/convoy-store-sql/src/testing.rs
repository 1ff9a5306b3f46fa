//! A throwaway PostgreSQL server on 127.0.0.1 for tests, stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Postgres {
    _dir: tempfile::TempDir,
    data: PathBuf,
    as_postgres: bool,
    pub url: String,
}

/// Starts a server, or says why it cannot (missing binaries). Under `CI=true` a missing
/// server is a failure, elsewhere the caller skips with the reason.
pub fn start() -> Result<Postgres, String> {
    if !Path::new(PG_BIN).join("initdb").exists() {
        return Err(format!("PostgreSQL 15 is not installed ({PG_BIN}/initdb missing)"));
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    // Everything the server writes (data, log, socket) lives in one directory it owns.
    let home = dir.path().join("pg");
    let data = home.join("data");
    let as_postgres = is_root();
    if as_postgres {
        // initdb refuses to run as root: run it as postgres in a directory it may use.
        run(Command::new("chmod").args(["755"]).arg(dir.path()))?;
        run(Command::new("install").args(["-d", "-o", "postgres", "-g", "postgres"]).arg(&home))?;
    } else {
        std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    }
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let initdb = format!("{PG_BIN}/initdb");
    let pg_ctl = format!("{PG_BIN}/pg_ctl");
    let data_s = data.display().to_string();
    run(&mut command(
        as_postgres,
        &initdb,
        &["-D", &data_s, "-U", "convoy", "--auth=trust", "-E", "UTF8", "--no-locale"],
    ))?;
    let options = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        home.display()
    );
    let log = home.join("log").display().to_string();
    run(&mut command(as_postgres, &pg_ctl, &["-D", &data_s, "-l", &log, "-w", "-o", &options, "start"]))?;
    let url = format!("postgres://convoy@127.0.0.1:{port}/postgres");
    Ok(Postgres { _dir: dir, data, as_postgres, url })
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let pg_ctl = format!("{PG_BIN}/pg_ctl");
        let data = self.data.display().to_string();
        let _ = command(self.as_postgres, &pg_ctl, &["-D", &data, "-m", "immediate", "-w", "stop"]).output();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn command(as_postgres: bool, program: &str, args: &[&str]) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]).args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

impl Postgres {
    /// Runs SQL with `psql` as the test role (for breaking things the way operators do).
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new(format!("{PG_BIN}/psql"))
            .args(["-X", "-q", "-t", "-v", "ON_ERROR_STOP=1", "-d", &self.url, "-c", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

/// A server, or `None` after printing why the test is skipped (a failure under CI).
pub fn start_or_skip() -> Option<Postgres> {
    match start() {
        Ok(pg) => Some(pg),
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => panic!("PostgreSQL is required in CI: {why}"),
        Err(why) => {
            eprintln!("skipping: {why}");
            None
        }
    }
}
