//! TLS for the API (`--tls-cert`, `--tls-key`): a listener that shakes hands off the accept
//! path (a slow or silent client holds only its own task), and a certificate that is read again
//! when its files change, as cert-manager and the kubelet rotate them in place.

use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A handshake must finish within this, or the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; further connections wait to be accepted.
const MAX_HANDSHAKES: usize = 256;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// What identifies a version of a file: a rotation by rename changes the inode, an in-place
/// write the modification time or size.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp(u64, i64, i64, u64);

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp(m.ino(), m.mtime(), m.mtime_nsec(), m.size()))
}

/// The certificate and key from their files; re-read on a handshake after either changed.
#[derive(Debug)]
pub struct ReloadingCertificate {
    cert: PathBuf,
    key: PathBuf,
    current: Mutex<(Option<Stamp>, Option<Stamp>, Arc<CertifiedKey>)>,
}

impl ReloadingCertificate {
    /// Reads both files; an error names the file and what is wrong with it.
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<ReloadingCertificate>, String> {
        let stamps = (stamp(cert), stamp(key));
        let certified = read_certified_key(cert, key)?;
        Ok(Arc::new(ReloadingCertificate {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: Mutex::new((stamps.0, stamps.1, Arc::new(certified))),
        }))
    }

    /// The certificate to present: read again when a file changed. A rotation caught half
    /// written keeps the previous certificate and is tried again on the next handshake.
    fn current(&self) -> Arc<CertifiedKey> {
        let mut current = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let stamps = (stamp(&self.cert), stamp(&self.key));
        if (&stamps.0, &stamps.1) != (&current.0, &current.1) {
            match read_certified_key(&self.cert, &self.key) {
                Ok(fresh) => {
                    tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                    *current = (stamps.0, stamps.1, Arc::new(fresh));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TLS certificate changed but does not load; still serving the previous one")
                }
            }
        }
        current.2.clone()
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn read_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("--tls-cert {}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)", cert.display()));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("--tls-key {}: {e} (a PEM private key: PKCS#8, PKCS#1 or SEC1)", key.display()))?;
    let signing =
        provider().key_provider.load_private_key(private).map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
    let certified = CertifiedKey::new(certs, signing);
    certified.keys_match().map_err(|_| {
        format!("--tls-key {} is not the key of the certificate in --tls-cert {}", key.display(), cert.display())
    })?;
    Ok(certified)
}

/// Accepts TCP connections and hands over those that completed a TLS handshake.
pub struct TlsListener {
    incoming: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, certificate: Arc<ReloadingCertificate>) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(certificate);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (sender, incoming) = tokio::sync::mpsc::channel(64);
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let Ok(permit) = permits.clone().acquire_owned().await else { return };
                let accepted = tokio::select! {
                    _ = sender.closed() => return,
                    accepted = tcp.accept() => accepted,
                };
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait rather than spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (acceptor, sender) = (acceptor.clone(), sender.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { incoming, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The accepting task ended (it only does when this listener is gone).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
