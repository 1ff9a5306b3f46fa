//! Process start-up of `convoy server` (and `convoy quickstart`): the data directory, the store
//! (SQLite in the data dir, or PostgreSQL), the in-memory view, the admin token, the
//! controllers, then the API (`convoy_server`) on the listening socket.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use convoy_store::Store;

/// How `convoy server` runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `postgres://...`; SQLite in the data dir when `None`.
    pub database_url: Option<String>,
    /// The shard whose Stages, Promotions and Warehouses this replica's controllers handle
    /// (`None`: the unlabelled ones).
    pub shard: Option<String>,
    /// `file://` and local paths as git remotes (`--allow-file-remotes`).
    pub allow_file_remotes: bool,
    /// Refuse to start when the SQLite data dir cannot be locked (off: `--no-data-dir-lock`).
    pub require_data_dir_lock: bool,
    /// The cluster running Argo CD (`--kubeconfig`); `None`: found as kubectl finds one, if any.
    pub kubeconfig: Option<PathBuf>,
    /// Where Applications are looked for by default (`--argocd-namespace`).
    pub argocd_namespace: String,
    /// Watch Applications in that namespace only (`--argocd-watch-namespace-only`).
    pub argocd_namespace_only: bool,
    /// Where `/metrics` is served (`--metrics-listen`); `None`: nowhere.
    pub metrics_listen: Option<SocketAddr>,
    /// The API's certificate and key (`--tls-cert`, `--tls-key`); plain HTTP when `None`.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How long audit records are kept (`--audit-retention`).
    pub audit_retention: std::time::Duration,
    /// Single sign-on (`--oidc-*`).
    pub oidc: Option<convoy_server::oidc::OidcConfig>,
}

impl ServerConfig {
    /// The defaults of `convoy server`: SQLite in `data_dir`, no shard, network remotes only.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            listen,
            data_dir,
            database_url: None,
            shard: None,
            allow_file_remotes: false,
            require_data_dir_lock: true,
            kubeconfig: None,
            argocd_namespace: convoy_argocd::DEFAULT_NAMESPACE.to_owned(),
            argocd_namespace_only: false,
            metrics_listen: None,
            tls: None,
            audit_retention: std::time::Duration::from_secs(90 * 86_400),
            oidc: None,
        }
    }
}

/// Opens the store, makes the admin token on first start, serves until SIGINT or SIGTERM.
pub async fn serve(config: ServerConfig) -> Result<(), String> {
    let running = start(config).await?;
    shutdown_signal().await;
    running.stop().await
}

/// A server running in this process (what `convoy server` and `convoy quickstart` run).
pub struct Running {
    pub address: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), String>>,
    /// Held while the server runs (SQLite only).
    _data_dir_lock: Option<std::fs::File>,
}

impl Running {
    /// Stops taking requests and waits for the ones in flight.
    pub async fn stop(self) -> Result<(), String> {
        let _ = self.stop.send(());
        let outcome = self.server.await.map_err(|e| e.to_string())?;
        tracing::info!("convoy server stopped");
        outcome
    }
}

