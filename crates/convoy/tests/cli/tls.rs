//! The API over TLS with certificates made here (rcgen): the CLI verifies the server against
//! the authority it is given, refuses another, and a certificate rotated on disk is served
//! without a restart.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use super::promote::stdout;
use super::server::Server;

/// A certificate authority: its PEM file, and a way to sign server certificates.
struct Authority {
    pem: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    fn new(dir: &Path, name: &str) -> Authority {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, format!("Convoy test CA {name}"));
        let certificate = params.self_signed(&key).unwrap();
        let pem = dir.join(format!("{name}.pem"));
        std::fs::write(&pem, certificate.pem()).unwrap();
        Authority { pem, issuer: Issuer::new(params, key) }
    }

    /// A server certificate for localhost and 127.0.0.1, written over `cert` and `key` the
    /// way rotations do it (a new file renamed into place).
    fn issue(&self, cert: &Path, key: &Path) {
        let leaf_key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let leaf = params.signed_by(&leaf_key, &self.issuer).unwrap();
        for (path, text) in [(key, leaf_key.serialize_pem()), (cert, leaf.pem())] {
            let fresh = path.with_extension("new");
            std::fs::write(&fresh, text).unwrap();
            std::fs::rename(&fresh, path).unwrap();
        }
    }
}

fn said(out: &std::process::Output) -> String {
    format!("{}{}", stdout(out), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_cli_verifies_the_server_refuses_another_authority_and_sees_a_rotated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let (first, second) = (Authority::new(dir.path(), "first"), Authority::new(dir.path(), "second"));
    first.issue(&cert, &key);
    let server = Server::start_with(
        dir.path(),
        &[("CONVOY_TLS_CERT", cert.to_str().unwrap()), ("CONVOY_TLS_KEY", key.to_str().unwrap())],
    );
    let url = format!("https://127.0.0.1:{}", server.port);
    let token = server.data.join("admin-token");
    server.wait_until("the admin token", || token.exists());
    let login = |extra: &[&str]| {
        server.convoy().args(["login", "--server", &url, "--token-file"]).arg(&token).args(extra).output().unwrap()
    };

    // The system's roots do not know the test authority; another authority is refused too.
    let out = login(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", said(&out));
    assert!(said(&out).contains("--certificate-authority"), "says what to do: {}", said(&out));
    let out = login(&["--certificate-authority", second.pem.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "a certificate from another authority: {}", said(&out));
    // The right one: logged in, and saved for the server.
    let out = login(&["--certificate-authority", first.pem.to_str().unwrap()]);
    assert!(out.status.success(), "{}", said(&out));
    let out = server.convoy().args(["get", "projects"]).output().unwrap();
    assert!(out.status.success(), "the saved authority is used: {}", said(&out));
    // Plain HTTP to the TLS port gets nowhere.
    let out = server
        .convoy()
        .args(["--server", &format!("http://127.0.0.1:{}", server.port), "get", "projects"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", said(&out));

    // Rotated on disk to a certificate of the second authority: the next connection gets it.
    second.issue(&cert, &key);
    let out = server.convoy().args(["get", "projects"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "the old authority no longer verifies it: {}", said(&out));
    let out = server
        .convoy()
        .args(["--certificate-authority", second.pem.to_str().unwrap(), "get", "projects"])
        .output()
        .unwrap();
    assert!(out.status.success(), "served without a restart: {}", said(&out));
    assert!(server.log().contains("TLS certificate reloaded"), "{}", server.log());
    // A rotation caught half-written keeps the last good certificate.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\ntruncated").unwrap();
    let out = server
        .convoy()
        .args(["--certificate-authority", second.pem.to_str().unwrap(), "get", "projects"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
    // Not verifying at all is possible, and says so in its flag's name.
    let out = server.convoy().args(["--insecure-skip-tls-verify", "get", "projects"]).output().unwrap();
    assert!(out.status.success(), "{}", said(&out));
}

#[test]
fn a_key_that_is_not_the_certificates_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new(dir.path(), "ca");
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    authority.issue(&cert, &key);
    let (_, other_key) = (dir.path().join("other.crt"), dir.path().join("other.key"));
    authority.issue(&dir.path().join("other.crt"), &other_key);
    let out = super::convoy()
        .args(["server", "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&other_key)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(said(&out).contains("is not the key of the certificate"), "{}", said(&out));
    assert!(!dir.path().join("data").exists(), "nothing was created: {}", said(&out));
}
