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
    start_with(None)
}

/// A server that accepts only TLS connections, with a certificate for `localhost` and
/// `127.0.0.1` from an authority made here; returns the server and the authority's
/// certificate (PEM) to trust.
pub fn start_tls() -> Result<(Postgres, PathBuf), String> {
    let certs = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ca = certificate_authority(certs.path(), "ca")?;
    let (cert, key) = server_certificate(certs.path(), &ca)?;
    let pg = start_with(Some((&cert, &key)))?;
    // The authority outlives this function: keep a copy in the server's directory.
    let trusted = pg._dir.path().join("ca.pem");
    std::fs::copy(&ca.0, &trusted).map_err(|e| e.to_string())?;
    Ok((pg, trusted))
}

/// A certificate authority (certificate, key) under `dir`.
pub fn certificate_authority(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), String> {
    let (cert, key) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &format!("/CN={name}")])
        .args(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert))?;
    Ok((cert, key))
}

/// A server certificate for `localhost`/`127.0.0.1` signed by `ca`, under `dir`.
fn server_certificate(dir: &Path, ca: &(PathBuf, PathBuf)) -> Result<(PathBuf, PathBuf), String> {
    let (cert, key, request) = (dir.join("server.crt"), dir.join("server.key"), dir.join("server.csr"));
    let extensions = dir.join("server.ext");
    std::fs::write(
        &extensions,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    run(Command::new("openssl")
        .args(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&request))?;
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
        .arg(&request)
        .arg("-CA")
        .arg(&ca.0)
        .arg("-CAkey")
        .arg(&ca.1)
        .arg("-extfile")
        .arg(&extensions)
        .arg("-out")
        .arg(&cert))?;
    Ok((cert, key))
}

fn start_with(tls: Option<(&Path, &Path)>) -> Result<Postgres, String> {
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
    let mut options = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        home.display()
    );
    if let Some((cert, key)) = tls {
        // The key must belong to the server's user and be private, or PostgreSQL refuses it.
        let (server_cert, server_key) = (home.join("server.crt"), home.join("server.key"));
        let owner: &[&str] = if as_postgres { &["-o", "postgres", "-g", "postgres"] } else { &[] };
        run(Command::new("install").args(owner).args(["-m", "600"]).arg(cert).arg(&server_cert))?;
        run(Command::new("install").args(owner).args(["-m", "600"]).arg(key).arg(&server_key))?;
        options.push_str(&format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            server_cert.display(),
            server_key.display()
        ));
        // Only TLS connections over TCP.
        let hba = data.join("pg_hba.conf");
        let rules = "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n";
        let mut write = command(as_postgres, "tee", &[&hba.display().to_string()]);
        write.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null());
        let mut child = write.spawn().map_err(|e| e.to_string())?;
        std::io::Write::write_all(child.stdin.as_mut().ok_or("no stdin")?, rules.as_bytes())
            .map_err(|e| e.to_string())?;
        child.wait().map_err(|e| e.to_string())?;
    }
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