/// Opens the store, makes the admin token on first start, starts the controllers and serves the
/// API in the background.
pub async fn start(config: ServerConfig) -> Result<Running, String> {
    // Read first: a certificate that does not load stops the start before anything is opened.
    let certificate = match &config.tls {
        Some((cert, key)) => Some(convoy_server::tls::ReloadingCertificate::load(cert, key)?),
        None => None,
    };
    let collection = convoy_controllers::gc::Settings::from_env()?;
    // The PR steps read the same variable; a bad value stops the start instead of being ignored.
    convoy_forge::ApiOverrides::from_env()?;
    let shard = convoy_controllers::shard::Shard::new(config.shard.as_deref())?;
    convoy_git::allow_file_remotes(config.allow_file_remotes);
    crate::files::create_private_dir(&config.data_dir)?;
    crate::files::check_private_dir(&config.data_dir)?;
    // SQLite is one process's store: a second server on the same data dir is refused.
    let data_dir_lock = match &config.database_url {
        Some(_) => None,
        None => Some(crate::files::lock_data_dir(&config.data_dir, config.require_data_dir_lock)?),
    };
    let inner: Arc<dyn Store> = match &config.database_url {
        Some(url) => Arc::new(convoy_store_sql::SqlStore::connect(url, 10_000).await.map_err(|e| e.to_string())?),
        None => {
            let database = config.data_dir.join("convoy.db");
            crate::files::private_database_files(&database)?;
            Arc::new(convoy_store_sql::SqlStore::sqlite(&database).await.map_err(|e| e.to_string())?)
        }
    };
    ensure_admin_token(&*inner, &config.data_dir).await?;
    // Every read (API and controllers) is served from memory; writes go through to the store.
    let cache =
        convoy_store::CachedStore::start(inner, convoy_controllers::indexes::all()).await.map_err(|e| e.to_string())?;
    let store: Arc<dyn Store> = cache.clone();
    let cache_for_metrics = cache.clone();
    link_helm(&config.data_dir);
    // One set of mirrors: discovery and promotions share fetches and per-repository locks.
    let mirrors = Arc::new(convoy_git::Mirrors::new(config.data_dir.join("git")));
    let argocd = connect_argocd(config.kubeconfig.as_deref(), &config.argocd_namespace)
        .await?
        .map(|a| if config.argocd_namespace_only { Arc::new((*a).clone().watching_namespace_only()) } else { a });
    let state = Arc::new(
        convoy_server::AppState::new(store.clone())
            .await
            .map_err(|e| e.to_string())?
            .with_data_dir(config.data_dir.clone(), mirrors.clone())
            .with_argocd(argocd.clone())
            .with_secure_cookies(config.tls.is_some())
            .with_oidc(config.oidc.clone()),
    );
    tokio::spawn(convoy_controllers::lead(
        cache,
        mirrors,
        config.data_dir.clone(),
        collection,
        shard,
        state.leading.clone(),
        argocd,
    ));
    tokio::spawn(prune_audit(store.clone(), config.audit_retention));
    if let Some(address) = config.metrics_listen {
        serve_metrics(address, convoy_controllers::metrics::Metrics::start(cache_for_metrics)).await;
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = match certificate {
        Some(certificate) => {
            let listener = convoy_server::tls::TlsListener::new(listener, certificate).map_err(|e| e.to_string())?;
            tracing::info!(%address, data_dir = %config.data_dir.display(), "convoy server listening on https://{address}");
            tokio::spawn(convoy_server::serve_on(listener, state, stopped))
        }
        None => {
            if !address.ip().is_loopback() {
                tracing::warn!(%address, "listening beyond this host without TLS: tokens and Secrets cross the network in clear text; give --tls-cert and --tls-key, or put a TLS-terminating proxy in front");
            }
            tracing::info!(%address, data_dir = %config.data_dir.display(), "convoy server listening on http://{address}");
            tokio::spawn(convoy_server::serve_on(listener, state, stopped))
        }
    };
    Ok(Running { address, stop, server, _data_dir_lock: data_dir_lock })
}

/// The cluster running Argo CD: the kubeconfig given (an error when it cannot be used), else
/// one found as kubectl finds it. A cluster without Argo CD's Applications is not used (Kargo's
/// start-up probe); one that cannot be reached now is, the steps saying what fails.
async fn connect_argocd(
    kubeconfig: Option<&Path>,
    namespace: &str,
) -> Result<Option<Arc<convoy_argocd::ArgoCd>>, String> {
    let found = kubeconfig.is_some()
        || std::env::var_os("KUBECONFIG").is_some()
        || std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
        || std::env::home_dir().is_some_and(|home| home.join(".kube/config").exists());
    if !found {
        tracing::info!("no Kubernetes cluster configured (--kubeconfig): the Argo CD steps and health checks are off");
        return Ok(None);
    }
    let argocd = match convoy_argocd::ArgoCd::connect(kubeconfig, namespace).await {
        Ok(argocd) => argocd,
        Err(e) if kubeconfig.is_some() => return Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "cannot use the Kubernetes configuration found: the Argo CD steps and health checks are off");
            return Ok(None);
        }
    };
    match argocd.probe().await {
        Ok(()) => tracing::info!(namespace, "Argo CD integration on"),
        Err(convoy_argocd::KubeError::NotFound) => {
            tracing::info!(
                "the cluster has no Argo CD Applications (CRD not found): the Argo CD steps and health checks are off"
            );
            return Ok(None);
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot list Argo CD Applications yet; the Argo CD steps will report what fails")
        }
    }
    Ok(Some(Arc::new(argocd)))
}

/// `/metrics` on its own address, without authentication (Prometheus' way). A taken address is
/// logged as an error and the server runs on without metrics.
async fn serve_metrics(address: SocketAddr, metrics: Arc<convoy_controllers::metrics::Metrics>) {
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(%address, error = %e, "cannot listen for metrics; serving none (set --metrics-listen ADDR or off)");
            return;
        }
    };
    if !address.ip().is_loopback() {
        tracing::warn!(%address, "metrics are served beyond this host without authentication; keep that address private");
    }
    let bound = listener.local_addr().map_or_else(|_| address.to_string(), |a| a.to_string());
    tracing::info!(address = %bound, "metrics on http://{bound}/metrics");
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                let mut text = metrics.render();
                convoy_telemetry::render(&PROCESS_METRICS, &mut text);
                ([("content-type", "text/plain; version=0.0.4")], text)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
}

/// The metrics measured where the work happens (beside those derived from the store's changes).
static PROCESS_METRICS: [&dyn convoy_telemetry::Render; 11] = [
    &convoy_server::http_metrics::REQUESTS,
    &convoy_server::http_metrics::DURATION,
    &convoy_controllers::runtime::RECONCILES,
    &convoy_controllers::runtime::RECONCILE_DURATION,
    &convoy_controllers::runtime::QUEUE_DEPTH,
    &convoy_controllers::warehouses::DISCOVERY_RUNS,
    &convoy_controllers::warehouses::DISCOVERY_DURATION,
    &convoy_discovery::registry::REQUESTS,
    &convoy_git::OPERATIONS,
    &convoy_git::OPERATION_DURATION,
    &convoy_store_sql::WRITE_DURATION,
];

/// Drops audit records older than `retention`, hourly (every replica may; deleting what is
/// already gone is harmless).
async fn prune_audit(store: Arc<dyn Store>, retention: std::time::Duration) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        let now = convoy_api::time::Timestamp::now().0;
        let before = convoy_api::time::Timestamp(now - retention.as_secs() as i64).to_string();
        match store.prune_audit(&before).await {
            Ok(0) => {}
            Ok(dropped) => tracing::info!(dropped, %before, "dropped audit records past their retention"),
            Err(e) => tracing::warn!(error = %e, "could not drop old audit records"),
        }
    }
}

/// `DATA_DIR/bin/helm`: this binary under the name kustomize runs for a kustomization's
/// `helmCharts` (the `kustomize-build` step); run so, it renders with Convoy's Helm renderer.
/// Without it those kustomizations fail with kustomize's own message.
fn link_helm(data_dir: &Path) {
    let link = data_dir.join("bin").join("helm");
    let made = std::env::current_exe().and_then(|exe| {
        std::fs::create_dir_all(data_dir.join("bin"))?;
        match std::fs::remove_file(&link) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        std::os::unix::fs::symlink(exe, &link)
    });
    if let Err(e) = made {
        tracing::warn!(link = %link.display(), error = %e, "cannot link this binary as helm: kustomizations with helmCharts will not build");
    }
}

async fn ensure_admin_token(store: &dyn Store, data_dir: &Path) -> Result<(), String> {
    let path = data_dir.join("admin-token");
    if !store.tokens().await.map_err(|e| e.to_string())?.is_empty() {
        if !path.exists() {
            tracing::warn!(path = %path.display(), "the admin token file is gone; the stored token still works");
        }
        return Ok(());
    }
    let token = convoy_server::new_token();
    convoy_server::write_token_file(&path, &token).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    convoy_server::add_admin_token(store, &token).await.map_err(|e| e.to_string())?;
    tracing::info!(path = %path.display(), "created the admin token (only its hash is stored); log in with: convoy login --server URL --token-file {}", path.display());
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return interrupt.await.unwrap_or(()),
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
